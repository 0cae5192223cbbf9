/*
 * portable_walk.h -- the portable capture's walk state, shared by its three
 * files: portable.c (the entry points, phases 0, 3 and 4, the forked
 * child's walk), portable_walk.c (the node table, phases 1 and 2) and
 * portable_finish.c (phase 5).  Internal to capture/; the phases are
 * described in portable.c's header.
 */
#ifndef HG_CAPTURE_PORTABLE_WALK_H
#define HG_CAPTURE_PORTABLE_WALK_H

#include "portable.h"
#include "portable_table.h"

/* visit_queued resolves a referent HG__P_LAG referents after it is met;
 * the ring (a power of two) holds more. */
#define HG__P_LAG 32
#define HG__P_RING 64

/* ---- walk state ---------------------------------------------------------- */

typedef struct ptype {
    PyTypeObject *tp; /* borrowed during the walk, strong in phase 4 */
    hg__p_sizer sizer;
    uint8_t node_flags; /* HG_NODE_HAS_DEL */
} ptype;

typedef struct pdefer {
    PyObject *op; /* borrowed during the walk, strong in phase 4 */
    hg_node id;
} pdefer;

typedef struct pwalk {
    /* node table: n entries of cap */
    uint64_t *addr;
    uint32_t *size, *type, *refcnt;
    uint8_t *flags;
    size_t n, cap;      /* cap: the smallest of cap_each */
    size_t cap_each[5]; /* of addr, size, type, refcnt, flags */
    hg_node n_enum;     /* enumerated (tracked) nodes: ids 0 .. n_enum-1 */
    size_t n_extra;     /* tracked nodes the walk found (frozen ones) */
    ptable ids;         /* address -> node id */
    hg_size_overflow *sover;
    size_t n_sover, cap_sover;
    /* forward CSR */
    hg_edge *offsets; /* cap_off entries */
    size_t cap_off;
    hg_node *targets;
    size_t n_edges, cap_edges;
    /* types */
    ptype *types;
    size_t n_types, cap_types;
    ptable tindex; /* type address -> type id */
    PyTypeObject *last_tp;
    uint32_t last_tid;
    /* sizes that need a call (phase 4) */
    pdefer *defer;
    size_t n_defer, cap_defer;
    int py_sizes, nodes_only, pin;
    int child;      /* in a forked child (fork.c): no call is ever made */
    int pinned;     /* the tracked nodes hold a reference each */
    int refs_owned; /* types[] and defer[] hold strong references */
    hg__walk_status status; /* of the first failure */
    /* referents queued by visit_queued, not yet resolved: ring[tail ..
     * head) (indices mod HG__P_RING); borrowed */
    PyObject *ring[HG__P_RING];
    size_t ring_head, ring_tail;
} pwalk;

/* The node arrays (addr, size, type, refcnt, flags) and their bytes per
 * entry. */
static const size_t hg__pw_node_elem[5] = {8, 4, 4, 4, 1};

/* ---- the node table and the walk (portable_walk.c) ---------------------- */

/* Grow *p (elem-byte items, *cap of them) to hold need items.  0 or -1. */
int hg__pw_grow(void **p, size_t *cap, size_t elem, size_t need);

/* arr[i] = the address of node array i (addr, size, type, refcnt, flags). */
void hg__pw_node_arrays(pwalk *w, void **arr[5]);

/* Make the node table hold need entries.  Each array grows on its own:
 * one that fails leaves those grown before with their new capacity,
 * recorded in cap_each (the allocator frees with the exact size). */
int hg__pw_reserve_nodes(pwalk *w, size_t need);

/* Free every array and table of w and zero it. */
void hg__pw_free(pwalk *w);

/* Append a tracked object (generation gen) to the node table. */
int hg__pw_enum_add(pwalk *w, PyObject *op, int gen);

/* The enumerated addresses into the table, made large enough first for
 * them and as many untracked nodes again when the previous capture's size
 * (prepare) did not already: a heap with more untracked nodes than
 * tracked ones grows the table during the walk, a first capture only --
 * the next one is prepared for its size. */
int hg__pw_index_enumerated(pwalk *w);

/* gc.get_objects(gen): a new list, or NULL with an exception.  Called
 * through vectorcall with the argument on the C stack: an argument tuple
 * (or a keyword-names tuple) would be a tracked object alive during the
 * call, listed, and freed right after -- a dangling address in the
 * table.  The int is a cached small int (not a GC object). */
PyObject *hg__pw_get_objects(int gen);

/* Phase 1.  0, or -1 with w->status set or a Python exception. */
int hg__pw_enumerate(pwalk *w);

/* Phase 2: the enumerated nodes' entries and edges, then the GC objects
 * the walk found, in id order (each may find more). */
int hg__pw_walk_all(pwalk *w);

/* ---- phase 5 (portable_finish.c) ---------------------------------------- */

/* Phase 5: hand the arrays over to g, trimmed to their exact sizes (the
 * frozen nodes renumbered first). */
hg_status hg__pw_assemble(pwalk *w, hg_graph *g);

#endif /* HG_CAPTURE_PORTABLE_WALK_H */
