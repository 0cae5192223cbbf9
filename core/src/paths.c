/*
 * paths.c -- retention paths in bulk: the targets (leaked objects) grouped
 * by the signature of their shortest path from a root, so that a million
 * leaked nodes print as the few ways they are held.
 *
 * Signature: two paths have the same signature when their type sequences
 * are equal and so are the keys of the keyed nodes on them (the caller
 * keys roots by what holds them, modules, classes: paths from two
 * threads' locals, or through two modules, never share a group).
 *
 * Algorithm: signatures are hash-consed along the shortest-path tree,
 * sig(v) = intern(sig(parent(v)), type(v)), with HG_NONE as the signature
 * above a root and a keyed node's key entering as one more step just
 * above it (a pseudo type KEY_TYPE | key, which no type id reaches: both
 * are below 2^31).  Each target climbs its parents to the first node
 * already signed (or to its root), then interns its way back down, so the
 * work is the number of distinct nodes on the paths, never the sum of the
 * path lengths (a leaked linked list stays linear).  The targets'
 * signatures are the groups: a count per group, its example (the member
 * of lowest address, the same in every snapshot of one heap whatever its
 * node numbering), its retained bytes with each byte counted once
 * (hg_domtree_class_retained with the signatures as classes).  Groups
 * rank most members first, then most retained bytes, then lowest example
 * address (then smallest example id, for equal addresses).  Serial: one
 * pass over the targets, a hash table shared by all of them.
 *
 * Encodings: parent[v] as hg_bfs leaves it (HG_NONE: unreached) with the
 * roots of the search set to HG_PATH_ROOT; sig[v] == HG_NONE: v not
 * signed yet, and after the grouping pass, v not a target.  The intern
 * table (hg__addr_table) maps parent signature << 32 | type to the
 * signature id, ids 0, 1, ... in order of first use.
 *
 * Memory: 8 bytes per node (signatures, climb stack), about 18 bytes per
 * signature (table) and 20 per signature for the grouping.  Scale: 1M-50M
 * nodes, up to millions of targets.
 */
#include "hg_internal.h"

#include <stdlib.h>

#define KEY_TYPE 0x80000000u /* pseudo types of keys; type ids are below */

typedef struct ranked_group {
    hg_path_group grp;
    uint64_t addr; /* the example's */
} ranked_group;

static int cmp_ranked_group(const void *pa, const void *pb) {
    const ranked_group *a = pa, *b = pb;
    if (a->grp.count != b->grp.count) {
        return a->grp.count > b->grp.count ? -1 : 1;
    }
    if (a->grp.retained != b->grp.retained) {
        return a->grp.retained > b->grp.retained ? -1 : 1;
    }
    if (a->addr != b->addr) {
        return a->addr < b->addr ? -1 : 1;
    }
    return (a->grp.example > b->grp.example) -
           (a->grp.example < b->grp.example);
}

/* 1 and *key when keys lists w, else 0. */
static int key_of(const hg_path_keys *keys, hg_node w, uint32_t *key) {
    size_t lo = 0, hi = keys == NULL ? 0 : keys->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys->ids[mid] < w) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (keys != NULL && lo < keys->n && keys->ids[lo] == w) {
        *key = keys->key[lo];
        return 1;
    }
    return 0;
}

/* Nonzero if an argument breaks the contract in heapgraph.h. */
static int bad_input(const hg_graph *g, const hg_node *parent,
                     const hg_path_keys *keys) {
    for (hg_node v = 0; v < g->n_nodes; v++) {
        hg_node p = parent[v];
        if ((p >= g->n_nodes && p != HG_NONE && p != HG_PATH_ROOT) ||
            g->type_id[v] >= KEY_TYPE) {
            return 1;
        }
    }
    for (size_t i = 0; keys != NULL && i < keys->n; i++) {
        if (keys->ids[i] >= g->n_nodes || keys->key[i] >= KEY_TYPE ||
            (i > 0 && keys->ids[i] <= keys->ids[i - 1])) {
            return 1;
        }
    }
    return 0;
}

/* The signature id of (above, type), a new one if unseen. */
static hg_status intern(hg__addr_table *tab, hg_node above, uint32_t type,
                        hg_node *out) {
    if (tab->count >= HG_MAX_NODES) {
        return HG_ERANGE;
    }
    return hg__addr_table_insert(tab, (uint64_t)above << 32 | type,
                                 (hg_node)tab->count, out);
}

/* Sign target v and the unsigned nodes on its path: climb to the first
 * signed node (or the root), then intern back down.  HG_EINVAL when the
 * climb is longer than the graph (parents in a cycle) or meets an
 * unreached node. */
static hg_status sign_path(const hg_graph *g, const hg_node *parent,
                           const hg_path_keys *keys, hg_node v, hg_node *stack,
                           hg_node *sig, hg__addr_table *tab) {
    size_t depth = 0;
    hg_node u = v;
    while (sig[u] == HG_NONE) {
        if (depth == g->n_nodes || parent[u] == HG_NONE) {
            return HG_EINVAL; /* a cycle, or a path from no root */
        }
        stack[depth++] = u;
        if (parent[u] == HG_PATH_ROOT) {
            break;
        }
        u = parent[u];
    }
    while (depth > 0) {
        hg_node w = stack[--depth];
        hg_node above = parent[w] == HG_PATH_ROOT ? HG_NONE : sig[parent[w]];
        uint32_t key;
        hg_status st;
        if (key_of(keys, w, &key)) {
            st = intern(tab, above, KEY_TYPE | key, &above);
            if (st != HG_OK) {
                return st;
            }
        }
        st = intern(tab, above, g->type_id[w], &sig[w]);
        if (st != HG_OK) {
            return st;
        }
    }
    return HG_OK;
}

