/*
 * walk.h -- the heap walk's state and the functions of the files that
 * walk.  Private to capture/.
 *
 * The files call each other one way only:
 *   walk_state.c       the shared state: arrays, type table, phase 1 (the
 *                      list walk) and its undo, the hand-over to the graph
 *   walk_serial.c      phases 2 and 2b on the calling thread, its restore
 *   walk_parallel.c    phases 2 and 2b over the threads, its restore
 *   renumber.c         phase 5 of a parallel walk: the serial walk's ids
 *   immortals.c        the table of immortal objects' marks (a leaf: it
 *                      calls none of the others)
 *   capture.c          the phases in order (hg_capture_run), calling all
 *                      of the above; none of them calls it
 * The three in the middle call only walk_state.c (and capture_int.h's
 * sizeof.c), not each other.
 *
 * Node ids during the walk.  Tracked objects get ids 0 .. n_tracked-1 in
 * GC list order (stashed in their GC headers).  Untracked referents get:
 *   - serial walk: their final id, n_tracked, n_tracked+1, ... in order of
 *     first visit;
 *   - parallel walk: an encoded id enc = n_tracked + (p << shift) + l,
 *     where p is the part (thread share) that saw the object first and l
 *     its index in that part's table; renumber.c renumbers every enc to the
 *     final id the serial walk would give, once the GIL is released.
 * Either way an untracked object's reference count holds its mark (see
 * hg__mark) until the restore -- unless its count is 1: the reference
 * being visited is then its only one, no other edge can lead to it, and
 * it is not marked (nor restored) -- or it is immortal (CPython 3.12 on,
 * interp.h: hg__immortal_count): its count is never written, and its mark
 * is kept in the walk's immortal table instead (immortals.c).  Counts are
 * read and written through hg__refcnt_word(op) only: CPython's own
 * Py_SET_REFCNT ignores a count that looks immortal, as a mark may.
 */
#ifndef HG_CAPTURE_WALK_H
#define HG_CAPTURE_WALK_H

#include "capture_int.h"

typedef struct rc_overflow {
    hg_node id;        /* walk id (serial) or index in the part (parallel) */
    Py_ssize_t refcnt; /* the true count of a marked node >= UINT32_MAX */
} rc_overflow;

typedef struct deferred {
    PyObject *op; /* borrowed during the walk, strong after phase 4 */
    hg_node id;   /* walk id: final, or encoded in a parallel walk */
} deferred;

typedef struct type_entry {
    PyTypeObject *tp; /* borrowed during the walk, strong after phase 4 */
    hg__sizer sizer;
    uint8_t node_flags; /* what its instances' flags get: HG_NODE_HAS_DEL */
} type_entry;

/* The referent queue of the walk (visit_queued): resolution runs HG__LAG
 * referents behind the traversal (walk_parallel.c: HG__LAG to HG__LAG + its
 * batch), so that their prefetched headers have arrived.  HG__RING is a
 * power of two larger than that. */
#define HG__LAG 64
#define HG__RING 128

/* Per-part cache of type ids (direct-mapped by type address). */
#define HG__TCACHE 16
typedef struct tcache_entry {
    PyTypeObject *tp; /* borrowed */
    uint32_t tid;
    uint8_t node_flags;
    hg__sizer sizer;
} tcache_entry;

/* One thread's share of a parallel walk, or the untracked pass after it
 * (the last part).  Its untracked nodes: local index l, encoded id
 * enc_base + l. */
