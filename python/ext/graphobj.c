/*
 * graphobj.c -- the Graph object: type, lifetime, derived arrays, helpers.
 *
 * A Graph is one frozen capture (module.c's capture()) or one loaded file
 * (snapfile.c's load()).  This file owns what every method file shares
 * (graphobj.h): the object's lifetime and its part in the cyclic GC, its
 * properties, the derived arrays a graph computes once -- reverse graph,
 * roots and in-degrees, liveness, address index, and the arrays leakdata.c
 * builds for leak analysis -- which it frees and counts, and the argument
 * and result helpers.  It calls no method file: module.c hands it the method
 * table (hgpy_graph_ready).
 *
 * Encodings shared with the Python layer:
 *   masks        bytes-like of n_nodes bytes, nonzero = selected;
 *   type masks   bytes-like of n_types bytes;
 *   id arrays    bytes-like of native uint32 node ids (array('I'));
 *   parent       writable bytes-like of n_nodes uint32, HG_NONE = none.
 */
#include <string.h>

#include "graphobj.h"

/* ---- arguments and results ----------------------------------------------- */

static hg_graph *G(GraphObject *self) {
    return self->cap.graph;
}

/* Get a read-only (or writable) buffer of exactly `nbytes` bytes, or of any
 * size when nbytes == (size_t)-1.  None gives view->buf == NULL when
 * allow_none.  Returns 0 or -1 with an exception naming `arg`. */
int hgpy_get_buffer(PyObject *obj, Py_buffer *view, size_t nbytes, int writable,
                    int allow_none, const char *arg) {
    memset(view, 0, sizeof(*view));
    if (obj == Py_None && allow_none) {
        return 0;
    }
    if (PyObject_GetBuffer(obj, view,
                           writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a %sbytes-like object", arg,
                     writable ? "writable " : "");
        return -1;
    }
    if (nbytes != (size_t)-1 && (size_t)view->len != nbytes) {
        PyErr_Format(PyExc_ValueError, "%s must have %zu bytes, not %zd", arg,
                     nbytes, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

void hgpy_release_buffer(Py_buffer *view) {
    if (view->obj != NULL) {
        PyBuffer_Release(view);
    }
}

int hgpy_check_node(GraphObject *self, long long v, const char *arg) {
    if (v < 0 || v >= (long long)G(self)->n_nodes) {
        PyErr_Format(PyExc_IndexError, "%s: node id %lld out of range [0, %u)",
                     arg, v, G(self)->n_nodes);
        return -1;
    }
    return 0;
}

PyObject *hgpy_ids_list(const hg_node *ids, size_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        PyObject *x = PyLong_FromUnsignedLong(ids[i]);
        if (x == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}

PyObject *hgpy_u64_list(const uint64_t *a, size_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(a[i]);
        if (x == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}
PyObject *hgpy_ids_bytes(const hg_node *ids, size_t n) {
    return PyBytes_FromStringAndSize((const char *)ids,
                                     (Py_ssize_t)(n * sizeof(hg_node)));
}

int hgpy_parse_ids(GraphObject *self, PyObject *arg, const char *what,
                   hg_node **out, size_t *n_out) {
    hg_node *ids = NULL;
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    if (PyObject_CheckBuffer(arg)) {
        Py_buffer view;
        if (hgpy_get_buffer(arg, &view, (size_t)-1, 0, 0, what) < 0) {
            return -1;
        }
        n = (size_t)view.len / sizeof(hg_node);
        ids = hg_alloc(n * sizeof(hg_node) + 1);
        if (ids != NULL) {
            memcpy(ids, view.buf, n * sizeof(hg_node));
        }
        hgpy_release_buffer(&view);
    } else {
        PyObject *seq = PySequence_Fast(arg, "");
        if (seq == NULL) {
            if (PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Format(PyExc_TypeError,
                             "%s: ids must be bytes or an iterable of int",
                             what);
            }
            return -1;
        }
        n = (size_t)PySequence_Fast_GET_SIZE(seq);
        ids = hg_alloc(n * sizeof(hg_node) + 1);
        for (size_t i = 0; ids != NULL && i < n; i++) {
            long long v =
                PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i));
            if ((v == -1 && PyErr_Occurred()) ||
                hgpy_check_node(self, v, what) < 0) {
                Py_DECREF(seq);
                hg_free(ids, n * sizeof(hg_node) + 1);
                return -1;
            }
            ids[i] = (hg_node)v;
        }
        Py_DECREF(seq);
    }
    if (ids == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= G(self)->n_nodes) {
            hgpy_check_node(self, ids[i], what);
            hg_free(ids, n * sizeof(hg_node) + 1);
            return -1;
        }
    }
    *out = ids;
    *n_out = n;
    return 0;
}

/* ---- what a graph computes once ------------------------------------------ */

int hgpy_graph_check_edges(GraphObject *self) {
    if (self->nodes_only) {
        PyErr_SetString(PyExc_ValueError,
                        "this graph was captured without references "
                        "(nodes_only=True)");
        return -1;
    }
    return 0;
}

int hgpy_graph_ensure(GraphObject *self, void *const *slot, hgpy_builder build,
                      int needs, const char *what) {
    hg_status st = HG_OK;
    if ((needs & HGPY_NEEDS_EDGES) && hgpy_graph_check_edges(self) < 0) {
        return -1;
    }
    if ((needs & HGPY_NEEDS_REVERSE) == HGPY_NEEDS_REVERSE &&
        hgpy_graph_ensure_reverse(self) < 0) {
        return -1;
    }
    if (*slot != NULL) {
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (*slot == NULL) {
            st = build(self);
        }
        PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, what);
        return -1;
    }
    return 0;
}

static hg_status build_reverse(GraphObject *self) {
    return hg_graph_reverse(G(self));
}

int hgpy_graph_ensure_reverse(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&G(self)->rev.offsets,
                             build_reverse, HGPY_NEEDS_EDGES,
                             "building the reverse graph");
}

