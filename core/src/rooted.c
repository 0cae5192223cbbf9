/*
 * rooted.c -- is one node reachable from a root?  A backward search that
 * stops at the first root, for queries about a few nodes (the referrers a
 * drawing shows) that should not pay for reachability over the whole heap.
 *
 * A root is a node whose reference count exceeds its in-degree (CPython's
 * own test for "referenced from outside the graph"); the in-degree is the
 * length of the node's row in the reverse graph.  v is reachable from a
 * root iff some node with a path to v (v included) is a root, so a
 * breadth-first search over referrers answers it, usually within a few
 * levels: almost every live object is near one held by a frame, a C
 * static or the interpreter.  Garbage (cycles no root reaches) makes the
 * search exhaust the nodes that reach v; a budget bounds that work.
 *
 * Visited nodes live in an open-addressing hash set sized for the budget,
 * so a query costs O(budget) memory, not O(n_nodes).  Serial: queries are
 * small and independent.
 */
#include "hg_internal.h"

static inline size_t slot_of(hg_node v, size_t mask) {
    return (size_t)(((uint64_t)v * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

/* Insert v; 1 if it was new. */
static int set_add(hg_node *set, size_t mask, hg_node v) {
    size_t h = slot_of(v, mask);
    while (set[h] != HG_NONE) {
        if (set[h] == v) {
            return 0;
        }
        h = (h + 1) & mask;
    }
    set[h] = v;
    return 1;
}

static inline int is_root(const hg_graph *g, hg_node v) {
    return (uint64_t)g->refcnt[v] > g->rev.offsets[v + 1] - g->rev.offsets[v];
}

hg_status hg_graph_rooted(const hg_graph *g, hg_node v, size_t budget,
                          int *out) {
    size_t cap = 64, mask, head = 0, tail = 0;
    hg_node *set = NULL, *queue = NULL;

    if (g == NULL || out == NULL || v >= g->n_nodes || g->rev.offsets == NULL ||
        budget == 0) {
        return HG_EINVAL;
    }
    while (cap < 2 * budget) {
        cap *= 2;
    }
    mask = cap - 1;
    set = hg_alloc(cap * sizeof(hg_node));
    queue = hg_alloc(budget * sizeof(hg_node));
    if (set == NULL || queue == NULL) {
        hg_free(set, cap * sizeof(hg_node));
        hg_free(queue, budget * sizeof(hg_node));
        return HG_ENOMEM;
    }
    memset(set, 0xff, cap * sizeof(hg_node)); /* all HG_NONE */
    set_add(set, mask, v);
    queue[tail++] = v;
    *out = 0; /* every node reaching v seen, none a root: garbage */
    while (head < tail) {
        hg_node u = queue[head++];
        if (is_root(g, u)) {
            *out = 1;
            break;
        }
        for (hg_edge e = g->rev.offsets[u]; e < g->rev.offsets[u + 1]; e++) {
            hg_node w = g->rev.targets[e];
            if (!set_add(set, mask, w)) {
                continue;
            }
            if (tail == budget) {
                *out = -1; /* out of budget: unknown */
                head = tail;
                break;
            }
            queue[tail++] = w;
        }
    }
    hg_free(set, cap * sizeof(hg_node));
    hg_free(queue, budget * sizeof(hg_node));
    return HG_OK;
}
