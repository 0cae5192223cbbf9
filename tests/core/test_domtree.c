/*
 * test_domtree.c -- hg_domtree_build equals dominators by their definition
 * (ref_domtree: d dominates w iff removing d cuts w off from the roots) on
 * random graphs, random and heap-shaped, with several root sets, with and
 * without a reverse graph given, for 1, 2 and 4 threads; small heaps whose
 * dominators are known by hand; a 10M-node doubly linked ring (no
 * recursion, a path compression 10M deep); one answer for every thread
 * count on a graph big enough for the parallel loops; bad arguments; and
 * allocation failures (HG_ENOMEM, nothing leaked, idom untouched).
 */
#include "check.h"
#include "ref/ref.h"

#include <time.h>

/* hg_domtree_build against ref_domtree, rev given and not, every thread
 * count. */
static void check_against_ref(const char *name, const hg_csr *g,
                              const hg_node *roots, size_t n_roots) {
    hg_node n = g->n_nodes;
    hg_node *want = malloc((size_t)n * sizeof(hg_node) + 1);
    hg_node *got = malloc((size_t)n * sizeof(hg_node) + 1);
    hg_csr rev = {0};
    char what[160];

    REQUIRE(want && got, "allocation");
    REQUIRE(hg_csr_transpose(g, &rev) == HG_OK, "transpose");
    ref_domtree(g, roots, n_roots, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        for (int with_rev = 0; with_rev < 2; with_rev++) {
            hg_status st;
            memset(got, 0xab, (size_t)n * sizeof(hg_node));
            st = hg_domtree_build(g, with_rev ? &rev : NULL, roots, n_roots,
                                  got);
            snprintf(what, sizeof(what), "%s, %d thread(s), rev %s", name,
                     test_thread_counts[t], with_rev ? "given" : "NULL");
            CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
            CHECK_SAME(what, want, got, n);
        }
    }
    hg_set_num_threads(1);
    hg_csr_destroy(&rev);
    free(want);
    free(got);
}

/* Root sets: node 0; a few random nodes (repeats allowed); many; one from
 * the part with no owners; none. */
static void check_root_sets(const char *kind, const hg_csr *g, uint64_t seed) {
    rng r = {seed};
    hg_node n = g->n_nodes;
    hg_node roots[40];
    char name[120];

    roots[0] = 0;
    snprintf(name, sizeof(name), "%s, root 0", kind);
    check_against_ref(name, g, roots, 1);
    for (int k = 0; k < 5; k++) {
        roots[k] = (hg_node)rng_below(&r, n);
    }
    roots[5] = roots[1]; /* a repeat */
    snprintf(name, sizeof(name), "%s, 5 random roots and a repeat", kind);
    check_against_ref(name, g, roots, 6);
    for (int k = 0; k < 40; k++) {
        roots[k] = (hg_node)rng_below(&r, n);
    }
    snprintf(name, sizeof(name), "%s, 40 random roots", kind);
    check_against_ref(name, g, roots, 40);
    roots[0] = n - 1;
    snprintf(name, sizeof(name), "%s, last node as root", kind);
    check_against_ref(name, g, roots, 1);
    snprintf(name, sizeof(name), "%s, no roots", kind);
    check_against_ref(name, g, roots, 0);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 2, 17, 300, 700};
    char kind[80];
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < 3; i++) {
            hg_csr g;
            hg_node n = sizes[s];
            /* sparse, medium and dense: few to many cycles */
            hg_edge m = (hg_edge)n * (hg_edge)(1 + 2 * i);
            csr_random(&g, 1000 + 10 * (uint64_t)s + (uint64_t)i, n, m);
            snprintf(kind, sizeof(kind), "random n=%u m=%llu", n,
                     (unsigned long long)m);
            check_root_sets(kind, &g, 77 + (uint64_t)i);
            hg_csr_destroy(&g);
            csr_heapish(&g, 2000 + 10 * (uint64_t)s + (uint64_t)i, n,
                        0.3 * (double)(i + 1));
            snprintf(kind, sizeof(kind), "heap-shaped n=%u, %.1f shared/node",
                     n, 0.3 * (i + 1));
            check_root_sets(kind, &g, 99 + (uint64_t)i);
            hg_csr_destroy(&g);
        }
    }
}

/* Big enough for the parallel loops (the reference is too slow there):
 * every thread count gives the one-thread answer. */
static void test_threads_agree(void) {
    hg_node n = 300000, roots[] = {0, 1, 2, 77, 150000, 299999};
    hg_node *one = malloc((size_t)n * sizeof(hg_node));
    hg_node *got = malloc((size_t)n * sizeof(hg_node));
    char what[80];
    hg_csr g;

    REQUIRE(one && got, "allocation");
    csr_heapish(&g, 4242, n, 1.2);
    hg_set_num_threads(1);
    REQUIRE(hg_domtree_build(&g, NULL, roots, 6, one) == HG_OK, "build");
    for (int t = 1; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        memset(got, 0xab, (size_t)n * sizeof(hg_node));
        CHECK(hg_domtree_build(&g, NULL, roots, 6, got) == HG_OK, "build");
        snprintf(what, sizeof(what), "300k heap-shaped, %d threads vs 1",
                 test_thread_counts[t]);
        CHECK_SAME(what, one, got, n);
    }
    hg_set_num_threads(1);
    hg_csr_destroy(&g);
    free(one);
    free(got);
}

