/*
 * typenames.c -- objgraph's names of a type, read from C wherever Python
 * would find them without running code.
 *
 * objgraph 3.x names an object's type by two attribute lookups on it:
 * short = type(o).__name__, and long = '%s.%s' % (module, short) when
 * module = getattr(type(o), '__module__', None) is true, else short
 * (_long_typename).  Attribute lookup on a class goes through its
 * metatype (type_getattro in Objects/typeobject.c): a data descriptor
 * found in the metatype's MRO wins, then the class's own MRO, then a
 * plain value in the metatype's MRO.  For plain `type`, and for
 * metaclasses that do not override them (ABCMeta, EnumType...), __name__
 * and __module__ are type's own getters, type_name() and type_module(),
 * which read the class's fields -- and so does this file, running no
 * Python code:
 *   __name__    heap type: ht_name; static type: tp_name after its last
 *               '.'
 *   __module__  heap type: the '__module__' entry of its own dict
 *               (missing: AttributeError, so getattr's default None);
 *               static type: tp_name before its last '.', or 'builtins'
 * A metaclass defined in Python has a plain str '__module__' in its dict,
 * which is no data descriptor: its classes find '__module__' in their own
 * MRO first, else get the metaclass's; that too is read here.
 *
 * Anything else -- a metaclass whose __name__ or __module__ is a property
 * or another descriptor, a metaclass __getattribute__, a dict that could
 * compare keys by calling __eq__, a module that is neither a str nor None
 * (its truth and str() are calls) -- is computed as objgraph computes it,
 * by Python code, after the heap has been read (phase 4c).  An ordinary
 * exception raised there (Exception, not MemoryError) does not fail the
 * capture: it is handed back with the type, whose name is then the one
 * the class's own fields give, and only the queries that need that name
 * raise it (as objgraph 3.7.0's typestats and count do).
 *
 * Scale: once per distinct type of a capture (thousands), GIL held.
 * Public C API only (portable.h): both captures use this file.
 */
#include "portable.h"

#include <string.h>

/* type.__dict__['__name__'] and ['__module__'] (borrowed: the static type
 * `type` keeps them for the life of the process). */
static PyObject *name_getter, *module_getter;

/* How an attribute of a class resolves, when that needs no Python code. */
typedef enum resolved {
    RESOLVED_GETTER,  /* type's own getter (type_name, type_module) */
    RESOLVED_VALUE,   /* a plain value found in a dict */
    RESOLVED_MISSING, /* nowhere: AttributeError */
    RESOLVED_CODE,    /* only Python code can tell */
} resolved;

/* d[name] (borrowed, NULL when absent) without running code; -1 when the
 * dict has keys other than str, whose comparison could call __eq__. */
static int dict_get(PyObject *d, PyObject *name, PyObject **out) {
    return hg__p_dict_get(d, name, out);
}

/* _PyType_Lookup(tp, name) without the attribute cache and without
 * running code; -1 when a dict of the MRO could run code. */
static int mro_get(PyTypeObject *tp, PyObject *name, PyObject **out) {
    return hg__p_type_lookup(tp, name, out);
}

/* How tp.<name> resolves (type_getattro's order), *value the plain value
 * for RESOLVED_VALUE (borrowed).  Any descriptor other than type's own
 * getter means code: its __get__ could be anything. */
static resolved resolve(PyTypeObject *tp, PyObject *name, PyObject *getter,
                        PyObject **value) {
    PyTypeObject *meta = Py_TYPE(tp);
    PyObject *meta_attr, *attr; /* borrowed */

    *value = NULL;
    if (meta->tp_getattro != PyType_Type.tp_getattro ||
        mro_get(meta, name, &meta_attr) < 0) {
        return RESOLVED_CODE;
    }
    if (meta_attr == getter) {
        return RESOLVED_GETTER;
    }
    if (meta_attr != NULL && Py_TYPE(meta_attr)->tp_descr_get != NULL) {
        return RESOLVED_CODE;
    }
    if (mro_get(tp, name, &attr) < 0 ||
        (attr != NULL && Py_TYPE(attr)->tp_descr_get != NULL)) {
        return RESOLVED_CODE;
    }
    *value = attr != NULL ? attr : meta_attr;
    return *value != NULL ? RESOLVED_VALUE : RESOLVED_MISSING;
}

/* type_name(tp) as an exact str (a str subclass given to __name__ is
 * copied); NULL with MemoryError. */
static PyObject *c_name(PyTypeObject *tp) {
    const char *s;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        return PyUnicode_FromObject(((PyHeapTypeObject *)tp)->ht_name);
    }
    s = strrchr(tp->tp_name, '.');
    return PyUnicode_FromString(s != NULL ? s + 1 : tp->tp_name);
}

/* type_module(tp): 1 and *out a new reference; 0 when it would raise
 * AttributeError; -1 when reading it could run code (*out NULL, no
 * exception); -2 with MemoryError. */
static int c_module(PyTypeObject *tp, PyObject **out) {
    const char *s;
    *out = NULL;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        if (dict_get(hg__p_type_dict(tp), hg__p_id.module_, out) < 0) {
            return -1;
        }
        Py_XINCREF(*out);
        return *out != NULL;
    }
    s = strrchr(tp->tp_name, '.');
    *out = s != NULL ? PyUnicode_FromStringAndSize(
                           tp->tp_name, (Py_ssize_t)(s - tp->tp_name))
                     : PyUnicode_FromString("builtins");
    return *out != NULL ? 1 : -2;
}

