/*
 * capture.c -- hg_capture_run: freeze the live heap into a heapgraph.
 *
 * Workload: every object the cyclic GC tracks (1M-50M), each visited once
 * with the GIL held and no Python code running; the pause is what users
 * see, so the walk touches each object once and does no hashing for
 * tracked targets.
 *
 * Algorithm (GIL released in phases 0 and 5, held from 1 to 4):
 *   0. allocate the output arrays, sized from the previous capture (or,
 *      for the first one, the collector's counts), and touch every page,
 *      all without the GIL: first touch of fresh memory is slow (kernel
 *      page clearing) and used to make the first capture's pause 3x a
 *      warm one.  Other threads may run Python meanwhile; the heap is
 *      read only from phase 1 on.  Before that, the threads of the
 *      regions that run while the heap is marked are reserved
 *      (plan_team): from phase 1 to the restore, the OpenMP runtime
 *      creates no thread and allocates nothing.
 *   1. chase: walk the GC lists (generations 0, 1, 2, permanent) once,
 *      the only dependent pointer chase of the capture: stash each
 *      tracked object's node id in its GC header (interp.h; the version
 *      header states the invariant) and record its address, type,
 *      refcount and flags (and take the pin, if asked).  The collector's
 *      "collecting" flag is set meanwhile so that nothing can start a
 *      collection.
 *   2. walk: tracked nodes in id order, from the recorded addresses (the
 *      next objects prefetched): size, then tp_traverse with
 *      visit_queued(), which appends one edge per visited referent to
 *      the forward CSR, resolving each referent a few dozen referents
 *      after prefetching its header.  A tracked referent's id is read
 *      from its GC header; any other referent (str, int, None, untracked
 *      tuple or dict, non-GC object) gets the next id >= n_tracked on
 *      first sight: its node entry is read, then its reference count is
 *      replaced by the mark -(id + 1), so later visits read the id from
 *      the object itself (no hash table: the collector's own trick,
 *      applied to the reference count); an object whose count is 1 has no other
 *      reference to meet and is not marked.  restore_refcnts() puts every
 *      count back, on every path, before anything else runs.
 *      With two threads or more and a heap of 32k tracked objects or
 *      more, parwalk.c does phases 2 and 2b instead: the tracked objects
 *      over the OpenMP threads, the ids renumbered in phase 5 to exactly
 *      the ones this serial walk gives.
 *   2b. untracked GC objects (untracked tuples and dicts) are traversed
 *      in id order after the tracked ones, so their referents are nodes
 *      and edges too; non-GC objects (str, int) have no out-edges.
 *   3. while ids are still stashed: flag modules in sys.modules and the
 *      caller's excluded objects, without running Python code.
 *   4. restore every GC header (on every path, including errors: from the
 *      recorded addresses, without a second chase, once phase 1 is
 *      complete); then, with strong references held, make the calls
 *      that could not be made during the walk: C __sizeof__ methods of
 *      extension types (4b; Python-level ones only with Python sizes),
 *      and the type names (4c), read from the classes unless a
 *      metaclass computes them in Python.
 *   5. GIL released: (the parallel walk's renumbering), trim the arrays
 *      and hand them to the graph.
 * The pause reported is the time the GIL was held: phases 1 to 4.
 *
 * Value encodings: node ids 0..n_tracked-1 are tracked objects in GC list
 * order; untracked ids follow in order of first visit.  While marked, an
 * untracked object's reference count is -(id + 1) (live objects never have a
 * count < 1); its true count is in refcnt[id], or in the overflow list when
 * it does not fit 32 bits.  Sizes are stored as the graph keeps them:
 * saturated at UINT32_MAX, the true size in the overflow table.  type
 * index slots hold type id + 1, 0 when empty.  The node arrays have
 * capacity cap_n and hold n_nodes entries. */
#include "walk.h"

#include <string.h>
#if defined(__linux__)
#include <sys/mman.h> /* mincore */
#endif

#define HG__GOLDEN 0x9E3779B97F4A7C15ull

/* Below this many objects, loops over the nodes run on one thread (a
 * parallel region would cost more than it saves). */
#define HG__PAR_MIN ((size_t)1 << 16)

/* Below this many planned nodes no parallel region runs while the heap is
 * marked (the smaller of the parallel walk's threshold, parwalk.c, and
 * HG__PAR_MIN), so phase 0 reserves no threads. */
#define HG__RESERVE_MIN ((size_t)1 << 15)

/* ---- growable arrays ----------------------------------------------------- */

