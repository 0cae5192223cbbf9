/*
 * test_sizes.c -- node sizes of 4 GiB and more.  A graph keeps sizes in 4
 * bytes per node, saturated at UINT32_MAX, plus an overflow table of the
 * true sizes (heapgraph.h, "node sizes").  hg_size_pack and hg_node_size
 * agree with the uint64 sizes at and past the 32-bit edge; retained sizes
 * and bytes per type are exact past 2^32; such a graph survives a save and
 * a load (format version 2: the table is its own section, used in place);
 * a version 1 file written by the previous release (snapfile_v1.h) still
 * loads, its 8-byte sizes converted; corrupt overflow sections and tables
 * are refused; allocation failures leak nothing.
 */
#include "check.h"
#include "ref/ref.h"
#include "snapfile_v1.h"

#include <unistd.h>

/* ---- the graph of snapfile_v1.h ------------------------------------------ */

#define V1_N 8
#define V1_M 7
static const uint64_t v1_sizes[V1_N] = {232,
                                        56,
                                        64,
                                        (uint64_t)5 << 30,
                                        UINT32_MAX,
                                        (uint64_t)UINT32_MAX - 1,
                                        (uint64_t)1 << 40,
                                        33};
static const uint32_t v1_types[V1_N] = {0, 2, 0, 1, 1, 1, 1, 1};
static const uint32_t v1_refcnt[V1_N] = {5, 1, 1, 2, 1, 1, 1, 0};
static const hg_edge v1_offsets[V1_N + 1] = {0, 2, 4, 7, 7, 7, 7, 7, 7};
static const hg_node v1_targets[V1_M] = {1, 2, 3, 4, 5, 6, 3};
/* node 0 retains everything reached: all but node 7 */
#define V1_RETAINED_0                                                          \
    (232 + 56 + 64 + ((uint64_t)5 << 30) + UINT32_MAX +                        \
     ((uint64_t)UINT32_MAX - 1) + ((uint64_t)1 << 40))
#define V1_BYTES_TYPE_1                                                        \
    (((uint64_t)5 << 30) + UINT32_MAX + ((uint64_t)UINT32_MAX - 1) +           \
     ((uint64_t)1 << 40) + 33)

typedef struct fixture {
    hg_graph *g;
    uint64_t type_addr[3];
    uint32_t type_flags[3];
    uint64_t name_off[4], long_off[4], label_off[2], elabel_off[2];
    hg_node label_nodes[1];
    uint64_t elabel_edges[1];
    hg_snapfile_data d;
} fixture;

/* The graph and contents snapfile_v1.h was written from. */
static void fixture_init(fixture *fx) {
    hg_status st;

    memset(fx, 0, sizeof(*fx));
    REQUIRE(hg_graph_new(V1_N, &fx->g) == HG_OK, "graph");
    csr_from_arrays(&fx->g->fwd, V1_N, V1_M, v1_offsets, v1_targets);
    for (hg_node v = 0; v < V1_N; v++) {
        fx->g->addr[v] = 0x7f1000000000ull + 64 * (uint64_t)v;
        fx->g->type_id[v] = v1_types[v];
        fx->g->refcnt[v] = v1_refcnt[v];
        fx->g->flags[v] = (uint8_t)(v < 3 ? 0x81 : 0);
    }
    st = hg_size_pack(v1_sizes, V1_N, fx->g->size, &fx->g->size_over,
                      &fx->g->n_size_over);
    REQUIRE(st == HG_OK, "pack: %s", hg_status_str(st));
    fx->g->n_tracked = 3;
    fx->g->n_types = 3;
    for (int t = 0; t < 3; t++) {
        fx->type_addr[t] = 0x7f0000001000ull + 0x1000 * (uint64_t)t;
    }
    fx->type_flags[0] = 8;
    memcpy(fx->name_off, (uint64_t[]){0, 4, 9, 12}, sizeof(fx->name_off));
    memcpy(fx->long_off, (uint64_t[]){0, 13, 27, 39}, sizeof(fx->long_off));
    memcpy(fx->label_off, (uint64_t[]){0, 8}, sizeof(fx->label_off));
    memcpy(fx->elabel_off, (uint64_t[]){0, 3}, sizeof(fx->elabel_off));
    fx->d.graph = fx->g;
    fx->d.n_types = 3;
    fx->d.type_addr = fx->type_addr;
    fx->d.type_flags = fx->type_flags;
    fx->d.short_names = (hg_strtab){3, fx->name_off, "dictbytesFoo"};
    fx->d.long_names =
        (hg_strtab){3, fx->long_off, "builtins.dictbuiltins.bytes__main__.Foo"};
    fx->d.n_labels = 1;
    fx->d.label_nodes = fx->label_nodes;
    fx->d.labels = (hg_strtab){1, fx->label_off, "__main__"};
    fx->d.n_edge_labels = 1;
    fx->d.edge_label_edges = fx->elabel_edges;
    fx->d.edge_labels = (hg_strtab){1, fx->elabel_off, "'x'"};
    fx->d.pause_seconds = 0.125;
    fx->d.capture_seconds = 0.25;
    fx->d.created = 1.7e9;
    strcpy(fx->d.runtime, "CPython 3.11.7");
    strcpy(fx->d.producer, "objgraph 4.0.0");
}

