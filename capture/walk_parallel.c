/*
 * walk_parallel.c -- the parallel heap walk: phases 2 and 2b of
 * hg_capture_run over the OpenMP threads, while the calling thread holds
 * the GIL, and the restore of what it marked.
 *
 * Workload: 1M-50M tracked objects and about as many untracked referents
 * (ints, strs).  The walk is bound by cache misses -- each object, then
 * each referent's header -- so T threads keep about T times as many in
 * flight.  On the 1M-instance bench heap the serial walk takes 2.2 times
 * one tp_traverse pass.
 *
 * Why other threads may run tp_traverse: it only reads its object and
 * calls visit, and nothing can change the heap meanwhile -- the GIL holder
 * runs only this code, other Python threads wait for the GIL, and
 * the collector's "collecting" flag is set.  The threads touch no Python API
 * except hg__walk_type_id (in a critical section).  The walk's only writes to
 * objects are the marks in untracked referents' reference counts (walk.h),
 * taken with a compare-and-swap, so exactly one part records each object.
 *
 * Algorithm:
 *   phase 0 (no GIL, hg__par_plan): a part per thread, plus one for the
 *     untracked pass; each walking part gets its share of the estimated
 *     edges and untracked nodes, with a quarter to spare, pre-faulted (a
 *     part that walks more grows), with the arrays phase 5 fills.
 *   phase 2 (GIL, hg__par_walk): the tracked ids in blocks of HG__BLOCK,
 *     handed out dynamically (a thread the system delays takes fewer).
 *     A part walks a block as the serial walk does (sizes, tp_traverse
 *     with the prefetching queue -- or, for exact lists and tuples and
 *     plain instances, the same visits made inline: interp.h) and
 *     appends its edges to its own buffer:
 *     tracked referents by their stashed id, untracked ones by their
 *     encoded id, marked on first sight.  A mark also holds the earliest
 *     block known to refer to the node: a part meeting a node another part
 *     made for a later block lowers it (compare-and-swap again; at block
 *     boundaries, a few per block).
 *   phase 2b (GIL, serial): the untracked GC objects -- each part's in
 *     order, then those this pass finds -- traversed into the last part,
 *     their edge ranges kept per object (srcs, in ascending enc order).
 *   restore (GIL, hg__par_restore): the nodes are unmarked block by
 *     block, noting the block each mark ended with and counting the nodes
 *     new in each block, and the GC headers are restored in chunks, all
 *     over the threads.
 *   phase 5 (no GIL, hg__renumber, renumber.c): the final ids, exactly
 *     the serial walk's for any number of threads, from what the restore
 *     noted.
 *
 * Encodings: walk.h (enc = n_tracked + (part << shift) + l; marks).
 * During phase 2, w->offsets[id] of a tracked id is the position of its
 * first edge in its part's buffer; phase 5 rebases it.  fblock[l] ==
 * HG__NO_BLOCK: an unmarked node.  Calls into walk_state.c only.
 */
#include "walk.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define HG__GOLDEN 0x9E3779B97F4A7C15ull

/* Heaps with fewer tracked objects are walked serially: waking the other
 * threads would cost more than it saves. */
#define HG__PAR_MIN_TRACKED ((size_t)1 << 15)

static inline int thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* ---- parts ----------------------------------------------------------------
 */

/* A part's per-node arrays, and their bytes per entry. */
#define HG__PART_ARRAYS 8
static const size_t part_elem[HG__PART_ARRAYS] = {8, 4, 4, 4, 1, 4, 4, 4};

static void part_arrays(part *p, void **arr[HG__PART_ARRAYS]) {
    arr[0] = (void **)&p->addr;
    arr[1] = (void **)&p->size;
    arr[2] = (void **)&p->type;
    arr[3] = (void **)&p->refcnt;
    arr[4] = (void **)&p->flags;
    arr[5] = (void **)&p->fblock;
    arr[6] = (void **)&p->final;
    arr[7] = (void **)&p->srcidx;
}

