/*
 * test_snapfile.c -- snapshot files: round trips, atomic writes, and a
 * reader that rejects every damaged file (each truncation length, random
 * byte flips, extensions, wrong magic, version, byte order, crafted
 * sections) with HG_EFORMAT and a reason, never a crash.  The reader owns
 * a copy of the file (truncating or rewriting it afterwards changes
 * nothing; a file rewritten while it is read gives an error or one whole
 * version), mapping is the opt-in; the writer refuses to replace anything
 * but a regular file, and writes through a link to one.
 */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a small snapshot -------------------------------------------------- */

typedef struct fixture {
    hg_graph *g;
    uint64_t type_addr[3];
    uint32_t type_flags[3];
    uint64_t name_off[4], long_off[4], label_off[3];
    hg_node label_nodes[2];
    hg_snapfile_data d;
} fixture;

static void fixture_init(fixture *fx, hg_node n, hg_edge m, uint64_t seed) {
    static const char names[] = "dictlistFoo";
    static const char longs[] = "dictlistmod.Foo";
    static const char labels[] = "__main__f";
    rng r = {seed};

    memset(fx, 0, sizeof(*fx));
    REQUIRE(hg_graph_new(n, &fx->g) == HG_OK, "graph");
    csr_random(&fx->g->fwd, seed, n, m);
    fx->g->n_tracked = n - n / 4;
    fx->g->n_types = 3;
    for (hg_node v = 0; v < n; v++) {
        fx->g->addr[v] = 0x10000 + 16 * (uint64_t)v;
        fx->g->type_id[v] = (uint32_t)rng_below(&r, 3);
        fx->g->size[v] = 16 + rng_below(&r, 1000);
        fx->g->refcnt[v] = (uint32_t)rng_below(&r, 5);
        fx->g->flags[v] = (uint8_t)(v < fx->g->n_tracked ? 0x81 : 0);
    }
    for (int t = 0; t < 3; t++) {
        fx->type_addr[t] = 0x7000 + 64 * (uint64_t)t;
        fx->type_flags[t] = (uint32_t)(1u << t);
    }
    memcpy(fx->name_off, (uint64_t[]){0, 4, 8, 11}, sizeof(fx->name_off));
    memcpy(fx->long_off, (uint64_t[]){0, 4, 8, 15}, sizeof(fx->long_off));
    memcpy(fx->label_off, (uint64_t[]){0, 8, 9}, sizeof(fx->label_off));
    fx->label_nodes[0] = 1;
    fx->label_nodes[1] = n - 1;
    fx->d.graph = fx->g;
    fx->d.n_types = 3;
    fx->d.type_addr = fx->type_addr;
    fx->d.type_flags = fx->type_flags;
    fx->d.short_names = (hg_strtab){3, fx->name_off, names};
    fx->d.long_names = (hg_strtab){3, fx->long_off, longs};
    fx->d.n_labels = 2;
    fx->d.label_nodes = fx->label_nodes;
    fx->d.labels = (hg_strtab){2, fx->label_off, labels};
    fx->d.pause_seconds = 0.25;
    fx->d.capture_seconds = 0.5;
    fx->d.created = 1.7e9;
    strcpy(fx->d.runtime, "CPython 3.11.2");
    strcpy(fx->d.producer, "objgraph test");
}

static void fixture_destroy(fixture *fx) {
    hg_graph_free(fx->g);
}

static char tmpdir[256];

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static int tmp_files_left(void) {
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    REQUIRE(dir != NULL, "opendir");
    while ((e = readdir(dir)) != NULL) {
        n += strstr(e->d_name, ".tmp-") != NULL;
    }
    closedir(dir);
    return n;
}

