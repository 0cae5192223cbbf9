/*
 * test_addr_index.c -- the address -> id index finds every address, misses
 * absent ones, handles address 0, and keeps the smallest id of a repeat.
 */
#include "check.h"

static void test_random_addresses(void) {
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_node n = 300000;
        uint64_t *addr = malloc(n * sizeof(uint64_t));
        hg_addr_index *ix = NULL;
        rng r = {42};
        hg_node wrong = 0, found_absent = 0;
        REQUIRE(addr, "allocation");
        hg_set_num_threads(test_thread_counts[t]);
        /* heap-like: 16-byte aligned, clustered, distinct */
        for (hg_node v = 0; v < n; v++) {
            addr[v] =
                0x7f0000000000ULL + (uint64_t)v * 48 + 16 * rng_below(&r, 2);
        }
        REQUIRE(hg_addr_index_new(addr, n, &ix) == HG_OK, "index");
        for (hg_node v = 0; v < n; v++) {
            wrong += hg_addr_index_find(ix, addr[v]) != v;
            found_absent += hg_addr_index_find(ix, addr[v] + 8) != HG_NONE;
        }
        CHECK(wrong == 0, "%d threads: %u addresses map to the wrong id",
              test_thread_counts[t], wrong);
        CHECK(found_absent == 0, "%u absent addresses were found",
              found_absent);
        CHECK(hg_addr_index_find(ix, 0) == HG_NONE, "0 is absent");
        CHECK(hg_addr_index_nbytes(ix) >= (uint64_t)n * 12,
              "nbytes %llu too small",
              (unsigned long long)hg_addr_index_nbytes(ix));
        hg_addr_index_free(ix);
        free(addr);
    }
}

static void test_zero_and_repeats(void) {
    uint64_t addr[] = {5, 0, 7, 5, 0, 9};
    hg_addr_index *ix = NULL;
    uint64_t start = hg_alloc_live_bytes();

    REQUIRE(hg_addr_index_new(addr, 6, &ix) == HG_OK, "index");
    CHECK(hg_addr_index_find(ix, 0) == 1, "address 0 -> id 1, got %u",
          hg_addr_index_find(ix, 0));
    CHECK(hg_addr_index_find(ix, 5) == 0, "repeated address keeps id 0");
    CHECK(hg_addr_index_find(ix, 9) == 5, "address 9 -> id 5");
    CHECK(hg_addr_index_find(ix, 6) == HG_NONE, "6 absent");
    hg_addr_index_free(ix);
    hg_addr_index_free(NULL);
    CHECK(hg_alloc_live_bytes() == start, "leak after free");

    REQUIRE(hg_addr_index_new(NULL, 0, &ix) == HG_OK, "empty index");
    CHECK(hg_addr_index_find(ix, 5) == HG_NONE, "empty index finds nothing");
    hg_addr_index_free(ix);
    CHECK(hg_addr_index_new(NULL, 3, &ix) == HG_EINVAL, "NULL addrs");
    CHECK(hg_addr_index_find(NULL, 5) == HG_NONE, "NULL index");
}

int main(void) {
    test_random_addresses();
    test_zero_and_repeats();
    return check_summary("test_addr_index");
}
