/*
 * hgmodule.h -- shared declarations of the objgraph._heapgraph bindings.
 *
 * The extension is thin: module.c maps core statuses to exceptions and
 * exposes capture(); graph.c defines the Graph type, a frozen capture that
 * answers queries by calling core kernels with the GIL released.  No kernel
 * logic lives here.
 */
#ifndef HG_MODULE_H
#define HG_MODULE_H

#include "capture.h"

/* A frozen heap graph: one capture plus lazily computed derived arrays.
 * Invariant: cap.graph != NULL for the object's whole life; `closed` means
 * the pins were dropped (object-returning queries then raise ValueError on
 * pinned graphs).  Tracked by the cyclic GC exactly while cap.pinned (from
 * capture() to close(), tp_clear or dealloc; graph.c). */
typedef struct {
    PyObject_HEAD hg_capture cap;
    hg_addr_index *index; /* address -> id, built on first use */
    uint32_t *in_degree;  /* all edges, built on first use */
    uint8_t *live;        /* reachable from a root, built on first use */
    uint8_t *untrackable; /* a full collection would untrack it (with live) */
    hg_node *gc_pos;      /* rank in the list a full collection leaves, HG_NONE
                           * for garbage and unlisted nodes; built on demand */
    int was_pinned;       /* pinned at capture (pins dropped on close) */
    int back_scans; /* backward BFS levels answered without the reverse graph
                     * (bfs_step): after HG__BACK_SCANS, it is built */
    int nodes_only; /* captured without references */
    /* the default view (tracked nodes outside the excluded machinery),
     * summarised once at capture time so the first query is instant: */
    uint64_t *base_counts; /* n_types: nodes per type */
    uint32_t *base_order;  /* type ids in first-seen (gc.get_objects) order */
    uint32_t n_base_order;
    hg_node *base_span; /* 2 * n_types: first and last node id per type */
    hg_node *roots;     /* refcnt > in-degree, id order; built with live */
    size_t n_roots;
    /* leak analysis (analysis.c), each built on first use: */
    hg_node *idom;      /* immediate dominators (hg_domtree_build) */
    uint64_t *retained; /* retained bytes (hg_domtree_retained) */
    hg_node *comp;      /* strongly connected components (hg_scc) */
    hg_node n_comp;
    hg_node *bfs_parent; /* shortest-path tree from the roots (hg_bfs) */
    int closed;
    PyThread_type_lock lock; /* guards lazy builds done without the GIL */
    hg_snapfile *file;       /* loaded (snapfile.c): cap's arrays are its */
} GraphObject;

extern PyTypeObject Graph_Type;

/* Above 0 while a capture runs (module.c): pinned graphs then show the
 * collector's traversal no references (graph.c).  GIL held to change. */
extern int hg_pins_hidden;

/* Raise the Python exception matching a core status; returns NULL. */
PyObject *hg_raise_status(hg_status st, const char *what);

/* graph.c's argument helpers, shared with analysis.c.  hg_get_buffer gets a
 * buffer of exactly nbytes bytes (any size for (size_t)-1; None allowed
 * when allow_none, giving view->buf == NULL); 0, or -1 with an exception
 * naming `arg`.  hg_check_node: 0, or -1 with IndexError. */
int hg_get_buffer(PyObject *obj, Py_buffer *view, size_t nbytes, int writable,
                  int allow_none, const char *arg);
void hg_release_buffer(Py_buffer *view);
int hg_check_node(GraphObject *self, long long v, const char *arg);
PyObject *hg_ids_to_list(const hg_node *ids, size_t n);

/* Lazily built derived data; 0 on success, -1 with an exception set. */
int hg_graph_ensure_reverse(GraphObject *self);
/* self->roots (and in_degree), built once under self->lock: 0, or -1 with
 * an exception (analysis.c). */
