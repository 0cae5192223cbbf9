/*
 * tree_edges.c -- the references of a shortest-path tree out of chosen
 * types (hg_paths_tree_edges): which references a snapshot file labels,
 * objgraph's dict keys on the paths its leak reports print.
 *
 * A reference e = (u -> w) is on the tree when parent[w] == u: w was
 * reached through u.  Every edge of a source of a chosen type is looked at
 * once, in CSR order.
 *
 * Algorithm: the sources are split into contiguous ranges holding about
 * as many edges each (hg__csr_split); each range counts its tree edges,
 * an exclusive prefix sum over the ranges gives where each writes, and
 * each range writes its edges there.  The list is in CSR order whatever
 * the thread count.  Two passes over the edges: one to count, one to
 * write; no scratch beyond one count per range.
 *
 * Encodings: parent as hg_bfs writes it (HG_NONE unreached, HG_PATH_ROOT
 * for a root): neither matches a source id, so neither adds an edge.
 *
 * Scale: 1M-50M nodes, a few times as many edges; the tree has at most
 * one edge per node, and the types chosen (dicts, classes) hold a small
 * part of them.
 */
#include "hg_internal.h"

void hg_edge_list_destroy(hg_edge_list *list) {
    if (list == NULL) {
        return;
    }
    hg_free(list->edges, (list->n + 1) * sizeof(hg_edge));
    hg_free(list->src, (list->n + 1) * sizeof(hg_node));
    hg_free(list->dst, (list->n + 1) * sizeof(hg_node));
    memset(list, 0, sizeof(*list));
}

/* Tree edges out of the chosen sources of [lo, hi): their number; written
 * from `at` on when out != NULL. */
static size_t range_edges(const hg_graph *g, const hg_node *parent,
                          const uint8_t *type_mask, hg_node lo, hg_node hi,
                          hg_edge_list *out, size_t at) {
    const hg_csr *c = &g->fwd;
    size_t n = 0;
    for (hg_node u = lo; u < hi; u++) {
        if (!type_mask[g->type_id[u]]) {
            continue;
        }
        for (hg_edge e = c->offsets[u]; e < c->offsets[u + 1]; e++) {
            if (parent[c->targets[e]] != u) {
                continue;
            }
            if (out != NULL) {
                out->edges[at + n] = e;
                out->src[at + n] = u;
                out->dst[at + n] = c->targets[e];
            }
            n++;
        }
    }
    return n;
}

hg_status hg_paths_tree_edges(const hg_graph *g, const hg_node *parent,
                              const uint8_t *type_mask, hg_edge_list *out) {
    size_t *start = NULL, total = 0;
    int n_chunks, bad = 0;
    hg_status st = HG_OK;

    if (out == NULL) {
        return HG_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (g == NULL || !hg__csr_readable(&g->fwd) ||
        (g->n_nodes > 0 &&
         (parent == NULL || type_mask == NULL || g->type_id == NULL))) {
        return HG_EINVAL;
    }
    n_chunks = hg__n_chunks((uint64_t)g->n_nodes + g->fwd.n_edges);
    start = hg_calloc(((size_t)n_chunks + 1) * sizeof(size_t));
    if (start == NULL) {
        return HG_ENOMEM;
    }

    /* ---- check the type ids, count each range's tree edges ---- */
#pragma omp parallel for schedule(static, 1) if (n_chunks > 1)                 \
    num_threads(hg_num_threads()) reduction(|                                  \
                                            : bad)
    for (int k = 0; k < n_chunks; k++) {
        hg_node lo = hg__csr_split(&g->fwd, k, n_chunks);
        hg_node hi = hg__csr_split(&g->fwd, k + 1, n_chunks);
        for (hg_node u = lo; u < hi; u++) {
            bad |= g->type_id[u] >= g->n_types;
        }
        if (!bad) {
            start[k + 1] = range_edges(g, parent, type_mask, lo, hi, NULL, 0);
        }
    }
    if (bad) {
        st = HG_EINVAL;
        goto cleanup;
    }
    for (int k = 0; k < n_chunks; k++) {
        start[k + 1] += start[k];
    }
    total = start[n_chunks];

    /* ---- write each range's edges at its offset ---- */
    out->edges = hg_alloc((total + 1) * sizeof(hg_edge));
    out->src = hg_alloc((total + 1) * sizeof(hg_node));
    out->dst = hg_alloc((total + 1) * sizeof(hg_node));
    out->n = total;
    if (out->edges == NULL || out->src == NULL || out->dst == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
#pragma omp parallel for schedule(static, 1) if (n_chunks > 1)                 \
    num_threads(hg_num_threads())
    for (int k = 0; k < n_chunks; k++) {
        hg_node lo = hg__csr_split(&g->fwd, k, n_chunks);
        hg_node hi = hg__csr_split(&g->fwd, k + 1, n_chunks);
        (void)range_edges(g, parent, type_mask, lo, hi, out, start[k]);
    }
cleanup:
    if (st != HG_OK) {
        hg_edge_list_destroy(out);
    }
    hg_free(start, ((size_t)n_chunks + 1) * sizeof(size_t));
    return st;
}
