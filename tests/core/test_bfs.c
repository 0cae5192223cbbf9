/*
 * test_bfs.c -- hg_bfs, hg_reach and hg_bfs_step against references:
 * random graphs with blocked nodes and depth limits, a long chain (high
 * diameter), a hub with a million edges each way; 1, 2 and 4 threads;
 * and hg_bfs_rekey_parents on one graph numbered two ways.
 */
#include "check.h"
#include "ref/ref.h"

static void check_bfs(const char *name, const hg_csr *g, const hg_node *sources,
                      size_t n_sources, const uint8_t *blocked,
                      uint32_t max_depth) {
    size_t n = g->n_nodes;
    hg_node *want_parent = malloc(n * sizeof(hg_node) + 1);
    uint32_t *want_depth = malloc(n * sizeof(uint32_t) + 1);
    hg_node *parent = malloc(n * sizeof(hg_node) + 1);
    uint32_t *depth = malloc(n * sizeof(uint32_t) + 1);
    uint8_t *want_reached = malloc(n + 1);
    uint8_t *reached = malloc(n + 1);

    REQUIRE(want_parent && want_depth && parent && depth && want_reached &&
                reached,
            "allocation");
    ref_bfs(g, sources, n_sources, blocked, max_depth, want_parent, want_depth);
    ref_reach(g, sources, n_sources, blocked, want_reached);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        st = hg_bfs(g, sources, n_sources, blocked, max_depth, parent, depth);
        CHECK(st == HG_OK, "%s: got %s", name, hg_status_str(st));
        CHECK_SAME(name, want_depth, depth, n);
        CHECK_SAME(name, want_parent, parent, n);
        st = hg_bfs(g, sources, n_sources, blocked, max_depth, parent, NULL);
        CHECK(st == HG_OK, "%s (no depth): got %s", name, hg_status_str(st));
        CHECK_SAME(name, want_parent, parent, n);
        if (max_depth == UINT32_MAX) {
            st = hg_reach(g, sources, n_sources, blocked, reached);
            CHECK(st == HG_OK, "%s reach: got %s", name, hg_status_str(st));
            CHECK_SAME(name, want_reached, reached, n);
        }
    }
    free(want_parent);
    free(want_depth);
    free(parent);
    free(depth);
    free(want_reached);
    free(reached);
}

static void test_random_graphs(void) {
    static const struct {
        hg_node n;
        hg_edge m;
    } shapes[] = {
        {1, 2}, {30, 60}, {2000, 6000}, {50000, 150000}, {200000, 1000000}};
    static const uint32_t depths[] = {0, 1, 3, UINT32_MAX};
    char name[96];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            hg_node n = shapes[i].n;
            hg_csr g;
            rng r = {seed * 77 + i};
            uint8_t *blocked = malloc(n);
            hg_node sources[8];
            size_t n_sources = 1 + rng_below(&r, 8);
            REQUIRE(blocked, "allocation");
            csr_random(&g, seed * 31 + i, n, shapes[i].m);
            for (hg_node v = 0; v < n; v++) {
                blocked[v] = rng_below(&r, 10) == 0;
            }
            for (size_t s = 0; s < n_sources; s++) {
                sources[s] = (hg_node)rng_below(&r, n); /* may repeat */
            }
            for (size_t d = 0; d < 4; d++) {
                snprintf(name, sizeof(name), "seed %llu n %u depth %u",
                         (unsigned long long)seed, n, depths[d]);
                check_bfs(name, &g, sources, n_sources, NULL, depths[d]);
                check_bfs(name, &g, sources, n_sources, blocked, depths[d]);
            }
            hg_csr_destroy(&g);
            free(blocked);
        }
    }
}

