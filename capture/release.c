/*
 * release.c -- freeing captures, and untracked referents back as objects.
 *
 * Shared by the native and the portable capture: public C API only
 * (portable.h).  A pinned capture holds one strong reference to each
 * tracked node; releasing it drops them (deallocators may run Python
 * code, so the struct is emptied first).  Untracked nodes (str, int, ...)
 * are on no list of the collector: hg_capture_referent_at() finds one
 * through the tp_traverse of a live referrer, never from its address
 * alone.
 */
#include "portable.h"

#include <string.h>

/* ---- freeing ------------------------------------------------------------- */

/* Py_DECREF each tracked address.  The addresses are copied first: a
 * deallocator may run Python code that releases this very capture. */
static void decref_tracked(const hg_graph *g) {
    size_t n = g->n_tracked;
    uint64_t *copy = hg_alloc(n * sizeof(uint64_t));
    const uint64_t *a = copy != NULL ? copy : g->addr;
    if (copy != NULL) {
        memcpy(copy, g->addr, n * sizeof(uint64_t));
    }
    for (size_t v = 0; v < n; v++) {
        Py_DECREF((PyObject *)(uintptr_t)a[v]);
    }
    hg_free(copy, n * sizeof(uint64_t));
}

/* See capture.h. */
void hg_capture_unpin(hg_capture *c) {
    if (c == NULL || !c->pinned || c->graph == NULL) {
        return;
    }
    c->pinned = 0;
    decref_tracked(c->graph);
}

/* See capture.h.  The struct is emptied before any reference is dropped,
 * so a re-entrant release from a deallocator finds nothing to do. */
void hg_capture_release(hg_capture *c) {
    hg_capture tmp;
    if (c == NULL) {
        return;
    }
    tmp = *c;
    memset(c, 0, sizeof(*c));
    if (tmp.pinned && tmp.graph != NULL) {
        decref_tracked(tmp.graph);
    }
    hg_graph_free(tmp.graph);
    hg_free(tmp.type_addr, (size_t)tmp.n_types * sizeof(uint64_t));
    hg_free(tmp.type_flags, (size_t)tmp.n_types * sizeof(uint32_t));
    Py_XDECREF(tmp.short_names);
    Py_XDECREF(tmp.long_names);
    Py_XDECREF(tmp.name_errors);
}

/* ---- untracked referents ----------------------------------------------------
 */

typedef struct referent_search {
    uint64_t addr;
    PyObject *found; /* borrowed while traversing */
} referent_search;

static int referent_visit(PyObject *op, void *arg) {
    referent_search *rs = arg;
    if ((uint64_t)(uintptr_t)op == rs->addr) {
        rs->found = op;
        return 1; /* stop the traversal */
    }
    return 0;
}

/* See capture.h. */
PyObject *hg_capture_referent_at(PyObject *parent /* borrowed */,
                                 uint64_t addr) {
    referent_search rs = {addr, NULL};
    traverseproc trav;

    if (parent == NULL || !PyObject_IS_GC(parent)) {
        return NULL;
    }
    trav = Py_TYPE(parent)->tp_traverse;
    if (trav == NULL) {
        return NULL;
    }
    (void)trav(parent, referent_visit, &rs);
    return rs.found != NULL ? Py_NewRef(rs.found) : NULL;
}

/* See portable.h. */
int hg__objects_begin(const hg_capture *c, const hg_node *ids, size_t n,
                      PyObject **out, size_t *n_want) {
    if (c == NULL || (n > 0 && (ids == NULL || out == NULL))) {
        PyErr_SetString(PyExc_TypeError, "hg_capture_objects: NULL argument");
        return -1;
    }
    *n_want = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
    }
    if (c->pinned) {
        for (size_t i = 0; i < n; i++) {
            if (hg__tracked_id(c, ids[i])) {
                out[i] =
                    Py_NewRef((PyObject *)(uintptr_t)c->graph->addr[ids[i]]);
            }
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        *n_want += hg__tracked_id(c, ids[i]);
    }
    return *n_want > 0;
}
