/*
 * objects.c -- from node ids back to live objects (native capture).
 *
 * A pinned capture holds a strong reference to each tracked node, so its
 * addresses are objects.  A detached capture holds none: an address is
 * turned into an object again only by finding it on the GC's own lists
 * (one walk for a whole batch of ids, through a hash set of the wanted
 * addresses) with the type recorded at capture time; a stored address is
 * never dereferenced otherwise.  The same address reused by a new object
 * of the same type is indistinguishable -- the price of not pinning.
 *
 * Untracked nodes (str, int, ...) are not on any list; bindings hand them
 * back through hg_capture_referent_at() from a live tracked referrer
 * (release.c, with the freeing of captures).
 *
 * The object that holds a pinned capture takes part in collections (its
 * pins may close a cycle through it): hg_capture_gc_track_oldest() tracks
 * it where only full collections traverse it.
 */
#include "capture_int.h"

#include <string.h>

#define HG__GOLDEN 0x9E3779B97F4A7C15ull

/* ---- the collector ---------------------------------------------------- */

/* See capture.h.  A pinned graph refers to every tracked object: in the
 * oldest generation, only full collections visit them all. */
void hg_capture_gc_track_oldest(PyObject *op) {
    if (PyObject_IS_GC(op) && !PyObject_GC_IsTracked(op)) {
        hg__gc_track_oldest(op);
    }
}

/* ---- attribute names ------------------------------------------------------
 */

/* See capture.h.  The inline values are laid out by the class's shared
 * keys: value i is the attribute named by key entry i (hg__plain_key). */
PyObject *hg_capture_attribute_at(PyObject *obj /* borrowed */, uint64_t addr) {
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject *const *values;
    PyObject *dict, *key, *value; /* borrowed */
    Py_ssize_t n, pos = 0;
    int handled;

    dict = hg__attribute_in_dict(obj, addr, &handled);
    if (handled) {
        return dict;
    }
    if (!hg__shared_keys_class(tp)) {
        PyErr_SetString(PyExc_NotImplementedError,
                        "no inline values laid out by shared keys");
        return NULL;
    }
    values = hg__plain_values(obj, tp, &n);
    if (values != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            key = hg__plain_key(tp, i);
            if (values[i] != NULL && (uint64_t)(uintptr_t)values[i] == addr &&
                key != NULL && PyUnicode_Check(key)) {
                return Py_NewRef(key);
            }
        }
        return NULL;
    }
    dict = hg__plain_dict(obj);
    while (dict != NULL && PyDict_Next(dict, &pos, &key, &value)) {
        if ((uint64_t)(uintptr_t)value == addr && PyUnicode_Check(key)) {
            return Py_NewRef(key);
        }
    }
    return NULL;
}

/* ---- objects from ids ------------------------------------------------------
 */

typedef struct want_slot {
    uint64_t addr;   /* 0: empty */
    uint64_t type;   /* the type address recorded at capture */
    PyObject *found; /* borrowed: the live object, or NULL */
} want_slot;

static inline size_t hash_addr(uint64_t a, size_t mask) {
    return (size_t)(((a >> 4) * HG__GOLDEN) >> 20) & mask;
}

static want_slot *want_find(want_slot *t, size_t mask, uint64_t a) {
    size_t h = hash_addr(a, mask);
    while (t[h].addr != 0 && t[h].addr != a) {
        h = (h + 1) & mask;
    }
    return &t[h];
}

/* See capture.h.  Detached: one walk of the four GC lists, O(tracked
 * objects + n).  The GIL is held throughout and no Python code runs until
 * the references are taken, so the objects found stay alive. */
int hg_capture_objects(const hg_capture *c, const hg_node *ids, size_t n,
                       PyObject **out) {
    hg__gcstate *gc;
    want_slot *t = NULL;
    size_t mask = 15, n_want = 0;
    const hg_graph *g;
    int begun;

    begun = hg__objects_begin(c, ids, n, out, &n_want);
    if (begun <= 0) {
        return begun;
    }
    g = c->graph;
    while (mask + 1 < 2 * n_want) {
        mask = mask * 2 + 1;
    }
    t = hg_calloc((mask + 1) * sizeof(want_slot));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (hg__tracked_id(c, ids[i])) {
            hg_node id = ids[i];
            want_slot *s = want_find(t, mask, g->addr[id]);
            s->addr = g->addr[id];
            s->type = c->type_addr[g->type_id[id]];
        }
    }
    gc = hg__gc_state();
    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        hg__gc_link *head = hg__gc_list(gc, i);
        for (hg__gc_link *h = hg__gc_next(head); h != head;
             h = hg__gc_next(h)) {
            PyObject *op = hg__gc_object(h); /* borrowed */
            want_slot *s = want_find(t, mask, (uint64_t)(uintptr_t)op);
            if (s->addr != 0 && s->type == (uint64_t)(uintptr_t)Py_TYPE(op)) {
                s->found = op;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (hg__tracked_id(c, ids[i])) {
            want_slot *s = want_find(t, mask, g->addr[ids[i]]);
            if (s->found != NULL) {
                out[i] = Py_NewRef(s->found);
            }
        }
    }
    hg_free(t, (mask + 1) * sizeof(want_slot));
    return 0;
}
