/*
 * errors.h -- the one map from core statuses to Python exceptions.
 *
 * Every file of the bindings that gets an hg_status other than HG_OK from
 * the core raises through hgpy_raise_status(); nothing else turns a status
 * into an exception.  Part of objgraph._heapgraph (python/ext).
 */
#ifndef HGPY_ERRORS_H
#define HGPY_ERRORS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "heapgraph.h"

/* _heapgraph.FileError: a snapshot file could not be written or read.
 * Made by hgpy_errors_init; NULL before. */
extern PyObject *hgpy_file_error;

/* What failed: a query or build on a graph (the message names `what`), or
 * a snapshot file's read or write (`what` is the core's reason). */
typedef enum hgpy_failure {
    HGPY_ON_GRAPH = 0,
    HGPY_ON_FILE = 1,
} hgpy_failure;

/* Raise the exception for status st and return NULL.
 *   HGPY_ON_GRAPH: HG_ENOMEM MemoryError, HG_EINVAL ValueError, HG_ERANGE
 *     OverflowError, any other RuntimeError, each "<what>: <status text>";
 *     HG_OK (a caller's bug) SystemError "<what>: no error".
 *   HGPY_ON_FILE: HG_ENOMEM MemoryError (no message), any other status
 *     FileError(what). */
PyObject *hgpy_raise_status(hg_status st, hgpy_failure on, const char *what);

/* Make FileError and add it to the module m: 0, or -1 with an exception. */
int hgpy_errors_init(PyObject *m);

#endif /* HGPY_ERRORS_H */
