/*
 * test_type_graph.c -- hg_type_bytes and hg_type_edges equal the naive
 * references, with and without a mask, for 1, 2 and 4 threads, with some
 * sizes of 4 GiB or more (the overflow table); bad slots, type ids and
 * overflow tables are refused.
 */
#include "check.h"
#include "ref/ref.h"

static void test_random(void) {
    static const uint32_t n_types[] = {1, 9, 5000};
    for (size_t i = 0; i < 3; i++) {
        hg_csr g;
        hg_node n = 100000;
        uint32_t nt = n_types[i], k = 0;
        uint32_t *ty = malloc(n * sizeof(uint32_t));
        uint64_t *sz = malloc(n * sizeof(uint64_t));
        uint8_t *mask = malloc(n);
        uint32_t *slot = malloc(nt * sizeof(uint32_t));
        uint64_t *want_b = malloc(nt * sizeof(uint64_t));
        uint64_t *got_b = malloc(nt * sizeof(uint64_t));
        uint64_t *want_e, *got_e;
        packed_sizes ps;
        rng r = {i + 11};
        REQUIRE(ty && sz && mask && slot && want_b && got_b, "allocation");
        csr_random(&g, i + 3, n, 4 * (hg_edge)n);
        for (hg_node v = 0; v < n; v++) {
            ty[v] = (uint32_t)rng_below(&r, nt);
            sz[v] = rng_size(&r);
            mask[v] = (uint8_t)(rng_below(&r, 4) != 0);
        }
        packed_sizes_init(&ps, sz, n);
        REQUIRE(ps.n_over > 0, "some sizes overflow");
        /* about half the types get a slot; several types share one */
        for (uint32_t t = 0; t < nt; t++) {
            slot[t] = rng_below(&r, 2) ? HG_NONE : (uint32_t)(t % 37);
            if (slot[t] != HG_NONE && slot[t] + 1 > k) {
                k = slot[t] + 1;
            }
        }
        want_e = malloc((size_t)k * k * sizeof(uint64_t) + 1);
        got_e = malloc((size_t)k * k * sizeof(uint64_t) + 1);
        REQUIRE(want_e && got_e, "allocation");
        for (int m = 0; m < 2; m++) {
            const uint8_t *mk = m ? mask : NULL;
            ref_type_bytes(ty, sz, n, mk, nt, want_b);
            ref_type_edges(&g, ty, mk, slot, k, want_e);
            for (int t = 0; t < N_THREAD_COUNTS; t++) {
                hg_set_num_threads(test_thread_counts[t]);
                memset(got_b, 0xab, nt * sizeof(uint64_t));
                memset(got_e, 0xab, (size_t)k * k * sizeof(uint64_t));
                CHECK(hg_type_bytes(ty, ps.size, ps.over, ps.n_over, n, mk, nt,
                                    got_b) == HG_OK,
                      "type_bytes ok");
                CHECK_SAME("type_bytes", want_b, got_b, nt);
                CHECK(hg_type_edges(&g, ty, mk, nt, slot, k, got_e) == HG_OK,
                      "type_edges ok");
                CHECK_SAME("type_edges", want_e, got_e, (size_t)k * k);
            }
        }
        packed_sizes_free(&ps);
        hg_csr_destroy(&g);
        free(ty);
        free(sz);
        free(mask);
        free(slot);
        free(want_b);
        free(got_b);
        free(want_e);
        free(got_e);
    }
}

static void test_edge_cases(void) {
    /* 0 -> 1, 1 -> 1 (self-loop), 1 -> 2, 2 -> 0 twice (multi-edge) */
    hg_edge off[] = {0, 1, 3, 5};
    hg_node tgt[] = {1, 1, 2, 0, 0};
    hg_csr g = {3, 5, off, tgt};
    uint32_t ty[] = {0, 1, 1};
    uint32_t sz[] = {10, 20, 30};
    uint32_t big_sz[] = {10, UINT32_MAX, UINT32_MAX};
    hg_size_overflow big[] = {{1, 0, (uint64_t)5 << 30},
                              {2, 0, (uint64_t)1 << 62}};
    hg_size_overflow bad_big[] = {{0, 0, (uint64_t)5 << 30}};
    uint8_t mask[] = {1, 1, 0};
    uint32_t slot[] = {1, 0};
    uint32_t bad_slot[] = {2, 0};
    uint32_t bad_ty[] = {0, 5, 1};
    uint64_t bytes[2], counts[4];

    CHECK(hg_type_bytes(ty, sz, NULL, 0, 3, NULL, 2, bytes) == HG_OK &&
              bytes[0] == 10 && bytes[1] == 50,
          "bytes per type: got %" PRIu64 " %" PRIu64, bytes[0], bytes[1]);
    CHECK(hg_type_bytes(ty, big_sz, big, 2, 3, NULL, 2, bytes) == HG_OK &&
              bytes[0] == 10 &&
              bytes[1] == ((uint64_t)5 << 30) + ((uint64_t)1 << 62),
          "bytes per type past 32 bits: got %" PRIu64 " %" PRIu64, bytes[0],
          bytes[1]);
    CHECK(hg_type_bytes(ty, big_sz, big, 2, 3, mask, 2, bytes) == HG_OK &&
              bytes[0] == 10 && bytes[1] == (uint64_t)5 << 30,
          "masked bytes per type past 32 bits: got %" PRIu64 " %" PRIu64,
          bytes[0], bytes[1]);
    CHECK(hg_type_bytes(ty, big_sz, bad_big, 1, 3, NULL, 2, bytes) == HG_EINVAL,
          "type_bytes refuses an entry for a size that is not saturated");
    CHECK(hg_type_edges(&g, ty, NULL, 2, slot, 2, counts) == HG_OK, "edges ok");
    /* slot 0 = type 1 (nodes 1, 2), slot 1 = type 0 (node 0) */
    CHECK(counts[0] == 2 && counts[1] == 2 && counts[2] == 1 && counts[3] == 0,
          "edges between slots: got %" PRIu64 " %" PRIu64 " %" PRIu64
          " %" PRIu64,
          counts[0], counts[1], counts[2], counts[3]);
    CHECK(hg_type_edges(&g, ty, NULL, 2, bad_slot, 2, counts) == HG_EINVAL,
          "a slot >= k is refused");
    CHECK(hg_type_edges(&g, bad_ty, NULL, 2, slot, 2, counts) == HG_EINVAL,
          "a type id >= n_types is refused");
    CHECK(hg_type_bytes(bad_ty, sz, NULL, 0, 3, NULL, 2, bytes) == HG_EINVAL,
          "type_bytes refuses a type id >= n_types");
    CHECK(hg_type_edges(&g, ty, NULL, 2, slot, 0, NULL) == HG_EINVAL,
          "k = 0 with slots in use is refused");
}

int main(void) {
    test_random();
    test_edge_cases();
    return check_summary("test_type_graph");
}
