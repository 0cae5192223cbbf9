/*
 * test_build.c -- hg_graph_build: source addresses keep their ids, other
 * targets are numbered by first appearance, each source keeps its edges in
 * input order; compared with a sort-based reference for 1, 2 and 4 threads.
 */
#include "check.h"
#include "ref/ref.h"

static void free_built(hg_csr *g, uint64_t *addrs, hg_node n_nodes) {
    hg_csr_destroy(g);
    hg_free(addrs, (size_t)n_nodes * sizeof(uint64_t));
}

static void test_hand_made_example(void) {
    uint64_t src[] = {100, 200, 300};
    hg_raw_edge e[] = {{2, 500}, {0, 200}, {1, 400}, {0, 500},
                       {2, 100}, {1, 0},   {0, 400}};
    uint64_t want_addrs[] = {100, 200, 300, 500, 400, 0};
    hg_edge want_off[] = {0, 3, 5, 7, 7, 7, 7};
    hg_node want_tgt[] = {1, 3, 4, 4, 5, 3, 0};
    uint64_t start = hg_alloc_live_bytes();
    hg_csr g = {0};
    uint64_t *addrs = NULL;
    hg_node n_nodes = 0;
    hg_status st = hg_graph_build(3, src, e, 7, &g, &addrs, &n_nodes);

    CHECK(st == HG_OK, "got %s", hg_status_str(st));
    CHECK(n_nodes == 6 && g.n_nodes == 6 && g.n_edges == 7,
          "expected 6 nodes / 7 edges, got %u / %llu", n_nodes,
          (unsigned long long)g.n_edges);
    CHECK_SAME("addresses", want_addrs, addrs, 6);
    CHECK_SAME("offsets", want_off, g.offsets, 7);
    CHECK_SAME("targets", want_tgt, g.targets, 7);
    free_built(&g, addrs, n_nodes);
    CHECK(hg_alloc_live_bytes() == start, "leak");
}

static void test_empty_inputs(void) {
    hg_csr g = {0};
    uint64_t *addrs = NULL;
    hg_node n_nodes = 99;
    uint64_t src[] = {8, 16};

    CHECK(hg_graph_build(0, NULL, NULL, 0, &g, &addrs, &n_nodes) == HG_OK,
          "no nodes, no edges");
    CHECK(n_nodes == 0 && g.offsets != NULL && g.offsets[0] == 0,
          "empty CSR with one offset");
    free_built(&g, addrs, n_nodes);
    CHECK(hg_graph_build(2, src, NULL, 0, &g, &addrs, &n_nodes) == HG_OK,
          "sources without edges");
    CHECK(n_nodes == 2 && g.offsets[2] == 0 && addrs[1] == 16,
          "two isolated nodes");
    free_built(&g, addrs, n_nodes);
}

static void test_bad_inputs(void) {
    uint64_t start = hg_alloc_live_bytes();
    uint64_t dup[] = {8, 16, 8};
    uint64_t src[] = {8, 16, 24};
    hg_raw_edge e[] = {{0, 16}, {3, 8}};
    hg_csr g = {0};
    uint64_t *addrs = NULL;
    hg_node n_nodes = 0;

    CHECK(hg_graph_build(3, dup, e, 1, &g, &addrs, &n_nodes) == HG_EINVAL,
          "a repeated source address must be HG_EINVAL");
    CHECK(hg_graph_build(3, src, e, 2, &g, &addrs, &n_nodes) == HG_EINVAL,
          "a source id >= n_src must be HG_EINVAL");
    CHECK(hg_graph_build(3, src, e, 1, NULL, &addrs, &n_nodes) == HG_EINVAL,
          "NULL output");
    CHECK(hg_graph_build(3, NULL, e, 1, &g, &addrs, &n_nodes) == HG_EINVAL,
          "NULL source addresses");
    CHECK(g.offsets == NULL && addrs == NULL, "outputs untouched on error");
    CHECK(hg_alloc_live_bytes() == start, "leak after errors");
}

/* Random input: distinct heap-like source addresses, edges in random source
 * order, targets 60% sources, the rest drawn from a pool with repeats (and
 * the address 0). */
static void check_random(uint64_t seed, hg_node n_src, hg_edge m,
                         hg_node pool) {
    rng r = {seed};
    uint64_t *src = malloc((size_t)n_src * sizeof(uint64_t) + 1);
    uint64_t *others = malloc((size_t)pool * sizeof(uint64_t) + 1);
    hg_raw_edge *e = malloc((size_t)m * sizeof(hg_raw_edge) + 1);
    hg_node want_n;
    uint64_t *want_addrs;
    hg_edge *want_off;
    hg_node *want_tgt;
    char name[80];

    REQUIRE(src && others && e, "allocation");
    for (hg_node v = 0; v < n_src; v++) {
        src[v] = 0x10000 + 32 * (uint64_t)v;
    }
    for (hg_node v = n_src; v > 1; v--) { /* shuffle */
        hg_node j = (hg_node)rng_below(&r, v);
        uint64_t t = src[v - 1];
        src[v - 1] = src[j];
        src[j] = t;
    }
    for (hg_node i = 0; i < pool; i++) {
        others[i] =
            i == 0 ? 0 : 0x10008 + 32 * rng_below(&r, 4 * (uint64_t)pool);
    }
    for (hg_edge i = 0; i < m; i++) {
        e[i].source = (hg_node)rng_below(&r, n_src);
        e[i].target_addr = rng_below(&r, 10) < 6 ? src[rng_below(&r, n_src)]
                                                 : others[rng_below(&r, pool)];
    }
    REQUIRE(ref_build(n_src, src, e, m, &want_n, &want_addrs, &want_off,
                      &want_tgt) == 0,
            "reference build");
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_csr g = {0};
        uint64_t *addrs = NULL;
        hg_node n_nodes = 0;
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        snprintf(name, sizeof(name), "seed %llu n_src %u m %llu, %d threads",
                 (unsigned long long)seed, n_src, (unsigned long long)m,
                 test_thread_counts[t]);
        st = hg_graph_build(n_src, src, e, m, &g, &addrs, &n_nodes);
        CHECK(st == HG_OK, "%s: got %s", name, hg_status_str(st));
        if (st != HG_OK) {
            continue;
        }
        CHECK(n_nodes == want_n && g.n_nodes == want_n,
              "%s: expected %u nodes, got %u", name, want_n, n_nodes);
        if (n_nodes == want_n) {
            CHECK_SAME(name, want_addrs, addrs, want_n);
            CHECK_SAME(name, want_off, g.offsets, (size_t)want_n + 1);
            CHECK_SAME(name, want_tgt, g.targets, m);
        }
        free_built(&g, addrs, n_nodes);
    }
    free(src);
    free(others);
    free(e);
    free(want_addrs);
    free(want_off);
    free(want_tgt);
}

int main(void) {
    test_hand_made_example();
    test_empty_inputs();
    test_bad_inputs();
    check_random(1, 1, 10, 3);
    check_random(2, 5, 40, 10);
    check_random(3, 5000, 40000, 3000);
    check_random(4, 20000, 150000, 50000);
    check_random(5, 200000, 1000000, 300000);
    return check_summary("test_build");
}
