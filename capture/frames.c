/*
 * frames.c -- the local variables of a running function, read without
 * making its locals dict: what names the roots a thread's stack holds.
 *
 * From CPython 3.11 on a running function's locals live in its frame on
 * the thread's data stack, which the cyclic collector does not traverse:
 * an object held only by a local variable has a reference count larger
 * than the references the heap graph holds to it, a root.  Naming that
 * root ("thread worker-1, run() at app.py:12, local 'jobs'") needs the
 * frame's slots.  frame.f_locals on 3.11 and 3.12 copies them into a dict
 * that the frame then keeps (PyFrame_FastToLocals): that dict would hold
 * every local's value until the function returned or f_locals was read
 * again, so a local the program rebinds would live on -- a leak made by
 * the tool that looks for leaks.  This file reads the slots in place
 * instead (interp.h: hg__frame_local), changing nothing.
 *
 * Native captures only (the slots' layout is the interpreter's); a few
 * hundred slots per call, with the GIL held.
 */
#include "capture_int.h"

/* See capture.h. */
PyObject *hg_capture_frame_locals(PyObject *frame) {
    Py_ssize_t n;
    PyObject *res;

    if (!PyFrame_Check(frame)) {
        PyErr_Format(PyExc_TypeError, "frame_locals() takes a frame, not %s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    res = PyList_New(0);
    n = hg__frame_n_locals(frame);
    for (Py_ssize_t i = 0; res != NULL && i < n; i++) {
        PyObject *name;                                     /* borrowed */
        PyObject *value = hg__frame_local(frame, i, &name); /* borrowed */
        PyObject *pair;
        if (value == NULL) {
            continue;
        }
        pair = PyTuple_Pack(2, name, value);
        if (pair == NULL || PyList_Append(res, pair) < 0) {
            Py_CLEAR(res);
        }
        Py_XDECREF(pair);
    }
    return res;
}