static int same_str(const hg_strtab *a, const hg_strtab *b, uint64_t i) {
    uint64_t la = a->offsets[i + 1] - a->offsets[i];
    uint64_t lb = b->offsets[i + 1] - b->offsets[i];
    return la == lb &&
           memcmp(a->bytes + a->offsets[i], b->bytes + b->offsets[i], la) == 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_checksum_is_xxh64(void) {
    CHECK(hg_snapfile_checksum("", 0, 0) == 0xEF46DB3751D8E999ull,
          "XXH64(\"\") = %016llx",
          (unsigned long long)hg_snapfile_checksum("", 0, 0));
    CHECK(hg_snapfile_checksum("a", 1, 0) == 0xD24EC4F1A98C6E5Bull,
          "XXH64(\"a\") = %016llx",
          (unsigned long long)hg_snapfile_checksum("a", 1, 0));
    CHECK(hg_snapfile_checksum("abc", 3, 0) == 0x44BC2CF5AD770999ull,
          "XXH64(\"abc\") = %016llx",
          (unsigned long long)hg_snapfile_checksum("abc", 3, 0));
}

static void test_round_trip_keeps_everything(void) {
    fixture fx;
    char path[512], why[256];
    hg_snapfile *f = NULL;
    const hg_snapfile_data *d;
    const hg_graph *g;
    uint64_t live0;
    hg_status st;

    fixture_init(&fx, 2000, 9000, 7);
    path_in_tmp(path, sizeof(path), "round.hgsnap");
    st = hg_snapfile_write(path, &fx.d, why, sizeof(why));
    CHECK(st == HG_OK, "write: %s (%s)", hg_status_str(st), why);
    CHECK(tmp_files_left() == 0, "a temporary file was left behind");
    /* writing again replaces the file */
    st = hg_snapfile_write(path, &fx.d, why, sizeof(why));
    CHECK(st == HG_OK, "rewrite: %s (%s)", hg_status_str(st), why);
    live0 = hg_alloc_live_bytes();
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    d = hg_snapfile_contents(f);
    g = hg_snapfile_graph(f);
    CHECK(d->graph == g, "contents' graph is the file's graph");
    CHECK(g->n_nodes == 2000 && g->n_tracked == 1500 && g->n_types == 3 &&
              g->fwd.n_edges == 9000,
          "counts: %u nodes, %u tracked, %u types, %llu edges", g->n_nodes,
          g->n_tracked, g->n_types, (unsigned long long)g->fwd.n_edges);
    CHECK_SAME("addr", fx.g->addr, g->addr, 2000);
    CHECK_SAME("type_id", fx.g->type_id, g->type_id, 2000);
    CHECK_SAME("size", fx.g->size, g->size, 2000);
    CHECK_SAME("refcnt", fx.g->refcnt, g->refcnt, 2000);
    CHECK_SAME("flags", fx.g->flags, g->flags, 2000);
    CHECK_SAME("offsets", fx.g->fwd.offsets, g->fwd.offsets, 2001);
    CHECK_SAME("targets", fx.g->fwd.targets, g->fwd.targets, 9000);
    CHECK_SAME("type_addr", fx.type_addr, d->type_addr, 3);
    CHECK_SAME("type_flags", fx.type_flags, d->type_flags, 3);
    for (uint64_t t = 0; t < 3; t++) {
        CHECK(same_str(&fx.d.short_names, &d->short_names, t) &&
                  same_str(&fx.d.long_names, &d->long_names, t),
              "type name %llu differs", (unsigned long long)t);
    }
    CHECK(d->n_labels == 2 && d->label_nodes[0] == 1 &&
              d->label_nodes[1] == 1999 &&
              same_str(&fx.d.labels, &d->labels, 0) &&
              same_str(&fx.d.labels, &d->labels, 1),
          "labels differ");
    CHECK(d->pause_seconds == 0.25 && d->capture_seconds == 0.5 &&
              d->created == 1.7e9,
          "figures differ");
    CHECK(strcmp(d->runtime, "CPython 3.11.2") == 0 &&
              strcmp(d->producer, "objgraph test") == 0,
          "texts: \"%s\", \"%s\"", d->runtime, d->producer);
    CHECK(hg_snapfile_nbytes(f) > 2000 * 29, "mapped bytes %llu",
          (unsigned long long)hg_snapfile_nbytes(f));
    /* the reverse graph can be built on the mapped forward one */
    st = hg_graph_reverse(hg_snapfile_graph(f));
    CHECK(st == HG_OK && g->rev.n_edges == 9000, "reverse: %s",
          hg_status_str(st));
    hg_snapfile_close(f);
    hg_snapfile_close(NULL);
    CHECK(hg_alloc_live_bytes() == live0, "close frees the reverse graph");
    unlink(path);
    fixture_destroy(&fx);
}

static void test_empty_graph_round_trips(void) {
    hg_graph *g = NULL;
    hg_snapfile_data d;
    hg_snapfile *f = NULL;
    char path[512], why[256];
    hg_status st;

    memset(&d, 0, sizeof(d));
    REQUIRE(hg_graph_new(0, &g) == HG_OK, "graph");
    d.graph = g;
    path_in_tmp(path, sizeof(path), "empty.hgsnap");
    st = hg_snapfile_write(path, &d, why, sizeof(why));
    CHECK(st == HG_OK, "write empty: %s (%s)", hg_status_str(st), why);
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    CHECK(st == HG_OK && hg_snapfile_graph(f)->n_nodes == 0,
          "open empty: %s (%s)", hg_status_str(st), why);
    hg_snapfile_close(f);
    unlink(path);
    hg_graph_free(g);
}

/* Write the fixture, return its bytes. */
static uint8_t *fixture_bytes(size_t *len) {
    fixture fx;
    char path[512], why[256];
    uint8_t *buf;

    fixture_init(&fx, 60, 150, 11);
    path_in_tmp(path, sizeof(path), "small.hgsnap");
    REQUIRE(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    buf = check_slurp(path, len);
    unlink(path);
    fixture_destroy(&fx);
    return buf;
}

static hg_status open_buf(const uint8_t *buf, size_t len, char *why,
                          size_t n_why) {
    hg_snapfile *f = NULL;
    hg_status st = hg_snapfile_open_mem(buf, len, &f, why, n_why);
    if (st == HG_OK) {
        /* touch the result the way a user would */
        const hg_graph *g = hg_snapfile_graph(f);
        volatile uint64_t sum = 0;
        for (hg_edge e = 0; e < g->fwd.n_edges; e++) {
            sum += g->fwd.targets[e];
        }
        hg_snapfile_close(f);
    }
    return st;
}

static void test_every_truncation_is_rejected(void) {
    size_t len;
    uint8_t *buf = fixture_bytes(&len);
    uint8_t *copy = aligned_alloc(8, (len + 64 + 7) & ~(size_t)7);
    char why[256];
    int bad = 0;

    REQUIRE(copy != NULL, "alloc");
    CHECK(open_buf(buf, len, why, sizeof(why)) == HG_OK, "intact: %s", why);
    for (size_t n = 0; n < len; n++) {
        memcpy(copy, buf, n); /* a fresh buffer: no reading past n */
        if (open_buf(copy, n, why, sizeof(why)) != HG_EFORMAT) {
            bad++;
        }
    }
    CHECK(bad == 0, "%d truncations were not HG_EFORMAT", bad);
    open_buf(buf, 300, why, sizeof(why));
    CHECK(strstr(why, "truncated") != NULL, "reason: %s", why);
    /* extensions */
    for (size_t extra = 1; extra <= 64; extra *= 2) {
        memcpy(copy, buf, len);
        memset(copy + len, 0, extra);
        CHECK(open_buf(copy, len + extra, why, sizeof(why)) == HG_EFORMAT,
              "extended by %zu bytes: accepted", extra);
    }
    CHECK(strstr(why, "trailing") != NULL, "reason: %s", why);
    free(copy);
    free(buf);
}

static void test_random_byte_flips_are_rejected(void) {
    size_t len;
    uint8_t *buf = fixture_bytes(&len);
    uint8_t *copy = aligned_alloc(8, (len + 64 + 7) & ~(size_t)7);
    char why[256];
    rng r = {99};
    int bad = 0;

    REQUIRE(copy != NULL, "alloc");
    for (int i = 0; i < 5000; i++) {
        size_t at = rng_below(&r, len);
        uint8_t x = (uint8_t)(1 + rng_below(&r, 255));
        memcpy(copy, buf, len);
        copy[at] ^= x;
        if (i % 2 == 1) { /* a second flip elsewhere */
            copy[rng_below(&r, len)] ^= (uint8_t)(1 + rng_below(&r, 255));
        }
        if (memcmp(copy, buf, len) != 0 &&
            open_buf(copy, len, why, sizeof(why)) != HG_EFORMAT) {
            bad++;
            fprintf(stderr, "flip at %zu (^%02x) accepted\n", at, x);
        }
    }
    CHECK(bad == 0, "%d corrupted files were accepted", bad);
    free(copy);
    free(buf);
}

/* Rewrite the header checksum after editing the header or table. */
static void reseal(uint8_t *buf) {
    uint32_t ns;
    uint64_t seed, sum;
    memcpy(&ns, buf + 32, 4);
    seed = hg_snapfile_checksum(buf + 256, (size_t)ns * 32, 0);
    sum = hg_snapfile_checksum(buf, 248, seed);
    memcpy(buf + 248, &sum, 8);
}

static void test_foreign_files_are_named(void) {
    size_t len;
    uint8_t *buf = fixture_bytes(&len);
    uint8_t *copy = aligned_alloc(8, (len + 64 + 7) & ~(size_t)7);
    char why[256];
    uint32_t v;

    REQUIRE(copy != NULL, "alloc");
    memcpy(copy, buf, len);
    copy[1] = 'X';
    CHECK(open_buf(copy, len, why, sizeof(why)) == HG_EFORMAT &&
              strstr(why, "magic") != NULL,
          "wrong magic: %s", why);
    memcpy(copy, buf, len);
    v = HG_SNAPFILE_VERSION + 1;
    memcpy(copy + 8, &v, 4);
    CHECK(open_buf(copy, len, why, sizeof(why)) == HG_EFORMAT &&
              strstr(why, "version 4") != NULL,
          "wrong version: %s", why);
    memcpy(copy, buf, len);
    v = 0x04030201;
    memcpy(copy + 12, &v, 4);
    CHECK(open_buf(copy, len, why, sizeof(why)) == HG_EFORMAT &&
              strstr(why, "byte order") != NULL,
          "other byte order: %s", why);
    /* a required section of an unknown kind (a newer writer) */
    memcpy(copy, buf, len);
    v = 99;
    memcpy(copy + 256 + 12 * 32, &v, 4); /* the last section's kind */
    reseal(copy);
    CHECK(open_buf(copy, len, why, sizeof(why)) == HG_EFORMAT &&
              strstr(why, "newer") != NULL,
          "unknown required section: %s", why);
    /* optional unknown sections are skipped: the labels renamed, dropped */
    memcpy(copy, buf, len);
    for (int i = 11; i < 13; i++) {
        uint32_t kind = 90 + (uint32_t)i, flags = 0;
        memcpy(copy + 256 + (size_t)i * 32, &kind, 4);
        memcpy(copy + 256 + (size_t)i * 32 + 4, &flags, 4);
    }
    v = 0;
    memcpy(copy + 56, &v, 4); /* n_labels */
    reseal(copy);
    CHECK(open_buf(copy, len, why, sizeof(why)) == HG_OK,
          "unknown optional sections must be skipped: %s", why);
    /* a valid checksum over a broken CSR: a target out of range */
    {
        uint64_t off, slen, sum;
        uint32_t big = 1000000;
        memcpy(copy, buf, len);
        memcpy(&off, copy + 256 + 10 * 32 + 8, 8);
        memcpy(&slen, copy + 256 + 10 * 32 + 16, 8);
        memcpy(copy + off, &big, 4);
        sum = hg_snapfile_checksum(copy + off, (size_t)slen, 0);
        memcpy(copy + 256 + 10 * 32 + 24, &sum, 8);
        reseal(copy);
        CHECK(open_buf(copy, len, why, sizeof(why)) == HG_EFORMAT &&
                  strstr(why, "CSR") != NULL,
              "target out of range: %s", why);
    }
    free(copy);
    free(buf);
}

static void test_file_errors_are_eio(void) {
    fixture fx;
    char path[512], why[256];
    hg_snapfile *f = (hg_snapfile *)1;
    FILE *fp;

    path_in_tmp(path, sizeof(path), "missing.hgsnap");
    CHECK(hg_snapfile_open(path, &f, why, sizeof(why)) == HG_EIO && f == NULL,
          "missing file: %s", why);
    CHECK(hg_snapfile_open(tmpdir, &f, why, sizeof(why)) == HG_EIO &&
              strstr(why, "directory") != NULL,
          "directory: %s", why);
    path_in_tmp(path, sizeof(path), "fifo.hgsnap");
    REQUIRE(mkfifo(path, 0600) == 0, "mkfifo");
    CHECK(hg_snapfile_open(path, &f, why, sizeof(why)) == HG_EIO &&
              strstr(why, "regular") != NULL,
          "a FIFO must be refused without blocking: %s", why);
    unlink(path);
    path_in_tmp(path, sizeof(path), "short.hgsnap");
    fp = fopen(path, "wb");
    REQUIRE(fp != NULL, "create");
    fputs("hello", fp);
    fclose(fp);
    CHECK(hg_snapfile_open(path, &f, why, sizeof(why)) == HG_EFORMAT &&
              strstr(why, "magic") != NULL,
          "text file: %s", why);
    unlink(path);

    fixture_init(&fx, 100, 300, 5);
    /* the target is a directory: rename fails, nothing is left behind */
    CHECK(hg_snapfile_write(tmpdir, &fx.d, why, sizeof(why)) == HG_EIO,
          "writing over a directory: %s", why);
    CHECK(tmp_files_left() == 0, "temporary file left after a failed write");
    path_in_tmp(path, sizeof(path), "no/such/dir/x.hgsnap");
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EIO &&
              strstr(why, "No such file") != NULL,
          "missing directory: %s", why);
    fx.g->type_id[5] = 3;
    path_in_tmp(path, sizeof(path), "bad.hgsnap");
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "type id out of range must be refused: %s", why);
    CHECK(access(path, F_OK) != 0, "nothing written for invalid data");
    fixture_destroy(&fx);
}

