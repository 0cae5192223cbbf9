/*
 * portable_finish.c -- phase 5 of the portable capture, without the GIL:
 * the frozen objects the walk found renumbered among the tracked nodes,
 * the arrays trimmed and handed over to the graph (see portable.c's
 * header).
 */
#include "portable_walk.h"

#include <stdlib.h>
#include <string.h>

/* ---- phase 5: without the GIL -------------------------------------------- */

/* Frozen objects found by the walk get ids right after the enumerated
 * ones, before the untracked nodes, each group in its order of first
 * visit: the graph's nodes 0 .. n_tracked-1 are the tracked ones. */
static hg_status renumber(pwalk *w) {
    size_t n = w->n, e = w->n_edges;
    hg_node *new_id = NULL, *old_of = NULL, *nt = NULL;
    hg_edge *no = NULL;
    char *na[5] = {NULL, NULL, NULL, NULL, NULL};
    void **arr[5];
    hg_node next_tracked = w->n_enum;
    hg_node next_untracked = (hg_node)(w->n_enum + w->n_extra);
    hg_status st = HG_ENOMEM;

    /* everything allocated first: a failure leaves w as it was (the
     * cleanup of a failed capture drops its pins through addr and
     * flags, which must still match) */
    new_id = hg_alloc(n * sizeof(hg_node));
    old_of = hg_alloc(n * sizeof(hg_node));
    nt = hg_alloc(e * sizeof(hg_node));
    no = hg_alloc(w->cap_off * sizeof(hg_edge));
    for (int i = 0; i < 5; i++) {
        na[i] = hg_alloc(n * hg__pw_node_elem[i]);
        if (na[i] == NULL) {
            goto cleanup;
        }
    }
    if (new_id == NULL || old_of == NULL || nt == NULL || no == NULL) {
        goto cleanup;
    }
    for (size_t v = 0; v < n; v++) {
        if (v < w->n_enum) {
            new_id[v] = (hg_node)v;
        } else if (w->flags[v] & HG_NODE_TRACKED) {
            new_id[v] = next_tracked++;
        } else {
            new_id[v] = next_untracked++;
        }
        old_of[new_id[v]] = (hg_node)v;
    }
    /* the CSR, row by row in the new order */
    no[0] = 0;
    for (size_t u = 0; u < n; u++) {
        hg_node v = old_of[u];
        hg_edge k = no[u];
        for (hg_edge j = w->offsets[v]; j < w->offsets[v + 1]; j++) {
            nt[k++] = new_id[w->targets[j]];
        }
        no[u + 1] = k;
    }
    /* the node table */
    hg__pw_node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        size_t elem = hg__pw_node_elem[i];
        const char *old = *arr[i];
        for (size_t v = 0; v < n; v++) {
            memcpy(na[i] + (size_t)new_id[v] * elem, old + v * elem, elem);
        }
        hg_free(*arr[i], w->cap_each[i] * elem);
        *arr[i] = na[i];
        na[i] = NULL;
        w->cap_each[i] = n;
    }
    w->cap = n;
    for (size_t i = 0; i < w->n_sover; i++) {
        w->sover[i].node = new_id[w->sover[i].node];
    }
    hg_free(w->offsets, w->cap_off * sizeof(hg_edge));
    w->offsets = no;
    no = NULL;
    hg_free(w->targets, w->cap_edges * sizeof(hg_node));
    w->targets = nt;
    w->cap_edges = e;
    nt = NULL;
    st = HG_OK;
cleanup:
    for (int i = 0; i < 5; i++) {
        hg_free(na[i], n * hg__pw_node_elem[i]);
    }
    hg_free(new_id, n * sizeof(hg_node));
    hg_free(old_of, n * sizeof(hg_node));
    hg_free(nt, e * sizeof(hg_node));
    hg_free(no, w->cap_off * sizeof(hg_edge));
    return st;
}

static int cmp_over(const void *pa, const void *pb) {
    const hg_size_overflow *a = pa, *b = pb;
    return (a->node > b->node) - (a->node < b->node);
}

/* See portable_walk.h. */
hg_status hg__pw_assemble(pwalk *w, hg_graph *g) {
    size_t n = w->n;
    hg_status st;
    if (w->n_extra > 0 && (st = renumber(w)) != HG_OK) {
        return st;
    }
    {
        void **arr[5];
        hg__pw_node_arrays(w, arr);
        for (int i = 0; i < 5; i++) {
            if (hg__resize_exact(arr[i], hg__pw_node_elem[i], w->cap_each[i],
                                 n) < 0) {
                return HG_ENOMEM; /* the failed realloc left it as it was */
            }
            w->cap_each[i] = n;
        }
    }
    w->cap = n;
    if (hg__resize_exact((void **)&w->sover, sizeof(hg_size_overflow),
                         w->cap_sover, w->n_sover) < 0 ||
        hg__resize_exact((void **)&w->offsets, sizeof(hg_edge), w->cap_off,
                         n + 1) < 0) {
        return HG_ENOMEM;
    }
    w->cap_sover = w->n_sover;
    w->cap_off = n + 1;
    qsort(w->sover, w->n_sover, sizeof(hg_size_overflow), cmp_over);
    if (hg__resize_exact((void **)&w->targets, sizeof(hg_node), w->cap_edges,
                         w->n_edges) < 0) {
        return HG_ENOMEM;
    }
    w->cap_edges = w->n_edges;
    st = hg_csr_adopt_unchecked(&g->fwd, (hg_node)n, w->n_edges, &w->offsets,
                                &w->targets);
    if (st != HG_OK) {
        return st;
    }
    w->cap_off = 0;
    w->cap_edges = 0;
    g->n_nodes = (hg_node)n;
    g->n_tracked = (hg_node)(w->n_enum + w->n_extra);
    g->n_types = (uint32_t)w->n_types;
    g->addr = w->addr;
    g->size = w->size;
    g->type_id = w->type;
    g->refcnt = w->refcnt;
    g->flags = w->flags;
    g->n_size_over = (hg_node)w->n_sover;
    g->size_over = w->sover;
    w->addr = NULL;
    w->size = w->type = w->refcnt = NULL;
    w->flags = NULL;
    w->sover = NULL;
    w->n_sover = w->cap_sover = 0;
    w->cap = 0;
    memset(w->cap_each, 0, sizeof(w->cap_each));
    return HG_OK;
}
