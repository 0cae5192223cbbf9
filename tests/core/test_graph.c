/*
 * test_graph.c -- hg_graph_new/free/reverse/nbytes/count_saturated.
 */
#include "check.h"
#include "ref/ref.h"

static void test_new_and_free(void) {
    uint64_t start = hg_alloc_live_bytes();
    hg_graph *g = NULL;
    hg_status st = hg_graph_new(1000, &g);

    CHECK(st == HG_OK && g != NULL, "new: got %s", hg_status_str(st));
    CHECK(g->n_nodes == 1000 && g->addr && g->type_id && g->size && g->refcnt &&
              g->flags,
          "node table arrays allocated");
    CHECK(g->fwd.offsets == NULL && g->rev.offsets == NULL, "CSRs start empty");
    CHECK(g->n_size_over == 0 && g->size_over == NULL,
          "no size overflow table yet");
    CHECK(hg_graph_nbytes(g) == 1000 * 21,
          "expected 21 bytes per node, got %llu",
          (unsigned long long)hg_graph_nbytes(g));
    hg_graph_free(g);
    hg_graph_free(NULL);
    CHECK(hg_alloc_live_bytes() == start, "leak after free");
    CHECK(hg_graph_new(5, NULL) == HG_EINVAL, "NULL out");
    CHECK(hg_graph_new(UINT32_MAX, &g) == HG_ERANGE && g == NULL,
          "more than HG_MAX_NODES nodes");
    CHECK(hg_graph_new(0, &g) == HG_OK, "empty graph");
    CHECK(hg_graph_reverse(g) == HG_OK, "reverse of empty graph");
    hg_graph_free(g);
}

static void test_reverse_builds_once(void) {
    hg_graph *g = NULL;
    hg_csr fwd;
    hg_edge *ref_off;
    hg_node *ref_tgt;
    hg_edge *rev_off;

    csr_random(&fwd, 3, 10000, 50000);
    REQUIRE(hg_graph_new(10000, &g) == HG_OK, "new");
    CHECK(hg_graph_reverse(g) == HG_EINVAL, "reverse without forward CSR");
    g->fwd = fwd;
    REQUIRE(hg_graph_reverse(g) == HG_OK, "reverse");
    ref_transpose(&g->fwd, &ref_off, &ref_tgt);
    CHECK_SAME("reverse offsets", ref_off, g->rev.offsets, 10001);
    CHECK_SAME("reverse targets", ref_tgt, g->rev.targets, 50000);
    rev_off = g->rev.offsets;
    CHECK(hg_graph_reverse(g) == HG_OK && g->rev.offsets == rev_off,
          "a second reverse keeps the first");
    CHECK(hg_graph_nbytes(g) == 10000 * 21 + 2 * (10001 * 8 + 50000 * 4),
          "nbytes with both CSRs: %llu",
          (unsigned long long)hg_graph_nbytes(g));
    free(ref_off);
    free(ref_tgt);
    hg_graph_free(g);
}

/* Saturated counts (UINT32_MAX) among many ordinary ones, counted the
 * naive way, for several sizes (the large one is split over threads). */
static void test_count_saturated(void) {
    static const hg_node sizes[] = {0, 1, 7, 100000};
    CHECK(hg_graph_count_saturated(NULL) == 0, "NULL graph: 0");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        hg_node n = sizes[k], expect = 0, got;
        hg_graph *g = NULL;
        REQUIRE(hg_graph_new(n, &g) == HG_OK, "new");
        for (hg_node v = 0; v < n; v++) {
            int sat = v % 977 == 3 || v + 1 == n;
            g->refcnt[v] = sat ? UINT32_MAX : UINT32_MAX - 1 - v % 5;
            expect += sat;
        }
        got = hg_graph_count_saturated(g);
        CHECK(got == expect, "%u nodes: expected %u saturated, got %u", n,
              expect, got);
        hg_graph_free(g);
    }
}

int main(void) {
    test_new_and_free();
    test_reverse_builds_once();
    test_count_saturated();
    return check_summary("test_graph");
}
