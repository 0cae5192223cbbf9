/*
 * ref.c -- naive serial references for tests/core (see ref.h).
 */
#include "ref.h"

#include <stdlib.h>
#include <string.h>

#define UNSEEN UINT32_MAX

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        abort(); /* test code: no memory to report with */
    }
    return p;
}

void ref_in_degree(const hg_csr *g, const uint8_t *mask, uint32_t *in_degree) {
    for (hg_node v = 0; v < g->n_nodes; v++) {
        in_degree[v] = 0;
    }
    for (hg_node u = 0; u < g->n_nodes; u++) {
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            if (mask == NULL || mask[u]) {
                in_degree[g->targets[e]]++;
            }
        }
    }
}

typedef struct pair {
    hg_node a, b;
} pair;

static int cmp_pair(const void *x, const void *y) {
    const pair *p = x, *q = y;
    if (p->a != q->a) {
        return p->a < q->a ? -1 : 1;
    }
    if (p->b != q->b) {
        return p->b < q->b ? -1 : 1;
    }
    return 0;
}

void ref_transpose(const hg_csr *g, hg_edge **off_out, hg_node **tgt_out) {
    size_t m = g->n_edges, k = 0;
    pair *p = xmalloc(m * sizeof(pair));
    hg_edge *off = xmalloc(((size_t)g->n_nodes + 1) * sizeof(hg_edge));
    hg_node *tgt = xmalloc(m * sizeof(hg_node));

    for (hg_node u = 0; u < g->n_nodes; u++) {
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            p[k].a = g->targets[e];
            p[k].b = u;
            k++;
        }
    }
    qsort(p, m, sizeof(pair), cmp_pair);
    k = 0;
    for (hg_node v = 0; v < g->n_nodes; v++) {
        off[v] = k;
        while (k < m && p[k].a == v) {
            tgt[k] = p[k].b;
            k++;
        }
    }
    off[g->n_nodes] = k;
    free(p);
    *off_out = off;
    *tgt_out = tgt;
}

void ref_histogram(const uint32_t *type_ids, hg_node n, const uint8_t *mask,
                   uint32_t n_types, uint64_t *counts) {
    memset(counts, 0, (size_t)n_types * sizeof(uint64_t));
    for (hg_node v = 0; v < n; v++) {
        if (mask == NULL || mask[v]) {
            counts[type_ids[v]]++;
        }
    }
}

void ref_type_bytes(const uint32_t *type_ids, const uint64_t *sizes, hg_node n,
                    const uint8_t *mask, uint32_t n_types, uint64_t *bytes) {
    memset(bytes, 0, (size_t)n_types * sizeof(uint64_t));
    for (hg_node v = 0; v < n; v++) {
        if (mask == NULL || mask[v]) {
            bytes[type_ids[v]] += sizes[v];
        }
    }
}

void ref_type_edges(const hg_csr *g, const uint32_t *type_ids,
                    const uint8_t *mask, const uint32_t *type_slot, uint32_t k,
                    uint64_t *counts) {
    memset(counts, 0, (size_t)k * k * sizeof(uint64_t));
    for (hg_node u = 0; u < g->n_nodes; u++) {
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            uint32_t a = type_slot[type_ids[u]], b = type_slot[type_ids[v]];
            if ((mask == NULL || (mask[u] && mask[v])) && a != HG_NONE &&
                b != HG_NONE) {
                counts[(size_t)a * k + b]++;
            }
        }
    }
}

/* ---- gc order -------------------------------------------------------------
 * Two circular doubly linked lists with sentinels (young = node n, the
 * unreachable list = node n + 1), as in Modules/gcmodule.c.
 */

typedef struct link {
    hg_node prev, next;
} link;

static void list_unlink(link *l, hg_node x) {
    l[l[x].prev].next = l[x].next;
    l[l[x].next].prev = l[x].prev;
}

static void list_append(link *l, hg_node head, hg_node x) {
    hg_node last = l[head].prev;
    l[last].next = x;
    l[x].prev = last;
    l[x].next = head;
    l[head].prev = x;
}