/* One small heap: edges, roots, the expected idom. */
static void check_by_hand(const char *name, hg_node n, hg_edge m,
                          const hg_node *src, const hg_node *dst,
                          const hg_node *roots, size_t n_roots,
                          const hg_node *expected) {
    hg_csr g;
    hg_node got[16];

    REQUIRE(n <= 16, "small heaps only");
    csr_from_edges(&g, n, m, src, dst);
    CHECK(hg_domtree_build(&g, NULL, roots, n_roots, got) == HG_OK, "%s: ok",
          name);
    CHECK_SAME(name, expected, got, n);
    check_against_ref(name, &g, roots, n_roots); /* the reference agrees */
    hg_csr_destroy(&g);
}

#define V HG_DOM_VIRTUAL
#define U HG_NONE

static void test_by_hand(void) {
    {
        /* an exclusive tree: each object owned by one other */
        hg_node src[] = {0, 0, 1, 1, 4};
        hg_node dst[] = {1, 2, 3, 4, 5};
        hg_node roots[] = {0};
        hg_node want[] = {V, 0, 0, 1, 1, 4};
        check_by_hand("exclusive tree", 6, 5, src, dst, roots, 1, want);
    }
    {
        /* a diamond: 3 is reached through 1 and through 2, so only 0
         * dominates it; 4 hangs below 3 */
        hg_node src[] = {0, 0, 1, 2, 3};
        hg_node dst[] = {1, 2, 3, 3, 4};
        hg_node roots[] = {0};
        hg_node want[] = {V, 0, 0, 0, 3};
        check_by_hand("diamond", 5, 5, src, dst, roots, 1, want);
    }
    {
        /* a ring 1 -> 2 -> 3 -> 1 entered at 1: a chain of dominators */
        hg_node src[] = {0, 1, 2, 3};
        hg_node dst[] = {1, 2, 3, 1};
        hg_node roots[] = {0};
        hg_node want[] = {V, 0, 1, 2};
        check_by_hand("ring entered once", 4, 4, src, dst, roots, 1, want);
    }
    {
        /* the same ring entered at 1 and at 3: 0 dominates both */
        hg_node src[] = {0, 0, 1, 2, 3};
        hg_node dst[] = {1, 3, 2, 3, 1};
        hg_node roots[] = {0};
        hg_node want[] = {V, 0, 1, 0};
        check_by_hand("ring entered twice", 4, 5, src, dst, roots, 1, want);
    }
    {
        /* 2 is held by two roots: only the virtual root dominates it; 3
         * (owned by 2) is dominated by 2; 1 is also reachable from root 0
         * and is still a root (virtual); 4 is unreachable garbage with an
         * edge into the heap, and a self-loop on 2 changes nothing */
        hg_node src[] = {0, 1, 2, 0, 4, 2};
        hg_node dst[] = {2, 2, 3, 1, 3, 2};
        hg_node roots[] = {0, 1};
        hg_node want[] = {V, V, V, 2, U};
        check_by_hand("held by two roots", 5, 6, src, dst, roots, 2, want);
    }
    {
        /* a doubly linked list under one owner, multi-edges, a repeated
         * root: 0 -> 1 <-> 2 <-> 3, 0 -> 1 twice */
        hg_node src[] = {0, 0, 1, 2, 2, 3};
        hg_node dst[] = {1, 1, 2, 1, 3, 2};
        hg_node roots[] = {0, 0};
        hg_node want[] = {V, 0, 1, 2};
        check_by_hand("doubly linked list", 4, 6, src, dst, roots, 2, want);
    }
}

