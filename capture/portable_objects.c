/*
 * portable_objects.c -- from node ids back to live objects through the
 * public and unstable C API only; and, when the native capture is not
 * built (no HG_HAVE_NATIVE_CAPTURE), capture.h's entry points served by
 * the portable capture.
 *
 * A pinned capture's addresses are objects.  A detached one's are turned
 * into objects again only by finding them among the objects the
 * interpreter lists -- gc.get_objects() (3.10, 3.11) or
 * PyUnstable_GC_VisitObjects (3.12+), one pass for a whole batch through a
 * table of the wanted addresses -- with the type recorded at capture
 * time, as objects.c does on the collector's own lists.  Frozen objects
 * (gc.freeze()) are on no list the API shows: they are not found.
 */
#include "portable.h"

#include <string.h>

#define HG__P_GOLDEN 0x9E3779B97F4A7C15ull

typedef struct want_slot {
    uint64_t addr;   /* 0: empty */
    uint64_t type;   /* the type address recorded at capture */
    PyObject *found; /* a new reference, or NULL */
} want_slot;

typedef struct want {
    want_slot *t;
    size_t mask;
} want;

static want_slot *want_find(const want *w, uint64_t a) {
    size_t h = (size_t)(((a >> 3) * HG__P_GOLDEN) >> 29) & w->mask;
    while (w->t[h].addr != 0 && w->t[h].addr != a) {
        h = (h + 1) & w->mask;
    }
    return &w->t[h];
}

/* Keep op if it is wanted (address and type). */
static void want_offer(const want *w, PyObject *op) {
    want_slot *s = want_find(w, (uint64_t)(uintptr_t)op);
    if (s->addr != 0 && s->found == NULL &&
        s->type == (uint64_t)(uintptr_t)Py_TYPE(op)) {
        s->found = Py_NewRef(op);
    }
}

#if PY_VERSION_HEX >= 0x030C0000
static int offer_visit(PyObject *op, void *arg) {
    want_offer(arg, op);
    return 1;
}
#endif

/* Offer every object the interpreter lists.  0, or -1 with an
 * exception. */
static int offer_all(const want *w) {
#if PY_VERSION_HEX >= 0x030C0000
    PyUnstable_GC_VisitObjects(offer_visit, (void *)w);
    return 0;
#else
    PyObject *gc = PyImport_ImportModule("gc"), *list;
    if (gc == NULL) {
        return -1;
    }
    list = PyObject_CallMethod(gc, "get_objects", NULL);
    Py_DECREF(gc);
    if (list == NULL) {
        return -1;
    }
    if (PyList_CheckExact(list)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
            want_offer(w, PyList_GET_ITEM(list, i));
        }
    }
    Py_DECREF(list);
    return 0;
#endif
}

/* See capture.h. */
int hg_capture_portable_objects(const hg_capture *c, const hg_node *ids,
                                size_t n, PyObject **out) {
    want w = {NULL, 15};
    size_t n_want = 0;
    const hg_graph *g;
    int rc = -1, gc_was_enabled;
    int begun;

    begun = hg__objects_begin(c, ids, n, out, &n_want);
    if (begun <= 0) {
        return begun;
    }
    g = c->graph;
    while (w.mask + 1 < 2 * n_want) {
        w.mask = w.mask * 2 + 1;
    }
    w.t = hg_calloc((w.mask + 1) * sizeof(want_slot));
    if (w.t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (hg__tracked_id(c, ids[i])) {
            want_slot *s = want_find(&w, g->addr[ids[i]]);
            s->addr = g->addr[ids[i]];
            s->type = c->type_addr[g->type_id[ids[i]]];
        }
    }
    /* no collection while the list lives or the objects are visited */
    gc_was_enabled = PyGC_Disable();
    rc = offer_all(&w);
    if (gc_was_enabled) {
        PyGC_Enable();
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && hg__tracked_id(c, ids[i])) {
            want_slot *s = want_find(&w, g->addr[ids[i]]);
            out[i] = Py_XNewRef(s->found);
        }
    }
    for (size_t i = 0; i <= w.mask; i++) {
        Py_XDECREF(w.t[i].found);
    }
    hg_free(w.t, (w.mask + 1) * sizeof(want_slot));
    return rc;
}

/* See portable.h.  The __dict__ of a type without a managed one is at
 * tp_dictoffset (a negative offset, from the end of a variable-size
 * object, is left to the caller); reading it makes none. */
PyObject *hg__attribute_in_dict(PyObject *obj /* borrowed */, uint64_t addr,
                                int *handled) {
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject *dict, *key, *value; /* borrowed */
    Py_ssize_t pos = 0;

#ifdef Py_TPFLAGS_MANAGED_DICT
    *handled = !PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT) &&
               tp->tp_dictoffset >= 0;
#else
    *handled = tp->tp_dictoffset >= 0;
#endif
    if (!*handled || tp->tp_dictoffset == 0) {
        return NULL;
    }
    dict = *(PyObject **)((char *)obj + tp->tp_dictoffset);
    if (dict == NULL || !PyDict_Check(dict)) {
        return NULL;
    }
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if ((uint64_t)(uintptr_t)value == addr && PyUnicode_Check(key)) {
            return Py_NewRef(key);
        }
    }
    return NULL;
}

#ifndef HG_HAVE_NATIVE_CAPTURE
/* ---- capture.h's entry points, without the native capture ---------------- */

/* See capture.h. */
int hg_capture_run(const hg_capture_opts *opts, hg_capture *out) {
    return hg_capture_portable_run(opts, out);
}

/* See capture.h. */
int hg_capture_objects(const hg_capture *c, const hg_node *ids, size_t n,
                       PyObject **out) {
    return hg_capture_portable_objects(c, ids, n, out);
}

/* See capture.h.  The public API tracks in the youngest generation only:
 * young collections traverse the pinned graph too (slower, not wrong). */
void hg_capture_gc_track_oldest(PyObject *op) {
    if (PyObject_IS_GC(op) && !PyObject_GC_IsTracked(op)) {
        PyObject_GC_Track(op);
    }
}

/* See capture.h.  The public API cannot read inline values. */
PyObject *hg_capture_attribute_at(PyObject *obj, uint64_t addr) {
    int handled;
    PyObject *name = hg__attribute_in_dict(obj, addr, &handled);
    if (!handled) {
        PyErr_SetString(PyExc_NotImplementedError,
                        "the portable capture reads no managed __dict__");
    }
    return name;
}

/* See capture.h.  The portable capture needs no probe. */
int hg_capture_init(void) {
    return hg__p_names_init();
}

/* See capture.h. */
Py_ssize_t hg_capture_sizeof(PyObject *op) {
    hg__p_sizer s;
    Py_ssize_t n;
    hg__p_sizer_init(Py_TYPE(op), 1, &s);
    n = hg__p_sizer_quick(&s, op);
    if (n == -1 && (s.kind == HG__P_SZ_CMETH || s.kind == HG__P_SZ_CDESCR)) {
        n = hg__p_sizer_slow(&s, op);
    }
    if (n < 0) {
        PyErr_Clear();
        return -1;
    }
    return n;
}
#endif
