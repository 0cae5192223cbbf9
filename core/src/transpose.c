/*
 * transpose.c -- the reverse graph (referrers) by a cache-blocked parallel
 * counting sort.
 *
 * Output: for every node v, the sources of its in-edges in ascending order,
 * one entry per forward edge (multi-edges and self-loops kept).  This output
 * is unique, so any correct schedule gives the same bytes.
 *
 * Algorithm.  A scatter straight to each target's row is one random write
 * per edge, latency bound (an atomic scatter even got slower on two threads,
 * ANCHORS.md).  Instead, propagation blocking (Beamer, Asanovic, Patterson,
 * IPDPS 2017) with no atomics:
 *   1. bin_plan: the sources are cut into K contiguous chunks of about m/K
 *      edges (hg__csr_split); chunk k counts its edges per bin of HG__BIN
 *      consecutive targets, in a row of counters of its own (no cache line
 *      shared between threads); the shared parallel prefix sum over the
 *      counts in (bin, chunk) order gives every chunk its own stretch of
 *      every bin, whose start becomes the chunk's cursor;
 *   2. bin_scatter: chunk k appends its edges, sources ascending, to its
 *      stretches: K * n_bins sequential write streams instead of m random
 *      writes.  Bin b's block is exactly the output block of its targets'
 *      rows, so sources go straight into the output array, and the target's
 *      offset inside the bin into a uint16 side array;
 *   3. bin_sort: per bin (dynamic schedule), a stable counting sort by
 *      target inside the block, whose rows and counters stay in cache.
 *      Stable + chunks in source order = sources ascending per row.
 * Graphs of at most HG__BIN nodes (already cache resident) and graphs of
 * more than UINT32_MAX edges (uint32 in-bin counters) take the textbook
 * serial counting sort, which uses the output offsets as cursors.
 *
 * Memory: the output, (n+1)*8 + m*4 bytes; while it runs, m*2 bytes of
 * in-bin offsets, one bin's sources per thread (the largest bin; hubs make
 * it bigger, and the sort then uses fewer threads so these copies stay
 * within m*4 bytes) and 256 KiB of counters per thread.  Measured on the 2-core
 * target, 10M nodes / 23M edges: serial counting sort 0.53 s, this 0.25 s
 * on one thread and 0.15 s on two.
 */
#include "hg_internal.h"

static void transpose_serial(const hg_csr *in, hg_edge *off, hg_node *tgt) {
    hg_node n = in->n_nodes;

    memset(off, 0, ((size_t)n + 1) * sizeof(hg_edge));
    for (hg_edge e = 0; e < in->n_edges; e++) {
        off[in->targets[e]]++;
    }
    hg__prefix_sum(off, (size_t)n + 1);
    /* off[v] is the start of row v; use it as v's cursor */
    for (hg_node u = 0; u < n; u++) {
        for (hg_edge e = in->offsets[u]; e < in->offsets[u + 1]; e++) {
            tgt[off[in->targets[e]]++] = u;
        }
    }
    /* now off[v] is the end of row v, i.e. the start of row v + 1 */
    memmove(off + 1, off, (size_t)n * sizeof(hg_edge));
    off[0] = 0;
}

/* Scratch of the blocked transpose, all allocated before any parallel
 * region. */
typedef struct blocked_scratch {
    hg_edge *pos;     /* n_bins * K: bin-major counts, then positions */
    hg_edge *cur;     /* K * stride: each chunk's own cursors, chunk-major */
    size_t stride;    /* n_bins rounded up to a cache line of cursors */
    hg_edge *bounds;  /* n_bins + 1: where each bin's block starts */
    uint16_t *low;    /* m: target - bin base, per binned edge */
    hg_node *sources; /* n_threads * max_bin: one bin's sources */
    uint32_t *row;    /* n_threads * (HG__BIN + 1): in-bin row starts */
    size_t n_bins, max_bin, n_edges;
    int n_chunks, n_threads;
} blocked_scratch;

#define HG__BIN_BITS 16
#define HG__BIN ((size_t)1 << HG__BIN_BITS) /* targets per bin */

/* Phase 1: per (bin, chunk) edge counts, their prefix sum, bin bounds.
 * Each chunk counts into its own row of cur (rows a cache line apart):
 * counting straight into the bin-major pos array put two threads'
 * counters for a bin on one cache line, and every increment bounced it
 * between the cores -- two threads ran 3x slower than one. */