/* Optional labels of references (dict keys on paths) round-trip; bad ones
 * are refused by the writer. */
static void test_edge_labels_round_trip(void) {
    static const char texts[] = "'a''bb''c'";
    uint64_t off[4] = {0, 3, 7, 10};
    uint64_t edges[3] = {3, 100, 8999};
    fixture fx;
    char path[512], why[256];
    hg_snapfile *f = NULL;
    const hg_snapfile_data *d;
    hg_status st;

    fixture_init(&fx, 2000, 9000, 11);
    fx.d.n_edge_labels = 3;
    fx.d.edge_label_edges = edges;
    fx.d.edge_labels = (hg_strtab){3, off, texts};
    path_in_tmp(path, sizeof(path), "edges.hgsnap");
    st = hg_snapfile_write(path, &fx.d, why, sizeof(why));
    REQUIRE(st == HG_OK, "write: %s (%s)", hg_status_str(st), why);
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    d = hg_snapfile_contents(f);
    CHECK(d->n_edge_labels == 3, "%llu edge labels",
          (unsigned long long)d->n_edge_labels);
    CHECK_SAME("edge_label_edges", edges, d->edge_label_edges, 3);
    for (uint64_t i = 0; i < 3 && d->n_edge_labels == 3; i++) {
        CHECK(same_str(&fx.d.edge_labels, &d->edge_labels, i),
              "edge label %llu differs", (unsigned long long)i);
    }
    hg_snapfile_close(f);
    /* out of order, then out of range: refused, the file left as it was */
    edges[1] = 3;
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "edge labels out of order must be refused");
    edges[1] = 100;
    edges[2] = 9000;
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "an edge label past the last reference must be refused");
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    CHECK(st == HG_OK && hg_snapfile_contents(f)->n_edge_labels == 3,
          "the previous file must be intact: %s", why);
    hg_snapfile_close(f);
    CHECK(tmp_files_left() == 0, "a temporary file was left behind");
    unlink(path);
    fixture_destroy(&fx);
}