static void test_long_chain(void) {
    hg_node n = 200000;
    hg_node *src = malloc(n * sizeof(hg_node));
    hg_node *dst = malloc(n * sizeof(hg_node));
    hg_node zero = 0;
    hg_csr g;

    REQUIRE(src && dst, "allocation");
    for (hg_node v = 0; v + 1 < n; v++) {
        src[v] = v;
        dst[v] = v + 1;
    }
    csr_from_edges(&g, n, n - 1, src, dst);
    check_bfs("chain of 200k", &g, &zero, 1, NULL, UINT32_MAX);
    check_bfs("chain of 200k, depth 1000", &g, &zero, 1, NULL, 1000);
    hg_csr_destroy(&g);
    free(src);
    free(dst);
}

/* 0 -> every node and every node -> 0: one level with a million edges, and
 * a million sources competing to be node 0's parent. */
static void test_hub(void) {
    hg_node n = 1000001;
    hg_node *src = malloc(2 * (size_t)n * sizeof(hg_node));
    hg_node *dst = malloc(2 * (size_t)n * sizeof(hg_node));
    hg_node *all = malloc((size_t)n * sizeof(hg_node));
    hg_node zero = 0;
    hg_csr g;
    size_t m = 0;

    REQUIRE(src && dst && all, "allocation");
    for (hg_node v = 1; v < n; v++) {
        src[m] = 0;
        dst[m++] = v;
        src[m] = v;
        dst[m++] = 0;
        all[n - 1 - v] = v; /* descending, so the smallest comes last */
    }
    csr_from_edges(&g, n, m, src, dst);
    check_bfs("hub from 0", &g, &zero, 1, NULL, UINT32_MAX);
    check_bfs("hub from all leaves", &g, all, n - 1, NULL, UINT32_MAX);
    hg_csr_destroy(&g);
    free(src);
    free(dst);
    free(all);
}

/* Steps from one start until the frontier empties must replay a FIFO BFS:
 * same parents, same order. */
static void check_steps(const char *name, const hg_csr *g, hg_node start,
                        const uint8_t *blocked) {
    size_t n = g->n_nodes, count = 0, n_front = 1;
    hg_node *want_parent = malloc(n * sizeof(hg_node));
    hg_node *want_order = malloc(n * sizeof(hg_node));
    hg_node *parent = malloc(n * sizeof(hg_node));
    hg_node *order = malloc(n * sizeof(hg_node));
    uint8_t *seen = calloc(n, 1);
    size_t want_count;

    REQUIRE(want_parent && want_order && parent && order && seen, "alloc");
    want_count = ref_fifo_bfs(g, start, blocked, want_parent, want_order);
    memset(parent, 0xff, n * sizeof(hg_node));
    seen[start] = 1;
    order[0] = start;
    count = 1;
    while (n_front > 0) {
        size_t n_next = 0;
        hg_status st = hg_bfs_step(g, order + count - n_front, n_front, blocked,
                                   seen, parent, order + count, &n_next);
        REQUIRE(st == HG_OK, "%s: step failed: %s", name, hg_status_str(st));
        count += n_next;
        n_front = n_next;
    }
    CHECK(count == want_count, "%s: expected %zu nodes, got %zu", name,
          want_count, count);
    CHECK_SAME(name, want_order, order,
               count < want_count ? count : want_count);
    CHECK_SAME(name, want_parent, parent, n);
    free(want_parent);
    free(want_order);
    free(parent);
    free(order);
    free(seen);
}

static void test_bfs_step(void) {
    char name[64];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        hg_node n = (hg_node)(seed * 5000);
        hg_csr g;
        uint8_t *blocked = malloc(n);
        rng r = {seed};
        REQUIRE(blocked, "allocation");
        csr_random(&g, seed + 100, n, (hg_edge)n * 3);
        for (hg_node v = 0; v < n; v++) {
            blocked[v] = rng_below(&r, 8) == 0;
        }
        snprintf(name, sizeof(name), "steps seed %llu",
                 (unsigned long long)seed);
        check_steps(name, &g, 0, NULL);
        check_steps(name, &g, (hg_node)(n / 2), blocked);
        hg_csr_destroy(&g);
        free(blocked);
    }
}

