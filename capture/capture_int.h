/*
 * capture_int.h -- declarations shared by the capture/ sources only; it
 * includes interp.h (the interpreter's internals) before capture.h.
 *
 * sizeof.c: per-type strategies for shallow sizes (sys.getsizeof without
 * Python-level __sizeof__ overrides, unless asked for).
 * typenames.c (portable.h): objgraph's names of a type, from C where no
 * code runs; gcwatch.c (portable.h): which thread collects.
 * gcwait.c: a capture waiting for another thread's collection.
 * The heap walk's own files share walk.h.  objects.c: turning node ids
 * back into live objects.  Both captures share release.c (freeing
 * captures) and untrack.c (what a full collection would untrack), which
 * use the public C API only.
 */
#ifndef HG_CAPTURE_INT_H
#define HG_CAPTURE_INT_H

#include "interp.h" /* first: see interp.h */

#include "capture.h"
#include "portable.h" /* hg__type_names, hg__gc_collector */

/* Wait until no collection runs (gcwait.c), sleeping with the GIL
 * released; the caller holds the GIL.  *waited: seconds this capture has
 * waited so far (0 at first), increased by this wait; the capture waits
 * timeout seconds in all.  0 once no collection runs (at once if it
 * is); -1 with RuntimeError when the timeout is spent, the collection runs
 * in the calling thread (a finalizer calling us: waiting would never end)
 * or the interpreter is shutting down, or with what a signal handler
 * raised (KeyboardInterrupt). */
int hg__gc_wait(hg__gcstate *gc, double timeout, double *waited);

/* How sys.getsizeof is computed for the instances of one type. */
typedef enum hg__size_kind {
    HG__SZ_DEFAULT = 0, /* object.__sizeof__: basicsize + ob_size*itemsize */
    HG__SZ_LIST,        /* list.__sizeof__, natively */
    HG__SZ_DICT,        /* dict.__sizeof__, natively */
    HG__SZ_SET,         /* set/frozenset.__sizeof__, natively */
    HG__SZ_STR,         /* str.__sizeof__, natively for compact strings */
    HG__SZ_INT,         /* int.__sizeof__, natively */
    HG__SZ_CMETH,       /* another C method (METH_NOARGS): call ml_meth */
    HG__SZ_CDESCR,      /* a C method of another calling convention (3.13's
                         * ctypes metaclasses: METH_METHOD): called through
                         * its descriptor */
    HG__SZ_PYTHON,      /* a Python-level __sizeof__ (Python sizes only):
                         * sys.getsizeof, runs Python code */
} hg__size_kind;

typedef struct hg__sizer {
    hg__size_kind kind;
    Py_ssize_t preheader; /* added by sys.getsizeof (GC head, dict ptrs) */
    PyCFunction meth;     /* the C __sizeof__, NULL for DEFAULT/PYTHON */
} hg__sizer;

/* Choose the strategy for tp.  python_sizes: a __sizeof__ defined in
 * Python is called (HG__SZ_PYTHON), as sys.getsizeof would; else it is
 * skipped for the nearest C one in the MRO (sizeof.c explains).  Runs no
 * Python code and changes no reference count (reads type dicts through
 * borrowed lookups only). */
void hg__sizer_init(PyTypeObject *tp, int python_sizes, hg__sizer *out);

/* The size without calling anything: >= 0, or -1 when the object needs
 * hg__sizer_slow (a C method call or Python code).  Reads op only; safe
 * while GC ids are stashed. */
static inline Py_ssize_t hg__sizer_quick(const hg__sizer *s, PyObject *op) {
    Py_ssize_t n;
    switch (s->kind) {
    case HG__SZ_DEFAULT:
        n = hg__object_sizeof(op);
        break;
    case HG__SZ_LIST:
        n = hg__list_sizeof(op);
        break;
    case HG__SZ_DICT:
        n = hg__dict_sizeof(op);
        break;
    case HG__SZ_SET:
        n = hg__set_sizeof(op);
        break;
    case HG__SZ_INT:
        n = hg__long_sizeof(op);
        break;
    case HG__SZ_STR:
        n = hg__unicode_sizeof(op);
        if (n < 0) {
            return -1;
        }
        break;
    default:
        return -1;
    }
    return n + hg__preheader_of(op, s->preheader);
}

/* The size by calling the type's C __sizeof__ or, for Python-level ones
 * (HG__SZ_PYTHON: Python sizes only), sys.getsizeof.  Needs the GIL, the
 * GC headers restored and a strong reference to op; may run Python code
 * (always for HG__SZ_PYTHON; through a third-party C method otherwise).
 * -1 with an exception set on error. */
Py_ssize_t hg__sizer_slow(const hg__sizer *s, PyObject *op);

/* The C size of op (what hg__sizer_init with python_sizes 0 gives), for a
 * Python-level __sizeof__ that failed; object.__sizeof__'s formula if a
 * C method fails too (its exception cleared).  Same needs as
 * hg__sizer_slow; never fails. */
Py_ssize_t hg__sizer_c_size(PyObject *op);

#endif /* HG_CAPTURE_INT_H */
