/*
 * result.c -- what both captures (capture.c, native; portable.c) hand to
 * the caller in the same way: the type table of the hg_capture, with the
 * exceptions computing a class's names raised; the Python exception for a
 * failed walk's status; the exact-size trim of the output arrays.
 *
 * Public C API only (portable.h): built for every CPython.  Scale: once per
 * distinct type (thousands) or per array, GIL held where Python objects
 * are made.
 */
#include "portable.h"

/* Record the exceptions computing type tid's names raised (either may be
 * NULL) in out->name_errors; steals both.  0, or -1 with MemoryError. */
static int record_name_errors(hg_capture *out, size_t tid, PyObject *short_err,
                              PyObject *long_err) {
    PyObject *key = NULL, *pair = NULL;
    int rc = -1;

    if (out->name_errors == NULL && (out->name_errors = PyDict_New()) == NULL) {
        goto cleanup;
    }
    key = PyLong_FromSize_t(tid);
    pair = PyTuple_Pack(2, short_err != NULL ? short_err : Py_None,
                        long_err != NULL ? long_err : Py_None);
    if (key != NULL && pair != NULL) {
        rc = PyDict_SetItem(out->name_errors, key, pair);
    }
cleanup:
    Py_XDECREF(key);
    Py_XDECREF(pair);
    Py_XDECREF(short_err);
    Py_XDECREF(long_err);
    return rc;
}

/* See portable.h. */
int hg__result_types_begin(hg_capture *out, size_t nt) {
    out->type_addr = hg_alloc(nt * sizeof(uint64_t));
    out->type_flags = hg_alloc(nt * sizeof(uint32_t));
    out->short_names = PyList_New((Py_ssize_t)nt);
    out->long_names = PyList_New((Py_ssize_t)nt);
    out->n_types = (uint32_t)nt; /* the size hg_capture_release frees */
    if (nt > 0 && (out->type_addr == NULL || out->type_flags == NULL)) {
        PyErr_NoMemory();
        return -1;
    }
    return out->short_names == NULL || out->long_names == NULL ? -1 : 0;
}

/* See portable.h. */
int hg__result_type_set(hg_capture *out, size_t i, PyTypeObject *tp,
                        uint32_t node_flags) {
    PyObject *s, *l, *s_err, *l_err;
    uint32_t f = 0;

    out->type_addr[i] = (uint64_t)(uintptr_t)tp;
    if (node_flags & HG_NODE_HAS_DEL) {
        f |= HG_TYPE_HAS_DEL;
    }
    if (PyType_IsSubtype(tp, &PyModule_Type)) {
        f |= HG_TYPE_IS_MODULE;
    }
    if (tp == &PyTuple_Type) {
        f |= HG_TYPE_EXACT_TUPLE;
    }
    if (tp == &PyDict_Type) {
        f |= HG_TYPE_EXACT_DICT;
    }
    out->type_flags[i] = f;
    if (hg__type_names(tp, &s, &l, &s_err, &l_err) < 0) {
        return -1;
    }
    PyList_SET_ITEM(out->short_names, (Py_ssize_t)i, s);
    PyList_SET_ITEM(out->long_names, (Py_ssize_t)i, l);
    if (s_err != NULL || l_err != NULL) {
        return record_name_errors(out, i, s_err, l_err);
    }
    return 0;
}

/* See portable.h. */
void hg__result_status_error(hg__walk_status status) {
    if (PyErr_Occurred()) {
        return;
    }
    if (status == HG__WALK_ERANGE) {
        PyErr_SetString(PyExc_MemoryError,
                        "heap snapshot: more objects than node ids (2^32-2)");
    } else if (status == HG__WALK_TRAVERSE_FAILED) {
        PyErr_SetString(PyExc_RuntimeError,
                        "heap snapshot: a tp_traverse function failed");
    } else if (status == HG__WALK_ENOMEM) {
        PyErr_SetString(PyExc_MemoryError,
                        "heap snapshot: out of memory while capturing");
    } else {
        PyErr_Format(PyExc_RuntimeError, "heap snapshot: %s",
                     hg_status_str((hg_status)status));
    }
}

/* See portable.h. */
int hg__resize_exact(void **p, size_t elem, size_t old_n, size_t new_n) {
    void *np;
    if (old_n == new_n) {
        return 0;
    }
    if (new_n == 0) {
        hg_free(*p, old_n * elem);
        *p = NULL;
        return 0;
    }
    np = hg_realloc(*p, old_n * elem, new_n * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    return 0;
}