/* Optional notes on nodes (root names) round-trip; a file without them
 * reads as none; bad ones are refused by the writer. */
static void test_notes_round_trip(void) {
    static const char texts[] = "thread\0w\0f\0a.py\0"
                                "3\0x"
                                "class\0m.C";
    uint64_t off[3] = {0, 19, 28};
    hg_node nodes[2] = {7, 1999};
    fixture fx;
    char path[512], why[256];
    hg_snapfile *f = NULL;
    const hg_snapfile_data *d;
    hg_status st;

    fixture_init(&fx, 2000, 9000, 11);
    path_in_tmp(path, sizeof(path), "notes.hgsnap");
    st = hg_snapfile_write(path, &fx.d, why, sizeof(why));
    REQUIRE(st == HG_OK, "write: %s (%s)", hg_status_str(st), why);
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    CHECK(hg_snapfile_contents(f)->n_notes == 0, "notes in a file without");
    hg_snapfile_close(f);
    fx.d.n_notes = 2;
    fx.d.note_nodes = nodes;
    fx.d.notes = (hg_strtab){2, off, texts};
    st = hg_snapfile_write(path, &fx.d, why, sizeof(why));
    REQUIRE(st == HG_OK, "write: %s (%s)", hg_status_str(st), why);
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    d = hg_snapfile_contents(f);
    CHECK(d->n_notes == 2, "%u notes", d->n_notes);
    CHECK_SAME("note_nodes", nodes, d->note_nodes, 2);
    for (uint64_t i = 0; i < 2 && d->n_notes == 2; i++) {
        CHECK(same_str(&fx.d.notes, &d->notes, i), "note %llu differs",
              (unsigned long long)i);
    }
    hg_snapfile_close(f);
    nodes[1] = 7; /* out of order, then out of range: refused */
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "notes out of order must be refused");
    nodes[1] = 2000;
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EINVAL,
          "a note past the last node must be refused");
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    CHECK(st == HG_OK && hg_snapfile_contents(f)->n_notes == 2,
          "the previous file must be intact: %s", why);
    hg_snapfile_close(f);
    CHECK(tmp_files_left() == 0, "a temporary file was left behind");
    unlink(path);
    fixture_destroy(&fx);
}

