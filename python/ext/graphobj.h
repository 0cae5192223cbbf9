/*
 * graphobj.h -- the Graph object every file of the bindings shares.
 *
 * objgraph._heapgraph is bindings only: argument parsing, result building
 * and, here, the one object they work on.  graphobj.c owns the GraphObject:
 * its type, lifetime and cyclic-GC support, its properties, the arrays a
 * graph computes once (hgpy_graph_ensure, the one lazy-cache helper) and
 * the argument helpers.  The method files -- graph.c and views.c
 * (primitive queries), analysis.c and retention.c (leak analysis, on
 * leakdata.c's arrays), snapfile.c (files), referrers.c (drawings) --
 * include this header and never each other; module.c, at the top, puts
 * their method tables together into the type (hgpy_graph_ready).
 */
#ifndef HGPY_GRAPHOBJ_H
#define HGPY_GRAPHOBJ_H

#include "capture.h"
#include "errors.h"

/* A frozen heap graph: one capture plus lazily computed derived arrays.
 * Invariant: cap.graph != NULL for the object's whole life; `closed` means
 * the pins were dropped (object-returning queries then raise ValueError on
 * pinned graphs).  Tracked by the cyclic GC exactly while cap.pinned (from
 * capture() to close(), tp_clear or dealloc; graphobj.c).  Every derived
 * array is NULL until built, built once under `lock` (hgpy_graph_ensure),
 * then kept: graphobj.c frees them all and counts them in nbytes, from the
 * sizes written beside them (n = cap.graph->n_nodes, each + 1 byte). */
typedef struct {
    PyObject_HEAD hg_capture cap;
    hg_addr_index *index; /* address -> id */
    uint32_t *in_degree;  /* n: all edges (with roots) */
    uint8_t *live;        /* n: reachable from a root */
    uint8_t *untrackable; /* n: a collection would untrack it (with live) */
    hg_node *gc_pos;      /* n: rank in the list a full collection leaves,
                           * HG_NONE for garbage and unlisted (referrers.c
                           * builds it, GIL held, not through
                           * hgpy_graph_ensure) */
    int was_pinned;       /* pinned at capture (pins dropped on close) */
    int back_scans; /* backward BFS levels answered without the reverse graph
                     * (graph.c's bfs_step): after a few, it is built */
    int nodes_only; /* captured without references */
    /* the default view (tracked nodes outside the excluded machinery),
     * summarised once at capture time so the first query is instant: */
    uint64_t *base_counts; /* n_types: nodes per type */
    uint32_t *base_order;  /* type ids in first-seen (gc.get_objects) order */
    uint32_t n_base_order;
    hg_node *base_span; /* 2 * n_types: first and last node id per type */
    hg_node *roots;     /* n_roots + 1: refcnt > in-degree, id order */
    size_t n_roots;
    /* leak analysis (leakdata.c builds them): */
    hg_node *idom;      /* n: immediate dominators (hg_domtree_build) */
    uint64_t *retained; /* n: retained bytes (hg_domtree_retained) */
    hg_node *comp;      /* n: strongly connected components (hg_scc) */
    hg_node n_comp;
    hg_node *bfs_parent; /* n: shortest-path tree from the roots */
    int closed;
    PyThread_type_lock lock; /* guards lazy builds done without the GIL */
    hg_snapfile *file;       /* loaded (snapfile.c): cap's arrays are its */
} GraphObject;

/* The Graph type: ready once hgpy_graph_ready has run. */
extern PyTypeObject hgpy_graph_type;

/* Above 0 while a capture runs (module.c): pinned graphs then show the
 * collector's traversal no references (graphobj.c).  GIL held to change. */
extern int hgpy_pins_hidden;

/* ---- the type and its lifetime ------------------------------------------ */

/* Ready the type with `methods` (NULL-terminated, kept): 0, or -1. */
int hgpy_graph_ready(PyMethodDef *methods);
/* A new, empty Graph (zeroed, its lock made), not GC-tracked: NULL with an
 * exception.  The caller fills cap (or file) and runs hgpy_graph_summarise. */
GraphObject *hgpy_graph_new(void);
/* Compute base_counts/base_order/base_span: 0, or -1 with MemoryError. */
int hgpy_graph_summarise(GraphObject *self);
/* Drop the pins, as close() does; the graph stays and answers the queries
 * that need no live object. */
void hgpy_graph_unpin(GraphObject *self);

/* ---- what a graph computes once ----------------------------------------- */

/* Builds one derived array into self; runs with self->lock held and the
 * GIL released (so: no Python API). */
typedef hg_status (*hgpy_builder)(GraphObject *self);

enum {
    HGPY_NEEDS_EDGES = 1,   /* refused (ValueError) on a nodes_only graph */
    HGPY_NEEDS_REVERSE = 3, /* the reverse graph first (implies EDGES) */
};

/* The lazy-cache helper: unless *slot is already set, run build under
 * self->lock with the GIL released (build sets *slot last).  needs: 0 or
 * HGPY_NEEDS_*.  0, or -1 with an exception naming `what`. */
int hgpy_graph_ensure(GraphObject *self, void *const *slot, hgpy_builder build,
                      int needs, const char *what);
/* ValueError unless the graph has references: 0 or -1. */
int hgpy_graph_check_edges(GraphObject *self);
/* The reverse graph, roots (with in_degree), live (with untrackable) and
 * the address index, through hgpy_graph_ensure: 0, or -1. */
int hgpy_graph_ensure_reverse(GraphObject *self);
int hgpy_graph_ensure_roots(GraphObject *self);
int hgpy_graph_ensure_live(GraphObject *self);
int hgpy_graph_ensure_index(GraphObject *self);
/* The roots' builder, for builders that need them (self->lock held). */
hg_status hgpy_graph_build_roots(GraphObject *self);

/* ---- arguments and results ---------------------------------------------- */

/* A read-only (or writable) buffer of exactly nbytes bytes (any size for
 * (size_t)-1; None allowed when allow_none, giving view->buf == NULL): 0,
 * or -1 with an exception naming `arg`.  Release with hgpy_release_buffer
 * (which accepts a view never filled or already released). */
int hgpy_get_buffer(PyObject *obj, Py_buffer *view, size_t nbytes, int writable,
                    int allow_none, const char *arg);
void hgpy_release_buffer(Py_buffer *view);
/* 0, or -1 with IndexError naming `arg` when v is not a node id. */
int hgpy_check_node(GraphObject *self, long long v, const char *arg);
/* Node ids from bytes of native uint32 or an iterable of int, checked;
 * *out to free with hg_free(*out, *n_out * sizeof(hg_node) + 1).  0, or -1
 * with an exception naming `what`. */
int hgpy_parse_ids(GraphObject *self, PyObject *arg, const char *what,
                   hg_node **out, size_t *n_out);
/* Results: a list of int, or bytes of native uint32 ids; NULL on error. */
PyObject *hgpy_ids_list(const hg_node *ids, size_t n);
PyObject *hgpy_u64_list(const uint64_t *a, size_t n);
PyObject *hgpy_ids_bytes(const hg_node *ids, size_t n);

#endif /* HGPY_GRAPHOBJ_H */
