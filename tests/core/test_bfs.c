/*
 * test_bfs.c -- hg_bfs, hg_reach and hg_bfs_step against references:
 * random graphs with blocked nodes and depth limits, a long chain (high
 * diameter), a hub with a million edges each way; 1, 2 and 4 threads.
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

int main(void) {
    test_random_graphs();
    test_long_chain();
    test_hub();
    test_bfs_step();
    test_bad_arguments();
    return check_summary("test_bfs");
}