void ref_gc_order(const hg_csr *g, const uint32_t *refcnt, const hg_node *list,
                  hg_node n_list, hg_node *pos) {
    hg_node n = g->n_nodes, young = n, unreachable = n + 1, rank = 0;
    link *l = malloc(((size_t)n + 2) * sizeof(link));
    int64_t *refs = calloc((size_t)n + 1, sizeof(int64_t));
    /* 0 unlisted, 1 collecting, 2 walked, 3 in the unreachable list */
    uint8_t *where = calloc((size_t)n + 1, 1);

    l[young].prev = l[young].next = young;
    l[unreachable].prev = l[unreachable].next = unreachable;
    for (hg_node i = 0; i < n_list; i++) {
        list_append(l, young, list[i]);
        where[list[i]] = 1;
        refs[list[i]] = refcnt[list[i]];
    }
    for (hg_node i = 0; i < n_list; i++) {
        for (hg_edge e = g->offsets[list[i]]; e < g->offsets[list[i] + 1];
             e++) {
            if (where[g->targets[e]]) {
                refs[g->targets[e]]--;
            }
        }
    }
    for (hg_node prev = young, x = l[young].next; x != young;
         x = l[prev].next) {
        if (refs[x] > 0) {
            for (hg_edge e = g->offsets[x]; e < g->offsets[x + 1]; e++) {
                hg_node v = g->targets[e];
                if (where[v] == 3) { /* moved back to young's tail */
                    list_unlink(l, v);
                    list_append(l, young, v);
                    where[v] = 1;
                    refs[v] = 1;
                } else if (where[v] == 1 && refs[v] <= 0) {
                    refs[v] = 1;
                }
            }
            where[x] = 2;
            prev = x;
        } else {
            list_unlink(l, x);
            list_append(l, unreachable, x);
            where[x] = 3;
        }
    }
    for (hg_node v = 0; v < n; v++) {
        pos[v] = HG_NONE;
    }
    for (hg_node x = l[young].next; x != young; x = l[x].next) {
        pos[x] = rank++;
    }
    free(l);
    free(refs);
    free(where);
}

/* ---- build ----------------------------------------------------------------
 */

typedef struct keyed {
    uint64_t addr;
    uint64_t idx; /* node id, or first edge index */
} keyed;

static int cmp_keyed(const void *x, const void *y) {
    const keyed *p = x, *q = y;
    if (p->addr != q->addr) {
        return p->addr < q->addr ? -1 : 1;
    }
    if (p->idx != q->idx) {
        return p->idx < q->idx ? -1 : 1;
    }
    return 0;
}

static int cmp_idx(const void *x, const void *y) {
    const keyed *p = x, *q = y;
    return p->idx < q->idx ? -1 : p->idx > q->idx;
}

/* Index of addr in the sorted array a[0..n), or -1. */
static long long find_keyed(const keyed *a, size_t n, uint64_t addr) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].addr < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && a[lo].addr == addr ? (long long)lo : -1;
}