static void test_bad_arguments(void) {
    hg_node src[] = {0};
    hg_node dst[] = {1};
    hg_node bad_root = 2, root = 0, idom[2];
    hg_csr g, other;

    csr_from_edges(&g, 2, 1, src, dst);
    csr_from_edges(&other, 3, 1, src, dst);
    CHECK(hg_domtree_build(&g, NULL, &bad_root, 1, idom) == HG_EINVAL,
          "a root id out of range is refused");
    CHECK(hg_domtree_build(&g, &other, &root, 1, idom) == HG_EINVAL,
          "a reverse graph of another size is refused");
    CHECK(hg_domtree_build(NULL, NULL, &root, 1, idom) == HG_EINVAL,
          "no graph");
    CHECK(hg_domtree_build(&g, NULL, NULL, 1, idom) == HG_EINVAL, "no roots");
    CHECK(hg_domtree_build(&g, NULL, &root, 1, NULL) == HG_EINVAL, "no output");
    hg_csr_destroy(&g);
    hg_csr_destroy(&other);
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A root r = n-1 owns a doubly linked ring 0 <-> 1 <-> ... <-> n-2 whose
 * last node points back to 0: the DFS goes 10M deep, and node 0's
 * predecessor n-2 sends path compression up the whole chain.  idom[i] =
 * i - 1 (0's is the root, the root's virtual). */
static void test_long_chain(void) {
    const hg_node n = 10000000, r = n - 1;
    hg_edge m = 2 * (hg_edge)(n - 2) + 2;
    hg_edge *off = hg_alloc(((size_t)n + 1) * sizeof(hg_edge));
    hg_node *tgt = hg_alloc((size_t)m * sizeof(hg_node));
    hg_node *idom = malloc((size_t)n * sizeof(hg_node));
    hg_edge e = 0;
    hg_csr g = {0};
    hg_status st;
    double t0, t1;
    int wrong = 0;

    REQUIRE(off && tgt && idom, "allocation");
    for (hg_node v = 0; v < n - 1; v++) {
        off[v] = e;
        if (v > 0) {
            tgt[e++] = v - 1;
        }
        tgt[e++] = v + 1 < n - 1 ? v + 1 : 0;
    }
    off[r] = e;
    tgt[e++] = 0;
    off[n] = e;
    REQUIRE(e == m, "edge count");
    REQUIRE(hg_csr_adopt(&g, n, m, &off, &tgt) == HG_OK, "adopt");
    for (int t = 0; t < 2; t++) {
        hg_set_num_threads(t + 1);
        t0 = seconds();
        st = hg_domtree_build(&g, NULL, &r, 1, idom);
        t1 = seconds();
        CHECK(st == HG_OK, "10M-node ring: got %s", hg_status_str(st));
        CHECK(idom[r] == HG_DOM_VIRTUAL && idom[0] == r && idom[1] == 0 &&
                  idom[n / 2] == n / 2 - 1 && idom[n - 2] == n - 3,
              "10M-node ring: idom of root %u, 0 %u, 1 %u, mid %u, last %u",
              idom[r], idom[0], idom[1], idom[n / 2], idom[n - 2]);
        for (hg_node v = 1; v < n - 1; v++) {
            wrong += idom[v] != v - 1;
        }
        CHECK(wrong == 0, "10M-node ring: %d nodes with a wrong idom", wrong);
        printf("10M-node doubly linked ring, %d thread(s): %.2f s (reverse "
               "graph built inside)\n",
               t + 1, t1 - t0);
    }
    hg_set_num_threads(1);
    hg_csr_destroy(&g);
    free(idom);
}

/* Fail the k-th allocation for k = 0, 1, ... until the call succeeds. */
static void test_alloc_fail(void) {
    hg_csr g, rev = {0};
    hg_node roots[] = {0, 5, 77};
    hg_node n = 100000;
    hg_node *idom = malloc((size_t)n * sizeof(hg_node));
    hg_node *want = malloc((size_t)n * sizeof(hg_node));

    REQUIRE(idom && want, "allocation");
    csr_heapish(&g, 5, n, 1.5);
    REQUIRE(hg_csr_transpose(&g, &rev) == HG_OK, "transpose");
    REQUIRE(hg_domtree_build(&g, &rev, roots, 3, want) == HG_OK, "build");
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        for (int with_rev = 0; with_rev < 2; with_rev++) {
            uint64_t start = hg_alloc_live_bytes();
            long k;
            hg_status st = HG_ENOMEM;
            for (k = 0; k < 100 && st != HG_OK; k++) {
                memset(idom, 0xab, (size_t)n * sizeof(hg_node));
                hg_alloc_fail_after(k);
                st = hg_domtree_build(&g, with_rev ? &rev : NULL, roots, 3,
                                      idom);
                hg_alloc_fail_after(-1);
                CHECK(hg_alloc_live_bytes() == start,
                      "allocation %ld failing: %llu bytes leaked", k,
                      (unsigned long long)(hg_alloc_live_bytes() - start));
                if (st != HG_OK) {
                    CHECK(st == HG_ENOMEM, "allocation %ld failing: got %s", k,
                          hg_status_str(st));
                    CHECK(idom[0] == 0xabababab && idom[n - 1] == 0xabababab,
                          "allocation %ld failing: idom was written", k);
                }
            }
            CHECK(st == HG_OK && k > 1, "succeeds after %ld failures", k - 1);
            CHECK_SAME("after the failures", want, idom, n);
        }
    }
    hg_set_num_threads(1);
    hg_csr_destroy(&g);
    hg_csr_destroy(&rev);
    free(idom);
    free(want);
}

int main(void) {
    test_by_hand();
    test_bad_arguments();
    test_random();
    test_threads_agree();
    test_alloc_fail();
    test_long_chain();
    return check_summary("test_domtree");
}
