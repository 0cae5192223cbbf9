/*
 * domtree.c -- the dominator tree of a heap graph, for retained sizes.
 *
 * A node d dominates w when every path from the roots to w passes through
 * d: freeing d frees w.  The roots hang below one virtual root (numbered
 * n_nodes here), so "reachable" means reachable from any root and a node
 * held by two roots through disjoint paths is dominated by the virtual root
 * alone.
 *
 * Algorithm: SEMI-NCA (Georgiadis, "Linear-Time Algorithms for Dominators
 * and Related Problems", PhD thesis, Princeton 2005; the variant LLVM's
 * GenericDomTreeConstruction.h uses), three passes over the nodes in depth-
 * first preorder:
 *   1. dfs: an iterative depth-first search from the virtual root (roots in
 *      the order given, each node's edges in CSR order) numbers the reached
 *      nodes 1..N-1 in preorder (the virtual root is 0) and records each
 *      one's spanning-tree parent.  No stack array: the stack is always the
 *      tree path from the current node up, so popping is parent[i], and a
 *      per-node edge cursor says where each node on the path resumes.
 *   2. semi: semidominators, in reverse preorder, from the predecessors of
 *      each node (the reverse graph): a predecessor numbered below w offers
 *      its own number, one above offers the smallest semidominator on its
 *      path up the part of the tree already processed -- Tarjan's eval with
 *      path compression (no balancing: O(m log n), faster in practice).
 *      Roots have the virtual root as a predecessor, so semi = 0 at once.
 *   3. nca: idom(w) = the nearest common ancestor of parent(w) and
 *      semi(w) in the dominator tree built so far, found by walking up from
 *      parent(w) while above semi(w) in preorder.
 * All three are sequential (every step depends on earlier ones); the first
 * pass is random access bound, like a DFS.  Nothing recurses: a 10M-node
 * chain is 10M iterations of a loop.  The tree is unique, so the answer
 * does not depend on the DFS order nor on the thread count (the loops that
 * fill and translate the output run in parallel; they write disjoint
 * entries).
 *
 * The Cooper-Harvey-Kennedy iteration is deliberately not used: its number
 * of sweeps grows with chain length (ANCHORS.md).
 *
 * Heaps are mostly nodes with one referrer.  For such a node the only
 * predecessor is its tree parent, which is also its semidominator and
 * immediate dominator: pass 2 skips its reverse row, pass 3 its walk.
 *
 * Encodings (arrays of N <= n_nodes + 1 entries indexed by preorder number
 * i, the virtual root 0): vertex[i] = node id (n_nodes for 0); parent[i] =
 * tree parent, then (pass 3, in place) the immediate dominator; anc[i] =
 * the ancestor path compression points i to; label[i] = the node of
 * smallest semi on the compressed path; semi[i].  num[v] = v's preorder
 * number or NOT_REACHED; it lives in the caller's idom array, which is
 * overwritten at the end: idom[v] = vertex[parent[num[v]]], HG_DOM_VIRTUAL
 * for 0, HG_NONE when not reached.
 *
 * Memory: 20 bytes per node plus the compression stack (4 bytes per node at
 * worst, touched only as deep as paths get), plus the reverse graph when
 * the caller has none ((n+1)*8 + m*4 bytes).  Everything is allocated
 * before the caller's array is touched.  Expected scale: 1M-50M nodes;
 * about 1-3M nodes/s on one core (ANCHORS.md: a plain C SEMI-NCA ran at
 * 3.4 / 1.8 / 1.0M nodes/s at 1 / 10 / 30M nodes).
 */
#include "hg_internal.h"

#define NOT_REACHED HG_NONE

/* Depth-first preorder from the virtual root (0): roots in the given order,
 * edges in CSR order.  Fills num, vertex, parent, and anc = parent.  cursor
 * (N entries) is scratch.  Returns N, the count of numbered nodes with the
 * virtual root. */
static hg_node dfs(const hg_csr *g, const hg_node *roots, size_t n_roots,
                   hg_node *num, hg_node *vertex, hg_node *parent,
                   hg_edge *cursor) {
    const hg_edge *off = g->offsets;
    const hg_node *tgt = g->targets;
    hg_node n_num = 1;

    vertex[0] = g->n_nodes;
    parent[0] = 0;
    for (size_t k = 0; k < n_roots; k++) {
        hg_node r = roots[k], cur;
        if (num[r] != NOT_REACHED) {
            continue; /* listed twice, or reached from an earlier root */
        }
        cur = n_num++;
        num[r] = cur;
        vertex[cur] = r;
        parent[cur] = 0;
        cursor[cur] = off[r];
        while (cur != 0) {
            hg_node v = vertex[cur];
            hg_edge e = cursor[cur], end = off[v + 1];
            hg_node next = parent[cur]; /* pop, unless a new child is found */
            for (; e < end; e++) {
                hg_node w = tgt[e];
                if (num[w] == NOT_REACHED) {
                    cursor[cur] = e + 1;
                    next = n_num++;
                    num[w] = next;
                    vertex[next] = w;
                    parent[next] = cur;
                    cursor[next] = off[w];
                    break;
                }
            }
            cur = next;
        }
    }
    return n_num;
}

/* Tarjan's eval: the node of smallest semi on the path from v (processed)
 * up to, not including, the first ancestor numbered below `last` (not yet
 * processed), compressing that path.  stack: scratch for the path. */
