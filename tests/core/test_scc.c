/*
 * test_scc.c -- hg_scc equals components by mutual reachability (ref_scc)
 * on random graphs (self-loops, multi-edges, hubs) and heap-shaped ones,
 * with and without a mask, for 1, 2 and 4 threads; small cases by hand; a
 * 10M-node ring and a 10M-node chain (no recursion); allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

static void check_same(const char *name, const hg_csr *g, const uint8_t *mask) {
    hg_node n = g->n_nodes, want_n, got_n = 12345;
    hg_node *want = malloc((size_t)n * sizeof(hg_node) + 1);
    hg_node *got = malloc((size_t)n * sizeof(hg_node) + 1);
    char what[160];

    REQUIRE(want && got, "allocation");
    want_n = ref_scc(g, mask, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        memset(got, 0xab, (size_t)n * sizeof(hg_node));
        st = hg_scc(g, mask, got, &got_n);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[t]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK(got_n == want_n, "%s: %u components expected, got %u", what,
              want_n, got_n);
        CHECK_SAME(what, want, got, n);
    }
    hg_set_num_threads(1);
    free(want);
    free(got);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 2, 30, 500, 1500};
    char name[120];
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < 3; i++) {
            hg_node n = sizes[s];
            hg_csr g;
            uint8_t *mask = malloc(n);
            rng r = {(uint64_t)(s * 10 + i)};
            REQUIRE(mask, "allocation");
            for (hg_node v = 0; v < n; v++) {
                mask[v] = rng_below(&r, 5) != 0;
            }
            csr_random(&g, 500 + (uint64_t)(s * 10 + i), n,
                       (hg_edge)n * (hg_edge)(i + 1));
            snprintf(name, sizeof(name), "random n=%u m=%llu", n,
                     (unsigned long long)g.n_edges);
            check_same(name, &g, NULL);
            snprintf(name, sizeof(name), "random n=%u m=%llu, masked", n,
                     (unsigned long long)g.n_edges);
            check_same(name, &g, mask);
            hg_csr_destroy(&g);
            csr_heapish(&g, 600 + (uint64_t)(s * 10 + i), n, 0.5 * (i + 1));
            snprintf(name, sizeof(name), "heap-shaped n=%u", n);
            check_same(name, &g, NULL);
            snprintf(name, sizeof(name), "heap-shaped n=%u, masked", n);
            check_same(name, &g, mask);
            hg_csr_destroy(&g);
            free(mask);
        }
    }
}

static void test_by_hand(void) {
    /* 0 -> 1 -> 2 -> 1 (cycle {1,2}); 3 self-loop; 4 -> 0; 5 isolated;
     * 6 <-> 3.  Components by smallest node: {0} 0, {1,2} 1, {3,6} 2,
     * {4} 3, {5} 4.  Masking out 6 splits nothing else: {3} stays 2. */
    hg_node src[] = {0, 1, 2, 3, 4, 6, 3};
    hg_node dst[] = {1, 2, 1, 3, 0, 3, 6};
    hg_node want[] = {0, 1, 1, 2, 3, 4, 2};
    hg_node want_masked[] = {HG_NONE, 0, 0, 1, 2, 3, HG_NONE};
    uint8_t mask[] = {0, 1, 1, 1, 1, 1, 0};
    hg_node comp[7], n_comp = 0;
    hg_csr g;

    csr_from_edges(&g, 7, 7, src, dst);
    CHECK(hg_scc(&g, NULL, comp, &n_comp) == HG_OK && n_comp == 5,
          "5 components, got %u", n_comp);
    CHECK_SAME("by hand", want, comp, 7);
    CHECK(hg_scc(&g, mask, comp, &n_comp) == HG_OK && n_comp == 4,
          "masked: 4 components, got %u", n_comp);
    CHECK_SAME("by hand, masked", want_masked, comp, 7);
    CHECK(hg_scc(&g, NULL, NULL, &n_comp) == HG_EINVAL, "no output");
    CHECK(hg_scc(NULL, NULL, comp, &n_comp) == HG_EINVAL, "no graph");
    hg_csr_destroy(&g);
}

/* 0 -> 1 -> ... -> n-1, closed into a ring or not: one component of n
 * nodes, or n singletons; the search is n levels deep either way. */
static void test_long(int ring) {
    const hg_node n = 10000000;
    hg_edge m = ring ? n : n - 1;
    hg_edge *off = hg_alloc(((size_t)n + 1) * sizeof(hg_edge));
    hg_node *tgt = hg_alloc((size_t)m * sizeof(hg_node));
    hg_node *comp = malloc((size_t)n * sizeof(hg_node));
    hg_node n_comp = 0;
    hg_csr g = {0};
    hg_status st;
    uint64_t wrong = 0;

    REQUIRE(off && tgt && comp, "allocation");
    for (hg_node v = 0; v < n; v++) {
        off[v] = v;
        if (v + 1 < n || ring) {
            tgt[v] = v + 1 < n ? v + 1 : 0;
        }
    }
    off[n] = m;
    REQUIRE(hg_csr_adopt(&g, n, m, &off, &tgt) == HG_OK, "adopt");
    st = hg_scc(&g, NULL, comp, &n_comp);
    CHECK(st == HG_OK, "10M %s: got %s", ring ? "ring" : "chain",
          hg_status_str(st));
    for (hg_node v = 0; v < n; v++) {
        wrong += comp[v] != (ring ? 0 : v);
    }
    CHECK(n_comp == (ring ? 1 : n) && wrong == 0,
          "10M %s: %u components, %llu nodes numbered wrong",
          ring ? "ring" : "chain", n_comp, (unsigned long long)wrong);
    hg_csr_destroy(&g);
    free(comp);
}

static void test_alloc_fail(void) {
    hg_node n = 100000, n_comp = 0;
    hg_csr g;
    hg_node *comp = malloc((size_t)n * sizeof(hg_node));
    uint64_t start;
    hg_status st = HG_ENOMEM;
    long k;

    REQUIRE(comp, "allocation");
    csr_random(&g, 9, n, 2 * (hg_edge)n);
    start = hg_alloc_live_bytes();
    for (k = 0; k < 100 && st != HG_OK; k++) {
        memset(comp, 0xab, (size_t)n * sizeof(hg_node));
        hg_alloc_fail_after(k);
        st = hg_scc(&g, NULL, comp, &n_comp);
        hg_alloc_fail_after(-1);
        CHECK(hg_alloc_live_bytes() == start, "allocation %ld failing: leak",
              k);
        if (st != HG_OK) {
            CHECK(st == HG_ENOMEM, "allocation %ld failing: got %s", k,
                  hg_status_str(st));
            CHECK(comp[0] == 0xabababab && comp[n - 1] == 0xabababab,
                  "allocation %ld failing: comp was written", k);
        }
    }
    CHECK(st == HG_OK && k > 1, "succeeds after %ld failures", k - 1);
    hg_csr_destroy(&g);
    free(comp);
}

int main(void) {
    test_by_hand();
    test_random();
    test_alloc_fail();
    test_long(0);
    test_long(1);
    return check_summary("test_scc");
}
