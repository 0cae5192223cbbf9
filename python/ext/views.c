/*
 * views.c -- the Graph's views: node masks, type histograms, selections.
 *
 * What objgraph's counts are made of: a mask picks nodes (the default view,
 * live ones, untracked ones...), a histogram counts or sums them per type,
 * a selection lists their ids; zero_in_degree and addrs_by_type are
 * objgraph's get_leaking_objects and get_new_ids.  Each pass over the
 * nodes runs with the GIL released, in a core kernel where one exists.
 * The encodings of masks and id arrays are graphobj.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "views.h"

static hg_graph *G(GraphObject *self) {
    return self->cap.graph;
}

PyDoc_STRVAR(
    Graph_mask_doc,
    "mask(live=False, excluded=False, untracked=False, invert=False)\n"
    "    -> bytes\n\n"
    "One byte per node: 1 for tracked nodes (and untracked ones when\n"
    "untracked=True), without the capturer's excluded machinery unless\n"
    "excluded=True.  live=True gives the heap as a full gc.collect() would\n"
    "leave it: only nodes reachable from a root, and the tuples and dicts a\n"
    "collection would untrack count as untracked.  invert=True: 0 and 1\n"
    "swapped, in the same pass (what a search must not enter).");

static PyObject *Graph_mask(GraphObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"live", "excluded", "untracked", "invert", NULL};
    int live = 0, excluded = 0, untracked = 0, invert = 0;
    hg_graph *g = G(self);
    PyObject *res;
    uint8_t *m;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pppp:mask", kwlist, &live,
                                     &excluded, &untracked, &invert)) {
        return NULL;
    }
    if (live && hgpy_graph_ensure_live(self) < 0) {
        return NULL;
    }
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)g->n_nodes);
    if (res == NULL) {
        return NULL;
    }
    m = (uint8_t *)PyBytes_AS_STRING(res);
    Py_BEGIN_ALLOW_THREADS
        for (hg_node v = 0; v < g->n_nodes; v++) {
            uint8_t f = g->flags[v];
            int tracked =
                (f & HG_NODE_TRACKED) && !(live && self->untrackable[v]);
            m[v] = (uint8_t)(((untracked || tracked) &&
                              (excluded || !(f & HG_NODE_EXCLUDED)) &&
                              (!live || self->live[v])) ^
                             invert);
        }
    Py_END_ALLOW_THREADS
    return res;
}

PyDoc_STRVAR(Graph_type_counts_doc,
             "type_counts(mask) -> list[int]\n\nNodes per type id among the "
             "masked ones;\nmask None: the default view, counted at capture "
             "time.");

static PyObject *Graph_type_counts(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    Py_buffer mask;
    uint64_t *counts = NULL;
    PyObject *res = NULL;
    hg_status st;
    size_t nb = (size_t)self->cap.n_types * sizeof(uint64_t) + 1;

    if (arg == Py_None) {
        return hgpy_u64_list(self->base_counts, self->cap.n_types);
    }
    if (hgpy_get_buffer(arg, &mask, g->n_nodes, 0, 0, "mask") < 0) {
        return NULL;
    }
    counts = hg_alloc(nb);
    if (counts == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_type_histogram(g->type_id, g->n_nodes, mask.buf,
                               self->cap.n_types, counts);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "type histogram");
        goto cleanup;
    }
    res = PyList_New(self->cap.n_types);
    if (res == NULL) {
        goto cleanup;
    }
    for (uint32_t t = 0; t < self->cap.n_types; t++) {
        PyObject *x = PyLong_FromUnsignedLongLong(counts[t]);
        if (x == NULL) {
            Py_CLEAR(res);
            goto cleanup;
        }
        PyList_SET_ITEM(res, t, x);
    }
cleanup:
    hg_free(counts, nb);
    hgpy_release_buffer(&mask);
    return res;
}

PyDoc_STRVAR(Graph_type_bytes_doc,
             "type_bytes(mask) -> list[int]\n\nShallow bytes per type id "
             "over the masked nodes (None: all).");

static PyObject *Graph_type_bytes(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    Py_buffer mask;
    uint64_t *bytes = NULL;
    PyObject *res = NULL;
    hg_status st;
    size_t nb = (size_t)self->cap.n_types * sizeof(uint64_t) + 1;

    if (hgpy_get_buffer(arg, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    bytes = hg_alloc(nb);
    if (bytes == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_type_bytes(g->type_id, g->size, g->size_over, g->n_size_over,
                           g->n_nodes, mask.buf, self->cap.n_types, bytes);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "type bytes");
        goto cleanup;
    }
    res = hgpy_u64_list(bytes, self->cap.n_types);
cleanup:
    hg_free(bytes, nb);
    hgpy_release_buffer(&mask);
    return res;
}

PyDoc_STRVAR(
    Graph_type_edges_doc,
    "type_edges(mask, type_slot, k) -> list[int]\n\n"
    "References between types (core hg_type_edges): type_slot holds one\n"
    "native uint32 per type id, its slot 0..k-1 or 0xFFFFFFFF to leave it\n"
    "out; returns k*k counts, [a*k + b] = edges from slot a to slot b among\n"
    "the masked nodes (mask None: all).");

static PyObject *Graph_type_edges(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *mask_obj, *slot_obj;
    unsigned int k;
    Py_buffer mask, slot;
    uint64_t *counts = NULL;
    PyObject *res = NULL;
    hg_status st;
    size_t nb;

    if (!PyArg_ParseTuple(args, "OOI:type_edges", &mask_obj, &slot_obj, &k) ||
        hgpy_graph_check_edges(self) < 0) {
        return NULL;
    }
    if (k > 4096) {
        PyErr_Format(PyExc_ValueError, "k must be <= 4096, not %u", k);
        return NULL;
    }
    nb = (size_t)k * k * sizeof(uint64_t) + 1;
    if (hgpy_get_buffer(mask_obj, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (hgpy_get_buffer(slot_obj, &slot, (size_t)self->cap.n_types * 4, 0, 0,
                        "type_slot") < 0) {
        hgpy_release_buffer(&mask);
        return NULL;
    }
    counts = hg_alloc(nb);
    if (counts == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_type_edges(&g->fwd, g->type_id, mask.buf, self->cap.n_types,
                           slot.buf, k, counts);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "type edges");
        goto cleanup;
    }
    res = hgpy_u64_list(counts, (size_t)k * k);
cleanup:
    hg_free(counts, nb);
    hgpy_release_buffer(&mask);
    hgpy_release_buffer(&slot);
    return res;
}

PyDoc_STRVAR(
    Graph_type_order_doc,
    "type_order(mask, merged=False) -> list[int]\n\n"
    "Type ids in the order their first masked node appears: node id order\n"
    "(gc.get_objects() order), or with merged=True the order after a full\n"
    "collection merges the young generations into the old one (generation\n"
    "2, 0, 1, then frozen objects).  objgraph 3.x's dicts of type counts keep\n"
    "that first-seen order, which decides ties when sorting by count.");

typedef struct {
    uint64_t key;
    uint32_t type;
} first_seen;

static int cmp_first_seen(const void *a, const void *b) {
    uint64_t x = ((const first_seen *)a)->key, y = ((const first_seen *)b)->key;
    return x < y ? -1 : x > y;
}

static PyObject *Graph_type_order(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *mask_obj, *res = NULL;
    int merged = 0;
    Py_buffer mask;
    first_seen *first = NULL;
    uint32_t nt = self->cap.n_types, n_found = 0;
    size_t nb = (size_t)nt * sizeof(first_seen) + 1;

    if (!PyArg_ParseTuple(args, "O|p:type_order", &mask_obj, &merged)) {
        return NULL;
    }
    if (mask_obj == Py_None && !merged) {
        res = PyList_New(self->n_base_order);
        for (uint32_t i = 0; res != NULL && i < self->n_base_order; i++) {
            PyObject *x = PyLong_FromUnsignedLong(self->base_order[i]);
            if (x == NULL) {
                Py_CLEAR(res);
                break;
            }
            PyList_SET_ITEM(res, i, x);
        }
        return res;
    }
    if (hgpy_get_buffer(mask_obj, &mask, g->n_nodes, 0, 0, "mask") < 0) {
        return NULL;
    }
    first = hg_alloc(nb);
    if (first == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        const uint8_t *m = mask.buf;
        for (uint32_t t = 0; t < nt; t++) {
            first[t].key = UINT64_MAX;
            first[t].type = t;
        }
        /* key = (rank of the node's generation in the merged list, id) */
        for (hg_node v = 0; v < g->n_nodes; v++) {
            uint64_t key;
            if (!m[v]) {
                continue;
            }
            key = v;
            if (merged) {
                int gen = (g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT;
                key |= (uint64_t)hg_gc_rank((unsigned)gen) << 32;
            }
            if (key < first[g->type_id[v]].key) {
                first[g->type_id[v]].key = key;
            }
        }
        qsort(first, nt, sizeof(*first), cmp_first_seen);
        while (n_found < nt && first[n_found].key != UINT64_MAX) {
            n_found++;
        }
    Py_END_ALLOW_THREADS
    res = PyList_New(n_found);
    if (res == NULL) {
        goto cleanup;
    }
    for (uint32_t i = 0; i < n_found; i++) {
        PyObject *x = PyLong_FromUnsignedLong(first[i].type);
        if (x == NULL) {
            Py_CLEAR(res);
            goto cleanup;
        }
        PyList_SET_ITEM(res, i, x);
    }
cleanup:
    hg_free(first, nb);
    hgpy_release_buffer(&mask);
    return res;
}

