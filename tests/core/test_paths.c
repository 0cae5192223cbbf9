/*
 * test_paths.c -- hg_paths_group equals writing every path out and
 * sorting them (ref_paths_group) on the shortest-path trees of random
 * heap-shaped graphs: few types (big groups) and many, keyed nodes or
 * none, retained bytes or none, for 1, 2 and 4 threads; by hand: keyed
 * roots never share a group, a group's example is its member of lowest
 * address and equal groups rank by it; a 1M-node leaked chain (linear
 * work, no recursion); bad input refused; allocation failures.
 */
#include "check.h"
#include "ref/ref.h"

/* A heap-shaped graph with addresses (a shuffle: ids do not order them)
 * and types, its BFS tree from three roots, dominator tree and retained
 * sizes. */
typedef struct heap {
    hg_graph *g;
    hg_node *parent;
    hg_node *idom;
    uint64_t *retained;
} heap;

static void heap_init(heap *h, uint64_t seed, hg_node n, uint32_t n_types) {
    hg_csr csr;
    hg_node roots[] = {0, n / 2, n - 1};
    rng r = {seed};

    REQUIRE(hg_graph_new(n, &h->g) == HG_OK, "graph");
    h->parent = malloc((size_t)n * sizeof(hg_node) + 1);
    h->idom = malloc((size_t)n * sizeof(hg_node) + 1);
    h->retained = malloc((size_t)n * sizeof(uint64_t) + 1);
    REQUIRE(h->parent && h->idom && h->retained, "allocation");
    csr_heapish(&csr, seed, n, 0.7);
    for (hg_node v = 0; v < n; v++) {
        hg_node w = (hg_node)rng_below(&r, (uint64_t)v + 1);
        if (w != v) {
            h->g->addr[v] = h->g->addr[w];
        }
        h->g->addr[w] = 0x10000 + 32 * (uint64_t)v;
        h->g->type_id[v] = (uint32_t)rng_below(&r, n_types);
    }
    REQUIRE(hg_bfs(&csr, roots, 3, NULL, UINT32_MAX, h->parent, NULL) == HG_OK,
            "bfs");
    for (int i = 0; i < 3; i++) {
        h->parent[roots[i]] = HG_PATH_ROOT;
    }
    domtree_with_sizes(&csr, roots, 3, seed, h->idom, h->retained);
    hg_csr_destroy(&csr);
}

static void heap_free(heap *h) {
    hg_graph_free(h->g);
    free(h->parent);
    free(h->idom);
    free(h->retained);
}

static void check_same(const char *name, const heap *h, const uint8_t *targets,
                       const hg_path_keys *keys, int with_retained) {
    const hg_node *idom = with_retained ? h->idom : NULL;
    const uint64_t *retained = with_retained ? h->retained : NULL;
    hg_path_group *want;
    size_t want_unreached, want_n;
    char what[200];

    want_n = ref_paths_group(h->g, h->parent, targets, keys, idom, retained,
                             &want, &want_unreached);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_path_groups got = {0};
        hg_status st;
        hg_set_num_threads(test_thread_counts[t]);
        st = hg_paths_group(h->g, h->parent, targets, keys, idom, retained,
                            &got);
        snprintf(what, sizeof(what), "%s, %d thread(s)", name,
                 test_thread_counts[t]);
        CHECK(st == HG_OK, "%s: got %s", what, hg_status_str(st));
        CHECK(got.n_groups == want_n && got.n_unreached == want_unreached,
              "%s: %zu groups, %zu unreached expected, got %zu, %zu", what,
              want_n, want_unreached, got.n_groups, got.n_unreached);
        for (size_t i = 0; i < want_n && i < got.n_groups; i++) {
            const hg_path_group *a = &want[i], *b = &got.groups[i];
            if (a->count != b->count || a->retained != b->retained ||
                a->example != b->example) {
                CHECK(0,
                      "%s: group %zu: expected (%llu, %llu, %u), got (%llu, "
                      "%llu, %u)",
                      what, i, (unsigned long long)a->count,
                      (unsigned long long)a->retained, a->example,
                      (unsigned long long)b->count,
                      (unsigned long long)b->retained, b->example);
                break;
            }
        }
        hg_path_groups_destroy(&got);
    }
    hg_set_num_threads(1);
    free(want);
}