static void bin_plan(const hg_csr *in, blocked_scratch *s) {
    size_t n_bins = s->n_bins, stride = s->stride;
    int n_chunks = s->n_chunks;
    int k;

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        hg_edge *cur = s->cur + (size_t)k * stride;
        hg_edge lo = in->offsets[hg__csr_split(in, k, n_chunks)];
        hg_edge hi = in->offsets[hg__csr_split(in, k + 1, n_chunks)];
        for (hg_edge e = lo; e < hi; e++) {
            cur[in->targets[e] >> HG__BIN_BITS]++;
        }
    }
    for (size_t b = 0; b < n_bins; b++) {
        for (k = 0; k < n_chunks; k++) {
            s->pos[b * n_chunks + k] = s->cur[(size_t)k * stride + b];
        }
    }
    hg__prefix_sum(s->pos, n_bins * n_chunks);
    /* the positions back into each chunk's row: its write cursors */
    for (size_t b = 0; b < n_bins; b++) {
        for (k = 0; k < n_chunks; k++) {
            s->cur[(size_t)k * stride + b] = s->pos[b * n_chunks + k];
        }
    }
    s->max_bin = 0;
    for (size_t b = 0; b < n_bins; b++) {
        s->bounds[b] = s->pos[b * n_chunks];
    }
    s->bounds[n_bins] = in->n_edges;
    for (size_t b = 0; b < n_bins; b++) {
        hg_edge size = s->bounds[b + 1] - s->bounds[b];
        s->max_bin = size > s->max_bin ? size : s->max_bin;
    }
}

/* Phase 2: chunk k appends its edges, sources ascending, to its own stretch
 * of each bin: the source into tgt (the bin's block of the output), the
 * target's offset in the bin into low. */
static void bin_scatter(const hg_csr *in, blocked_scratch *s, hg_node *tgt) {
    int n_chunks = s->n_chunks;
    int k;

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        hg_edge *cur = s->cur + (size_t)k * s->stride;
        hg_node u_hi = hg__csr_split(in, k + 1, n_chunks);
        for (hg_node u = hg__csr_split(in, k, n_chunks); u < u_hi; u++) {
            for (hg_edge e = in->offsets[u]; e < in->offsets[u + 1]; e++) {
                hg_node v = in->targets[e];
                hg_edge p = cur[v >> HG__BIN_BITS]++;
                tgt[p] = u;
                s->low[p] = (uint16_t)(v & (HG__BIN - 1));
            }
        }
    }
}

/* Phase 3: inside one bin, a stable counting sort by target; its rows and
 * offsets stay in cache. */
static void bin_sort(const blocked_scratch *s, size_t b, hg_node n,
                     hg_edge *off, hg_node *tgt, hg_node *sources,
                     uint32_t *row) {
    hg_edge lo = s->bounds[b], hi = s->bounds[b + 1];
    size_t base = b << HG__BIN_BITS;
    size_t width = n - base < HG__BIN ? n - base : HG__BIN;

    memset(row, 0, (width + 1) * sizeof(uint32_t));
    for (hg_edge p = lo; p < hi; p++) {
        row[s->low[p] + 1]++;
    }
    for (size_t i = 0; i < width; i++) {
        off[base + i] = lo + row[i];
        row[i + 1] += row[i];
    }
    memcpy(sources, tgt + lo, (size_t)(hi - lo) * sizeof(hg_node));
    for (hg_edge p = lo; p < hi; p++) {
        tgt[lo + row[s->low[p]]++] = sources[p - lo];
    }
}

static void transpose_blocked(const hg_csr *in, blocked_scratch *s,
                              hg_edge *off, hg_node *tgt) {
    uint64_t next = 0; /* the next bin to sort, taken atomically */

    bin_scatter(in, s, tgt);
    /* The whole team, as every region (threads.c: a smaller one would end
     * threads of the pool), but only the first n_threads have scratch: the
     * others take no bin.  One bin at a time, as schedule(dynamic, 1). */
#pragma omp parallel num_threads(hg_num_threads())
    {
        int tid = 0;
        uint64_t b;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        while (tid < s->n_threads &&
               (b = hg__atomic_fetch_add_u64(&next, 1)) < s->n_bins) {
            bin_sort(s, (size_t)b, in->n_nodes, off, tgt,
                     s->sources + (size_t)tid * s->max_bin,
                     s->row + (size_t)tid * (HG__BIN + 1));
        }
    }
    off[in->n_nodes] = in->n_edges;
}

