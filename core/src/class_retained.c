/*
 * class_retained.c -- retained bytes per class, each byte counted once:
 * "how much would go if every object of this type (or of this group of
 * retention paths) went away".
 *
 * A class is any labelling of nodes (a type id, a path signature).  The
 * retained sizes of two nodes of one class overlap when one dominates the
 * other, so out[c] sums retained[v] over the nodes v of class c that have
 * no proper dominator of class c: the topmost members of the class on
 * every branch of the dominator tree.  Their subtrees are disjoint, so
 * each byte is counted once.
 *
 * Algorithm: one iterative depth-first walk of each tree hanging from the
 * virtual root; active[c] counts the nodes of class c on the current tree
 * path (the ancestors of the node being entered).  A node adds its
 * retained size when it enters with active[its class] == 0.  The children
 * lists come from a counting sort of the nodes on idom.  O(n_nodes +
 * n_cls); serial (the walk is inherently ordered, and the pass is a few
 * tens of milliseconds at 10M nodes), hence the same answer for any
 * thread count.
 *
 * Encodings: idom as hg_domtree_build writes it (HG_DOM_VIRTUAL: a child
 * of the virtual root, HG_NONE: unreached, never visited); cls[v] ==
 * HG_NONE (or mask[v] == 0): v has no class, takes part in no count.
 * Nodes whose parents form a cycle are never reached by the walk and
 * count nowhere (hg_domtree_build never writes one).
 *
 * Memory: 16 bytes of scratch per node (children offsets, children, walk
 * stack, cursors) and 4 per class.  Scale: 1M-50M nodes, up to one class
 * per node (signatures).
 */
#include "hg_internal.h"

static inline int has_class(const uint32_t *cls, const uint8_t *mask,
                            hg_node v) {
    return cls[v] != HG_NONE && (mask == NULL || mask[v]);
}

/* Nonzero if an idom entry is out of range or a class id too large. */
static int bad_input(const hg_node *idom, hg_node n, const uint32_t *cls,
                     uint32_t n_cls) {
    for (hg_node v = 0; v < n; v++) {
        hg_node d = idom[v];
        if ((d >= n && d != HG_NONE && d != HG_DOM_VIRTUAL) ||
            (cls[v] >= n_cls && cls[v] != HG_NONE)) {
            return 1;
        }
    }
    return 0;
}

/* Walk the tree below top; active is all zero before and after. */
static void walk_tree(hg_node top, const hg_node *start, const hg_node *child,
                      hg_node *stack, hg_node *cursor, const uint64_t *retained,
                      const uint32_t *cls, const uint8_t *mask,
                      uint32_t *active, uint64_t *out) {
    size_t depth = 0;
    stack[depth++] = top;
    cursor[top] = start[top];
    if (has_class(cls, mask, top)) {
        out[cls[top]] += retained[top];
        active[cls[top]]++;
    }
    while (depth > 0) {
        hg_node u = stack[depth - 1];
        if (cursor[u] < start[u + 1]) {
            hg_node v = child[cursor[u]++];
            if (has_class(cls, mask, v) && active[cls[v]]++ == 0) {
                out[cls[v]] += retained[v];
            }
            cursor[v] = start[v];
            stack[depth++] = v;
        } else {
            depth--;
            if (has_class(cls, mask, u)) {
                active[cls[u]]--;
            }
        }
    }
}

hg_status hg_domtree_class_retained(const hg_node *idom, hg_node n_nodes,
                                    const uint64_t *retained,
                                    const uint32_t *cls, uint32_t n_cls,
                                    const uint8_t *mask, uint64_t *out) {
    size_t nb = ((size_t)n_nodes + 1) * sizeof(hg_node); /* offsets */
    size_t vb = (size_t)n_nodes * sizeof(hg_node);
    size_t ab = (size_t)n_cls * sizeof(uint32_t);
    hg_node *start = NULL, *child = NULL, *stack = NULL, *cursor = NULL;
    uint32_t *active = NULL;
    hg_status st = HG_OK;

    if ((n_nodes > 0 && (idom == NULL || retained == NULL || cls == NULL)) ||
        (n_cls > 0 && out == NULL)) {
        return HG_EINVAL;
    }
    if ((uint64_t)n_nodes > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    if (bad_input(idom, n_nodes, cls, n_cls)) {
        return HG_EINVAL;
    }
    start = hg_calloc(nb);
    child = hg_alloc(vb);
    stack = hg_alloc(vb);
    cursor = hg_alloc(nb);
    active = hg_calloc(ab);
    if (start == NULL || child == NULL || stack == NULL || cursor == NULL ||
        active == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    if (n_cls > 0) {
        memset(out, 0, (size_t)n_cls * sizeof(uint64_t));
    }

    /* ---- children lists of the dominator tree: counting sort on idom ---- */
    for (hg_node v = 0; v < n_nodes; v++) {
        if (idom[v] < n_nodes) {
            start[idom[v] + 1]++;
        }
    }
    for (hg_node v = 0; v < n_nodes; v++) {
        start[v + 1] += start[v];
    }
    memcpy(cursor, start, nb);
    for (hg_node v = 0; v < n_nodes; v++) {
        if (idom[v] < n_nodes) {
            child[cursor[idom[v]]++] = v;
        }
    }

    /* ---- walk each tree hanging from the virtual root ---- */
    for (hg_node top = 0; top < n_nodes; top++) {
        if (idom[top] == HG_DOM_VIRTUAL) {
            walk_tree(top, start, child, stack, cursor, retained, cls, mask,
                      active, out);
        }
    }
cleanup:
    hg_free(start, nb);
    hg_free(child, vb);
    hg_free(stack, vb);
    hg_free(cursor, nb);
    hg_free(active, ab);
    return st;
}