static void test_random(void) {
    static const hg_node sizes[] = {1, 60, 2000, 20000};
    static const uint32_t n_types[] = {2, 40};
    char name[160];
    for (int s = 0; s < 4; s++) {
        for (int ty = 0; ty < 2; ty++) {
            hg_node n = sizes[s];
            heap h;
            uint8_t *targets = malloc((size_t)n + 1);
            hg_node *ids = malloc((size_t)n * sizeof(hg_node) + 1);
            uint32_t *key = malloc((size_t)n * sizeof(uint32_t) + 1);
            hg_path_keys keys = {ids, key, 0};
            rng r = {(uint64_t)(s * 2 + ty) + 40};

            REQUIRE(targets && ids && key, "allocation");
            heap_init(&h, 800 + (uint64_t)(s * 2 + ty), n, n_types[ty]);
            for (hg_node v = 0; v < n; v++) {
                targets[v] = rng_below(&r, 3) == 0;
                if (rng_below(&r, 50) == 0 || v == 0) {
                    ids[keys.n] = v;
                    key[keys.n++] = (uint32_t)rng_below(&r, 3);
                }
            }
            for (int k = 0; k < 4; k++) {
                snprintf(name, sizeof(name),
                         "heap-shaped n=%u, %u types, %s, %s", n, n_types[ty],
                         k & 1 ? "keyed" : "no keys",
                         k & 2 ? "retained" : "no retained");
                check_same(name, &h, targets, k & 1 ? &keys : NULL, k & 2);
            }
            heap_free(&h);
            free(targets);
            free(ids);
            free(key);
        }
    }
}

/* Two roots 0 and 1 of type 0, each holding two nodes of type 1: 0 -> 2,
 * 0 -> 3, 1 -> 4, 1 -> 5.  Addresses put 3 below 2 and 4 below 3. */
static void test_by_hand(void) {
    hg_graph *g;
    hg_node parent[] = {HG_PATH_ROOT, HG_PATH_ROOT, 0, 0, 1, 1, HG_NONE};
    uint64_t addr[] = {0x100, 0x200, 0x500, 0x400, 0x300, 0x600, 0x700};
    uint32_t type[] = {0, 0, 1, 1, 1, 1, 1};
    uint8_t targets[] = {0, 0, 1, 1, 1, 1, 1};
    hg_node keyed[] = {0, 1};
    uint32_t key[] = {7, 8};
    hg_path_keys keys = {keyed, key, 2};
    hg_path_groups pg = {0};

    REQUIRE(hg_graph_new(7, &g) == HG_OK, "graph");
    memcpy(g->addr, addr, sizeof(addr));
    memcpy(g->type_id, type, sizeof(type));
    CHECK(hg_paths_group(g, parent, targets, NULL, NULL, NULL, &pg) == HG_OK &&
              pg.n_groups == 1 && pg.n_unreached == 1 &&
              pg.groups[0].count == 4 && pg.groups[0].example == 4,
          "one group of 4, example the lowest address (node 4), 1 "
          "unreached: got %zu groups, example %u, %zu unreached",
          pg.n_groups, pg.n_groups ? pg.groups[0].example : 0, pg.n_unreached);
    hg_path_groups_destroy(&pg);
    CHECK(hg_paths_group(g, parent, targets, &keys, NULL, NULL, &pg) == HG_OK &&
              pg.n_groups == 2 && pg.groups[0].example == 4 &&
              pg.groups[1].example == 3,
          "keyed roots part the paths; equal groups rank by their example's "
          "address: expected examples 4, 3, got %zu groups (%u, %u)",
          pg.n_groups, pg.n_groups > 0 ? pg.groups[0].example : 0,
          pg.n_groups > 1 ? pg.groups[1].example : 0);
    hg_path_groups_destroy(&pg);
    key[1] = 7;
    CHECK(hg_paths_group(g, parent, targets, &keys, NULL, NULL, &pg) == HG_OK &&
              pg.n_groups == 1,
          "roots with equal keys are alike: expected 1 group, got %zu",
          pg.n_groups);
    hg_path_groups_destroy(&pg);
    hg_path_groups_destroy(NULL);
    hg_graph_free(g);
}