static void part_free(part *p) {
    void **arr[HG__PART_ARRAYS];
    part_arrays(p, arr);
    for (int i = 0; i < HG__PART_ARRAYS; i++) {
        hg_free(*arr[i], p->cap_each[i] * part_elem[i]);
    }
    hg_free(p->targets, p->cap_edges * sizeof(hg_node));
    hg_free(p->sover, p->cap_sover * sizeof(hg_size_overflow));
    hg_free(p->over, p->cap_over * sizeof(rc_overflow));
    hg_free(p->defer, p->cap_defer * sizeof(deferred));
}

/* Room for one more node in p. */
static int part_grow_nodes(part *p) {
    void **arr[HG__PART_ARRAYS];
    part_arrays(p, arr);
    return hg__walk_grow_arrays(arr, part_elem, p->cap_each, HG__PART_ARRAYS,
                                p->cap + 1, &p->cap);
}

/* The arrays of a part for cap_nodes nodes and cap_edges edges,
 * pre-faulted (phase 0, no GIL). */
static int part_alloc(part *p, size_t cap_nodes, size_t cap_edges) {
    void **arr[HG__PART_ARRAYS];
    hg__range r[1 + HG__PART_ARRAYS];
    part_arrays(p, arr);
    p->cap = cap_nodes;
    p->cap_edges = cap_edges;
    p->targets = hg_alloc(cap_edges * sizeof(hg_node));
    if (p->targets == NULL) {
        return -1;
    }
    for (int i = 0; i < HG__PART_ARRAYS; i++) {
        *arr[i] = hg_alloc(cap_nodes * part_elem[i]);
        if (*arr[i] == NULL) {
            return -1;
        }
        p->cap_each[i] = cap_nodes;
    }
    r[0] = (hg__range){p->targets, cap_edges * sizeof(hg_node)};
    for (int i = 0; i < HG__PART_ARRAYS; i++) {
        r[1 + i] = (hg__range){*arr[i], cap_nodes * part_elem[i]};
    }
    hg__prefault(r, 1 + HG__PART_ARRAYS);
    return 0;
}

/* What phase 2b met in the previous parallel walk: its part's nodes and
 * edges, and the untracked GC nodes it traversed (srcs).  A heap of
 * untracked dicts (json.loads' dicts of strings, untracked by the first
 * collection) puts most of its nodes there; sized from these, the next
 * walk neither grows those arrays into fresh pages nor copies them. */
static size_t hint_2b_nodes, hint_2b_edges, hint_srcs;

/* See walk.h.  Each walking part gets its share of the estimate, with a
 * quarter to spare, pre-faulted; a part that walks more (a thread the
 * system starves leaves more blocks to the others) grows its arrays, which
 * moves no data (mremap).  Phase 2b's part and its srcs get what the
 * previous walk's phase 2b used, plus an eighth, pre-faulted too. */
