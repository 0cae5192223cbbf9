/*
 * test_retained.c -- hg_domtree_retained equals the naive sum over each
 * node's dominator-tree ancestors (ref_retained) on the trees of random
 * heap-shaped graphs, for 1, 2 and 4 threads; hand-built heaps whose
 * retained sizes are known (an exclusive tree, a diamond, a ring, an object
 * held by two roots); every reached byte counted once; malformed trees
 * refused; allocation failures.
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
        char name[80];

        REQUIRE(idom && size && want && got, "allocation");
        csr_heapish(&g, 300 + (uint64_t)s, n, 0.8);
        for (hg_node v = 0; v < n; v++) {
            size[v] = 16 + 8 * rng_below(&r, 100);
        }
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
            st = hg_domtree_retained(idom, n, size, got);
            snprintf(name, sizeof(name), "heap-shaped n=%u, %d thread(s)", n,
                     test_thread_counts[t]);
            CHECK(st == HG_OK, "%s: got %s", name, hg_status_str(st));
            CHECK_SAME(name, want, got, n);
        }
        hg_set_num_threads(1);
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

    REQUIRE(n <= 16, "small heaps only");
    csr_from_edges(&g, n, m, src, dst);
    REQUIRE(hg_domtree_build(&g, NULL, roots, n_roots, idom) == HG_OK, "%s",
            name);
    CHECK(hg_domtree_retained(idom, n, size, got) == HG_OK, "%s: ok", name);
    CHECK_SAME(name, expected, got, n);
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
}

static void test_malformed(void) {
    uint64_t size[4] = {1, 2, 3, 4}, out[4];
    hg_node out_of_range[] = {HG_DOM_VIRTUAL, 7, 0, 0};
    hg_node own_parent[] = {HG_DOM_VIRTUAL, 1, 0, 0};
    hg_node unreached_parent[] = {HG_DOM_VIRTUAL, HG_NONE, 1, 0};
    hg_node cycle[] = {HG_DOM_VIRTUAL, 2, 3, 1};

    CHECK(hg_domtree_retained(out_of_range, 4, size, out) == HG_EINVAL,
          "a parent id out of range is refused");
    CHECK(hg_domtree_retained(own_parent, 4, size, out) == HG_EINVAL,
          "a node that is its own parent is refused");
    CHECK(hg_domtree_retained(unreached_parent, 4, size, out) == HG_EINVAL,
          "an unreached parent is refused");
    CHECK(hg_domtree_retained(cycle, 4, size, out) == HG_EINVAL,
          "a cycle is refused");
    CHECK(hg_domtree_retained(NULL, 4, size, out) == HG_EINVAL, "no idom");
    CHECK(hg_domtree_retained(NULL, 0, NULL, NULL) == HG_OK, "empty is fine");
}

static void test_alloc_fail(void) {
    hg_node n = 100000, root = 0;
    hg_csr g;
    hg_node *idom = malloc((size_t)n * sizeof(hg_node));
    uint64_t *size = malloc((size_t)n * sizeof(uint64_t));
    uint64_t *got = malloc((size_t)n * sizeof(uint64_t));
    uint64_t start;
    hg_status st;

    REQUIRE(idom && size && got, "allocation");
    csr_heapish(&g, 8, n, 1.0);
    for (hg_node v = 0; v < n; v++) {
        size[v] = 24;
    }
    REQUIRE(hg_domtree_build(&g, NULL, &root, 1, idom) == HG_OK, "build");
    start = hg_alloc_live_bytes();
    memset(got, 0xab, (size_t)n * sizeof(uint64_t));
    hg_alloc_fail_after(0);
    st = hg_domtree_retained(idom, n, size, got);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    CHECK(got[0] == 0xababababababababull && got[n - 1] == got[0],
          "retained untouched");
    CHECK(hg_domtree_retained(idom, n, size, got) == HG_OK, "then succeeds");
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
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
