/*
 * errors.c -- hg_status to Python exceptions, in one place (errors.h).
 *
 * The core reports every failure as an hg_status; the bindings validate
 * their own arguments and raise TypeError, ValueError or IndexError for
 * those directly.  What the core reports comes here.
 */
#include "errors.h"

PyObject *hgpy_file_error;

PyObject *hgpy_raise_status(hg_status st, hgpy_failure on, const char *what) {
    if (on == HGPY_ON_FILE) {
        if (st == HG_ENOMEM) {
            return PyErr_NoMemory();
        }
        PyErr_SetString(hgpy_file_error, what);
        return NULL;
    }
    switch (st) {
    case HG_OK:
        PyErr_Format(PyExc_SystemError, "%s: no error", what);
        break;
    case HG_ENOMEM:
        PyErr_Format(PyExc_MemoryError, "%s: out of memory", what);
        break;
    case HG_EINVAL:
        PyErr_Format(PyExc_ValueError, "%s: %s", what, hg_status_str(st));
        break;
    case HG_ERANGE:
        PyErr_Format(PyExc_OverflowError, "%s: %s", what, hg_status_str(st));
        break;
    default:
        PyErr_Format(PyExc_RuntimeError, "%s: %s", what, hg_status_str(st));
        break;
    }
    return NULL;
}

int hgpy_errors_init(PyObject *m) {
    hgpy_file_error = PyErr_NewExceptionWithDoc(
        "objgraph._heapgraph.FileError",
        "A snapshot file could not be written or read; args[0] says why.", NULL,
        NULL);
    if (hgpy_file_error == NULL ||
        PyModule_AddObjectRef(m, "FileError", hgpy_file_error) < 0) {
        return -1;
    }
    return 0;
}
