/*
 * cpython313.h -- every interpreter internal capture/ relies on, for the
 * CPython 3.13 family (with the GIL): interp.h's interface, implemented
 * for 3.13.
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
 * marks are laid out as in 3.11 and 3.12 (3.13 went back to 3.12's
 * three generations and permanent generation before its release, in
 * Python/gc.c): cpython_common.h states them once.
 *
 * Immortal objects (PEP 683, Include/object.h): None, True, False, the
 * small ints, the interned strings made immortal (the runtime's own and
 * most of those interned at import; sys.intern makes mortal ones) and the
 * static types have the count _Py_IMMORTAL_REFCNT
 * (UINT_MAX on 64-bit builds), and any object whose count reaches 2^31 is
 * treated alike: _Py_IsImmortal reads the low 32 bits as a signed int, and
 * Py_INCREF, Py_DECREF and Py_SET_REFCNT leave such a count alone.  The
 * walk never writes one (hg__immortal_count); the count recorded is the
 * one read, 2^31 or more, so an immortal node is a root (a count above
 * its referrers).
 *
 * Inline values (Include/internal/pycore_object.h, 3.13): a class with
 * Py_TPFLAGS_INLINE_VALUES keeps its instances' attribute values right
 * after the object header (PyDictValues: capacity, size, valid flags, then
 * the values), and with Py_TPFLAGS_MANAGED_DICT the __dict__ pointer, once
 * one is made, before the GC header (the weakref list before it): an
 * instance's pre-header is 32 bytes.  subtype_traverse
 * (PyObject_VisitManagedDict) visits the inline values while they are
 * valid, else the __dict__.  A static builtin type keeps its dict in the
 * interpreter, not in tp_dict (_PyType_GetDict).
 */
#ifndef HG_CPYTHON313_H
#define HG_CPYTHON313_H

/* The internal headers need Py_BUILD_CORE from the first include of
 * Python.h on, so this header must come before capture.h. */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030D0000 || PY_VERSION_HEX >= 0x030E0000
#error "objgraph capture/: cpython313.h covers CPython 3.13 only; \
include interp.h, which chooses the header of the version built against"
#endif

#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_long.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_sysmodule.h"
#include "internal/pycore_typeobject.h"

#include <stddef.h>
#include <stdint.h>

/* ---- identifiers, lookups, time --------------------------------------- */

/* getattr(o, name) with a missing attribute not an error: 1 and *out a
 * new reference, 0 and *out NULL when missing, -1 with an exception.  May
 * run Python code. */
static inline int hg__lookup_attr(PyObject *o, PyObject *name, PyObject **out) {
    return PyObject_GetOptionalAttr(o, name, out);
}

/* True once the interpreter is shutting down. */
static inline int hg__finalizing(void) {
    return Py_IsFinalizing();
}

/* Monotonic clock, seconds. */
static inline double hg__now(void) {
    PyTime_t t;
    (void)PyTime_PerfCounterRaw(&t); /* cannot fail */
    return PyTime_AsSecondsDouble(t);
}

/* tp's own attribute dict (borrowed).  A static builtin type keeps it in
 * the interpreter's table of static builtin types, at the index its
 * tp_subclasses holds (typeobject.c's lookup_tp_dict).  Read from the main
 * interpreter's table: the walk's threads have no thread state to find
 * the current one by (_PyType_GetDict would crash there), and every
 * interpreter's copy of a builtin type's dict holds the same methods. */
static inline PyObject *hg__type_dict(PyTypeObject *tp) {
    if (tp->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN) {
        size_t i = (size_t)tp->tp_subclasses - 1;
        if (i >= _Py_MAX_MANAGED_STATIC_BUILTIN_TYPES ||
            PyInterpreterState_Main()->types.builtins.initialized[i].type !=
                tp) {
            return NULL;
        }
        return PyInterpreterState_Main()->types.builtins.initialized[i].tp_dict;
    }
    return tp->tp_dict;
}

#include "cpython_common.h"

/* A __dict__ made for an instance whose values are still inline
 * (ma_values embedded in the object): dict_traverse skips them, the
 * instance visits them; _PyDict_MaybeUntrack reads them. */
static inline int hg__dict_kept_elsewhere(PyObject *d) {
    PyDictObject *mp = (PyDictObject *)d;
    if (mp->ma_values == NULL || !mp->ma_values->embedded) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < mp->ma_keys->dk_nentries; i++) {
        PyObject *v = mp->ma_values->values[i];
        if (v != NULL && _PyObject_GC_MAY_BE_TRACKED(v)) {
            return 1;
        }
    }
    return 0;
}

/* Whether instances of tp are plain (cpython_common.h: inline traversal):
 * in 3.13, with their attributes in inline values. */
