/*
 * domtree.c -- the dominator tree of a heap graph, for retained sizes.
 *
 * A node d dominates w when every path from the roots to w passes through
 * d: freeing d frees w.  The roots hang below one virtual root, so
 * "reachable" means reachable from any root and a node held by two roots
 * through disjoint paths is dominated by the virtual root alone.
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
 * All three are sequential (every step depends on earlier ones) and random
 * access bound.  Nothing recurses: a 10M-node chain is 10M iterations of a
 * loop.  The tree is unique, so the answer depends neither on the DFS
 * order nor on the thread count (the loops that fill and translate the
 * output run in parallel; they write disjoint entries).
 *
 * The Cooper-Harvey-Kennedy iteration is deliberately not used: its number
 * of sweeps grows with chain length (ANCHORS.md).
 *
 * Heaps are mostly nodes with one referrer (ANCHORS.md), which is then
 * their immediate dominator:
 *   - leaves with one referrer (str, int, float owned by one container:
 *     no out-edges, in-degree 1, not a root) lie on no path to any other
 *     node, so they are left out of the three passes altogether: a
 *     parallel pre-pass marks them in the `skip` bitmap the DFS uses for
 *     visited nodes, and a post-pass gives each its referrer (HG_NONE if
 *     the referrer is unreached);
 *   - for the other nodes with one referrer, that referrer is the tree
 *     parent, the semidominator and the immediate dominator: pass 2 skips
 *     their reverse rows, pass 3 does not walk.
 *
 * Memory layout, for the cache: the per-node state of passes 2-3 is one
 * 16-byte record per preorder number (tree parent then idom, compression
 * ancestor, best semi on the compressed path, semi; the DFS keeps its edge
 * cursor where the last two go later), so each step of eval's walk up a
 * compressed path is one cache miss, not four.  Pass 2 prefetches the reverse
 * rows and the predecessors' numbers a few nodes ahead: its order is known in
 * advance.
 *
 * Encodings: rec[i] for preorder number i (0 = the virtual root); vertex[i]
 * = node id (n_nodes for 0); num[v] = v's preorder number or NOT_REACHED
 * (it lives in the caller's idom array, which is overwritten at the end:
 * idom[v] = vertex[rec[num[v]].parent], HG_DOM_VIRTUAL for 0, HG_NONE when
 * not reached); skip bit v = visited by the DFS, or a one-referrer leaf.
 *
 * Memory: 20 bytes per node (vertex, rec) plus n/8 bytes of bitmap and the
 * compression stack (4 bytes per node at worst, touched only as deep as
 * paths get), plus the reverse graph when the caller has none ((n+1)*8 +
 * m*4 bytes).  Everything is allocated before the caller's array is
 * touched.  Expected scale: 1M-50M nodes; ANCHORS.md quotes a plain C
 * SEMI-NCA at 3.4 / 1.8 / 1.0M nodes/s at 1 / 10 / 30M nodes.  Measured
 * here (bench/core_bench.cc, heap-shaped graphs, 2 busy cores, CPU time):
 * about 6.5M nodes/s at 1M nodes and 2.6M nodes/s at 10M, where 20 % of
 * the nodes are one-referrer leaves; igraph_dominator_tree on the same
 * graphs, same answer, is 6-7x slower.
 */
#include "hg_internal.h"

#define NOT_REACHED HG_NONE
#define PREFETCH_AHEAD 8 /* pass 2: nodes between a prefetch and its use */

typedef struct dom_rec {
    hg_node parent; /* tree parent; pass 3 makes it the immediate dominator */
    hg_node anc;    /* path compression: an ancestor, processed or not */
    union {
        hg_edge cursor; /* pass 1: next out-edge to follow */
        struct {
            hg_node best; /* smallest semi from here up to, not incl., anc */
            hg_node semi; /* semidominator (preorder number) */
        } s;
    } u;
} dom_rec;

static inline int bit_test(const uint64_t *bits, hg_node v) {
    return (int)((bits[v >> 6] >> (v & 63)) & 1u);
}

static inline void bit_set(uint64_t *bits, hg_node v) {
    bits[v >> 6] |= (uint64_t)1 << (v & 63);
}

/* One referrer, no referents: nothing passes through v. */
static inline int one_referrer_leaf(const hg_csr *fwd, const hg_csr *rev,
                                    hg_node v) {
    return fwd->offsets[v + 1] == fwd->offsets[v] &&
           rev->offsets[v + 1] - rev->offsets[v] == 1;
}

/* skip = one-referrer leaves that are not roots.  Whole 64-node words per
 * iteration: no two threads write one word. */
