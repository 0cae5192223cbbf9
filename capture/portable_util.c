/*
 * portable_util.c -- dictionary, type and attribute lookups that run no
 * Python code, through the public C API only (portable.h).
 *
 * The native capture reads a type's MRO dicts with the interpreter's own
 * lookup and knows from the dict's layout whether every key is a str.
 * Here the same answers come from PyDict_Next: a lookup scans the dict,
 * comparing exact str keys only (identity first, then contents), and
 * gives up on any other key, whose comparison could call __eq__.  Meant
 * for type and module dicts: once per type (thousands) or module.
 */
#include "portable.h"

hg__p_names hg__p_id;

/* See portable.h. */
int hg__p_names_init(void) {
    if (hg__p_id.del_ != NULL) {
        return 0;
    }
    hg__p_id.name_ = PyUnicode_InternFromString("__name__");
    hg__p_id.module_ = PyUnicode_InternFromString("__module__");
    hg__p_id.sizeof_ = PyUnicode_InternFromString("__sizeof__");
    hg__p_id.del_ = PyUnicode_InternFromString("__del__");
    if (hg__p_id.name_ == NULL || hg__p_id.module_ == NULL ||
        hg__p_id.sizeof_ == NULL || hg__p_id.del_ == NULL) {
        Py_CLEAR(hg__p_id.name_);
        Py_CLEAR(hg__p_id.module_);
        Py_CLEAR(hg__p_id.sizeof_);
        Py_CLEAR(hg__p_id.del_);
        return -1;
    }
    return 0;
}

/* See portable.h. */
PyObject *hg__p_type_dict(PyTypeObject *tp) {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *d = tp->tp_dict;
    if (d == NULL) {
        /* a static builtin type: its dict lives in the interpreter, for
         * the interpreter's life, so the reference may be dropped */
        d = PyType_GetDict(tp);
        Py_XDECREF(d);
    }
    return d;
#else
    return tp->tp_dict;
#endif
}

/* Whether key equals name (an exact str), comparing no other kind. */
static inline int str_equal(PyObject *key, PyObject *name) {
    return key == name ||
           (PyUnicode_GET_LENGTH(key) == PyUnicode_GET_LENGTH(name) &&
            PyUnicode_Compare(key, name) == 0);
}

/* See portable.h. */
int hg__p_dict_get(PyObject *d, PyObject *name, PyObject **out) {
    PyObject *key, *value; /* borrowed */
    Py_ssize_t pos = 0;
    *out = NULL;
    if (d == NULL) {
        return 0;
    }
    if (!PyDict_CheckExact(d)) {
        return -1;
    }
    while (PyDict_Next(d, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            *out = NULL;
            return -1;
        }
        if (*out == NULL && str_equal(key, name)) {
            *out = value;
        }
    }
    return 0;
}

/* See portable.h. */
int hg__p_dict_str_keys_only(PyObject *d) {
    PyObject *key, *value; /* borrowed */
    Py_ssize_t pos = 0;
    if (d == NULL || !PyDict_CheckExact(d)) {
        return 0;
    }
    while (PyDict_Next(d, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            return 0;
        }
    }
    return 1;
}

/* See portable.h. */
int hg__p_type_lookup(PyTypeObject *tp, PyObject *name, PyObject **out) {
    PyObject *mro = tp->tp_mro; /* borrowed */
    *out = NULL;
    if (mro == NULL || !PyTuple_Check(mro)) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro) && *out == NULL; i++) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (hg__p_dict_get(hg__p_type_dict(base), name, out) < 0) {
            return -1;
        }
    }
    return 0;
}

/* See portable.h. */
int hg__p_getattr_optional(PyObject *obj, PyObject *name, PyObject **out) {
#if PY_VERSION_HEX >= 0x030D0000
    return PyObject_GetOptionalAttr(obj, name, out) < 0 ? -1 : 0;
#else
    *out = PyObject_GetAttr(obj, name);
    if (*out == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
    }
    return 0;
#endif
}
