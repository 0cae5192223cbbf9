/*
 * test_tree_edges.c -- hg_paths_tree_edges equals the naive search by
 * target (ref_tree_edges) on the BFS trees of random heap-shaped graphs
 * (multi-edges, self-loops, unreached parts), with every type chosen, none
 * and some, for 1, 2 and 4 threads; a graph by hand; bad input;
 * allocation failures.
 */
#include "check.h"
#include "ref/ref.h"
#include "ref/ref_edges.h"

/* A heap-shaped graph with random types and its BFS tree from 3 roots. */
typedef struct fixture {
    hg_graph g;
    hg_node *parent;
} fixture;

static void fixture_init(fixture *f, uint64_t seed, hg_node n,
                         uint32_t n_types) {
    hg_node roots[3] = {0, n / 3, n / 2};
    uint32_t *depth = malloc((size_t)n * sizeof(uint32_t) + 1);
    rng r = {seed};

    memset(f, 0, sizeof(*f));
    f->g.n_nodes = n;
    f->g.n_types = n_types;
    f->g.type_id = malloc((size_t)n * sizeof(uint32_t) + 1);
    f->parent = malloc((size_t)n * sizeof(hg_node) + 1);
    REQUIRE(depth && f->g.type_id && f->parent, "allocation");
    csr_heapish(&f->g.fwd, seed, n, 1.5);
    for (hg_node v = 0; v < n; v++) {
        f->g.type_id[v] = (uint32_t)rng_below(&r, n_types);
    }
    ref_bfs(&f->g.fwd, roots, 3, NULL, UINT32_MAX, f->parent, depth);
    for (int i = 0; i < 3; i++) {
        f->parent[roots[i]] = HG_PATH_ROOT;
    }
    free(depth);
}

static void fixture_free(fixture *f) {
    hg_csr_destroy(&f->g.fwd);
    free(f->g.type_id);
    free(f->parent);
}

static void check_same(const char *name, const fixture *f,
                       const uint8_t *type_mask) {
    hg_edge *edges;
    hg_node *src, *dst;
    size_t n = ref_tree_edges(&f->g, f->parent, type_mask, &edges, &src, &dst);
    char what[160];

    for (int k = 0; k < N_THREAD_COUNTS; k++) {
        hg_edge_list got;
        hg_status st;
        hg_set_num_threads(test_thread_counts[k]);
        st = hg_paths_tree_edges(&f->g, f->parent, type_mask, &got);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[k]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK(got.n == n, "%s: %zu edges expected, got %zu", what, n, got.n);
        if (st == HG_OK && got.n == n) {
            CHECK_SAME(what, edges, got.edges, n);
            CHECK_SAME(what, src, got.src, n);
            CHECK_SAME(what, dst, got.dst, n);
        }
        hg_edge_list_destroy(&got);
    }
    hg_set_num_threads(1);
    free(edges);
    free(src);
    free(dst);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 50, 3000, 60000};
    static const uint32_t n_types[] = {1, 4, 40, 400};
    char name[120];
    for (int s = 0; s < 4; s++) {
        fixture f;
        uint32_t nt = n_types[s];
        uint8_t *all = malloc(nt), *none = calloc(nt, 1), *some = malloc(nt);
        rng r = {(uint64_t)s + 30};

        REQUIRE(all && none && some, "allocation");
        fixture_init(&f, 300 + (uint64_t)s, sizes[s], nt);
        for (uint32_t t = 0; t < nt; t++) {
            all[t] = 1;
            some[t] = rng_below(&r, 3) == 0;
        }
        snprintf(name, sizeof(name), "n=%u, every type", sizes[s]);
        check_same(name, &f, all);
        snprintf(name, sizeof(name), "n=%u, no type", sizes[s]);
        check_same(name, &f, none);
        snprintf(name, sizeof(name), "n=%u, some types", sizes[s]);
        check_same(name, &f, some);
        fixture_free(&f);
        free(all);
        free(none);
        free(some);
    }
}

static void test_by_hand(void) {
    /* 0 -> 1 (twice), 0 -> 2, 1 -> 2, 2 -> 0; root 0; types 0 1 0:
     * the tree is 0 -> 1, 0 -> 2; with type 0 chosen: edges 0, 1, 2 */
    hg_edge off[] = {0, 3, 4, 5};
    hg_node tgt[] = {1, 1, 2, 2, 0};
    uint32_t type_id[] = {0, 1, 0};
    hg_node parent[] = {HG_PATH_ROOT, 0, 0};
    uint8_t mask[] = {1, 0};
    hg_graph g;
    hg_edge_list l;
    hg_status st;

    memset(&g, 0, sizeof(g));
    g.n_nodes = 3;
    g.n_types = 2;
    g.type_id = type_id;
    g.fwd.n_nodes = 3;
    g.fwd.n_edges = 5;
    g.fwd.offsets = off;
    g.fwd.targets = tgt;
    st = hg_paths_tree_edges(&g, parent, mask, &l);
    CHECK(st == HG_OK && l.n == 3 && l.edges[0] == 0 && l.edges[1] == 1 &&
              l.edges[2] == 2 && l.src[2] == 0 && l.dst[2] == 2,
          "a multi-edge counted twice, the root's: expected edges 0 1 2, got "
          "%zu edges",
          l.n);
    hg_edge_list_destroy(&l);
}

static void test_bad_input(void) {
    fixture f;
    uint8_t mask[2] = {1, 1};
    hg_edge_list l;

    fixture_init(&f, 5, 100, 2);
    CHECK(hg_paths_tree_edges(&f.g, NULL, mask, &l) == HG_EINVAL && l.n == 0 &&
              l.edges == NULL,
          "no parent: refused, the list empty");
    CHECK(hg_paths_tree_edges(&f.g, f.parent, NULL, &l) == HG_EINVAL,
          "no type mask is refused");
    CHECK(hg_paths_tree_edges(&f.g, f.parent, mask, NULL) == HG_EINVAL,
          "no output is refused");
    f.g.type_id[7] = 2;
    CHECK(hg_paths_tree_edges(&f.g, f.parent, mask, &l) == HG_EINVAL &&
              l.edges == NULL,
          "a type id >= n_types is refused");
    hg_edge_list_destroy(NULL);
    fixture_free(&f);
}

static void test_alloc_fail(void) {
    fixture f;
    uint8_t mask[3] = {1, 1, 1};
    uint64_t start;

    fixture_init(&f, 11, 20000, 3);
    start = hg_alloc_live_bytes();
    for (long i = 0; i < 4; i++) {
        hg_edge_list l;
        hg_status st;
        hg_alloc_fail_after(i);
        st = hg_paths_tree_edges(&f.g, f.parent, mask, &l);
        hg_alloc_fail_after(-1);
        CHECK(st == HG_ENOMEM,
              "allocation %ld failing: expected HG_ENOMEM, "
              "got %s",
              i, hg_status_str(st));
        CHECK(l.n == 0 && l.edges == NULL,
              "allocation %ld failing: the list "
              "is empty",
              i);
        CHECK(hg_alloc_live_bytes() == start,
              "allocation %ld failing: bytes "
              "leaked",
              i);
    }
    fixture_free(&f);
}

int main(void) {
    test_by_hand();
    test_bad_input();
    test_random();
    test_alloc_fail();
    return check_summary("test_tree_edges");
}
