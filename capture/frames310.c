/*
 * frames310.c -- frames.c's hg_capture_frame_locals for CPython 3.10,
 * whose capture is the portable one: a running function's locals read in
 * place, without making its locals dict.
 *
 * On 3.10 a running function's frame object is not tracked by the cyclic
 * collector (CPython tracks it only when it outlives its call), so no
 * capture sees it: an object held only by a local variable is a root, as
 * from 3.11 on.  frame.f_locals would copy the slots into a dict the
 * frame then keeps (PyFrame_FastToLocals), holding every value until the
 * function returns -- a leak made by the tool that looks for leaks.  The
 * slots are read here instead, through 3.10's public frame layout
 * (cpython/frameobject.h): f_localsplus holds the co_nlocals locals, then
 * the cells of co_cellvars and co_freevars.
 */
#include "capture.h"

#include <frameobject.h>

/* Append (name, value) to res unless value is NULL; -1 on failure. */
static int append_pair(PyObject *res, PyObject *name, PyObject *value) {
    PyObject *pair;
    int rc;
    if (value == NULL) {
        return 0;
    }
    pair = PyTuple_Pack(2, name, value);
    rc = pair == NULL ? -1 : PyList_Append(res, pair);
    Py_XDECREF(pair);
    return rc;
}

/* See capture.h. */
PyObject *hg_capture_frame_locals(PyObject *frame) {
    PyFrameObject *f = (PyFrameObject *)frame;
    PyCodeObject *co;
    PyObject *res, *cells[2];
    Py_ssize_t at;

    if (!PyFrame_Check(frame)) {
        PyErr_Format(PyExc_TypeError, "frame_locals() takes a frame, not %s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    co = f->f_code;
    res = PyList_New(0);
    if (res == NULL || !PyTuple_Check(co->co_varnames) ||
        !PyTuple_Check(co->co_cellvars) || !PyTuple_Check(co->co_freevars)) {
        return res;
    }
    for (at = 0; at < co->co_nlocals && at < PyTuple_GET_SIZE(co->co_varnames);
         at++) {
        if (append_pair(res, PyTuple_GET_ITEM(co->co_varnames, at),
                        f->f_localsplus[at]) < 0) {
            Py_DECREF(res);
            return NULL;
        }
    }
    at = co->co_nlocals;
    cells[0] = co->co_cellvars;
    cells[1] = co->co_freevars;
    for (int k = 0; k < 2; k++) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cells[k]); i++, at++) {
            PyObject *cell = f->f_localsplus[at];
            if (cell != NULL && PyCell_Check(cell) &&
                append_pair(res, PyTuple_GET_ITEM(cells[k], i),
                            PyCell_GET(cell)) < 0) {
                Py_DECREF(res);
                return NULL;
            }
        }
    }
    return res;
}
