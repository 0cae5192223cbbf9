/*
 * csr.c -- compressed sparse rows: adoption with invariant checks, freeing,
 * size, and the in-degree kernel.
 *
 * Encodings: offsets[v] .. offsets[v+1] are the edge indices of node v,
 * targets[e] the node an edge points to.  Arrays come from the allocator
 * shim and are freed with their exact sizes ((n+1) * 8 and m * 4 bytes).
 *
 * In-degree: the nodes are split into K contiguous ranges of about m/K edges
 * (hg__csr_split); chunk 0 counts into the output, chunks 1..K-1 into
 * private uint32 arrays, and a parallel pass over nodes adds them up.  No
 * atomics (a node with a million referrers would serialise them), the same
 * integers for any K.  Scale: one read of targets, (K-1)*n*4 bytes of
 * counts, K <= 1 + m/n so they never outgrow the targets array.  An in-degree
 * above UINT32_MAX (more than 2^32 edges into one node) wraps: the output type
 * is uint32.
 */
#include "hg_internal.h"

hg_node hg__csr_split(const hg_csr *g, int k, int n_chunks) {
    hg_edge want;
    hg_node lo = 0, hi = g->n_nodes;

    if (k <= 0) {
        return 0;
    }
    if (k >= n_chunks) {
        return g->n_nodes;
    }
    want = hg__chunk_begin(g->n_edges, k, n_chunks);
    /* smallest v in [0, n] with offsets[v] >= want */
    while (lo < hi) {
        hg_node mid = lo + (hi - lo) / 2;
        if (g->offsets[mid] < want) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Nonzero if the arrays break the invariants in heapgraph.h. */
static int csr_invalid(hg_node n, hg_edge m, const hg_edge *off,
                       const hg_node *tgt) {
    int bad = 0;
    int64_t v;
    int64_t e;

    if (off[0] != 0 || off[n] != m) {
        return 1;
    }
    /* (clang-format 14 would split "reduction(| : bad)") */
    /* clang-format off */
#pragma omp parallel for schedule(static) reduction(| : bad)                   \
    num_threads(hg_num_threads())
    /* clang-format on */
    for (v = 0; v < (int64_t)n; v++) {
        bad |= off[v] > off[v + 1];
    }
    /* (clang-format 14 would split "reduction(| : bad)") */
    /* clang-format off */
#pragma omp parallel for schedule(static) reduction(| : bad)                   \
    num_threads(hg_num_threads())
    /* clang-format on */
    for (e = 0; e < (int64_t)m; e++) {
        bad |= tgt[e] >= n;
    }
    return bad;
}

/* hg_csr_adopt and hg_csr_adopt_unchecked: arguments first, then (when
 * check is set) the invariants, then ownership. */
static hg_status adopt(hg_csr *csr, hg_node n_nodes, hg_edge n_edges,
                       hg_edge **offsets, hg_node **targets, int check) {
    if (csr == NULL || offsets == NULL || targets == NULL || *offsets == NULL ||
        (*targets == NULL && n_edges > 0)) {
        return HG_EINVAL;
    }
    if ((uint64_t)n_nodes > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    if (check && csr_invalid(n_nodes, n_edges, *offsets, *targets)) {
        return HG_EINVAL;
    }
    csr->n_nodes = n_nodes;
    csr->n_edges = n_edges;
    csr->offsets = *offsets;
    csr->targets = *targets;
    *offsets = NULL;
    *targets = NULL;
    return HG_OK;
}

hg_status hg_csr_adopt(hg_csr *csr, hg_node n_nodes, hg_edge n_edges,
                       hg_edge **offsets, hg_node **targets) {
    return adopt(csr, n_nodes, n_edges, offsets, targets, 1);
}

hg_status hg_csr_adopt_unchecked(hg_csr *csr, hg_node n_nodes, hg_edge n_edges,
                                 hg_edge **offsets, hg_node **targets) {
    return adopt(csr, n_nodes, n_edges, offsets, targets, 0);
}

void hg_csr_destroy(hg_csr *csr) {
    if (csr == NULL) {
        return;
    }
    if (csr->offsets != NULL) {
        hg_free(csr->offsets, ((size_t)csr->n_nodes + 1) * sizeof(hg_edge));
    }
    hg_free(csr->targets, (size_t)csr->n_edges * sizeof(hg_node));
    memset(csr, 0, sizeof(*csr));
}

uint64_t hg_csr_nbytes(const hg_csr *csr) {
    if (csr == NULL || csr->offsets == NULL) {
        return 0;
    }
    return ((uint64_t)csr->n_nodes + 1) * sizeof(hg_edge) +
           csr->n_edges * sizeof(hg_node);
}

/* Count in-edges of the sources [lo, hi) into cnt. */
static void count_range(const hg_csr *g, const uint8_t *src_mask, hg_node lo,
                        hg_node hi, uint32_t *cnt) {
    for (hg_node u = lo; u < hi; u++) {
        if (src_mask != NULL && !src_mask[u]) {
            continue;
        }
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            cnt[g->targets[e]]++;
        }
    }
}

hg_status hg_csr_in_degree(const hg_csr *csr, const uint8_t *src_mask,
                           uint32_t *in_degree) {
    hg_node n;
    uint32_t *priv = NULL; /* (K-1) * n counts, chunks 1..K-1 */
    int n_chunks;
    int k;
    int64_t v;

    if (!hg__csr_readable(csr) || (in_degree == NULL && csr->n_nodes > 0)) {
        return HG_EINVAL;
    }
    n = csr->n_nodes;
    if (n == 0) {
        return HG_OK;
    }
    n_chunks = hg__n_chunks_counted(csr->n_edges, n);
    if (n_chunks > 1) {
        priv = hg_calloc((size_t)(n_chunks - 1) * n * sizeof(uint32_t));
        if (priv == NULL) {
            return HG_ENOMEM;
        }
    }
    memset(in_degree, 0, (size_t)n * sizeof(uint32_t));
    if (n_chunks == 1) {
        count_range(csr, src_mask, 0, n, in_degree);
        return HG_OK;
    }

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        uint32_t *cnt = k == 0 ? in_degree : priv + (size_t)(k - 1) * n;
        count_range(csr, src_mask, hg__csr_split(csr, k, n_chunks),
                    hg__csr_split(csr, k + 1, n_chunks), cnt);
    }
#pragma omp parallel for schedule(static) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n; v++) {
        uint32_t s = in_degree[v];
        for (int j = 1; j < n_chunks; j++) {
            s += priv[(size_t)(j - 1) * n + (size_t)v];
        }
        in_degree[v] = s;
    }
    hg_free(priv, (size_t)(n_chunks - 1) * n * sizeof(uint32_t));
    return HG_OK;
}
