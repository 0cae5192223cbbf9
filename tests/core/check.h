/*
 * check.h -- tiny test harness shared by the tests/core programs.
 *
 * CHECK(cond, fmt, ...) records a failure with what was expected and what
 * came instead, and goes on; a test's main returns check_summary(name).
 * Also: a seeded generator (splitmix64), random CSR graphs with the shapes
 * heaps have (hubs, self-loops, multi-edges, isolated nodes), and the thread
 * counts every kernel is compared over.
 */
#ifndef HG_TEST_CHECK_H
#define HG_TEST_CHECK_H

#include "heapgraph.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* Stop the test program (setup failures, not kernel failures). */
#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: REQUIRED %s: ", __FILE__, __LINE__,        \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(2);                                                           \
        }                                                                      \
    } while (0)

static inline int check_summary(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* The whole file at path in an 8-aligned buffer (free() it) with room for
 * 64 more bytes; *len = its length. */
static inline uint8_t *check_slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;

    REQUIRE(fp != NULL, "open %s", path);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = aligned_alloc(8, ((size_t)n + 64 + 7) & ~(size_t)7);
    REQUIRE(buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n, "read");
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Compare n elements; on a mismatch record one failure naming the first
 * differing index and both values. */
#define CHECK_SAME(what, expected, got, n)                                     \
    do {                                                                       \
        for (size_t i_ = 0; i_ < (size_t)(n); i_++) {                          \
            if ((expected)[i_] != (got)[i_]) {                                 \
                check_failures++;                                              \
                fprintf(stderr,                                                \
                        "%s:%d: FAILED %s: at [%zu] expected %llu, got "       \
                        "%llu\n",                                              \
                        __FILE__, __LINE__, (what), i_,                        \
                        (unsigned long long)(expected)[i_],                    \
                        (unsigned long long)(got)[i_]);                        \
                break;                                                         \
            }                                                                  \
        }                                                                      \
    } while (0)

static const int test_thread_counts[] = {1, 2, 4};
#define N_THREAD_COUNTS 3

/* ---- random numbers ------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rng_below(rng *r, uint64_t n) {
    return rng_next(r) % n;
}

/* ---- node sizes ---------------------------------------------------------- */

/* Sizes as a graph keeps them: 4 bytes per node and the overflow table of
 * those >= UINT32_MAX (hg_size_pack); aborts the test on error. */
typedef struct packed_sizes {
    hg_node n;
    uint32_t *size;         /* n entries (malloc) */
    hg_size_overflow *over; /* n_over entries (hg_alloc), or NULL */
    hg_node n_over;
} packed_sizes;

static inline void packed_sizes_init(packed_sizes *p, const uint64_t *sizes,
                                     hg_node n) {
    hg_status st;
    p->n = n;
    p->size = malloc((size_t)n * sizeof(uint32_t) + 1);
    REQUIRE(p->size != NULL, "allocation");
    st = hg_size_pack(sizes, n, p->size, &p->over, &p->n_over);
    REQUIRE(st == HG_OK, "hg_size_pack: %s", hg_status_str(st));
}

static inline void packed_sizes_free(packed_sizes *p) {
    free(p->size);
    hg_free(p->over, (size_t)p->n_over * sizeof(hg_size_overflow));
    memset(p, 0, sizeof(*p));
}

/* A heap object's shallow size: mostly small; 4 in 1024 at the 32-bit
 * edge: UINT32_MAX - 1 (fits), UINT32_MAX (the saturated value itself,
 * overflows) and two of 4 GiB or more, so the overflow path is taken. */
static inline uint64_t rng_size(rng *r) {
    uint64_t k = rng_below(r, 1024);
    if (k < 2) {
        return k == 0 ? UINT32_MAX : (uint64_t)UINT32_MAX - 1;
    }
    if (k < 4) {
        return ((uint64_t)4 << 30) + rng_below(r, (uint64_t)1 << 40);
    }
    return 16 + 8 * rng_below(r, 100);
}

/* ---- graphs -------------------------------------------------------------- */

/* A CSR adopted from arrays made with hg_alloc; aborts the test on error. */
static inline void csr_from_arrays(hg_csr *g, hg_node n, hg_edge m,
                                   const hg_edge *off, const hg_node *tgt) {
    hg_edge *o = hg_alloc(((size_t)n + 1) * sizeof(hg_edge));
    hg_node *t = hg_alloc((size_t)m * sizeof(hg_node));
    hg_status st;

    REQUIRE(o != NULL && (t != NULL || m == 0), "allocation");
    memcpy(o, off, ((size_t)n + 1) * sizeof(hg_edge));
    if (m > 0) {
        memcpy(t, tgt, (size_t)m * sizeof(hg_node));
    }
    memset(g, 0, sizeof(*g));
    st = hg_csr_adopt(g, n, m, &o, &t);
    REQUIRE(st == HG_OK, "adopt: %s", hg_status_str(st));
}

/* A CSR from an edge list (src[i] -> dst[i]); edges of a source keep their
 * list order. */
static inline void csr_from_edges(hg_csr *g, hg_node n, hg_edge m,
                                  const hg_node *src, const hg_node *dst) {
    hg_edge *off = calloc((size_t)n + 1, sizeof(hg_edge));
    hg_edge *pos = calloc((size_t)n + 1, sizeof(hg_edge));
    hg_node *tgt = malloc((size_t)m * sizeof(hg_node) + 1);

    REQUIRE(off && pos && tgt, "allocation");
    for (hg_edge i = 0; i < m; i++) {
        off[src[i] + 1]++;
    }
    for (hg_node v = 0; v < n; v++) {
        off[v + 1] += off[v];
    }
    memcpy(pos, off, ((size_t)n + 1) * sizeof(hg_edge));
    for (hg_edge i = 0; i < m; i++) {
        tgt[pos[src[i]]++] = dst[i];
    }
    csr_from_arrays(g, n, m, off, tgt);
    free(off);
    free(pos);
    free(tgt);
}

/* A random heap-like graph: m edges, sources uniform over the first
 * n_with_out nodes, targets 1/8 to a few hubs, 1/16 self-loops, 1/16
 * repeats of the previous target (multi-edges), the rest uniform. */
static inline void csr_random(hg_csr *g, uint64_t seed, hg_node n, hg_edge m) {
    rng r = {seed};
    hg_node *src = malloc((size_t)m * sizeof(hg_node) + 1);
    hg_node *dst = malloc((size_t)m * sizeof(hg_node) + 1);
    hg_node n_out = n > 4 ? n - n / 4 : n; /* the last quarter: no out */

    REQUIRE(src && dst, "allocation");
    for (hg_edge i = 0; i < m; i++) {
        uint64_t kind = rng_below(&r, 16);
        src[i] = (hg_node)rng_below(&r, n_out);
        if (kind < 2) {
            dst[i] = (hg_node)rng_below(&r, n < 4 ? n : 4);
        } else if (kind == 2) {
            dst[i] = src[i];
        } else if (kind == 3 && i > 0) {
            src[i] = src[i - 1];
            dst[i] = dst[i - 1];
        } else {
            dst[i] = (hg_node)rng_below(&r, n);
        }
    }
    csr_from_edges(g, n, m, src, dst);
    free(src);
    free(dst);
}

/* A random heap-shaped graph for the leak analyses: every node v > 0 has an
 * owner edge from an earlier node (v - 1 for a third of them: chains; any
 * earlier node otherwise), and extra_per_node shared references on average
 * (sometimes back to an earlier node: cycles; sometimes self-loops and
 * repeated edges).  The last n / 8 nodes are left unowned: an unreachable
 * part with its own edges into the rest. */
static inline void csr_heapish(hg_csr *g, uint64_t seed, hg_node n,
                               double extra_per_node) {
    rng r = {seed};
    hg_node owned = n - n / 8;
    hg_edge cap = (hg_edge)((double)n * (extra_per_node + 1.0)) + 2 * n + 1;
    hg_node *src = malloc((size_t)cap * sizeof(hg_node));
    hg_node *dst = malloc((size_t)cap * sizeof(hg_node));
    hg_edge m = 0;
    uint64_t per_mille = (uint64_t)(extra_per_node * 1000.0);

    REQUIRE(src && dst, "allocation");
    for (hg_node v = 1; v < n; v++) {
        if (v < owned) {
            src[m] = rng_below(&r, 3) == 0 ? v - 1 : (hg_node)rng_below(&r, v);
            dst[m++] = v;
        }
        while (m + 2 < cap && rng_below(&r, 1000 + per_mille) < per_mille) {
            uint64_t kind = rng_below(&r, 16);
            src[m] = v;
            dst[m] = kind == 0            ? v
                     : kind == 1 && m > 0 ? dst[m - 1]
                                          : (hg_node)rng_below(&r, n);
            m++;
        }
    }
    csr_from_edges(g, n, m, src, dst);
    free(src);
    free(dst);
}

/* ---- dominator trees ------------------------------------------------------
 */

/* idom and retained (n_nodes entries each, the caller's) of g from roots,
 * with random shallow sizes (rng_size, seeded; some of 4 GiB or more):
 * the input of the kernels that read a dominator tree.  Aborts the test
 * on error. */
static inline void domtree_with_sizes(const hg_csr *g, const hg_node *roots,
                                      size_t n_roots, uint64_t seed,
                                      hg_node *idom, uint64_t *retained) {
    hg_node n = g->n_nodes;
    uint64_t *size = malloc((size_t)n * sizeof(uint64_t) + 1);
    rng r = {seed};
    packed_sizes ps;

    REQUIRE(size, "allocation");
    for (hg_node v = 0; v < n; v++) {
        size[v] = rng_size(&r);
    }
    packed_sizes_init(&ps, size, n);
    REQUIRE(hg_domtree_build(g, NULL, roots, n_roots, idom) == HG_OK,
            "dominator tree");
    REQUIRE(hg_domtree_retained(idom, n, ps.size, ps.over, ps.n_over,
                                retained) == HG_OK,
            "retained sizes");
    packed_sizes_free(&ps);
    free(size);
}

#endif /* HG_TEST_CHECK_H */