static char tmpdir[256];

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

/* snapfile_v1.h in an 8-aligned buffer, as a reader gets a mapping. */
static uint8_t *v1_bytes(void) {
    uint8_t *buf = aligned_alloc(8, (sizeof(snapfile_v1) + 7) & ~(size_t)7);
    REQUIRE(buf != NULL, "allocation");
    memcpy(buf, snapfile_v1, sizeof(snapfile_v1));
    return buf;
}

static uint32_t file_version(const uint8_t *buf) {
    uint32_t v;
    memcpy(&v, buf + 8, 4);
    return v;
}

/* The section table entry of kind `kind`, or NULL. */
static uint8_t *find_section(uint8_t *buf, uint32_t kind) {
    uint32_t ns;
    memcpy(&ns, buf + 32, 4);
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t k;
        memcpy(&k, buf + 256 + (size_t)i * 32, 4);
        if (k == kind) {
            return buf + 256 + (size_t)i * 32;
        }
    }
    return NULL;
}

static uint8_t *section_data(uint8_t *buf, const uint8_t *entry) {
    uint64_t off;
    memcpy(&off, entry + 8, 8);
    return buf + off;
}

/* Recompute every section checksum and the header's after an edit. */
static void reseal(uint8_t *buf) {
    uint32_t ns;
    uint64_t seed, sum;
    memcpy(&ns, buf + 32, 4);
    for (uint32_t i = 0; i < ns; i++) {
        uint8_t *e = buf + 256 + (size_t)i * 32;
        uint64_t off, n;
        memcpy(&off, e + 8, 8);
        memcpy(&n, e + 16, 8);
        sum = hg_snapfile_checksum(buf + off, (size_t)n, 0);
        memcpy(e + 24, &sum, 8);
    }
    seed = hg_snapfile_checksum(buf + 256, (size_t)ns * 32, 0);
    sum = hg_snapfile_checksum(buf, 248, seed);
    memcpy(buf + 248, &sum, 8);
}

/* Sizes, retained sizes and bytes per type of a graph holding
 * snapfile_v1.h's graph, against the uint64 references. */