static void mark_leaves(const hg_csr *fwd, const hg_csr *rev,
                        const hg_node *roots, size_t n_roots, uint64_t *skip,
                        int par) {
    hg_node n = fwd->n_nodes;
    int64_t n_words = ((int64_t)n + 63) / 64, k;

    (void)par; /* without OpenMP */
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (k = 0; k < n_words; k++) {
        uint64_t word = 0;
        hg_node lo = (hg_node)(k * 64);
        hg_node hi = n - lo < 64 ? n : lo + 64;
        for (hg_node v = lo; v < hi; v++) {
            word |= (uint64_t)one_referrer_leaf(fwd, rev, v) << (v - lo);
        }
        skip[k] = word;
    }
    for (size_t i = 0; i < n_roots; i++) {
        skip[roots[i] >> 6] &= ~((uint64_t)1 << (roots[i] & 63));
    }
}

/* Pass 1: depth-first preorder from the virtual root (0): roots in the
 * given order, edges in CSR order, nodes in skip left out (and visited
 * ones added to it).  Fills vertex, rec[].parent and .anc (num is
 * scattered from vertex afterwards, in parallel).  Returns N, the count of
 * numbered nodes with the virtual root. */
static hg_node dfs(const hg_csr *g, const hg_node *roots, size_t n_roots,
                   uint64_t *skip, hg_node *vertex, dom_rec *rec) {
    const hg_edge *off = g->offsets;
    const hg_node *tgt = g->targets;
    hg_node n_num = 1;

    vertex[0] = g->n_nodes;
    rec[0].parent = rec[0].anc = 0;
    for (size_t k = 0; k < n_roots; k++) {
        hg_node r = roots[k], cur;
        if (bit_test(skip, r)) {
            continue; /* listed twice, or reached from an earlier root */
        }
        cur = n_num++;
        bit_set(skip, r);
        vertex[cur] = r;
        rec[cur].parent = rec[cur].anc = 0;
        rec[cur].u.cursor = off[r];
        while (cur != 0) {
            hg_node v = vertex[cur];
            hg_edge e = rec[cur].u.cursor, end = off[v + 1];
            hg_node next = rec[cur].parent; /* pop, unless a child is new */
            for (; e < end; e++) {
                hg_node w = tgt[e];
                if (!bit_test(skip, w)) {
                    rec[cur].u.cursor = e + 1;
                    if (e + 1 < end) {
                        /* back here after w's subtree, usually small */
                        __builtin_prefetch(&off[tgt[e + 1]]);
                    }
                    next = n_num++;
                    bit_set(skip, w);
                    vertex[next] = w;
                    rec[next].parent = rec[next].anc = cur;
                    rec[next].u.cursor = off[w];
                    break;
                }
            }
            cur = next;
        }
    }
    return n_num;
}

/* Tarjan's eval: the smallest semi on the path from v (processed) up to,
 * not including, the first ancestor numbered below `last` (not yet
 * processed), compressing that path.  Tarjan keeps a label (the node of
 * smallest semi) per node; SEMI-NCA only needs that node's semi, so `best`
 * holds the value itself and compression reads no other node's record.
 * stack: scratch for the path. */
static hg_node eval(hg_node v, hg_node last, dom_rec *rec, hg_node *stack) {
    size_t top = 0;
    hg_node p, p_best;

    if (rec[v].anc < last) {
        return rec[v].u.s.best;
    }
    /* the path from v up to the last node whose ancestor is processed */
    p = v;
    do {
        stack[top++] = p;
        p = rec[p].anc;
    } while (rec[p].anc >= last);
    /* walk it back down: point each node at the top, keep the best */
    p_best = rec[p].u.s.best;
    do {
        hg_node x = stack[--top];
        rec[x].anc = rec[p].anc;
        if (p_best < rec[x].u.s.best) {
            rec[x].u.s.best = p_best;
        } else {
            p_best = rec[x].u.s.best;
        }
        p = x;
    } while (top > 0);
    return rec[v].u.s.best;
}

/* Hint the cache about what pass 2 reads for preorder number i: its
 * reverse row's bounds (far ahead), then the row and the numbers of its
 * first predecessors (nearer, once the bounds are in). */
static inline void prefetch_far(const hg_csr *rev, const hg_node *vertex,
                                hg_node i) {
    __builtin_prefetch(&rev->offsets[vertex[i]]);
}

static inline void prefetch_near(const hg_csr *rev, const hg_node *num,
                                 const hg_node *vertex, hg_node i) {
    hg_node w = vertex[i];
    hg_edge e = rev->offsets[w], end = rev->offsets[w + 1];
    if (end - e > 1) {
        __builtin_prefetch(&num[rev->targets[e]]);
        __builtin_prefetch(&num[rev->targets[e + 1]]);
    }
}

