/*
 * walk_state.c -- the state both heap walks share (walk.h) and the steps
 * of hg_capture_run that do not depend on which walk runs.
 *
 *   - growable arrays, the node arrays and the type table (type id by
 *     type address: an open-addressing table of id + 1, 0 when empty,
 *     behind a two-entry cache);
 *   - phase 0 (no GIL): the output arrays allocated and pre-faulted;
 *   - phase 1 (GIL held): the one walk of the GC lists, stashing each
 *     tracked object's node id in its GC header, and its undo;
 *   - phase 5 (no GIL): the arrays trimmed and handed to the graph;
 *   - what the walk learns once from the interpreter (hg_capture_init).
 *
 * The serial walk (walk_serial.c), the parallel walk (walk_parallel.c)
 * and the renumbering (renumber.c) call into this file; it calls none of
 * them, nor capture.c.  Scale: the arrays hold 1M-50M nodes; the list
 * walk is a dependent pointer chase, one object per memory latency.
 */
#include "walk.h"

#include <stdlib.h> /* qsort */
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h> /* mincore */
#endif

#define HG__GOLDEN 0x9E3779B97F4A7C15ull

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

/* ---- walk state (walk.h) ------------------------------------------------- */

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

/* See walk.h. */
void hg__walk_free(walk *w) {
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
    hg__imm_free(&w->imm);
    memset(w, 0, sizeof(*w));
}

/* ---- type table ---------------------------------------------------------- */