int ref_build(hg_node n_src, const uint64_t *src_addrs,
              const hg_raw_edge *edges, hg_edge n_edges, hg_node *n_nodes_out,
              uint64_t **addrs_out, hg_edge **off_out, hg_node **tgt_out) {
    size_t m = n_edges, n_new = 0, n_nodes;
    keyed *srcs = xmalloc((size_t)n_src * sizeof(keyed));
    keyed *others = xmalloc(m * sizeof(keyed));
    keyed *firsts;
    hg_node *id = xmalloc(m * sizeof(hg_node));
    uint64_t *addrs;
    hg_edge *off;
    hg_node *tgt;
    size_t k = 0;

    for (hg_node i = 0; i < n_src; i++) {
        srcs[i].addr = src_addrs[i];
        srcs[i].idx = i;
    }
    qsort(srcs, n_src, sizeof(keyed), cmp_keyed);
    for (hg_node i = 1; i < n_src; i++) {
        if (srcs[i].addr == srcs[i - 1].addr) {
            free(srcs), free(others), free(id);
            return -1;
        }
    }
    /* targets that are not sources, with their edge index */
    for (size_t i = 0; i < m; i++) {
        if (edges[i].source >= n_src) {
            free(srcs), free(others), free(id);
            return -1;
        }
        if (find_keyed(srcs, n_src, edges[i].target_addr) < 0) {
            others[k].addr = edges[i].target_addr;
            others[k].idx = i;
            k++;
        }
    }
    /* first appearance of each: sort by (addr, idx), keep the first */
    qsort(others, k, sizeof(keyed), cmp_keyed);
    firsts = xmalloc(k * sizeof(keyed));
    for (size_t i = 0; i < k; i++) {
        if (i == 0 || others[i].addr != others[i - 1].addr) {
            firsts[n_new++] = others[i];
        }
    }
    /* ids in order of first appearance */
    qsort(firsts, n_new, sizeof(keyed), cmp_idx);
    n_nodes = (size_t)n_src + n_new;
    addrs = xmalloc(n_nodes * sizeof(uint64_t));
    memcpy(addrs, src_addrs, (size_t)n_src * sizeof(uint64_t));
    for (size_t i = 0; i < n_new; i++) {
        addrs[n_src + i] = firsts[i].addr;
        firsts[i].idx = n_src + i;
    }
    qsort(firsts, n_new, sizeof(keyed), cmp_keyed);
    for (size_t i = 0; i < m; i++) {
        long long j = find_keyed(srcs, n_src, edges[i].target_addr);
        if (j >= 0) {
            id[i] = (hg_node)srcs[j].idx;
        } else {
            j = find_keyed(firsts, n_new, edges[i].target_addr);
            id[i] = (hg_node)firsts[j].idx;
        }
    }
    /* CSR: each source's edges in input order */
    off = xmalloc((n_nodes + 1) * sizeof(hg_edge));
    tgt = xmalloc(m * sizeof(hg_node));
    memset(off, 0, (n_nodes + 1) * sizeof(hg_edge));
    for (size_t i = 0; i < m; i++) {
        off[edges[i].source + 1]++;
    }
    for (size_t v = 0; v < n_nodes; v++) {
        off[v + 1] += off[v];
    }
    {
        hg_edge *pos = xmalloc((n_nodes + 1) * sizeof(hg_edge));
        memcpy(pos, off, (n_nodes + 1) * sizeof(hg_edge));
        for (size_t i = 0; i < m; i++) {
            tgt[pos[edges[i].source]++] = id[i];
        }
        free(pos);
    }
    free(srcs);
    free(others);
    free(firsts);
    free(id);
    *n_nodes_out = (hg_node)n_nodes;
    *addrs_out = addrs;
    *off_out = off;
    *tgt_out = tgt;
    return 0;
}

/* ---- searches ---------------------------------------------------------------
 */

void ref_bfs(const hg_csr *g, const hg_node *sources, size_t n_sources,
             const uint8_t *blocked, uint32_t max_depth, hg_node *parent,
             uint32_t *depth) {
    size_t n = g->n_nodes, head = 0, tail = 0;
    hg_node *q = xmalloc(n * sizeof(hg_node));

    for (size_t v = 0; v < n; v++) {
        parent[v] = HG_NONE;
        depth[v] = UNSEEN;
    }
    for (size_t i = 0; i < n_sources; i++) {
        if (depth[sources[i]] == UNSEEN) {
            depth[sources[i]] = 0;
            q[tail++] = sources[i];
        }
    }
    while (head < tail) {
        hg_node u = q[head++];
        if (depth[u] >= max_depth) {
            continue;
        }
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (depth[v] == UNSEEN && !(blocked && blocked[v])) {
                depth[v] = depth[u] + 1;
                q[tail++] = v;
            }
        }
    }
    /* parent: smallest predecessor one level up */
    for (hg_node u = 0; u < n; u++) {
        if (depth[u] == UNSEEN || depth[u] >= max_depth) {
            continue;
        }
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (depth[v] != UNSEEN && depth[v] == depth[u] + 1 &&
                parent[v] == HG_NONE) {
                parent[v] = u; /* u ascends: the first is the smallest */
            }
        }
    }
    free(q);
}

void ref_reach(const hg_csr *g, const hg_node *sources, size_t n_sources,
               const uint8_t *blocked, uint8_t *reached) {
    size_t n = g->n_nodes, top = 0;
    hg_node *stack = xmalloc(n * sizeof(hg_node));

    memset(reached, 0, n);
    for (size_t i = 0; i < n_sources; i++) {
        if (!reached[sources[i]]) {
            reached[sources[i]] = 1;
            stack[top++] = sources[i];
        }
    }
    while (top > 0) {
        hg_node u = stack[--top];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (!reached[v] && !(blocked && blocked[v])) {
                reached[v] = 1;
                stack[top++] = v;
            }
        }
    }
    free(stack);
}