/* The roots (hg_graph_find_roots: nodes whose reference count exceeds their
 * in-degree), kept in self->roots in id order.  Builds in_degree on the
 * way. */
hg_status hgpy_graph_build_roots(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node n = g->n_nodes;
    uint32_t *indeg = self->in_degree;
    hg_node *roots;
    size_t n_roots = 0;
    hg_status st;

    if (self->roots != NULL) {
        return HG_OK;
    }
    if (indeg == NULL) {
        indeg = hg_alloc((size_t)n * sizeof(*indeg) + 1);
        if (indeg == NULL) {
            return HG_ENOMEM;
        }
        st = hg_csr_in_degree(&g->fwd, NULL, indeg);
        if (st != HG_OK) {
            hg_free(indeg, (size_t)n * sizeof(*indeg) + 1);
            return st;
        }
        self->in_degree = indeg;
    }
    st = hg_graph_find_roots(g, indeg, &roots, &n_roots);
    if (st != HG_OK) {
        return st;
    }
    self->n_roots = n_roots;
    self->roots = roots;
    return HG_OK;
}

int hgpy_graph_ensure_roots(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->roots,
                             hgpy_graph_build_roots, HGPY_NEEDS_EDGES,
                             "finding the roots");
}

/* live = reachable from a root (hgpy_graph_build_roots).  untrackable =
 * what a full collection would untrack besides (see hg_capture_untrackable):
 * "live" views treat those as untracked. */
static hg_status build_live(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node n = g->n_nodes;
    uint8_t *live = NULL, *untrackable = NULL;
    hg_status st = hgpy_graph_build_roots(self);

    if (st != HG_OK) {
        return st;
    }
    live = hg_alloc((size_t)n + 1);
    if (live == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    st = hg_reach(&g->fwd, self->roots, self->n_roots, NULL, live);
    if (st != HG_OK) {
        goto cleanup;
    }
    untrackable = hg_alloc((size_t)n + 1);
    if (untrackable == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    st = hg_capture_untrackable(&self->cap, live, untrackable);
    if (st != HG_OK) {
        goto cleanup;
    }
    self->untrackable = untrackable;
    untrackable = NULL;
    self->live = live; /* last: its presence means both are built */
    live = NULL;
cleanup:
    hg_free(live, (size_t)n + 1);
    hg_free(untrackable, (size_t)n + 1);
    return st;
}

int hgpy_graph_ensure_live(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->live, build_live,
                             HGPY_NEEDS_EDGES,
                             "finding the nodes reachable from roots");
}

static hg_status build_index(GraphObject *self) {
    return hg_addr_index_new(G(self)->addr, G(self)->n_nodes, &self->index);
}

int hgpy_graph_ensure_index(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->index, build_index, 0,
                             "indexing addresses");
}

/* The default view's type counts and first-seen order: one pass over the
 * tracked nodes, without the GIL. */
