/*
 * gcwatch.c -- which thread runs a collection, and whether it still runs,
 * as a gc.callbacks entry sees it.
 *
 * Both captures need to know when the cyclic GC is collecting (gcwait.c
 * for the native one, portable.c for the portable one): the native one
 * reads the interpreter's own flag, which does not say which thread
 * collects; the public API has no such flag at all.  So
 * hg_capture_watch_gc() puts first in gc.callbacks a C function that
 * records, on "start", the thread that collects and that a collection is
 * running, and on "stop" that it is finished.  Being first, it runs
 * before any other callback, and before any code that could let another
 * thread run, so the record is always the current collection's.  The
 * thread is kept after "stop", so that the callbacks called after it on
 * "stop" are recognised too (gcwait.c).  If the function is taken off
 * gc.callbacks, nothing is recognised: the native capture then fails
 * only when gc_timeout has passed, the portable one no longer waits.
 * Collections at interpreter shutdown run without callbacks.  The record
 * is written and read with the GIL held.
 *
 * Public C API only (portable.h).
 */
#include "portable.h"

#include <time.h>

#define HG__WAIT_MIN 50e-6 /* first sleep, seconds */
#define HG__WAIT_MAX 5e-3  /* longest sleep, seconds */

/* The thread that started the latest collection (valid when
 * collector_known), and whether its "stop" is still to come. */
static unsigned long collector_thread;
static int collector_known, collector_running;

/* gc.callbacks entry: callback(phase, info).  Raises nothing (an
 * exception in a callback is only reported, as unraisable). */
static PyObject *gc_phase(PyObject *self, PyObject *const *args,
                          Py_ssize_t nargs) {
    (void)self;
    if (nargs >= 1 && PyUnicode_Check(args[0])) {
        if (PyUnicode_CompareWithASCIIString(args[0], "start") == 0) {
            collector_thread = PyThread_get_thread_ident();
            collector_known = 1;
            collector_running = 1;
        } else if (PyUnicode_CompareWithASCIIString(args[0], "stop") == 0) {
            collector_running = 0;
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef gc_phase_def = {
    "objgraph_collecting_thread", (PyCFunction)(void (*)(void))gc_phase,
    METH_FASTCALL,
    "Records which thread runs a collection, so that objgraph called from "
    "a finalizer during it refuses instead of waiting for itself."};

/* See capture.h. */
int hg_capture_watch_gc(void) {
    static int done;
    PyObject *gc = NULL, *callbacks = NULL, *fn = NULL;
    int rc = -1;
    if (done) {
        return 0;
    }
    gc = PyImport_ImportModule("gc");
    if (gc == NULL) {
        goto cleanup;
    }
    callbacks = PyObject_GetAttrString(gc, "callbacks");
    if (callbacks == NULL) {
        goto cleanup;
    }
    if (!PyList_Check(callbacks)) {
        PyErr_SetString(PyExc_TypeError, "gc.callbacks is not a list");
        goto cleanup;
    }
    fn = PyCFunction_New(&gc_phase_def, NULL);
    if (fn == NULL || PyList_Insert(callbacks, 0, fn) < 0) {
        goto cleanup;
    }
    done = 1;
    rc = 0;
cleanup:
    Py_XDECREF(fn);
    Py_XDECREF(callbacks);
    Py_XDECREF(gc);
    return rc;
}

/* See portable.h. */
int hg__gc_collector(unsigned long *thread, int *running) {
    *thread = collector_thread;
    *running = collector_known && collector_running;
    return collector_known;
}

/* See portable.h. */
double hg__p_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* See portable.h. */
int hg__gc_wait_step(double timeout, double left, int finalizing,
                     double *step) {
    unsigned long thread;
    int running;
    struct timespec ts;
    double s;

    if (*step <= 0) {
        *step = HG__WAIT_MIN;
    }
    if (hg__gc_collector(&thread, &running) &&
        thread == PyThread_get_thread_ident()) {
        PyErr_SetString(
            PyExc_RuntimeError,
            "cannot capture the heap while the garbage collector is "
            "running in this very thread (objgraph called from a "
            "__del__, a weakref callback or gc.callbacks during a "
            "collection): the collection cannot finish before the "
            "capture, so waiting for it would never end");
        return -1;
    }
    if (finalizing) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot capture the heap while the garbage "
                        "collector is running at interpreter shutdown");
        return -1;
    }
    if (!(left > 0)) {
        char *t = PyOS_double_to_string(timeout, 'r', 0, 0, NULL);
        if (t != NULL) {
            PyErr_Format(PyExc_RuntimeError,
                         "cannot capture the heap: the garbage "
                         "collector is running in another thread and "
                         "did not finish within gc_timeout=%s seconds",
                         t);
            PyMem_Free(t);
        }
        return -1;
    }
    s = *step < left ? *step : left;
    Py_BEGIN_ALLOW_THREADS
        ts.tv_sec = (time_t)s;
        ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL); /* EINTR: the caller's loop checks again */
    Py_END_ALLOW_THREADS
    /* Ctrl-C ends the wait (nothing of the heap is read yet) */
    if (PyErr_CheckSignals() < 0) {
        return -1;
    }
    *step = 2 * *step < HG__WAIT_MAX ? 2 * *step : HG__WAIT_MAX;
    return 0;
}