/* Pass 2: semi for i = N-1 .. 1.  semi starts as parent (0 for roots). */
static void semidominators(const hg_csr *rev, hg_node n_num, const hg_node *num,
                           const hg_node *vertex, dom_rec *rec,
                           hg_node *stack) {
    for (hg_node i = n_num - 1; i >= 1; i--) {
        hg_node w = vertex[i], s = rec[i].u.s.semi;
        hg_edge e = rev->offsets[w], end = rev->offsets[w + 1];
        if (i > 2 * PREFETCH_AHEAD) {
            prefetch_far(rev, vertex, i - 2 * PREFETCH_AHEAD);
            prefetch_near(rev, num, vertex, i - PREFETCH_AHEAD);
        }
        /* one referrer: it is the tree parent, and semi stays parent; a
         * child of the virtual root cannot do better than 0 */
        if (s == 0 || end - e <= 1) {
            continue;
        }
        for (; e < end; e++) {
            hg_node j, c;
            if (e + 2 * PREFETCH_AHEAD < end) { /* long rows: hubs */
                hg_node ahead = num[rev->targets[e + PREFETCH_AHEAD]];
                __builtin_prefetch(&num[rev->targets[e + 2 * PREFETCH_AHEAD]]);
                if (ahead != NOT_REACHED) {
                    __builtin_prefetch(&rec[ahead]);
                }
            }
            j = num[rev->targets[e]];
            if (j == NOT_REACHED) {
                continue;
            }
            c = j <= i ? j : eval(j, i + 1, rec, stack);
            if (c < s) {
                s = c;
            }
        }
        rec[i].u.s.semi = s;
        rec[i].u.s.best = s;
    }
}

/* Pass 3: rec[i].parent becomes idom(i), in preorder (so the idom of every
 * smaller number is final when read). */
static void nearest_common_ancestors(hg_node n_num, dom_rec *rec) {
    for (hg_node i = 1; i < n_num; i++) {
        hg_node d = rec[i].parent, s = rec[i].u.s.semi;
        while (d > s) {
            d = rec[d].parent;
        }
        rec[i].parent = d;
    }
}

hg_status hg_domtree_build(const hg_csr *fwd, const hg_csr *rev,
                           const hg_node *roots, size_t n_roots,
                           hg_node *idom) {
    hg_csr own_rev = {0};
    hg_node n, n_num;
    size_t cap, n_words;
    hg_node *vertex = NULL, *stack = NULL;
    dom_rec *rec = NULL;
    uint64_t *skip = NULL;
    hg_status st = HG_OK;
    int64_t v, i;
    int par; /* parallel loops only when big enough to pay (hg__n_chunks) */

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
    n_words = ((size_t)n + 63) / 64 + 1;
    par = hg__n_chunks(n) > 1;
    (void)par;
    if (rev == NULL) {
        st = hg_csr_transpose(fwd, &own_rev);
        if (st != HG_OK) {
            goto cleanup;
        }
        rev = &own_rev;
    }
    vertex = hg_alloc(cap * sizeof(hg_node));
    stack = hg_alloc(cap * sizeof(hg_node));
    rec = hg_alloc(cap * sizeof(dom_rec));
    skip = hg_alloc(n_words * sizeof(uint64_t));
    if (vertex == NULL || stack == NULL || rec == NULL || skip == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }

    /* ---- pass 1: depth-first preorder; num lives in idom ---- */
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n; v++) {
        idom[v] = NOT_REACHED;
    }
    mark_leaves(fwd, rev, roots, n_roots, skip, par);
    n_num = dfs(fwd, roots, n_roots, skip, vertex, rec);
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (i = 1; i < (int64_t)n_num; i++) {
        idom[vertex[i]] = (hg_node)i;
    }

    /* ---- pass 2: semidominators (the DFS cursors are dead) ---- */
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (i = 0; i < (int64_t)n_num; i++) {
        rec[i].u.s.semi = rec[i].parent;
        rec[i].u.s.best = rec[i].parent; /* read once i is processed */
    }
    for (size_t k = 0; k < n_roots; k++) {
        dom_rec *r = &rec[idom[roots[k]]]; /* the virtual root precedes */
        r->u.s.semi = r->u.s.best = 0;
    }
    semidominators(rev, n_num, idom, vertex, rec, stack);

    /* ---- pass 3: immediate dominators ---- */
    nearest_common_ancestors(n_num, rec);

    /* ---- back to node ids: one-referrer leaves (their referrer's num is
     * still in idom), then the numbered nodes (num is overwritten) ---- */
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)n; v++) {
        if (idom[v] == NOT_REACHED && one_referrer_leaf(fwd, rev, (hg_node)v) &&
            bit_test(skip, (hg_node)v)) {
            hg_node p = rev->targets[rev->offsets[v]];
            /* p has an out-edge: never a leaf, so its num is intact */
            idom[v] = idom[p] == NOT_REACHED ? HG_NONE : p;
        }
    }
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (i = 1; i < (int64_t)n_num; i++) {
        hg_node d = rec[i].parent;
        idom[vertex[i]] = d == 0 ? HG_DOM_VIRTUAL : vertex[d];
    }

cleanup:
    hg_free(vertex, cap * sizeof(hg_node));
    hg_free(stack, cap * sizeof(hg_node));
    hg_free(rec, cap * sizeof(dom_rec));
    hg_free(skip, n_words * sizeof(uint64_t));
    hg_csr_destroy(&own_rev);
    return st;
}
