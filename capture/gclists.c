/*
 * gclists.c -- the tracked objects listed by the collector, read without
 * writing a byte of them (native capture: interp.h's lists).
 *
 * The portable enumeration asks the interpreter (gc.get_objects,
 * PyUnstable_GC_VisitObjects), which takes a reference to every object
 * it lists: a write to every tracked object.  In a child made by fork()
 * (fork.c) each such write copies a page, so the child would copy most
 * of the heap, and gc.get_objects also calls the audit hooks (Python
 * code).  Where this interpreter's layout is known, the child reads the
 * generations' lists instead: a pointer chase, nothing written, no call.
 *
 * Scale: every tracked object once (1M-50M), GIL held, no other thread
 * running (the only thread of a forked child).
 */
#include "capture_int.h"

/* See portable.h.  Generations 0, 1 and 2, in list order; the permanent
 * generation (gc.freeze()) is left to the walk, as the portable capture
 * leaves it. */
int hg__gc_visit_listed(int (*fn)(PyObject *op, int gen, void *arg),
                        void *arg) {
    hg__gcstate *gc = hg__gc_state();
    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        hg__gc_link *head = hg__gc_list(gc, i);
        if (i == HG__GC_LIST_FROZEN) {
            continue;
        }
        for (hg__gc_link *g = hg__gc_next(head); g != head;
             g = hg__gc_next(g)) {
            if (fn(hg__gc_object(g), i, arg) < 0) {
                return -1;
            }
        }
    }
    return 0;
}
