/*
 * test_untrack.c -- hg_untrack_replay equals the collector's list written
 * out and walked twice (ref_untrack_replay) on random graphs of tuples,
 * dicts and other objects in random generations, for 1, 2 and 4 threads
 * (the dicts' parallel pass); hg_untrack_local agrees with the replay
 * where the list order cannot matter (every item before its container);
 * the merged order, frozen and kept dicts by hand; bad arguments.
 */
#include "check.h"
#include "ref/ref.h"

/* Types: 0 other, 1 exact tuple, 2 exact dict, 3 other with a flag of the
 * capturer's own (bit 0). */
static const uint32_t type_flags[4] = {0, HG_TYPE_EXACT_TUPLE,
                                       HG_TYPE_EXACT_DICT, 1u << 0};

/* A graph of n nodes, the first n_tracked tracked, with the given edges;
 * random types and GC flags, generations 0-2 (and 3, frozen, when
 * `frozen`), some dicts kept. */
static hg_graph *graph_random(uint64_t seed, hg_node n, hg_node n_tracked,
                              int frozen, hg_edge m, const hg_node *src,
                              const hg_node *dst) {
    rng r = {seed};
    hg_graph *g = NULL;

    REQUIRE(hg_graph_new(n, &g) == HG_OK, "graph");
    csr_from_edges(&g->fwd, n, m, src, dst);
    g->n_tracked = n_tracked;
    g->n_types = 4;
    for (hg_node v = 0; v < n; v++) {
        uint8_t f = 0;
        g->type_id[v] = (uint32_t)rng_below(&r, 4);
        if (v < n_tracked) {
            f |= HG_NODE_TRACKED | HG_NODE_GC;
            f |= (uint8_t)(rng_below(&r, frozen ? 4 : 3) << HG_NODE_GEN_SHIFT);
            if ((f & HG_NODE_GEN_MASK) == HG_NODE_GEN_MASK) {
                f |= HG_NODE_FROZEN;
            }
        } else if (rng_below(&r, 3) == 0) {
            f |= HG_NODE_GC; /* an untracked GC object (a tuple, a dict) */
        }
        if (g->type_id[v] == 2 && rng_below(&r, 8) == 0) {
            f |= HG_NODE_DICT_KEPT;
        }
        g->flags[v] = f;
    }
    return g;
}

/* Edges from tracked nodes to random nodes: items anywhere in the list. */
static hg_graph *graph_any_order(uint64_t seed, hg_node n, hg_node n_tracked) {
    rng r = {seed * 7 + 1};
    hg_edge m = (hg_edge)n_tracked * 3 / 2, k = 0;
    hg_node *src = malloc((size_t)m * sizeof(hg_node));
    hg_node *dst = malloc((size_t)m * sizeof(hg_node));
    hg_graph *g;

    REQUIRE(src && dst, "allocation");
    for (k = 0; k < m; k++) {
        src[k] = (hg_node)rng_below(&r, n_tracked);
        dst[k] = (hg_node)rng_below(&r, n);
    }
    g = graph_random(seed, n, n_tracked, 1, m, src, dst);
    free(src);
    free(dst);
    return g;
}

static void check_same(const char *name, const hg_graph *g,
                       const uint8_t *live) {
    hg_node n = g->n_nodes;
    uint8_t *want = malloc(n);
    uint8_t *got = malloc(n);
    char what[160];
    size_t n_untracked = 0;

    REQUIRE(want && got, "allocation");
    ref_untrack_replay(g, type_flags, live, want);
    for (hg_node v = 0; v < n; v++) {
        n_untracked += want[v];
    }
    CHECK(n < 1000 || (n_untracked > 0 && n_untracked < n / 2),
          "%s: a test that can fail: expected some nodes untracked, and not "
          "most, got %zu of %u",
          name, n_untracked, n);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        memset(got, 0xab, n);
        st = hg_untrack_replay(g, type_flags, live, got);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[t]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK_SAME(what, want, got, n);
    }
    hg_set_num_threads(1);
    free(want);
    free(got);
}

static void test_random(void) {
    static const hg_node sizes[] = {50, 3000, 200000};
    char name[120];
    for (int s = 0; s < 3; s++) {
        hg_node n = sizes[s], n_tracked = n - n / 3;
        hg_graph *g = graph_any_order((uint64_t)s + 11, n, n_tracked);
        uint8_t *live = malloc(n);
        rng r = {(uint64_t)s + 77};
        REQUIRE(live, "allocation");
        memset(live, 1, n);
        snprintf(name, sizeof(name), "n=%u, all live", n);
        check_same(name, g, live);
        for (hg_node v = 0; v < n; v++) {
            live[v] = rng_below(&r, 5) != 0;
        }
        snprintf(name, sizeof(name), "n=%u, a fifth not live", n);
        check_same(name, g, live);
        hg_graph_free(g);
        free(live);
    }
}

/* Every item before its container, one generation, nothing frozen: the
 * replay's order cannot change a verdict, so the local test must agree. */