PyDoc_STRVAR(
    Graph_select_doc,
    "select(mask, type_mask=None) -> bytes\n\n"
    "Ids (native uint32) of masked nodes whose type id is set in type_mask,\n"
    "in id order.  mask None: the default view (tracked nodes outside the\n"
    "capturer's excluded machinery).");

/* Whether node v is selected: in the mask (NULL: the default view) and of
 * a type set in tm (NULL: any). */
static inline int selected(const hg_graph *g, const uint8_t *m,
                           const uint8_t *tm, hg_node v) {
    if (tm != NULL && !tm[g->type_id[v]]) {
        return 0; /* most nodes: one read of the type column */
    }
    return m != NULL ? m[v] != 0 : (g->flags[v] & HG_NODE_EXCLUDED) == 0;
}

static PyObject *Graph_select(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *mask_obj, *tmask_obj = Py_None;
    Py_buffer mask, tmask;
    PyObject *res = NULL;
    hg_node *ids = NULL;
    size_t n = 0, nb = 1;

    if (!PyArg_ParseTuple(args, "O|O:select", &mask_obj, &tmask_obj)) {
        return NULL;
    }
    if (hgpy_get_buffer(mask_obj, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (hgpy_get_buffer(tmask_obj, &tmask, self->cap.n_types, 0, 1,
                        "type_mask") < 0) {
        hgpy_release_buffer(&mask);
        return NULL;
    }
    {
        const uint8_t *m = mask.buf, *tm = tmask.buf;
        /* the default view holds tracked nodes only */
        hg_node begin = 0, end = m == NULL ? g->n_tracked : g->n_nodes;
        if (m == NULL && tm != NULL) {
            /* its counts per type are known: one pass, not two, over the
             * ids between the first and the last node of those types */
            begin = end;
            end = 0;
            for (uint32_t t = 0; t < self->cap.n_types; t++) {
                if (!tm[t] || self->base_counts[t] == 0) {
                    continue;
                }
                n += (size_t)self->base_counts[t];
                begin = self->base_span[2 * t] < begin ? self->base_span[2 * t]
                                                       : begin;
                end = self->base_span[2 * t + 1] + 1 > end
                          ? self->base_span[2 * t + 1] + 1
                          : end;
            }
        } else {
            Py_BEGIN_ALLOW_THREADS
                for (hg_node v = 0; v < end; v++) {
                    n += (size_t)selected(g, m, tm, v);
                }
            Py_END_ALLOW_THREADS
        }
        nb = n * sizeof(hg_node) + 1;
        ids = hg_alloc(nb);
        if (ids == NULL) {
            PyErr_NoMemory();
            goto cleanup;
        }
        {
            size_t cap = n;
            n = 0;
            Py_BEGIN_ALLOW_THREADS
                for (hg_node v = begin; v < end && n < cap; v++) {
                    if (selected(g, m, tm, v)) {
                        ids[n++] = v;
                    }
                }
            Py_END_ALLOW_THREADS
        }
    }
    res = PyBytes_FromStringAndSize((const char *)ids,
                                    (Py_ssize_t)(n * sizeof(hg_node)));
cleanup:
    hg_free(ids, nb);
    hgpy_release_buffer(&mask);
    hgpy_release_buffer(&tmask);
    return res;
}

PyDoc_STRVAR(
    Graph_zero_in_degree_doc,
    "zero_in_degree(candidates, sources) -> bytes\n\n"
    "Ids of nodes set in the candidates mask that no edge from a node set in\n"
    "the sources mask points to (objgraph's get_leaking_objects).");

static PyObject *Graph_zero_in_degree(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *cand_obj, *src_obj;
    Py_buffer cand, src;
    uint32_t *indeg = NULL;
    hg_node *ids = NULL;
    size_t n = 0;
    size_t nb = (size_t)g->n_nodes * sizeof(uint32_t) + 1;
    PyObject *res = NULL;
    hg_status st = HG_OK;

    if (!PyArg_ParseTuple(args, "OO:zero_in_degree", &cand_obj, &src_obj) ||
        hgpy_graph_check_edges(self) < 0) {
        return NULL;
    }
    if (hgpy_get_buffer(cand_obj, &cand, g->n_nodes, 0, 0, "candidates") < 0) {
        return NULL;
    }
    if (hgpy_get_buffer(src_obj, &src, g->n_nodes, 0, 0, "sources") < 0) {
        hgpy_release_buffer(&cand);
        return NULL;
    }
    indeg = hg_alloc(nb);
    ids = hg_alloc(nb);
    if (indeg == NULL || ids == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    {
        const uint8_t *c = cand.buf;
        Py_BEGIN_ALLOW_THREADS
            st = hg_csr_in_degree(&g->fwd, src.buf, indeg);
            if (st == HG_OK) {
                for (hg_node v = 0; v < g->n_nodes; v++) {
                    if (c[v] && indeg[v] == 0) {
                        ids[n++] = v;
                    }
                }
            }
        Py_END_ALLOW_THREADS
    }
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "in-degree");
        goto cleanup;
    }
    res = PyBytes_FromStringAndSize((const char *)ids,
                                    (Py_ssize_t)(n * sizeof(hg_node)));
cleanup:
    hg_free(indeg, nb);
    hg_free(ids, nb);
    hgpy_release_buffer(&cand);
    hgpy_release_buffer(&src);
    return res;
}

PyDoc_STRVAR(
    Graph_addrs_by_type_doc,
    "addrs_by_type(mask) -> list[list[int]]\n\n"
    "For each type id, the addresses of the masked nodes of that type, in id\n"
    "order (objgraph's get_new_ids).");

static PyObject *Graph_addrs_by_type(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    Py_buffer mask;
    PyObject *res = NULL;
    const uint8_t *m;

    if (hgpy_get_buffer(arg, &mask, g->n_nodes, 0, 0, "mask") < 0) {
        return NULL;
    }
    m = mask.buf;
    res = PyList_New(self->cap.n_types);
    if (res == NULL) {
        goto cleanup;
    }
    for (uint32_t t = 0; t < self->cap.n_types; t++) {
        PyObject *l = PyList_New(0);
        if (l == NULL) {
            Py_CLEAR(res);
            goto cleanup;
        }
        PyList_SET_ITEM(res, t, l);
    }
    for (hg_node v = 0; v < g->n_nodes; v++) {
        PyObject *a;
        int rc;
        if (!m[v]) {
            continue;
        }
        a = PyLong_FromUnsignedLongLong(g->addr[v]);
        if (a == NULL) {
            Py_CLEAR(res);
            goto cleanup;
        }
        rc = PyList_Append(PyList_GET_ITEM(res, g->type_id[v]), a);
        Py_DECREF(a);
        if (rc < 0) {
            Py_CLEAR(res);
            goto cleanup;
        }
    }
cleanup:
    hgpy_release_buffer(&mask);
    return res;
}

/* ---- the method table ---------------------------------------------------- */

PyMethodDef hgpy_views_methods[] = {
    {"mask", (PyCFunction)(void (*)(void))Graph_mask,
     METH_VARARGS | METH_KEYWORDS, Graph_mask_doc},
    {"type_counts", (PyCFunction)Graph_type_counts, METH_O,
     Graph_type_counts_doc},
    {"type_order", (PyCFunction)Graph_type_order, METH_VARARGS,
     Graph_type_order_doc},
    {"type_bytes", (PyCFunction)Graph_type_bytes, METH_O, Graph_type_bytes_doc},
    {"type_edges", (PyCFunction)Graph_type_edges, METH_VARARGS,
     Graph_type_edges_doc},
    {"select", (PyCFunction)Graph_select, METH_VARARGS, Graph_select_doc},
    {"zero_in_degree", (PyCFunction)Graph_zero_in_degree, METH_VARARGS,
     Graph_zero_in_degree_doc},
    {"addrs_by_type", (PyCFunction)Graph_addrs_by_type, METH_O,
     Graph_addrs_by_type_doc},
    {NULL, NULL, 0, NULL},
};
