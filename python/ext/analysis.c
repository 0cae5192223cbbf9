/*
 * analysis.c -- leak analysis on a Graph: roots, unreachable nodes,
 * dominators, retained sizes, reference cycles, snapshot matching.
 *
 * The Python layer (objgraph/_leaks.py) asks these methods; they answer
 * from the arrays leakdata.c builds once per graph (the dominator tree,
 * retained sizes, strongly connected components) and from graphobj.c's
 * roots and liveness, each whole-heap query a core kernel run with the GIL
 * released:
 *   top_retained      hg_topk over the retained sizes;
 *   type_retained     hg_domtree_class_retained, each byte counted once
 *                     per type;
 *   cycle_groups      hg_cycles_group: components of two nodes or more
 *                     keyed by their set of type ids.
 * Retention paths are retention.c's.  What stays here is argument parsing
 * and the shaping of the kernels' output into Python objects.
 *
 * Encodings:
 *   idom(v)        node id, -1 for the virtual root, -2 when no root
 *                  reaches v.
 */
#include "analysis.h"
#include "leakdata.h"

static hg_graph *G(const GraphObject *self) {
    return self->cap.graph;
}

static size_t nodes_nbytes(const GraphObject *self, size_t elem) {
    return (size_t)G(self)->n_nodes * elem + 1;
}

/* ---- roots and garbage --------------------------------------------------- */

PyDoc_STRVAR(
    Graph_roots_doc,
    "roots(tracked_only=True) -> bytes\n\n"
    "Ids of the roots: nodes whose reference count exceeds their in-degree\n"
    "(referenced from outside the graph).  tracked_only: only tracked nodes\n"
    "outside the capturer's machinery.");

static PyObject *Graph_roots(GraphObject *self, PyObject *args,
                             PyObject *kwds) {
    static char *kwlist[] = {"tracked_only", NULL};
    int tracked_only = 1;
    hg_graph *g = G(self);
    hg_node *ids;
    size_t n = 0;
    PyObject *res;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p:roots", kwlist,
                                     &tracked_only) ||
        hgpy_graph_ensure_roots(self) < 0) {
        return NULL;
    }
    if (!tracked_only) {
        return hgpy_ids_bytes(self->roots, self->n_roots);
    }
    ids = hg_alloc(self->n_roots * sizeof(hg_node) + 1);
    if (ids == NULL) {
        return PyErr_NoMemory();
    }
    for (size_t i = 0; i < self->n_roots; i++) {
        hg_node v = self->roots[i];
        if ((g->flags[v] & HG_NODE_TRACKED) &&
            !(g->flags[v] & HG_NODE_EXCLUDED)) {
            ids[n++] = v;
        }
    }
    res = hgpy_ids_bytes(ids, n);
    hg_free(ids, self->n_roots * sizeof(hg_node) + 1);
    return res;
}

PyDoc_STRVAR(
    Graph_unreachable_doc,
    "unreachable() -> bytes\n\n"
    "Ids of the tracked nodes outside the capturer's machinery that no root\n"
    "reaches (cyclic garbage awaiting collection).");