/* The exception being raised, if it may be recorded (an Exception, not a
 * MemoryError): *err = it (a new reference, without its traceback, which
 * would keep the failing frames alive), the error cleared, 0.  Otherwise
 * -1, the error still set: it fails the capture. */
static int record(PyObject **err) {
    PyObject *type, *value, *tb;
    if (!PyErr_ExceptionMatches(PyExc_Exception) ||
        PyErr_ExceptionMatches(PyExc_MemoryError)) {
        return -1;
    }
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    if (value == NULL) {
        PyErr_SetString(PyExc_SystemError, "an exception without a value");
        return -1;
    }
    PyException_SetTraceback(value, Py_None);
    *err = value;
    return 0;
}

/* 'module.name' for an exact str module, or name when module is NULL,
 * None or an empty str; anything else is asked for its truth and str(),
 * which may run code.  A new reference, or NULL with an exception. */
static PyObject *long_of(PyObject *module, PyObject *name) {
    int truth;
    if (module == NULL || module == Py_None) {
        return Py_NewRef(name);
    }
    if (PyUnicode_CheckExact(module)) {
        return PyUnicode_GET_LENGTH(module) == 0
                   ? Py_NewRef(name)
                   : PyUnicode_FromFormat("%U.%U", module, name);
    }
    truth = PyObject_IsTrue(module);
    if (truth < 0) {
        return NULL;
    }
    return truth ? PyUnicode_FromFormat("%S.%U", module, name)
                 : Py_NewRef(name);
}

/* The names the class's own fields give, ignoring its metaclass: for a
 * name whose lookup raised.  NULL with MemoryError. */
static PyObject *c_names(PyTypeObject *tp, int want_long) {
    PyObject *name = c_name(tp), *module = NULL, *res;
    int r;
    if (name == NULL || !want_long) {
        return name;
    }
    r = c_module(tp, &module);
    if (r == -2) {
        Py_DECREF(name);
        return NULL;
    }
    res = module == NULL || PyUnicode_CheckExact(module) ? long_of(module, name)
                                                         : Py_NewRef(name);
    Py_XDECREF(module);
    Py_DECREF(name);
    return res;
}

/* tp.__name__ as objgraph reads it, as an exact str (a new reference);
 * NULL with an exception when Python code raised. */
static PyObject *short_name_of(PyTypeObject *tp) {
    PyObject *value, *name; /* value borrowed */
    switch (resolve(tp, hg__p_id.name_, name_getter, &value)) {
    case RESOLVED_GETTER:
        return c_name(tp);
    case RESOLVED_VALUE:
        if (PyUnicode_Check(value)) {
            return PyUnicode_FromObject(value);
        }
        break;
    default:
        break;
    }
    name = PyObject_GetAttr((PyObject *)tp, hg__p_id.name_);
    if (name != NULL && !PyUnicode_CheckExact(name)) {
        Py_SETREF(name, PyUnicode_Check(name) ? PyUnicode_FromObject(name)
                                              : PyObject_Str(name));
    }
    return name;
}

/* getattr(tp, '__module__', None) (a new reference, or NULL for None):
 * 0, or -1 with an exception when Python code raised. */
static int module_of(PyTypeObject *tp, PyObject **out) {
    PyObject *value; /* borrowed */
    int r;
    *out = NULL;
    switch (resolve(tp, hg__p_id.module_, module_getter, &value)) {
    case RESOLVED_GETTER:
        r = c_module(tp, out);
        if (r >= 0) {
            return 0;
        }
        if (r == -2) {
            return -1;
        }
        break;
    case RESOLVED_VALUE:
        *out = Py_NewRef(value);
        return 0;
    case RESOLVED_MISSING:
        return 0;
    default:
        break;
    }
    return hg__p_getattr_optional((PyObject *)tp, hg__p_id.module_, out) < 0
               ? -1
               : 0;
}

/* See capture_int.h. */
int hg__type_names(PyTypeObject *tp, PyObject **short_name,
                   PyObject **long_name, PyObject **short_err,
                   PyObject **long_err) {
    PyObject *module = NULL;

    *short_name = *long_name = *short_err = *long_err = NULL;
    if (name_getter == NULL) {
        if (hg__p_names_init() < 0 ||
            mro_get(&PyType_Type, hg__p_id.name_, &name_getter) < 0 ||
            mro_get(&PyType_Type, hg__p_id.module_, &module_getter) < 0 ||
            name_getter == NULL || module_getter == NULL) {
            name_getter = NULL;
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_SystemError,
                                "type.__name__ or type.__module__ not found");
            }
            return -1;
        }
    }
    *short_name = short_name_of(tp);
    if (*short_name == NULL) {
        /* no __name__: objgraph fails both names the same way */
        if (record(short_err) < 0) {
            return -1;
        }
        *long_err = Py_NewRef(*short_err);
        *short_name = c_names(tp, 0);
        *long_name = c_names(tp, 1);
    } else if (module_of(tp, &module) < 0 ||
               (*long_name = long_of(module, *short_name)) == NULL) {
        if (record(long_err) < 0) {
            goto error;
        }
        *long_name = c_names(tp, 1);
    }
    if (*short_name != NULL && *long_name != NULL) {
        Py_XDECREF(module);
        return 0;
    }
    PyErr_NoMemory();
error:
    Py_XDECREF(module);
    Py_CLEAR(*short_name);
    Py_CLEAR(*long_name);
    Py_CLEAR(*short_err);
    Py_CLEAR(*long_err);
    return -1;
}