size_t ref_fifo_bfs(const hg_csr *g, hg_node start, const uint8_t *blocked,
                    hg_node *parent, hg_node *order) {
    size_t n = g->n_nodes, head = 0, tail = 0;
    uint8_t *seen = calloc(n ? n : 1, 1);

    if (seen == NULL) {
        abort();
    }
    for (size_t v = 0; v < n; v++) {
        parent[v] = HG_NONE;
    }
    seen[start] = 1;
    order[tail++] = start;
    while (head < tail) {
        hg_node u = order[head++];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (!seen[v] && !(blocked && blocked[v])) {
                seen[v] = 1;
                parent[v] = u;
                order[tail++] = v;
            }
        }
    }
    free(seen);
    return tail;
}

/* reached[v] = 1 for nodes reachable from the roots with node `removed`
 * (HG_NONE: none) taken out of the graph; the masked-out nodes (mask may
 * be NULL) are never entered. */
static void reach_without(const hg_csr *g, const hg_node *roots, size_t n_roots,
                          hg_node removed, const uint8_t *mask,
                          uint8_t *reached, hg_node *stack) {
    size_t top = 0;

    memset(reached, 0, g->n_nodes);
    for (size_t i = 0; i < n_roots; i++) {
        hg_node r = roots[i];
        if (r != removed && !reached[r] && !(mask && !mask[r])) {
            reached[r] = 1;
            stack[top++] = r;
        }
    }
    while (top > 0) {
        hg_node u = stack[--top];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (v != removed && !reached[v] && !(mask && !mask[v])) {
                reached[v] = 1;
                stack[top++] = v;
            }
        }
    }
}

void ref_domtree(const hg_csr *g, const hg_node *roots, size_t n_roots,
                 hg_node *idom) {
    size_t n = g->n_nodes;
    uint8_t *all = xmalloc(n), *without = xmalloc(n);
    uint8_t *dom = xmalloc(n * n); /* dom[d * n + w]: d strictly dom. w */
    size_t *n_dom = calloc(n ? n : 1, sizeof(size_t));
    hg_node *stack = xmalloc(n * sizeof(hg_node));

    if (n_dom == NULL) {
        abort();
    }
    reach_without(g, roots, n_roots, HG_NONE, NULL, all, stack);
    for (size_t d = 0; d < n; d++) {
        reach_without(g, roots, n_roots, (hg_node)d, NULL, without, stack);
        for (size_t w = 0; w < n; w++) {
            dom[d * n + w] = all[d] && all[w] && w != d && !without[w];
            n_dom[w] += dom[d * n + w];
        }
    }
    for (size_t w = 0; w < n; w++) {
        idom[w] = all[w] ? HG_DOM_VIRTUAL : HG_NONE;
        for (size_t d = 0; all[w] && d < n; d++) {
            if (dom[d * n + w] &&
                (idom[w] == HG_DOM_VIRTUAL || n_dom[d] > n_dom[idom[w]])) {
                idom[w] = (hg_node)d;
            }
        }
    }
    free(all);
    free(without);
    free(dom);
    free(n_dom);
    free(stack);
}

void ref_retained(const hg_node *idom, hg_node n, const uint64_t *size,
                  uint64_t *retained) {
    for (hg_node v = 0; v < n; v++) {
        retained[v] = 0;
    }
    for (hg_node v = 0; v < n; v++) {
        for (hg_node u = v; idom[v] != HG_NONE && u != HG_DOM_VIRTUAL;
             u = idom[u]) {
            retained[u] += size[v];
        }
    }
}