typedef struct part {
    struct walk *owner;
    hg_node enc_base;
    hg_node *targets; /* encoded edge targets, block after block */
    size_t n_edges, cap_edges;
    uint64_t *addr;
    uint32_t *size, *type, *refcnt;
    uint8_t *flags;
    size_t n, cap;      /* cap: the smallest of cap_each */
    size_t cap_each[8]; /* of addr .. flags, fblock, final, srcidx */
    rc_overflow *over;  /* id: local index */
    size_t n_over, cap_over;
    deferred *defer; /* id: walk id (tracked or encoded) */
    size_t n_defer, cap_defer;
    hg_size_overflow *sover; /* node: walk id (tracked or encoded) */
    size_t n_sover, cap_sover;
    PyObject *ring[HG__RING]; /* borrowed */
    size_t ring_head, ring_tail;
    tcache_entry tc[HG__TCACHE];
    hg__walk_status status;
    uint32_t cur_block; /* the block being walked (HG__NO_BLOCK: 2b) */
    uint32_t *fblock;   /* from the restore: the block of each node's mark */
    uint32_t *srcidx;   /* from phase 2b: index in srcs of each GC node */
    hg_node *final;     /* from the renumbering: final id of each l */
} part;

/* Tracked ids per block of the parallel walk: small enough that a thread
 * the system delays holds up the others by little, large enough that the
 * prefetching queue's drain at the end of each block costs nothing.
 * Block b holds the tracked ids b * HG__BLOCK .. (b + 1) * HG__BLOCK - 1. */
#define HG__BLOCK 2048

/* The block of the untracked pass's nodes: after every real one. */
#define HG__NO_BLOCK 0x7fffffffu

/* A block of tracked ids walked by one part: its edges are
 * parts[part].targets[e0 .. e1). */
typedef struct block {
    uint32_t part;
    int lowered_in;     /* refers first to a node another part made later */
    size_t e0, e1;      /* its edges in the part's targets */
    size_t l0, l1;      /* the nodes the part made in it */
    size_t first;       /* renumbering: the final id of its first new node */
    size_t n_new;       /* renumbering: nodes whose first reference it holds */
    size_t base;        /* renumbering: where its edges start in the CSR */
    size_t n_src_edges; /* renumbering: its new nodes' phase 2b edges */
    size_t src_base;    /* renumbering: where those start in the CSR */
} block;

/* An untracked GC object traversed after the tracked walk (parallel
 * mode): its encoded id and edges in the last part's targets. */
typedef struct untracked_src {
    hg_node enc;
    size_t e0, e1;
} untracked_src;

/* The marks of immortal objects, keyed by address (open addressing,
 * linear probing; parts claim slots concurrently).  Sized in phase 0 from
 * hg__immortal_estimate(); a walk that finds it full fails with `full`
 * set, and hg_capture_run retries with a larger one. */
typedef struct imm_table {
    uint64_t *keys;    /* object addresses; 0: a free slot */
    Py_ssize_t *marks; /* the mark of keys[i]; 0: not marked yet */
    size_t mask;       /* slots - 1 (a power of two); no table: 0 */
    unsigned shift;    /* 64 - log2(slots), for the hash */
    int full;          /* a claim found no free slot */
} imm_table;

