/*
 * cycles.c -- reference cycles grouped by what they are made of: the
 * strongly connected components of two nodes or more (hg_scc) keyed by
 * their set of type ids, so that a million leaked (Node, dict) rings print
 * as one line.
 *
 * Algorithm: one pass counts each component's nodes and shallow bytes;
 * a second lists the distinct (component, type) pairs of the components
 * of two nodes or more, through a hash table (hg__addr_table, key comp <<
 * 32 | type) that keeps each pair once.  Sorted,
 * the pairs give each component its ascending run of type ids; the runs
 * are sorted by length, then type ids, then component, and equal runs cut
 * into groups.  Serial: O(n_nodes + p log p) for p distinct pairs, a few
 * per cyclic component.
 *
 * Encodings: comp[v] as hg_scc writes it (HG_NONE: left out); a group's
 * type ids are types[first_type .. first_type + n_types), ascending; its
 * example is its component of smallest id.  Groups come in order of their
 * type-id lists: shorter first, then lexicographically.
 *
 * Memory: 12 bytes per component (counts), about 40 bytes per distinct
 * pair (table, list, runs).  Scale: 1M-50M nodes; cyclic components are
 * usually a few percent of them.
 */
#include "hg_internal.h"

#include <stdlib.h>

typedef struct comp_key {
    const uint64_t *run; /* its (comp << 32 | type) pairs */
    uint32_t len;
    hg_node comp;
} comp_key;

/* Scratch of one grouping; freed together. */
typedef struct scratch {
    hg_node n_comp;
    uint32_t *csize; /* nodes per component */
    uint64_t *cbytes;
    uint64_t *pairs; /* distinct pairs, then sorted */
    size_t n_pairs;
    size_t pairs_cap; /* entries allocated */
    comp_key *keys;   /* one per cyclic component */
    size_t n_keys;
} scratch;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Compare the type-id runs: shorter first, then lexicographically. */
static int cmp_types(const comp_key *a, const comp_key *b) {
    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }
    for (uint32_t i = 0; i < a->len; i++) {
        uint32_t x = (uint32_t)a->run[i], y = (uint32_t)b->run[i];
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    return 0;
}

static int cmp_comp_key(const void *pa, const void *pb) {
    const comp_key *a = pa, *b = pb;
    int c = cmp_types(a, b);
    return c != 0 ? c : (a->comp > b->comp) - (a->comp < b->comp);
}

static void scratch_free(scratch *s) {
    hg_free(s->csize, (size_t)s->n_comp * sizeof(uint32_t));
    hg_free(s->cbytes, (size_t)s->n_comp * sizeof(uint64_t));
    hg_free(s->pairs, s->pairs_cap * sizeof(uint64_t));
    hg_free(s->keys, s->n_keys * sizeof(comp_key));
}

/* Node counts and bytes per component; the distinct (comp, type) pairs of
 * the cyclic ones, sorted. */
static hg_status list_pairs(const hg_graph *g, const hg_node *comp,
                            scratch *s) {
    hg__addr_table seen;
    hg_status st = hg__addr_table_init(&seen, 1024);

    for (hg_node v = 0; v < g->n_nodes; v++) {
        if (comp[v] != HG_NONE) {
            s->csize[comp[v]]++;
            s->cbytes[comp[v]] += hg_node_size(g, v);
        }
    }
    for (hg_node v = 0; v < g->n_nodes && st == HG_OK; v++) {
        hg_node got;
        if (comp[v] != HG_NONE && s->csize[comp[v]] >= 2) {
            st = hg__addr_table_insert(
                &seen, (uint64_t)comp[v] << 32 | g->type_id[v], 0, &got);
        }
    }
    if (st == HG_OK) {
        s->pairs_cap = seen.count;
        s->pairs = hg_alloc(s->pairs_cap * sizeof(uint64_t));
        st = s->pairs == NULL ? HG_ENOMEM : HG_OK;
    }
    if (st == HG_OK) {
        if (seen.has_zero) { /* the pair (0, 0) */
            s->pairs[s->n_pairs++] = 0;
        }
        for (uint64_t i = 0; i < seen.cap; i++) {
            if (seen.keys[i] != 0) {
                s->pairs[s->n_pairs++] = seen.keys[i];
            }
        }
        qsort(s->pairs, s->n_pairs, sizeof(uint64_t), cmp_u64);
    }
    hg__addr_table_destroy(&seen);
    return st;
}

