/*
 * test_topk.c -- hg_topk equals a full sort (ref_topk) on random keys with
 * many ties and with few, for k from 1 to all of them (k == 0), with and
 * without a mask, for 1, 2 and 4 threads (the per-chunk heaps); small
 * cases by hand; bad arguments; allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

static void check_same(const char *name, const uint64_t *key, hg_node n,
                       const uint8_t *mask, size_t k) {
    hg_node *want = malloc((size_t)n * sizeof(hg_node) + 1);
    hg_node *got = malloc((size_t)n * sizeof(hg_node) + 1);
    size_t want_n, got_n;
    char what[160];

    REQUIRE(want && got, "allocation");
    want_n = ref_topk(key, n, mask, k, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        got_n = 12345;
        memset(got, 0xab, (size_t)n * sizeof(hg_node));
        st = hg_topk(key, n, mask, k, got, &got_n);
        snprintf(what, sizeof(what), "%s, k=%zu, %d thread(s)", name, k,
                 test_thread_counts[t]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK(got_n == want_n, "%s: %zu nodes expected, got %zu", what, want_n,
              got_n);
        CHECK_SAME(what, want, got, want_n);
    }
    hg_set_num_threads(1);
    free(want);
    free(got);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 100, 20000, 300000};
    static const size_t ks[] = {0, 1, 10, 1000, 300001};
    char name[120];
    for (int s = 0; s < 4; s++) {
        hg_node n = sizes[s];
        uint64_t *key = malloc((size_t)n * sizeof(uint64_t));
        uint8_t *mask = malloc(n);
        rng r = {(uint64_t)s + 90};
        REQUIRE(key && mask, "allocation");
        for (int ties = 0; ties < 2; ties++) {
            for (hg_node v = 0; v < n; v++) {
                /* ties: a handful of values, as retained sizes of many
                 * equal leaves are */
                key[v] = ties ? 24 * rng_below(&r, 5) : rng_next(&r);
                mask[v] = rng_below(&r, 3) != 0;
            }
            for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof(name), "n=%u%s", n,
                         ties ? ", many ties" : "");
                check_same(name, key, n, NULL, ks[i]);
                snprintf(name, sizeof(name), "n=%u%s, masked", n,
                         ties ? ", many ties" : "");
                check_same(name, key, n, mask, ks[i]);
            }
        }
        free(key);
        free(mask);
    }
}

static void test_by_hand(void) {
    uint64_t key[] = {5, 9, 5, 1, 9, 0};
    uint8_t mask[] = {1, 0, 1, 1, 1, 1};
    hg_node out[6];
    size_t n_out = 0;

    CHECK(hg_topk(key, 6, NULL, 3, out, &n_out) == HG_OK && n_out == 3 &&
              out[0] == 1 && out[1] == 4 && out[2] == 0,
          "largest first, ties to the smaller id: expected 1 4 0, got %u %u "
          "%u (%zu)",
          out[0], out[1], out[2], n_out);
    CHECK(hg_topk(key, 6, mask, 0, out, &n_out) == HG_OK && n_out == 5 &&
              out[0] == 4 && out[1] == 0 && out[2] == 2 && out[4] == 5,
          "all masked nodes: expected 4 0 2 3 5, got %u %u %u .. %u (%zu)",
          out[0], out[1], out[2], out[4], n_out);
    CHECK(hg_topk(NULL, 0, NULL, 10, NULL, &n_out) == HG_OK && n_out == 0,
          "no nodes: none, got %zu", n_out);
    CHECK(hg_topk(key, 6, NULL, 3, NULL, &n_out) == HG_EINVAL, "no out");
    CHECK(hg_topk(key, 6, NULL, 3, out, NULL) == HG_EINVAL, "no n_out");
}

static void test_alloc_fail(void) {
    uint64_t key[100];
    hg_node out[100];
    size_t n_out = 77;
    uint64_t start = hg_alloc_live_bytes();
    hg_status st;

    for (int v = 0; v < 100; v++) {
        key[v] = (uint64_t)v;
    }
    hg_alloc_fail_after(0);
    st = hg_topk(key, 100, NULL, 10, out, &n_out);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(n_out == 77, "n_out untouched, got %zu", n_out);
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
}

int main(void) {
    test_by_hand();
    test_random();
    test_alloc_fail();
    return check_summary("test_topk");
}
