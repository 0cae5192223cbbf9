/*
 * test_retained.c -- hg_domtree_retained equals the naive sum over each
 * node's dominator-tree ancestors (ref_retained) on the trees of random
 * heap-shaped graphs, for 1, 2 and 4 threads, with some sizes of 4 GiB or
 * more (the overflow table); hand-built heaps whose retained sizes are
 * known (an exclusive tree, a diamond, a ring, an object held by two
 * roots); every reached byte counted once; malformed trees and overflow
 * tables refused; allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

static void test_random(void) {
    static const hg_node sizes[] = {1, 50, 3000, 200000};
    for (int s = 0; s < 4; s++) {
        hg_csr g;
        hg_node n = sizes[s];
        hg_node roots[] = {0, n / 2, n - 1};
        hg_node *idom = malloc((size_t)n * sizeof(hg_node));
        uint64_t *size = malloc((size_t)n * sizeof(uint64_t));
        uint64_t *want = malloc((size_t)n * sizeof(uint64_t));
        uint64_t *got = malloc((size_t)n * sizeof(uint64_t));
        uint64_t reached_bytes = 0, top_bytes = 0;
        rng r = {(uint64_t)s + 3};
        packed_sizes ps;
        char name[80];

        REQUIRE(idom && size && want && got, "allocation");
        csr_heapish(&g, 300 + (uint64_t)s, n, 0.8);
        for (hg_node v = 0; v < n; v++) {
            size[v] = rng_size(&r);
        }
        packed_sizes_init(&ps, size, n);
        REQUIRE(hg_domtree_build(&g, NULL, roots, 3, idom) == HG_OK, "build");
        ref_retained(idom, n, size, want);
        for (hg_node v = 0; v < n; v++) {
            if (idom[v] != HG_NONE) {
                reached_bytes += size[v];
            }
            if (idom[v] == HG_DOM_VIRTUAL) {
                top_bytes += want[v];
            }
        }
        REQUIRE(top_bytes == reached_bytes, "the reference counts bytes once");
        for (int t = 0; t < N_THREAD_COUNTS; t++) {
            hg_status st;
            hg_set_num_threads(test_thread_counts[t]);
            memset(got, 0xab, (size_t)n * sizeof(uint64_t));
            st = hg_domtree_retained(idom, n, ps.size, ps.over, ps.n_over, got);
            snprintf(name, sizeof(name),
                     "heap-shaped n=%u (%u sizes >= 2^32 - 1), %d thread(s)", n,
                     ps.n_over, test_thread_counts[t]);
            CHECK(st == HG_OK, "%s: got %s", name, hg_status_str(st));
            CHECK_SAME(name, want, got, n);
        }
        hg_set_num_threads(1);
        packed_sizes_free(&ps);
        hg_csr_destroy(&g);
        free(idom);
        free(size);
        free(want);
        free(got);
    }
}

/* A small heap: its dominator tree from hg_domtree_build, then the
 * retained sizes, against the expected ones. */
static void check_heap(const char *name, hg_node n, hg_edge m,
                       const hg_node *src, const hg_node *dst,
                       const hg_node *roots, size_t n_roots,
                       const uint64_t *size, const uint64_t *expected) {
    hg_csr g;
    hg_node idom[16];
    uint64_t got[16];
    packed_sizes ps;

    REQUIRE(n <= 16, "small heaps only");
    csr_from_edges(&g, n, m, src, dst);
    packed_sizes_init(&ps, size, n);
    REQUIRE(hg_domtree_build(&g, NULL, roots, n_roots, idom) == HG_OK, "%s",
            name);
    CHECK(hg_domtree_retained(idom, n, ps.size, ps.over, ps.n_over, got) ==
              HG_OK,
          "%s: ok", name);
    CHECK_SAME(name, expected, got, n);
    packed_sizes_free(&ps);
    hg_csr_destroy(&g);
}

