/*
 * test_histogram.c -- hg_type_histogram equals the reference, with and
 * without a mask, for 1, 2 and 4 threads; bad type ids are refused.
 */
#include "check.h"
#include "ref/ref.h"

static void check_histogram(const char *name, const uint32_t *ty, hg_node n,
                            const uint8_t *mask, uint32_t n_types) {
    uint64_t *want = malloc((size_t)n_types * sizeof(uint64_t) + 1);
    uint64_t *got = malloc((size_t)n_types * sizeof(uint64_t) + 1);

    REQUIRE(want && got, "allocation");
    ref_histogram(ty, n, mask, n_types, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        memset(got, 0xab, (size_t)n_types * sizeof(uint64_t));
        st = hg_type_histogram(ty, n, mask, n_types, got);
        CHECK(st == HG_OK, "%s: got %s", name, hg_status_str(st));
        CHECK_SAME(name, want, got, n_types);
    }
    free(want);
    free(got);
}

static void test_random_types(void) {
    static const uint32_t n_types[] = {1, 7, 300, 100000};
    char name[64];
    for (size_t i = 0; i < 4; i++) {
        hg_node n = 200000;
        uint32_t *ty = malloc(n * sizeof(uint32_t));
        uint8_t *mask = malloc(n);
        rng r = {i + 1};
        REQUIRE(ty && mask, "allocation");
        for (hg_node v = 0; v < n; v++) {
            /* skewed: half the nodes share a handful of types */
            ty[v] = (uint32_t)(rng_below(&r, 2)
                                   ? rng_below(&r, n_types[i])
                                   : rng_below(&r, 1 + n_types[i] / 50));
            mask[v] = (uint8_t)rng_below(&r, 2);
        }
        snprintf(name, sizeof(name), "n_types=%u", n_types[i]);
        check_histogram(name, ty, n, NULL, n_types[i]);
        check_histogram(name, ty, n, mask, n_types[i]);
        free(ty);
        free(mask);
    }
}

static void test_edge_cases(void) {
    uint32_t ty[] = {0, 1, 2, 1};
    uint64_t counts[3] = {9, 9, 9};
    uint32_t bad[] = {0, 3, 1};

    CHECK(hg_type_histogram(NULL, 0, NULL, 3, counts) == HG_OK &&
              counts[0] == 0 && counts[2] == 0,
          "no nodes: all counts zero");
    CHECK(hg_type_histogram(ty, 4, NULL, 3, counts) == HG_OK &&
              counts[0] == 1 && counts[1] == 2 && counts[2] == 1,
          "expected 1 2 1, got %llu %llu %llu", (unsigned long long)counts[0],
          (unsigned long long)counts[1], (unsigned long long)counts[2]);
    CHECK(hg_type_histogram(bad, 3, NULL, 3, counts) == HG_EINVAL,
          "type id >= n_types must be HG_EINVAL");
    CHECK(counts[0] == 1 && counts[1] == 2 && counts[2] == 1,
          "counts untouched on HG_EINVAL");
    CHECK(hg_type_histogram(ty, 4, NULL, 0, NULL) == HG_EINVAL,
          "nodes but no types");
    CHECK(hg_type_histogram(ty, 4, NULL, 3, NULL) == HG_EINVAL, "NULL counts");
}

int main(void) {
    test_random_types();
    test_edge_cases();
    return check_summary("test_histogram");
}
