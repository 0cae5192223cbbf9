/*
 * walk_serial.c -- the serial heap walk: phases 2 and 2b of
 * hg_capture_run on the calling thread (GIL held, ids stashed), and the
 * restore of what it marked.
 *
 * Used when the parallel walk was not chosen in phase 0 (one thread, or
 * fewer than 32k tracked objects, or nodes only).  Tracked nodes are taken
 * in id order from the recorded addresses, the next ones prefetched: size,
 * then tp_traverse with visit_queued(), which appends one edge per visited
 * referent to the forward CSR, resolving each referent HG__LAG referents
 * after prefetching its header.  A tracked referent's id is read from its
 * GC header; any other referent gets the next id >= n_tracked on first
 * sight and is marked (walk.h) -- unless its count is 1.  Then the
 * untracked GC objects are traversed in id order (phase 2b).
 *
 * Encodings: walk.h (ids, marks).  offsets[id] is set for every node; the
 * node arrays hold n_nodes entries.  Calls into walk_state.c only.
 */
#include "walk.h"

/* Below this many objects, loops over the nodes run on one thread (a
 * parallel region would cost more than it saves). */
#define HG__PAR_MIN ((size_t)1 << 16)

/* ---- node entries -------------------------------------------------------- */

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

/* Id of an untracked object, recording its node entry and marking it on
 * first sight (unless its count is 1).  An immortal object's mark goes to
 * the immortal table, its count untouched. */
static int untracked_id(walk *w, PyObject *op, hg_node *out) {
    Py_ssize_t rc = hg__word_load(hg__refcnt_word(op));
    Py_ssize_t *word;
    hg_node id;
    int64_t tid;
    int imm;

    if (rc < 0) {
        *out = hg__mark_id(rc);
        return 0;
    }
    word = hg__mark_word(&w->imm, op, rc, &imm);
    if (word == NULL) {
        goto nomem;
    }
    if (imm && *word < 0) {
        *out = hg__mark_id(*word);
        return 0;
    }
    if (w->n_nodes >= HG_MAX_NODES) {
        w->status = HG__WALK_ERANGE;
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
    if (!imm && rc >= (Py_ssize_t)UINT32_MAX) {
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
    w->refcnt[id] = hg__sat_refcnt(rc);
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
        hg__word_store(word, hg__refcnt_mark(id));
    }
    w->n_marked++;
    *out = id;
    return 0;

nomem:
    if (w->status == HG__WALK_OK) {
        w->status = HG__WALK_ENOMEM;
    }
    return -1;
}

/* One edge from the current node to op: op's node id (stashed in its GC
 * header if tracked, else from untracked_id) appended to the targets. */
static inline int add_edge(walk *w, PyObject *op) {
    hg_node id;
    uint64_t sid;

    if (hg__gc_tracked(op) && (sid = hg__walk_stashed(w, op)) < w->n_tracked) {
        id = (hg_node)sid;
    } else if (untracked_id(w, op, &id) < 0) {
        return -1;
    }
    if (w->n_edges == w->cap_edges &&
        hg__walk_grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node),
                      w->n_edges + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->targets[w->n_edges++] = id;
    return 0;
}

/* ---- tp_traverse callbacks ----------------------------------------------- */

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

/* ---- phases 2 and 2b ----------------------------------------------------- */

/* Phase 2: sizes and edges of every tracked object, in id order. */
static int walk_tracked(walk *w) {
    hg_node n = w->n_tracked;
    if (n + 1 > w->n_offsets &&
        hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                      n + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
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
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
        /* its edges start after the resolved and the queued ones */
        w->offsets[id] = w->n_edges + (w->ring_head - w->ring_tail);
        if (w->nodes_only) {
            continue;
        }
        trav = Py_TYPE(op)->tp_traverse;
        if (trav != NULL && trav(op, visit_queued, w) != 0) {
            if (w->status == HG__WALK_OK) {
                w->status = HG__WALK_TRAVERSE_FAILED;
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
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
        w->offsets[id] = w->n_edges;
        if (!(w->flags[id] & HG_NODE_GC)) {
            continue;
        }
        op = (PyObject *)(uintptr_t)w->addr[id];
        trav = Py_TYPE(op)->tp_traverse;
        if (trav != NULL && trav(op, visit, w) != 0) {
            if (w->status == HG__WALK_OK) {
                w->status = HG__WALK_TRAVERSE_FAILED;
            }
            return -1;
        }
    }
    if (w->n_nodes + 1 > w->n_offsets &&
        hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                      w->n_nodes + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->offsets[w->n_nodes] = w->n_edges;
    return 0;
}

/* See walk.h. */
int hg__serial_walk(walk *w) {
    if (walk_tracked(w) < 0) {
        return -1;
    }
    return walk_untracked(w);
}

/* ---- restore ------------------------------------------------------------- */

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
        Py_ssize_t *word = hg__refcnt_word(op), cur;
        if (w->refcnt[id] == 1 || (cur = hg__word_load(word)) >= 0) {
            continue; /* never marked (see untracked_id), or immortal */
        }
        Py_ssize_t rc =
            hg__saved_refcnt(w->refcnt[id], id, w->over, w->n_over, &k);
        hg__word_store(word, rc + (cur - hg__refcnt_mark(id)));
    }
    w->n_marked = 0;
}

/* See walk.h.  Two streams of independent stores to different objects
 * (untracked objects' reference counts, tracked objects' GC headers),
 * each bound by the cache misses one core can keep in flight, so they run
 * side by side, one per core: 27 -> 15 ms on the 1M-instance bench heap
 * with the second core idle (about 5 ms worse when other processes keep it
 * busy).  Touches object memory only, no Python API: the thread without
 * the GIL may do either. */
void hg__serial_restore(walk *w, hg__gcstate *gc) {
    if (w->team < 2 || w->n_marked + w->n_tracked < HG__PAR_MIN) {
        /* no region at all: even a team of one makes libgomp allocate */
        restore_refcnts(w);
        hg__walk_unstash(w, gc);
        return;
    }
    /* the reserved team (capture.c's plan_team), though two threads have
     * work */
#pragma omp parallel sections num_threads(w->team)
    {
#pragma omp section
        restore_refcnts(w);
#pragma omp section
        hg__walk_unstash(w, gc);
    }
}