typedef struct walk {
    hg_node n_tracked;
    size_t n_nodes;         /* n_tracked + untracked so far (serial walk) */
    hg__walk_status status; /* of the first failure */

    /* node table, tracked part then untracked part: cap_n entries each;
     * sizes saturate at UINT32_MAX, the true ones in sover (as the graph
     * keeps them, hg_node_size) */
    uint64_t *addr;
    uint32_t *size, *type, *refcnt;
    uint8_t *flags;
    hg_size_overflow *sover; /* node: walk id; not in order */
    size_t n_sover, cap_sover;
    size_t cap_n;       /* capacity while walking */
    size_t cap_each[5]; /* per-array capacity (they differ only while
                         * hg__walk_assemble trims them) */

    /* untracked nodes of the serial walk: ids n_tracked .. n_tracked +
     * n_marked - 1; their reference count holds the mark, except for those with
     * a count of 1, which are not marked */
    size_t n_marked;
    rc_overflow *over;
    size_t n_over, cap_over;

    /* forward CSR */
    hg_edge *offsets; /* capacity n_offsets; n_nodes + 1 used at the end */
    size_t n_offsets;
    hg_node *targets;
    size_t n_edges, cap_edges;

    /* type table */
    type_entry *types;
    size_t n_types, cap_types;
    uint32_t *tindex; /* type id + 1 */
    size_t tmask;
    PyTypeObject *last_tp[2]; /* borrowed: a two-entry cache (heaps
                               * alternate between two types a lot:
                               * instance, its list, instance, ...) */
    uint32_t last_tid[2];

    /* objects whose size needs a call */
    deferred *defer;
    size_t n_defer, cap_defer;

    /* tracked ids of list i (interp.h order): list_start[i] ..
     * list_start[i + 1] - 1; listed: every tracked address is in addr[] */
    size_t list_start[HG__N_GC_LISTS + 1];
    int listed;

    /* referents queued by visit_queued, not yet resolved: ring[tail ..
     * head) (indices mod HG__RING); borrowed */
    PyObject *ring[HG__RING];
    size_t ring_head, ring_tail;

    int pin;         /* take a reference to each tracked node in the walk */
    int nodes_only;  /* skip tp_traverse: tracked nodes, no edges */
    int py_sizes;    /* call Python-level __sizeof__ (hg__sizer_init) */
    size_t n_pinned; /* tracked nodes 0 .. n_pinned-1 hold one reference */
    int types_owned; /* types[] hold strong references */
    int defer_owned; /* defer[].op hold strong references */

    /* threads of every parallel region while the heap is marked: what
     * hg_threads_reserve() started in phase 0, or 1 (no region); the
     * parallel walk lowers it to the team it got */
    int team;

    /* parallel walk (walk_parallel.c): n_parts > 0 when chosen in phase 0 */
    int n_parts;    /* threads + 1: the last part is the untracked pass */
    unsigned shift; /* enc = n_tracked + (part << shift) + l */
    part *parts;    /* n_parts */
    block *blocks;  /* n_blocks */
    size_t n_blocks;
    untracked_src *srcs; /* in ascending enc order */
    size_t n_srcs, cap_srcs;
    int stop;           /* atomic: a part failed; the others stop */
    int par_marked;     /* parts' nodes may hold marks: restore them */
    int par_walked;     /* hg__par_walk completed: the restore counts */
    uint32_t *counts;   /* the restore's count of new nodes per block, for
                         * each of its threads (n_parts - 1 rows) */
    hg__sizer *tsizers; /* sizers of the types the list walk met */
    size_t n_tsizers;
    hg_node *inv; /* renumbering: enc of each final untracked id (set for
                   * the GC ones, and all of phase 2b's) */
    size_t cap_inv;

    /* what phase 0 planned for: tracked, untracked nodes and edges, and
     * immortal objects */
    size_t est_tracked, est_untracked, est_edges, est_immortal;

    imm_table imm; /* immortal objects' marks */

} walk;

/* How far ahead (in ids) the walks prefetch the next objects. */
#define HG__PREFETCH 8

/* A byte range to pre-fault (see hg__prefault). */
typedef struct hg__range {
    void *p;
    size_t nbytes;
} hg__range;
#define HG__N_RANGES 9

/* ---- walk_state.c --------------------------------------------------------
 * The int functions return 0, or -1 (with w->status set when they take a
 * walk). */

/* Have every page of the n (<= HG__N_RANGES) ranges mapped now: a fresh
 * range populated by the kernel in one call (hg_populate,
 * MADV_POPULATE_WRITE), or, where the kernel cannot, stored to one byte per
 * page over the OpenMP threads; a range reused from an earlier capture has
 * only its missing pages touched.  No GIL needed. */
void hg__prefault(const hg__range *r, int n);

/* Phase 0 (no GIL): allocate and pre-fault the arrays w's capacities
 * (cap_n, n_offsets, cap_edges) plan, and the type index.  HG_ENOMEM if
 * any allocation failed (hg__walk_free frees the others). */
hg_status hg__walk_alloc(walk *w);

