/*
 * find_edges.c -- the first reference between each given pair of nodes
 * (hg_csr_find_edges): how a snapshot file names the references it labels
 * (an index into the forward CSR), found from the pairs a caller knows.
 *
 * Algorithm: for each pair (u, w), a scan of u's row for w; the pairs are
 * independent and split into contiguous ranges over the threads.  The
 * rows of a heap graph are short (a few entries; a big dict or list a few
 * thousand), so a scan beats any index that would have to be built.
 *
 * Encodings: out[i] == UINT64_MAX when u has no reference to w.
 *
 * Scale: the pairs of a leak report's paths: tens to thousands; the
 * parallel loop pays only above HG__MIN_PAR_WORK pairs.
 */
#include "hg_internal.h"

hg_status hg_csr_find_edges(const hg_csr *g, const hg_node *src,
                            const hg_node *dst, size_t n, uint64_t *out) {
    int n_chunks;

    if (!hg__csr_readable(g) ||
        (n > 0 && (src == NULL || dst == NULL || out == NULL))) {
        return HG_EINVAL;
    }
    if (hg__bad_ids(src, n, g->n_nodes) || hg__bad_ids(dst, n, g->n_nodes)) {
        return HG_EINVAL;
    }
    n_chunks = hg__n_chunks(n);
#pragma omp parallel for schedule(static, 1) if (n_chunks > 1)                 \
    num_threads(hg_num_threads())
    for (int k = 0; k < n_chunks; k++) {
        size_t lo = (size_t)hg__chunk_begin(n, k, n_chunks);
        size_t hi = (size_t)hg__chunk_begin(n, k + 1, n_chunks);
        for (size_t i = lo; i < hi; i++) {
            hg_edge e = g->offsets[src[i]], end = g->offsets[src[i] + 1];
            while (e < end && g->targets[e] != dst[i]) {
                e++;
            }
            out[i] = e < end ? e : UINT64_MAX;
        }
    }
    return HG_OK;
}
