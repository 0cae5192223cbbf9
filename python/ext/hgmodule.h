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
 * pinned graphs). */
typedef struct {
    PyObject_HEAD hg_capture cap;
    hg_addr_index *index; /* address -> id, built on first use */
    uint32_t *in_degree;  /* all edges, built on first use */
    uint8_t *live;        /* reachable from a root, built on first use */
    uint8_t *untrackable; /* a full collection would untrack it (with live) */
    hg_node *gc_pos;      /* rank in the list a full collection leaves, HG_NONE
                           * for garbage and unlisted nodes; built on demand */
    int was_pinned;       /* pinned at capture (pins dropped on close) */
    int nodes_only;       /* captured without references */
    /* the default view (tracked nodes outside the excluded machinery),
     * summarised once at capture time so the first query is instant: */
    uint64_t *base_counts; /* n_types: nodes per type */
    uint32_t *base_order;  /* type ids in first-seen (gc.get_objects) order */
    uint32_t n_base_order;
    int closed;
    PyThread_type_lock lock; /* guards lazy builds done without the GIL */
} GraphObject;

extern PyTypeObject Graph_Type;

/* Raise the Python exception matching a core status; returns NULL. */
PyObject *hg_raise_status(hg_status st, const char *what);

/* Lazily built derived data; 0 on success, -1 with an exception set. */
int hg_graph_ensure_reverse(GraphObject *self);
int hg_graph_ensure_live(GraphObject *self);
int hg_graph_ensure_index(GraphObject *self);
/* Compute base_counts/base_order; 0 or -1 with MemoryError. */
int hg_graph_summarise(GraphObject *self);

/* Build gc_pos if it is not built (referrers.c); 0, or -1 with an
 * exception. */
int hg_graph_ensure_gc_pos(GraphObject *self);
/* Graph.draw_referrers(id) (referrers.c). */
PyObject *hg_graph_draw_referrers(GraphObject *self, PyObject *arg);

#endif /* HG_MODULE_H */
