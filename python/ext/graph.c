/*
 * graph.c -- the Graph type of objgraph._heapgraph.
 *
 * A Graph is one frozen capture.  Its methods are the primitive queries the
 * Python layer composes into objgraph's API: node masks, type histograms,
 * selections, zero-in-degree nodes, neighbours and one BFS level at a time.
 * Every method that touches O(nodes) data calls a core kernel with the GIL
 * released.  Derived arrays (reverse graph, in-degree, liveness, address
 * index) are built on first use under self->lock.
 *
 * Encodings shared with the Python layer:
 *   masks        bytes-like of n_nodes bytes, nonzero = selected;
 *   type masks   bytes-like of n_types bytes;
 *   id arrays    bytes-like of native uint32 node ids (array('I'));
 *   parent       writable bytes-like of n_nodes uint32, HG_NONE = none.
 */
#include <string.h>

#include "hgmodule.h"

/* Backward BFS levels (bfs_step) a graph answers by scanning its forward
 * edges before it builds its reverse graph: a scan costs about a fifth of
 * the build, and the chains objgraph users ask for are a few levels long. */
#define HG__BACK_SCANS 4

/* ---- helpers ------------------------------------------------------------- */

static hg_graph *G(GraphObject *self) {
    return self->cap.graph;
}

/* Get a read-only (or writable) buffer of exactly `nbytes` bytes, or of any
 * size when nbytes == (size_t)-1.  None gives view->buf == NULL when
 * allow_none.  Returns 0 or -1 with an exception naming `arg`. */