static PyObject *Graph_unreachable(GraphObject *self, PyObject *unused) {
    hg_graph *g = G(self);
    hg_node *ids;
    size_t n = 0;
    PyObject *res;
    (void)unused;

    if (hgpy_graph_ensure_live(self) < 0) {
        return NULL;
    }
    ids = hg_alloc((size_t)g->n_tracked * sizeof(hg_node) + 1);
    if (ids == NULL) {
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
        for (hg_node v = 0; v < g->n_tracked; v++) {
            if (!self->live[v] && !(g->flags[v] & HG_NODE_EXCLUDED)) {
                ids[n++] = v;
            }
        }
    Py_END_ALLOW_THREADS
    res = hgpy_ids_bytes(ids, n);
    hg_free(ids, (size_t)g->n_tracked * sizeof(hg_node) + 1);
    return res;
}

/* ---- dominators and retained sizes --------------------------------------- */

PyDoc_STRVAR(
    Graph_idom_doc,
    "idom(id) -> int\n\n"
    "The node's immediate dominator: a node id, -1 when only the virtual\n"
    "root (which points at every root) dominates it, -2 when no root\n"
    "reaches it.");

static PyObject *Graph_idom(GraphObject *self, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    hg_node d;
    if ((v == -1 && PyErr_Occurred()) ||
        hgpy_check_node(self, v, "idom()") < 0 ||
        hgpy_graph_ensure_idom(self) < 0) {
        return NULL;
    }
    d = self->idom[v];
    if (d == HG_DOM_VIRTUAL) {
        return PyLong_FromLong(-1);
    }
    if (d == HG_NONE) {
        return PyLong_FromLong(-2);
    }
    return PyLong_FromUnsignedLong(d);
}

PyDoc_STRVAR(
    Graph_retained_doc,
    "retained(ids) -> list[int]\n\n"
    "Retained bytes of each node (bytes of uint32 or an iterable of int): the\n"
    "shallow sizes of its dominator subtree; 0 when no root reaches it.");

static PyObject *Graph_retained(GraphObject *self, PyObject *arg) {
    hg_node *ids;
    size_t n;
    PyObject *res;
    if (hgpy_parse_ids(self, arg, "retained()", &ids, &n) < 0) {
        return NULL;
    }
    if (hgpy_graph_ensure_retained(self) < 0) {
        hg_free(ids, n * sizeof(hg_node) + 1);
        return NULL;
    }
    res = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; res != NULL && i < n; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(self->retained[ids[i]]);
        if (x == NULL) {
            Py_CLEAR(res);
            break;
        }
        PyList_SET_ITEM(res, (Py_ssize_t)i, x);
    }
    hg_free(ids, n * sizeof(hg_node) + 1);
    return res;
}

PyDoc_STRVAR(
    Graph_top_retained_doc,
    "top_retained(mask, k) -> bytes\n\n"
    "Ids of the k masked nodes (mask None: all) with the most retained\n"
    "bytes, most first (ties: smaller id first); k == 0: all of them.");

