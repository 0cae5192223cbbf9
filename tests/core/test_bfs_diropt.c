/*
 * test_bfs_diropt.c -- hg_bfs_diropt gives exactly the naive reference's
 * and hg_bfs's parent and depth arrays, and hg_reach_diropt the reference's
 * and hg_reach's reached set, for 1, 2 and 4 threads, on: the
 * empty graph, self-loops, multi-edges and isolated nodes, a star whose hub
 * has a million in-edges (one huge frontier: bottom-up levels), a chain of
 * a million nodes (a million tiny frontiers: top-down levels), random and
 * power-law graphs, and chains between dense clusters (switching back and
 * forth), with blocked masks and depth limits.
 */
#include "check.h"
#include "ref/ref.h"

/* Run the reference, hg_bfs and hg_bfs_diropt on g and compare. */
static void check_diropt(const char *name, const hg_csr *g,
                         const hg_node *sources, size_t n_sources,
                         const uint8_t *blocked, uint32_t max_depth) {
    size_t n = g->n_nodes;
    hg_csr rev = {0};
    hg_node *want_parent = malloc(n * sizeof(hg_node) + 1);
    uint32_t *want_depth = malloc(n * sizeof(uint32_t) + 1);
    hg_node *bfs_parent = malloc(n * sizeof(hg_node) + 1);
    uint32_t *bfs_depth = malloc(n * sizeof(uint32_t) + 1);
    hg_node *parent = malloc(n * sizeof(hg_node) + 1);
    uint32_t *depth = malloc(n * sizeof(uint32_t) + 1);
    uint8_t *want_reached = malloc(n + 1);
    uint8_t *reach_reached = malloc(n + 1);
    uint8_t *reached = malloc(n + 1);
    char what[160];
    hg_status st;

    REQUIRE(want_parent && want_depth && bfs_parent && bfs_depth && parent &&
                depth && want_reached && reach_reached && reached,
            "allocation");
    st = hg_csr_transpose(g, &rev);
    REQUIRE(st == HG_OK, "%s: transpose: %s", name, hg_status_str(st));
    ref_bfs(g, sources, n_sources, blocked, max_depth, want_parent, want_depth);
    ref_reach(g, sources, n_sources, blocked, want_reached);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        snprintf(what, sizeof(what), "%s, %d threads", name,
                 test_thread_counts[t]);

        memset(depth, 0xab, n * sizeof(uint32_t));
        memset(parent, 0xab, n * sizeof(hg_node));
        st = hg_bfs_diropt(g, &rev, sources, n_sources, blocked, max_depth,
                           parent, depth);
        CHECK(st == HG_OK, "%s: expected success, got %s", what,
              hg_status_str(st));
        CHECK_SAME(what, want_depth, depth, n);
        CHECK_SAME(what, want_parent, parent, n);

        memset(parent, 0xab, n * sizeof(hg_node));
        st = hg_bfs_diropt(g, &rev, sources, n_sources, blocked, max_depth,
                           parent, NULL);
        CHECK(st == HG_OK, "%s (no depth): expected success, got %s", what,
              hg_status_str(st));
        CHECK_SAME(what, want_parent, parent, n);

        st = hg_bfs(g, sources, n_sources, blocked, max_depth, bfs_parent,
                    bfs_depth);
        CHECK(st == HG_OK, "%s: hg_bfs: got %s", what, hg_status_str(st));
        CHECK_SAME(what, bfs_depth, depth, n);
        CHECK_SAME(what, bfs_parent, parent, n);

        if (max_depth != UINT32_MAX) {
            continue; /* reachability has no depth limit */
        }
        memset(reached, 0xab, n);
        st = hg_reach_diropt(g, &rev, sources, n_sources, blocked, reached);
        CHECK(st == HG_OK, "%s reach: expected success, got %s", what,
              hg_status_str(st));
        CHECK_SAME(what, want_reached, reached, n);
        st = hg_reach(g, sources, n_sources, blocked, reach_reached);
        CHECK(st == HG_OK, "%s: hg_reach: got %s", what, hg_status_str(st));
        CHECK_SAME(what, reach_reached, reached, n);
    }
    hg_csr_destroy(&rev);
    free(want_parent);
    free(want_depth);
    free(bfs_parent);
    free(bfs_depth);
    free(parent);
    free(depth);
    free(want_reached);
    free(reach_reached);
    free(reached);
}