hg_node ref_scc(const hg_csr *g, const uint8_t *mask, hg_node *comp) {
    size_t n = g->n_nodes;
    uint8_t *reach = xmalloc(n * n); /* reach[u * n + v]: u reaches v */
    hg_node *stack = xmalloc(n * sizeof(hg_node));
    hg_node n_comp = 0;

    for (size_t u = 0; u < n; u++) {
        hg_node src = (hg_node)u;
        reach_without(g, &src, 1, HG_NONE, mask, reach + u * n, stack);
    }
    for (size_t v = 0; v < n; v++) {
        comp[v] = HG_NONE;
    }
    for (size_t v = 0; v < n; v++) {
        if ((mask && !mask[v]) || comp[v] != HG_NONE) {
            continue;
        }
        for (size_t w = v; w < n; w++) {
            if (reach[v * n + w] && reach[w * n + v]) {
                comp[w] = n_comp;
            }
        }
        n_comp++;
    }
    free(reach);
    free(stack);
    return n_comp;
}

void ref_class_retained(const hg_node *idom, hg_node n,
                        const uint64_t *retained, const uint32_t *cls,
                        uint32_t n_cls, const uint8_t *mask, uint64_t *out) {
    for (uint32_t c = 0; c < n_cls; c++) {
        out[c] = 0;
    }
    for (hg_node v = 0; v < n; v++) {
        int topmost = 1;
        if (cls[v] == HG_NONE || (mask && !mask[v]) || idom[v] == HG_NONE) {
            continue;
        }
        for (hg_node d = idom[v]; d != HG_DOM_VIRTUAL; d = idom[d]) {
            if (cls[d] == cls[v] && (!mask || mask[d])) {
                topmost = 0;
            }
        }
        if (topmost) {
            out[cls[v]] += retained[v];
        }
    }
}

static const uint64_t *topk_key; /* qsort has no context argument */

static int cmp_topk(const void *x, const void *y) {
    hg_node a = *(const hg_node *)x, b = *(const hg_node *)y;
    if (topk_key[a] != topk_key[b]) {
        return topk_key[a] > topk_key[b] ? -1 : 1;
    }
    return (a > b) - (a < b);
}

size_t ref_topk(const uint64_t *key, hg_node n, const uint8_t *mask, size_t k,
                hg_node *out) {
    hg_node *all = xmalloc((size_t)n * sizeof(hg_node));
    size_t m = 0;
    for (hg_node v = 0; v < n; v++) {
        if (!mask || mask[v]) {
            all[m++] = v;
        }
    }
    topk_key = key;
    qsort(all, m, sizeof(hg_node), cmp_topk);
    if (k == 0 || k > m) {
        k = m;
    }
    memcpy(out, all, k * sizeof(hg_node));
    free(all);
    return k;
}

/* One reached target's path as tokens, root first: a keyed node's
 * 0x80000000 | key, then every node's type id. */
typedef struct ref_path {
    hg_node v;
    uint32_t *tok;
    size_t len;
} ref_path;

static int cmp_path(const void *x, const void *y) {
    const ref_path *a = x, *b = y;
    for (size_t i = 0; i < a->len && i < b->len; i++) {
        if (a->tok[i] != b->tok[i]) {
            return a->tok[i] < b->tok[i] ? -1 : 1;
        }
    }
    return (a->len > b->len) - (a->len < b->len);
}

static const uint64_t *group_addr; /* qsort has no context argument */