static void test_bad_arguments(void) {
    hg_node src[] = {0, 1};
    hg_node dst[] = {1, 2};
    hg_node parent[3], next[3], bad = 3, zero = 0;
    uint32_t depth[3];
    uint8_t seen[3] = {0}, reached[3];
    size_t n_next;
    hg_csr g, empty = {0};

    csr_from_edges(&g, 3, 2, src, dst);
    CHECK(hg_bfs(&g, &bad, 1, NULL, UINT32_MAX, parent, depth) == HG_EINVAL,
          "source out of range");
    CHECK(hg_bfs(&g, &zero, 1, NULL, UINT32_MAX, NULL, depth) == HG_EINVAL,
          "NULL parent");
    CHECK(hg_reach(&g, &bad, 1, NULL, reached) == HG_EINVAL,
          "reach: source out of range");
    CHECK(hg_bfs_step(&g, &bad, 1, NULL, seen, parent, next, &n_next) ==
              HG_EINVAL,
          "step: frontier node out of range");
    CHECK(hg_bfs(&g, NULL, 0, NULL, UINT32_MAX, parent, depth) == HG_OK &&
              parent[0] == HG_NONE && depth[2] == UINT32_MAX,
          "no sources: nothing reached");
    CHECK(hg_bfs(&empty, NULL, 0, NULL, UINT32_MAX, NULL, NULL) == HG_OK,
          "empty graph");
    hg_csr_destroy(&g);
}

/* hg_bfs_rekey_parents: on a graph and the same graph numbered in another
 * order, with each node keeping its (distinct) key, every node hangs from
 * the same node -- what lets two captures of one heap print the same
 * paths -- and at one level nearer; with repeated keys, from the smallest
 * (key, id) among its referrers one level nearer. */
