/*
 * transpose.c -- the reverse graph (referrers) by a parallel counting sort.
 *
 * Output: for every node v, the sources of its in-edges in ascending order,
 * one entry per forward edge (multi-edges and self-loops kept).  This output
 * is unique, so any correct schedule gives the same bytes.
 *
 * Algorithm.  An atomic-increment scatter is latency bound and got slower on
 * two threads (ANCHORS.md), so there are no atomics:
 *   1. the nodes are cut into K contiguous source ranges of about m/K edges;
 *      chunk k counts its edges per target into its own uint32 array;
 *   2. a column scan (hg__chunk_columns) turns the K x n counts into the
 *      output offsets (via the shared parallel prefix sum) and, per chunk,
 *      the position of its first entry inside each target's row;
 *   3. chunk k walks its sources in ascending order and writes each source
 *      at its own precomputed cursor.  Rows fill chunk 0 first, so sources
 *      come out ascending.
 * With one chunk (one thread, small graphs, or more than UINT32_MAX edges,
 * where uint32 cursors could overflow) it is the textbook serial counting
 * sort, using the output offsets themselves as cursors and no extra memory.
 *
 * Memory: output (n+1)*8 + m*4 bytes, plus K*n*4 bytes of cursors while it
 * runs when K > 1.  Reads targets twice, writes the output once.
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

static void transpose_chunked(const hg_csr *in, int n_chunks, uint32_t *cur,
                              hg_edge *off, hg_node *tgt) {
    size_t n = in->n_nodes;
    int k;

#pragma omp parallel for schedule(static, 1)
    for (k = 0; k < n_chunks; k++) {
        uint32_t *cnt = cur + (size_t)k * n;
        hg_edge lo = in->offsets[hg__csr_split(in, k, n_chunks)];
        hg_edge hi = in->offsets[hg__csr_split(in, k + 1, n_chunks)];
        for (hg_edge e = lo; e < hi; e++) {
            cnt[in->targets[e]]++;
        }
    }

    hg__chunk_columns(cur, n_chunks, n, off);

#pragma omp parallel for schedule(static, 1)
    for (k = 0; k < n_chunks; k++) {
        uint32_t *c = cur + (size_t)k * n;
        hg_node u_hi = hg__csr_split(in, k + 1, n_chunks);
        for (hg_node u = hg__csr_split(in, k, n_chunks); u < u_hi; u++) {
            for (hg_edge e = in->offsets[u]; e < in->offsets[u + 1]; e++) {
                hg_node v = in->targets[e];
                tgt[off[v] + c[v]++] = u;
            }
        }
    }
}

hg_status hg_csr_transpose(const hg_csr *in, hg_csr *out) {
    hg_status st = HG_OK;
    hg_edge *off = NULL;
    hg_node *tgt = NULL;
    uint32_t *cur = NULL; /* K * n per-chunk cursors when K > 1 */
    size_t n, m;
    int n_chunks;

    if (!hg__csr_readable(in) || out == NULL || out == in ||
        out->offsets != NULL || out->targets != NULL) {
        return HG_EINVAL;
    }
    n = in->n_nodes;
    m = in->n_edges;
    n_chunks = m > UINT32_MAX ? 1 : hg__n_chunks(m);

    off = hg_alloc((n + 1) * sizeof(hg_edge));
    tgt = hg_alloc(m * sizeof(hg_node));
    if (off == NULL || (tgt == NULL && m > 0)) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    if (n_chunks > 1) {
        cur = hg_calloc((size_t)n_chunks * n * sizeof(uint32_t));
        if (cur == NULL) {
            st = HG_ENOMEM;
            goto cleanup;
        }
        transpose_chunked(in, n_chunks, cur, off, tgt);
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
    hg_free(cur, (size_t)n_chunks * n * sizeof(uint32_t));
    hg_free(off, (n + 1) * sizeof(hg_edge));
    hg_free(tgt, m * sizeof(hg_node));
    return st;
}