/* One key per cyclic component: its run of pairs; sorted. */
static hg_status sort_keys(scratch *s) {
    size_t n_cyclic = 0;
    for (hg_node x = 0; x < s->n_comp; x++) {
        n_cyclic += s->csize[x] >= 2;
    }
    s->keys = hg_alloc(n_cyclic * sizeof(comp_key));
    if (s->keys == NULL) {
        return HG_ENOMEM;
    }
    for (size_t i = 0; i < s->n_pairs;) {
        size_t j = i;
        while (j < s->n_pairs && s->pairs[j] >> 32 == s->pairs[i] >> 32) {
            j++;
        }
        s->keys[s->n_keys].run = s->pairs + i;
        s->keys[s->n_keys].len = (uint32_t)(j - i);
        s->keys[s->n_keys].comp = (hg_node)(s->pairs[i] >> 32);
        s->n_keys++;
        i = j;
    }
    /* n_keys == n_cyclic: every cyclic component has a pair */
    qsort(s->keys, s->n_keys, sizeof(comp_key), cmp_comp_key);
    return HG_OK;
}

/* The groups: runs of keys with equal type ids. */
static hg_status cut_groups(const scratch *s, hg_cycle_groups *out) {
    size_t n_groups = 0, n_types = 0;
    for (size_t i = 0; i < s->n_keys; i++) {
        if (i == 0 || cmp_types(&s->keys[i - 1], &s->keys[i]) != 0) {
            n_groups++;
            n_types += s->keys[i].len;
        }
    }
    out->groups = hg_alloc(n_groups * sizeof(hg_cycle_group));
    out->types = hg_alloc(n_types * sizeof(uint32_t));
    if (out->groups == NULL || out->types == NULL) {
        hg_free(out->groups, n_groups * sizeof(hg_cycle_group));
        hg_free(out->types, n_types * sizeof(uint32_t));
        return HG_ENOMEM;
    }
    out->n_groups = out->n_types = 0;
    for (size_t i = 0; i < s->n_keys; i++) {
        const comp_key *k = &s->keys[i];
        hg_cycle_group *grp = &out->groups[out->n_groups];
        if (i == 0 || cmp_types(&s->keys[i - 1], k) != 0) {
            grp = &out->groups[out->n_groups++];
            memset(grp, 0, sizeof(*grp));
            grp->first_type = out->n_types;
            grp->n_types = k->len;
            grp->example = k->comp; /* keys of a group ascend by comp */
            for (uint32_t t = 0; t < k->len; t++) {
                out->types[out->n_types++] = (uint32_t)k->run[t];
            }
        } else {
            grp = &out->groups[out->n_groups - 1];
        }
        grp->n_comps++;
        grp->n_nodes += s->csize[k->comp];
        grp->nbytes += s->cbytes[k->comp];
    }
    return HG_OK;
}

hg_status hg_cycles_group(const hg_graph *g, const hg_node *comp,
                          hg_node n_comp, hg_cycle_groups *out) {
    scratch s = {0};
    hg_cycle_groups res = {0};
    hg_status st;

    if (g == NULL || out == NULL || (g->n_nodes > 0 && comp == NULL)) {
        return HG_EINVAL;
    }
    for (hg_node v = 0; v < g->n_nodes; v++) {
        if (comp[v] >= n_comp && comp[v] != HG_NONE) {
            return HG_EINVAL;
        }
    }
    if (hg__size_overflow_bad(g->size, g->n_nodes, g->size_over,
                              g->n_size_over)) {
        return HG_EINVAL;
    }
    s.n_comp = n_comp;
    s.csize = hg_calloc((size_t)n_comp * sizeof(uint32_t));
    s.cbytes = hg_calloc((size_t)n_comp * sizeof(uint64_t));
    if (s.csize == NULL || s.cbytes == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    st = list_pairs(g, comp, &s);
    if (st == HG_OK) {
        st = sort_keys(&s);
    }
    if (st == HG_OK) {
        st = cut_groups(&s, &res);
    }
    if (st == HG_OK) {
        *out = res;
    }
cleanup:
    scratch_free(&s);
    return st;
}

void hg_cycle_groups_destroy(hg_cycle_groups *cg) {
    if (cg == NULL) {
        return;
    }
    hg_free(cg->groups, cg->n_groups * sizeof(hg_cycle_group));
    hg_free(cg->types, cg->n_types * sizeof(uint32_t));
    memset(cg, 0, sizeof(*cg));
}