static inline int hg__plain_class(PyTypeObject *tp) {
    const unsigned long need = Py_TPFLAGS_HEAPTYPE | Py_TPFLAGS_MANAGED_DICT |
                               Py_TPFLAGS_INLINE_VALUES;
    return tp->tp_traverse == hg__subtype_traverse &&
           hg__subtype_traverse != NULL && (tp->tp_flags & need) == need &&
           tp->tp_base == &PyBaseObject_Type && Py_SIZE(tp) == 0 &&
           tp->tp_dictoffset != 0 &&
           ((PyHeapTypeObject *)tp)->ht_cached_keys != NULL;
}

/* The inline attribute values of op, an instance of plain class tp: *n
 * slots (some NULL), in the order subtype_traverse visits them
 * (PyObject_VisitManagedDict); NULL when they are no longer valid (the
 * values moved to a __dict__). */
static inline PyObject *const *hg__plain_values(PyObject *op, PyTypeObject *tp,
                                                Py_ssize_t *n) {
    PyDictValues *values = _PyObject_InlineValues(op);
    (void)tp;
    if (!values->valid) {
        *n = 0;
        return NULL;
    }
    *n = values->capacity;
    return values->values;
}

/* The __dict__ made for op, an instance of a plain class, or NULL (also
 * while its inline values are valid: then the dict is not visited). */
static inline PyObject *hg__plain_dict(PyObject *op) {
    if (_PyObject_InlineValues(op)->valid) {
        return NULL;
    }
    return (PyObject *)_PyObject_ManagedDictPointer(op)->dict;
}

/* Whether instances of tp (any heap class, plain or not) keep their
 * attributes as inline values laid out by the class's shared keys, which
 * hg__plain_values reads and hg__plain_key names, until a __dict__ is
 * made (hg__plain_dict): in 3.13, with a managed dict and cached keys. */
static inline int hg__shared_keys_class(PyTypeObject *tp) {
    const unsigned long need = Py_TPFLAGS_HEAPTYPE | Py_TPFLAGS_MANAGED_DICT |
                               Py_TPFLAGS_INLINE_VALUES;
    return (tp->tp_flags & need) == need &&
           ((PyHeapTypeObject *)tp)->ht_cached_keys != NULL;
}

/* ---- sizes ------------------------------------------------------------- */

/* sys.getsizeof(o) in 3.13 (Python/sysmodule.c _PySys_GetSizeOf) is
 * type(o).__sizeof__(o) + _PyType_PreHeaderSize(type(o)): 16 bytes of GC
 * header for GC types (by type flag, not tp_is_gc), 16 more for a managed
 * __dict__ or __weakref__ (plain instances).  sizeof.c chooses which
 * __sizeof__; the builtin ones are computed here as their C methods compute
 * them. */

/* What sys.getsizeof adds for op, whose type's pre-header is pre: nothing
 * for a static type (3.13's _PySys_GetSizeOf: one not allocated with a
 * pre-header). */
static inline Py_ssize_t hg__preheader_of(PyObject *op, Py_ssize_t pre) {
    if (Py_IS_TYPE(op, &PyType_Type) &&
        !PyType_HasFeature((PyTypeObject *)op, Py_TPFLAGS_HEAPTYPE)) {
        return 0;
    }
    return pre;
}

/* int.__sizeof__ (Objects/longobject.c int___sizeof___impl, 3.13: at
 * least one digit is always counted, sys.getsizeof(0) == 28). */
static inline Py_ssize_t hg__long_sizeof(PyObject *op) {
    Py_ssize_t n = (Py_ssize_t)_PyLong_DigitCount((PyLongObject *)op);
    if (n < 1) {
        n = 1;
    }
    return (Py_ssize_t)offsetof(PyLongObject, long_value.ob_digit) +
           n * (Py_ssize_t)sizeof(digit);
}

/* str.__sizeof__ (Objects/unicodeobject.c unicode___sizeof___impl) for the
 * common case it handles exactly: a compact string without a separate
 * UTF-8 buffer.  Returns -1 otherwise (call the real method then). */
static inline Py_ssize_t hg__unicode_sizeof(PyObject *op) {
    PyASCIIObject *a = (PyASCIIObject *)op;
    if (!a->state.compact) {
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

/* A frame object's frame data (Include/internal/pycore_frame.h, 3.13):
 * f_frame points into the thread's data stack while the function runs,
 * and into the frame object itself once it has returned, so it is valid
 * whenever the frame object is.  localsplus holds the arguments, locals,
 * cells and free variables, named by the code's co_localsplusnames; a
 * cell slot holds a cell once MAKE_CELL has run, the raw value before. */
static inline PyCodeObject *hg__frame_code(PyObject *frame) {
    _PyInterpreterFrame *f = ((PyFrameObject *)frame)->f_frame;
    return _PyFrame_GetCode(f);
}

#endif /* HG_CPYTHON313_H */