int hg__par_plan(walk *w, size_t est_tracked, size_t est_untracked,
                 size_t est_edges) {
    int n_walkers = w->team; /* capture.c's plan_team */
    size_t cap_nodes, cap_edges;
    size_t cap_all = est_untracked + est_untracked / 8 + 1024;

    /* the walkers' share: what phase 2b took is not theirs */
    est_untracked -= est_untracked > hint_2b_nodes ? hint_2b_nodes : 0;
    est_edges -= est_edges > hint_2b_edges ? hint_2b_edges : 0;
    cap_nodes = est_untracked + est_untracked / 8 + 1024;
    cap_edges = est_edges + est_edges / 8 + 1024;

    if (w->nodes_only || n_walkers < 2 || est_tracked < HG__PAR_MIN_TRACKED) {
        return 0;
    }
    w->parts = hg_calloc((size_t)(n_walkers + 1) * sizeof(part));
    if (w->parts == NULL) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->n_parts = n_walkers + 1;
    for (int i = 0; i < w->n_parts; i++) {
        w->parts[i].owner = w;
    }
    for (int i = 0; i < n_walkers; i++) {
        size_t share_n = cap_nodes / (size_t)n_walkers * 5 / 4;
        size_t share_e = cap_edges / (size_t)n_walkers * 5 / 4;
        share_n = share_n < cap_nodes ? share_n : cap_nodes;
        share_e = share_e < cap_edges ? share_e : cap_edges;
        if (part_alloc(&w->parts[i], share_n, share_e) < 0) {
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
    }
    if (hint_2b_nodes + hint_2b_edges > 0 &&
        part_alloc(&w->parts[n_walkers],
                   hint_2b_nodes + hint_2b_nodes / 8 + 1024,
                   hint_2b_edges + hint_2b_edges / 8 + 1024) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    if (hint_srcs > 0) {
        hg__range r;
        w->cap_srcs = hint_srcs + hint_srcs / 8 + 1024;
        w->srcs = hg_alloc(w->cap_srcs * sizeof(untracked_src));
        if (w->srcs == NULL) {
            w->cap_srcs = 0;
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
        r = (hg__range){w->srcs, w->cap_srcs * sizeof(untracked_src)};
        hg__prefault(&r, 1);
    }
    /* the renumbering's table of encoded ids, by final id */
    w->cap_inv = cap_all;
    w->inv = hg_alloc(w->cap_inv * sizeof(hg_node));
    if (w->inv == NULL) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    {
        hg__range r = {w->inv, w->cap_inv * sizeof(hg_node)};
        hg__prefault(&r, 1);
    }
    return 0;
}

void hg__par_free(walk *w) {
    if (w->parts != NULL) {
        for (int i = 0; i < w->n_parts; i++) {
            part_free(&w->parts[i]);
        }
        hg_free(w->parts, (size_t)w->n_parts * sizeof(part));
    }
    if (w->blocks != NULL) {
        hg_free(w->blocks, w->n_blocks * sizeof(block));
    }
    if (w->counts != NULL) {
        hg_free(w->counts,
                (size_t)(w->n_parts - 1) * w->n_blocks * sizeof(uint32_t));
    }
    hg_free(w->srcs, w->cap_srcs * sizeof(untracked_src));
    if (w->tsizers != NULL) {
        hg_free(w->tsizers, w->n_tsizers * sizeof(hg__sizer));
    }
    hg_free(w->inv, w->cap_inv * sizeof(hg_node));
    w->parts = NULL;
    w->n_parts = 0;
    w->blocks = NULL;
    w->counts = NULL;
    w->srcs = NULL;
    w->tsizers = NULL;
    w->inv = NULL;
}

/* ---- the walk of one part -------------------------------------------------
 */

/* The type entry of tp, from the part's cache or (in a critical section)
 * the walk's type table. */
static int part_type(walk *w, part *p, PyTypeObject *tp,
                     const tcache_entry **out) {
    uint64_t a = (uint64_t)(uintptr_t)tp;
    tcache_entry *e = &p->tc[((a >> 4) * HG__GOLDEN) >> 60];
    if (e->tp != tp) {
        int64_t tid;
#pragma omp critical(hg_capture_types)
        {
            tid = hg__walk_type_id(w, tp);
            if (tid >= 0) {
                e->sizer = w->types[tid].sizer;
                e->node_flags = w->types[tid].node_flags;
            }
        }
        if (tid < 0) {
            return -1;
        }
        e->tp = tp;
        e->tid = (uint32_t)tid;
    }
    *out = e;
    return 0;
}

static int part_defer(part *p, PyObject *op, hg_node id) {
    if (p->n_defer == p->cap_defer &&
        hg__walk_grow((void **)&p->defer, &p->cap_defer, sizeof(deferred),
                      p->n_defer + 1) < 0) {
        return -1;
    }
    p->defer[p->n_defer].op = op;
    p->defer[p->n_defer].id = id;
    p->n_defer++;
    return 0;
}

/* A referent marked already (its mark word: the count's, or its immortal
 * slot's): its id; and if the mark's block is later than the one p is
 * walking (another part made the node meanwhile), the mark gets p's block,
 * and the block is noted as holding a first reference to a node made
 * elsewhere. */
static hg_node marked_id(walk *w, part *p, Py_ssize_t *word, Py_ssize_t rc) {
    while (p->cur_block < hg__mark_block(rc)) {
        if (hg__word_cas(word, &rc, hg__mark(hg__mark_id(rc), p->cur_block))) {
            w->blocks[p->cur_block].lowered_in = 1;
            break;
        }
    }
    return hg__mark_id(rc);
}

/* The walk id of an untracked referent: read from its mark, or, on first
 * sight, a new node of p (marked by compare-and-swap: if another part
 * marks it first, its id is taken instead).  An immortal object's mark is
 * its slot in the immortal table, where "not marked" is 0. */
static int part_untracked(walk *w, part *p, PyObject *op, hg_node *out) {
    Py_ssize_t *word = hg__refcnt_word(op);
    Py_ssize_t rc = hg__word_load(word), seen;
    const tcache_entry *te;
    size_t l = p->n;
    hg_node enc;
    Py_ssize_t n;
    int imm;

    if (rc < 0) {
        *out = marked_id(w, p, word, rc);
        return 0;
    }
    word = hg__mark_word(&w->imm, op, rc, &imm);
    if (word == NULL) {
        goto nomem;
    }
    seen = imm ? hg__word_load(word) : rc; /* what the CAS expects */
    if (seen < 0) {
        *out = marked_id(w, p, word, seen);
        return 0;
    }
    if (l >> w->shift) {
        p->status = HG__WALK_ERANGE;
        return -1;
    }
    /* everything that can fail comes before the mark */
    if (l == p->cap && part_grow_nodes(p) < 0) {
        goto nomem;
    }
    if (!imm && rc >= (Py_ssize_t)UINT32_MAX && p->n_over == p->cap_over &&
        hg__walk_grow((void **)&p->over, &p->cap_over, sizeof(rc_overflow),
                      p->n_over + 1) < 0) {
        goto nomem;
    }
    if (part_type(w, p, Py_TYPE(op), &te) < 0) {
        goto nomem;
    }
    enc = p->enc_base + (hg_node)l;
    if (rc != 1 && !hg__word_cas(word, &seen, hg__mark(enc, p->cur_block))) {
        *out = marked_id(w, p, word, seen); /* the other part's mark */
        return 0;
    }
    {
        uint8_t fl = (hg__is_gc(op) ? HG_NODE_GC : 0) | te->node_flags;
        uint8_t *flags = p->flags; /* (a byte store may alias p's fields) */
        p->addr[l] = (uint64_t)(uintptr_t)op;
        p->type[l] = te->tid;
        p->refcnt[l] = hg__sat_refcnt(rc);
        p->n = l + 1; /* from here on the restore puts the count back */
        flags[l] = fl;
    }
    if (!imm && rc >= (Py_ssize_t)UINT32_MAX) {
        p->over[p->n_over].id = (hg_node)l;
        p->over[p->n_over].refcnt = rc;
        p->n_over++;
    }
    n = hg__sizer_quick(&te->sizer, op);
    if (n < 0) {
        p->size[l] = 0; /* phase 4 calls for it */
        if (part_defer(p, op, enc) < 0) {
            goto nomem;
        }
    } else if (hg__store_size(&p->size[l], (uint64_t)n, enc, &p->sover,
                              &p->n_sover, &p->cap_sover) < 0) {
        goto nomem;
    }
    *out = enc;
    return 0;

nomem:
    p->status = HG__WALK_ENOMEM;
    return -1;
}

/* Resolve p's queued referents, oldest first, until keep remain queued,
 * appending an edge to each to p's buffer. */
static int part_resolve(part *p, size_t keep) {
    walk *w = p->owner;
    hg_node nt = w->n_tracked;
    size_t tail = p->ring_tail, head = p->ring_head, ne = p->n_edges;
    hg_node *targets = p->targets;
    int rc = 0;

    while (head - tail > keep) {
        PyObject *op = p->ring[tail & (HG__RING - 1)];
        hg_node id;
        uint64_t sid;
        if (ne == p->cap_edges) {
            if (hg__walk_grow((void **)&p->targets, &p->cap_edges,
                              sizeof(hg_node), ne + 1) < 0) {
                p->status = HG__WALK_ENOMEM;
                rc = -1;
                break;
            }
            targets = p->targets;
        }
        if (hg__gc_tracked(op) && (sid = hg__walk_stashed(w, op)) < nt) {
            id = (hg_node)sid;
        } else {
            /* marked by a block no later than this one (in its count, or
             * an immortal object's in its slot): the id, inline; else
             * (first sight, or a mark to lower) part_untracked */
            Py_ssize_t cnt = hg__word_load(hg__refcnt_word(op)), *slot;
            if (cnt >= 0 && hg__immortal_count(cnt) &&
                (slot = hg__imm_find(&w->imm, op)) != NULL) {
                cnt = hg__word_load(slot); /* its mark, or 0: none yet */
            }
            if (cnt < 0 && hg__mark_block(cnt) <= p->cur_block) {
                id = hg__mark_id(cnt);
            } else if (part_untracked(w, p, op, &id) < 0) {
                rc = -1;
                break;
            }
        }
        targets[ne++] = id;
        tail++;
    }
    p->ring_tail = tail;
    p->n_edges = ne;
    return rc;
}

/* tp_traverse callback of phase 2b: the edge is resolved at once. */
static int part_visit(PyObject *op, void *arg) {
    part *p = arg;
    p->ring[p->ring_head++ & (HG__RING - 1)] = op;
    return part_resolve(p, 0);
}

/* Referents resolved per call of part_resolve from the queue. */
#define HG__BATCH 32

/* Put op in p's queue at position h, prefetching the header its
 * resolution will read. */
static inline void ring_put(part *p, size_t h, PyObject *op) {
    hg__prefetch_referent(op);
    p->ring[h & (HG__RING - 1)] = op;
}

/* Queue referent op of the node being walked, resolving HG__BATCH queued
 * referents at a time (what is done per referent stays a prefetch and a
 * store). */
static inline int part_queue(part *p, PyObject *op) {
    size_t h = p->ring_head;
    ring_put(p, h, op);
    p->ring_head = ++h;
    if (h - p->ring_tail >= HG__LAG + HG__BATCH) {
        return part_resolve(p, HG__LAG);
    }
    return 0;
}

/* tp_traverse callback of phase 2: as walk_serial.c's visit_queued, with the
 * part's own queue. */
static int part_visit_queued(PyObject *op, void *arg) {
    return part_queue(arg, op);
}

/* Queue the non-NULL items[first], items[first + step], ... (n of them):
 * part_queue with the queue's head in a local. */
static inline int part_queue_array(part *p, PyObject *const *items,
                                   Py_ssize_t first, Py_ssize_t step,
                                   Py_ssize_t n) {
    size_t h = p->ring_head, full = p->ring_tail + HG__LAG + HG__BATCH;
    for (Py_ssize_t k = 0, i = first; k < n; k++, i += step) {
        PyObject *op = items[i];
        if (op == NULL) {
            continue;
        }
        ring_put(p, h++, op);
        if (h >= full) {
            p->ring_head = h;
            if (part_resolve(p, HG__LAG) < 0) {
                return -1;
            }
            full = p->ring_tail + HG__LAG + HG__BATCH;
        }
    }
    p->ring_head = h;
    return 0;
}

/* What tp_traverse would visit of op, queued: inline for the kinds
 * interp.h lists, through tp_traverse otherwise.  Nonzero if a visit
 * failed (p->status says why, unless tp_traverse failed on its own). */
static int part_traverse(part *p, PyObject *op) {
    PyTypeObject *tp = Py_TYPE(op);
    /* list and tuple traversal: the items from last to first */
    if (tp == &PyList_Type) {
        return part_queue_array(p, ((PyListObject *)op)->ob_item,
                                Py_SIZE(op) - 1, -1, Py_SIZE(op));
    }
    if (tp == &PyTuple_Type) {
        return part_queue_array(p, ((PyTupleObject *)op)->ob_item,
                                Py_SIZE(op) - 1, -1, Py_SIZE(op));
    }
    if (hg__plain_class(tp)) {
        Py_ssize_t n;
        PyObject *const *values = hg__plain_values(op, tp, &n);
        PyObject *dict = hg__plain_dict(op);
        if (values != NULL && part_queue_array(p, values, 0, 1, n) < 0) {
            return -1;
        }
        if (dict != NULL && part_queue(p, dict) < 0) {
            return -1;
        }
        return part_queue(p, (PyObject *)tp);
    }
    return tp->tp_traverse != NULL ? tp->tp_traverse(op, part_visit_queued, p)
                                   : 0;
}

static int part_drain(part *p) {
    return part_resolve(p, 0);
}

/* Sizes and edges of the tracked ids of block b. */
static int part_block(walk *w, part *p, size_t b) {
    hg_node n = w->n_tracked;
    hg_node id0 = (hg_node)(b * HG__BLOCK);
    hg_node id1 = n - id0 > HG__BLOCK ? id0 + HG__BLOCK : n;
    block *bl = &w->blocks[b];

    bl->part = (uint32_t)(p - w->parts);
    bl->e0 = p->n_edges;
    bl->l0 = p->n;
    p->cur_block = (uint32_t)b;
    for (hg_node id = id0; id < id1; id++) {
        PyObject *op = (PyObject *)(uintptr_t)w->addr[id]; /* borrowed */
        Py_ssize_t size;
        if (id + HG__PREFETCH < n) {
            hg__prefetch_object(
                (PyObject *)(uintptr_t)w->addr[id + HG__PREFETCH]);
        }
        size = hg__sizer_quick(&w->tsizers[w->type[id]], op);
        if (size < 0) {
            w->size[id] = 0; /* phase 4 calls for it */
            if (part_defer(p, op, id) < 0) {
                p->status = HG__WALK_ENOMEM;
                return -1;
            }
        } else if (hg__store_size(&w->size[id], (uint64_t)size, id, &p->sover,
                                  &p->n_sover, &p->cap_sover) < 0) {
            p->status = HG__WALK_ENOMEM;
            return -1;
        }
        w->offsets[id] = p->n_edges + (p->ring_head - p->ring_tail);
        if (part_traverse(p, op) != 0) {
            if (p->status == HG__WALK_OK) {
                p->status = HG__WALK_TRAVERSE_FAILED;
            }
            return -1;
        }
    }
    if (part_drain(p) < 0) {
        return -1;
    }
    bl->e1 = p->n_edges;
    bl->l1 = p->n;
    return 0;
}

/* ---- phases 2 and 2b ------------------------------------------------------
 */

/* Phase 2b: every untracked GC node, the parts' in order and then the
 * ones this pass adds, traversed into the last part. */
static int walk_untracked_gc(walk *w) {
    part *u = &w->parts[w->n_parts - 1];
    u->cur_block = HG__NO_BLOCK;
    for (int q = 0; q < w->n_parts; q++) {
        part *p = &w->parts[q];
        for (size_t l = 0; l < p->n; l++) { /* u->n grows meanwhile */
            PyObject *op; /* borrowed: referenced by a node walked earlier */
            traverseproc trav;
            untracked_src *s;
            if (!(p->flags[l] & HG_NODE_GC)) {
                continue;
            }
            if (w->n_srcs == w->cap_srcs &&
                hg__walk_grow((void **)&w->srcs, &w->cap_srcs,
                              sizeof(untracked_src), w->n_srcs + 1) < 0) {
                w->status = HG__WALK_ENOMEM;
                return -1;
            }
            if (p != u) {
                p->srcidx[l] = (uint32_t)w->n_srcs;
            }
            s = &w->srcs[w->n_srcs++];
            s->enc = p->enc_base + (hg_node)l;
            s->e0 = u->n_edges;
            op = (PyObject *)(uintptr_t)p->addr[l];
            trav = Py_TYPE(op)->tp_traverse;
            if (trav != NULL && trav(op, part_visit, u) != 0) {
                w->status = u->status != HG__WALK_OK ? u->status
                                                     : HG__WALK_TRAVERSE_FAILED;
                return -1;
            }
            s->e1 = u->n_edges;
        }
    }
    return 0;
}

/* The parts' deferred sizes and size overflows, into w's lists
 * (tracked and encoded ids). */
static int gather_deferred(walk *w) {
    for (int q = 0; q < w->n_parts; q++) {
        part *p = &w->parts[q];
        for (size_t k = 0; k < p->n_sover; k++) {
            if (hg__walk_add_over(&w->sover, &w->n_sover, &w->cap_sover,
                                  p->sover[k].node, p->sover[k].size) < 0) {
                w->status = HG__WALK_ENOMEM;
                return -1;
            }
        }
        if (p->n_defer == 0) {
            continue;
        }
        if (hg__walk_grow((void **)&w->defer, &w->cap_defer, sizeof(deferred),
                          w->n_defer + p->n_defer) < 0) {
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
        memcpy(w->defer + w->n_defer, p->defer, p->n_defer * sizeof(deferred));
        w->n_defer += p->n_defer;
    }
    return 0;
}

/* See walk.h. */
int hg__par_walk(walk *w) {
    hg_node n = w->n_tracked;
    int n_walkers = w->n_parts - 1;
    size_t avail = (HG_MAX_NODES - n) / (size_t)w->n_parts;
    long n_blocks = (long)((n + HG__BLOCK - 1) / HG__BLOCK);

    /* the widest range per part that keeps every enc below HG_NONE */
    if (avail < 1) {
        w->status = HG__WALK_ERANGE;
        return -1;
    }
    w->shift = 0;
    while (((size_t)2 << w->shift) <= avail) {
        w->shift++;
    }
    for (int q = 0; q < w->n_parts; q++) {
        w->parts[q].enc_base = n + ((hg_node)q << w->shift);
    }
    /* the sizers of the tracked nodes' types, fixed while the threads
     * add types to the table */
    w->n_tsizers = w->n_types;
    w->tsizers = hg_alloc(w->n_tsizers * sizeof(hg__sizer));
    w->blocks = hg_calloc((size_t)n_blocks * sizeof(block));
    w->n_blocks = (size_t)n_blocks;
    w->counts =
        hg_calloc((size_t)n_walkers * (size_t)n_blocks * sizeof(uint32_t));
    if (w->tsizers == NULL || w->blocks == NULL || w->counts == NULL ||
        (n + 1 > w->n_offsets &&
         hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                       n + 1) < 0)) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    for (size_t t = 0; t < w->n_tsizers; t++) {
        w->tsizers[t] = w->types[t].sizer;
    }

    w->par_marked = 1;
    w->stop = 0;
#pragma omp parallel num_threads(n_walkers)
    {
        part *p = &w->parts[thread_num()];
        /* fewer only under OMP_THREAD_LIMIT; the restore then asks for no
         * more (a larger team would create threads) */
#pragma omp master
        w->team = team_size();
#pragma omp for schedule(dynamic, 1)
        for (long b = 0; b < n_blocks; b++) {
            if (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED) &&
                part_block(w, p, (size_t)b) < 0) {
                __atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
            }
        }
    }
    for (int q = 0; q < n_walkers; q++) {
        if (w->parts[q].status != HG__WALK_OK) {
            w->status = w->parts[q].status;
            return -1;
        }
    }
    if (walk_untracked_gc(w) < 0 || gather_deferred(w) < 0) {
        return -1;
    }
    w->n_nodes = n;
    w->n_edges = 0;
    for (int q = 0; q < w->n_parts; q++) {
        part *p = &w->parts[q];
        w->n_nodes += p->n;
        w->n_edges += p->n_edges;
    }
    hint_2b_nodes = w->parts[w->n_parts - 1].n;
    hint_2b_edges = w->parts[w->n_parts - 1].n_edges;
    hint_srcs = w->n_srcs;
    w->par_walked = 1;
    return 0;
}

/* ---- restore --------------------------------------------------------------
 */

/* Put back the true count of p's nodes l0 .. l1-1 that were marked (see
 * walk_serial.c's restore_refcnts: a count changed meanwhile keeps its
 * change), noting each mark's block in fblock (if allocated).  counts !=
 * NULL (the nodes block `maker` made, in a completed walk): the block each
 * node is new in (phase 5) is counted -- the one its mark ended with, or,
 * unmarked, the maker. */
static void restore_range(part *p, const imm_table *imm, size_t l0, size_t l1,
                          uint32_t maker, uint32_t *counts) {
    size_t k = 0;
    while (k < p->n_over && p->over[k].id < l0) { /* (sorted by id) */
        k++;
    }
    for (size_t l = l0; l < l1; l++) {
        PyObject *op = (PyObject *)(uintptr_t)p->addr[l];
        Py_ssize_t rc = p->refcnt[l];
        if (l + 32 < l1 && p->refcnt[l + 32] != 1) {
            __builtin_prefetch((void *)(uintptr_t)p->addr[l + 32], 1);
        }
        Py_ssize_t *word = hg__refcnt_word(op), cur = 0, mark;
        const Py_ssize_t *slot = NULL;
        uint32_t fb;
        if (rc != 1) {
            cur = hg__word_load(word);
            slot = cur >= 0 ? hg__imm_find(imm, op) : NULL;
        }
        if (cur >= 0 && slot == NULL) {
            /* not marked: its only reference made it (count 1) */
            if (p->fblock != NULL) {
                p->fblock[l] = HG__NO_BLOCK;
            }
            if (counts != NULL) {
                counts[maker]++;
            }
            continue;
        }
        /* marked: in its count, or, immortal, in its slot */
        mark = slot != NULL ? *slot : cur;
        fb = hg__mark_block(mark);
        if (p->fblock != NULL) {
            p->fblock[l] = fb;
        }
        if (counts != NULL) {
            counts[fb]++;
        }
        if (slot == NULL) {
            rc = hg__saved_refcnt(p->refcnt[l], (hg_node)l, p->over, p->n_over,
                                  &k);
            hg__word_store(word,
                           rc + (cur - hg__mark(p->enc_base + (hg_node)l, fb)));
        }
    }
}

/* Chunks of the GC header restore per thread. */
#define HG__GC_CHUNKS_PER_THREAD 4

/* See walk.h.  The unmarking and chunks of the GC headers are independent
 * stores to different objects, handed out to the threads. */
void hg__par_restore(walk *w, hg__gcstate *gc) {
    int marked = w->par_marked, by_block = marked && w->par_walked;
    /* the work: each block's nodes (after a completed walk: small pieces,
     * so that a thread the system delays holds up the others by little),
     * else each part's; phase 2b's part whole; chunks of the GC headers */
    long nb = by_block ? (long)w->n_blocks : 0;
    long n_whole = !marked ? 0 : by_block ? 1 : w->n_parts;
    long n_chunks =
        w->listed ? (long)(w->n_parts - 1) * HG__GC_CHUNKS_PER_THREAD : 0;
    size_t n_listed = w->list_start[HG__N_GC_LISTS];

    if (!w->listed) {
        hg__gc_restore(gc); /* the list walk failed: chase the lists */
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->team)
    for (long i = 0; i < nb + n_whole + n_chunks; i++) {
        if (i < nb) {
            const block *bl = &w->blocks[i];
            restore_range(&w->parts[bl->part], &w->imm, bl->l0, bl->l1,
                          (uint32_t)i,
                          w->counts + (size_t)thread_num() * w->n_blocks);
        } else if (i < nb + n_whole) {
            part *p = &w->parts[by_block ? w->n_parts - 1 : i - nb];
            restore_range(p, &w->imm, 0, p->n, 0, NULL);
        } else {
            size_t c = (size_t)(i - nb - n_whole);
            hg__gc_restore_span(gc, w->addr, w->list_start,
                                n_listed * c / (size_t)n_chunks,
                                n_listed * (c + 1) / (size_t)n_chunks);
        }
    }
    w->par_marked = 0;
}
