/*
 * retained.c -- retained sizes: what freeing each node would free.
 *
 * retained[v] = v's size + the retained sizes of v's children in the
 * dominator tree (hg_domtree_build's idom), i.e. the sizes of v's subtree.
 * Sizes come as 4 bytes per node plus the overflow table of the few of
 * 4 GiB or more (heapgraph.h, "node sizes"); the totals are uint64.
 * Each node's size is added to exactly its dominator-tree ancestors, so the
 * children of the virtual root together retain every reached byte once.
 *
 * Algorithm: one bottom-up pass with no order given and no recursion, a
 * Kahn-style topological sweep of the tree.  pending[v] counts v's
 * children not yet added into it.  Every leaf starts a climb: add the
 * node's total into its parent, and if that was the parent's last pending
 * child, climb on from the parent (its total is now complete); otherwise
 * stop.  Each node is climbed from exactly once, when its subtree is
 * complete (pending is then set to DONE), so the pass is O(n) and the
 * climbs need no stack.  The totals
 * are sums of integers, so the order of the climbs (and the thread count)
 * cannot change them.
 *
 * Encodings: idom[v] < n_nodes (a node's parent), HG_DOM_VIRTUAL (a child
 * of the virtual root) or HG_NONE (unreached: retained 0).  A tree node's
 * parent must be a tree node, and the parents must form a forest; anything
 * else is HG_EINVAL (a cycle is only found after retained was written).
 *
 * Memory: 4 bytes per node (pending).  Scale: 1M-50M nodes, two sequential
 * passes (checks and counts, in parallel) and the climbs, which read and
 * write parents at random.
 */
#include "hg_internal.h"

#define DONE UINT32_MAX /* pending[v]: v's total was added to its parent */

static inline int in_tree(hg_node d) {
    return d != HG_NONE;
}

hg_status hg_domtree_retained(const hg_node *idom, hg_node n_nodes,
                              const uint32_t *size,
                              const hg_size_overflow *over, hg_node n_over,
                              uint64_t *retained) {
    uint32_t *pending = NULL;
    size_t bytes = (size_t)n_nodes * sizeof(uint32_t);
    hg_status st = HG_OK;
    uint64_t n_tree = 0, n_done = 0;
    int bad = 0, par = hg__n_chunks(n_nodes) > 1;
    int64_t v;

    (void)par; /* without OpenMP */
    if (n_nodes > 0 && (idom == NULL || size == NULL || retained == NULL)) {
        return HG_EINVAL;
    }
    if ((uint64_t)n_nodes > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    if (hg__size_overflow_bad(size, n_nodes, over, n_over)) {
        return HG_EINVAL;
    }
    /* ---- check the forest's ids, before anything is written ---- */
#pragma omp parallel for schedule(static) reduction(| : bad)                  \
    reduction(+ : n_tree) if (par) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n_nodes; v++) {
        hg_node d = idom[v];
        if (d == HG_NONE) {
            continue;
        }
        n_tree++;
        if (d != HG_DOM_VIRTUAL) {
            bad |= d >= n_nodes || d == (hg_node)v || !in_tree(idom[d]);
        }
    }
    if (bad) {
        return HG_EINVAL;
    }
    pending = hg_calloc(bytes);
    if (pending == NULL) {
        return HG_ENOMEM;
    }

    /* ---- children per node; totals start at the own size ---- */
    for (v = 0; v < (int64_t)n_nodes; v++) {
        hg_node d = idom[v];
        if (d != HG_NONE && d != HG_DOM_VIRTUAL) {
            pending[d]++;
        }
    }
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n_nodes; v++) {
        retained[v] = in_tree(idom[v]) ? size[v] : 0;
    }
    /* the saturated sizes (UINT32_MAX) replaced by the true ones: a few
     * nodes at most, so the loop above stays a plain 4-byte load */
    for (hg_node i = 0; i < n_over; i++) {
        if (in_tree(idom[over[i].node])) {
            retained[over[i].node] = over[i].size;
        }
    }

    /* ---- climbs from the leaves ---- */
    for (v = 0; v < (int64_t)n_nodes; v++) {
        hg_node u = (hg_node)v;
        if (!in_tree(idom[u]) || pending[u] != 0) {
            continue;
        }
        for (;;) {
            hg_node d = idom[u];
            pending[u] = DONE; /* the outer loop must not start here again */
            n_done++;
            if (d == HG_DOM_VIRTUAL) {
                break;
            }
            retained[d] += retained[u];
            if (--pending[d] != 0) {
                break;
            }
            u = d;
        }
    }
    if (n_done != n_tree) {
        st = HG_EINVAL; /* a cycle: its nodes never ran out of children */
    }

    hg_free(pending, bytes);
    return st;
}