/* blocked[v] = 1 for about one node in `one_in`. */
static uint8_t *random_mask(uint64_t seed, hg_node n, uint64_t one_in) {
    uint8_t *mask = malloc((size_t)n + 1);
    rng r = {seed};

    REQUIRE(mask, "allocation");
    for (hg_node v = 0; v < n; v++) {
        mask[v] = rng_below(&r, one_in) == 0;
    }
    return mask;
}

/* Every combination of no mask / mask and a few depth limits. */
static void check_variants(const char *name, const hg_csr *g,
                           const hg_node *sources, size_t n_sources,
                           const uint8_t *blocked) {
    static const uint32_t depths[] = {0, 1, 2, 5, UINT32_MAX};
    char what[128];
    for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
        snprintf(what, sizeof(what), "%s, max_depth %u", name, depths[d]);
        check_diropt(what, g, sources, n_sources, NULL, depths[d]);
        snprintf(what, sizeof(what), "%s, blocked, max_depth %u", name,
                 depths[d]);
        check_diropt(what, g, sources, n_sources, blocked, depths[d]);
    }
}

static void test_empty_graph(void) {
    hg_csr g = {0}, rev = {0};
    hg_edge off[] = {0};

    CHECK(hg_bfs_diropt(&g, &rev, NULL, 0, NULL, UINT32_MAX, NULL, NULL) ==
              HG_OK,
          "zeroed CSRs: expected success");
    CHECK(hg_reach_diropt(&g, &rev, NULL, 0, NULL, NULL) == HG_OK,
          "zeroed CSRs: reach expected success");
    csr_from_arrays(&g, 0, 0, off, NULL);
    check_diropt("empty", &g, NULL, 0, NULL, UINT32_MAX);
    hg_csr_destroy(&g);
}

/* 0 -> 0, 0 -> 2 twice, 2 -> 0, 2 -> 2, 2 -> 4, 4 -> 4 twice, 3 -> 2;
 * 1 and 5 isolated. */
static void test_loops_multi_edges_isolated(void) {
    hg_node src[] = {0, 0, 0, 2, 2, 2, 4, 4, 3};
    hg_node dst[] = {0, 2, 2, 0, 2, 4, 4, 4, 2};
    hg_node from0 = 0, from3[] = {3, 1}, from5 = 5;
    uint8_t block2[] = {0, 0, 1, 0, 0, 0};
    hg_node parent[6];
    uint32_t depth[6];
    hg_csr g, rev = {0};

    csr_from_edges(&g, 6, 9, src, dst);
    check_variants("loops/multi/isolated from 0", &g, &from0, 1, block2);
    check_variants("loops/multi/isolated from 3 and 1", &g, from3, 2, block2);
    check_variants("isolated source 5", &g, &from5, 1, NULL);
    REQUIRE(hg_csr_transpose(&g, &rev) == HG_OK, "transpose");
    REQUIRE(hg_bfs_diropt(&g, &rev, from3, 2, NULL, UINT32_MAX, parent,
                          depth) == HG_OK,
            "diropt");
    CHECK(parent[2] == 3 && depth[2] == 1 && parent[0] == 2 && depth[0] == 2 &&
              parent[4] == 2 && depth[4] == 2 && depth[1] == 0 &&
              parent[1] == HG_NONE && depth[5] == UINT32_MAX &&
              parent[5] == HG_NONE,
          "from {3, 1}: expected parents 2 3 2 _ 2 _, depths 2 0 1 0 2 -, "
          "got %u %u %u %u %u %u",
          parent[0], parent[1], parent[2], parent[3], parent[4], parent[5]);
    hg_csr_destroy(&rev);
    hg_csr_destroy(&g);
}

