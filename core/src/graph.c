/*
 * graph.c -- the graph object: node table (structure of arrays) plus the
 * forward CSR and its lazily built reverse.
 *
 * Encodings: a CSR with offsets == NULL is "not built" (g->rev until
 * hg_graph_reverse runs; g->fwd until the filler adopts one).  Node arrays
 * hold n_nodes entries each and are left uninitialised for the filler.
 * Memory: 25 bytes per node in the table, plus the CSRs.
 */
#include "hg_internal.h"

/* Bytes of the node table per node: addr, type_id, size, refcnt, flags. */
#define HG__NODE_BYTES                                                         \
    (sizeof(uint64_t) + sizeof(uint32_t) + sizeof(uint64_t) +                  \
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
        g->size = hg_alloc(n * sizeof(uint64_t));
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
    hg_free(g->size, n * sizeof(uint64_t));
    hg_free(g->refcnt, n * sizeof(uint32_t));
    hg_free(g->flags, n * sizeof(uint8_t));
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
    return (uint64_t)g->n_nodes * HG__NODE_BYTES + hg_csr_nbytes(&g->fwd) +
           hg_csr_nbytes(&g->rev);
}
