/*
 * test_transpose.c -- hg_csr_transpose equals a sort-based reference on
 * special and random graphs, for 1, 2 and 4 threads.
 */
#include "check.h"
#include "ref/ref.h"

/* Transpose g with every thread count and compare with the reference. */
static void check_transpose(const char *name, const hg_csr *g) {
    hg_edge *ref_off;
    hg_node *ref_tgt;

    ref_transpose(g, &ref_off, &ref_tgt);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_csr r = {0};
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        st = hg_csr_transpose(g, &r);
        CHECK(st == HG_OK, "%s, %d threads: got %s", name,
              test_thread_counts[t], hg_status_str(st));
        if (st != HG_OK) {
            continue;
        }
        CHECK(r.n_nodes == g->n_nodes && r.n_edges == g->n_edges,
              "%s: sizes %u/%llu", name, r.n_nodes,
              (unsigned long long)r.n_edges);
        CHECK_SAME(name, ref_off, r.offsets, (size_t)g->n_nodes + 1);
        CHECK_SAME(name, ref_tgt, r.targets, g->n_edges);
        hg_csr_destroy(&r);
    }
    free(ref_off);
    free(ref_tgt);
}

static void test_empty_graph(void) {
    hg_csr g = {0};
    hg_csr r = {0};
    hg_edge off[] = {0};

    CHECK(hg_csr_transpose(&g, &r) == HG_OK, "zeroed CSR transposes");
    CHECK(r.n_nodes == 0 && r.offsets != NULL && r.offsets[0] == 0,
          "empty transpose has one offset");
    hg_csr_destroy(&r);
    csr_from_arrays(&g, 0, 0, off, NULL);
    check_transpose("empty", &g);
    hg_csr_destroy(&g);
}

static void test_self_loops_multi_edges_isolated(void) {
    /* 0 -> 0, 0 -> 2, 0 -> 2, 2 -> 0, 2 -> 2; 1 and 3 isolated */
    hg_node src[] = {0, 0, 0, 2, 2};
    hg_node dst[] = {0, 2, 2, 0, 2};
    hg_csr g;

    csr_from_edges(&g, 4, 5, src, dst);
    check_transpose("loops/multi/isolated", &g);
    {
        hg_csr r = {0};
        hg_node want[] = {0, 2, 0, 0, 2};
        hg_edge want_off[] = {0, 2, 2, 5, 5};
        REQUIRE(hg_csr_transpose(&g, &r) == HG_OK, "transpose");
        CHECK_SAME("hand-made rows", want, r.targets, 5);
        CHECK_SAME("hand-made offsets", want_off, r.offsets, 5);
        hg_csr_destroy(&r);
    }
    hg_csr_destroy(&g);
}

static void test_random_graphs(void) {
    static const struct {
        hg_node n;
        hg_edge m;
    } shapes[] = {/* 65536 nodes: one bin; 65537: a last bin of one node */
                  {1, 3},          {17, 40},       {1000, 5000},
                  {20000, 120000}, {65536, 70000}, {65537, 200000},
                  {300000, 900000}};
    char name[64];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            hg_csr g;
            csr_random(&g, seed * 1000 + i, shapes[i].n, shapes[i].m);
            snprintf(name, sizeof(name), "random seed %llu n=%u",
                     (unsigned long long)seed, shapes[i].n);
            check_transpose(name, &g);
            hg_csr_destroy(&g);
        }
    }
}

static void test_node_with_a_million_in_edges(void) {
    hg_node n = 1000001;
    hg_edge *off = malloc(((size_t)n + 1) * sizeof(hg_edge));
    hg_node *tgt = malloc((size_t)(n - 1) * sizeof(hg_node));
    hg_csr g;

    REQUIRE(off && tgt, "allocation");
    off[0] = 0;
    off[1] = 0;
    for (hg_node v = 1; v < n; v++) {
        off[v + 1] = v;
        tgt[v - 1] = 0;
    }
    csr_from_arrays(&g, n, n - 1, off, tgt);
    check_transpose("hub with 1M in-edges", &g);
    hg_csr_destroy(&g);
    free(off);
    free(tgt);
}

static void test_transpose_twice_sorts_rows(void) {
    hg_csr g, r = {0}, rr = {0};
    csr_random(&g, 99, 5000, 30000);
    REQUIRE(hg_csr_transpose(&g, &r) == HG_OK, "transpose");
    REQUIRE(hg_csr_transpose(&r, &rr) == HG_OK, "transpose back");
    CHECK_SAME("offsets after two transposes", g.offsets, rr.offsets,
               (size_t)g.n_nodes + 1);
    for (hg_node v = 0; v < g.n_nodes; v++) {
        for (hg_edge e = rr.offsets[v] + 1; e < rr.offsets[v + 1]; e++) {
            if (rr.targets[e - 1] > rr.targets[e]) {
                CHECK(0, "row %u not ascending after two transposes", v);
                v = g.n_nodes - 1;
                break;
            }
        }
    }
    hg_csr_destroy(&g);
    hg_csr_destroy(&r);
    hg_csr_destroy(&rr);
}

static void test_bad_arguments(void) {
    hg_csr g, r = {0};
    csr_random(&g, 5, 10, 20);
    CHECK(hg_csr_transpose(NULL, &r) == HG_EINVAL, "NULL input");
    CHECK(hg_csr_transpose(&g, NULL) == HG_EINVAL, "NULL output");
    CHECK(hg_csr_transpose(&g, &g) == HG_EINVAL, "in == out");
    REQUIRE(hg_csr_transpose(&g, &r) == HG_OK, "transpose");
    CHECK(hg_csr_transpose(&g, &r) == HG_EINVAL,
          "an output that is not zeroed must be refused (it would leak)");
    hg_csr_destroy(&r);
    hg_csr_destroy(&g);
}

int main(void) {
    test_empty_graph();
    test_self_loops_multi_edges_isolated();
    test_random_graphs();
    test_node_with_a_million_in_edges();
    test_transpose_twice_sorts_rows();
    test_bad_arguments();
    return check_summary("test_transpose");
}
