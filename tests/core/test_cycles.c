/*
 * test_cycles.c -- hg_cycles_group equals comparing every component's set
 * of types with every other's (ref_cycles_group) on the components of
 * random and heap-shaped graphs, with few types and many, sizes of 4 GiB
 * or more, for 1, 2 and 4 threads; by hand: rings of one make-up grouped,
 * a component of type 0 at id 0 (the pair whose key is 0), single nodes
 * left out; bad input refused; allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

/* A graph's node table with random types and sizes, and its components. */
typedef struct comps {
    hg_graph *g;
    hg_node *comp;
    hg_node n_comp;
} comps;

static void comps_init(comps *c, const hg_csr *csr, uint64_t seed,
                       uint32_t n_types) {
    hg_node n = csr->n_nodes;
    uint64_t *size = malloc((size_t)n * sizeof(uint64_t) + 1);
    rng r = {seed};

    REQUIRE(hg_graph_new(n, &c->g) == HG_OK, "graph");
    c->comp = malloc((size_t)n * sizeof(hg_node) + 1);
    REQUIRE(size && c->comp, "allocation");
    for (hg_node v = 0; v < n; v++) {
        c->g->type_id[v] = (uint32_t)rng_below(&r, n_types);
        size[v] = rng_size(&r);
    }
    REQUIRE(hg_size_pack(size, n, c->g->size, &c->g->size_over,
                         &c->g->n_size_over) == HG_OK,
            "sizes");
    REQUIRE(hg_scc(csr, NULL, c->comp, &c->n_comp) == HG_OK, "scc");
    free(size);
}

static void comps_free(comps *c) {
    hg_graph_free(c->g);
    free(c->comp);
}

static int same_group(const hg_cycle_group *a, const uint32_t *ta,
                      const hg_cycle_group *b, const uint32_t *tb) {
    return a->n_types == b->n_types && a->n_comps == b->n_comps &&
           a->n_nodes == b->n_nodes && a->nbytes == b->nbytes &&
           a->example == b->example &&
           memcmp(ta + a->first_type, tb + b->first_type,
                  a->n_types * sizeof(uint32_t)) == 0;
}

static void check_same(const char *name, const comps *c) {
    hg_node n = c->g->n_nodes;
    hg_cycle_group *want = malloc(((size_t)n + 1) * sizeof(hg_cycle_group));
    uint32_t *want_types = malloc(((size_t)n + 1) * sizeof(uint32_t));
    size_t want_n, want_nt;
    char what[200];

    REQUIRE(want && want_types, "allocation");
    want_n =
        ref_cycles_group(c->g, c->comp, c->n_comp, want, want_types, &want_nt);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_cycle_groups got = {0};
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        st = hg_cycles_group(c->g, c->comp, c->n_comp, &got);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[t]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK(got.n_groups == want_n && got.n_types == want_nt,
              "%s: %zu groups of %zu types expected, got %zu of %zu", what,
              want_n, want_nt, got.n_groups, got.n_types);
        for (size_t i = 0; i < want_n && i < got.n_groups; i++) {
            if (!same_group(&want[i], want_types, &got.groups[i], got.types)) {
                CHECK(0,
                      "%s: group %zu: expected %u types, %u comps, %llu "
                      "nodes, %llu bytes, example %u; got %u, %u, %llu, "
                      "%llu, %u",
                      what, i, want[i].n_types, want[i].n_comps,
                      (unsigned long long)want[i].n_nodes,
                      (unsigned long long)want[i].nbytes, want[i].example,
                      got.groups[i].n_types, got.groups[i].n_comps,
                      (unsigned long long)got.groups[i].n_nodes,
                      (unsigned long long)got.groups[i].nbytes,
                      got.groups[i].example);
                break;
            }
        }
        hg_cycle_groups_destroy(&got);
    }
    hg_set_num_threads(1);
    free(want);
    free(want_types);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 30, 500, 3000};
    static const uint32_t n_types[] = {1, 3, 100};
    char name[160];
    for (int s = 0; s < 4; s++) {
        for (int ty = 0; ty < 3; ty++) {
            hg_node n = sizes[s];
            uint64_t seed = 900 + (uint64_t)(s * 3 + ty);
            hg_csr csr;
            comps c;
            csr_random(&csr, seed, n, (hg_edge)n * 2);
            comps_init(&c, &csr, seed, n_types[ty]);
            snprintf(name, sizeof(name), "random n=%u, %u types", n,
                     n_types[ty]);
            check_same(name, &c);
            comps_free(&c);
            hg_csr_destroy(&csr);
            csr_heapish(&csr, seed, n, 1.5);
            comps_init(&c, &csr, seed, n_types[ty]);
            snprintf(name, sizeof(name), "heap-shaped n=%u, %u types", n,
                     n_types[ty]);
            check_same(name, &c);
            comps_free(&c);
            hg_csr_destroy(&csr);
        }
    }
}