/* See walk.h. */
int hg__walk_grow(void **p, size_t *cap, size_t elem, size_t need) {
    size_t ncap = *cap ? *cap : 64;
    void *np;
    while (ncap < need) {
        ncap += ncap / 2 + 64;
    }
    if (ncap == *cap) {
        return 0;
    }
    np = hg_realloc(*p, *cap * elem, ncap * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

/* Shrink (or grow) an exact-size array from old_n to new_n items. */
static int resize_exact(void **p, size_t elem, size_t old_n, size_t new_n) {
    void *np;
    if (old_n == new_n) {
        return 0;
    }
    if (new_n == 0) {
        hg_free(*p, old_n * elem);
        *p = NULL;
        return 0;
    }
    np = hg_realloc(*p, old_n * elem, new_n * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    return 0;
}

/* ---- walk state (walk.h) ------------------------------------------------ */

/* Sizes of the previous capture, so the next one allocates once (0: no
 * capture yet).  Read and written with the GIL held. */
static size_t hint_tracked, hint_untracked, hint_edges;

static inline size_t hash_addr(uint64_t a, size_t mask) {
    return (size_t)(((a >> 4) * HG__GOLDEN) >> 20) & mask;
}

/* w's node arrays, and their bytes per entry. */
static const size_t node_elem[HG__NODE_ARRAYS] = {8, 4, 4, 4, 1};

static void node_arrays(walk *w, void **arr[HG__NODE_ARRAYS]) {
    arr[0] = (void **)&w->addr;
    arr[1] = (void **)&w->size;
    arr[2] = (void **)&w->type;
    arr[3] = (void **)&w->refcnt;
    arr[4] = (void **)&w->flags;
}

static void walk_free(walk *w) {
    void **arr[HG__NODE_ARRAYS];
    node_arrays(w, arr);
    for (int i = 0; i < HG__NODE_ARRAYS; i++) {
        hg_free(*arr[i], w->cap_each[i] * node_elem[i]);
    }
    hg_free(w->sover, w->cap_sover * sizeof(hg_size_overflow));
    hg_free(w->over, w->cap_over * sizeof(rc_overflow));
    hg_free(w->offsets, w->n_offsets * sizeof(hg_edge));
    hg_free(w->targets, w->cap_edges * sizeof(hg_node));
    hg_free(w->types, w->cap_types * sizeof(type_entry));
    if (w->tindex != NULL) {
        hg_free(w->tindex, (w->tmask + 1) * sizeof(uint32_t));
    }
    hg_free(w->defer, w->cap_defer * sizeof(deferred));
    hg__par_free(w);
    memset(w, 0, sizeof(*w));
}

/* ---- type table ---------------------------------------------------------- */

static int type_index_insert(uint32_t *ix, size_t mask, PyTypeObject *tp,
                             uint32_t tid) {
    size_t h = hash_addr((uint64_t)(uintptr_t)tp, mask);
    while (ix[h] != 0) {
        h = (h + 1) & mask;
    }
    ix[h] = tid + 1;
    return 0;
}

/* Put tp first in the two-entry cache. */
static inline void remember_type(walk *w, PyTypeObject *tp, uint32_t tid) {
    w->last_tp[1] = w->last_tp[0];
    w->last_tid[1] = w->last_tid[0];
    w->last_tp[0] = tp;
    w->last_tid[0] = tid;
}

/* See walk.h.  Each array grows on its own: if one fails, those grown
 * before keep their new size (and record it), since shrinking them back
 * could fail too. */
int hg__walk_grow_arrays(void **arr[], const size_t elem[], size_t cap[], int n,
                         size_t need, size_t *cap_min) {
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = hg__walk_grow(arr[i], &cap[i], elem[i], need);
    }
    *cap_min = cap[0];
    for (int i = 1; i < n; i++) {
        *cap_min = cap[i] < *cap_min ? cap[i] : *cap_min;
    }
    return rc;
}

/* See walk.h. */
int hg__walk_reserve(walk *w, size_t need) {
    void **arr[HG__NODE_ARRAYS];
    node_arrays(w, arr);
    return hg__walk_grow_arrays(arr, node_elem, w->cap_each, HG__NODE_ARRAYS,
                                need, &w->cap_n);
}

/* See walk.h. */
int64_t hg__walk_type_lookup(walk *w, PyTypeObject *tp) {
    size_t h;
    uint32_t tid;

    h = hash_addr((uint64_t)(uintptr_t)tp, w->tmask);
    while (w->tindex[h] != 0) {
        tid = w->tindex[h] - 1;
        if (w->types[tid].tp == tp) {
            remember_type(w, tp, tid);
            return tid;
        }
        h = (h + 1) & w->tmask;
    }
    if (w->n_types + 1 > (w->tmask + 1) / 2) {
        size_t nmask = (w->tmask + 1) * 2 - 1;
        uint32_t *nix = hg_calloc((nmask + 1) * sizeof(uint32_t));
        if (nix == NULL) {
            return -1;
        }
        for (size_t i = 0; i < w->n_types; i++) {
            type_index_insert(nix, nmask, w->types[i].tp, (uint32_t)i);
        }
        hg_free(w->tindex, (w->tmask + 1) * sizeof(uint32_t));
        w->tindex = nix;
        w->tmask = nmask;
    }
    if (w->n_types == w->cap_types &&
        hg__walk_grow((void **)&w->types, &w->cap_types, sizeof(type_entry),
                      w->n_types + 1) < 0) {
        return -1;
    }
    tid = (uint32_t)w->n_types++;
    w->types[tid].tp = tp;
    hg__sizer_init(tp, w->py_sizes, &w->types[tid].sizer);
    /* as build_types' _PyType_Lookup, which may not run here (its cache
     * changes reference counts) */
    w->types[tid].node_flags =
        hg__type_lookup(tp, HG__ID(__del__)) != NULL ? HG_NODE_HAS_DEL : 0;
    type_index_insert(w->tindex, w->tmask, tp, tid);
    remember_type(w, tp, tid);
    return tid;
}

/* ---- node entries -------------------------------------------------------- */

/* See walk.h. */
int hg__walk_add_over(hg_size_overflow **over, size_t *n, size_t *cap,
                      hg_node id, uint64_t size) {
    if (*n == *cap && hg__walk_grow((void **)over, cap,
                                    sizeof(hg_size_overflow), *n + 1) < 0) {
        return -1;
    }
    (*over)[*n] = (hg_size_overflow){id, 0, size};
    (*n)++;
    return 0;
}

/* Record the size of node id, or queue op for phase 4. */
static int record_size(walk *w, PyObject *op, uint32_t tid, hg_node id,
                       uint32_t *slot) {
    Py_ssize_t n = hg__sizer_quick(&w->types[tid].sizer, op);
    if (n >= 0) {
        return hg__store_size(slot, (uint64_t)n, id, &w->sover, &w->n_sover,
                              &w->cap_sover);
    }
    *slot = 0;
    if (w->n_defer == w->cap_defer &&
        hg__walk_grow((void **)&w->defer, &w->cap_defer, sizeof(deferred),
                      w->n_defer + 1) < 0) {
        return -1;
    }
    w->defer[w->n_defer].op = op;
    w->defer[w->n_defer].id = id;
    w->n_defer++;
    return 0;
}

/* Put back the true reference count of every marked object.  Must run
 * before anything reads or writes those counts (Py_INCREF, Python code).
 * Nothing in the walk should change a count, but if something did (an
 * interpreter cache dropping a reference), the change is kept rather than
 * overwritten: a lost Py_INCREF would free a live object later. */
static void restore_refcnts(walk *w) {
    size_t k = 0;
    for (size_t i = 0; i < w->n_marked; i++) {
        hg_node id = (hg_node)(w->n_tracked + i);
        PyObject *op = (PyObject *)(uintptr_t)w->addr[id];
        if (i + 16 < w->n_marked && w->refcnt[id + 16] != 1) {
            /* independent read-modify-writes: fetch ahead of them */
            __builtin_prefetch((void *)(uintptr_t)w->addr[id + 16], 1);
        }
        if (w->refcnt[id] == 1) {
            continue; /* never marked: see untracked_id */
        }
        Py_ssize_t rc =
            hg__saved_refcnt(w->refcnt[id], id, w->over, w->n_over, &k);
        Py_SET_REFCNT(op, rc + (Py_REFCNT(op) - hg__refcnt_mark(id)));
    }
    w->n_marked = 0;
}

/* Id of an untracked object, recording its node entry and marking it on
 * first sight (unless its count is 1). */
static int untracked_id(walk *w, PyObject *op, hg_node *out) {
    Py_ssize_t rc = Py_REFCNT(op);
    hg_node id;
    int64_t tid;

    if (rc < 0) {
        *out = (hg_node)(-(rc + 1));
        return 0;
    }
    if (w->n_nodes >= HG_MAX_NODES) {
        w->status = HG_ERANGE;
        return -1;
    }
    id = (hg_node)w->n_nodes;
    if (id == w->cap_n && hg__walk_reserve(w, w->cap_n + 1) < 0) {
        goto nomem;
    }
    tid = hg__walk_type_id(w, Py_TYPE(op));
    if (tid < 0) {
        goto nomem;
    }
    if (rc >= (Py_ssize_t)UINT32_MAX) {
        if (w->n_over == w->cap_over &&
            hg__walk_grow((void **)&w->over, &w->cap_over, sizeof(rc_overflow),
                          w->n_over + 1) < 0) {
            goto nomem;
        }
        w->over[w->n_over].id = id;
        w->over[w->n_over].refcnt = rc;
        w->n_over++;
    }
    w->addr[id] = (uint64_t)(uintptr_t)op;
    w->type[id] = (uint32_t)tid;
    w->refcnt[id] = hg__sat_refcnt(Py_REFCNT(op));
    w->flags[id] =
        (PyObject_IS_GC(op) ? HG_NODE_GC : 0) | w->types[tid].node_flags;
    if (record_size(w, op, (uint32_t)tid, id, &w->size[id]) < 0) {
        goto nomem;
    }
    w->n_nodes++;
    if (rc != 1) {
        /* A count of 1 is the reference being visited: no other edge can
         * lead here (tp_traverse visits only references its object owns),
         * so the object needs no mark -- nor a restore. */
        Py_SET_REFCNT(op, hg__refcnt_mark(id));
    }
    w->n_marked++;
    *out = id;
    return 0;

nomem:
    if (w->status == HG_OK) {
        w->status = HG_ENOMEM;
    }
    return -1;
}

/* One edge from the current node to op: op's node id (stashed in its GC
 * header if tracked, else from untracked_id) appended to the targets. */
static inline int add_edge(walk *w, PyObject *op) {
    hg_node id;
    uint64_t sid;

    if (hg__gc_tracked(op) && (sid = hg__gc_stashed_id(op)) < w->n_tracked) {
        id = (hg_node)sid;
    } else if (untracked_id(w, op, &id) < 0) {
        return -1;
    }
    if (w->n_edges == w->cap_edges &&
        hg__walk_grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node),
                      w->n_edges + 1) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    w->targets[w->n_edges++] = id;
    return 0;
}

/* tp_traverse callback of phase 2b: the edge is resolved at once. */
static int visit(PyObject *op, void *arg) {
    return add_edge(arg, op);
}

/* tp_traverse callback of phase 2: a referent's header (type, refcount,
 * GC header with the stashed id) is usually a cache miss, and resolving
 * it at once stalls on it.  So each referent is queued and its header
 * prefetched, and it is resolved HG__LAG referents later, in queue order:
 * the ids and the edge order are those of resolving at once. */
static int visit_queued(PyObject *op, void *arg) {
    walk *w = arg;
    hg__prefetch_referent(op);
    w->ring[w->ring_head++ & (HG__RING - 1)] = op;
    if (w->ring_head - w->ring_tail > HG__LAG) {
        return add_edge(w, w->ring[w->ring_tail++ & (HG__RING - 1)]);
    }
    return 0;
}

/* Resolve every queued referent. */
static int drain_queue(walk *w) {
    while (w->ring_tail != w->ring_head) {
        if (add_edge(w, w->ring[w->ring_tail++ & (HG__RING - 1)]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- phases -------------------------------------------------------------- */

/* Phase 1: the one walk of the GC lists.  Each tracked object gets the
 * next id, stashed in its header, and its node entry except the size.
 * Following the list links is a chain of dependent loads (memory latency per
 * object), so this is the only time the lists are followed: everything
 * after works from addr[], whose loads are independent and prefetched.
 * The header, refcount and type pointer read here share the cache line
 * the chase brings in anyway. */
static int chase_tracked(walk *w, hg__gcstate *gc) {
    size_t id = 0;
    /* the arrays in locals: the flags store (a byte) may alias anything,
     * so fields read through w would be read again for every object */
    uint64_t *addr = w->addr;
    uint32_t *type = w->type, *refcnt = w->refcnt;
    uint8_t *flags = w->flags;
    size_t cap = w->cap_n < HG_MAX_NODES ? w->cap_n : HG_MAX_NODES;
    int pin = w->pin;

    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        hg__gc_link *head = hg__gc_list(gc, i);
        uint8_t fl =
            (uint8_t)(HG_NODE_TRACKED | HG_NODE_GC | (i << HG_NODE_GEN_SHIFT) |
                      (i == HG__GC_LIST_FROZEN ? HG_NODE_FROZEN : 0));
        w->list_start[i] = id;
        for (hg__gc_link *g = hg__gc_next(head); g != head;
             g = hg__gc_next(g)) {
            PyObject *op = hg__gc_object(g); /* borrowed */
            int64_t tid;
            if (id == cap) {
                if (id >= HG_MAX_NODES) {
                    w->status = HG_ERANGE;
                    return -1;
                }
                if (hg__walk_reserve(w, w->cap_n + 1) < 0) {
                    w->status = HG_ENOMEM;
                    return -1;
                }
                addr = w->addr;
                type = w->type;
                refcnt = w->refcnt;
                flags = w->flags;
                cap = w->cap_n < HG_MAX_NODES ? w->cap_n : HG_MAX_NODES;
            }
            tid = hg__walk_type_id(w, Py_TYPE(op));
            if (tid < 0) {
                w->status = HG_ENOMEM;
                return -1;
            }
            hg__gc_stash(g, id);
            addr[id] = (uint64_t)(uintptr_t)op;
            type[id] = (uint32_t)tid;
            refcnt[id] = hg__sat_refcnt(Py_REFCNT(op));
            flags[id] = fl | w->types[tid].node_flags;
            if (pin) {
                Py_INCREF(op); /* cannot run code: only a count goes up */
                w->n_pinned = id + 1;
            }
            id++;
        }
    }
    w->list_start[HG__N_GC_LISTS] = id;
    w->listed = 1;
    w->n_tracked = (hg_node)id;
    w->n_nodes = id;
    return 0;
}

/* Phase 2: sizes and edges of every tracked object, in id order. */
static int walk_tracked(walk *w) {
    hg_node n = w->n_tracked;
    if (n + 1 > w->n_offsets &&
        hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                      n + 1) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    for (hg_node id = 0; id < n; id++) {
        PyObject *op = (PyObject *)(uintptr_t)w->addr[id]; /* borrowed */
        traverseproc trav;
        if (id + HG__PREFETCH < n) {
            /* the object and, before it, its GC header and managed dict
             * pointers: what sizes and tp_traverse read first */
            hg__prefetch_object(
                (PyObject *)(uintptr_t)w->addr[id + HG__PREFETCH]);
        }
        if (record_size(w, op, w->type[id], id, &w->size[id]) < 0) {
            w->status = HG_ENOMEM;
            return -1;
        }
        /* its edges start after the resolved and the queued ones */
        w->offsets[id] = w->n_edges + (w->ring_head - w->ring_tail);
        if (w->nodes_only) {
            continue;
        }
        trav = Py_TYPE(op)->tp_traverse;
        if (trav != NULL && trav(op, visit_queued, w) != 0) {
            if (w->status == HG_OK) {
                w->status = HG__TRAVERSE_FAILED;
            }
            return -1;
        }
    }
    if (drain_queue(w) < 0) {
        return -1;
    }
    w->offsets[n] = w->n_edges;
    return 0;
}

/* Phase 2b: untracked GC objects (tuples and dicts the collector has
 * untracked, objects never tracked) are traversed too, so that searches
 * through referents see what gc.get_referents() sees.  They are taken in
 * id order; nodes they reveal get the next ids and are taken in turn, so
 * the CSR stays in id order.  Non-GC objects (str, int, ...) have no
 * out-edges.  On return offsets[0 .. n_nodes] are all set. */
static int walk_untracked(walk *w) {
    for (size_t id = w->n_tracked; id < w->n_nodes; id++) {
        PyObject *op; /* borrowed: referenced by a node walked earlier */
        traverseproc trav;
        if (id + 2 > w->n_offsets &&
            hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                          id + 2) < 0) {
            w->status = HG_ENOMEM;
            return -1;
        }
        w->offsets[id] = w->n_edges;
        if (!(w->flags[id] & HG_NODE_GC)) {
            continue;
        }
        op = (PyObject *)(uintptr_t)w->addr[id];
        trav = Py_TYPE(op)->tp_traverse;
        if (trav != NULL && trav(op, visit, w) != 0) {
            if (w->status == HG_OK) {
                w->status = HG__TRAVERSE_FAILED;
            }
            return -1;
        }
    }
    if (w->n_nodes + 1 > w->n_offsets &&
        hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                      w->n_nodes + 1) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    w->offsets[w->n_nodes] = w->n_edges;
    return 0;
}

/* Walk id of op while ids are stashed, or HG_NONE if it is not a node. */
static hg_node find_node(walk *w, PyObject *op) {
    uint64_t sid, a = (uint64_t)(uintptr_t)op;
    Py_ssize_t rc;
    if (hg__gc_tracked(op) && (sid = hg__gc_stashed_id(op)) < w->n_tracked &&
        w->addr[sid] == a) {
        return (hg_node)sid;
    }
    rc = Py_REFCNT(op);
    if (rc < 0) {
        size_t i;
        const part *p = hg__walk_where(w, hg__mark_id(rc), &i);
        if (p != NULL ? i < p->n && p->addr[i] == a
                      : i < w->n_nodes && w->addr[i] == a) {
            return hg__mark_id(rc);
        }
    }
    return HG_NONE;
}

static void flag_node(walk *w, hg_node id, uint8_t fl) {
    if (id != HG_NONE) {
        size_t i;
        part *p = hg__walk_where(w, id, &i);
        (p != NULL ? p->flags : w->flags)[i] |= fl;
    }
}

/* Phase 3: modules m in sys.modules with sys.modules.get(m.__name__) is m
 * (objgraph's is_proper_module), and excluded objects.  C API only: a
 * module whose __name__ is not a str, or dicts that could call __eq__ on
 * lookup, are skipped. */
static void flag_modules_and_excluded(walk *w,
                                      PyObject *exclude /* borrowed */) {
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *key, *m, *d, *name, *again;         /* borrowed */
    Py_ssize_t pos = 0;

    if (modules != NULL && hg__dict_str_keys_only(modules)) {
        while (PyDict_Next(modules, &pos, &key, &m)) {
            if (!PyModule_Check(m)) {
                continue;
            }
            d = hg__module_dict(m);
            if (d == NULL || !hg__dict_str_keys_only(d)) {
                continue;
            }
            name = PyDict_GetItemWithError(d, HG__ID(__name__));
            if (name == NULL || !PyUnicode_CheckExact(name)) {
                PyErr_Clear();
                continue;
            }
            again = PyDict_GetItemWithError(modules, name);
            if (again == m) {
                flag_node(w, find_node(w, m), HG_NODE_MODULE);
            }
            PyErr_Clear();
        }
    }
    if (exclude != NULL && PyTuple_Check(exclude)) {
        flag_node(w, find_node(w, exclude), HG_NODE_EXCLUDED);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(exclude); i++) {
            flag_node(w, find_node(w, PyTuple_GET_ITEM(exclude, i)),
                      HG_NODE_EXCLUDED);
        }
    }
}

/* Drop the pins of a failed capture.  The counts were raised by the walk,
 * so lowering them frees nothing while the caller holds the GIL. */
static void unpin_tracked(walk *w) {
    size_t n = w->n_pinned;
    w->n_pinned = 0;
    for (size_t v = 0; v < n; v++) {
        Py_DECREF((PyObject *)(uintptr_t)w->addr[v]);
    }
}

/* Drop the references taken in phase 4 (may run deallocators). */
static void drop_refs(walk *w) {
    if (w->defer_owned) {
        w->defer_owned = 0;
        for (size_t i = 0; i < w->n_defer; i++) {
            Py_DECREF(w->defer[i].op);
        }
    }
    if (w->types_owned) {
        w->types_owned = 0;
        for (size_t i = 0; i < w->n_types; i++) {
            Py_DECREF(w->types[i].tp);
        }
    }
}

/* Phase 4b: sizes that need calls: C __sizeof__ methods of extension
 * types and, only with Python sizes, __sizeof__ defined in Python (with
 * C sizes those were never deferred: sizeof.c).  A __sizeof__ that fails
 * with an ordinary exception (sys.getsizeof would raise) falls back to
 * the C size so that one broken class does not make the heap impossible
 * to snapshot; MemoryError and non-Exception errors (KeyboardInterrupt...)
 * fail the capture. */
static int deferred_sizes(walk *w) {
    for (size_t i = 0; i < w->n_defer; i++) {
        PyObject *op = w->defer[i].op; /* borrowed from defer[] */
        size_t at;
        part *p = hg__walk_where(w, w->defer[i].id, &at);
        uint32_t *slot = &(p != NULL ? p->size : w->size)[at];
        const hg__sizer *s =
            &w->types[(p != NULL ? p->type : w->type)[at]].sizer;
        Py_ssize_t n = hg__sizer_slow(s, op);
        if (n < 0) {
            if (!PyErr_ExceptionMatches(PyExc_Exception) ||
                PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear();
            n = s->kind == HG__SZ_PYTHON ? hg__sizer_c_size(op)
                                         : hg__object_sizeof(op) + s->preheader;
        }
        if (hg__store_size(slot, (uint64_t)n, w->defer[i].id, &w->sover,
                           &w->n_sover, &w->cap_sover) < 0) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

/* Record the exceptions computing type tid's names raised (either may be
 * NULL) in out->name_errors; steals both.  0, or -1 with MemoryError. */
static int record_name_errors(hg_capture *out, size_t tid, PyObject *short_err,
                              PyObject *long_err) {
    PyObject *key = NULL, *pair = NULL;
    int rc = -1;

    if (out->name_errors == NULL && (out->name_errors = PyDict_New()) == NULL) {
        goto cleanup;
    }
    key = PyLong_FromSize_t(tid);
    pair = PyTuple_Pack(2, short_err != NULL ? short_err : Py_None,
                        long_err != NULL ? long_err : Py_None);
    if (key != NULL && pair != NULL) {
        rc = PyDict_SetItem(out->name_errors, key, pair);
    }
cleanup:
    Py_XDECREF(key);
    Py_XDECREF(pair);
    Py_XDECREF(short_err);
    Py_XDECREF(long_err);
    return rc;
}

/* Phase 4c: the type table of the result.  Names come from the classes'
 * fields, or from Python code for the few classes whose metaclass
 * computes them (typenames.c); an exception that code raises is recorded,
 * not raised, so one odd metaclass does not make the heap impossible to
 * snapshot. */
static int build_types(walk *w, hg_capture *out) {
    size_t nt = w->n_types;
    out->type_addr = hg_alloc(nt * sizeof(uint64_t));
    out->type_flags = hg_alloc(nt * sizeof(uint32_t));
    out->short_names = PyList_New((Py_ssize_t)nt);
    out->long_names = PyList_New((Py_ssize_t)nt);
    out->n_types = (uint32_t)nt; /* the size hg_capture_release frees */
    if (out->type_addr == NULL || out->type_flags == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (out->short_names == NULL || out->long_names == NULL) {
        return -1;
    }
    for (size_t i = 0; i < nt; i++) {
        PyTypeObject *tp = w->types[i].tp; /* borrowed from types[] */
        PyObject *s, *l, *s_err, *l_err;
        uint32_t f = 0;
        out->type_addr[i] = (uint64_t)(uintptr_t)tp;
        if (w->types[i].node_flags & HG_NODE_HAS_DEL) {
            f |= HG_TYPE_HAS_DEL;
        }
        if (PyType_IsSubtype(tp, &PyModule_Type)) {
            f |= HG_TYPE_IS_MODULE;
        }
        if (tp == &PyTuple_Type) {
            f |= HG_TYPE_EXACT_TUPLE;
        }
        if (tp == &PyDict_Type) {
            f |= HG_TYPE_EXACT_DICT;
        }
        out->type_flags[i] = f;
        if (hg__type_names(tp, &s, &l, &s_err, &l_err) < 0) {
            return -1;
        }
        PyList_SET_ITEM(out->short_names, (Py_ssize_t)i, s);
        PyList_SET_ITEM(out->long_names, (Py_ssize_t)i, l);
        if ((s_err != NULL || l_err != NULL) &&
            record_name_errors(out, i, s_err, l_err) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Size overflow entries by node. */
static int cmp_over(const void *pa, const void *pb) {
    const hg_size_overflow *a = pa, *b = pb;
    return (a->node > b->node) - (a->node < b->node);
}

/* Phase 5 (GIL released): hand the node table, the size overflow table and
 * the CSR over to g (no copies: the arrays are trimmed to their exact size
 * and adopted). */
static hg_status assemble(walk *w, hg_graph *g) {
    size_t n = w->n_nodes;
    void **arr[HG__NODE_ARRAYS];
    hg_status st;

    /* (HG_NODE_HAS_DEL came with each node's entry: hg__walk_type_id) */
    node_arrays(w, arr);
    /* the core frees with the exact size (sized deallocation) */
    for (int i = 0; i < HG__NODE_ARRAYS; i++) {
        if (resize_exact(arr[i], node_elem[i], w->cap_each[i], n) < 0) {
            return HG_ENOMEM; /* the failed realloc left the block as is */
        }
        w->cap_each[i] = n;
    }
    /* all five now hold exactly n entries */
    if (resize_exact((void **)&w->sover, sizeof(hg_size_overflow), w->cap_sover,
                     w->n_sover) < 0) {
        return HG_ENOMEM;
    }
    w->cap_sover = w->n_sover;
    qsort(w->sover, w->n_sover, sizeof(hg_size_overflow), cmp_over);
    if (resize_exact((void **)&w->offsets, sizeof(hg_edge), w->n_offsets,
                     n + 1) < 0) {
        return HG_ENOMEM;
    }
    w->n_offsets = n + 1;
    if (resize_exact((void **)&w->targets, sizeof(hg_node), w->cap_edges,
                     w->n_edges) < 0) {
        return HG_ENOMEM;
    }
    w->cap_edges = w->n_edges;
    /* written by this file or parwalk.c just now: adopted unchecked */
    st = hg_csr_adopt_unchecked(&g->fwd, (hg_node)n, w->n_edges, &w->offsets,
                                &w->targets);
    if (st != HG_OK) {
        return st;
    }
    w->n_offsets = 0;
    w->cap_edges = 0;
    g->n_nodes = (hg_node)n;
    g->n_tracked = w->n_tracked;
    g->n_types = (uint32_t)w->n_types;
    g->addr = w->addr;
    g->size = w->size;
    g->n_size_over = (hg_node)w->n_sover;
    g->size_over = w->sover;
    g->type_id = w->type;
    g->refcnt = w->refcnt;
    g->flags = w->flags;
    w->addr = NULL;
    w->size = w->type = w->refcnt = NULL;
    w->flags = NULL;
    w->sover = NULL;
    w->n_sover = w->cap_sover = 0;
    w->cap_n = 0;
    memset(w->cap_each, 0, sizeof(w->cap_each));
    return HG_OK;
}

static void set_status_error(int status) {
    if (PyErr_Occurred()) {
        return;
    }
    if (status == HG_ERANGE) {
        PyErr_SetString(PyExc_MemoryError,
                        "heap snapshot: more objects than node ids (2^32-2)");
    } else if (status == HG__TRAVERSE_FAILED) {
        PyErr_SetString(PyExc_RuntimeError,
                        "heap snapshot: a tp_traverse function failed");
    } else if (status == HG_ENOMEM) {
        PyErr_SetString(PyExc_MemoryError,
                        "heap snapshot: out of memory while capturing");
    } else {
        PyErr_Format(PyExc_RuntimeError, "heap snapshot: %s",
                     hg_status_str((hg_status)status));
    }
}

/* ---- phase 0: the arrays, without the GIL ------------------------------- */

/* Capacities for this capture: the previous capture's sizes (or, for the
 * first one, the collector's own counts and a heap-shaped guess: about
 * one untracked referent and four references per tracked object) plus an
 * eighth.  The arrays grow during the walk if the heap grew more. */
static void plan_capacity(walk *w, hg__gcstate *gc) {
    size_t nt = hint_tracked ? hint_tracked : hg__gc_tracked_estimate(gc);
    size_t nu = hint_edges ? hint_untracked : nt;
    size_t ne = hint_edges ? hint_edges : nt * 4;
    if (w->nodes_only) {
        nu = ne = 0;
    }
    w->est_tracked = nt;
    w->est_untracked = nu;
    w->est_edges = ne;
    w->cap_n = nt + nt / 8 + nu + nu / 8 + 1024;
    w->n_offsets = w->cap_n + 1;
    w->cap_edges = ne + ne / 8 + 1024;
    for (int i = 0; i < HG__NODE_ARRAYS; i++) {
        w->cap_each[i] = w->cap_n;
    }
}

/* The threads of the regions that run while the heap is marked, started
 * now, before anything else of phase 0 runs a region: between marking and
 * restoring, the OpenMP runtime must neither create a thread nor allocate
 * (either failing, libgomp ends the process -- with the heap marked).
 * hg_threads_reserve() proves the count by creating as many threads, lowers
 * it to what it could create (1: serial), and leaves a team of that size in
 * the runtime's pool; every region until the restore uses exactly that team
 * (phase 0's too, through hg_num_threads()), so the pool neither shrinks
 * nor grows and the runtime reuses its team structure.  Small heaps run no
 * region while marked and reserve nothing. */
static int plan_team(const walk *w) {
    if (w->est_tracked + w->est_untracked < HG__RESERVE_MIN) {
        return 1;
    }
    return hg_threads_reserve();
}

/* Store to one byte per page, so that the kernel maps (and clears) every
 * page now, while other threads may run Python, rather than one fault at
 * a time during the walk (ANCHORS.md: first touch runs at 0.27 GB/s here,
 * which made the first capture's pause 3x a warm one).  Faults on
 * different pages proceed in parallel, so fresh ranges are split over the
 * OpenMP threads.  A block the allocator shim reuses from an earlier
 * capture is mapped already: one cheap store per page, done serially --
 * waking a second thread cost up to 13 ms when other processes kept the
 * other core busy. */
#define HG__PAGE 4096

/* Whether the page holding p is mapped already (mincore(2)); 0 when not
 * or unknown (the caller then treats the range as fresh). */
static int page_resident(const void *p) {
#if defined(__linux__)
    unsigned char v = 0;
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(HG__PAGE - 1);
    return mincore((void *)a, HG__PAGE, &v) == 0 && (v & 1);
#else
    (void)p;
    return 0;
#endif
}

/* Touch the pages of [p, p + nbytes) that are not mapped yet: those a
 * reused block had not reached.  mincore(2) tells which, a chunk of pages
 * per call, far cheaper than a store to every page. */
static void touch_missing(void *p, size_t nbytes) {
    uintptr_t lo = (uintptr_t)p, end = lo + nbytes;
    uintptr_t a = lo & ~(uintptr_t)(HG__PAGE - 1);
#if defined(__linux__)
    unsigned char vec[4096];
    while (a < end) {
        size_t pages = (end - a + HG__PAGE - 1) / HG__PAGE;
        if (pages > sizeof(vec)) {
            pages = sizeof(vec);
        }
        if (mincore((void *)a, pages * HG__PAGE, vec) != 0) {
            break; /* unknown: touch the rest */
        }
        for (size_t k = 0; k < pages; k++) {
            if (!(vec[k] & 1)) {
                uintptr_t pg = a + k * HG__PAGE;
                *(volatile char *)(pg < lo ? lo : pg) = 0;
            }
        }
        a += pages * HG__PAGE;
    }
#endif
    for (; a < end; a += HG__PAGE) {
        *(volatile char *)(a < lo ? lo : a) = 0;
    }
}

void hg__prefault(const hg__range *r, int n) {
    hg__range fresh[HG__N_RANGES];
    size_t first[HG__N_RANGES + 1];
    int n_fresh = 0;
    long total;

    for (int i = 0; i < n; i++) {
        if (r[i].p == NULL || r[i].nbytes == 0) {
            continue;
        }
        if (page_resident(r[i].p)) {
            touch_missing(r[i].p, r[i].nbytes);
        } else {
            fresh[n_fresh++] = r[i];
        }
    }
    first[0] = 0;
    for (int i = 0; i < n_fresh; i++) {
        first[i + 1] = first[i] + (fresh[i].nbytes + HG__PAGE - 1) / HG__PAGE;
    }
    total = (long)first[n_fresh];
#pragma omp parallel for schedule(static) if (total >= 4096)                   \
    num_threads(hg_num_threads())
    for (long pg = 0; pg < total; pg++) {
        int i = 0;
        while ((size_t)pg >= first[i + 1]) {
            i++;
        }
        ((volatile char *)fresh[i].p)[((size_t)pg - first[i]) * HG__PAGE] = 0;
    }
}

/* Allocate and pre-fault the arrays planned by plan_capacity.  Runs
 * without the GIL: touches no Python object.  HG_ENOMEM if any
 * allocation failed (walk_free frees the others). */
static hg_status allocate_arrays(walk *w) {
    w->addr = hg_alloc(w->cap_n * 8);
    w->size = hg_alloc(w->cap_n * 4);
    w->type = hg_alloc(w->cap_n * 4);
    w->refcnt = hg_alloc(w->cap_n * 4);
    w->flags = hg_alloc(w->cap_n);
    w->offsets = hg_alloc(w->n_offsets * sizeof(hg_edge));
    w->targets = hg_alloc(w->cap_edges * sizeof(hg_node));
    w->tmask = 255;
    w->tindex = hg_calloc((w->tmask + 1) * sizeof(uint32_t));
    if (w->addr == NULL || w->size == NULL || w->type == NULL ||
        w->refcnt == NULL || w->flags == NULL || w->offsets == NULL ||
        w->targets == NULL || w->tindex == NULL) {
        return HG_ENOMEM;
    }
    {
        hg__range r[HG__N_RANGES] = {
            {w->addr, w->cap_n * 8},
            {w->size, w->cap_n * 4},
            {w->type, w->cap_n * 4},
            {w->refcnt, w->cap_n * 4},
            {w->flags, w->cap_n},
            {w->offsets, w->n_offsets * sizeof(hg_edge)},
            {w->targets, w->cap_edges * sizeof(hg_node)},
        };
        hg__prefault(r, HG__N_RANGES);
    }
    return HG_OK;
}

/* Undo the id stash: from the recorded addresses when the list walk
 * finished, else by walking the lists. */
static void restore_gc(walk *w, hg__gcstate *gc) {
    if (w->listed) {
        hg__gc_restore_listed(gc, w->addr, w->list_start);
    } else {
        hg__gc_restore(gc);
    }
}

/* Undo every mark and the id stash.  Two streams of independent stores
 * to different objects (untracked objects' reference counts, tracked
 * objects' GC headers), each bound by the cache misses one core can keep in
 * flight, so they run side by side, one per core: 27 -> 15 ms on the
 * 1M-instance bench heap with the second core idle (about 5 ms worse when other
 * processes keep it busy).  Touches object memory only, no Python API:
 * the thread without the GIL may do either. */
static void restore_objects(walk *w, hg__gcstate *gc) {
    if (w->n_parts > 0) {
        hg__par_restore(w, gc);
        return;
    }
    if (w->team < 2 || w->n_marked + w->n_tracked < HG__PAR_MIN) {
        /* no region at all: even a team of one makes libgomp allocate */
        restore_refcnts(w);
        restore_gc(w, gc);
        return;
    }
    /* the reserved team (plan_team), though two threads have work */
#pragma omp parallel sections num_threads(w->team)
    {
#pragma omp section
        restore_refcnts(w);
#pragma omp section
        restore_gc(w, gc);
    }
}

/* ---- the interpreter's own functions ------------------------------------ */

traverseproc hg__subtype_traverse;

/* See capture.h.  A class made by type() gets typeobject.c's
 * subtype_traverse as its tp_traverse; the probe is kept (one small class
 * for the life of the process) so that it never becomes garbage. */
int hg_capture_init(void) {
    static PyObject *probe;
    if (probe == NULL) {
        probe = PyObject_CallFunction((PyObject *)&PyType_Type, "s()N",
                                      "_objgraph_traverse_probe", PyDict_New());
        if (probe == NULL) {
            return -1;
        }
        if (PyBaseObject_Type.tp_traverse == NULL) {
            hg__subtype_traverse = ((PyTypeObject *)probe)->tp_traverse;
        }
    }
    return 0;
}

/* ---- entry point --------------------------------------------------------- */

/* See capture.h.  Phases as in the file header. */
int hg_capture_run(const hg_capture_opts *opts, hg_capture *out) {
    hg__gcstate *gc = hg__gc_state();
    walk w;
    hg_graph *g = NULL;
    int stashed = 0, rc = -1;
    int st = HG_OK; /* hg_status or HG__TRAVERSE_FAILED */
    double t0 = hg__now(), t_unlock, t_lock;
    double t_release = t0; /* set in phase 5; read only when rc == 0 */
    double t_chased = 0, t_walked = 0, t_restored = 0;
    double waited = 0; /* for a collection in another thread (gcwait.c) */

    memset(&w, 0, sizeof(w));
    if (opts == NULL || out == NULL) {
        PyErr_SetString(PyExc_TypeError, "hg_capture_run: NULL argument");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (opts->exclude != NULL && !PyTuple_Check(opts->exclude)) {
        PyErr_SetString(PyExc_TypeError, "exclude must be a tuple");
        return -1;
    }
    if (hg__gc_collecting(gc)) {
        /* another thread's collection, running finalizers: wait for it
         * before allocating (gcwait.c); the capture, its pause and its
         * time start once it has finished */
        if (hg__gc_wait(gc, opts->gc_timeout, &waited) < 0) {
            return -1;
        }
        t0 = hg__now();
    }
    w.pin = opts->pin;
    w.nodes_only = opts->nodes_only;
    w.py_sizes = opts->python_sizes;

    /* ---- phase 0: allocate, pre-fault (GIL released) ------------------- */
    plan_capacity(&w, gc);
    t_unlock = hg__now();
    Py_BEGIN_ALLOW_THREADS
        w.team = plan_team(&w);
        st = allocate_arrays(&w);
        if (st == HG_OK &&
            hg__par_plan(&w, w.est_tracked, w.est_untracked, w.est_edges) < 0) {
            st = w.status;
        }
    Py_END_ALLOW_THREADS
    t_lock = hg__now();
    if (st != HG_OK) {
        set_status_error(st);
        goto cleanup;
    }
    /* again with the GIL retaken: a collection that let other threads run
     * (a finalizer releasing the GIL) may be under way */
    if (hg__gc_collecting(gc)) {
        /* waited without the GIL: part of phase 0, not of the pause */
        if (hg__gc_wait(gc, opts->gc_timeout, &waited) < 0) {
            goto cleanup;
        }
        t_lock = hg__now();
    }
    /* Warm the sizer's lookups before anything is stashed. */
    (void)hg_capture_sizeof(Py_None);

    /* ---- phase 1: the list walk: ids stashed, addresses ---------------- */
    hg__gc_set_collecting(gc, 1);
    stashed = 1;
    if (chase_tracked(&w, gc) < 0) {
        st = w.status;
        goto restore;
    }
    t_chased = hg__now();

    /* ---- phase 2: walk ------------------------------------------------- */
    if (w.n_parts > 0 ? hg__par_walk(&w) < 0 : walk_tracked(&w) < 0) {
        st = w.status;
        goto restore;
    }
    if (w.n_parts == 0 && walk_untracked(&w) < 0) {
        st = w.status;
        goto restore;
    }

    /* ---- phase 3: flags that need the stashed ids ---------------------- */
    flag_modules_and_excluded(&w, opts->exclude);

restore:
    /* ---- phase 4: restore, calls --------------------------------------- */
    t_walked = hg__now();
    restore_objects(&w, gc);
    hg__gc_set_collecting(gc, 0);
    stashed = 0;
    t_restored = hg__now();
    if (st != HG_OK) {
        set_status_error(st);
        goto cleanup;
    }
    hint_tracked = w.n_tracked;
    if (!w.nodes_only) {
        hint_untracked = w.n_nodes - w.n_tracked;
        hint_edges = w.n_edges;
    }
    /* Nothing has run since the walk, so every recorded object is alive
     * (pinned tracked nodes stay so): take references to the types and
     * to the objects whose size needs a call before any code runs. */
    for (size_t i = 0; i < w.n_types; i++) {
        Py_INCREF(w.types[i].tp);
    }
    w.types_owned = 1;
    for (size_t i = 0; i < w.n_defer; i++) {
        Py_INCREF(w.defer[i].op);
    }
    w.defer_owned = 1;
    if (deferred_sizes(&w) < 0 || build_types(&w, out) < 0) {
        goto cleanup;
    }
    drop_refs(&w);
    if (hg_graph_new(0, &g) != HG_OK) {
        PyErr_NoMemory();
        goto cleanup;
    }

    /* ---- phase 5: without the GIL -------------------------------------- */
    t_release = hg__now();
    Py_BEGIN_ALLOW_THREADS
        st = w.n_parts > 0 ? hg__par_finish(&w) : HG_OK;
        if (st == HG_OK) {
            st = assemble(&w, g);
        }
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        set_status_error(st);
        goto cleanup;
    }
    out->graph = g;
    g = NULL;
    out->pinned = w.pin;
    w.n_pinned = 0;
    out->pause_seconds = (t_unlock - t0) + (t_release - t_lock);
    rc = 0;

cleanup:
    if (stashed) {
        restore_objects(&w, gc);
        hg__gc_set_collecting(gc, 0);
    }
    if (rc < 0) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        drop_refs(&w);
        unpin_tracked(&w);
        hg_graph_free(g);
        hg_capture_release(out);
        PyErr_Restore(et, ev, tb);
    }
    walk_free(&w);
    if (rc == 0) {
        double *ph = out->phase_seconds;
        out->capture_seconds = hg__now() - t0;
        ph[HG_PHASE_PREPARE] = t_lock - t0;
        ph[HG_PHASE_CHASE] = t_chased - t_lock;
        ph[HG_PHASE_WALK] = t_walked - t_chased;
        ph[HG_PHASE_RESTORE] = t_restored - t_walked;
        ph[HG_PHASE_CALLS] = t_release - t_restored;
        ph[HG_PHASE_FINISH] = out->capture_seconds - (t_release - t0);
    }
    return rc;
}
