/*
 * ref_edges.c -- naive references for the edge finders (ref_edges.h):
 * by another route than the kernels (by target and sorted, scanning rows
 * backwards), serial, for obviousness.
 */
#include "ref_edges.h"

#include <stdio.h>
#include <stdlib.h>

static void *xmalloc(size_t n) {
    void *p = malloc(n + 1);
    if (p == NULL) {
        fprintf(stderr, "ref_edges: out of memory\n");
        exit(2);
    }
    return p;
}

static int cmp_edge(const void *a, const void *b) {
    hg_edge x = *(const hg_edge *)a, y = *(const hg_edge *)b;
    return (x > y) - (x < y);
}

size_t ref_tree_edges(const hg_graph *g, const hg_node *parent,
                      const uint8_t *type_mask, hg_edge **edges, hg_node **src,
                      hg_node **dst) {
    const hg_csr *c = &g->fwd;
    size_t n = 0;
    hg_edge *e_out = xmalloc((size_t)c->n_edges * sizeof(hg_edge));

    for (hg_node w = 0; w < g->n_nodes; w++) {
        hg_node p = parent[w];
        if (p >= g->n_nodes || !type_mask[g->type_id[p]]) {
            continue;
        }
        for (hg_edge e = c->offsets[p]; e < c->offsets[p + 1]; e++) {
            if (c->targets[e] == w) {
                e_out[n++] = e;
            }
        }
    }
    qsort(e_out, n, sizeof(hg_edge), cmp_edge);
    *edges = e_out;
    *src = xmalloc(n * sizeof(hg_node));
    *dst = xmalloc(n * sizeof(hg_node));
    for (size_t i = 0, u = 0; i < n; i++) {
        while (c->offsets[u + 1] <= e_out[i]) {
            u++;
        }
        (*src)[i] = (hg_node)u;
        (*dst)[i] = c->targets[e_out[i]];
    }
    return n;
}

void ref_find_edges(const hg_csr *g, const hg_node *src, const hg_node *dst,
                    size_t n, uint64_t *out) {
    for (size_t i = 0; i < n; i++) {
        out[i] = UINT64_MAX;
        for (hg_edge e = g->offsets[src[i] + 1]; e > g->offsets[src[i]]; e--) {
            if (g->targets[e - 1] == dst[i]) {
                out[i] = e - 1;
            }
        }
    }
}
