/*
 * portable_sizeof.c -- shallow sizes for the portable capture, through the
 * public C API only.
 *
 * sys.getsizeof(o) is type(o).__sizeof__(o) plus a pre-header: the GC
 * header (16 bytes on 64-bit builds) for GC objects -- decided per object
 * by PyObject_IS_GC in 3.10, by the type's flag from 3.11 on -- and two
 * pointers for a managed __dict__ (3.11; __dict__ or __weakref__ from
 * 3.12); from 3.13 nothing for static types.  The strategy is chosen once per
 * type from the __sizeof__ found in its MRO, as sizeof.c does for the native
 * capture:
 *
 *   object.__sizeof__               -> basicsize + ob_size * itemsize
 *   the C __sizeof__ of list, dict, set, frozenset, str, int, bytes,
 *   bytearray, tuple (also inherited)
 *                                   -> called during the walk: CPython's
 *                                      own code, pure C, which only
 *                                      allocates the int it returns (the
 *                                      collector is disabled meanwhile)
 *   another C method, METH_NOARGS   -> called after the walk, with a
 *                                      strong reference (an extension may
 *                                      do anything)
 *   a Python-level __sizeof__       -> C sizes: skipped for the nearest C
 *                                      one further along the MRO; Python
 *                                      sizes: called after the walk
 *
 * Unlike the native capture, nothing is read from the objects' private
 * layouts: the builtin methods are called rather than re-implemented.
 */
#include "portable.h"

/* The C functions behind CPython's own __sizeof__ methods (static types
 * are shared by every interpreter of the process). */
enum { N_KNOWN = 9 };
static struct {
    int ready;
    PyCFunction object;
    PyCFunction builtin[N_KNOWN];
    PyCFunction type; /* type.__sizeof__: pure C, safe in a forked child
                       * (it stays a call after the walk in the process) */
} known;

static PyCFunction meth_of(PyTypeObject *tp) {
    PyObject *d; /* borrowed */
    if (hg__p_type_lookup(tp, hg__p_id.sizeof_, &d) < 0 || d == NULL ||
        !Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        return NULL;
    }
    return ((PyMethodDescrObject *)d)->d_method->ml_meth;
}

static void known_init(void) {
    PyTypeObject *types[N_KNOWN] = {
        &PyList_Type,      &PyDict_Type,      &PySet_Type,
        &PyFrozenSet_Type, &PyUnicode_Type,   &PyLong_Type,
        &PyBytes_Type,     &PyByteArray_Type, &PyTuple_Type};
    if (known.ready || hg__p_names_init() < 0) {
        PyErr_Clear(); /* MemoryError: every type then gets DEFAULT */
        return;
    }
    known.object = meth_of(&PyBaseObject_Type);
    known.type = meth_of(&PyType_Type);
    for (int i = 0; i < N_KNOWN; i++) {
        PyCFunction f = meth_of(types[i]);
        /* a type without its own method inherits object's */
        known.builtin[i] = f != known.object ? f : NULL;
    }
    known.ready = 1;
}

/* The __sizeof__ in tp's MRO that is a C method descriptor, skipping
 * Python-level ones (borrowed; NULL if none or if a dict could run
 * code). */
static PyObject *c_sizeof_in_mro(PyTypeObject *tp) {
    PyObject *mro = tp->tp_mro; /* borrowed */
    if (mro == NULL || !PyTuple_Check(mro)) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        PyObject *v; /* borrowed */
        if (hg__p_dict_get(hg__p_type_dict(base), hg__p_id.sizeof_, &v) < 0) {
            return NULL;
        }
        if (v != NULL && Py_IS_TYPE(v, &PyMethodDescr_Type)) {
            return v;
        }
    }
    return NULL;
}

/* What sys.getsizeof adds for instances of tp (see the file header);
 * *per_object: the GC header is decided per object instead (3.10). */
static Py_ssize_t preheader(PyTypeObject *tp, int *per_object) {
    Py_ssize_t n = 0;
    *per_object = 0;
#if PY_VERSION_HEX < 0x030B0000
    (void)tp;
    *per_object = 1;
#else
    if (PyType_IS_GC(tp)) {
        n += 2 * (Py_ssize_t)sizeof(void *); /* the GC header */
    }
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_HasFeature(tp, Py_TPFLAGS_PREHEADER)) {
        n += 2 * (Py_ssize_t)sizeof(PyObject *);
    }
#else
    if (PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT)) {
        n += 2 * (Py_ssize_t)sizeof(PyObject *);
    }
#endif
#endif
    return n;
}

