/*
 * cpython311.h -- every interpreter internal capture/ relies on, for the
 * CPython 3.11 family: interp.h's interface, implemented for 3.11.
 *
 * capture/ reads the cyclic GC's lists and headers directly, marks
 * objects through their reference counts, visits the referents of the
 * commonest objects itself, and computes the shallow size of hot builtin
 * types without calling __sizeof__.  All of it depends on the private
 * layout of one CPython minor version, so that knowledge is confined to
 * this header (and cpython_common.h, which it includes); interp.h chooses
 * it by version.
 *
 * The GC lists, the id stash in the GC headers and the reference-count
 * marks are laid out as in 3.12 and 3.13: cpython_common.h states them
 * once.  3.11 has no immortal objects: every count may hold a mark.
 *
 * Managed dicts (Include/internal/pycore_object.h, 3.11): a class with
 * Py_TPFLAGS_MANAGED_DICT keeps two pointers before the GC header of each
 * instance -- the inline values (PyDictValues, laid out by the class's
 * shared keys, ht_cached_keys) and the __dict__, once one is made -- so
 * an instance's pre-header is 32 bytes.
 */
#ifndef HG_CPYTHON311_H
#define HG_CPYTHON311_H

/* The internal headers need Py_BUILD_CORE from the first include of
 * Python.h on, so this header must come before capture.h. */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "objgraph capture/: cpython311.h covers CPython 3.11 only; \
include interp.h, which chooses the header of the version built against"
#endif

#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pystate.h"

#include <stddef.h>
#include <stdint.h>

/* ---- identifiers, lookups, time --------------------------------------- */

/* getattr(o, name) with a missing attribute not an error: 1 and *out a
 * new reference, 0 and *out NULL when missing, -1 with an exception.  May
 * run Python code. */
static inline int hg__lookup_attr(PyObject *o, PyObject *name, PyObject **out) {
    return _PyObject_LookupAttr(o, name, out);
}

/* True once the interpreter is shutting down. */
static inline int hg__finalizing(void) {
    return _Py_IsFinalizing();
}

/* Monotonic clock, seconds. */
static inline double hg__now(void) {
    return _PyTime_AsSecondsDouble(_PyTime_GetPerfCounter());
}

/* tp's own attribute dict (borrowed). */
static inline PyObject *hg__type_dict(PyTypeObject *tp) {
    return tp->tp_dict;
}

#include "cpython_common.h"

/* A dict visits every value it holds. */
static inline int hg__dict_kept_elsewhere(PyObject *d) {
    (void)d;
    return 0;
}

/* Whether instances of tp are plain (cpython_common.h: inline traversal):
 * in 3.11, with their attributes in a managed dict. */
static inline int hg__plain_class(PyTypeObject *tp) {
    const unsigned long need = Py_TPFLAGS_HEAPTYPE | Py_TPFLAGS_MANAGED_DICT;
    return tp->tp_traverse == hg__subtype_traverse &&
           hg__subtype_traverse != NULL && (tp->tp_flags & need) == need &&
           tp->tp_base == &PyBaseObject_Type && Py_SIZE(tp) == 0 &&
           tp->tp_dictoffset != 0 &&
           ((PyHeapTypeObject *)tp)->ht_cached_keys != NULL;
}

/* The inline attribute values of op, an instance of plain class tp: *n
 * slots (some NULL), in the order subtype_traverse visits them; NULL when
 * op has none (its values moved to a __dict__). */
static inline PyObject *const *hg__plain_values(PyObject *op, PyTypeObject *tp,
                                                Py_ssize_t *n) {
    PyDictValues *values = *_PyObject_ValuesPointer(op);
    if (values == NULL) {
        *n = 0;
        return NULL;
    }
    *n = ((PyHeapTypeObject *)tp)->ht_cached_keys->dk_nentries;
    return values->values;
}

/* The __dict__ made for op, an instance of a plain class, or NULL. */
static inline PyObject *hg__plain_dict(PyObject *op) {
    return *_PyObject_ManagedDictPointer(op);
}

/* Whether instances of tp (any heap class, plain or not) keep their
 * attributes as inline values laid out by the class's shared keys, which
 * hg__plain_values reads and hg__plain_key names, until a __dict__ is
 * made (hg__plain_dict): in 3.11, with a managed dict and cached keys. */
static inline int hg__shared_keys_class(PyTypeObject *tp) {
    const unsigned long need = Py_TPFLAGS_HEAPTYPE | Py_TPFLAGS_MANAGED_DICT;
    return (tp->tp_flags & need) == need &&
           ((PyHeapTypeObject *)tp)->ht_cached_keys != NULL;
}

/* ---- sizes ------------------------------------------------------------- */

/* sys.getsizeof(o) in 3.11 (Python/sysmodule.c _PySys_GetSizeOf) is
 * type(o).__sizeof__(o) + _PyType_PreHeaderSize(type(o)): 16 bytes of GC
 * header for GC types (by type flag, not tp_is_gc), 16 more for a managed
 * __dict__ (plain instances).  sizeof.c chooses which __sizeof__; the
 * builtin ones are computed here as their C methods compute them. */

/* What sys.getsizeof adds for op, whose type's pre-header is pre. */
static inline Py_ssize_t hg__preheader_of(PyObject *op, Py_ssize_t pre) {
    (void)op;
    return pre;
}

/* int.__sizeof__ (Objects/longobject.c int___sizeof___impl, 3.11: at
 * least one digit is always counted, sys.getsizeof(0) == 28). */
static inline Py_ssize_t hg__long_sizeof(PyObject *op) {
    Py_ssize_t n = Py_ABS(Py_SIZE(op));
    if (n < 1) {
        n = 1;
    }
    return (Py_ssize_t)offsetof(PyLongObject, ob_digit) +
           n * (Py_ssize_t)sizeof(digit);
}

/* str.__sizeof__ (Objects/unicodeobject.c unicode___sizeof___impl) for the
 * common case it handles exactly: a compact string without wstr and
 * without a separate UTF-8 buffer.  Returns -1 otherwise (call the real
 * method then). */
static inline Py_ssize_t hg__unicode_sizeof(PyObject *op) {
    PyASCIIObject *a = (PyASCIIObject *)op;
    if (!a->state.compact || !a->state.ready || a->wstr != NULL) {
        return -1;
    }
    if (a->state.ascii) {
        return (Py_ssize_t)sizeof(PyASCIIObject) + a->length + 1;
    }
    if (((PyCompactUnicodeObject *)op)->utf8 != NULL) {
        return -1;
    }
    return (Py_ssize_t)sizeof(PyCompactUnicodeObject) +
           (a->length + 1) * (Py_ssize_t)a->state.kind;
}

/* ---- frames ------------------------------------------------------------ */

/* A frame object's frame data (Include/internal/pycore_frame.h, 3.11):
 * f_frame points into the thread's data stack while the function runs,
 * and into the frame object itself once it has returned, so it is valid
 * whenever the frame object is.  localsplus holds the arguments, locals,
 * cells and free variables, named by the code's co_localsplusnames; a
 * cell slot holds a cell once MAKE_CELL has run, the raw value before. */
static inline PyCodeObject *hg__frame_code(PyObject *frame) {
    _PyInterpreterFrame *f = ((PyFrameObject *)frame)->f_frame;
    return f->f_code;
}

#endif /* HG_CPYTHON311_H */