/* Free what w holds but the parallel walk's parts (hg__par_free); w is
 * zeroed.  Accepts a zeroed walk. */
void hg__walk_free(walk *w);

/* Phase 1 (GIL held, the collector's "collecting" flag set): the one walk
 * of the GC lists: each tracked object gets the next id, stashed in its
 * GC header (interp.h), and its node entry but the size; list_start and
 * listed are set.  From its start until hg__walk_unstash, the stash is in
 * place (in part, if it fails). */
int hg__walk_chase(walk *w, hg__gcstate *gc);

/* Undo the id stash: from the recorded addresses when the list walk
 * finished, else by walking the lists.  GIL held, or the thread of a
 * region whose caller holds it. */
void hg__walk_unstash(walk *w, hg__gcstate *gc);

/* Phase 5 (no GIL): hand the node table, the size overflow table and the
 * CSR (in final ids) to g, trimmed to their sizes, without copies. */
hg_status hg__walk_assemble(walk *w, hg_graph *g);

/* Grow *p (elem-byte items, *cap of them) to hold at least need items;
 * -1 on allocation failure (the array is unchanged). */
int hg__walk_grow(void **p, size_t *cap, size_t elem, size_t need);

/* Grow the n arrays *arr[i] (elem[i] bytes per entry), whose capacities
 * are cap[i], to hold at least need entries each; *cap_min = the smallest
 * capacity.  -1 on allocation failure: the arrays grown so far keep their
 * new capacity, recorded in cap[] (and *cap_min). */
int hg__walk_grow_arrays(void **arr[], const size_t elem[], size_t cap[], int n,
                         size_t need, size_t *cap_min);

/* The walk's five node arrays (addr, size, type, refcnt, flags). */
#define HG__NODE_ARRAYS 5

/* Make w's node arrays hold at least need entries (w->cap_n then does).
 * -1 on allocation failure. */
int hg__walk_reserve(walk *w, size_t need);

/* hg__walk_type_id past its cache: the table, adding tp on first sight. */
int64_t hg__walk_type_lookup(walk *w, PyTypeObject *tp);

/* Id of tp in the type table, adding it (and its size strategy and node
 * flags) on first sight.  Runs no Python code.  -1 on allocation failure.
 * Inline: the two-entry cache answers most calls (heaps alternate between
 * two types a lot). */
static inline int64_t hg__walk_type_id(walk *w, PyTypeObject *tp) {
    if (tp == w->last_tp[0]) {
        return w->last_tid[0];
    }
    if (tp == w->last_tp[1]) {
        return w->last_tid[1];
    }
    return hg__walk_type_lookup(w, tp);
}

/* ---- the stash's encoding -------------------------------------------------
 * The chase follows each GC list from both ends at once (two independent
 * chains of loads: about half the time of one on heaps whose list order
 * is not their address order).  An object met from the front gets its id
 * stashed; one met from the back, whose id depends on how long the list
 * turns out to be, gets HG__STASH_BACK | (list << 48) | j: the j-th object
 * from list `list`'s end, id list_start[list + 1] - 1 - j once the chase
 * is done. */
#define HG__STASH_BACK ((uint64_t)1 << 60)
_Static_assert(HG__N_GC_LISTS <= 4, "hg__walk_stashed reads 2 bits of list");

static inline uint64_t hg__stash_back(int list, size_t j) {
    return HG__STASH_BACK | ((uint64_t)list << 48) | (uint64_t)j;
}

/* The node id stashed in tracked op's header once the chase is done, or
 * a value >= n_tracked if it holds none.  Branch-free: half the tracked
 * referents of a walk are met from the back, at random. */
static inline uint64_t hg__walk_stashed(const walk *w, PyObject *op) {
    uint64_t v = hg__gc_stashed_id(op);
    uint64_t back = w->list_start[((v >> 48) & 3) + 1] - 1 -
                    (v & (((uint64_t)1 << 48) - 1));
    return (v >> 60) == 1 ? back : v;
}