/* See portable.h. */
void hg__p_sizer_init(PyTypeObject *tp, int python_sizes, hg__p_sizer *out) {
    PyObject *d = NULL; /* borrowed */
    PyMethodDef *ml;

    known_init();
    out->kind = HG__P_SZ_DEFAULT;
    out->meth = NULL;
    out->descr = NULL;
    out->preheader = preheader(tp, &out->gc_preheader);

    if (hg__p_type_lookup(tp, hg__p_id.sizeof_, &d) < 0) {
        d = NULL; /* a dict that could run code: object's formula */
    }
    if (d != NULL && !Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        if (python_sizes) {
            out->kind = HG__P_SZ_PYTHON;
            out->descr = d;
            return;
        }
        d = c_sizeof_in_mro(tp);
    }
    if (d == NULL) {
        return;
    }
    ml = ((PyMethodDescrObject *)d)->d_method;
    /* called as ml_meth(self, NULL): only a plain METH_NOARGS function,
     * and only when tp is a subtype of the class that defines it (as
     * sizeof.c explains); a C method of another convention through its
     * descriptor */
    if (!PyType_IsSubtype(tp, PyDescr_TYPE(d))) {
        if (python_sizes) {
            out->kind = HG__P_SZ_PYTHON;
            out->descr = d;
        }
        return;
    }
    if ((ml->ml_flags & ~(METH_COEXIST)) != METH_NOARGS) {
        out->kind = HG__P_SZ_CDESCR;
        out->descr = d;
        return;
    }
    if (ml->ml_meth == known.object) {
        return;
    }
    out->meth = ml->ml_meth;
    out->kind = HG__P_SZ_CMETH;
    for (int i = 0; i < N_KNOWN; i++) {
        if (known.builtin[i] != NULL && ml->ml_meth == known.builtin[i]) {
            out->kind = HG__P_SZ_BUILTIN;
        }
    }
}

/* object.__sizeof__. */
static Py_ssize_t object_sizeof(PyObject *op) {
    PyTypeObject *tp = Py_TYPE(op); /* borrowed */
    Py_ssize_t res = tp->tp_basicsize;
    if (tp->tp_itemsize > 0) {
        res += Py_SIZE(op) * tp->tp_itemsize;
    }
    return res;
}

static Py_ssize_t add_preheader(const hg__p_sizer *s, PyObject *op,
                                Py_ssize_t n) {
    if (s->gc_preheader && PyObject_IS_GC(op)) {
        n += 2 * (Py_ssize_t)sizeof(void *);
    }
#if PY_VERSION_HEX >= 0x030D0000
    /* 3.13: nothing is added for a static type (one not allocated with
     * a pre-header) */
    if (Py_IS_TYPE(op, &PyType_Type) &&
        !PyType_HasFeature((PyTypeObject *)op, Py_TPFLAGS_HEAPTYPE)) {
        return n;
    }
#endif
    return n + s->preheader;
}

/* See portable.h. */
Py_ssize_t hg__size_of_result(PyObject *res) {
    Py_ssize_t n;
    if (res == NULL) {
        return -1;
    }
    n = PyLong_AsSsize_t(res);
    Py_DECREF(res);
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "__sizeof__() should return >= 0");
        return -1;
    }
    return n;
}

/* See portable.h. */
Py_ssize_t hg__p_sizer_quick(const hg__p_sizer *s, PyObject *op) {
    Py_ssize_t n;
    switch (s->kind) {
    case HG__P_SZ_DEFAULT:
        n = object_sizeof(op);
        break;
    case HG__P_SZ_BUILTIN:
        n = hg__size_of_result(s->meth(op, NULL));
        if (n < 0) {
            return -2;
        }
        break;
    default:
        return -1;
    }
    return add_preheader(s, op, n);
}

/* See portable.h. */
Py_ssize_t hg__p_sizer_slow(const hg__p_sizer *s, PyObject *op) {
    PyObject *res;
    Py_ssize_t n;
    if (s->kind == HG__P_SZ_PYTHON || s->kind == HG__P_SZ_CDESCR) {
        /* what sys.getsizeof does: the special method, bound to op */
        descrgetfunc get = Py_TYPE(s->descr)->tp_descr_get;
        PyObject *bound;
        if (get != NULL) {
            bound = get(s->descr, op, (PyObject *)Py_TYPE(op));
        } else {
            bound = Py_NewRef(s->descr);
        }
        if (bound == NULL) {
            return -1;
        }
        res = PyObject_CallNoArgs(bound);
        Py_DECREF(bound);
    } else {
        res = s->meth(op, NULL);
    }
    n = hg__size_of_result(res);
    return n < 0 ? -1 : add_preheader(s, op, n);
}

/* See portable.h. */
Py_ssize_t hg__p_sizer_nocall(const hg__p_sizer *s, PyObject *op) {
    Py_ssize_t n = hg__p_sizer_quick(s, op);
    if (n == -1 && s->kind == HG__P_SZ_CMETH && known.type != NULL &&
        known.type != known.object && s->meth == known.type) {
        /* a class: CPython's own type.__sizeof__, which only reads the
         * class and makes an int */
        n = hg__size_of_result(s->meth(op, NULL));
        if (n >= 0) {
            return add_preheader(s, op, n);
        }
        n = -2;
    }
    if (n == -2) {
        PyErr_Clear(); /* MemoryError from the int */
    }
    return n >= 0 ? n : add_preheader(s, op, object_sizeof(op));
}

/* See portable.h. */
Py_ssize_t hg__p_sizer_c_size(PyObject *op) {
    hg__p_sizer s;
    Py_ssize_t n;
    hg__p_sizer_init(Py_TYPE(op), 0, &s);
    n = hg__p_sizer_quick(&s, op);
    if (n == -1) {
        n = hg__p_sizer_slow(&s, op); /* a C method */
    }
    if (n < 0) {
        PyErr_Clear();
        n = add_preheader(&s, op, object_sizeof(op));
    }
    return n;
}