static void test_by_hand(void) {
    {
        /* exclusive tree 0 -> {1, 2}, 1 -> {3, 4} */
        hg_node src[] = {0, 0, 1, 1};
        hg_node dst[] = {1, 2, 3, 4};
        hg_node roots[] = {0};
        uint64_t size[] = {1, 10, 100, 1000, 10000};
        uint64_t want[] = {11111, 11010, 100, 1000, 10000};
        check_heap("exclusive tree", 5, 4, src, dst, roots, 1, size, want);
    }
    {
        /* diamond 0 -> {1, 2} -> 3 -> 4: 3 and 4 retained by 0 only */
        hg_node src[] = {0, 0, 1, 2, 3};
        hg_node dst[] = {1, 2, 3, 3, 4};
        hg_node roots[] = {0};
        uint64_t size[] = {1, 10, 100, 1000, 10000};
        uint64_t want[] = {11111, 10, 100, 11000, 10000};
        check_heap("diamond", 5, 5, src, dst, roots, 1, size, want);
    }
    {
        /* ring 1 -> 2 -> 3 -> 1 owned by 0: freeing 1 frees the ring */
        hg_node src[] = {0, 1, 2, 3};
        hg_node dst[] = {1, 2, 3, 1};
        hg_node roots[] = {0};
        uint64_t size[] = {1, 10, 100, 1000};
        uint64_t want[] = {1111, 1110, 1100, 1000};
        check_heap("ring", 4, 4, src, dst, roots, 1, size, want);
    }
    {
        /* 2 (owning 3) held by roots 0 and 1: neither root retains it; 4
         * is garbage: retained 0 */
        hg_node src[] = {0, 1, 2, 4};
        hg_node dst[] = {2, 2, 3, 3};
        hg_node roots[] = {0, 1};
        uint64_t size[] = {1, 10, 100, 1000, 10000};
        uint64_t want[] = {1, 10, 1100, 1000, 0};
        check_heap("held by two roots", 5, 4, src, dst, roots, 2, size, want);
    }
    {
        /* the exclusive tree with sizes past 32 bits: 5 GiB, exactly
         * UINT32_MAX (saturated, in the table), UINT32_MAX - 1 (not) */
        hg_node src[] = {0, 0, 1, 1};
        hg_node dst[] = {1, 2, 3, 4};
        hg_node roots[] = {0};
        uint64_t size[] = {1, (uint64_t)5 << 30, UINT32_MAX,
                           (uint64_t)UINT32_MAX - 1, 10000};
        uint64_t want[] = {1 + ((uint64_t)5 << 30) + UINT32_MAX + UINT32_MAX -
                               1 + 10000,
                           ((uint64_t)5 << 30) + UINT32_MAX - 1 + 10000,
                           UINT32_MAX, (uint64_t)UINT32_MAX - 1, 10000};
        check_heap("sizes of 4 GiB and more", 5, 4, src, dst, roots, 1, size,
                   want);
    }
}