static void test_rekey_parents(void) {
    hg_node n = 60000;
    hg_edge m = 240000;
    hg_node *src = malloc(m * sizeof(hg_node)),
            *dst = malloc(m * sizeof(hg_node));
    hg_node *psrc = malloc(m * sizeof(hg_node)),
            *pdst = malloc(m * sizeof(hg_node));
    hg_node *perm = malloc(n * sizeof(hg_node));
    hg_node *parent = malloc(n * sizeof(hg_node)),
            *pparent = malloc(n * sizeof(hg_node));
    uint32_t *depth = malloc(n * sizeof(uint32_t)),
             *pdepth = malloc(n * sizeof(uint32_t));
    uint64_t *key = malloc(n * sizeof(uint64_t)),
             *pkey = malloc(n * sizeof(uint64_t));
    hg_node sources[5], psources[5];
    hg_csr g, rev = {0}, pg, prev = {0};
    rng r = {4242};

    REQUIRE(src && dst && psrc && pdst && perm && parent && pparent && depth &&
                pdepth && key && pkey,
            "allocation");
    for (hg_node v = 0; v < n; v++) {
        perm[v] = v;
        key[v] = (uint64_t)v * 2654435761u % 1000003u * 64 + 16; /* distinct */
    }
    for (hg_node v = n - 1; v > 0; v--) { /* Fisher-Yates */
        hg_node j = (hg_node)rng_below(&r, (uint64_t)v + 1), t = perm[v];
        perm[v] = perm[j];
        perm[j] = t;
    }
    for (hg_edge e = 0; e < m; e++) {
        src[e] = (hg_node)rng_below(&r, n);
        dst[e] = (hg_node)rng_below(&r, n);
        psrc[e] = perm[src[e]];
        pdst[e] = perm[dst[e]];
    }
    for (hg_node v = 0; v < n; v++) {
        pkey[perm[v]] = key[v];
    }
    for (size_t i = 0; i < 5; i++) {
        sources[i] = (hg_node)rng_below(&r, n);
        psources[i] = perm[sources[i]];
    }
    csr_from_edges(&g, n, m, src, dst);
    csr_from_edges(&pg, n, m, psrc, pdst);
    REQUIRE(hg_csr_transpose(&g, &rev) == HG_OK &&
                hg_csr_transpose(&pg, &prev) == HG_OK,
            "transpose");
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        size_t bad = 0, moved = 0;
        hg_set_num_threads(test_thread_counts[t]);
        REQUIRE(
            hg_bfs(&g, sources, 5, NULL, UINT32_MAX, parent, depth) == HG_OK &&
                hg_bfs(&pg, psources, 5, NULL, UINT32_MAX, pparent, pdepth) ==
                    HG_OK,
            "bfs");
        for (hg_node v = 0; v < n; v++) {
            moved += parent[v] != HG_NONE && pparent[perm[v]] != HG_NONE &&
                     perm[parent[v]] != pparent[perm[v]];
        }
        CHECK(moved > 0, "ids alone must choose differently on this graph");
        CHECK(hg_bfs_rekey_parents(&rev, depth, key, parent) == HG_OK &&
                  hg_bfs_rekey_parents(&prev, pdepth, pkey, pparent) == HG_OK,
              "rekey");
        for (hg_node v = 0; v < n; v++) {
            hg_node p = parent[v], pp = pparent[perm[v]];
            if (depth[v] == UINT32_MAX || depth[v] == 0) {
                bad += p != HG_NONE || pp != HG_NONE;
                continue;
            }
            bad += depth[p] + 1 != depth[v] || perm[p] != pp;
            for (hg_edge e = rev.offsets[v]; e < rev.offsets[v + 1]; e++) {
                hg_node u = rev.targets[e];
                bad += depth[u] + 1 == depth[v] && key[u] < key[p];
            }
        }
        CHECK(bad == 0, "rekeyed parents: %zu wrong (%d threads)", bad,
              test_thread_counts[t]);
    }
    /* repeated keys: the smaller id among equal keys */
    {
        hg_node s2[] = {0, 1}, par[3];
        hg_node es[] = {0, 1}, ed[] = {2, 2};
        uint32_t dep[3];
        uint64_t same[3] = {7, 7, 7}, lower1[3] = {7, 3, 7};
        hg_csr tiny, trev = {0};
        csr_from_edges(&tiny, 3, 2, es, ed);
        REQUIRE(hg_csr_transpose(&tiny, &trev) == HG_OK, "transpose");
        REQUIRE(hg_bfs(&tiny, s2, 2, NULL, UINT32_MAX, par, dep) == HG_OK,
                "bfs");
        CHECK(hg_bfs_rekey_parents(&trev, dep, same, par) == HG_OK &&
                  par[2] == 0,
              "equal keys: smaller id");
        CHECK(hg_bfs_rekey_parents(&trev, dep, lower1, par) == HG_OK &&
                  par[2] == 1 && par[0] == HG_NONE,
              "lower key wins; sources keep theirs");
        CHECK(hg_bfs_rekey_parents(&trev, NULL, same, par) == HG_EINVAL,
              "NULL depth");
        hg_csr_destroy(&tiny);
        hg_csr_destroy(&trev);
    }
    hg_csr_destroy(&g);
    hg_csr_destroy(&rev);
    hg_csr_destroy(&pg);
    hg_csr_destroy(&prev);
    free(src);
    free(dst);
    free(psrc);
    free(pdst);
    free(perm);
    free(parent);
    free(pparent);
    free(depth);
    free(pdepth);
    free(key);
    free(pkey);
}

/* hg_bfs_step_back: level after level, exactly hg_bfs_step on the
 * transpose -- the same next nodes in the same order, the same parents and
 * seen marks -- for random graphs with multi-edges and loops, blocked
 * nodes, 1, 2 and 4 threads, and a hub whose level has a million
 * referrers. */