/* Every leaf points to hub 0 (a million in-edges) and the hub to every
 * leaf: from one leaf, level 2 is every other leaf at once. */
static void test_star(void) {
    hg_node n = 1000001;
    hg_node *src = malloc(2 * (size_t)n * sizeof(hg_node));
    hg_node *dst = malloc(2 * (size_t)n * sizeof(hg_node));
    hg_node *some = malloc(1000 * sizeof(hg_node));
    hg_node zero = 0, leaf = 777777;
    uint8_t *blocked = random_mask(5, n, 3);
    hg_csr g;
    size_t m = 0;

    REQUIRE(src && dst && some, "allocation");
    for (hg_node v = n - 1; v >= 1; v--) { /* hub's row descending */
        src[m] = 0;
        dst[m++] = v;
    }
    for (hg_node v = 1; v < n; v++) {
        src[m] = v;
        dst[m++] = 0;
    }
    for (size_t i = 0; i < 1000; i++) {
        some[i] = (hg_node)(n - 1 - 997 * i); /* descending leaves */
    }
    csr_from_edges(&g, n, m, src, dst);
    check_variants("star from the hub", &g, &zero, 1, blocked);
    check_variants("star from one leaf", &g, &leaf, 1, blocked);
    check_variants("star from 1000 leaves", &g, some, 1000, blocked);
    blocked[0] = 1; /* a blocked hub: nothing past the sources */
    check_diropt("star, hub blocked", &g, some, 1000, blocked, UINT32_MAX);
    hg_csr_destroy(&g);
    free(src);
    free(dst);
    free(some);
    free(blocked);
}

/* 0 -> 1 -> ... -> n-1, plus a back edge from every 1000th node to 0. */
static void test_long_chain(void) {
    hg_node n = 1000000;
    size_t m = 0;
    hg_node *src = malloc(2 * (size_t)n * sizeof(hg_node));
    hg_node *dst = malloc(2 * (size_t)n * sizeof(hg_node));
    hg_node starts[] = {500000, 0};
    uint8_t *blocked = random_mask(9, n, 200000);
    hg_csr g;

    REQUIRE(src && dst, "allocation");
    for (hg_node v = 0; v + 1 < n; v++) {
        src[m] = v;
        dst[m++] = v + 1;
        if (v % 1000 == 999) {
            src[m] = v;
            dst[m++] = 0;
        }
    }
    csr_from_edges(&g, n, m, src, dst);
    check_diropt("chain of 1M", &g, starts + 1, 1, NULL, UINT32_MAX);
    check_diropt("chain of 1M, two sources", &g, starts, 2, NULL, UINT32_MAX);
    check_diropt("chain of 1M, blocked", &g, starts, 2, blocked, UINT32_MAX);
    check_diropt("chain of 1M, depth 1000", &g, starts, 2, NULL, 1000);
    hg_csr_destroy(&g);
    free(src);
    free(dst);
    free(blocked);
}

static void test_random_graphs(void) {
    static const struct {
        hg_node n;
        hg_edge m;
    } shapes[] = {{1, 2},          {30, 60},          {2000, 6000},
                  {70000, 210000}, {200000, 1000000}, {300000, 300000}};
    char name[96];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            hg_node n = shapes[i].n;
            hg_csr g;
            rng r = {seed * 101 + i};
            uint8_t *blocked = random_mask(seed * 7 + i, n, 10);
            hg_node sources[8];
            size_t n_sources = 1 + rng_below(&r, 8);
            csr_random(&g, seed * 57 + i, n, shapes[i].m);
            for (size_t s = 0; s < n_sources; s++) {
                sources[s] = (hg_node)rng_below(&r, n); /* may repeat */
            }
            snprintf(name, sizeof(name), "random seed %llu n %u m %llu",
                     (unsigned long long)seed, n,
                     (unsigned long long)shapes[i].m);
            check_variants(name, &g, sources, n_sources, blocked);
            hg_csr_destroy(&g);
            free(blocked);
        }
    }
}