/* A leaked linked list: every node a target, each path one longer. */
static void test_chain(void) {
    hg_node n = 1000000;
    hg_graph *g;
    hg_node *parent = malloc((size_t)n * sizeof(hg_node));
    uint8_t *targets = malloc(n);
    hg_path_groups pg = {0};
    hg_status st;

    REQUIRE(parent && targets && hg_graph_new(n, &g) == HG_OK, "allocation");
    for (hg_node v = 0; v < n; v++) {
        parent[v] = v == 0 ? HG_PATH_ROOT : v - 1;
        g->addr[v] = 0x1000 + 64 * (uint64_t)v;
        g->type_id[v] = 3;
        targets[v] = 1;
    }
    st = hg_paths_group(g, parent, targets, NULL, NULL, NULL, &pg);
    CHECK(st == HG_OK && pg.n_groups == n && pg.groups[0].count == 1 &&
              pg.groups[0].example == 0 && pg.groups[n - 1].example == n - 1,
          "a 1M-node chain: %u groups of one, by address; got %s, %zu groups",
          n, hg_status_str(st), pg.n_groups);
    hg_path_groups_destroy(&pg);
    hg_graph_free(g);
    free(parent);
    free(targets);
}

static void test_bad_input(void) {
    hg_graph *g;
    hg_node parent[] = {HG_PATH_ROOT, 0, 1};
    hg_node cycle[] = {2, 0, 1};
    hg_node unreached_parent[] = {HG_NONE, 0, 1};
    uint8_t targets[] = {1, 1, 1};
    hg_node ids[] = {1, 0};
    uint32_t key[] = {1, 2};
    hg_path_keys unsorted = {ids, key, 2};
    hg_path_groups pg = {0};

    REQUIRE(hg_graph_new(3, &g) == HG_OK, "graph");
    for (hg_node v = 0; v < 3; v++) {
        g->addr[v] = 8 * (uint64_t)v;
        g->type_id[v] = 0;
    }
    CHECK(hg_paths_group(g, cycle, targets, NULL, NULL, NULL, &pg) == HG_EINVAL,
          "parents in a cycle are refused");
    CHECK(hg_paths_group(g, unreached_parent, targets, NULL, NULL, NULL, &pg) ==
              HG_EINVAL,
          "a path through an unreached node is refused");
    CHECK(hg_paths_group(g, parent, targets, &unsorted, NULL, NULL, &pg) ==
              HG_EINVAL,
          "keyed ids not ascending are refused");
    ids[0] = 0;
    ids[1] = 1;
    key[1] = 0x80000000u;
    CHECK(hg_paths_group(g, parent, targets, &unsorted, NULL, NULL, &pg) ==
              HG_EINVAL,
          "a key of 2^31 is refused");
    CHECK(hg_paths_group(g, parent, targets, NULL, parent, NULL, &pg) ==
              HG_EINVAL,
          "idom without retained is refused");
    CHECK(pg.groups == NULL && pg.n_groups == 0, "out untouched on errors");
    hg_graph_free(g);
}

static void test_alloc_fail(void) {
    heap h;
    uint8_t *targets = malloc(30000);
    hg_path_groups pg = {0};
    uint64_t start;
    hg_status st;

    REQUIRE(targets, "allocation");
    heap_init(&h, 5, 30000, 5);
    memset(targets, 1, 30000);
    start = hg_alloc_live_bytes();
    hg_alloc_fail_after(0);
    st = hg_paths_group(h.g, h.parent, targets, NULL, h.idom, h.retained, &pg);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM, "expected HG_ENOMEM, got %s", hg_status_str(st));
    CHECK(pg.groups == NULL && pg.n_groups == 0, "out untouched");
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    heap_free(&h);
    free(targets);
}

int main(void) {
    test_by_hand();
    test_bad_input();
    test_random();
    test_chain();
    test_alloc_fail();
    return check_summary("test_paths");
}