static int cmp_group(const void *x, const void *y) {
    const hg_path_group *a = x, *b = y;
    if (a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    if (a->retained != b->retained) {
        return a->retained > b->retained ? -1 : 1;
    }
    if (group_addr[a->example] != group_addr[b->example]) {
        return group_addr[a->example] < group_addr[b->example] ? -1 : 1;
    }
    return (a->example > b->example) - (a->example < b->example);
}

static void path_tokens(const hg_graph *g, const hg_node *parent,
                        const hg_path_keys *keys, hg_node v, ref_path *p) {
    size_t cap = 2 * (size_t)g->n_nodes + 2;
    hg_node *nodes = xmalloc(cap * sizeof(hg_node));
    size_t n = 0;
    for (hg_node u = v;; u = parent[u]) {
        nodes[n++] = u;
        if (parent[u] == HG_PATH_ROOT) {
            break;
        }
    }
    p->v = v;
    p->tok = xmalloc(cap * sizeof(uint32_t));
    p->len = 0;
    while (n > 0) {
        hg_node w = nodes[--n];
        for (size_t i = 0; keys != NULL && i < keys->n; i++) {
            if (keys->ids[i] == w) {
                p->tok[p->len++] = 0x80000000u | keys->key[i];
            }
        }
        p->tok[p->len++] = g->type_id[w];
    }
    free(nodes);
}

size_t ref_paths_group(const hg_graph *g, const hg_node *parent,
                       const uint8_t *targets, const hg_path_keys *keys,
                       const hg_node *idom, const uint64_t *retained,
                       hg_path_group **groups, size_t *n_unreached) {
    hg_node n = g->n_nodes;
    ref_path *paths = xmalloc(((size_t)n + 1) * sizeof(ref_path));
    uint32_t *cls = xmalloc(((size_t)n + 1) * sizeof(uint32_t));
    uint64_t *bytes = xmalloc(((size_t)n + 1) * sizeof(uint64_t));
    hg_path_group *out = xmalloc(((size_t)n + 1) * sizeof(hg_path_group));
    size_t n_paths = 0, n_groups = 0;

    *n_unreached = 0;
    for (hg_node v = 0; v < n; v++) {
        cls[v] = HG_NONE;
        if (targets[v] && parent[v] == HG_NONE) {
            (*n_unreached)++;
        } else if (targets[v]) {
            path_tokens(g, parent, keys, v, &paths[n_paths++]);
        }
    }
    qsort(paths, n_paths, sizeof(ref_path), cmp_path);
    for (size_t i = 0; i < n_paths; i++) {
        hg_node v = paths[i].v;
        if (i == 0 || cmp_path(&paths[i - 1], &paths[i]) != 0) {
            out[n_groups].count = 0;
            out[n_groups].retained = 0;
            out[n_groups].example = v;
            n_groups++;
        }
        hg_path_group *grp = &out[n_groups - 1];
        grp->count++;
        if (g->addr[v] < g->addr[grp->example] ||
            (g->addr[v] == g->addr[grp->example] && v < grp->example)) {
            grp->example = v;
        }
        cls[v] = (uint32_t)(n_groups - 1);
    }
    if (idom != NULL) {
        ref_class_retained(idom, n, retained, cls, (uint32_t)n_groups, NULL,
                           bytes);
        for (size_t i = 0; i < n_groups; i++) {
            out[i].retained = bytes[i];
        }
    }
    group_addr = g->addr;
    qsort(out, n_groups, sizeof(hg_path_group), cmp_group);
    for (size_t i = 0; i < n_paths; i++) {
        free(paths[i].tok);
    }
    free(paths);
    free(cls);
    free(bytes);
    *groups = out;
    return n_groups;
}

/* Component c's sorted distinct type ids into set; returns how many (its
 * node count into *n_nodes, its bytes into *nbytes). */
static size_t comp_types(const hg_graph *g, const hg_node *comp, hg_node c,
                         uint32_t *set, uint64_t *n_nodes, uint64_t *nbytes) {
    size_t n = 0;
    *n_nodes = *nbytes = 0;
    for (hg_node v = 0; v < g->n_nodes; v++) {
        size_t i = 0;
        if (comp[v] != c) {
            continue;
        }
        (*n_nodes)++;
        *nbytes += hg_node_size(g, v);
        while (i < n && set[i] < g->type_id[v]) {
            i++;
        }
        if (i < n && set[i] == g->type_id[v]) {
            continue;
        }
        memmove(set + i + 1, set + i, (n - i) * sizeof(uint32_t));
        set[i] = g->type_id[v];
        n++;
    }
    return n;
}

static const uint32_t *group_types; /* qsort has no context argument */

static int cmp_type_set(const void *x, const void *y) {
    const hg_cycle_group *a = x, *b = y;
    if (a->n_types != b->n_types) {
        return a->n_types < b->n_types ? -1 : 1;
    }
    for (uint32_t i = 0; i < a->n_types; i++) {
        uint32_t s = group_types[a->first_type + i];
        uint32_t t = group_types[b->first_type + i];
        if (s != t) {
            return s < t ? -1 : 1;
        }
    }
    return 0;
}

size_t ref_cycles_group(const hg_graph *g, const hg_node *comp, hg_node n_comp,
                        hg_cycle_group *groups, uint32_t *types,
                        size_t *n_types) {
    uint32_t *a = xmalloc(((size_t)g->n_nodes + 1) * sizeof(uint32_t));
    size_t n_groups = 0;
    *n_types = 0;
    /* a group is opened by the first component with its set (its
     * example); the groups are then sorted by their sets */
    for (hg_node c = 0; c < n_comp; c++) {
        uint64_t nn, nb;
        size_t na = comp_types(g, comp, c, a, &nn, &nb), k;
        if (nn < 2) {
            continue;
        }
        for (k = 0; k < n_groups; k++) {
            const uint32_t *b = types + groups[k].first_type;
            if (groups[k].n_types == na &&
                memcmp(a, b, na * sizeof(uint32_t)) == 0) {
                break;
            }
        }
        if (k == n_groups) {
            groups[k].first_type = *n_types;
            groups[k].n_types = (uint32_t)na;
            groups[k].n_comps = 0;
            groups[k].n_nodes = groups[k].nbytes = 0;
            groups[k].example = c;
            memcpy(types + *n_types, a, na * sizeof(uint32_t));
            *n_types += na;
            n_groups++;
        }
        groups[k].n_comps++;
        groups[k].n_nodes += nn;
        groups[k].nbytes += nb;
    }
    group_types = types;
    qsort(groups, n_groups, sizeof(hg_cycle_group), cmp_type_set);
    free(a);
    return n_groups;
}

size_t ref_roots(const uint32_t *refcnt, const uint32_t *in_degree, hg_node n,
                 hg_node *roots) {
    size_t k = 0;
    for (hg_node v = 0; v < n; v++) {
        if ((uint64_t)refcnt[v] > (uint64_t)in_degree[v]) {
            roots[k++] = v;
        }
    }
    return k;
}

/* ---- untracking --------------------------------------------------------- */

static int ref_is(const hg_graph *g, const uint32_t *type_flags, hg_node v,
                  uint32_t bit) {
    return (type_flags[g->type_id[v]] & bit) != 0;
}

/* An item "may be tracked": a GC object, and not an exact tuple that is
 * untracked or was just untracked (out). */
static int ref_may_be_tracked(const hg_graph *g, const uint32_t *type_flags,
                              const uint8_t *out, hg_node w) {
    if (!(g->flags[w] & HG_NODE_GC)) {
        return 0;
    }
    if (ref_is(g, type_flags, w, HG_TYPE_EXACT_TUPLE)) {
        return (g->flags[w] & HG_NODE_TRACKED) && !out[w];
    }
    return 1;
}

static int ref_untrack_one(const hg_graph *g, const uint32_t *type_flags,
                           const uint8_t *out, hg_node v) {
    for (hg_edge e = g->fwd.offsets[v]; e < g->fwd.offsets[v + 1]; e++) {
        if (ref_may_be_tracked(g, type_flags, out, g->fwd.targets[e])) {
            return 0;
        }
    }
    return 1;
}

void ref_untrack_replay(const hg_graph *g, const uint32_t *type_flags,
                        const uint8_t *live, uint8_t *out) {
    /* the collector's list, written out: generation 2, then 0, then 1 */
    static const int gens[3] = {2, 0, 1};
    hg_node *list = xmalloc((size_t)g->n_tracked * sizeof(hg_node));
    hg_node n_list = 0;

    for (int k = 0; k < 3; k++) {
        for (hg_node v = 0; v < g->n_tracked; v++) {
            int gen = (g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT;
            if (gen == gens[k] && live[v]) {
                list[n_list++] = v;
            }
        }
    }
    memset(out, 0, g->n_nodes);
    /* untrack_tuples: one pass over the list */
    for (hg_node i = 0; i < n_list; i++) {
        hg_node v = list[i];
        if (ref_is(g, type_flags, v, HG_TYPE_EXACT_TUPLE)) {
            out[v] = (uint8_t)ref_untrack_one(g, type_flags, out, v);
        }
    }
    /* untrack_dicts: another, after it */
    for (hg_node i = 0; i < n_list; i++) {
        hg_node v = list[i];
        if (ref_is(g, type_flags, v, HG_TYPE_EXACT_DICT) &&
            !(g->flags[v] & HG_NODE_DICT_KEPT)) {
            out[v] = (uint8_t)ref_untrack_one(g, type_flags, out, v);
        }
    }
    free(list);
}