static void scratch_free(blocked_scratch *s) {
    hg_free(s->pos, s->n_bins * s->n_chunks * sizeof(hg_edge));
    hg_free(s->cur, s->stride * s->n_chunks * sizeof(hg_edge));
    hg_free(s->bounds, (s->n_bins + 1) * sizeof(hg_edge));
    hg_free(s->low, (size_t)s->n_edges * sizeof(uint16_t));
    hg_free(s->sources, (size_t)s->n_threads * s->max_bin * sizeof(hg_node));
    hg_free(s->row, (size_t)s->n_threads * (HG__BIN + 1) * sizeof(uint32_t));
}

/* Allocate the scratch and run phase 1; HG_ENOMEM leaves nothing behind. */
static hg_status scratch_init(const hg_csr *in, blocked_scratch *s) {
    int n_threads = hg_num_threads();
    uint64_t fit;

    memset(s, 0, sizeof(*s));
    s->n_bins = ((size_t)in->n_nodes + HG__BIN - 1) >> HG__BIN_BITS;
    s->n_chunks = hg__n_chunks(in->n_edges);
    s->n_edges = in->n_edges;
    s->stride = (s->n_bins + 7) & ~(size_t)7; /* 8 cursors: 64 bytes */
    s->pos = hg_alloc(s->n_bins * s->n_chunks * sizeof(hg_edge));
    s->cur = hg_calloc(s->stride * s->n_chunks * sizeof(hg_edge));
    s->bounds = hg_alloc((s->n_bins + 1) * sizeof(hg_edge));
    s->low = hg_alloc((size_t)in->n_edges * sizeof(uint16_t));
    if (s->pos == NULL || s->cur == NULL || s->bounds == NULL ||
        s->low == NULL) {
        scratch_free(s);
        return HG_ENOMEM;
    }
    bin_plan(in, s);
    /* per-thread copies of the largest bin stay within one edge array */
    fit = s->n_edges / s->max_bin;
    s->n_threads = n_threads < HG__MAX_CHUNKS ? n_threads : HG__MAX_CHUNKS;
    if ((uint64_t)s->n_threads > fit) {
        s->n_threads = fit > 0 ? (int)fit : 1;
    }
    s->row = hg_alloc((size_t)s->n_threads * (HG__BIN + 1) * sizeof(uint32_t));
    s->sources = hg_alloc((size_t)s->n_threads * s->max_bin * sizeof(hg_node));
    if (s->row == NULL || s->sources == NULL) {
        scratch_free(s);
        return HG_ENOMEM;
    }
    return HG_OK;
}

hg_status hg_csr_transpose(const hg_csr *in, hg_csr *out) {
    hg_status st = HG_OK;
    blocked_scratch scratch;
    hg_edge *off = NULL;
    hg_node *tgt = NULL;
    size_t n, m;
    int blocked;

    if (!hg__csr_readable(in) || out == NULL || out == in ||
        out->offsets != NULL || out->targets != NULL) {
        return HG_EINVAL;
    }
    n = in->n_nodes;
    m = in->n_edges;
    /* small graphs fit in cache as they are; uint32 in-bin rows need
     * m <= UINT32_MAX */
    blocked = n > HG__BIN && m > 0 && m <= UINT32_MAX;

    off = hg_alloc((n + 1) * sizeof(hg_edge));
    tgt = hg_alloc(m * sizeof(hg_node));
    if (off == NULL || tgt == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    if (blocked) {
        st = scratch_init(in, &scratch);
        if (st != HG_OK) {
            goto cleanup;
        }
        transpose_blocked(in, &scratch, off, tgt);
        scratch_free(&scratch);
    } else {
        transpose_serial(in, off, tgt);
    }

    out->n_nodes = in->n_nodes;
    out->n_edges = in->n_edges;
    out->offsets = off;
    out->targets = tgt;
    off = NULL;
    tgt = NULL;

cleanup:
    hg_free(off, (n + 1) * sizeof(hg_edge));
    hg_free(tgt, m * sizeof(hg_node));
    return st;
}