/* Append (id, size) to an overflow list; -1 on allocation failure. */
int hg__walk_add_over(hg_size_overflow **over, size_t *n, size_t *cap,
                      hg_node id, uint64_t size);

/* ---- node entries and marks (inline, for every walk) -------------------- */

/* *slot = size n of walk id `id`, saturated at UINT32_MAX, the true size
 * then appended to the overflow list.  -1 on allocation failure. */
static inline int hg__store_size(uint32_t *slot, uint64_t n, hg_node id,
                                 hg_size_overflow **over, size_t *n_over,
                                 size_t *cap_over) {
    if (n < UINT32_MAX) {
        *slot = (uint32_t)n;
        return 0;
    }
    *slot = UINT32_MAX;
    return hg__walk_add_over(over, n_over, cap_over, id, n);
}

static inline uint32_t hg__sat_refcnt(Py_ssize_t r) {
    return r > (Py_ssize_t)UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* The word that holds op's count, marks included (interp.h), read and
 * written atomically (relaxed: the compare-and-swap decides which part
 * records an object; nothing else is ordered by it).  The same for a
 * slot of the immortal table. */
static inline Py_ssize_t hg__word_load(const Py_ssize_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void hg__word_store(Py_ssize_t *p, Py_ssize_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
static inline int hg__word_cas(Py_ssize_t *p, Py_ssize_t *expected,
                               Py_ssize_t desired) {
    return __atomic_compare_exchange_n(p, expected, desired, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* The mark an untracked node's reference count holds during the serial walk. */
static inline Py_ssize_t hg__refcnt_mark(hg_node id) {
    return -(Py_ssize_t)id - 1;
}

/* The mark of a parallel walk also carries the earliest block (so far) in
 * which the node is referenced: -(mark + 1) = (block << 32) | enc, block
 * < 2^31.  The serial walk's marks are those with block 0. */
static inline Py_ssize_t hg__mark(hg_node enc, uint32_t block) {
    return -(Py_ssize_t)(((uint64_t)block << 32) | enc) - 1;
}

/* The walk id and the block of a mark. */
static inline hg_node hg__mark_id(Py_ssize_t mark) {
    return (hg_node)(uint32_t)(-(mark + 1));
}
static inline uint32_t hg__mark_block(Py_ssize_t mark) {
    return (uint32_t)((uint64_t)(-(mark + 1)) >> 32);
}

/* The part of an encoded id, and the index in it. */
static inline part *hg__enc_part(const walk *w, hg_node enc, size_t *l) {
    size_t x = (size_t)(enc - w->n_tracked);
    *l = x & (((size_t)1 << w->shift) - 1);
    return &w->parts[x >> w->shift];
}

/* Whether walk id `id` is an encoded one (a parallel walk's untracked
 * node) rather than an index into w's own node arrays. */
static inline int hg__walk_encoded(const walk *w, hg_node id) {
    return w->n_parts > 0 && id >= w->n_tracked;
}

/* Where walk id `id`'s node entry is: at *i in the part returned, or at
 * *i in w's own arrays when that is NULL. */
static inline part *hg__walk_where(const walk *w, hg_node id, size_t *i) {
    if (!hg__walk_encoded(w, id)) {
        *i = id;
        return NULL;
    }
    return hg__enc_part(w, id, i);
}

/* The true count of a marked node whose saved count is `saved`
 * (saturated): from the overflow list (in key order, *k its cursor) when
 * saved is UINT32_MAX. */
static inline Py_ssize_t hg__saved_refcnt(uint32_t saved, hg_node key,
                                          const rc_overflow *over,
                                          size_t n_over, size_t *k) {
    if (saved != UINT32_MAX) {
        return saved;
    }
    while (*k < n_over && over[*k].id != key) {
        (*k)++;
    }
    return over[*k].refcnt;
}

/* ---- immortals.c ----------------------------------------------------------
 * The immortal table: its slots are claimed during a walk, with the GIL
 * held, possibly by several parts at once. */

/* Phase 0 (no GIL): a table for about `expect` immortal objects (none when
 * expect is 0).  HG_ENOMEM on allocation failure. */
hg_status hg__imm_alloc(imm_table *t, size_t expect);
/* Free it; t is zeroed.  Accepts a zeroed table. */
void hg__imm_free(imm_table *t);
/* The slot of immortal op's mark: found, or claimed (its mark 0).  NULL
 * when the table is full (t->full set: the walk fails with HG_ENOMEM). */
Py_ssize_t *hg__imm_claim(imm_table *t, PyObject *op);

/* The first slot to probe for address a. */
static inline size_t hg__imm_hash(const imm_table *t, uint64_t a) {
    return (size_t)(((a >> 4) * 0x9E3779B97F4A7C15ull) >> t->shift);
}

/* The slot of op's mark if op has one, else NULL (claims nothing).
 * Inline: the parallel walk's referent loop asks it for every reference
 * to an immortal object it has met before (None, small ints...). */
static inline Py_ssize_t *hg__imm_find(const imm_table *t, PyObject *op) {
    uint64_t a = (uint64_t)(uintptr_t)op;
    if (t->keys == NULL) {
        return NULL;
    }
    for (size_t i = hg__imm_hash(t, a), n = 0; n <= t->mask;
         i = (i + 1) & t->mask, n++) {
        uint64_t k = __atomic_load_n(&t->keys[i], __ATOMIC_RELAXED);
        if (k == a) {
            return &t->marks[i];
        }
        if (k == 0) {
            return NULL;
        }
    }
    return NULL;
}

/* The word where untracked op's mark goes: its count's, or, for an
 * immortal object (rc, its unmarked count, says so), its slot in the
 * immortal table, claimed on first sight; *imm tells which.  NULL when the
 * table is full (t->full set). */
static inline Py_ssize_t *hg__mark_word(imm_table *t, PyObject *op,
                                        Py_ssize_t rc, int *imm) {
    *imm = rc >= 0 && hg__immortal_count(rc);
    return *imm ? hg__imm_claim(t, op) : hg__refcnt_word(op);
}

/* ---- walk_serial.c -------------------------------------------------------
 * The serial walk, used when the parallel one was not chosen. */

/* Phases 2 and 2b (GIL held, ids stashed): sizes and edges of every
 * tracked object in id order, then of the untracked GC objects.  0, or -1
 * with w->status set. */
int hg__serial_walk(walk *w);
/* Undo every mark of the serial walk and the id stash (GIL held). */
void hg__serial_restore(walk *w, hg__gcstate *gc);

/* ---- walk_parallel.c -----------------------------------------------------
 * The parallel walk, used when hg__par_plan chose it (n_parts > 0).  The
 * int functions return 0, or -1 with w->status set. */

/* Phase 0 (no GIL): choose the parallel walk for a heap of about
 * est_tracked objects (it needs 2 threads or more), and allocate and
 * pre-fault the parts. */
int hg__par_plan(walk *w, size_t est_tracked, size_t est_untracked,
                 size_t est_edges);
/* Phases 2 and 2b (GIL held, ids stashed): the tracked objects over the
 * OpenMP threads, then the untracked GC objects. */
int hg__par_walk(walk *w);
/* Undo every mark and the id stash (GIL held), over the threads, noting
 * what renumbering needs. */
void hg__par_restore(walk *w, hg__gcstate *gc);
/* Free the parts and the parallel walk's tables.  Accepts a walk that
 * never chose the parallel walk. */
void hg__par_free(walk *w);

/* ---- renumber.c ----------------------------------------------------------
 * Phase 5 (no GIL) of a parallel walk, after hg__par_restore: final ids,
 * the node table and the forward CSR into w's arrays, as the serial walk
 * would have left them. */
hg_status hg__renumber(walk *w);

#endif /* HG_CAPTURE_WALK_H */