static void check_v1_graph(const char *what, const hg_graph *g) {
    hg_node idom[V1_N], root = 0;
    uint64_t want[V1_N], got[V1_N], want_b[3], got_b[3];
    hg_status st;

    REQUIRE(g->n_nodes == V1_N && g->fwd.n_edges == V1_M, "%s: counts", what);
    for (hg_node v = 0; v < V1_N; v++) {
        CHECK(hg_node_size(g, v) == v1_sizes[v],
              "%s: size of node %u: expected %llu, got %llu", what, v,
              (unsigned long long)v1_sizes[v],
              (unsigned long long)hg_node_size(g, v));
    }
    CHECK(g->n_size_over == 3, "%s: 3 sizes >= UINT32_MAX, got %u", what,
          g->n_size_over);
    CHECK(g->size[5] == UINT32_MAX - 1, "%s: UINT32_MAX - 1 is stored as is",
          what);
    REQUIRE(hg_domtree_build(&g->fwd, NULL, &root, 1, idom) == HG_OK,
            "%s: domtree", what);
    ref_retained(idom, V1_N, v1_sizes, want);
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        st = hg_domtree_retained(idom, V1_N, g->size, g->size_over,
                                 g->n_size_over, got);
        CHECK(st == HG_OK, "%s: retained: %s", what, hg_status_str(st));
        CHECK_SAME(what, want, got, V1_N);
        CHECK(got[0] == V1_RETAINED_0 && got[7] == 0,
              "%s: node 0 retains %llu bytes, got %llu", what,
              (unsigned long long)V1_RETAINED_0, (unsigned long long)got[0]);
        ref_type_bytes(g->type_id, v1_sizes, V1_N, NULL, 3, want_b);
        st = hg_type_bytes(g->type_id, g->size, g->size_over, g->n_size_over,
                           V1_N, NULL, 3, got_b);
        CHECK(st == HG_OK, "%s: type bytes: %s", what, hg_status_str(st));
        CHECK_SAME(what, want_b, got_b, 3);
        CHECK(got_b[1] == V1_BYTES_TYPE_1, "%s: bytes: expected %llu, got %llu",
              what, (unsigned long long)V1_BYTES_TYPE_1,
              (unsigned long long)got_b[1]);
    }
    hg_set_num_threads(1);
}

/* ---- tests --------------------------------------------------------------- */

static void test_pack_and_read_back(void) {
    static const uint64_t sizes[] = {0,
                                     24,
                                     (uint64_t)UINT32_MAX - 1,
                                     UINT32_MAX,
                                     (uint64_t)UINT32_MAX + 1,
                                     (uint64_t)5 << 30,
                                     UINT64_MAX,
                                     56};
    uint64_t start = hg_alloc_live_bytes();
    hg_size_overflow *over = (hg_size_overflow *)1;
    hg_node n_over = 7;
    uint32_t small[8];
    hg_graph *g = NULL;
    hg_status st;

    REQUIRE(hg_graph_new(8, &g) == HG_OK, "graph");
    st = hg_size_pack(sizes, 8, g->size, &g->size_over, &g->n_size_over);
    CHECK(st == HG_OK, "pack: %s", hg_status_str(st));
    CHECK(g->n_size_over == 4, "4 sizes >= UINT32_MAX, got %u", g->n_size_over);
    for (hg_node v = 0; v < 8; v++) {
        CHECK(hg_node_size(g, v) == sizes[v],
              "size of node %u: expected %llu, got %llu", v,
              (unsigned long long)sizes[v],
              (unsigned long long)hg_node_size(g, v));
        CHECK(g->size[v] == (sizes[v] < UINT32_MAX ? sizes[v] : UINT32_MAX),
              "node %u: stored %u", v, g->size[v]);
    }
    for (hg_node i = 0; i < g->n_size_over; i++) {
        CHECK(g->size_over[i].node == 3 + i && g->size_over[i].reserved == 0,
              "entry %u: node %u, reserved %u", i, g->size_over[i].node,
              g->size_over[i].reserved);
    }
    CHECK(hg_graph_nbytes(g) == 8 * 21 + 4 * 16,
          "21 bytes per node and 16 per overflow entry, got %llu",
          (unsigned long long)hg_graph_nbytes(g));
    hg_graph_free(g);
    CHECK(hg_alloc_live_bytes() == start, "free frees the overflow table");

    /* no size past 32 bits: no table, nothing allocated */
    st = hg_size_pack(sizes, 2, small, &over, &n_over);
    CHECK(st == HG_OK && over == NULL && n_over == 0 && small[1] == 24,
          "small sizes: %s, table %p of %u", hg_status_str(st), (void *)over,
          n_over);
    CHECK(hg_alloc_live_bytes() == start, "nothing allocated");
    CHECK(hg_size_pack(NULL, 2, small, &over, &n_over) == HG_EINVAL,
          "no sizes");
    CHECK(hg_size_pack(sizes, 2, small, NULL, &n_over) == HG_EINVAL,
          "no table pointer");
    CHECK(hg_size_pack(NULL, 0, NULL, &over, &n_over) == HG_OK && over == NULL,
          "no nodes");
    hg_alloc_fail_after(0);
    over = (hg_size_overflow *)1;
    st = hg_size_pack(sizes, 8, small, &over, &n_over);
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM && over == (hg_size_overflow *)1,
          "a failed table allocation: %s, outputs untouched",
          hg_status_str(st));
}

