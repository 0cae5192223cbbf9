/*
 * roots.c -- the roots of a heap: the nodes referenced from outside the
 * captured graph, where every retention path, dominator tree and
 * reachability question starts.
 *
 * A node is a root when its reference count exceeds its in-degree: some
 * reference to it is not an edge of the graph (a C static, a thread's
 * frame, the interpreter's own tables).  It is CPython's own test for
 * "externally reachable" (update_refs and subtract_refs in gc.c).  refcnt
 * saturates at UINT32_MAX, which only makes a node more of a root.
 *
 * Algorithm: two passes over contiguous chunks of nodes, in parallel:
 * count each chunk's roots, then, after a prefix sum of the counts, write
 * each chunk's roots from its offset.  Ids come out ascending for any
 * thread count.
 *
 * Memory: the output (4 bytes per root); the chunk counts live on the
 * stack.  Scale: 1M-50M nodes, roots a few percent of them.
 */
#include "hg_internal.h"

static inline int is_root(const hg_graph *g, const uint32_t *in_degree,
                          hg_node v) {
    return g->refcnt[v] > in_degree[v];
}

hg_status hg_graph_find_roots(const hg_graph *g, const uint32_t *in_degree,
                              hg_node **roots, size_t *n_roots) {
    size_t count[HG__MAX_CHUNKS + 1] = {0};
    hg_node *out;
    hg_node n;
    int n_chunks;

    if (g == NULL || roots == NULL || n_roots == NULL ||
        (g->n_nodes > 0 && (in_degree == NULL || g->refcnt == NULL))) {
        return HG_EINVAL;
    }
    n = g->n_nodes;
    n_chunks = hg__n_chunks(n);

    /* ---- count each chunk's roots ---- */
#pragma omp parallel for schedule(static) if (n_chunks > 1)                    \
    num_threads(hg_num_threads())
    for (int c = 0; c < n_chunks; c++) {
        hg_node lo = (hg_node)hg__chunk_begin(n, c, n_chunks);
        hg_node hi = (hg_node)hg__chunk_begin(n, c + 1, n_chunks);
        size_t k = 0;
        for (hg_node v = lo; v < hi; v++) {
            k += is_root(g, in_degree, v);
        }
        count[c + 1] = k;
    }
    for (int c = 0; c < n_chunks; c++) {
        count[c + 1] += count[c];
    }
    out = hg_alloc((count[n_chunks] + 1) * sizeof(hg_node));
    if (out == NULL) {
        return HG_ENOMEM;
    }

    /* ---- write them from each chunk's offset ---- */
#pragma omp parallel for schedule(static) if (n_chunks > 1)                    \
    num_threads(hg_num_threads())
    for (int c = 0; c < n_chunks; c++) {
        hg_node lo = (hg_node)hg__chunk_begin(n, c, n_chunks);
        hg_node hi = (hg_node)hg__chunk_begin(n, c + 1, n_chunks);
        size_t k = count[c];
        for (hg_node v = lo; v < hi; v++) {
            if (is_root(g, in_degree, v)) {
                out[k++] = v;
            }
        }
    }
    *roots = out;
    *n_roots = count[n_chunks];
    return HG_OK;
}
