/*
 * scc.c -- strongly connected components: the reference cycles of a heap.
 *
 * Algorithm: Tarjan's (SIAM J. Comput. 1972) in Pearce's space-efficient
 * form ("A space-efficient algorithm for finding strongly connected
 * components", Information Processing Letters 116(1), 2016), made
 * iterative.  One array rindex replaces Tarjan's index and lowlink: a node
 * gets the next index when first entered and takes the smaller rindex of
 * its successors still in progress; when a node finishes and is still
 * root of its own index (no successor lowered it), it and the nodes above
 * it on the component stack with rindex >= its own form a component, and
 * all get one component number, counted down from the top of the uint32
 * range so that they stay above every index still in use (at most
 * a + k <= n_nodes: a nodes in progress, k components done).  The index
 * counter is decremented for each node assigned, so indices stay below
 * n_nodes.  The "root" flag lives in the call stack (only nodes on it can
 * lose it).
 *
 * Iterative: the call stack is explicit, (node, edge cursor, root flag)
 * per level, so a 10M-node chain is 10M levels of an array, not of the C
 * stack.  Serial (Tarjan is inherently sequential), hence the same answer
 * for any thread count.
 *
 * Numbering: components come out in reverse topological order; a last
 * pass over the nodes in id order renumbers them 0, 1, ... in order of
 * their smallest node id.  Nodes with mask[v] == 0 get HG_NONE and their
 * edges are ignored, both ways.
 *
 * Leaves (no out-edges: 39 % of a heap, its str, int and float objects)
 * are components of their own; they are marked up front and never
 * entered, and their marker is above every index, so it lowers none.
 *
 * Encodings: rindex (the caller's comp array until the last pass): 0 =
 * not entered, 1..n_nodes = index of a node in progress, TOP - c = done,
 * in the c-th component finished (TOP = UINT32_MAX - 1), LEAF = no
 * out-edges (UINT32_MAX).  map[c] = the
 * final number of component c, HG_NONE until its smallest node is met.
 *
 * Memory: per node 4 bytes (component stack) + 4 (map) + up to 13 bytes
 * of call stack (touched only as deep as the search goes).  Scale: 1M-50M
 * nodes; O(n + m), random access bound like any DFS.
 */
#include "hg_internal.h"

#define TOP (UINT32_MAX - 1)
#define LEAF UINT32_MAX /* rindex of a node with no out-edges */

static inline int masked_out(const uint8_t *mask, hg_node v) {
    return mask != NULL && mask[v] == 0;
}

typedef struct scc_scratch {
    hg_node *call_node;   /* call stack: node */
    hg_edge *call_cursor; /* call stack: next edge */
    uint8_t *call_root;   /* call stack: still root of its own index */
    hg_node *comp_stack;  /* finished nodes of unfinished components */
    hg_node *map;         /* component (countdown) -> final number */
} scc_scratch;

/* Tarjan-Pearce from start (not yet entered).  *index and *n_done carry
 * over between starts. */
static void visit(const hg_csr *g, const uint8_t *mask, hg_node start,
                  hg_node *rindex, const scc_scratch *s, hg_node *index,
                  hg_node *n_done) {
    const hg_edge *off = g->offsets;
    const hg_node *tgt = g->targets;
    size_t depth = 0, n_stacked = 0;

    rindex[start] = (*index)++;
    s->call_node[0] = start;
    s->call_cursor[0] = off[start];
    s->call_root[0] = 1;
    depth = 1;
    while (depth > 0) {
        size_t top = depth - 1;
        hg_node v = s->call_node[top];
        hg_edge e = s->call_cursor[top], end = off[v + 1];
        int descended = 0;

        for (; e < end; e++) {
            hg_node w = tgt[e];
            if (masked_out(mask, w)) {
                continue;
            }
            if (rindex[w] == 0) {
                s->call_cursor[top] = e + 1;
                rindex[w] = (*index)++;
                s->call_node[depth] = w;
                s->call_cursor[depth] = off[w];
                s->call_root[depth] = 1;
                depth++;
                descended = 1;
                break;
            }
            if (rindex[w] < rindex[v]) {
                rindex[v] = rindex[w];
                s->call_root[top] = 0;
            }
        }
        if (descended) {
            continue;
        }
        /* v is finished */
        depth--;
        if (s->call_root[top]) {
            hg_node c = TOP - (*n_done)++;
            hg_node rv = rindex[v];
            (*index)--;
            while (n_stacked > 0 &&
                   rv <= rindex[s->comp_stack[n_stacked - 1]]) {
                rindex[s->comp_stack[--n_stacked]] = c;
                (*index)--;
            }
            rindex[v] = c;
        } else {
            s->comp_stack[n_stacked++] = v;
        }
        if (depth > 0) {
            size_t up = depth - 1;
            hg_node u = s->call_node[up];
            if (rindex[v] < rindex[u]) {
                rindex[u] = rindex[v];
                s->call_root[up] = 0;
            }
        }
    }
}

hg_status hg_scc(const hg_csr *g, const uint8_t *mask, hg_node *comp,
                 hg_node *n_comp) {
    scc_scratch s = {0};
    hg_node n, index = 1, n_done = 0, next = 0;
    size_t cap;
    hg_status st = HG_OK;
    int64_t v;

    if (!hg__csr_readable(g) || n_comp == NULL ||
        (comp == NULL && g->n_nodes > 0)) {
        return HG_EINVAL;
    }
    n = g->n_nodes;
    if ((uint64_t)n > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    cap = (size_t)n + 1;
    s.call_node = hg_alloc(cap * sizeof(hg_node));
    s.call_cursor = hg_alloc(cap * sizeof(hg_edge));
    s.call_root = hg_alloc(cap);
    s.comp_stack = hg_alloc(cap * sizeof(hg_node));
    s.map = hg_alloc(cap * sizeof(hg_node));
    if (s.call_node == NULL || s.call_cursor == NULL || s.call_root == NULL ||
        s.comp_stack == NULL || s.map == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }

    /* ---- Tarjan-Pearce from every node not yet entered ---- */
#pragma omp parallel for schedule(static) if (hg__n_chunks(n) > 1)             \
    num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n; v++) {
        /* no out-edges: a component of its own, never entered */
        comp[v] = g->offsets[v + 1] == g->offsets[v] ? LEAF : 0;
        s.map[v] = HG_NONE;
    }
    for (hg_node u = 0; u < n; u++) {
        if (comp[u] == 0 && !masked_out(mask, u)) {
            visit(g, mask, u, comp, &s, &index, &n_done);
        }
    }

    /* ---- number components by their smallest node ---- */
    for (hg_node u = 0; u < n; u++) {
        hg_node c;
        if (masked_out(mask, u)) {
            comp[u] = HG_NONE;
            continue;
        }
        if (comp[u] == LEAF) {
            comp[u] = next++;
            continue;
        }
        c = TOP - comp[u];
        if (s.map[c] == HG_NONE) {
            s.map[c] = next++;
        }
        comp[u] = s.map[c];
    }
    *n_comp = next;

cleanup:
    hg_free(s.call_node, cap * sizeof(hg_node));
    hg_free(s.call_cursor, cap * sizeof(hg_edge));
    hg_free(s.call_root, cap);
    hg_free(s.comp_stack, cap * sizeof(hg_node));
    hg_free(s.map, cap * sizeof(hg_node));
    return st;
}