static void test_malformed(void) {
    uint32_t size[4] = {1, 2, UINT32_MAX, UINT32_MAX};
    hg_size_overflow over[2] = {{2, 0, (uint64_t)5 << 30},
                                {3, 0, (uint64_t)6 << 30}};
    uint64_t out[4];
    hg_node tree[] = {HG_DOM_VIRTUAL, 0, 0, 1};
    hg_node out_of_range[] = {HG_DOM_VIRTUAL, 7, 0, 0};
    hg_node own_parent[] = {HG_DOM_VIRTUAL, 1, 0, 0};
    hg_node unreached_parent[] = {HG_DOM_VIRTUAL, HG_NONE, 1, 0};
    hg_node cycle[] = {HG_DOM_VIRTUAL, 2, 3, 1};

    CHECK(hg_domtree_retained(out_of_range, 4, size, over, 2, out) == HG_EINVAL,
          "a parent id out of range is refused");
    CHECK(hg_domtree_retained(own_parent, 4, size, over, 2, out) == HG_EINVAL,
          "a node that is its own parent is refused");
    CHECK(hg_domtree_retained(unreached_parent, 4, size, over, 2, out) ==
              HG_EINVAL,
          "an unreached parent is refused");
    CHECK(hg_domtree_retained(cycle, 4, size, over, 2, out) == HG_EINVAL,
          "a cycle is refused");
    CHECK(hg_domtree_retained(NULL, 4, size, over, 2, out) == HG_EINVAL,
          "no idom");
    CHECK(hg_domtree_retained(NULL, 0, NULL, NULL, 0, NULL) == HG_OK,
          "empty is fine");

    /* the overflow table: valid, then broken in each way */
    CHECK(hg_domtree_retained(tree, 4, size, over, 2, out) == HG_OK &&
              out[0] == 3 + ((uint64_t)11 << 30) && out[3] == (uint64_t)6 << 30,
          "valid table: retained[0] = %llu, retained[3] = %llu",
          (unsigned long long)out[0], (unsigned long long)out[3]);
    memset(out, 0xab, sizeof(out));
    CHECK(hg_domtree_retained(tree, 4, size, NULL, 2, out) == HG_EINVAL,
          "entries without a table are refused");
    CHECK(hg_domtree_retained(tree, 4, size, over, 1, out) == HG_OK &&
              out[3] == UINT32_MAX,
          "a saturated size without an entry counts UINT32_MAX, got %llu",
          (unsigned long long)out[3]);
    memset(out, 0xab, sizeof(out));
    over[1].node = 4;
    CHECK(hg_domtree_retained(tree, 4, size, over, 2, out) == HG_EINVAL,
          "an entry past the last node is refused");
    over[1].node = 2;
    CHECK(hg_domtree_retained(tree, 4, size, over, 2, out) == HG_EINVAL,
          "entries not strictly ascending are refused");
    over[1].node = 1;
    CHECK(hg_domtree_retained(tree, 4, size, over + 1, 1, out) == HG_EINVAL,
          "an entry for a node whose size is not saturated is refused");
    over[1].node = 3;
    over[1].size = 1000;
    CHECK(hg_domtree_retained(tree, 4, size, over, 2, out) == HG_EINVAL,
          "an entry below UINT32_MAX is refused");
    CHECK(out[0] == 0xababababababababull && out[3] == out[0],
          "retained untouched by a refused table");
}

static void test_alloc_fail(void) {
    hg_node n = 100000, root = 0;
    hg_csr g;
    hg_node *idom = malloc((size_t)n * sizeof(hg_node));
    uint64_t *size = malloc((size_t)n * sizeof(uint64_t));
    uint64_t *got = malloc((size_t)n * sizeof(uint64_t));
    uint64_t start;
    packed_sizes ps;
    hg_status st;

    REQUIRE(idom && size && got, "allocation");
    csr_heapish(&g, 8, n, 1.0);
    for (hg_node v = 0; v < n; v++) {
        size[v] = 24;
    }
    size[n / 2] = (uint64_t)5 << 30;
    packed_sizes_init(&ps, size, n);
    REQUIRE(hg_domtree_build(&g, NULL, &root, 1, idom) == HG_OK, "build");
    start = hg_alloc_live_bytes();
    memset(got, 0xab, (size_t)n * sizeof(uint64_t));
    hg_alloc_fail_after(0);
    st = hg_domtree_retained(idom, n, ps.size, ps.over, ps.n_over, got);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    CHECK(got[0] == 0xababababababababull && got[n - 1] == got[0],
          "retained untouched");
    CHECK(hg_domtree_retained(idom, n, ps.size, ps.over, ps.n_over, got) ==
              HG_OK,
          "then succeeds");
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    packed_sizes_free(&ps);
    hg_csr_destroy(&g);
    free(idom);
    free(size);
    free(got);
}

int main(void) {
    test_by_hand();
    test_malformed();
    test_random();
    test_alloc_fail();
    return check_summary("test_retained");
}
