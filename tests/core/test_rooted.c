/*
 * test_rooted.c -- hg_graph_rooted agrees with reachability from every root
 * computed by the naive reference (ref_reach from all roots), on random
 * graphs with garbage cycles, and reports "unknown" only when its budget
 * runs out.
 */
#include "check.h"
#include "ref/ref.h"

/* A graph over fwd whose refcnt makes about one node in `one_in` a root:
 * refcnt = in-degree, plus 1 for roots. */
static hg_graph *graph_with_roots(hg_csr *fwd, uint64_t seed, int one_in) {
    hg_graph *g = NULL;
    rng r = {seed};
    REQUIRE(hg_graph_new(fwd->n_nodes, &g) == HG_OK, "new");
    g->fwd = *fwd;
    memset(fwd, 0, sizeof(*fwd));
    REQUIRE(hg_graph_reverse(g) == HG_OK, "reverse");
    for (hg_node v = 0; v < g->n_nodes; v++) {
        uint32_t indeg = (uint32_t)(g->rev.offsets[v + 1] - g->rev.offsets[v]);
        g->refcnt[v] = indeg + (rng_below(&r, (uint64_t)one_in) == 0);
    }
    return g;
}

static void check_against_reach(const char *name, hg_graph *g) {
    hg_node n = g->n_nodes;
    hg_node *roots = malloc((size_t)n * sizeof(hg_node) + 1);
    uint8_t *reached = malloc((size_t)n + 1);
    size_t n_roots = 0;
    int unknown = 0;

    REQUIRE(roots && reached, "allocation");
    for (hg_node v = 0; v < n; v++) {
        if (g->refcnt[v] > g->rev.offsets[v + 1] - g->rev.offsets[v]) {
            roots[n_roots++] = v;
        }
    }
    ref_reach(&g->fwd, roots, n_roots, NULL, reached);
    for (hg_node v = 0; v < n; v++) {
        int got = 9;
        CHECK(hg_graph_rooted(g, v, n, &got) == HG_OK, "%s ok", name);
        CHECK(got == reached[v], "%s: node %u: expected %d, got %d", name, v,
              reached[v], got);
        CHECK(hg_graph_rooted(g, v, 3, &got) == HG_OK, "%s small budget", name);
        if (got == -1) {
            unknown++;
        } else {
            CHECK(got == reached[v],
                  "%s: node %u with budget 3: expected "
                  "%d, got %d",
                  name, v, reached[v], got);
        }
    }
    free(roots);
    free(reached);
}

static void test_random_graphs(void) {
    static const int one_in[] = {2, 50, 5000};
    char name[64];
    for (int i = 0; i < 3; i++) {
        hg_csr fwd;
        hg_graph *g;
        csr_random(&fwd, (uint64_t)i + 40, 3000, 4500);
        g = graph_with_roots(&fwd, (uint64_t)i + 7, one_in[i]);
        snprintf(name, sizeof(name), "random, a root in %d", one_in[i]);
        check_against_reach(name, g);
        hg_graph_free(g);
    }
}

static void test_garbage_cycle_and_chain(void) {
    /* 0 root -> 1 -> 2; 3 <-> 4 a garbage cycle -> 5; a 100k chain from
     * 6, a root at its far end only */
    hg_node n = 6 + 100000;
    hg_node *src = malloc((size_t)n * 2 * sizeof(hg_node));
    hg_node *dst = malloc((size_t)n * 2 * sizeof(hg_node));
    hg_edge m = 0;
    hg_csr fwd;
    hg_graph *g;
    int got;

    REQUIRE(src && dst, "allocation");
    src[m] = 0, dst[m++] = 1;
    src[m] = 1, dst[m++] = 2;
    src[m] = 3, dst[m++] = 4;
    src[m] = 4, dst[m++] = 3;
    src[m] = 4, dst[m++] = 5;
    for (hg_node v = 6; v + 1 < n; v++) {
        src[m] = v + 1, dst[m++] = v; /* n-1 -> ... -> 7 -> 6 */
    }
    csr_from_edges(&fwd, n, m, src, dst);
    REQUIRE(hg_graph_new(n, &g) == HG_OK, "new");
    g->fwd = fwd;
    REQUIRE(hg_graph_reverse(g) == HG_OK, "reverse");
    for (hg_node v = 0; v < n; v++) {
        g->refcnt[v] = (uint32_t)(g->rev.offsets[v + 1] - g->rev.offsets[v]);
    }
    g->refcnt[0]++;
    g->refcnt[n - 1]++;
    CHECK(hg_graph_rooted(g, 2, 10, &got) == HG_OK && got == 1,
          "2 is reached from root 0: got %d", got);
    CHECK(hg_graph_rooted(g, 5, 10, &got) == HG_OK && got == 0,
          "5 hangs off a garbage cycle: got %d", got);
    CHECK(hg_graph_rooted(g, 6, 1000, &got) == HG_OK && got == -1,
          "a root 100k nodes back is past a budget of 1000: got %d", got);
    CHECK(hg_graph_rooted(g, 6, 200000, &got) == HG_OK && got == 1,
          "and within a budget of 200k: got %d", got);
    CHECK(hg_graph_rooted(g, n, 10, &got) == HG_EINVAL, "id out of range");
    CHECK(hg_graph_rooted(g, 0, 0, &got) == HG_EINVAL, "zero budget");
    hg_graph_free(g);
    free(src);
    free(dst);
}

int main(void) {
    test_random_graphs();
    test_garbage_cycle_and_chain();
    return check_summary("test_rooted");
}
