/*
 * test_class_retained.c -- hg_domtree_class_retained equals the naive walk
 * up from every node (ref_class_retained) on the dominator trees of random
 * heap-shaped graphs, with few classes (nested members) and many, with and
 * without a mask, for 1, 2 and 4 threads; hand-built trees whose answers
 * are known (a nested class counted once, siblings counted both); a
 * 2M-node chain (no recursion); bad input refused; allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

/* The dominator tree and retained sizes of a heap-shaped graph. */
typedef struct tree {
    hg_node n;
    hg_node *idom;
    uint64_t *retained;
} tree;

static void tree_init(tree *t, uint64_t seed, hg_node n) {
    hg_csr g;
    hg_node roots[] = {0, n / 3, n - 1};

    t->n = n;
    t->idom = malloc((size_t)n * sizeof(hg_node) + 1);
    t->retained = malloc((size_t)n * sizeof(uint64_t) + 1);
    REQUIRE(t->idom && t->retained, "allocation");
    csr_heapish(&g, seed, n, 0.7);
    domtree_with_sizes(&g, roots, 3, seed, t->idom, t->retained);
    hg_csr_destroy(&g);
}

static void tree_free(tree *t) {
    free(t->idom);
    free(t->retained);
}

static void check_same(const char *name, const tree *t, const uint32_t *cls,
                       uint32_t n_cls, const uint8_t *mask) {
    uint64_t *want = malloc((size_t)n_cls * sizeof(uint64_t) + 1);
    uint64_t *got = malloc((size_t)n_cls * sizeof(uint64_t) + 1);
    char what[160];

    REQUIRE(want && got, "allocation");
    ref_class_retained(t->idom, t->n, t->retained, cls, n_cls, mask, want);
    for (int k = 0; k < N_THREAD_COUNTS; k++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[k]);
        memset(got, 0xab, (size_t)n_cls * sizeof(uint64_t));
        st = hg_domtree_class_retained(t->idom, t->n, t->retained, cls, n_cls,
                                       mask, got);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[k]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK_SAME(what, want, got, n_cls);
    }
    hg_set_num_threads(1);
    free(want);
    free(got);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 40, 2000, 30000};
    static const uint32_t n_classes[] = {1, 3, 50, 5000};
    char name[120];
    for (int s = 0; s < 4; s++) {
        hg_node n = sizes[s];
        tree t;
        uint32_t *cls = malloc((size_t)n * sizeof(uint32_t) + 1);
        uint8_t *mask = malloc((size_t)n + 1);
        rng r = {(uint64_t)s + 70};

        REQUIRE(cls && mask, "allocation");
        tree_init(&t, 700 + (uint64_t)s, n);
        for (int c = 0; c < 4; c++) {
            uint32_t k = n_classes[c];
            for (hg_node v = 0; v < n; v++) {
                cls[v] = rng_below(&r, 8) == 0 ? HG_NONE
                                               : (uint32_t)rng_below(&r, k);
                mask[v] = rng_below(&r, 4) != 0;
            }
            snprintf(name, sizeof(name), "heap-shaped n=%u, %u classes", n, k);
            check_same(name, &t, cls, k, NULL);
            snprintf(name, sizeof(name), "heap-shaped n=%u, %u classes, masked",
                     n, k);
            check_same(name, &t, cls, k, mask);
        }
        tree_free(&t);
        free(cls);
        free(mask);
    }
}