/* Index tp as type id tid (stored tid + 1; the index has a free slot). */
static void type_index_insert(uint32_t *ix, size_t mask, PyTypeObject *tp,
                              uint32_t tid) {
    size_t h = hash_addr((uint64_t)(uintptr_t)tp, mask);
    while (ix[h] != 0) {
        h = (h + 1) & mask;
    }
    ix[h] = tid + 1;
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

/* ---- phase 0: the arrays, pre-faulted ------------------------------------ */

/* Have the kernel map (and clear) every page now, while other threads may
 * run Python, rather than one fault at a time during the walk (ANCHORS.md:
 * first touch runs at 0.27 GB/s here, which made the first capture's pause
 * 3x a warm one): fresh ranges are populated by the kernel
 * (hg_populate; about 5x faster than a store per page, alloc.c) a chunk
 * per call, the chunks split over the OpenMP threads (faults on different
 * pages proceed in parallel), or where the kernel cannot, stored to one
 * byte per page, split over the threads the same way.  A block the
 * allocator shim reuses from an earlier capture is mapped already: one
 * cheap store per missing page, done serially -- waking a second thread
 * cost up to 13 ms when other processes kept the other core busy. */
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

/* Fresh memory is populated in chunks of this many bytes, over the
 * threads: the kernel clears pages at about 3 GB/s per core. */
#define HG__POPULATE_CHUNK ((size_t)4 << 20)

void hg__prefault(const hg__range *r, int n) {
    hg__range fresh[HG__N_RANGES];
    size_t first[HG__N_RANGES + 1];
    int failed[HG__N_RANGES] = {0};
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
    /* fresh ranges: populated by the kernel, a chunk per call, the chunks
     * over the threads (faults on different pages proceed in parallel) */
    first[0] = 0;
    for (int i = 0; i < n_fresh; i++) {
        first[i + 1] = first[i] + (fresh[i].nbytes + HG__POPULATE_CHUNK - 1) /
                                      HG__POPULATE_CHUNK;
    }
    total = (long)first[n_fresh];
#pragma omp parallel for schedule(dynamic, 1) if (total >= 4)                  \
    num_threads(hg_num_threads())
    for (long c = 0; c < total; c++) {
        int i = 0;
        size_t off, len;
        while ((size_t)c >= first[i + 1]) {
            i++;
        }
        off = ((size_t)c - first[i]) * HG__POPULATE_CHUNK;
        len = fresh[i].nbytes - off < HG__POPULATE_CHUNK ? fresh[i].nbytes - off
                                                         : HG__POPULATE_CHUNK;
        if (hg_populate((char *)fresh[i].p + off, len) != 0) {
#pragma omp atomic write
            failed[i] = 1;
        }
    }
    /* where the kernel cannot (before Linux 5.14): a store per page */
    first[0] = 0;
    for (int i = 0; i < n_fresh; i++) {
        size_t pages = (fresh[i].nbytes + HG__PAGE - 1) / HG__PAGE;
        first[i + 1] = first[i] + (failed[i] ? pages : 0);
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

/* See walk.h. */
hg_status hg__walk_alloc(walk *w) {
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
        w->targets == NULL || w->tindex == NULL ||
        hg__imm_alloc(&w->imm, w->est_immortal) != HG_OK) {
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
            /* the immortal table: met in the pause otherwise, a fault per
             * page its claims land on */
            {w->imm.keys, w->imm.keys ? (w->imm.mask + 1) * 8 : 0},
            {w->imm.marks, w->imm.marks ? (w->imm.mask + 1) * 8 : 0},
        };
        hg__prefault(r, HG__N_RANGES);
    }
    return HG_OK;
}

/* ---- phase 1: the list walk, and its undo -------------------------------- */

/* The chase's node arrays, in locals: the flags store (a byte) may alias
 * anything, so fields read through w would be read again for every
 * object.  Reloaded when the arrays grow. */
typedef struct chase_arrays {
    uint64_t *addr;
    uint32_t *type, *refcnt;
    uint8_t *flags;
    size_t cap; /* w->cap_n, at most HG_MAX_NODES */
} chase_arrays;

static void chase_load(const walk *w, chase_arrays *a) {
    a->addr = w->addr;
    a->type = w->type;
    a->refcnt = w->refcnt;
    a->flags = w->flags;
    a->cap = w->cap_n < HG_MAX_NODES ? w->cap_n : HG_MAX_NODES;
}

/* Node entry k (all but the size) of tracked object op, its header g
 * stashed with v; fl: its list's flags.  -1 on allocation failure. */
static inline int chase_record(walk *w, const chase_arrays *a, size_t k,
                               hg__gc_link *g, uint64_t v, uint8_t fl) {
    PyObject *op = hg__gc_object(g); /* borrowed */
    int64_t tid = hg__walk_type_id(w, Py_TYPE(op));
    Py_ssize_t rc;
    if (tid < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    hg__gc_stash(g, v);
    a->addr[k] = (uint64_t)(uintptr_t)op;
    a->type[k] = (uint32_t)tid;
    rc = hg__word_load(hg__refcnt_word(op));
    a->refcnt[k] = hg__sat_refcnt(rc);
    a->flags[k] = fl | w->types[tid].node_flags;
    if ((fl & HG_NODE_FROZEN) && hg__immortal_count(rc)) {
        /* the interpreter's own: 3.12 freezes the immortal __mro__ and
         * __bases__ of its static types at startup; out of every view, as
         * gc.get_objects() leaves them out */
        a->flags[k] |= HG_NODE_EXCLUDED;
    }
    if (Py_TYPE(op) == &PyDict_Type && hg__dict_kept_elsewhere(op)) {
        a->flags[k] |= HG_NODE_DICT_KEPT; /* untrack.c */
    }
    if (w->pin) {
        Py_INCREF(op); /* cannot run code: only a count goes up */
    }
    return 0;
}

/* Room for `need` entries below the nb met from the back, which sit at
 * the top of the arrays (a->cap - nb .. a->cap - 1) and move up with it.
 * -1 (w->status set) if the arrays cannot grow. */
/* Entries [from, from + n) of the chase's four arrays moved to [to, to + n)
 * (the ranges may overlap). */
static void chase_move(const chase_arrays *a, size_t to, size_t from,
                       size_t n) {
    memmove(a->addr + to, a->addr + from, n * sizeof(*a->addr));
    memmove(a->type + to, a->type + from, n * sizeof(*a->type));
    memmove(a->refcnt + to, a->refcnt + from, n * sizeof(*a->refcnt));
    memmove(a->flags + to, a->flags + from, n * sizeof(*a->flags));
}

static int chase_room(walk *w, chase_arrays *a, size_t need, size_t nb) {
    size_t old = a->cap;
    if (need >= HG_MAX_NODES) {
        w->status = HG__WALK_ERANGE;
        return -1;
    }
    if (hg__walk_reserve(w, need) < 0) {
        /* some arrays may have moved, their entries at the same places */
        chase_load(w, a);
        a->cap = old;
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    chase_load(w, a);
    chase_move(a, a->cap - nb, old - nb, nb);
    return 0;
}

/* The objects met from the back (nb of them, at the top of the arrays,
 * last object of the list first) moved to their ids: k0 .. k0 + nb - 1.
 * The top holds them in id order already: the j-th from the list's end is
 * at cap - 1 - j and gets id k0 + nb - 1 - j. */
static void chase_place(const chase_arrays *a, size_t k0, size_t nb) {
    chase_move(a, k0, a->cap - nb, nb);
}

/* A chase that failed with nb objects met from the back not yet placed:
 * their pins are dropped (each object held another reference before:
 * nothing is freed, no code runs). */
static void chase_unpin_top(walk *w, const chase_arrays *a, size_t nb) {
    for (size_t j = 0; w->pin && j < nb; j++) {
        Py_DECREF((PyObject *)(uintptr_t)a->addr[a->cap - 1 - j]);
    }
}

/* Phase 1: the one walk of the GC lists.  Each tracked object gets the
 * next id, stashed in its header, and its node entry except the size.
 * Following the list links is a chain of dependent loads (memory latency per
 * object), so this is the only time the lists are followed: everything
 * after works from addr[], whose loads are independent and prefetched.
 * Each list is followed from both ends at once, which makes two chains
 * (walk.h: the stash's encoding); those met from the back are recorded at
 * the top of the arrays, then moved below those met from the front.  The
 * header, refcount and type pointer read here share the cache line the
 * chase brings in anyway. */
int hg__walk_chase(walk *w, hg__gcstate *gc) {
    size_t id = 0;
    chase_arrays a;

    chase_load(w, &a);
    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        hg__gc_link *head = hg__gc_list(gc, i);
        hg__gc_link *f = hg__gc_next(head), *b = hg__gc_prev(head);
        uint8_t fl =
            (uint8_t)(HG_NODE_TRACKED | HG_NODE_GC | (i << HG_NODE_GEN_SHIFT) |
                      (i == HG__GC_LIST_FROZEN ? HG_NODE_FROZEN : 0));
        size_t nb = 0; /* met from the back: at the top of the arrays */
        w->list_start[i] = id;
        /* invariant: the objects not met yet are f .. b, in list order */
        while (f != head) {
            hg__gc_link *nf = hg__gc_next(f), *pb;
            if (id + nb + 2 > a.cap && chase_room(w, &a, id + nb + 2, nb) < 0) {
                chase_unpin_top(w, &a, nb);
                return -1;
            }
            if (chase_record(w, &a, id, f, id, fl) < 0) {
                chase_unpin_top(w, &a, nb);
                return -1;
            }
            id++;
            if (w->pin) {
                w->n_pinned = id;
            }
            if (f == b) {
                break;
            }
            pb = hg__gc_prev(b); /* before b's header holds the stash */
            if (chase_record(w, &a, a.cap - 1 - nb, b, hg__stash_back(i, nb),
                             fl) < 0) {
                chase_unpin_top(w, &a, nb);
                return -1;
            }
            nb++;
            if (nf == b) {
                break;
            }
            f = nf;
            b = pb;
        }
        chase_place(&a, id, nb);
        id += nb;
        if (w->pin) {
            w->n_pinned = id;
        }
    }
    w->list_start[HG__N_GC_LISTS] = id;
    w->listed = 1;
    w->n_tracked = (hg_node)id;
    w->n_nodes = id;
    return 0;
}

/* See walk.h. */
void hg__walk_unstash(walk *w, hg__gcstate *gc) {
    if (w->listed) {
        hg__gc_restore_listed(gc, w->addr, w->list_start);
    } else {
        hg__gc_restore(gc);
    }
}

/* ---- phase 5: the arrays handed to the graph ----------------------------- */

/* Size overflow entries by node. */
static int cmp_over(const void *pa, const void *pb) {
    const hg_size_overflow *a = pa, *b = pb;
    return (a->node > b->node) - (a->node < b->node);
}

/* Phase 5 (GIL released): hand the node table, the size overflow table and
 * the CSR over to g (no copies: the arrays are trimmed to their exact size
 * and adopted). */
hg_status hg__walk_assemble(walk *w, hg_graph *g) {
    size_t n = w->n_nodes;
    void **arr[HG__NODE_ARRAYS];
    hg_status st;

    /* (HG_NODE_HAS_DEL came with each node's entry: hg__walk_type_id) */
    node_arrays(w, arr);
    /* the core frees with the exact size (sized deallocation) */
    for (int i = 0; i < HG__NODE_ARRAYS; i++) {
        if (hg__resize_exact(arr[i], node_elem[i], w->cap_each[i], n) < 0) {
            return HG_ENOMEM; /* the failed realloc left the block as is */
        }
        w->cap_each[i] = n;
    }
    /* all five now hold exactly n entries */
    if (hg__resize_exact((void **)&w->sover, sizeof(hg_size_overflow),
                         w->cap_sover, w->n_sover) < 0) {
        return HG_ENOMEM;
    }
    w->cap_sover = w->n_sover;
    qsort(w->sover, w->n_sover, sizeof(hg_size_overflow), cmp_over);
    if (hg__resize_exact((void **)&w->offsets, sizeof(hg_edge), w->n_offsets,
                         n + 1) < 0) {
        return HG_ENOMEM;
    }
    w->n_offsets = n + 1;
    if (hg__resize_exact((void **)&w->targets, sizeof(hg_node), w->cap_edges,
                         w->n_edges) < 0) {
        return HG_ENOMEM;
    }
    w->cap_edges = w->n_edges;
    /* written by the walks or renumber.c just now: adopted unchecked */
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

/* ---- the interpreter's own functions ------------------------------------- */

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