static void test_local_agrees_in_item_order(void) {
    hg_node n = 5000, n_tracked = 4000;
    rng r = {5};
    hg_edge m = 0, cap = (hg_edge)n * 3;
    hg_node *src = malloc((size_t)cap * sizeof(hg_node));
    hg_node *dst = malloc((size_t)cap * sizeof(hg_node));
    uint8_t *live = malloc(n), *want = malloc(n);
    hg_graph *g;
    size_t n_diff = 0, n_untracked = 0;

    REQUIRE(src && dst && live && want, "allocation");
    for (hg_node u = 1; u < n_tracked; u++) {
        uint64_t d = rng_below(&r, 3);
        for (uint64_t i = 0; i < d; i++) {
            src[m] = u;
            dst[m++] = (hg_node)rng_below(&r, u); /* an earlier node */
        }
    }
    for (hg_node u = 0; u < n - n_tracked; u++) { /* untracked items */
        src[m] = (hg_node)rng_below(&r, n_tracked);
        dst[m++] = n_tracked + u;
    }
    g = graph_random(9, n, n_tracked, 0, m, src, dst);
    for (hg_node v = 0; v < n; v++) {
        g->flags[v] &= (uint8_t)~HG_NODE_GEN_MASK; /* all generation 0 */
    }
    memset(live, 1, n);
    ref_untrack_replay(g, type_flags, live, want);
    for (hg_node v = 0; v < n_tracked; v++) {
        n_untracked += want[v];
        n_diff += want[v] != hg_untrack_local(g, type_flags, v);
    }
    CHECK(n_untracked > 0, "expected some nodes untracked, got none");
    CHECK(n_diff == 0,
          "hg_untrack_local: expected the replay's verdicts, %zu differ",
          n_diff);
    hg_graph_free(g);
    free(src);
    free(dst);
    free(live);
    free(want);
}

static void test_by_hand(void) {
    /* 0: tuple (gen 0) of 4 (an int, not GC); 1: tuple (gen 2) of 0;
     * 2: dict (gen 1) of 0; 3: dict kept (gen 1) of 4; 5: frozen tuple
     * of 4; 6: tuple (gen 2) of 7, itself (gen 2, after 6) of 4 */
    hg_node src[] = {0, 1, 2, 3, 5, 6, 7};
    hg_node dst[] = {4, 0, 0, 4, 4, 7, 4};
    uint32_t types[] = {1, 1, 2, 2, 0, 1, 1, 1};
    uint8_t gens[] = {0, 2, 1, 1, 0, 3, 2, 2};
    uint8_t want[] = {1, 0, 1, 0, 0, 0, 0, 1};
    uint8_t live[8], got[8];
    hg_graph *g = NULL;

    REQUIRE(hg_graph_new(8, &g) == HG_OK, "graph");
    csr_from_edges(&g->fwd, 8, 7, src, dst);
    g->n_tracked = 8;
    g->n_types = 4;
    for (hg_node v = 0; v < 8; v++) {
        g->type_id[v] = types[v];
        g->flags[v] = (uint8_t)(gens[v] << HG_NODE_GEN_SHIFT);
        g->flags[v] |= v == 4 ? 0 : HG_NODE_TRACKED | HG_NODE_GC;
    }
    g->n_tracked = 8;
    g->flags[3] |= HG_NODE_DICT_KEPT;
    g->flags[5] |= HG_NODE_FROZEN;
    memset(live, 1, sizeof(live));
    CHECK(hg_untrack_replay(g, type_flags, live, got) == HG_OK, "ok");
    /* 1 comes before 0 in the merged list (2, 0, 1): 0 still tracked when
     * 1 is judged; 6 likewise before 7; the dict 2 sees 0 untracked */
    CHECK_SAME("by hand", want, got, 8);
    CHECK(hg_untrack_local(g, type_flags, 1) == 1 &&
              hg_untrack_local(g, type_flags, 2) == 1 &&
              hg_untrack_local(g, type_flags, 3) == 0 &&
              hg_untrack_local(g, type_flags, 5) == 0 &&
              hg_untrack_local(g, type_flags, 4) == 0,
          "local: no order (1 untracked), kept dict, frozen, not a tuple");
    live[0] = 0;
    CHECK(hg_untrack_replay(g, type_flags, live, got) == HG_OK && got[0] == 0 &&
              got[2] == 0,
          "a node not live is not untracked, and stays tracked for others");
    CHECK(hg_untrack_replay(NULL, type_flags, live, got) == HG_EINVAL,
          "a NULL graph is refused");
    CHECK(hg_untrack_replay(g, NULL, live, got) == HG_EINVAL,
          "NULL type flags are refused");
    CHECK(hg_untrack_replay(g, type_flags, NULL, got) == HG_EINVAL,
          "a NULL live mask is refused");
    CHECK(hg_untrack_local(NULL, type_flags, 0) == 0 &&
              hg_untrack_local(g, type_flags, 8) == 0,
          "local: bad arguments answer 0");
    hg_graph_free(g);
}

int main(void) {
    test_by_hand();
    test_random();
    test_local_agrees_in_item_order();
    return check_summary("test_untrack");
}
