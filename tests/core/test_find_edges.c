/*
 * test_find_edges.c -- hg_csr_find_edges equals a backward scan of each
 * row (ref_find_edges) on random heap-shaped graphs (multi-edges: the
 * first one wins), for pairs that are edges and pairs that are not, few
 * and many (the parallel split), for 1, 2 and 4 threads; bad ids refused
 * with the output untouched; no pairs.
 */
#include "check.h"
#include "ref/ref_edges.h"

static void check_same(const char *name, const hg_csr *g, const hg_node *src,
                       const hg_node *dst, size_t n) {
    uint64_t *want = malloc(n * sizeof(uint64_t) + 1);
    uint64_t *got = malloc(n * sizeof(uint64_t) + 1);
    char what[160];

    REQUIRE(want && got, "allocation");
    ref_find_edges(g, src, dst, n, want);
    for (int k = 0; k < N_THREAD_COUNTS; k++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[k]);
        memset(got, 0xab, n * sizeof(uint64_t));
        st = hg_csr_find_edges(g, src, dst, n, got);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[k]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK_SAME(what, want, got, n);
    }
    hg_set_num_threads(1);
    free(want);
    free(got);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 60, 5000, 80000};
    static const size_t pairs[] = {1, 30, 5000, 100000};
    char name[120];
    for (int s = 0; s < 4; s++) {
        hg_csr g;
        hg_node n = sizes[s];
        size_t np = pairs[s];
        hg_node *src = malloc(np * sizeof(hg_node));
        hg_node *dst = malloc(np * sizeof(hg_node));
        size_t found = 0;
        rng r = {(uint64_t)s + 50};

        REQUIRE(src && dst, "allocation");
        csr_heapish(&g, 500 + (uint64_t)s, n, 2.0);
        for (size_t i = 0; i < np; i++) {
            hg_node u = (hg_node)rng_below(&r, n);
            hg_edge deg = g.offsets[u + 1] - g.offsets[u];
            src[i] = u;
            /* half of them an edge of u's row, half any node */
            dst[i] = deg > 0 && rng_below(&r, 2) == 0
                         ? g.targets[g.offsets[u] + rng_below(&r, deg)]
                         : (hg_node)rng_below(&r, n);
        }
        snprintf(name, sizeof(name), "n=%u, %zu pairs", n, np);
        check_same(name, &g, src, dst, np);
        for (size_t i = 0; i < np; i++) {
            for (hg_edge e = g.offsets[src[i]]; e < g.offsets[src[i] + 1];
                 e++) {
                if (g.targets[e] == dst[i]) {
                    found++;
                    break;
                }
            }
        }
        CHECK(n == 1 || (found > 0 && found < np),
              "%s: expected pairs found and pairs not, found %zu", name, found);
        hg_csr_destroy(&g);
        free(src);
        free(dst);
    }
}

static void test_bad_input(void) {
    hg_csr g;
    hg_node src[2] = {0, 1}, dst[2] = {1, 100};
    uint64_t out[2] = {42, 42};

    csr_heapish(&g, 7, 100, 1.0);
    CHECK(hg_csr_find_edges(&g, src, dst, 2, out) == HG_EINVAL &&
              out[0] == 42 && out[1] == 42,
          "a target id out of range: refused, out untouched");
    CHECK(hg_csr_find_edges(&g, dst, src, 2, out) == HG_EINVAL,
          "a source id out of range is refused");
    CHECK(hg_csr_find_edges(&g, NULL, dst, 2, out) == HG_EINVAL, "no sources");
    CHECK(hg_csr_find_edges(&g, NULL, NULL, 0, NULL) == HG_OK,
          "no pairs is fine");
    CHECK(hg_csr_find_edges(NULL, src, dst, 1, out) == HG_EINVAL, "no graph");
    hg_csr_destroy(&g);
}

int main(void) {
    test_bad_input();
    test_random();
    return check_summary("test_find_edges");
}