static void test_by_hand(void) {
    /* 0 -> 1 -> 2 and 0 -> 3: a class on 0 and 2 counts 0 alone; a class
     * on the siblings 1 and 3 counts both; a class on 2 alone counts 2;
     * the mask hides 0, and then 2 counts. */
    hg_node idom[] = {HG_DOM_VIRTUAL, 0, 1, 0, HG_NONE};
    uint64_t retained[] = {1111, 110, 100, 1000, 0};
    uint32_t cls[] = {0, 1, 0, 1, 2};
    uint8_t mask[] = {0, 1, 1, 1, 1};
    uint64_t out[3];

    CHECK(hg_domtree_class_retained(idom, 5, retained, cls, 3, NULL, out) ==
                  HG_OK &&
              out[0] == 1111 && out[1] == 1110 && out[2] == 0,
          "nested counted once, siblings both, unreached nothing: expected "
          "1111 1110 0, got %llu %llu %llu",
          (unsigned long long)out[0], (unsigned long long)out[1],
          (unsigned long long)out[2]);
    CHECK(hg_domtree_class_retained(idom, 5, retained, cls, 3, mask, out) ==
                  HG_OK &&
              out[0] == 100 && out[1] == 1110,
          "masked out, the dominator hides nothing: expected 100 1110, got "
          "%llu %llu",
          (unsigned long long)out[0], (unsigned long long)out[1]);
}

static void test_chain(void) {
    hg_node n = 2000000;
    hg_node *idom = malloc((size_t)n * sizeof(hg_node));
    uint64_t *retained = malloc((size_t)n * sizeof(uint64_t));
    uint32_t *cls = malloc((size_t)n * sizeof(uint32_t));
    uint64_t out[2];

    REQUIRE(idom && retained && cls, "allocation");
    for (hg_node v = 0; v < n; v++) {
        idom[v] = v == 0 ? HG_DOM_VIRTUAL : v - 1;
        retained[v] = (uint64_t)(n - v) * 16;
        cls[v] = v % 2;
    }
    CHECK(hg_domtree_class_retained(idom, n, retained, cls, 2, NULL, out) ==
                  HG_OK &&
              out[0] == (uint64_t)n * 16 && out[1] == (uint64_t)(n - 1) * 16,
          "a 2M-node chain: expected %llu %llu, got %llu %llu",
          (unsigned long long)n * 16, (unsigned long long)(n - 1) * 16,
          (unsigned long long)out[0], (unsigned long long)out[1]);
    free(idom);
    free(retained);
    free(cls);
}

static void test_bad_input(void) {
    hg_node idom[] = {HG_DOM_VIRTUAL, 0, 7};
    hg_node good[] = {HG_DOM_VIRTUAL, 0, 1};
    uint64_t retained[] = {3, 2, 1};
    uint32_t cls[] = {0, 1, 0};
    uint32_t big[] = {0, 2, 0};
    uint64_t out[2] = {42, 42};

    CHECK(hg_domtree_class_retained(idom, 3, retained, cls, 2, NULL, out) ==
              HG_EINVAL,
          "an idom entry out of range is refused");
    CHECK(hg_domtree_class_retained(good, 3, retained, big, 2, NULL, out) ==
              HG_EINVAL,
          "a class >= n_cls is refused");
    CHECK(out[0] == 42 && out[1] == 42, "out untouched by refused input");
    CHECK(hg_domtree_class_retained(NULL, 3, retained, cls, 2, NULL, out) ==
              HG_EINVAL,
          "no idom");
    CHECK(hg_domtree_class_retained(NULL, 0, NULL, NULL, 0, NULL, NULL) ==
              HG_OK,
          "empty is fine");
}

static void test_alloc_fail(void) {
    tree t;
    uint32_t *cls = malloc(50000 * sizeof(uint32_t));
    uint64_t out[10];
    uint64_t start;
    hg_status st;

    REQUIRE(cls, "allocation");
    tree_init(&t, 9, 50000);
    for (hg_node v = 0; v < t.n; v++) {
        cls[v] = v % 10;
    }
    start = hg_alloc_live_bytes();
    memset(out, 0xab, sizeof(out));
    hg_alloc_fail_after(0);
    st = hg_domtree_class_retained(t.idom, t.n, t.retained, cls, 10, NULL, out);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    CHECK(out[0] == 0xababababababababull && out[9] == out[0], "out untouched");
    tree_free(&t);
    free(cls);
}

int main(void) {
    test_by_hand();
    test_bad_input();
    test_random();
    test_chain();
    test_alloc_fail();
    return check_summary("test_class_retained");
}