/* ---- the file changes under the reader ----------------------------------- */

/* Does f hold exactly fx's graph? */
static int same_graph(const hg_snapfile *f, const fixture *fx) {
    const hg_graph *g = hg_snapfile_contents(f)->graph;
    const hg_graph *w = fx->g;
    return g->n_nodes == w->n_nodes && g->fwd.n_edges == w->fwd.n_edges &&
           memcmp(g->addr, w->addr, w->n_nodes * sizeof(uint64_t)) == 0 &&
           memcmp(g->size, w->size, w->n_nodes * sizeof(uint32_t)) == 0 &&
           memcmp(g->fwd.offsets, w->fwd.offsets,
                  (w->n_nodes + 1) * sizeof(hg_edge)) == 0 &&
           memcmp(g->fwd.targets, w->fwd.targets,
                  w->fwd.n_edges * sizeof(hg_node)) == 0;
}

/* Overwrite path in place with buf, the way cp(1) does: truncate, write. */
static void rewrite_in_place(const char *path, const uint8_t *buf, size_t n) {
    int fd = open(path, O_WRONLY | O_TRUNC);
    size_t at = 0;
    REQUIRE(fd >= 0, "open %s for writing: %s", path, strerror(errno));
    while (at < n) {
        size_t chunk = n - at < 4096 ? n - at : 4096;
        ssize_t w = write(fd, buf + at, chunk);
        REQUIRE(w > 0, "write: %s", strerror(errno));
        at += (size_t)w;
    }
    close(fd);
}