/* A heap-like graph: out-degree 0..5 (mean 2.5), in-degree power-law (a
 * target is node perm[floor(n * x^3)] for x uniform in [0, 1)), so a few
 * hubs collect a large share of the edges; hub ids are scattered. */
static void csr_power_law(hg_csr *g, uint64_t seed, hg_node n) {
    rng r = {seed};
    hg_node *perm = malloc((size_t)n * sizeof(hg_node));
    hg_node *src = malloc(3 * (size_t)n * sizeof(hg_node) + 1);
    hg_node *dst = malloc(3 * (size_t)n * sizeof(hg_node) + 1);
    size_t m = 0;

    REQUIRE(perm && src && dst, "allocation");
    for (hg_node v = 0; v < n; v++) {
        perm[v] = v;
    }
    for (hg_node v = n - 1; v > 0; v--) {
        hg_node j = (hg_node)rng_below(&r, (uint64_t)v + 1);
        hg_node t = perm[v];
        perm[v] = perm[j];
        perm[j] = t;
    }
    for (hg_node u = 0; u < n; u++) {
        uint64_t d = rng_below(&r, 6);
        for (uint64_t k = 0; k < d && m < 3 * (size_t)n; k++) {
            double x = (double)(rng_next(&r) >> 11) / 9007199254740992.0;
            src[m] = u;
            dst[m++] = perm[(hg_node)((double)n * x * x * x)];
        }
    }
    csr_from_edges(g, n, m, src, dst);
    free(perm);
    free(src);
    free(dst);
}

static void test_power_law_graphs(void) {
    static const hg_node sizes[] = {100, 5000, 100000, 400000};
    char name[96];
    for (uint64_t seed = 1; seed <= 2; seed++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            hg_node n = sizes[i];
            hg_csr g;
            rng r = {seed * 3 + i};
            uint8_t *blocked = random_mask(seed * 13 + i, n, 20);
            hg_node sources[64];
            size_t n_sources = 1 + rng_below(&r, 64);
            csr_power_law(&g, seed * 1000 + i, n);
            for (size_t s = 0; s < n_sources; s++) {
                sources[s] = (hg_node)rng_below(&r, n);
            }
            snprintf(name, sizeof(name), "power-law seed %llu n %u",
                     (unsigned long long)seed, n);
            check_variants(name, &g, sources, n_sources, blocked);
            hg_csr_destroy(&g);
            free(blocked);
        }
    }
}

/* Dense random clusters joined by chains (cluster k's last node -> a chain
 * of 300 nodes -> cluster k+1's first node): large frontiers, then tiny
 * ones, then large ones again, so the search changes direction repeatedly. */
static void test_clusters_and_chains(void) {
    hg_node cluster = 50000, chain = 300, n_clusters = 4;
    hg_node n = n_clusters * (cluster + chain);
    size_t cap = (size_t)n_clusters * (cluster * 4 + chain + 2);
    hg_node *src = malloc(cap * sizeof(hg_node));
    hg_node *dst = malloc(cap * sizeof(hg_node));
    uint8_t *blocked = random_mask(21, n, 50);
    hg_node zero = 0;
    rng r = {17};
    size_t m = 0;
    hg_csr g;

    REQUIRE(src && dst, "allocation");
    for (hg_node k = 0; k < n_clusters; k++) {
        hg_node base = k * (cluster + chain);
        for (hg_node i = 0; i < cluster * 4; i++) {
            src[m] = base + (hg_node)rng_below(&r, cluster);
            dst[m++] = base + (hg_node)rng_below(&r, cluster);
        }
        for (hg_node i = 0; i < chain; i++) {
            src[m] = base + cluster - 1 + i;
            dst[m++] = base + cluster + i;
        }
        if (k + 1 < n_clusters) {
            src[m] = base + cluster + chain - 1;
            dst[m++] = base + cluster + chain;
        }
    }
    for (hg_node k = 0; k < n_clusters; k++) {
        blocked[k * (cluster + chain)] = 0; /* keep the way in open */
        for (hg_node i = 0; i <= chain; i++) {
            blocked[k * (cluster + chain) + cluster - 1 + i] = 0;
        }
    }
    csr_from_edges(&g, n, m, src, dst);
    check_diropt("clusters and chains", &g, &zero, 1, NULL, UINT32_MAX);
    check_diropt("clusters and chains, blocked", &g, &zero, 1, blocked,
                 UINT32_MAX);
    check_diropt("clusters and chains, depth 400", &g, &zero, 1, blocked, 400);
    hg_csr_destroy(&g);
    free(src);
    free(dst);
    free(blocked);
}

