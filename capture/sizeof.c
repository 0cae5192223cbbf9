/*
 * sizeof.c -- shallow sizes from C, mostly without calls.
 *
 * sys.getsizeof(o) is type(o).__sizeof__(o) plus a pre-header that
 * depends on the type (interp.h: hg__preheader_size; cpython311.h says
 * what it is in 3.11).  A capture needs it for millions of objects while no
 * Python code may run, so the strategy is chosen once per type from the
 * __sizeof__ that _PyType_Lookup finds (which is what _PyObject_LookupSpecial
 * calls):
 *
 *   object.__sizeof__            -> basicsize + ob_size * itemsize
 *   list/dict/set/frozenset/str/int's __sizeof__ (also when inherited by
 *                                   a subclass) -> native code, the same
 *                                   formula as the C method
 *   another C method, METH_NOARGS -> call its ml_meth directly
 *   anything else (a Python function, a callable object, a wrapper
 *   of another binding library...): a Python-level __sizeof__
 *     - C sizes (the default): not called; the nearest C method
 *       descriptor further along the MRO is used instead, by the rules
 *       above (object.__sizeof__ for a plain class): the size the
 *       object has without the override.  Calling it would run user
 *       code in the middle of a capture -- a unittest.mock.MagicMock
 *       records every call and grows child mocks, so each snapshot
 *       changed the heap it measured.
 *     - Python sizes (sizes='python'): sys.getsizeof itself
 *       (hg__sys_getsizeof), Python code runs.
 *
 * Calls run only after the walk (hg__sizer_slow), when the GC headers
 * are consistent again and the object is held by a strong reference: a
 * third-party C __sizeof__ may allocate or call back into Python, which
 * must not happen while ids are stashed in GC headers.  A C __sizeof__ is
 * still called (not replaced by the formula) because only the extension
 * knows the memory its object owns (numpy's arrays, buffers); by then the
 * capture is complete, so whatever it does cannot corrupt the walk.
 */
#include "capture_int.h"

/* The C functions behind the builtin __sizeof__ methods, read once from
 * the static types' dicts (process-wide: static types are shared by all
 * interpreters). */
static struct {
    int ready;
    PyCFunction object, list, dict, set, frozenset, str, int_;
} known;

static PyCFunction meth_of(PyTypeObject *tp) {
    PyObject *d = hg__type_lookup(tp, HG__ID(__sizeof__)); /* borrowed */
    if (d == NULL || !Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        return NULL;
    }
    return ((PyMethodDescrObject *)d)->d_method->ml_meth;
}

static void known_init(void) {
    if (known.ready) {
        return;
    }
    known.object = meth_of(&PyBaseObject_Type);
    known.list = meth_of(&PyList_Type);
    known.dict = meth_of(&PyDict_Type);
    known.set = meth_of(&PySet_Type);
    known.frozenset = meth_of(&PyFrozenSet_Type);
    known.str = meth_of(&PyUnicode_Type);
    known.int_ = meth_of(&PyLong_Type);
    known.ready = 1;
}

/* The __sizeof__ found in tp's MRO that is a C method descriptor,
 * skipping Python-level ones (borrowed; NULL if none).  The same search as
 * hg__type_lookup, with each class's own dict read the same way. */
static PyObject *c_sizeof_in_mro(PyTypeObject *tp) {
    PyObject *name = HG__ID(__sizeof__);
    PyObject *mro = tp->tp_mro; /* borrowed */
    Py_hash_t hash = PyObject_Hash(name);

    if (mro == NULL || !PyTuple_Check(mro)) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *d = hg__type_dict((PyTypeObject *)PyTuple_GET_ITEM(mro, i));
        PyObject *v; /* borrowed */
        if (d == NULL) {
            continue;
        }
        v = hg__dict_lookup(d, name, hash);
        if (v != NULL && Py_IS_TYPE(v, &PyMethodDescr_Type)) {
            return v;
        }
    }
    return NULL;
}