int hg_graph_ensure_roots(GraphObject *self);
int hg_graph_ensure_live(GraphObject *self);
int hg_graph_ensure_index(GraphObject *self);
/* Compute base_counts/base_order; 0 or -1 with MemoryError. */
int hg_graph_summarise(GraphObject *self);

/* Build self->roots (and in_degree) if not built; the caller holds
 * self->lock.  Needs no GIL. */
hg_status hg_graph_build_roots(GraphObject *self);

/* Build gc_pos if it is not built (referrers.c); 0, or -1 with an
 * exception. */
int hg_graph_ensure_gc_pos(GraphObject *self);
/* Graph.draw_referrers(id) (referrers.c). */
PyObject *hg_graph_draw_referrers(GraphObject *self, PyObject *arg);
/* Graph.shown_filter(frontier) (referrers.c). */
PyObject *hg_graph_shown_filter(GraphObject *self, PyObject *args);
PyObject *hg_graph_shown(GraphObject *self, PyObject *arg);

/* Leak analysis (analysis.c): free its arrays (dealloc), their bytes
 * (nbytes), and its Graph methods, spliced into graph.c's table. */
void hg_graph_free_analysis(GraphObject *self);
uint64_t hg_graph_analysis_nbytes(const GraphObject *self);
PyObject *hg_graph_roots(GraphObject *self, PyObject *args, PyObject *kwds);
PyObject *hg_graph_unreachable(GraphObject *self, PyObject *unused);
PyObject *hg_graph_idom(GraphObject *self, PyObject *arg);
PyObject *hg_graph_retained(GraphObject *self, PyObject *arg);
PyObject *hg_graph_top_retained(GraphObject *self, PyObject *args);
PyObject *hg_graph_type_retained(GraphObject *self, PyObject *arg);
PyObject *hg_graph_retention_groups(GraphObject *self, PyObject *args,
                                    PyObject *kwds);
PyObject *hg_graph_path_to_root(GraphObject *self, PyObject *arg);
PyObject *hg_graph_path_edges(GraphObject *self, PyObject *arg);
PyObject *hg_graph_find_edges(GraphObject *self, PyObject *args);
PyObject *hg_graph_cycle_groups(GraphObject *self, PyObject *unused);
PyObject *hg_graph_component(GraphObject *self, PyObject *arg);
PyObject *hg_graph_match(GraphObject *self, PyObject *args);

extern const char hg_graph_roots_doc[], hg_graph_unreachable_doc[],
    hg_graph_idom_doc[], hg_graph_retained_doc[], hg_graph_top_retained_doc[],
    hg_graph_type_retained_doc[], hg_graph_retention_groups_doc[],
    hg_graph_path_to_root_doc[], hg_graph_path_edges_doc[],
    hg_graph_find_edges_doc[], hg_graph_cycle_groups_doc[],
    hg_graph_component_doc[], hg_graph_match_doc[];

/* Snapshot files (snapfile.c): Graph.save/file_info/labels, the module's
 * load(), its FileError, and dealloc's hook that frees (or unmaps) a loaded
 * graph's file (called before hg_capture_release, which must not free it). */
extern PyObject *hg_FileError;
PyObject *hg_graph_save(GraphObject *self, PyObject *args);
PyObject *hg_graph_file_info(GraphObject *self, PyObject *unused);
PyObject *hg_graph_labels(GraphObject *self, PyObject *unused);
PyObject *hg_graph_notes(GraphObject *self, PyObject *unused);
PyObject *hg_graph_edge_labels(GraphObject *self, PyObject *unused);
PyObject *hg_py_load(PyObject *module, PyObject *args, PyObject *kwargs);
void hg_graph_release_file(GraphObject *self);
extern const char hg_graph_save_doc[], hg_graph_file_info_doc[],
    hg_graph_labels_doc[], hg_graph_notes_doc[], hg_graph_edge_labels_doc[],
    hg_load_doc[];

#endif /* HG_MODULE_H */