static void test_kernels_past_32_bits(void) {
    fixture fx;
    fixture_init(&fx);
    check_v1_graph("built graph", fx.g);
    hg_graph_free(fx.g);
}

static void test_save_and_load_keep_big_sizes(void) {
    fixture fx;
    char path[512], why[256];
    hg_snapfile *f = NULL;
    uint8_t *buf;
    size_t len;
    const hg_graph *g;
    uint8_t *e;
    hg_status st;

    fixture_init(&fx);
    path_in_tmp(path, sizeof(path), "big.hgsnap");
    st = hg_snapfile_write(path, &fx.d, why, sizeof(why));
    REQUIRE(st == HG_OK, "write: %s (%s)", hg_status_str(st), why);
    buf = check_slurp(path, &len);
    CHECK(file_version(buf) == HG_SNAPFILE_VERSION && HG_SNAPFILE_VERSION == 3,
          "written as version 3, got %u", file_version(buf));
    e = find_section(buf, 16);
    CHECK(e != NULL, "the size overflow section is written");
    if (e != NULL) {
        uint64_t slen;
        uint32_t flags;
        memcpy(&flags, e + 4, 4);
        memcpy(&slen, e + 16, 8);
        CHECK(slen == 3 * 16 && flags == 1,
              "node_size_over: %llu bytes (expected 48), flags %u",
              (unsigned long long)slen, flags);
    }
    e = find_section(buf, 7);
    REQUIRE(e != NULL, "node_size section");
    {
        uint64_t slen;
        memcpy(&slen, e + 16, 8);
        CHECK(slen == V1_N * 4, "node_size: 4 bytes per node, got %llu",
              (unsigned long long)slen);
    }
    /* mapped in place: the sizes point into the buffer */
    st = hg_snapfile_open_mem(buf, len, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    g = hg_snapfile_graph(f);
    CHECK((const uint8_t *)g->size >= buf &&
              (const uint8_t *)g->size < buf + len &&
              (const uint8_t *)g->size_over >= buf &&
              (const uint8_t *)g->size_over < buf + len,
          "version 2 sizes are used in place");
    check_v1_graph("saved and loaded", g);
    hg_snapfile_close(f);
    /* from the file too */
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    check_v1_graph("saved and mapped", hg_snapfile_graph(f));
    hg_snapfile_close(f);
    free(buf);
    unlink(path);
    hg_graph_free(fx.g);
}

/* A random heap with sizes at the 32-bit edge, saved and loaded. */
static void test_random_round_trip(void) {
    hg_node n = 20000;
    uint64_t *sizes = malloc(n * sizeof(uint64_t));
    uint64_t n_big = 0;
    hg_graph *g = NULL;
    hg_snapfile_data d;
    hg_snapfile *f = NULL;
    char path[512], why[256];
    rng r = {77};
    hg_status st;

    REQUIRE(sizes != NULL && hg_graph_new(n, &g) == HG_OK, "allocation");
    csr_heapish(&g->fwd, 5, n, 1.0);
    for (hg_node v = 0; v < n; v++) {
        g->addr[v] = 0x10000 + 16 * (uint64_t)v;
        g->type_id[v] = 0;
        g->refcnt[v] = 1;
        g->flags[v] = 0x81;
        sizes[v] = rng_size(&r);
        n_big += sizes[v] >= UINT32_MAX;
    }
    g->n_tracked = n;
    REQUIRE(hg_size_pack(sizes, n, g->size, &g->size_over, &g->n_size_over) ==
                HG_OK,
            "pack");
    CHECK(g->n_size_over == n_big && n_big > 0,
          "%u overflow entries, want %llu", g->n_size_over,
          (unsigned long long)n_big);
    memset(&d, 0, sizeof(d));
    d.graph = g;
    d.n_types = 1;
    d.type_addr = (const uint64_t[]){0x7000};
    d.type_flags = (const uint32_t[]){0};
    d.short_names = d.long_names =
        (hg_strtab){1, (const uint64_t[]){0, 3}, "Foo"};
    path_in_tmp(path, sizeof(path), "random.hgsnap");
    st = hg_snapfile_write(path, &d, why, sizeof(why));
    REQUIRE(st == HG_OK, "write: %s (%s)", hg_status_str(st), why);
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    {
        const hg_graph *h = hg_snapfile_graph(f);
        int bad = 0;
        CHECK(h->n_size_over == g->n_size_over, "entries: %u, want %u",
              h->n_size_over, g->n_size_over);
        for (hg_node v = 0; v < n; v++) {
            bad += hg_node_size(h, v) != sizes[v];
        }
        CHECK(bad == 0, "%d sizes differ after a round trip", bad);
        CHECK(hg_graph_nbytes(h) == hg_graph_nbytes(g),
              "the same bytes loaded as saved: %llu, %llu",
              (unsigned long long)hg_graph_nbytes(h),
              (unsigned long long)hg_graph_nbytes(g));
    }
    hg_snapfile_close(f);
    unlink(path);
    hg_graph_free(g);
    free(sizes);
}

static void test_version_1_file_loads(void) {
    uint8_t *buf = v1_bytes();
    uint64_t start;
    fixture fx;
    hg_snapfile *f = NULL;
    const hg_snapfile_data *d;
    const hg_graph *g;
    char path[512], why[256];
    hg_status st;

    fixture_init(&fx);
    REQUIRE(file_version(buf) == 1, "the fixture is a version 1 file");
    start = hg_alloc_live_bytes();
    st = hg_snapfile_open_mem(buf, sizeof(snapfile_v1), &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "a version 1 file must load: %s (%s)",
            hg_status_str(st), why);
    g = hg_snapfile_graph(f);
    d = hg_snapfile_contents(f);
    check_v1_graph("version 1 file", g);
    CHECK(d->version == 1, "the file's version is reported: %u", d->version);
    CHECK_SAME("addr", fx.g->addr, g->addr, V1_N);
    CHECK_SAME("type_id", fx.g->type_id, g->type_id, V1_N);
    CHECK_SAME("refcnt", fx.g->refcnt, g->refcnt, V1_N);
    CHECK_SAME("flags", fx.g->flags, g->flags, V1_N);
    CHECK_SAME("offsets", fx.g->fwd.offsets, g->fwd.offsets, V1_N + 1);
    CHECK_SAME("targets", fx.g->fwd.targets, g->fwd.targets, V1_M);
    CHECK(g->n_tracked == 3 && d->n_types == 3 && d->n_labels == 1 &&
              d->label_nodes[0] == 0 && d->n_edge_labels == 1 &&
              d->edge_label_edges[0] == 0,
          "counts, labels and edge labels");
    CHECK(d->pause_seconds == 0.125 && d->capture_seconds == 0.25 &&
              strcmp(d->runtime, "CPython 3.11.7") == 0 &&
              strcmp(d->producer, "objgraph 4.0.0") == 0,
          "figures and texts: \"%s\", \"%s\"", d->runtime, d->producer);
    /* the converted sizes are the snapshot's own, counted and freed */
    CHECK(hg_alloc_live_bytes() - start == V1_N * 4 + 3 * 16,
          "converted sizes hold %llu bytes, expected %d",
          (unsigned long long)(hg_alloc_live_bytes() - start),
          V1_N * 4 + 3 * 16);
    CHECK(hg_graph_nbytes(g) == hg_graph_nbytes(fx.g),
          "nbytes as a version 2 graph: %llu, %llu",
          (unsigned long long)hg_graph_nbytes(g),
          (unsigned long long)hg_graph_nbytes(fx.g));

    /* saved again: a version 2 file with the same contents */
    path_in_tmp(path, sizeof(path), "from-v1.hgsnap");
    st = hg_snapfile_write(path, d, why, sizeof(why));
    CHECK(st == HG_OK, "resave: %s (%s)", hg_status_str(st), why);
    hg_snapfile_close(f);
    CHECK(hg_alloc_live_bytes() == start, "close frees the converted sizes");
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open the resaved file: %s (%s)", hg_status_str(st),
            why);
    check_v1_graph("version 1 file saved as version 2", hg_snapfile_graph(f));
    CHECK(hg_snapfile_contents(f)->n_edge_labels == 1, "edge labels kept");
    hg_snapfile_close(f);
    unlink(path);

    /* and from a file on disk, mapped */
    path_in_tmp(path, sizeof(path), "v1.hgsnap");
    {
        FILE *fp = fopen(path, "wb");
        REQUIRE(fp != NULL && fwrite(snapfile_v1, 1, sizeof(snapfile_v1), fp) ==
                                  sizeof(snapfile_v1),
                "write the fixture");
        fclose(fp);
    }
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open the version 1 file: %s (%s)", hg_status_str(st),
            why);
    check_v1_graph("version 1 file mapped", hg_snapfile_graph(f));
    hg_snapfile_close(f);
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    unlink(path);

    /* each allocation of the conversion failing in turn */
    for (long k = 0; k < 100; k++) {
        hg_alloc_fail_after(k);
        st = hg_snapfile_open_mem(buf, sizeof(snapfile_v1), &f, why,
                                  sizeof(why));
        hg_alloc_fail_after(-1);
        CHECK(hg_alloc_live_bytes() - (st == HG_OK ? V1_N * 4 + 3 * 16 : 0) ==
                  start,
              "allocation %ld failing: bytes leaked", k);
        if (st == HG_OK) {
            CHECK(k == 2, "two allocations to convert, succeeded at %ld", k);
            hg_snapfile_close(f);
            break;
        }
        CHECK(st == HG_ENOMEM && f == NULL,
              "allocation %ld failing: expected HG_ENOMEM, got %s", k,
              hg_status_str(st));
    }
    CHECK(hg_alloc_live_bytes() == start, "bytes leaked");
    hg_graph_free(fx.g);
    free(buf);
}