void hg__sizer_init(PyTypeObject *tp, int python_sizes, hg__sizer *out) {
    PyObject *d; /* borrowed */
    PyMethodDef *ml;
    PyCFunction f;

    known_init();
    out->kind = python_sizes ? HG__SZ_PYTHON : HG__SZ_DEFAULT;
    out->preheader = hg__preheader_size(tp);
    out->meth = python_sizes ? NULL : known.object;

    d = hg__type_lookup(tp, HG__ID(__sizeof__));
    if (d != NULL && !Py_IS_TYPE(d, &PyMethodDescr_Type) && !python_sizes) {
        d = c_sizeof_in_mro(tp);
    }
    if (d == NULL || !Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        return;
    }
    ml = ((PyMethodDescrObject *)d)->d_method;
    /* The bound method is called with no arguments: only a plain
     * METH_NOARGS function can be called as ml_meth(self, NULL), and only
     * when tp is a subtype of the class that defines it (otherwise the
     * bound call raises TypeError, which sys.getsizeof reports).  With C
     * sizes, another C method (a descriptor the class borrowed from an
     * unrelated type...) gives object.__sizeof__'s formula: the call
     * would go through a generic path, and for a skipped Python override
     * sys.getsizeof would find the override again. */
    if (!PyType_IsSubtype(tp, PyDescr_TYPE(d))) {
        return;
    }
    if ((ml->ml_flags & ~(METH_COEXIST)) != METH_NOARGS) {
        out->kind = HG__SZ_CDESCR; /* called through the descriptor */
        out->meth = NULL;
        return;
    }
    f = ml->ml_meth;
    out->meth = f;
    if (f == known.object) {
        out->kind = HG__SZ_DEFAULT;
    } else if (f == known.list) {
        out->kind = HG__SZ_LIST;
    } else if (f == known.dict) {
        out->kind = HG__SZ_DICT;
    } else if (f == known.set || f == known.frozenset) {
        out->kind = HG__SZ_SET;
    } else if (f == known.str) {
        out->kind = HG__SZ_STR;
    } else if (f == known.int_) {
        out->kind = HG__SZ_INT;
    } else {
        out->kind = HG__SZ_CMETH;
    }
}

Py_ssize_t hg__sizer_slow(const hg__sizer *s, PyObject *op) {
    Py_ssize_t n;
    size_t total;

    if (s->kind == HG__SZ_CDESCR) {
        /* the C method found again (nothing has run since the walk that
         * chose it but C __sizeof__ methods), bound to op and called */
        PyObject *d = c_sizeof_in_mro(Py_TYPE(op)); /* borrowed */
        PyObject *res;
        if (d == NULL) {
            return hg__object_sizeof(op) + hg__preheader_of(op, s->preheader);
        }
        Py_INCREF(d);
        res = PyObject_CallOneArg(d, op);
        Py_DECREF(d);
        n = hg__size_of_result(res);
        return n < 0 ? -1 : n + hg__preheader_of(op, s->preheader);
    }
    if (s->meth == NULL) {
        total = hg__sys_getsizeof(op);
        if (total == (size_t)-1) {
            return -1;
        }
        return (Py_ssize_t)total;
    }
    n = hg__size_of_result(s->meth(op, NULL));
    return n < 0 ? -1 : n + hg__preheader_of(op, s->preheader);
}

/* See capture_int.h. */
Py_ssize_t hg__sizer_c_size(PyObject *op) {
    hg__sizer s;
    Py_ssize_t n;

    hg__sizer_init(Py_TYPE(op), 0, &s);
    n = hg__sizer_quick(&s, op);
    if (n < 0) {
        n = hg__sizer_slow(&s, op); /* a C method: no Python-level one */
    }
    if (n < 0) {
        PyErr_Clear();
        n = hg__object_sizeof(op) + hg__preheader_of(op, s.preheader);
    }
    return n;
}

/* See capture.h. */
Py_ssize_t hg_capture_sizeof(PyObject *op) {
    hg__sizer s;
    Py_ssize_t n;

    hg__sizer_init(Py_TYPE(op), 1, &s);
    n = hg__sizer_quick(&s, op);
    if (n >= 0) {
        return n;
    }
    if (s.meth == NULL) {
        return -1;
    }
    n = hg__sizer_slow(&s, op);
    if (n < 0) {
        PyErr_Clear();
        return -1;
    }
    return n;
}