int hgpy_graph_summarise(GraphObject *self) {
    hg_graph *g = G(self);
    uint32_t nt = self->cap.n_types, n_found = 0;
    uint64_t *counts = hg_calloc((size_t)nt * sizeof(uint64_t) + 1);
    uint32_t *order = hg_alloc((size_t)nt * sizeof(uint32_t) + 1);
    /* span[2t], span[2t+1]: first and last id of type t (by_type scans
     * only the ids between: instances made together lie together) */
    hg_node *span = hg_alloc(2 * (size_t)nt * sizeof(hg_node) + 1);

    if (counts == NULL || order == NULL || span == NULL) {
        hg_free(counts, (size_t)nt * sizeof(uint64_t) + 1);
        hg_free(order, (size_t)nt * sizeof(uint32_t) + 1);
        hg_free(span, 2 * (size_t)nt * sizeof(hg_node) + 1);
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
        for (uint32_t t = 0; t < nt; t++) {
            span[2 * t] = span[2 * t + 1] = HG_NONE;
        }
        for (hg_node v = 0; v < g->n_tracked; v++) {
            uint32_t t = g->type_id[v];
            if (g->flags[v] & HG_NODE_EXCLUDED) {
                continue;
            }
            if (counts[t]++ == 0) {
                span[2 * t] = v;
                order[n_found++] = t;
            }
            span[2 * t + 1] = v;
        }
    Py_END_ALLOW_THREADS
    self->base_counts = counts;
    self->base_order = order;
    self->n_base_order = n_found;
    self->base_span = span;
    return 0;
}

/* ---- lifetime and the cyclic GC -------------------------------------------
 * A pinned graph holds a strong reference to every tracked node, and those
 * objects may hold the graph (h.snap = objgraph.snapshot()): a cycle only
 * the collector can free.  So Graph is a GC type, tracked exactly while it
 * holds pins -- from the end of its capture (module.c) to close(), the
 * collector's tp_clear or dealloc -- and tracked in the oldest generation,
 * so that only full collections pay for visiting its pins (one per tracked
 * object; the figure is in docs/benchmarks.md).  A detached, closed or
 * loaded graph is never tracked: it holds no reference that could close a
 * cycle, and the collector does not list it.
 *
 * While a capture runs (hgpy_pins_hidden > 0, set by module.c around
 * hg_capture_run), tp_traverse visits nothing.  A later capture thus sees
 * an earlier pinned graph as a node without references, as it always did:
 * its pins are not millions of edges of the new graph, and each pinned
 * object keeps counting the pin as a reference from outside (a root).
 * The walk calls tp_traverse from OpenMP threads too; they only read the
 * counter, which the thread holding the GIL changes outside any capture's
 * walk.  A collection that runs meanwhile (another thread's, while the
 * capture has released the GIL) sees graphs without references: an
 * unvisited reference only keeps its target alive, so that collection frees
 * less, never too much; a later one frees the cycle. */

int hgpy_pins_hidden;

static int Graph_traverse(GraphObject *self, visitproc visit, void *arg) {
    const hg_graph *g = G(self);
    if (hgpy_pins_hidden > 0 || !self->cap.pinned || g == NULL) {
        return 0;
    }
    /* in GC list order, mostly allocation order: the hardware prefetcher
     * follows (a software prefetch measured no faster) */
    for (hg_node v = 0; v < g->n_tracked; v++) {
        Py_VISIT((PyObject *)(uintptr_t)g->addr[v]);
    }
    return 0;
}

void hgpy_graph_unpin(GraphObject *self) {
    if (!self->closed) {
        self->closed = 1;
        /* no pins, nothing for the collector to see; untracked before the
         * references are dropped, which may run any code */
        PyObject_GC_UnTrack(self);
        hg_capture_unpin(&self->cap);
    }
}

static int Graph_clear(GraphObject *self) {
    hgpy_graph_unpin(self);
    return 0;
}

/* A loaded graph's capture points into its file's bytes (snapfile.c's
 * load): detach them, then free or unmap the file, before
 * hg_capture_release, which must not free them. */
static void release_file(GraphObject *self) {
    hg_snapfile *f = self->file;
    if (f == NULL) {
        return;
    }
    self->file = NULL;
    self->cap.graph = NULL;
    self->cap.type_addr = NULL;
    self->cap.type_flags = NULL;
    hg_snapfile_close(f);
}

/* The derived arrays, at the sizes graphobj.h writes beside them. */
static void free_derived(GraphObject *self) {
    size_t n = self->cap.graph ? self->cap.graph->n_nodes : 0;
    size_t nt = self->cap.n_types;
    hg_free(self->in_degree, n * sizeof(uint32_t) + 1);
    hg_free(self->live, n + 1);
    hg_free(self->untrackable, n + 1);
    hg_free(self->gc_pos, n * sizeof(hg_node) + 1);
    hg_free(self->roots, (self->n_roots + 1) * sizeof(hg_node));
    hg_free(self->idom, n * sizeof(hg_node) + 1);
    hg_free(self->retained, n * sizeof(uint64_t) + 1);
    hg_free(self->comp, n * sizeof(hg_node) + 1);
    hg_free(self->bfs_parent, n * sizeof(hg_node) + 1);
    hg_free(self->base_counts, nt * sizeof(uint64_t) + 1);
    hg_free(self->base_order, nt * sizeof(uint32_t) + 1);
    hg_free(self->base_span, 2 * nt * sizeof(hg_node) + 1);
    hg_addr_index_free(self->index);
}

static void Graph_dealloc(GraphObject *self) {
    PyObject_GC_UnTrack(self);
    free_derived(self);
    release_file(self);             /* a loaded graph: unmap, own nothing */
    hg_capture_release(&self->cap); /* drops pins: may run Python code */
    if (self->lock != NULL) {
        PyThread_free_lock(self->lock);
    }
    PyObject_GC_Del(self);
}

/* The bytes of the derived arrays built so far. */
static uint64_t derived_nbytes(const GraphObject *self) {
    uint64_t nn = G((GraphObject *)self)->n_nodes, n = 0;
    n += (uint64_t)self->cap.n_types *
         (sizeof(uint64_t) + sizeof(uint32_t) + 2 * sizeof(hg_node));
    n += self->index != NULL ? hg_addr_index_nbytes(self->index) : 0;
    n += self->in_degree != NULL ? nn * sizeof(uint32_t) : 0;
    n += self->live != NULL ? 2 * nn : 0; /* live and untrackable */
    n += self->gc_pos != NULL ? nn * sizeof(hg_node) : 0;
    n += self->roots != NULL ? (uint64_t)self->n_roots * sizeof(hg_node) : 0;
    n += self->idom != NULL ? nn * sizeof(hg_node) : 0;
    n += self->retained != NULL ? nn * sizeof(uint64_t) : 0;
    n += self->comp != NULL ? nn * sizeof(hg_node) : 0;
    n += self->bfs_parent != NULL ? nn * sizeof(hg_node) : 0;
    return n;
}

static Py_ssize_t Graph_len(GraphObject *self) {
    return (Py_ssize_t)G(self)->n_nodes;
}

GraphObject *hgpy_graph_new(void) {
    GraphObject *g = PyObject_GC_New(GraphObject, &hgpy_graph_type);
    if (g == NULL) {
        return NULL;
    }
    memset((char *)g + sizeof(PyObject), 0,
           sizeof(GraphObject) - sizeof(PyObject));
    g->lock = PyThread_allocate_lock();
    if (g->lock == NULL) {
        Py_DECREF(g);
        PyErr_NoMemory();
        return NULL;
    }
    return g;
}

/* ---- properties ---------------------------------------------------------- */

static PyObject *Graph_get_n_tracked(GraphObject *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLong(G(self)->n_tracked);
}

static PyObject *Graph_get_num_edges(GraphObject *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLongLong(G(self)->fwd.n_edges);
}

static PyObject *Graph_get_n_types(GraphObject *self, void *c) {
    (void)c;
    return PyLong_FromUnsignedLong(self->cap.n_types);
}

static PyObject *Graph_get_nbytes(GraphObject *self, void *c) {
    /* a loaded graph's arrays are in its file's bytes (read into memory,
     * or mapped): count those, whole, and what was built beside them */
    uint64_t n = self->file != NULL ? hg_snapfile_nbytes(self->file) +
                                          hg_csr_nbytes(&G(self)->rev)
                                    : hg_graph_nbytes(G(self));
    (void)c;
    return PyLong_FromUnsignedLongLong(n + derived_nbytes(self));
}

static PyObject *Graph_get_pause(GraphObject *self, void *c) {
    (void)c;
    return PyFloat_FromDouble(self->cap.pause_seconds);
}

static PyObject *Graph_get_capture(GraphObject *self, void *c) {
    (void)c;
    return PyFloat_FromDouble(self->cap.capture_seconds);
}

static PyObject *Graph_get_phases(GraphObject *self, void *c) {
    static const char *const names[HG_N_PHASES] = {
        "prepare", "chase", "walk", "restore", "calls", "finish"};
    PyObject *d = PyDict_New();
    (void)c;
    for (int i = 0; d != NULL && i < HG_N_PHASES; i++) {
        PyObject *v = PyFloat_FromDouble(self->cap.phase_seconds[i]);
        if (v == NULL || PyDict_SetItemString(d, names[i], v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(d);
            break;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyObject *Graph_get_capture_kind(GraphObject *self, void *c) {
    (void)c;
    switch (self->cap.kind) {
    case HG_CAPTURE_NATIVE:
        return PyUnicode_FromString("native");
    case HG_CAPTURE_PORTABLE:
        return PyUnicode_FromString("portable");
    default:
        Py_RETURN_NONE;
    }
}

static PyObject *Graph_get_fork_extra_bytes(GraphObject *self, void *c) {
    (void)c;
    if (!self->cap.forked) {
        Py_RETURN_NONE;
    }
    return PyLong_FromUnsignedLongLong(self->cap.fork_extra_bytes);
}

static PyObject *Graph_get_pinned(GraphObject *self, void *c) {
    (void)c;
    return PyBool_FromLong(self->cap.pinned && !self->closed);
}

static PyObject *Graph_get_closed(GraphObject *self, void *c) {
    (void)c;
    return PyBool_FromLong(self->closed);
}

static PyObject *Graph_get_saturated(GraphObject *self, void *c) {
    hg_node n;
    (void)c;
    Py_BEGIN_ALLOW_THREADS
        n = hg_graph_count_saturated(G(self));
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLong(n);
}
static PyGetSetDef Graph_getset[] = {
    {"n_tracked", (getter)Graph_get_n_tracked, NULL,
     "Nodes the cyclic GC tracks (ids 0 .. n_tracked-1).", NULL},
    {"num_edges", (getter)Graph_get_num_edges, NULL, "Edges (references).",
     NULL},
    {"n_types", (getter)Graph_get_n_types, NULL, "Distinct types.", NULL},
    {"nbytes", (getter)Graph_get_nbytes, NULL,
     "Bytes this graph holds, derived arrays included.", NULL},
    {"pause_seconds", (getter)Graph_get_pause, NULL,
     "Seconds the GIL was held by the capture.", NULL},
    {"capture_seconds", (getter)Graph_get_capture, NULL,
     "Seconds the whole capture took.", NULL},
    {"phase_seconds", (getter)Graph_get_phases, NULL,
     "Seconds of each phase of the capture (all 0 for a loaded file): "
     "prepare, chase, walk, restore, calls, finish.",
     NULL},
    {"fork_extra_bytes", (getter)Graph_get_fork_extra_bytes, NULL,
     "Bytes the capture's forked child held beyond the parent's memory "
     "(pages copied on write, its tables, the shared file); None unless "
     "captured with fork=True.",
     NULL},
    {"capture_kind", (getter)Graph_get_capture_kind, NULL,
     "Which capture took the graph: 'native' (interpreter internals) or\n"
     "'portable' (public C API only); None for a loaded file.",
     NULL},
    {"pinned", (getter)Graph_get_pinned, NULL,
     "True while the graph holds a strong reference to each tracked node.",
     NULL},
    {"closed", (getter)Graph_get_closed, NULL, "True after close().", NULL},
    {"saturated_refcounts", (getter)Graph_get_saturated, NULL,
     "Nodes whose reference count is stored saturated: 2**32 - 1 or more\n"
     "at capture, stored as 2**32 - 1 (the true count is unknown).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* ---- the type ------------------------------------------------------------ */

static PySequenceMethods Graph_as_sequence = {
    .sq_length = (lenfunc)Graph_len,
};

PyTypeObject hgpy_graph_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "objgraph._heapgraph.Graph",
    .tp_basicsize = sizeof(GraphObject),
    .tp_dealloc = (destructor)Graph_dealloc,
    .tp_as_sequence = &Graph_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A frozen heap graph; create with capture().",
    .tp_traverse = (traverseproc)Graph_traverse,
    .tp_clear = (inquiry)Graph_clear,
    .tp_getset = Graph_getset,
};

int hgpy_graph_ready(PyMethodDef *methods) {
    hgpy_graph_type.tp_methods = methods;
    return PyType_Ready(&hgpy_graph_type);
}