static PyObject *Graph_top_retained(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *mask_obj, *res = NULL;
    unsigned long long k_arg;
    Py_buffer mask;
    hg_node *ids = NULL;
    size_t k = 0, used = 0;
    hg_status st;

    if (!PyArg_ParseTuple(args, "OK:top_retained", &mask_obj, &k_arg)) {
        return NULL;
    }
    if (hgpy_get_buffer(mask_obj, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (hgpy_graph_ensure_retained(self) < 0) {
        goto cleanup;
    }
    k = k_arg == 0 || k_arg > g->n_nodes ? g->n_nodes : (size_t)k_arg;
    ids = hg_alloc((k + 1) * sizeof(hg_node));
    if (ids == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_topk(self->retained, g->n_nodes, mask.buf, k, ids, &used);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "ranking retained sizes");
        goto cleanup;
    }
    res = hgpy_ids_bytes(ids, used);
cleanup:
    hg_free(ids, ids != NULL ? (k + 1) * sizeof(hg_node) : 0);
    hgpy_release_buffer(&mask);
    return res;
}

PyDoc_STRVAR(
    Graph_type_retained_doc,
    "type_retained(mask) -> list[int]\n\n"
    "Retained bytes per type id over the masked nodes (None: all), each byte\n"
    "counted once: a node's retained size counts unless a proper dominator\n"
    "of it has the same type.");

static PyObject *Graph_type_retained(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    Py_buffer mask;
    uint32_t nt = self->cap.n_types;
    uint64_t *out = NULL;
    PyObject *res = NULL;
    hg_status st;

    if (hgpy_get_buffer(arg, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (hgpy_graph_ensure_retained(self) < 0) {
        goto cleanup;
    }
    out = hg_alloc((size_t)nt * sizeof(uint64_t) + 1);
    if (out == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_domtree_class_retained(self->idom, g->n_nodes, self->retained,
                                       g->type_id, nt, mask.buf, out);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "retained bytes by type");
        goto cleanup;
    }
    res = hgpy_u64_list(out, nt);
cleanup:
    hg_free(out, (size_t)nt * sizeof(uint64_t) + 1);
    hgpy_release_buffer(&mask);
    return res;
}

/* ---- cycles -------------------------------------------------------------- */

PyDoc_STRVAR(
    Graph_cycle_groups_doc,
    "cycle_groups() -> list[tuple]\n\n"
    "Strongly connected components of two nodes or more (outside the\n"
    "capturer's machinery) grouped by their set of type ids: one\n"
    "(type ids, components, nodes, shallow bytes, example component) per\n"
    "group, type ids ascending, the example the component with the\n"
    "smallest node id.");

/* One row of cycle_groups: (type ids, components, nodes, bytes, example). */
static PyObject *cycle_row(const hg_cycle_groups *cg, size_t i) {
    const hg_cycle_group *grp = &cg->groups[i];
    PyObject *types = PyTuple_New((Py_ssize_t)grp->n_types);
    for (uint32_t t = 0; types != NULL && t < grp->n_types; t++) {
        PyObject *x = PyLong_FromUnsignedLong(cg->types[grp->first_type + t]);
        if (x == NULL) {
            Py_CLEAR(types);
            break;
        }
        PyTuple_SET_ITEM(types, (Py_ssize_t)t, x);
    }
    if (types == NULL) {
        return NULL;
    }
    return Py_BuildValue("(NnKKk)", types, (Py_ssize_t)grp->n_comps,
                         grp->n_nodes, grp->nbytes,
                         (unsigned long)grp->example);
}

static PyObject *Graph_cycle_groups(GraphObject *self, PyObject *unused) {
    hg_cycle_groups cg = {0};
    hg_status st;
    PyObject *res = NULL;
    (void)unused;

    if (hgpy_graph_ensure_comp(self) < 0) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_cycles_group(G(self), self->comp, self->n_comp, &cg);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "grouping reference cycles");
        return NULL;
    }
    res = PyList_New(0);
    for (size_t i = 0; res != NULL && i < cg.n_groups; i++) {
        PyObject *row = cycle_row(&cg, i);
        if (row == NULL || PyList_Append(res, row) < 0) {
            Py_XDECREF(row);
            Py_CLEAR(res);
            break;
        }
        Py_DECREF(row);
    }
    hg_cycle_groups_destroy(&cg);
    return res;
}

PyDoc_STRVAR(Graph_component_doc,
             "component(c) -> bytes\n\nIds of the nodes of strongly connected "
             "component c, ascending.");

static PyObject *Graph_component(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    long long c = PyLong_AsLongLong(arg);
    hg_node *ids;
    size_t n = 0;
    PyObject *res;

    if ((c == -1 && PyErr_Occurred()) || hgpy_graph_ensure_comp(self) < 0) {
        return NULL;
    }
    if (c < 0 || c >= (long long)self->n_comp) {
        return PyErr_Format(PyExc_IndexError,
                            "component(): %lld out of range [0, %u)", c,
                            self->n_comp);
    }
    for (hg_node v = 0; v < g->n_nodes; v++) {
        n += self->comp[v] == (hg_node)c;
    }
    ids = hg_alloc(n * sizeof(hg_node) + 1);
    if (ids == NULL) {
        return PyErr_NoMemory();
    }
    n = 0;
    for (hg_node v = 0; v < g->n_nodes; v++) {
        if (self->comp[v] == (hg_node)c) {
            ids[n++] = v;
        }
    }
    res = hgpy_ids_bytes(ids, n);
    hg_free(ids, n * sizeof(hg_node) + 1);
    return res;
}

/* ---- matching snapshots -------------------------------------------------- */