/* hg_snapfile_open reads the file into memory of its own: truncating the
 * file, or overwriting it in place, after the open changes nothing (a
 * mapping would raise SIGBUS, or hand the kernels the new bytes). */
static void test_open_owns_a_copy_of_the_file(void) {
    fixture fx, other;
    char path[512], why[256];
    hg_snapfile *f = NULL;
    uint8_t *bytes;
    size_t len, other_len;
    uint64_t live0;
    hg_status st;

    fixture_init(&fx, 3000, 12000, 21);
    fixture_init(&other, 3000, 12000, 22);
    path_in_tmp(path, sizeof(path), "other.hgsnap");
    REQUIRE(hg_snapfile_write(path, &other.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    bytes = check_slurp(path, &other_len);
    path_in_tmp(path, sizeof(path), "owned.hgsnap");
    REQUIRE(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    free(check_slurp(path, &len));
    live0 = hg_alloc_live_bytes();
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "open: %s (%s)", hg_status_str(st), why);
    CHECK(!hg_snapfile_is_mapped(f), "hg_snapfile_open must not map");
    CHECK(hg_snapfile_size(f) == len, "size %llu, the file has %zu",
          (unsigned long long)hg_snapfile_size(f), len);
    CHECK(hg_snapfile_nbytes(f) >= len &&
              hg_alloc_live_bytes() - live0 >= hg_snapfile_nbytes(f),
          "the copy must be counted: nbytes %llu, live bytes +%llu, file %zu",
          (unsigned long long)hg_snapfile_nbytes(f),
          (unsigned long long)(hg_alloc_live_bytes() - live0), len);
    REQUIRE(truncate(path, 0) == 0, "truncate: %s", strerror(errno));
    CHECK(same_graph(f, &fx), "truncating the file changed the open graph");
    rewrite_in_place(path, bytes, other_len);
    CHECK(same_graph(f, &fx), "rewriting the file changed the open graph");
    st = hg_graph_reverse(hg_snapfile_graph(f));
    CHECK(st == HG_OK, "reverse: %s", hg_status_str(st));
    hg_snapfile_close(f);
    CHECK(hg_alloc_live_bytes() == live0, "close frees the copy: +%llu",
          (unsigned long long)(hg_alloc_live_bytes() - live0));
    /* out of memory for the copy: HG_ENOMEM, nothing held */
    hg_alloc_fail_after(0);
    f = (hg_snapfile *)1;
    st = hg_snapfile_open(path, &f, why, sizeof(why));
    hg_alloc_fail_after(-1);
    CHECK(st == HG_ENOMEM && f == NULL && hg_alloc_live_bytes() == live0,
          "allocation failure: %s (%s)", hg_status_str(st), why);
    unlink(path);
    free(bytes);
    fixture_destroy(&fx);
    fixture_destroy(&other);
}

/* hg_snapfile_map, the opt-in, maps the same contents without a copy. */
static void test_map_is_the_opt_in(void) {
    fixture fx;
    char path[512], why[256];
    hg_snapfile *f = NULL;
    uint64_t live0;
    hg_status st;

    fixture_init(&fx, 1000, 4000, 23);
    path_in_tmp(path, sizeof(path), "mapped.hgsnap");
    REQUIRE(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    live0 = hg_alloc_live_bytes();
    st = hg_snapfile_map(path, &f, why, sizeof(why));
    REQUIRE(st == HG_OK, "map: %s (%s)", hg_status_str(st), why);
    CHECK(hg_snapfile_is_mapped(f) && same_graph(f, &fx),
          "a mapped file must give the same graph");
    CHECK(hg_snapfile_nbytes(f) == hg_snapfile_size(f) &&
              hg_alloc_live_bytes() == live0,
          "a mapping is counted as the file's size and copies nothing");
    hg_snapfile_close(f);
    CHECK(hg_snapfile_map(tmpdir, &f, why, sizeof(why)) == HG_EIO &&
              f == NULL && strstr(why, "directory") != NULL,
          "map a directory: %s", why);
    unlink(path);
    fixture_destroy(&fx);
}

/* Another process rewrites the file in place (truncate, write), over and
 * over, alternating two versions of different sizes, while this one opens
 * it: every open gives one whole version or an error naming the cause --
 * never a crash, never a mix. */
static void test_open_during_an_in_place_rewrite(void) {
    fixture a, b;
    char path[512], why[256];
    uint8_t *bytes_a, *bytes_b;
    size_t len_a, len_b;
    int ok = 0, refused = 0, mixed = 0, other_error = 0, status = 0;
    pid_t child;

    fixture_init(&a, 20000, 80000, 31);
    fixture_init(&b, 15000, 50000, 32);
    path_in_tmp(path, sizeof(path), "rewritten.hgsnap");
    REQUIRE(hg_snapfile_write(path, &b.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    bytes_b = check_slurp(path, &len_b);
    REQUIRE(hg_snapfile_write(path, &a.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    bytes_a = check_slurp(path, &len_a);
    fflush(NULL);
    child = fork();
    REQUIRE(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        for (unsigned i = 0;; i++) {
            if (i % 2) {
                rewrite_in_place(path, bytes_a, len_a);
            } else {
                rewrite_in_place(path, bytes_b, len_b);
            }
        }
    }
    for (int i = 0; i < 400; i++) {
        hg_snapfile *f = NULL;
        hg_status st = hg_snapfile_open(path, &f, why, sizeof(why));
        if (st == HG_OK) {
            ok++;
            mixed += !same_graph(f, &a) && !same_graph(f, &b);
            hg_snapfile_close(f);
        } else if (st == HG_EIO || st == HG_EFORMAT) {
            refused++;
        } else {
            other_error++;
        }
    }
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    CHECK(mixed == 0, "%d of %d opens gave a mix of two versions", mixed, ok);
    CHECK(other_error == 0,
          "%d opens failed with neither HG_EIO nor "
          "HG_EFORMAT",
          other_error);
    CHECK(ok + refused == 400, "%d whole versions, %d refused", ok, refused);
    unlink(path);
    free(bytes_a);
    free(bytes_b);
    fixture_destroy(&a);
    fixture_destroy(&b);
}

/* ---- what a save may replace ----------------------------------------------
 */

/* Writing over path must fail with HG_EIO, say why (`want` in the reason),
 * and leave path as it was (the same inode and kind) and no temporary
 * file. */
static void check_refused(const fixture *fx, const char *path,
                          const char *want) {
    struct stat before, after;
    char why[512];
    hg_status st;

    REQUIRE(lstat(path, &before) == 0, "lstat %s", path);
    st = hg_snapfile_write(path, &fx->d, why, sizeof(why));
    CHECK(st == HG_EIO && strstr(why, want) != NULL &&
              strstr(why, "not a regular file") != NULL,
          "writing over %s: expected HG_EIO naming \"%s\", got %s (%s)", path,
          want, hg_status_str(st), why);
    REQUIRE(lstat(path, &after) == 0, "%s was removed", path);
    CHECK(after.st_ino == before.st_ino &&
              (after.st_mode & S_IFMT) == (before.st_mode & S_IFMT),
          "%s was replaced", path);
    CHECK(tmp_files_left() == 0, "a temporary file was left beside %s", path);
}

static void test_write_refuses_what_is_not_a_regular_file(void) {
    fixture fx;
    char path[512], target[512], why[256];
    struct sockaddr_un addr;
    struct stat sb;
    hg_snapfile *f = NULL;
    int sock;

    fixture_init(&fx, 100, 300, 41);
    path_in_tmp(path, sizeof(path), "fifo");
    REQUIRE(mkfifo(path, 0600) == 0, "mkfifo");
    check_refused(&fx, path, "a FIFO");
    unlink(path);

    path_in_tmp(path, sizeof(path), "dir");
    REQUIRE(mkdir(path, 0700) == 0, "mkdir");
    check_refused(&fx, path, "a directory");
    /* a link to a directory is refused too, the link kept */
    path_in_tmp(target, sizeof(target), "dir-link");
    REQUIRE(symlink(path, target) == 0, "symlink");
    check_refused(&fx, target, "a symbolic link to a directory");
    unlink(target);
    rmdir(path);

    path_in_tmp(path, sizeof(path), "sock");
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    REQUIRE(strlen(path) < sizeof(addr.sun_path), "socket path too long");
    memcpy(addr.sun_path, path, strlen(path) + 1);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(sock >= 0 &&
                bind(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0,
            "bind %s: %s", path, strerror(errno));
    check_refused(&fx, path, "a socket");
    close(sock);
    unlink(path);

    /* a device node: only root may make one */
    path_in_tmp(path, sizeof(path), "null");
    if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) == 0) {
        check_refused(&fx, path, "a character device");
        unlink(path);
    } else {
        printf("test_snapfile: no character device test (mknod: %s)\n",
               strerror(errno));
    }
    if (stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        CHECK(hg_snapfile_write("/dev/null", &fx.d, why, sizeof(why)) == HG_EIO,
              "writing over /dev/null must be refused: %s", why);
        CHECK(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode),
              "/dev/null is no longer a character device");
    }

    /* a dangling link: refused, the link kept */
    path_in_tmp(path, sizeof(path), "dangling");
    path_in_tmp(target, sizeof(target), "nowhere.hgsnap");
    REQUIRE(symlink(target, path) == 0, "symlink");
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_EIO &&
              strstr(why, "missing file") != NULL,
          "a dangling link: %s", why);
    CHECK(access(target, F_OK) != 0, "the link's target was created");
    unlink(path);

    /* a link to a regular file: the link kept, its target replaced */
    path_in_tmp(target, sizeof(target), "target.hgsnap");
    path_in_tmp(path, sizeof(path), "link.hgsnap");
    REQUIRE(hg_snapfile_write(target, &fx.d, why, sizeof(why)) == HG_OK, "%s",
            why);
    REQUIRE(symlink("target.hgsnap", path) == 0, "symlink");
    fx.g->addr[0] = 0xabcdef; /* the new contents */
    CHECK(hg_snapfile_write(path, &fx.d, why, sizeof(why)) == HG_OK,
          "writing through a link: %s", why);
    CHECK(lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode),
          "the link must be kept");
    CHECK(hg_snapfile_open(target, &f, why, sizeof(why)) == HG_OK &&
              same_graph(f, &fx),
          "the link's target must hold the new contents: %s", why);
    hg_snapfile_close(f);
    CHECK(tmp_files_left() == 0, "a temporary file was left behind");
    unlink(path);
    unlink(target);
    fixture_destroy(&fx);
}

int main(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hg-snapfile-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL, "mkdtemp");
    test_checksum_is_xxh64();
    test_round_trip_keeps_everything();
    test_edge_labels_round_trip();
    test_notes_round_trip();
    test_empty_graph_round_trips();
    test_every_truncation_is_rejected();
    test_random_byte_flips_are_rejected();
    test_foreign_files_are_named();
    test_file_errors_are_eio();
    test_open_owns_a_copy_of_the_file();
    test_map_is_the_opt_in();
    test_open_during_an_in_place_rewrite();
    test_write_refuses_what_is_not_a_regular_file();
    rmdir(tmpdir);
    return check_summary("test_snapfile");
}
