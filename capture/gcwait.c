/*
 * gcwait.c -- a capture and a collection the cyclic GC runs at the same
 * time: wait for it, or refuse when waiting could never end.
 *
 * A capture cannot run while a collection is under way: both write the GC
 * headers (interp.h: the id stash).  A collection holds the GIL, except
 * while it calls finalizers and weakref callbacks, which may release it
 * (time.sleep, I/O, or simply the eval loop's switch every
 * sys.getswitchinterval()).  Another thread may then call objgraph, and
 * find the collector's "collecting" flag set.  objgraph 3.x answered such
 * calls (it only calls gc.get_objects()), so the capture waits for the
 * collection to finish: it sleeps with the GIL released -- so that the
 * collecting thread can take it back -- in steps doubling from 50 us to 5 ms,
 * and re-reads the flag with the GIL held, until the flag is clear or the
 * capture's gc_timeout is spent (RuntimeError naming it).
 *
 * When the collection runs in the capturing thread itself (a finalizer or
 * a gc.callbacks entry calls objgraph), it resumes only once the capture
 * returns: waiting would never end.  the collecting flag does not say
 * which thread collects, so the gc.callbacks entry of gcwatch.c records,
 * on "start", the thread that collects; a capture in that thread while
 * the collecting flag is set fails at once.  The record is always the
 * current collection's; it is kept after "stop", so that the callbacks
 * called after the entry on "stop" are recognised too.  If the entry is
 * taken off gc.callbacks, the thread is not recognised and the capture
 * fails when gc_timeout has passed instead: late, but never hung (if
 * another entry is put before it, a capture in the previous collection's
 * thread may be refused while that entry runs).  Collections at
 * interpreter shutdown run without callbacks; a capture then is refused
 * at once.  The record is written and read with the GIL held.
 *
 * The waiting capture takes the GIL whenever the collecting thread lets it
 * go; a thread that collects again at once, running no Python code between
 * collections long enough to give the GIL away, may hold a capture off
 * until gc_timeout.
 *
 * Expected scale: a collection's finalizers run for milliseconds, seconds
 * when they do I/O; a waiting capture wakes at most 200 times a second.
 */
#include "capture_int.h"

/* See capture_int.h. */
int hg__gc_wait(hg__gcstate *gc, double timeout, double *waited) {
    double start = hg__now(), now = start, step = 0;
    int rc = 0;
    while (hg__gc_collecting(gc)) {
        if (hg__gc_wait_step(timeout, timeout - *waited - (now - start),
                             hg__finalizing(), &step) < 0) {
            rc = -1;
            break;
        }
        now = hg__now();
    }
    *waited += now - start;
    return rc;
}