/* Components: 0 = {0, 1} types {0}, 1 = {2} alone, 2 = {3, 4} types
 * {0, 5}, 3 = {5, 6} types {0} again, 4 = {7, 8, 9} types {0, 5}. */
static void test_by_hand(void) {
    hg_graph *g;
    hg_node comp[] = {0, 0, 1, 2, 2, 3, 3, 4, 4, 4};
    uint32_t type[] = {0, 0, 9, 5, 0, 0, 0, 0, 5, 5};
    hg_cycle_groups cg = {0};
    hg_status st;

    REQUIRE(hg_graph_new(10, &g) == HG_OK, "graph");
    memcpy(g->type_id, type, sizeof(type));
    for (hg_node v = 0; v < 10; v++) {
        g->size[v] = 10 + v;
    }
    st = hg_cycles_group(g, comp, 5, &cg);
    CHECK(st == HG_OK && cg.n_groups == 2 && cg.n_types == 3,
          "two groups, {0} and {0, 5}: got %s, %zu groups, %zu types",
          hg_status_str(st), cg.n_groups, cg.n_types);
    if (st == HG_OK && cg.n_groups == 2 && cg.n_types == 3) {
        const hg_cycle_group *a = &cg.groups[0], *b = &cg.groups[1];
        CHECK(a->n_types == 1 && cg.types[a->first_type] == 0 &&
                  a->n_comps == 2 && a->n_nodes == 4 &&
                  a->nbytes == 10 + 11 + 15 + 16 && a->example == 0,
              "{0}: 2 rings, 4 nodes, 52 bytes, example 0; got %u comps, "
              "%llu nodes, %llu bytes, example %u",
              a->n_comps, (unsigned long long)a->n_nodes,
              (unsigned long long)a->nbytes, a->example);
        CHECK(b->n_types == 2 && cg.types[b->first_type] == 0 &&
                  cg.types[b->first_type + 1] == 5 && b->n_comps == 2 &&
                  b->n_nodes == 5 && b->example == 2,
              "{0, 5}: 2 rings, 5 nodes, example 2; got %u comps, %llu "
              "nodes, example %u",
              b->n_comps, (unsigned long long)b->n_nodes, b->example);
    }
    hg_cycle_groups_destroy(&cg);
    hg_cycle_groups_destroy(NULL);
    comp[9] = 5;
    CHECK(hg_cycles_group(g, comp, 5, &cg) == HG_EINVAL && cg.groups == NULL,
          "a component id >= n_comp is refused, out untouched");
    hg_graph_free(g);
}

static void test_alloc_fail(void) {
    hg_csr csr;
    comps c;
    hg_cycle_groups cg = {0};
    uint64_t start;
    hg_status st;

    csr_heapish(&csr, 3, 50000, 1.5);
    comps_init(&c, &csr, 3, 20);
    start = hg_alloc_live_bytes();
    hg_alloc_fail_after(0);
    st = hg_cycles_group(c.g, c.comp, c.n_comp, &cg);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(cg.groups == NULL && cg.n_groups == 0, "out untouched");
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    comps_free(&c);
    hg_csr_destroy(&csr);
}

int main(void) {
    test_by_hand();
    test_random();
    test_alloc_fail();
    return check_summary("test_cycles");
}
