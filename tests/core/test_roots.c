/*
 * test_roots.c -- hg_graph_find_roots equals the nodes whose reference
 * count exceeds their in-degree, listed one by one (ref_roots), on random
 * graphs with counts below, at and above the in-degree and saturated
 * ones, for 1, 2 and 4 threads (the chunked passes); a graph with no
 * root and an empty one; bad arguments; allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

/* A graph's node table with g->fwd = a random CSR, its in-degrees, and
 * counts around them. */
typedef struct fixture {
    hg_graph *g;
    uint32_t *in_degree;
} fixture;

static void fixture_init(fixture *f, uint64_t seed, hg_node n, hg_edge m) {
    rng r = {seed};
    REQUIRE(hg_graph_new(n, &f->g) == HG_OK, "graph");
    csr_random(&f->g->fwd, seed, n, m);
    f->in_degree = malloc((size_t)n * sizeof(uint32_t) + 1);
    REQUIRE(f->in_degree, "allocation");
    ref_in_degree(&f->g->fwd, NULL, f->in_degree);
    for (hg_node v = 0; v < n; v++) {
        uint64_t k = rng_below(&r, 8);
        uint32_t d = f->in_degree[v];
        f->g->refcnt[v] = k == 0            ? UINT32_MAX
                          : k < 3           ? d + 1 + (uint32_t)rng_below(&r, 3)
                          : k == 3 && d > 0 ? d - 1
                                            : d;
    }
}

static void fixture_free(fixture *f) {
    hg_graph_free(f->g);
    free(f->in_degree);
}

static void check_same(const char *name, const fixture *f) {
    hg_node n = f->g->n_nodes;
    hg_node *want = malloc((size_t)n * sizeof(hg_node) + 1);
    size_t want_n;
    char what[160];

    REQUIRE(want, "allocation");
    want_n = ref_roots(f->g->refcnt, f->in_degree, n, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_node *got = NULL;
        size_t got_n = 12345;
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        st = hg_graph_find_roots(f->g, f->in_degree, &got, &got_n);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[t]);
        CHECK(st == HG_OK && got != NULL, "%s: got %s", what,
              hg_status_str(st));
        CHECK(got_n == want_n, "%s: %zu roots expected, got %zu", what, want_n,
              got_n);
        if (st == HG_OK && got_n == want_n) {
            CHECK_SAME(what, want, got, want_n);
        }
        if (st == HG_OK) {
            hg_free(got, (got_n + 1) * sizeof(hg_node));
        }
    }
    hg_set_num_threads(1);
    free(want);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 100, 5000, 200000};
    char name[120];
    for (int s = 0; s < 4; s++) {
        fixture f;
        hg_node n = sizes[s];
        fixture_init(&f, 40 + (uint64_t)s, n, (hg_edge)n * 3);
        snprintf(name, sizeof(name), "random n=%u m=%u", n, 3 * n);
        check_same(name, &f);
        fixture_free(&f);
    }
}

static void test_edge_cases(void) {
    fixture f;
    hg_graph *empty;
    hg_node *roots = NULL;
    size_t n_roots = 77;

    fixture_init(&f, 7, 1000, 3000);
    for (hg_node v = 0; v < 1000; v++) {
        f.g->refcnt[v] = f.in_degree[v]; /* every reference is an edge */
    }
    CHECK(hg_graph_find_roots(f.g, f.in_degree, &roots, &n_roots) == HG_OK &&
              roots != NULL && n_roots == 0,
          "no root: an empty list, not NULL; got %zu", n_roots);
    hg_free(roots, (n_roots + 1) * sizeof(hg_node));
    roots = NULL;
    CHECK(hg_graph_find_roots(f.g, NULL, &roots, &n_roots) == HG_EINVAL &&
              roots == NULL,
          "no in-degrees: refused, roots untouched");
    CHECK(hg_graph_find_roots(NULL, f.in_degree, &roots, &n_roots) == HG_EINVAL,
          "no graph: refused");
    REQUIRE(hg_graph_new(0, &empty) == HG_OK, "graph");
    CHECK(hg_graph_find_roots(empty, NULL, &roots, &n_roots) == HG_OK &&
              n_roots == 0,
          "an empty graph has no roots, got %zu", n_roots);
    hg_free(roots, (n_roots + 1) * sizeof(hg_node));
    hg_graph_free(empty);
    fixture_free(&f);
}

static void test_alloc_fail(void) {
    fixture f;
    hg_node *roots = NULL;
    size_t n_roots = 77;
    uint64_t start;
    hg_status st;

    fixture_init(&f, 9, 10000, 30000);
    start = hg_alloc_live_bytes();
    hg_alloc_fail_after(0);
    st = hg_graph_find_roots(f.g, f.in_degree, &roots, &n_roots);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(roots == NULL && n_roots == 77, "outputs untouched");
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    fixture_free(&f);
}

int main(void) {
    test_random();
    test_edge_cases();
    test_alloc_fail();
    return check_summary("test_roots");
}
