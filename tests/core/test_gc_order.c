/*
 * test_gc_order.c -- hg_gc_order equals a literal replay of CPython's
 * move_unreachable on linked lists (ref_gc_order): random graphs, random
 * list orders, few and many external references; and small cases whose
 * answer is known by hand.
 */
#include "check.h"
#include "ref/ref.h"

static void check_same(const char *name, const hg_csr *g,
                       const uint32_t *refcnt, const hg_node *list,
                       hg_node n_list) {
    hg_node n = g->n_nodes;
    hg_node *want = malloc((size_t)n * sizeof(hg_node) + 1);
    hg_node *got = malloc((size_t)n * sizeof(hg_node) + 1);
    hg_status st;

    REQUIRE(want && got, "allocation");
    ref_gc_order(g, refcnt, list, n_list, want);
    memset(got, 0xab, (size_t)n * sizeof(hg_node));
    st = hg_gc_order(g, refcnt, list, n_list, got);
    CHECK(st == HG_OK, "%s: got %s", name, hg_status_str(st));
    CHECK_SAME(name, want, got, n);
    free(want);
    free(got);
}

static void test_random(void) {
    static const int external_one_in[] = {1, 3, 20, 1000};
    char name[80];
    for (int i = 0; i < 4; i++) {
        hg_csr g;
        hg_node n = 20000, n_list = 0;
        uint32_t *refcnt = calloc(n, sizeof(uint32_t));
        hg_node *list = malloc(n * sizeof(hg_node));
        rng r = {(uint64_t)i + 101};
        REQUIRE(refcnt && list, "allocation");
        csr_random(&g, (uint64_t)i + 5, n, 3 * (hg_edge)n);
        for (hg_edge e = 0; e < g.n_edges; e++) {
            refcnt[g.targets[e]]++;
        }
        for (hg_node v = 0; v < n; v++) {
            if (rng_below(&r, (uint64_t)external_one_in[i]) == 0) {
                refcnt[v] += 1 + (uint32_t)rng_below(&r, 3);
            }
            if (rng_below(&r, 10) != 0) { /* a tenth are not listed */
                list[n_list++] = v;
            }
        }
        for (hg_node k = n_list - 1; k > 0; k--) { /* shuffle the order */
            hg_node j = (hg_node)rng_below(&r, (uint64_t)k + 1);
            hg_node t = list[k];
            list[k] = list[j];
            list[j] = t;
        }
        snprintf(name, sizeof(name), "random, external refs 1 in %d",
                 external_one_in[i]);
        check_same(name, &g, refcnt, list, n_list);
        hg_csr_destroy(&g);
        free(refcnt);
        free(list);
    }
}

static void test_by_hand(void) {
    /* list order 0 1 2 3 4; 0 is held from outside and refers to 3; 1
     * refers to 2 (2 comes after 1); 3 refers to 1 (1 comes before 3);
     * 4 is a cycle with itself, held by nothing outside: garbage. */
    hg_node src[] = {0, 1, 3, 4};
    hg_node dst[] = {3, 2, 1, 4};
    uint32_t refcnt[] = {1, 1, 1, 1, 1};
    hg_node list[] = {0, 1, 2, 3, 4};
    hg_node pos[5];
    hg_csr g;

    csr_from_edges(&g, 5, 4, src, dst);
    CHECK(hg_gc_order(&g, refcnt, list, 5, pos) == HG_OK, "ok");
    /* 0 stays; 1 (gc_refs 0, not reached yet) is set aside; 2 likewise;
     * 3 was reached by 0 and stays, moving 1 back to the tail; 1, walked
     * at the tail, moves 2 back: final order 0 3 1 2; 4 is garbage */
    CHECK(pos[0] == 0 && pos[3] == 1 && pos[1] == 2 && pos[2] == 3 &&
              pos[4] == HG_NONE,
          "final order 0 3 1 2, 4 unreachable: got %u %u %u %u %u", pos[0],
          pos[1], pos[2], pos[3], pos[4]);
    check_same("by hand", &g, refcnt, list, 5);
    {
        hg_node twice[] = {0, 1, 0};
        hg_node bad[] = {0, 7};
        CHECK(hg_gc_order(&g, refcnt, twice, 3, pos) == HG_EINVAL,
              "a node listed twice is refused");
        CHECK(hg_gc_order(&g, refcnt, bad, 2, pos) == HG_EINVAL,
              "an id out of range is refused");
    }
    hg_csr_destroy(&g);
}

int main(void) {
    test_by_hand();
    test_random();
    return check_summary("test_gc_order");
}