static hg_node eval(hg_node v, hg_node last, hg_node *anc, hg_node *label,
                    const hg_node *semi, hg_node *stack) {
    size_t top = 0;
    hg_node p, p_label;

    if (anc[v] < last) {
        return label[v];
    }
    /* the path from v up to the last node whose ancestor is processed */
    p = v;
    do {
        stack[top++] = p;
        p = anc[p];
    } while (anc[p] >= last);
    /* walk it back down: point each node at the top, keep the best label */
    p_label = label[p];
    do {
        hg_node x = stack[--top];
        anc[x] = anc[p];
        if (semi[p_label] < semi[label[x]]) {
            label[x] = p_label;
        } else {
            p_label = label[x];
        }
        p = x;
    } while (top > 0);
    return label[v];
}

/* Pass 2: semi[i] for i = N-1 .. 1.  semi starts as parent (0 for roots). */
static void semidominators(const hg_csr *rev, hg_node n_num, const hg_node *num,
                           const hg_node *vertex, hg_node *anc, hg_node *label,
                           hg_node *semi, hg_node *stack) {
    for (hg_node i = n_num - 1; i >= 1; i--) {
        hg_node w = vertex[i], s = semi[i];
        hg_edge e = rev->offsets[w], end = rev->offsets[w + 1];
        /* one referrer: it is the tree parent, and semi stays parent; a
         * child of the virtual root cannot do better than 0 */
        if (s != 0 && end - e > 1) {
            for (; e < end; e++) {
                hg_node j = num[rev->targets[e]], c;
                if (j == NOT_REACHED) {
                    continue;
                }
                c = j <= i ? j : semi[eval(j, i + 1, anc, label, semi, stack)];
                if (c < s) {
                    s = c;
                }
            }
            semi[i] = s;
        }
    }
}

/* Pass 3: parent[i] becomes idom[i], in preorder (so idom of every smaller
 * number is final when read). */
static void nearest_common_ancestors(hg_node n_num, const hg_node *semi,
                                     hg_node *parent) {
    for (hg_node i = 1; i < n_num; i++) {
        hg_node d = parent[i], s = semi[i];
        while (d > s) {
            d = parent[d];
        }
        parent[i] = d;
    }
}

hg_status hg_domtree_build(const hg_csr *fwd, const hg_csr *rev,
                           const hg_node *roots, size_t n_roots,
                           hg_node *idom) {
    hg_csr own_rev = {0};
    hg_node n, n_num;
    size_t cap, bytes4, bytes8;
    hg_node *vertex = NULL, *parent = NULL, *anc = NULL, *stack = NULL;
    void *work = NULL; /* pass 1: edge cursors; passes 2-3: label, semi */
    hg_node *label, *semi;
    hg_status st = HG_OK;
    int64_t v, i;

    if (!hg__csr_readable(fwd) || idom == NULL ||
        (roots == NULL && n_roots > 0)) {
        return HG_EINVAL;
    }
    n = fwd->n_nodes;
    if ((uint64_t)n > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    if (rev != NULL && (!hg__csr_readable(rev) || rev->n_nodes != n ||
                        rev->n_edges != fwd->n_edges)) {
        return HG_EINVAL;
    }
    for (size_t k = 0; k < n_roots; k++) {
        if (roots[k] >= n) {
            return HG_EINVAL;
        }
    }
    cap = (size_t)n + 1;
    bytes4 = cap * sizeof(hg_node);
    bytes8 = cap * sizeof(hg_edge);
    if (rev == NULL) {
        st = hg_csr_transpose(fwd, &own_rev);
        if (st != HG_OK) {
            goto cleanup;
        }
        rev = &own_rev;
    }
    vertex = hg_alloc(bytes4);
    parent = hg_alloc(bytes4);
    anc = hg_alloc(bytes4);
    stack = hg_alloc(bytes4);
    work = hg_alloc(bytes8);
    if (vertex == NULL || parent == NULL || anc == NULL || stack == NULL ||
        work == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }

    /* ---- pass 1: depth-first preorder; num lives in idom ---- */
#pragma omp parallel for schedule(static)
    for (v = 0; v < (int64_t)n; v++) {
        idom[v] = NOT_REACHED;
    }
    n_num = dfs(fwd, roots, n_roots, idom, vertex, parent, (hg_edge *)work);

    /* ---- pass 2: semidominators ---- */
    label = (hg_node *)work; /* the cursors are dead */
    semi = label + cap;
#pragma omp parallel for schedule(static)
    for (i = 0; i < (int64_t)n_num; i++) {
        anc[i] = parent[i];
        label[i] = (hg_node)i;
        semi[i] = parent[i];
    }
    for (size_t k = 0; k < n_roots; k++) {
        semi[idom[roots[k]]] = 0; /* the virtual root is a predecessor */
    }
    semidominators(rev, n_num, idom, vertex, anc, label, semi, stack);

    /* ---- pass 3: immediate dominators, then back to node ids ---- */
    nearest_common_ancestors(n_num, semi, parent);
#pragma omp parallel for schedule(static)
    for (i = 1; i < (int64_t)n_num; i++) {
        hg_node d = parent[i];
        idom[vertex[i]] = d == 0 ? HG_DOM_VIRTUAL : vertex[d];
    }

cleanup:
    hg_free(vertex, bytes4);
    hg_free(parent, bytes4);
    hg_free(anc, bytes4);
    hg_free(stack, bytes4);
    hg_free(work, bytes8);
    hg_csr_destroy(&own_rev);
    return st;
}