PyDoc_STRVAR(
    Graph_match_doc,
    "match(old, mask, survivors=True) -> bytes\n\n"
    "A mask of this graph's nodes: mask[v] set and v matched (survivors) or\n"
    "not matched (newcomers) by a node of the older Graph `old` with the\n"
    "same address and the same type (same type address and long name).");

static PyObject *Graph_match(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    GraphObject *old;
    PyObject *mask_obj, *res = NULL;
    int survivors = 1;
    Py_buffer mask;
    hg_addr_index *types = NULL;
    uint32_t *type_map = NULL, nt = self->cap.n_types;
    uint8_t *out;
    hg_status st;

    if (!PyArg_ParseTuple(args, "O!O|p:match", &hgpy_graph_type, &old,
                          &mask_obj, &survivors)) {
        return NULL;
    }
    if (hgpy_get_buffer(mask_obj, &mask, g->n_nodes, 0, 0, "mask") < 0) {
        return NULL;
    }
    if (hgpy_graph_ensure_index(old) < 0) {
        goto cleanup;
    }
    st = hg_addr_index_new(old->cap.type_addr, old->cap.n_types, &types);
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "indexing the older types");
        goto cleanup;
    }
    type_map = hg_alloc((size_t)nt * sizeof(uint32_t) + 1);
    if (type_map == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    /* this graph's type ids -> old's, HG_NONE when old has no such type */
    for (uint32_t t = 0; t < nt; t++) {
        hg_node u = hg_addr_index_find(types, self->cap.type_addr[t]);
        type_map[t] = HG_NONE;
        if (u != HG_NONE) {
            int eq = PyUnicode_Compare(PyList_GET_ITEM(self->cap.long_names, t),
                                       PyList_GET_ITEM(old->cap.long_names, u));
            if (eq == -1 && PyErr_Occurred()) {
                goto cleanup;
            }
            if (eq == 0) {
                type_map[t] = u;
            }
        }
    }
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)g->n_nodes);
    if (res == NULL) {
        goto cleanup;
    }
    out = (uint8_t *)PyBytes_AS_STRING(res);
    Py_BEGIN_ALLOW_THREADS
        const uint8_t *m = mask.buf;
        const hg_graph *og = old->cap.graph;
        for (hg_node v = 0; v < g->n_nodes; v++) {
            int matched = 0;
            if (m[v]) {
                hg_node u = hg_addr_index_find(old->index, g->addr[v]);
                matched =
                    u != HG_NONE && type_map[g->type_id[v]] == og->type_id[u];
            }
            out[v] = m[v] && matched == survivors;
        }
    Py_END_ALLOW_THREADS
cleanup:
    hg_addr_index_free(types);
    hg_free(type_map, (size_t)nt * sizeof(uint32_t) + 1);
    hgpy_release_buffer(&mask);
    return res;
}

/* ---- the method table ---------------------------------------------------- */

PyMethodDef hgpy_analysis_methods[] = {
    {"roots", (PyCFunction)(void (*)(void))Graph_roots,
     METH_VARARGS | METH_KEYWORDS, Graph_roots_doc},
    {"unreachable", (PyCFunction)Graph_unreachable, METH_NOARGS,
     Graph_unreachable_doc},
    {"idom", (PyCFunction)Graph_idom, METH_O, Graph_idom_doc},
    {"retained", (PyCFunction)Graph_retained, METH_O, Graph_retained_doc},
    {"top_retained", (PyCFunction)Graph_top_retained, METH_VARARGS,
     Graph_top_retained_doc},
    {"type_retained", (PyCFunction)Graph_type_retained, METH_O,
     Graph_type_retained_doc},
    {"cycle_groups", (PyCFunction)Graph_cycle_groups, METH_NOARGS,
     Graph_cycle_groups_doc},
    {"component", (PyCFunction)Graph_component, METH_O, Graph_component_doc},
    {"match", (PyCFunction)Graph_match, METH_VARARGS, Graph_match_doc},
    {NULL, NULL, 0, NULL},
};