static void test_bad_arguments(void) {
    hg_node src[] = {0, 1};
    hg_node dst[] = {1, 2};
    hg_node parent[3], bad = 3, zero = 0;
    uint32_t depth[3];
    uint8_t seen[3];
    hg_csr g, rev = {0}, other;

    csr_from_edges(&g, 3, 2, src, dst);
    csr_from_edges(&other, 2, 1, src, src);
    REQUIRE(hg_csr_transpose(&g, &rev) == HG_OK, "transpose");
    CHECK(hg_bfs_diropt(&g, &rev, &bad, 1, NULL, UINT32_MAX, parent, depth) ==
              HG_EINVAL,
          "source out of range must be HG_EINVAL");
    CHECK(hg_bfs_diropt(&g, &rev, NULL, 1, NULL, UINT32_MAX, parent, depth) ==
              HG_EINVAL,
          "NULL sources with n_sources 1 must be HG_EINVAL");
    CHECK(hg_bfs_diropt(&g, &rev, &zero, 1, NULL, UINT32_MAX, NULL, depth) ==
              HG_EINVAL,
          "NULL parent must be HG_EINVAL");
    CHECK(hg_bfs_diropt(&g, NULL, &zero, 1, NULL, UINT32_MAX, parent, depth) ==
              HG_EINVAL,
          "NULL rev must be HG_EINVAL");
    CHECK(hg_bfs_diropt(NULL, &rev, &zero, 1, NULL, UINT32_MAX, parent,
                        depth) == HG_EINVAL,
          "NULL fwd must be HG_EINVAL");
    CHECK(hg_bfs_diropt(&g, &other, &zero, 1, NULL, UINT32_MAX, parent,
                        depth) == HG_EINVAL,
          "a rev with another node count must be HG_EINVAL");
    CHECK(hg_reach_diropt(&g, &rev, &bad, 1, NULL, seen) == HG_EINVAL,
          "reach: source out of range must be HG_EINVAL");
    CHECK(hg_reach_diropt(&g, &other, &zero, 1, NULL, seen) == HG_EINVAL,
          "reach: a rev with another node count must be HG_EINVAL");
    CHECK(hg_reach_diropt(&g, &rev, &zero, 1, NULL, NULL) == HG_EINVAL,
          "reach: NULL reached must be HG_EINVAL");
    CHECK(hg_reach_diropt(&g, &rev, &zero, 1, NULL, seen) == HG_OK &&
              seen[0] == 1 && seen[1] == 1 && seen[2] == 1,
          "reach from 0: expected 1 1 1, got %u %u %u", seen[0], seen[1],
          seen[2]);
    CHECK(hg_bfs_diropt(&g, &rev, NULL, 0, NULL, UINT32_MAX, parent, depth) ==
                  HG_OK &&
              parent[0] == HG_NONE && depth[2] == UINT32_MAX,
          "no sources: nothing reached");
    hg_csr_destroy(&g);
    hg_csr_destroy(&rev);
    hg_csr_destroy(&other);
}

int main(void) {
    test_empty_graph();
    test_loops_multi_edges_isolated();
    test_star();
    test_long_chain();
    test_random_graphs();
    test_power_law_graphs();
    test_clusters_and_chains();
    test_bad_arguments();
    return check_summary("test_bfs_diropt");
}
