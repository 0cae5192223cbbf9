/*
 * test_csr.c -- hg_csr_adopt checks the invariants and takes ownership
 * (hg_csr_adopt_unchecked only the latter); destroy and nbytes.
 */
#include "check.h"

/* Adopt copies of off/tgt; returns the status, and frees whatever stayed
 * with the caller. */
static hg_status try_adopt(hg_csr *g, hg_node n, hg_edge m, const hg_edge *off,
                           const hg_node *tgt, int *took_ownership) {
    hg_edge *o = hg_alloc(((size_t)n + 1) * sizeof(hg_edge));
    hg_node *t = hg_alloc((size_t)m * sizeof(hg_node));
    hg_status st;

    memcpy(o, off, ((size_t)n + 1) * sizeof(hg_edge));
    if (m > 0) {
        memcpy(t, tgt, (size_t)m * sizeof(hg_node));
    }
    memset(g, 0, sizeof(*g));
    st = hg_csr_adopt(g, n, m, &o, &t);
    *took_ownership = o == NULL && t == NULL;
    hg_free(o, ((size_t)n + 1) * sizeof(hg_edge));
    hg_free(t, (size_t)m * sizeof(hg_node));
    return st;
}

static void test_adopt_takes_valid_arrays(void) {
    uint64_t start = hg_alloc_live_bytes();
    hg_edge off[] = {0, 2, 2, 5};
    hg_node tgt[] = {1, 1, 0, 2, 2}; /* multi-edges, a self-loop */
    hg_csr g;
    int took;
    hg_status st = try_adopt(&g, 3, 5, off, tgt, &took);

    CHECK(st == HG_OK, "expected HG_OK, got %s", hg_status_str(st));
    CHECK(took, "adopt must NULL the caller's pointers");
    CHECK(g.n_nodes == 3 && g.n_edges == 5, "sizes %u/%llu", g.n_nodes,
          (unsigned long long)g.n_edges);
    CHECK(hg_csr_nbytes(&g) == 4 * 8 + 5 * 4, "nbytes %llu",
          (unsigned long long)hg_csr_nbytes(&g));
    hg_csr_destroy(&g);
    CHECK(g.offsets == NULL && g.targets == NULL && g.n_nodes == 0,
          "destroy must zero the struct");
    hg_csr_destroy(&g); /* twice is fine */
    hg_csr_destroy(NULL);
    CHECK(hg_alloc_live_bytes() == start, "leak after destroy");
}

static void test_adopt_empty_graph(void) {
    hg_edge off[] = {0};
    hg_csr g;
    int took;
    hg_status st = try_adopt(&g, 0, 0, off, NULL, &took);

    CHECK(st == HG_OK && took, "empty graph: got %s", hg_status_str(st));
    CHECK(hg_csr_nbytes(&g) == 8, "nbytes of empty CSR");
    hg_csr_destroy(&g);
}

static void test_adopt_rejects_broken_invariants(void) {
    uint64_t start = hg_alloc_live_bytes();
    hg_node tgt[] = {1, 0, 2};
    hg_node bad_tgt[] = {1, 0, 3};
    hg_edge first_not_zero[] = {1, 2, 3, 3};
    hg_edge decreasing[] = {0, 2, 1, 3};
    hg_edge wrong_total[] = {0, 1, 2, 2};
    hg_edge good[] = {0, 1, 2, 3};
    hg_csr g;
    int took;

    CHECK(try_adopt(&g, 3, 3, first_not_zero, tgt, &took) == HG_EINVAL && !took,
          "offsets[0] != 0 must be HG_EINVAL, arrays kept by the caller");
    CHECK(try_adopt(&g, 3, 3, decreasing, tgt, &took) == HG_EINVAL && !took,
          "decreasing offsets must be HG_EINVAL");
    CHECK(try_adopt(&g, 3, 3, wrong_total, tgt, &took) == HG_EINVAL && !took,
          "offsets[n] != n_edges must be HG_EINVAL");
    CHECK(try_adopt(&g, 3, 3, good, bad_tgt, &took) == HG_EINVAL && !took,
          "target >= n_nodes must be HG_EINVAL");
    CHECK(hg_csr_adopt(NULL, 0, 0, NULL, NULL) == HG_EINVAL, "NULL args");
    CHECK(hg_alloc_live_bytes() == start, "leak after rejected adopts");
}

static void test_unchecked_adopt_takes_ownership_without_the_check(void) {
    uint64_t start = hg_alloc_live_bytes();
    hg_edge *o = hg_alloc(4 * sizeof(hg_edge));
    hg_node *t = hg_alloc(3 * sizeof(hg_node));
    hg_csr g;

    memset(&g, 0, sizeof(g));
    o[0] = 0, o[1] = 1, o[2] = 2, o[3] = 3;
    t[0] = 1, t[1] = 0, t[2] = 2;
    CHECK(hg_csr_adopt_unchecked(NULL, 3, 3, &o, &t) == HG_EINVAL,
          "NULL csr must be HG_EINVAL");
    CHECK(hg_csr_adopt_unchecked(&g, (hg_node)UINT32_MAX, 3, &o, &t) ==
              HG_ERANGE,
          "more nodes than ids must be HG_ERANGE");
    CHECK(hg_csr_adopt_unchecked(&g, 3, 3, &o, &t) == HG_OK,
          "valid arrays must be adopted");
    CHECK(o == NULL && t == NULL && g.n_nodes == 3 && g.n_edges == 3,
          "unchecked adopt must take ownership");
    hg_csr_destroy(&g);
    CHECK(hg_alloc_live_bytes() == start, "leak after unchecked adopt");
}

static void test_large_random_csr_adopts(void) {
    hg_csr g;
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        csr_random(&g, 7, 20000, 100000);
        CHECK(g.n_edges == 100000, "random CSR edges");
        hg_csr_destroy(&g);
    }
}

int main(void) {
    test_adopt_takes_valid_arrays();
    test_adopt_empty_graph();
    test_adopt_rejects_broken_invariants();
    test_unchecked_adopt_takes_ownership_without_the_check();
    test_large_random_csr_adopts();
    return check_summary("test_csr");
}