static int get_buffer(PyObject *obj, Py_buffer *view, size_t nbytes,
                      int writable, int allow_none, const char *arg) {
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

static void release_buffer(Py_buffer *view) {
    if (view->obj != NULL) {
        PyBuffer_Release(view);
    }
}

static int check_node(GraphObject *self, long long v, const char *arg) {
    if (v < 0 || v >= (long long)G(self)->n_nodes) {
        PyErr_Format(PyExc_IndexError, "%s: node id %lld out of range [0, %u)",
                     arg, v, G(self)->n_nodes);
        return -1;
    }
    return 0;
}

static PyObject *ids_to_list(const hg_node *ids, size_t n) {
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

static PyObject *u64_list(const uint64_t *a, size_t n) {
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

/* Shared with analysis.c (see hgmodule.h). */
int hg_get_buffer(PyObject *obj, Py_buffer *view, size_t nbytes, int writable,
                  int allow_none, const char *arg) {
    return get_buffer(obj, view, nbytes, writable, allow_none, arg);
}

void hg_release_buffer(Py_buffer *view) {
    release_buffer(view);
}

int hg_check_node(GraphObject *self, long long v, const char *arg) {
    return check_node(self, v, arg);
}

PyObject *hg_ids_to_list(const hg_node *ids, size_t n) {
    return ids_to_list(ids, n);
}

/* ---- lazily derived data ------------------------------------------------- */

static int check_edges(GraphObject *self) {
    if (self->nodes_only) {
        PyErr_SetString(PyExc_ValueError,
                        "this graph was captured without references "
                        "(nodes_only=True)");
        return -1;
    }
    return 0;
}

int hg_graph_ensure_reverse(GraphObject *self) {
    hg_status st = HG_OK;
    if (check_edges(self) < 0) {
        return -1;
    }
    if (G(self)->rev.offsets != NULL) {
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (G(self)->rev.offsets == NULL) {
            st = hg_graph_reverse(G(self));
        }
        PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "building the reverse graph");
        return -1;
    }
    return 0;
}

/* The roots (hg_graph_find_roots: nodes whose reference count exceeds their
 * in-degree), kept in self->roots in id order.  Builds in_degree on the
 * way.  The caller holds self->lock (the GIL need not be held). */
hg_status hg_graph_build_roots(GraphObject *self) {
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

/* live = reachable from a root (hg_graph_build_roots).  untrackable = what a
 * full collection would untrack besides (see hg_capture_untrackable): "live"
 * views treat those as untracked. */
static hg_status build_live(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node n = g->n_nodes;
    uint8_t *live = NULL, *untrackable = NULL;
    hg_status st = hg_graph_build_roots(self);

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

int hg_graph_ensure_live(GraphObject *self) {
    hg_status st = HG_OK;
    if (check_edges(self) < 0) {
        return -1;
    }
    if (self->live != NULL) {
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (self->live == NULL) {
            st = build_live(self);
        }
        PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "finding the nodes reachable from roots");
        return -1;
    }
    return 0;
}

int hg_graph_ensure_index(GraphObject *self) {
    hg_status st = HG_OK;
    if (self->index != NULL) {
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (self->index == NULL) {
            st = hg_addr_index_new(G(self)->addr, G(self)->n_nodes,
                                   &self->index);
        }
        PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "indexing addresses");
        return -1;
    }
    return 0;
}

/* The default view's type counts and first-seen order: one pass over the
 * tracked nodes, without the GIL. */
int hg_graph_summarise(GraphObject *self) {
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
 * While a capture runs (hg_pins_hidden > 0, set by module.c around
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

int hg_pins_hidden;

static int Graph_traverse(GraphObject *self, visitproc visit, void *arg) {
    const hg_graph *g = G(self);
    if (hg_pins_hidden > 0 || !self->cap.pinned || g == NULL) {
        return 0;
    }
    /* in GC list order, mostly allocation order: the hardware prefetcher
     * follows (a software prefetch measured no faster) */
    for (hg_node v = 0; v < g->n_tracked; v++) {
        Py_VISIT((PyObject *)(uintptr_t)g->addr[v]);
    }
    return 0;
}

/* Drop the pins, as close() does; the graph itself stays and answers the
 * queries that need no live object. */
static void graph_unpin(GraphObject *self) {
    if (!self->closed) {
        self->closed = 1;
        /* no pins, nothing for the collector to see; untracked before the
         * references are dropped, which may run any code */
        PyObject_GC_UnTrack(self);
        hg_capture_unpin(&self->cap);
    }
}

static int Graph_clear(GraphObject *self) {
    graph_unpin(self);
    return 0;
}

static void Graph_dealloc(GraphObject *self) {
    hg_node n = self->cap.graph ? self->cap.graph->n_nodes : 0;
    PyObject_GC_UnTrack(self);
    hg_free(self->in_degree, (size_t)n * sizeof(uint32_t) + 1);
    hg_free(self->live, (size_t)n + 1);
    hg_free(self->untrackable, (size_t)n + 1);
    hg_free(self->gc_pos, (size_t)n * sizeof(hg_node) + 1);
    hg_free(self->roots, (self->n_roots + 1) * sizeof(hg_node));
    hg_graph_free_analysis(self);
    hg_free(self->base_counts,
            (size_t)self->cap.n_types * sizeof(uint64_t) + 1);
    hg_free(self->base_order, (size_t)self->cap.n_types * sizeof(uint32_t) + 1);
    hg_free(self->base_span,
            2 * (size_t)self->cap.n_types * sizeof(hg_node) + 1);
    hg_addr_index_free(self->index);
    hg_graph_release_file(self);    /* a loaded graph: unmap, own nothing */
    hg_capture_release(&self->cap); /* drops pins: may run Python code */
    if (self->lock != NULL) {
        PyThread_free_lock(self->lock);
    }
    PyObject_GC_Del(self);
}

static PyObject *Graph_close(GraphObject *self, PyObject *unused) {
    (void)unused;
    graph_unpin(self);
    Py_RETURN_NONE;
}

static Py_ssize_t Graph_len(GraphObject *self) {
    return (Py_ssize_t)G(self)->n_nodes;
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
    hg_node nn = G(self)->n_nodes;
    (void)c;
    n += (uint64_t)self->cap.n_types *
         (sizeof(uint64_t) + sizeof(uint32_t) + 2 * sizeof(hg_node));
    if (self->index != NULL) {
        n += hg_addr_index_nbytes(self->index);
    }
    if (self->in_degree != NULL) {
        n += (uint64_t)nn * sizeof(uint32_t);
    }
    if (self->live != NULL) {
        n += 2 * (uint64_t)nn; /* live and untrackable */
    }
    if (self->gc_pos != NULL) {
        n += (uint64_t)nn * sizeof(hg_node);
    }
    if (self->roots != NULL) {
        n += (uint64_t)self->n_roots * sizeof(hg_node);
    }
    n += hg_graph_analysis_nbytes(self);
    return PyLong_FromUnsignedLongLong(n);
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
    if (check_node(self, v, "node()") < 0) {
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
    if (check_node(self, v, "in_degree()") < 0 ||
        hg_graph_ensure_live(self) < 0) {
        return NULL;
    }
    return PyLong_FromUnsignedLong(self->in_degree[v]);
}

/* ---- masks, histograms, selections -------------------------------------- */

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
    if (live && hg_graph_ensure_live(self) < 0) {
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
        return u64_list(self->base_counts, self->cap.n_types);
    }
    if (get_buffer(arg, &mask, g->n_nodes, 0, 0, "mask") < 0) {
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
        hg_raise_status(st, "type histogram");
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
    release_buffer(&mask);
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

    if (get_buffer(arg, &mask, g->n_nodes, 0, 1, "mask") < 0) {
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
        hg_raise_status(st, "type bytes");
        goto cleanup;
    }
    res = u64_list(bytes, self->cap.n_types);
cleanup:
    hg_free(bytes, nb);
    release_buffer(&mask);
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
        check_edges(self) < 0) {
        return NULL;
    }
    if (k > 4096) {
        PyErr_Format(PyExc_ValueError, "k must be <= 4096, not %u", k);
        return NULL;
    }
    nb = (size_t)k * k * sizeof(uint64_t) + 1;
    if (get_buffer(mask_obj, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (get_buffer(slot_obj, &slot, (size_t)self->cap.n_types * 4, 0, 0,
                   "type_slot") < 0) {
        release_buffer(&mask);
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
        hg_raise_status(st, "type edges");
        goto cleanup;
    }
    res = u64_list(counts, (size_t)k * k);
cleanup:
    hg_free(counts, nb);
    release_buffer(&mask);
    release_buffer(&slot);
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
    static const uint64_t merged_rank[4] = {1, 2, 0, 3};
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
    if (get_buffer(mask_obj, &mask, g->n_nodes, 0, 0, "mask") < 0) {
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
                key |= merged_rank[gen] << 32;
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
    release_buffer(&mask);
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
    if (get_buffer(mask_obj, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (get_buffer(tmask_obj, &tmask, self->cap.n_types, 0, 1, "type_mask") <
        0) {
        release_buffer(&mask);
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
    release_buffer(&mask);
    release_buffer(&tmask);
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
        check_edges(self) < 0) {
        return NULL;
    }
    if (get_buffer(cand_obj, &cand, g->n_nodes, 0, 0, "candidates") < 0) {
        return NULL;
    }
    if (get_buffer(src_obj, &src, g->n_nodes, 0, 0, "sources") < 0) {
        release_buffer(&cand);
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
        hg_raise_status(st, "in-degree");
        goto cleanup;
    }
    res = PyBytes_FromStringAndSize((const char *)ids,
                                    (Py_ssize_t)(n * sizeof(hg_node)));
cleanup:
    hg_free(indeg, nb);
    hg_free(ids, nb);
    release_buffer(&cand);
    release_buffer(&src);
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

    if (get_buffer(arg, &mask, g->n_nodes, 0, 0, "mask") < 0) {
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
    release_buffer(&mask);
    return res;
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

#define HG__FIND_BY_SCAN 4 /* at most this many addresses, no index yet */

static PyObject *Graph_find(GraphObject *self, PyObject *arg) {
    PyObject *seq, *res;
    Py_ssize_t n;
    int scan;

    seq = PySequence_Fast(arg, "find(): addrs must be an iterable of int");
    if (seq == NULL) {
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    scan = self->index == NULL && n <= HG__FIND_BY_SCAN;
    if (!scan && hg_graph_ensure_index(self) < 0) {
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
    hg_graph *g = G(self);
    hg_node *ids = NULL;
    size_t n = 0, nb = 0;
    PyObject **objs = NULL;
    PyObject *res = NULL;
    Py_buffer view;

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
    if (PyObject_CheckBuffer(arg)) {
        if (get_buffer(arg, &view, (size_t)-1, 0, 0, "ids") < 0) {
            return NULL;
        }
        n = (size_t)view.len / sizeof(hg_node);
        nb = n * sizeof(hg_node) + 1;
        ids = hg_alloc(nb);
        if (ids != NULL) {
            memcpy(ids, view.buf, n * sizeof(hg_node));
        }
        release_buffer(&view);
        if (ids == NULL) {
            return PyErr_NoMemory();
        }
    } else {
        PyObject *seq = PySequence_Fast(arg, "objects(): ids must be bytes "
                                             "or an iterable of int");
        if (seq == NULL) {
            return NULL;
        }
        n = (size_t)PySequence_Fast_GET_SIZE(seq);
        nb = n * sizeof(hg_node) + 1;
        ids = hg_alloc(nb);
        if (ids == NULL) {
            Py_DECREF(seq);
            return PyErr_NoMemory();
        }
        for (size_t i = 0; i < n; i++) {
            long long v =
                PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i));
            if ((v == -1 && PyErr_Occurred()) ||
                check_node(self, v, "objects()") < 0) {
                Py_DECREF(seq);
                hg_free(ids, nb);
                return NULL;
            }
            ids[i] = (hg_node)v;
        }
        Py_DECREF(seq);
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= g->n_nodes) {
            check_node(self, ids[i], "objects()");
            goto cleanup;
        }
    }
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
    if (check_node(self, v, reverse ? "referrers()" : "referents()") < 0 ||
        check_edges(self) < 0) {
        return NULL;
    }
    if (reverse && hg_graph_ensure_reverse(self) < 0) {
        return NULL;
    }
    c = reverse ? &G(self)->rev : &G(self)->fwd;
    return ids_to_list(c->targets + c->offsets[v],
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
        check_edges(self) < 0) {
        return NULL;
    }
    /* A backward level on a graph without its reverse: one scan of the
     * forward edges answers it (hg_bfs_step_back), cheaper than building
     * the reverse graph for the few levels a short chain needs; past
     * HG__BACK_SCANS such levels the reverse graph pays and is built. */
    scan =
        reverse && g->rev.offsets == NULL && self->back_scans < HG__BACK_SCANS;
    if (reverse && !scan && hg_graph_ensure_reverse(self) < 0) {
        return NULL;
    }
    c = reverse && !scan ? &g->rev : &g->fwd;
    memset(&blocked, 0, sizeof(blocked));
    memset(&seen, 0, sizeof(seen));
    memset(&parent, 0, sizeof(parent));
    if (get_buffer(front_obj, &front, (size_t)-1, 0, 0, "frontier") < 0) {
        return NULL;
    }
    if (get_buffer(blocked_obj, &blocked, g->n_nodes, 0, 1, "blocked") < 0 ||
        get_buffer(seen_obj, &seen, g->n_nodes, 1, 0, "seen") < 0 ||
        get_buffer(parent_obj, &parent, (size_t)g->n_nodes * sizeof(hg_node), 1,
                   0, "parent") < 0) {
        goto cleanup;
    }
    n_front = (size_t)front.len / sizeof(hg_node);
    f = front.buf;
    for (size_t i = 0; i < n_front; i++) {
        if (f[i] >= g->n_nodes) {
            check_node(self, f[i], "bfs_step()");
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
        hg_raise_status(st, "bfs_step");
        goto cleanup;
    }
    res = PyBytes_FromStringAndSize((const char *)next,
                                    (Py_ssize_t)(n_next * sizeof(hg_node)));
cleanup:
    hg_free(next, cap * sizeof(hg_node) + 1);
    release_buffer(&front);
    release_buffer(&blocked);
    release_buffer(&seen);
    release_buffer(&parent);
    return res;
}

/* ---- the type ------------------------------------------------------------ */

static PyMethodDef Graph_methods[] = {
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
    {"find", (PyCFunction)Graph_find, METH_O, Graph_find_doc},
    {"objects", (PyCFunction)Graph_objects, METH_O, Graph_objects_doc},
    {"referents", (PyCFunction)Graph_referents, METH_O,
     "referents(id) -> list[int]\n\nOut-edges in tp_traverse order."},
    {"referrers", (PyCFunction)Graph_referrers, METH_O,
     "referrers(id) -> list[int]\n\nIn-edges' sources in id order."},
    {"bfs_step", (PyCFunction)Graph_bfs_step, METH_VARARGS, Graph_bfs_step_doc},
    /* snapshot files (snapfile.c) */
    {"save", (PyCFunction)hg_graph_save, METH_VARARGS, hg_graph_save_doc},
    {"file_info", (PyCFunction)hg_graph_file_info, METH_NOARGS,
     hg_graph_file_info_doc},
    {"labels", (PyCFunction)hg_graph_labels, METH_NOARGS, hg_graph_labels_doc},
    {"notes", (PyCFunction)hg_graph_notes, METH_NOARGS, hg_graph_notes_doc},
    {"edge_labels", (PyCFunction)hg_graph_edge_labels, METH_NOARGS,
     hg_graph_edge_labels_doc},
    {"shown", (PyCFunction)hg_graph_shown, METH_O,
     "shown(id) -> bool\n\nWhether draw_referrers would show node id: "
     "tracked, not objgraph's\nown, not garbage, not what a collection "
     "would untrack."},
    {"shown_filter", (PyCFunction)hg_graph_shown_filter, METH_VARARGS,
     "shown_filter(frontier, local=False) -> bytes\n\nThe ids "
     "draw_referrers would show (see referrers.c);\nlocal=True: without "
     "the garbage test, which needs the reverse graph."},
    {"draw_referrers", (PyCFunction)hg_graph_draw_referrers, METH_O,
     "draw_referrers(id) -> list[int]\n\nThe referrers show_backrefs draws: "
     "as gc.get_referrers()\nafter a full collection lists them (see "
     "referrers.c)."},
    /* leak analysis (analysis.c) */
    {"roots", (PyCFunction)(void (*)(void))hg_graph_roots,
     METH_VARARGS | METH_KEYWORDS, hg_graph_roots_doc},
    {"unreachable", (PyCFunction)hg_graph_unreachable, METH_NOARGS,
     hg_graph_unreachable_doc},
    {"idom", (PyCFunction)hg_graph_idom, METH_O, hg_graph_idom_doc},
    {"retained", (PyCFunction)hg_graph_retained, METH_O, hg_graph_retained_doc},
    {"top_retained", (PyCFunction)hg_graph_top_retained, METH_VARARGS,
     hg_graph_top_retained_doc},
    {"type_retained", (PyCFunction)hg_graph_type_retained, METH_O,
     hg_graph_type_retained_doc},
    {"retention_groups", (PyCFunction)(void (*)(void))hg_graph_retention_groups,
     METH_VARARGS | METH_KEYWORDS, hg_graph_retention_groups_doc},
    {"path_to_root", (PyCFunction)hg_graph_path_to_root, METH_O,
     hg_graph_path_to_root_doc},
    {"path_edges", (PyCFunction)hg_graph_path_edges, METH_O,
     hg_graph_path_edges_doc},
    {"find_edges", (PyCFunction)hg_graph_find_edges, METH_VARARGS,
     hg_graph_find_edges_doc},
    {"cycle_groups", (PyCFunction)hg_graph_cycle_groups, METH_NOARGS,
     hg_graph_cycle_groups_doc},
    {"component", (PyCFunction)hg_graph_component, METH_O,
     hg_graph_component_doc},
    {"match", (PyCFunction)hg_graph_match, METH_VARARGS, hg_graph_match_doc},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Graph_as_sequence = {
    .sq_length = (lenfunc)Graph_len,
};

PyTypeObject Graph_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "objgraph._heapgraph.Graph",
    .tp_basicsize = sizeof(GraphObject),
    .tp_dealloc = (destructor)Graph_dealloc,
    .tp_as_sequence = &Graph_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A frozen heap graph; create with capture().",
    .tp_traverse = (traverseproc)Graph_traverse,
    .tp_clear = (inquiry)Graph_clear,
    .tp_methods = Graph_methods,
    .tp_getset = Graph_getset,
};
