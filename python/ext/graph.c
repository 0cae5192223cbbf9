/*
 * graph.c -- the Graph type's primitive queries.
 *
 * The methods the Python layer composes into objgraph's API, with views.c's
 * masks and histograms: node and type tables, addresses and objects,
 * neighbours and one BFS level at a time.  Every
 * method that touches O(nodes) data calls a core kernel, or a plain pass,
 * with the GIL released; derived arrays come from graphobj.c's lazy cache.
 * The encodings of masks, id arrays and parents are graphobj.c's.
 */
#include <string.h>

#include "graph.h"

/* Backward BFS levels (bfs_step) a graph answers by scanning its forward
 * edges before it builds its reverse graph: a scan costs about a fifth of
 * the build, and the chains objgraph users ask for are a few levels long. */
#define HGPY_BACK_SCANS 4

static hg_graph *G(GraphObject *self) {
    return self->cap.graph;
}

/* ---- lifetime ------------------------------------------------------------ */

static PyObject *Graph_close(GraphObject *self, PyObject *unused) {
    (void)unused;
    hgpy_graph_unpin(self);
    Py_RETURN_NONE;
}

static PyObject *Graph_count_refcounts_from(GraphObject *self, PyObject *arg) {
    unsigned long min = PyLong_AsUnsignedLong(arg);
    hg_node n;
    if (min == (unsigned long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    if (min > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError,
                        "count_refcounts_from(min): min exceeds 2**32 - 1");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        n = hg_graph_count_refcnt_from(G(self), (uint32_t)min);
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLong(n);
}

/* ---- node and type tables ------------------------------------------------ */

static PyObject *Graph_type_names(GraphObject *self, PyObject *args) {
    int shortnames = 1;
    if (!PyArg_ParseTuple(args, "|p:type_names", &shortnames)) {
        return NULL;
    }
    return PyList_GetSlice(shortnames ? self->cap.short_names
                                      : self->cap.long_names,
                           0, PY_SSIZE_T_MAX);
}

/* The Python objects the graph itself holds (its type-name lists), for
 * a capture to leave out: objgraph's own, not the program's. */
static PyObject *Graph_own_objects(GraphObject *self, PyObject *unused) {
    PyObject *held[2] = {self->cap.short_names, self->cap.long_names};
    PyObject *res = PyList_New(0);
    (void)unused;
    for (int i = 0; res != NULL && i < 2; i++) {
        if (held[i] != NULL && PyList_Append(res, held[i]) < 0) {
            Py_CLEAR(res);
        }
    }
    return res;
}

/* Handed over, not copied: an exception raised again gets a traceback
 * whose frames may hold this Graph, which the collector cannot see (it is
 * not GC-tracked), so the Graph must not hold the exception too. */
static PyObject *Graph_pop_name_errors(GraphObject *self, PyObject *unused) {
    PyObject *errors = self->cap.name_errors;
    (void)unused;
    self->cap.name_errors = NULL;
    return errors != NULL ? errors : PyDict_New();
}

static PyObject *Graph_type_flags(GraphObject *self, PyObject *unused) {
    (void)unused;
    PyObject *list = PyList_New(self->cap.n_types);
    if (list == NULL) {
        return NULL;
    }
    for (uint32_t t = 0; t < self->cap.n_types; t++) {
        PyObject *x = PyLong_FromUnsignedLong(self->cap.type_flags[t]);
        if (x == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, t, x);
    }
    return list;
}

static PyObject *Graph_node(GraphObject *self, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    hg_graph *g = G(self);
    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (hgpy_check_node(self, v, "node()") < 0) {
        return NULL;
    }
    return Py_BuildValue(
        "(KkKkk)", (unsigned long long)g->addr[v], (unsigned long)g->type_id[v],
        (unsigned long long)hg_node_size(g, (hg_node)v),
        (unsigned long)g->refcnt[v], (unsigned long)g->flags[v]);
}

static PyObject *Graph_in_degree(GraphObject *self, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (hgpy_check_node(self, v, "in_degree()") < 0 ||
        hgpy_graph_ensure_live(self) < 0) {
        return NULL;
    }
    return PyLong_FromUnsignedLong(self->in_degree[v]);
}

/* ---- addresses and objects ----------------------------------------------- */

PyDoc_STRVAR(Graph_find_doc, "find(addrs) -> list[int]\n\nNode id of each "
                             "address (an iterable of int),\n"
                             "-1 where no node has it.");

/* Node id of addr by a scan of the address column: for a few lookups on a
 * snapshot without an index, cheaper than building one (a drawing looks up
 * only its roots; the rest come as ids from the engine). */
static hg_node scan_addr(const hg_graph *g, uint64_t addr) {
    for (hg_node v = 0; v < g->n_nodes; v++) {
        if (g->addr[v] == addr) {
            return v;
        }
    }
    return HG_NONE;
}

#define HGPY_FIND_BY_SCAN 4 /* at most this many addresses, no index yet */

static PyObject *Graph_find(GraphObject *self, PyObject *arg) {
    PyObject *seq, *res;
    Py_ssize_t n;
    int scan;

    seq = PySequence_Fast(arg, "find(): addrs must be an iterable of int");
    if (seq == NULL) {
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    scan = self->index == NULL && n <= HGPY_FIND_BY_SCAN;
    if (!scan && hgpy_graph_ensure_index(self) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    res = PyList_New(n);
    if (res == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PySequence_Fast_GET_ITEM(seq, i); /* borrowed */
        unsigned long long addr = PyLong_AsUnsignedLongLongMask(a);
        hg_node v;
        PyObject *x;
        if (addr == (unsigned long long)-1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            Py_DECREF(res);
            return NULL;
        }
        v = scan ? scan_addr(G(self), (uint64_t)addr)
                 : hg_addr_index_find(self->index, (uint64_t)addr);
        x = PyLong_FromLong(v == HG_NONE ? -1L : (long)v);
        if (x == NULL) {
            Py_DECREF(seq);
            Py_DECREF(res);
            return NULL;
        }
        PyList_SET_ITEM(res, i, x);
    }
    Py_DECREF(seq);
    return res;
}

PyDoc_STRVAR(
    Graph_objects_doc,
    "objects(ids) -> list\n\nThe live object of each tracked node id (bytes "
    "of\n"
    "uint32 or an iterable of int); None for untracked nodes and for objects\n"
    "that are gone.");

static PyObject *Graph_objects(GraphObject *self, PyObject *arg) {
    hg_node *ids = NULL;
    size_t n = 0, nb = 0;
    PyObject **objs = NULL;
    PyObject *res = NULL;

    if (self->was_pinned && self->closed) {
        PyErr_SetString(PyExc_ValueError,
                        "the snapshot is closed: its objects were released");
        return NULL;
    }
    if (self->file != NULL) {
        PyErr_SetString(PyExc_ValueError,
                        "the snapshot was loaded from a file: it holds no "
                        "live objects");
        return NULL;
    }
    if (hgpy_parse_ids(self, arg, "objects()", &ids, &n) < 0) {
        return NULL;
    }
    nb = n * sizeof(hg_node) + 1;
    objs = PyMem_Calloc(n + 1, sizeof(PyObject *));
    if (objs == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    if (hg_capture_objects(&self->cap, ids, n, objs) < 0) {
        goto cleanup;
    }
    res = PyList_New((Py_ssize_t)n);
    if (res == NULL) {
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (objs[i] == NULL) {
            Py_INCREF(Py_None);
            objs[i] = Py_None;
        }
        PyList_SET_ITEM(res, (Py_ssize_t)i, objs[i]); /* steals */
        objs[i] = NULL;
    }
cleanup:
    if (objs != NULL) {
        for (size_t i = 0; i < n; i++) {
            Py_XDECREF(objs[i]);
        }
        PyMem_Free(objs);
    }
    hg_free(ids, nb);
    return res;
}

/* ---- neighbours and searches --------------------------------------------- */

static PyObject *neighbours(GraphObject *self, PyObject *arg, int reverse) {
    long long v = PyLong_AsLongLong(arg);
    const hg_csr *c;
    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (hgpy_check_node(self, v, reverse ? "referrers()" : "referents()") < 0 ||
        hgpy_graph_check_edges(self) < 0) {
        return NULL;
    }
    if (reverse && hgpy_graph_ensure_reverse(self) < 0) {
        return NULL;
    }
    c = reverse ? &G(self)->rev : &G(self)->fwd;
    return hgpy_ids_list(c->targets + c->offsets[v],
                         (size_t)(c->offsets[v + 1] - c->offsets[v]));
}

static PyObject *Graph_referents(GraphObject *self, PyObject *arg) {
    return neighbours(self, arg, 0);
}

static PyObject *Graph_referrers(GraphObject *self, PyObject *arg) {
    return neighbours(self, arg, 1);
}

PyDoc_STRVAR(
    Graph_bfs_step_doc,
    "bfs_step(frontier, reverse, blocked, seen, parent) -> bytes\n\n"
    "One level of a FIFO-ordered BFS (core hg_bfs_step): frontier is bytes of\n"
    "uint32 ids; reverse follows referrers instead of referents; blocked is a\n"
    "mask or None; seen (n_nodes bytes) and parent (n_nodes uint32) are\n"
    "writable buffers updated in place.  Returns the next frontier.");

static PyObject *Graph_bfs_step(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *front_obj, *blocked_obj, *seen_obj, *parent_obj;
    int reverse;
    Py_buffer front, blocked, seen, parent;
    hg_node *next = NULL;
    size_t n_next = 0, cap = 0, n_front;
    int scan;
    const hg_csr *c;
    const hg_node *f;
    PyObject *res = NULL;
    hg_status st;

    if (!PyArg_ParseTuple(args, "OpOOO:bfs_step", &front_obj, &reverse,
                          &blocked_obj, &seen_obj, &parent_obj) ||
        hgpy_graph_check_edges(self) < 0) {
        return NULL;
    }
    /* A backward level on a graph without its reverse: one scan of the
     * forward edges answers it (hg_bfs_step_back), cheaper than building
     * the reverse graph for the few levels a short chain needs; past
     * HGPY_BACK_SCANS such levels the reverse graph pays and is built. */
    scan =
        reverse && g->rev.offsets == NULL && self->back_scans < HGPY_BACK_SCANS;
    if (reverse && !scan && hgpy_graph_ensure_reverse(self) < 0) {
        return NULL;
    }
    c = reverse && !scan ? &g->rev : &g->fwd;
    memset(&blocked, 0, sizeof(blocked));
    memset(&seen, 0, sizeof(seen));
    memset(&parent, 0, sizeof(parent));
    if (hgpy_get_buffer(front_obj, &front, (size_t)-1, 0, 0, "frontier") < 0) {
        return NULL;
    }
    if (hgpy_get_buffer(blocked_obj, &blocked, g->n_nodes, 0, 1, "blocked") <
            0 ||
        hgpy_get_buffer(seen_obj, &seen, g->n_nodes, 1, 0, "seen") < 0 ||
        hgpy_get_buffer(parent_obj, &parent,
                        (size_t)g->n_nodes * sizeof(hg_node), 1, 0,
                        "parent") < 0) {
        goto cleanup;
    }
    n_front = (size_t)front.len / sizeof(hg_node);
    f = front.buf;
    for (size_t i = 0; i < n_front; i++) {
        if (f[i] >= g->n_nodes) {
            hgpy_check_node(self, f[i], "bfs_step()");
            goto cleanup;
        }
        cap += scan ? g->n_nodes
                    : (size_t)(c->offsets[f[i] + 1] - c->offsets[f[i]]);
    }
    if (cap > g->n_nodes) {
        cap = g->n_nodes;
    }
    next = hg_alloc(cap * sizeof(hg_node) + 1);
    if (next == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = (scan ? hg_bfs_step_back : hg_bfs_step)(
            c, f, n_front, blocked.buf, seen.buf, parent.buf, next, &n_next);
    Py_END_ALLOW_THREADS
    self->back_scans += scan;
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "bfs_step");
        goto cleanup;
    }
    res = PyBytes_FromStringAndSize((const char *)next,
                                    (Py_ssize_t)(n_next * sizeof(hg_node)));
cleanup:
    hg_free(next, cap * sizeof(hg_node) + 1);
    hgpy_release_buffer(&front);
    hgpy_release_buffer(&blocked);
    hgpy_release_buffer(&seen);
    hgpy_release_buffer(&parent);
    return res;
}

/* ---- the method table ---------------------------------------------------- */

PyMethodDef hgpy_graph_methods[] = {
    {"close", (PyCFunction)Graph_close, METH_NOARGS,
     "close()\n\nRelease the strong references a pinned graph holds."},
    {"count_refcounts_from", (PyCFunction)Graph_count_refcounts_from, METH_O,
     "count_refcounts_from(min) -> int\n\nNodes whose stored reference "
     "count is min or more."},
    {"type_names", (PyCFunction)Graph_type_names, METH_VARARGS,
     "type_names(shortnames=True) -> list[str]\n\nName of each type id."},
    {"own_objects", (PyCFunction)Graph_own_objects, METH_NOARGS,
     "own_objects() -> list\n\nThe Python objects the graph holds (its "
     "type-name lists):\nobjgraph's own, which captures leave out."},
    {"pop_name_errors", (PyCFunction)Graph_pop_name_errors, METH_NOARGS,
     "pop_name_errors() -> dict\n\n"
     "{type id: (exception or None, exception or None)}: what computing\n"
     "the type's short and long name raised at capture (Python code: a\n"
     "metaclass property...); type_names() then gives the names the\n"
     "class's own fields hold.  Handed over once: later calls give {}\n"
     "(the caller keeps them; the Graph, not GC-tracked, must not hold\n"
     "an exception whose traceback may come to hold it).  Empty for most\n"
     "captures and every loaded file."},
    {"type_flags", (PyCFunction)Graph_type_flags, METH_NOARGS,
     "type_flags() -> list[int]\n\nFlags of each type id."},
    {"node", (PyCFunction)Graph_node, METH_O,
     "node(id) -> (addr, type_id, size, refcnt, flags)"},
    {"in_degree", (PyCFunction)Graph_in_degree, METH_O,
     "in_degree(id) -> int\n\nEdges pointing at the node."},
    {"find", (PyCFunction)Graph_find, METH_O, Graph_find_doc},
    {"objects", (PyCFunction)Graph_objects, METH_O, Graph_objects_doc},
    {"referents", (PyCFunction)Graph_referents, METH_O,
     "referents(id) -> list[int]\n\nOut-edges in tp_traverse order."},
    {"referrers", (PyCFunction)Graph_referrers, METH_O,
     "referrers(id) -> list[int]\n\nIn-edges' sources in id order."},
    {"bfs_step", (PyCFunction)Graph_bfs_step, METH_VARARGS, Graph_bfs_step_doc},
    {NULL, NULL, 0, NULL},
};