static void check_back_steps(const char *name, const hg_csr *g,
                             const hg_node *start, size_t n_start,
                             const uint8_t *blocked) {
    size_t n = g->n_nodes;
    hg_csr rev = {0};
    uint8_t *seen_a = calloc(n, 1), *seen_b = calloc(n, 1);
    hg_node *par_a = malloc(n * sizeof(hg_node)),
            *par_b = malloc(n * sizeof(hg_node));
    hg_node *fa = malloc(n * sizeof(hg_node)),
            *fb = malloc(n * sizeof(hg_node));
    hg_node *na = malloc(n * sizeof(hg_node)),
            *nb = malloc(n * sizeof(hg_node));
    REQUIRE(seen_a && seen_b && par_a && par_b && fa && fb && na && nb,
            "allocation");
    REQUIRE(hg_csr_transpose(g, &rev) == HG_OK, "transpose");
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        size_t len = n_start, levels = 0, bad = 0;
        hg_set_num_threads(test_thread_counts[t]);
        memset(seen_a, 0, n);
        memset(seen_b, 0, n);
        memset(par_a, 0xff, n * sizeof(hg_node));
        memset(par_b, 0xff, n * sizeof(hg_node));
        memcpy(fa, start, n_start * sizeof(hg_node));
        for (size_t i = 0; i < n_start; i++) {
            seen_a[start[i]] = seen_b[start[i]] = 1;
        }
        while (len > 0 && levels < 50) {
            size_t la = 0, lb = 0;
            REQUIRE(hg_bfs_step(&rev, fa, len, blocked, seen_a, par_a, na,
                                &la) == HG_OK &&
                        hg_bfs_step_back(g, fa, len, blocked, seen_b, par_b, nb,
                                         &lb) == HG_OK,
                    "%s: steps", name);
            bad += la != lb || memcmp(na, nb, la * sizeof(hg_node)) != 0;
            memcpy(fa, na, la * sizeof(hg_node));
            len = la;
            levels++;
        }
        bad += memcmp(seen_a, seen_b, n) != 0;
        bad += memcmp(par_a, par_b, n * sizeof(hg_node)) != 0;
        CHECK(bad == 0, "%s: %zu levels differ (%d threads)", name, bad,
              test_thread_counts[t]);
    }
    hg_csr_destroy(&rev);
    free(seen_a);
    free(seen_b);
    free(par_a);
    free(par_b);
    free(fa);
    free(fb);
    free(na);
    free(nb);
}

static void test_bfs_step_back(void) {
    char name[64];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        hg_node n = (hg_node)(seed * 20000);
        hg_csr g;
        uint8_t *blocked = malloc(n);
        hg_node start[3] = {0, (hg_node)(n / 3), (hg_node)(n - 1)};
        rng r = {seed + 7};
        REQUIRE(blocked, "allocation");
        csr_random(&g, seed + 300, n, (hg_edge)n * 3);
        for (hg_node v = 0; v < n; v++) {
            blocked[v] = rng_below(&r, 8) == 0;
        }
        snprintf(name, sizeof(name), "back steps seed %llu",
                 (unsigned long long)seed);
        check_back_steps(name, &g, start, 1, NULL);
        check_back_steps(name, &g, start, 3, blocked);
        hg_csr_destroy(&g);
        free(blocked);
    }
    {
        hg_node n = 1000001, zero = 0;
        hg_node *src = malloc(2 * (size_t)n * sizeof(hg_node));
        hg_node *dst = malloc(2 * (size_t)n * sizeof(hg_node));
        size_t m = 0;
        hg_csr g;
        REQUIRE(src && dst, "allocation");
        for (hg_node v = 1; v < n; v++) {
            src[m] = v;
            dst[m++] = 0;
            src[m] = 0;
            dst[m++] = v;
        }
        csr_from_edges(&g, n, m, src, dst);
        check_back_steps("back steps: hub", &g, &zero, 1, NULL);
        hg_csr_destroy(&g);
        free(src);
        free(dst);
    }
    {
        hg_node src[] = {0}, dst[] = {1}, bad = 2, next[2], par[2];
        uint8_t seen[2] = {0};
        size_t nn;
        hg_csr g;
        csr_from_edges(&g, 2, 1, src, dst);
        CHECK(hg_bfs_step_back(&g, &bad, 1, NULL, seen, par, next, &nn) ==
                  HG_EINVAL,
              "back step: frontier node out of range");
        hg_csr_destroy(&g);
    }
}

int main(void) {
    test_random_graphs();
    test_long_chain();
    test_hub();
    test_bfs_step();
    test_bad_arguments();
    test_rekey_parents();
    test_bfs_step_back();
    return check_summary("test_bfs");
}