/* sig[v] for every reached target (and the nodes on their paths); counts
 * the unreached targets. */
static hg_status sign_targets(const hg_graph *g, const hg_node *parent,
                              const uint8_t *targets, const hg_path_keys *keys,
                              hg_node *sig, hg__addr_table *tab,
                              size_t *n_unreached) {
    size_t nb = (size_t)g->n_nodes * sizeof(hg_node);
    hg_node *stack = hg_alloc(nb);
    hg_status st = HG_OK;
    if (stack == NULL) {
        return HG_ENOMEM;
    }
    memset(sig, 0xff, nb); /* all HG_NONE */
    for (hg_node v = 0; v < g->n_nodes && st == HG_OK; v++) {
        if (!targets[v] || sig[v] != HG_NONE) {
            continue;
        }
        if (parent[v] == HG_NONE) {
            (*n_unreached)++;
            continue;
        }
        st = sign_path(g, parent, keys, v, stack, sig, tab);
    }
    hg_free(stack, nb);
    return st;
}

/* The groups of the targets' signatures, ranked, into out; sig[v] becomes
 * HG_NONE for every node but the targets. */
static hg_status rank_groups(const hg_graph *g, const uint8_t *targets,
                             hg_node *sig, hg_node n_sigs, const hg_node *idom,
                             const uint64_t *retained, hg_path_groups *out) {
    size_t sb = (size_t)n_sigs * sizeof(uint64_t);
    uint64_t *count = hg_calloc(sb), *bytes = hg_calloc(sb);
    hg_node *example = hg_alloc((size_t)n_sigs * sizeof(hg_node));
    ranked_group *rg = NULL;
    size_t n_groups = 0;
    hg_status st = HG_OK;

    if (count == NULL || bytes == NULL || example == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    for (hg_node v = 0; v < g->n_nodes; v++) {
        if (!targets[v] || sig[v] == HG_NONE) {
            sig[v] = HG_NONE;
        } else if (count[sig[v]]++ == 0) {
            example[sig[v]] = v;
            n_groups++;
        } else if (g->addr[v] < g->addr[example[sig[v]]]) {
            example[sig[v]] = v;
        }
    }
    if (idom != NULL) {
        st = hg_domtree_class_retained(idom, g->n_nodes, retained, sig, n_sigs,
                                       NULL, bytes);
        if (st != HG_OK) {
            goto cleanup;
        }
    }
    rg = hg_alloc(n_groups * sizeof(ranked_group));
    out->groups = hg_alloc(n_groups * sizeof(hg_path_group));
    if (rg == NULL || out->groups == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    for (size_t s = 0, i = 0; s < n_sigs; s++) {
        if (count[s] != 0) {
            ranked_group r = {{count[s], bytes[s], example[s]},
                              g->addr[example[s]]};
            rg[i++] = r;
        }
    }
    qsort(rg, n_groups, sizeof(ranked_group), cmp_ranked_group);
    for (size_t i = 0; i < n_groups; i++) {
        out->groups[i] = rg[i].grp;
    }
    out->n_groups = n_groups;
cleanup:
    if (st != HG_OK) {
        hg_free(out->groups, n_groups * sizeof(hg_path_group));
        out->groups = NULL;
    }
    hg_free(rg, n_groups * sizeof(ranked_group));
    hg_free(count, sb);
    hg_free(bytes, sb);
    hg_free(example, (size_t)n_sigs * sizeof(hg_node));
    return st;
}

hg_status hg_paths_group(const hg_graph *g, const hg_node *parent,
                         const uint8_t *targets, const hg_path_keys *keys,
                         const hg_node *idom, const uint64_t *retained,
                         hg_path_groups *out) {
    size_t nb;
    hg_node *sig = NULL;
    hg__addr_table tab;
    hg_path_groups res = {0};
    hg_status st;

    if (g == NULL || out == NULL || (idom == NULL) != (retained == NULL) ||
        (g->n_nodes > 0 && (parent == NULL || targets == NULL)) ||
        (keys != NULL && keys->n > 0 &&
         (keys->ids == NULL || keys->key == NULL))) {
        return HG_EINVAL;
    }
    if (bad_input(g, parent, keys)) {
        return HG_EINVAL;
    }
    nb = (size_t)g->n_nodes * sizeof(hg_node);
    sig = hg_alloc(nb);
    st = hg__addr_table_init(&tab, 1024);
    if (sig == NULL || st != HG_OK) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    st = sign_targets(g, parent, targets, keys, sig, &tab, &res.n_unreached);
    if (st == HG_OK) {
        st = rank_groups(g, targets, sig, (hg_node)tab.count, idom, retained,
                         &res);
    }
    if (st == HG_OK) {
        *out = res;
    }
cleanup:
    hg__addr_table_destroy(&tab);
    hg_free(sig, nb);
    return st;
}

void hg_path_groups_destroy(hg_path_groups *pg) {
    if (pg == NULL) {
        return;
    }
    hg_free(pg->groups, pg->n_groups * sizeof(hg_path_group));
    memset(pg, 0, sizeof(*pg));
}
