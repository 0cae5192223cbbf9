/*
 * test_in_degree.c -- hg_csr_in_degree, with and without a source mask,
 * equals the reference for 1, 2 and 4 threads.
 */
#include "check.h"
#include "ref/ref.h"

static void check_in_degree(const char *name, const hg_csr *g,
                            const uint8_t *mask) {
    size_t n = g->n_nodes;
    uint32_t *want = malloc(n * sizeof(uint32_t) + 1);
    uint32_t *got = malloc(n * sizeof(uint32_t) + 1);

    REQUIRE(want && got, "allocation");
    ref_in_degree(g, mask, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        memset(got, 0xab, n * sizeof(uint32_t));
        st = hg_csr_in_degree(g, mask, got);
        CHECK(st == HG_OK, "%s, %d threads: got %s", name,
              test_thread_counts[t], hg_status_str(st));
        CHECK_SAME(name, want, got, n);
    }
    free(want);
    free(got);
}

static void test_small_graphs(void) {
    hg_node src[] = {0, 0, 0, 2, 2};
    hg_node dst[] = {0, 2, 2, 0, 2};
    uint8_t mask[] = {0, 1, 1, 1};
    uint32_t got[4];
    hg_csr g = {0};

    CHECK(hg_csr_in_degree(&g, NULL, NULL) == HG_OK, "empty graph");
    csr_from_edges(&g, 4, 5, src, dst);
    REQUIRE(hg_csr_in_degree(&g, mask, got) == HG_OK, "in_degree");
    CHECK(got[0] == 1 && got[1] == 0 && got[2] == 1 && got[3] == 0,
          "masked: expected 1 0 1 0, got %u %u %u %u", got[0], got[1], got[2],
          got[3]);
    check_in_degree("hand-made", &g, NULL);
    check_in_degree("hand-made masked", &g, mask);
    CHECK(hg_csr_in_degree(&g, NULL, NULL) == HG_EINVAL, "NULL output");
    CHECK(hg_csr_in_degree(NULL, NULL, got) == HG_EINVAL, "NULL graph");
    hg_csr_destroy(&g);
}

static void test_random_graphs_with_masks(void) {
    char name[64];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        hg_node n = (hg_node)(seed * 30000);
        hg_csr g;
        uint8_t *mask = malloc(n);
        rng r = {seed};
        REQUIRE(mask, "allocation");
        csr_random(&g, seed, n, (hg_edge)n * 4);
        for (hg_node v = 0; v < n; v++) {
            mask[v] = rng_below(&r, 3) != 0;
        }
        snprintf(name, sizeof(name), "random seed %llu",
                 (unsigned long long)seed);
        check_in_degree(name, &g, NULL);
        check_in_degree(name, &g, mask);
        hg_csr_destroy(&g);
        free(mask);
    }
}

static void test_node_with_a_million_in_edges(void) {
    hg_node n = 1000001;
    hg_node *src = malloc((size_t)n * sizeof(hg_node));
    hg_node *dst = malloc((size_t)n * sizeof(hg_node));
    hg_csr g;

    REQUIRE(src && dst, "allocation");
    for (hg_node v = 1; v < n; v++) {
        src[v - 1] = v;
        dst[v - 1] = 0;
    }
    csr_from_edges(&g, n, n - 1, src, dst);
    check_in_degree("hub with 1M in-edges", &g, NULL);
    hg_csr_destroy(&g);
    free(src);
    free(dst);
}

int main(void) {
    test_small_graphs();
    test_random_graphs_with_masks();
    test_node_with_a_million_in_edges();
    return check_summary("test_in_degree");
}
