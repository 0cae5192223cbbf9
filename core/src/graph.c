/*
 * graph.c -- the graph object: node table (structure of arrays) plus the
 * forward CSR and its lazily built reverse; and the packing of node sizes
 * into 4 bytes per node plus an overflow table.
 *
 * Encodings: a CSR with offsets == NULL is "not built" (g->rev until
 * hg_graph_reverse runs; g->fwd until the filler adopts one).  Node arrays
 * hold n_nodes entries each and are left uninitialised for the filler.
 * size[v] == UINT32_MAX means "v's size is in the overflow table": shallow
 * sizes of 4 GiB or more are rare (a huge bytes or array object), so 4
 * bytes per node hold all but a handful, and those few go to a table of
 * (node, size) pairs sorted by node (heapgraph.h, "node sizes").
 * refcnt[v] == UINT32_MAX means "2^32 - 1 or more": reference counts are
 * stored saturated, and hg_graph_count_saturated says how many are.
 * Memory: 21 bytes per node in the table, plus 16 per overflow entry, plus
 * the CSRs.
 */
#include "hg_internal.h"

/* Bytes of the node table per node: addr, type_id, size, refcnt, flags. */
#define HG__NODE_BYTES                                                         \
    (sizeof(uint64_t) + sizeof(uint32_t) + sizeof(uint32_t) +                  \
     sizeof(uint32_t) + sizeof(uint8_t))

hg_status hg_graph_new(hg_node n_nodes, hg_graph **out) {
    hg_graph *g = NULL;
    size_t n = n_nodes;

    if (out == NULL) {
        return HG_EINVAL;
    }
    *out = NULL;
    if ((uint64_t)n_nodes > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    g = hg_calloc(sizeof(*g));
    if (g == NULL) {
        return HG_ENOMEM;
    }
    g->n_nodes = n_nodes;
    if (n > 0) {
        g->addr = hg_alloc(n * sizeof(uint64_t));
        g->type_id = hg_alloc(n * sizeof(uint32_t));
        g->size = hg_alloc(n * sizeof(uint32_t));
        g->refcnt = hg_alloc(n * sizeof(uint32_t));
        g->flags = hg_alloc(n * sizeof(uint8_t));
        if (g->addr == NULL || g->type_id == NULL || g->size == NULL ||
            g->refcnt == NULL || g->flags == NULL) {
            hg_graph_free(g);
            return HG_ENOMEM;
        }
    }
    *out = g;
    return HG_OK;
}

void hg_graph_free(hg_graph *g) {
    size_t n;

    if (g == NULL) {
        return;
    }
    n = g->n_nodes;
    hg_free(g->addr, n * sizeof(uint64_t));
    hg_free(g->type_id, n * sizeof(uint32_t));
    hg_free(g->size, n * sizeof(uint32_t));
    hg_free(g->refcnt, n * sizeof(uint32_t));
    hg_free(g->flags, n * sizeof(uint8_t));
    hg_free(g->size_over, (size_t)g->n_size_over * sizeof(hg_size_overflow));
    hg_csr_destroy(&g->fwd);
    hg_csr_destroy(&g->rev);
    hg_free(g, sizeof(*g));
}

/* HG_EINVAL if the forward CSR is missing or does not cover the node
 * table; HG_OK at once if the reverse is already there. */
hg_status hg_graph_reverse(hg_graph *g) {
    if (g == NULL || !hg__csr_readable(&g->fwd) ||
        g->fwd.n_nodes != g->n_nodes) {
        return HG_EINVAL;
    }
    if (g->rev.offsets != NULL) {
        return HG_OK;
    }
    return hg_csr_transpose(&g->fwd, &g->rev);
}

uint64_t hg_graph_nbytes(const hg_graph *g) {
    if (g == NULL) {
        return 0;
    }
    return (uint64_t)g->n_nodes * HG__NODE_BYTES +
           (uint64_t)g->n_size_over * sizeof(hg_size_overflow) +
           hg_csr_nbytes(&g->fwd) + hg_csr_nbytes(&g->rev);
}

/* One parallel counting pass; reference counts are never written here. */
hg_node hg_graph_count_refcnt_from(const hg_graph *g, uint32_t min) {
    uint64_t count = 0;
    int64_t v;

    if (g == NULL || g->refcnt == NULL) {
        return 0;
    }
#pragma omp parallel for schedule(static) reduction(+ : count)                 \
    if (hg__n_chunks(g->n_nodes) > 1) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)g->n_nodes; v++) {
        count += g->refcnt[v] >= min;
    }
    return (hg_node)count;
}

hg_node hg_graph_count_saturated(const hg_graph *g) {
    return hg_graph_count_refcnt_from(g, UINT32_MAX);
}

/* ---- node sizes ---------------------------------------------------------- */

/* Two parallel passes (count the overflows, then saturate) and, only when
 * there are overflows, a serial one collecting them in node order.  The
 * table is allocated before anything is written. */
hg_status hg_size_pack(const uint64_t *sizes, hg_node n, uint32_t *size,
                       hg_size_overflow **over, hg_node *n_over) {
    hg_size_overflow *tab = NULL;
    uint64_t count = 0;
    int par = hg__n_chunks(n) > 1;
    int64_t v;

    (void)par; /* without OpenMP */
    if (over == NULL || n_over == NULL ||
        (n > 0 && (sizes == NULL || size == NULL))) {
        return HG_EINVAL;
    }
#pragma omp parallel for schedule(static) reduction(+ : count) if (par)       \
    num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n; v++) {
        count += sizes[v] >= UINT32_MAX;
    }
    if (count > 0) {
        tab = hg_alloc((size_t)count * sizeof(hg_size_overflow));
        if (tab == NULL) {
            return HG_ENOMEM;
        }
    }
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n; v++) {
        size[v] = sizes[v] < UINT32_MAX ? (uint32_t)sizes[v] : UINT32_MAX;
    }
    for (hg_node u = 0, k = 0; k < count; u++) {
        if (sizes[u] >= UINT32_MAX) {
            tab[k++] = (hg_size_overflow){u, 0, sizes[u]};
        }
    }
    *over = tab;
    *n_over = (hg_node)count;
    return HG_OK;
}

int hg__size_overflow_bad(const uint32_t *size, hg_node n,
                          const hg_size_overflow *over, hg_node n_over) {
    if (n_over > 0 && (over == NULL || size == NULL)) {
        return 1;
    }
    for (hg_node i = 0; i < n_over; i++) {
        hg_node v = over[i].node;
        if (v >= n || (i > 0 && v <= over[i - 1].node) ||
            size[v] != UINT32_MAX || over[i].size < UINT32_MAX) {
            return 1;
        }
    }
    return 0;
}