/* Damage a written file's overflow table (checksums recomputed, so the
 * checks behind them meet it): each must be HG_EFORMAT with a reason. */
static void test_bad_overflow_sections_are_refused(void) {
    fixture fx;
    char path[512], why[256];
    uint8_t *buf, *copy;
    size_t len;
    hg_snapfile *f = NULL;
    hg_size_overflow *pairs;
    uint32_t *node_size;
    uint8_t *e;

    fixture_init(&fx);
    path_in_tmp(path, sizeof(path), "damaged.hgsnap");
    REQUIRE(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    buf = check_slurp(path, &len);
    unlink(path);
    copy = aligned_alloc(8, (len + 7) & ~(size_t)7);
    REQUIRE(copy != NULL && find_section(buf, 16) != NULL, "setup");

#define DAMAGE(what, ...)                                                      \
    do {                                                                       \
        hg_status st_;                                                         \
        memcpy(copy, buf, len);                                                \
        pairs =                                                                \
            (hg_size_overflow *)section_data(copy, find_section(copy, 16));    \
        node_size = (uint32_t *)section_data(copy, find_section(copy, 7));     \
        e = find_section(copy, 16);                                            \
        __VA_ARGS__;                                                           \
        reseal(copy);                                                          \
        st_ = hg_snapfile_open_mem(copy, len, &f, why, sizeof(why));           \
        CHECK(st_ == HG_EFORMAT, "%s: expected HG_EFORMAT, got %s (%s)", what, \
              hg_status_str(st_), why);                                        \
        if (st_ == HG_OK) {                                                    \
            hg_snapfile_close(f);                                              \
        }                                                                      \
    } while (0)

    DAMAGE("an entry for a size that is not saturated", pairs[0].node = 0);
    DAMAGE("entries out of order", {
        hg_size_overflow t = pairs[0];
        pairs[0] = pairs[1];
        pairs[1] = t;
    });
    DAMAGE("an entry past the last node", pairs[2].node = V1_N);
    DAMAGE("an entry below UINT32_MAX", pairs[1].size = 1000);
    DAMAGE("nonzero reserved bytes", pairs[1].reserved = 1);
    DAMAGE("a saturated size without an entry", node_size[7] = UINT32_MAX);
    DAMAGE("the overflow section dropped", {
        uint32_t kind = 99, flags = 0; /* an unknown optional section */
        memcpy(e, &kind, 4);
        memcpy(e + 4, &flags, 4);
    });
    /* version 1 readers knew no kind 16: a required one is refused */
    DAMAGE("a version 2 file marked version 1", {
        uint32_t v = 1;
        memcpy(copy + 8, &v, 4);
    });
    CHECK(strstr(why, "kind 16") != NULL, "reason: %s", why);
    DAMAGE("an unknown version", {
        uint32_t v = HG_SNAPFILE_VERSION + 1;
        memcpy(copy + 8, &v, 4);
    });
    CHECK(strstr(why, "version 4") != NULL, "reason: %s", why);
#undef DAMAGE

    /* the intact file loads */
    memcpy(copy, buf, len);
    CHECK(hg_snapfile_open_mem(copy, len, &f, why, sizeof(why)) == HG_OK,
          "intact: %s", why);
    hg_snapfile_close(f);
    free(copy);
    free(buf);
    hg_graph_free(fx.g);
}

/* The writer refuses tables that are not exactly one entry per saturated
 * size, and leaves no file. */
static void test_writer_refuses_bad_tables(void) {
    fixture fx;
    char path[512], why[256];
    hg_node n_over;

    fixture_init(&fx);
    path_in_tmp(path, sizeof(path), "refused.hgsnap");
    n_over = fx.g->n_size_over;
    fx.g->n_size_over = 2; /* the last saturated size has no entry */
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "a saturated size without an entry: %s", why);
    fx.g->n_size_over = n_over;
    fx.g->size[0] = UINT32_MAX; /* a saturated size not in the table */
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "a saturated size not in the table: %s", why);
    fx.g->size[0] = 232;
    fx.g->size_over[0].reserved = 7;
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "nonzero reserved bytes: %s", why);
    fx.g->size_over[0].reserved = 0;
    CHECK(access(path, F_OK) != 0, "nothing written for invalid data");
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_OK,
          "the repaired table is written: %s", why);
    unlink(path);
    hg_graph_free(fx.g);
}

int main(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hg-sizes-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL, "mkdtemp");
    test_pack_and_read_back();
    test_kernels_past_32_bits();
    test_save_and_load_keep_big_sizes();
    test_random_round_trip();
    test_version_1_file_loads();
    test_bad_overflow_sections_are_refused();
    test_writer_refuses_bad_tables();
    rmdir(tmpdir);
    return check_summary("test_sizes");
}
