/*
 * fuzz_snapfile.c -- libFuzzer target for the snapshot file reader.
 *
 * Each input is opened twice with hg_snapfile_open_mem: as it is, and with
 * its section and header checksums recomputed (where the section table can
 * be read), so mutations reach the checks behind the checksums (lengths,
 * CSR invariants, type ids, the size overflow table, string tables,
 * labels).  Whatever the reader accepts is then walked the way the kernels
 * walk it.  Built with -DHG_BUILD_FUZZ=ON and clang (make fuzz); with
 * HG_FUZZ_SEED_DIR set, it first writes two small valid files there as the
 * seed corpus: one of the current format with sizes past 32 bits, and a
 * version 1 file of the previous release (snapfile_v1.h).
 */
#include "heapgraph.h"
#include "snapfile_v1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void walk(const uint8_t *buf, size_t len) {
    hg_snapfile *f = NULL;
    char why[256];
    if (hg_snapfile_open_mem(buf, len, &f, why, sizeof(why)) != HG_OK) {
        return;
    }
    {
        hg_graph *g = hg_snapfile_graph(f);
        const hg_snapfile_data *d = hg_snapfile_contents(f);
        volatile uint64_t sum = 0;
        for (hg_node v = 0; v < g->n_nodes; v++) {
            for (hg_edge e = g->fwd.offsets[v]; e < g->fwd.offsets[v + 1];
                 e++) {
                sum += g->addr[g->fwd.targets[e]];
            }
            sum += d->type_flags[g->type_id[v]] + hg_node_size(g, v) +
                   g->refcnt[v] + g->flags[v];
        }
        for (uint64_t t = 0; t < d->short_names.count; t++) {
            for (uint64_t b = d->short_names.offsets[t];
                 b < d->short_names.offsets[t + 1]; b++) {
                sum += (uint8_t)d->short_names.bytes[b];
            }
        }
        for (hg_node i = 0; i < d->n_labels; i++) {
            sum += g->addr[d->label_nodes[i]] + d->labels.offsets[i + 1];
        }
        (void)hg_graph_reverse(g);
    }
    hg_snapfile_close(f);
}

/* Recompute every checksum the table lets us reach. */
static void reseal(uint8_t *buf, size_t len) {
    uint32_t ns;
    uint64_t seed, sum;
    if (len < 256) {
        return;
    }
    memcpy(&ns, buf + 32, 4);
    if (ns > 64 || 256 + (uint64_t)ns * 32 > len) {
        return;
    }
    for (uint32_t i = 0; i < ns; i++) {
        uint8_t *e = buf + 256 + (size_t)i * 32;
        uint64_t off, n;
        memcpy(&off, e + 8, 8);
        memcpy(&n, e + 16, 8);
        if (off <= len && n <= len - off) {
            sum = hg_snapfile_checksum(buf + off, (size_t)n, 0);
            memcpy(e + 24, &sum, 8);
        }
    }
    seed = hg_snapfile_checksum(buf + 256, (size_t)ns * 32, 0);
    sum = hg_snapfile_checksum(buf, 248, seed);
    memcpy(buf + 248, &sum, 8);
}

static void write_seed(const char *dir) {
    static const char names[] = "dictlistFoo", labels[] = "__main__f";
    static const uint64_t name_off[] = {0, 4, 8, 11}, label_off[] = {0, 8, 9};
    static const uint64_t type_addr[] = {1, 2, 3};
    static const uint32_t type_flags[] = {0, 4, 8};
    static const hg_node label_nodes[] = {0, 5};
    hg_graph *g = NULL;
    hg_edge *off = malloc(9 * sizeof(hg_edge));
    hg_node *tgt = malloc(12 * sizeof(hg_node));
    /* two sizes in the overflow table */
    static const uint64_t sizes[] = {56,         56, 56, (uint64_t)5 << 30,
                                     UINT32_MAX, 56, 56, 56};
    hg_snapfile_data d;
    char path[4096];
    FILE *fp;

    if (hg_graph_new(8, &g) != HG_OK || off == NULL || tgt == NULL ||
        hg_size_pack(sizes, 8, g->size, &g->size_over, &g->n_size_over) !=
            HG_OK) {
        return;
    }
    for (hg_node v = 0; v < 8; v++) {
        off[v] = v < 6 ? 2 * v : 12;
        g->addr[v] = 0x1000 + 16 * v;
        g->type_id[v] = v % 3;
        g->refcnt[v] = 1 + v % 2;
        g->flags[v] = v < 6 ? 0x81 : 0;
    }
    off[8] = 12;
    for (int e = 0; e < 12; e++) {
        tgt[e] = (hg_node)((e * 5 + 1) % 8);
    }
    hg_graph_free(NULL);
    g->fwd = (hg_csr){8, 12, off, tgt};
    g->n_tracked = 6;
    memset(&d, 0, sizeof(d));
    d.graph = g;
    d.n_types = 3;
    d.type_addr = type_addr;
    d.type_flags = type_flags;
    d.short_names = d.long_names = (hg_strtab){3, name_off, names};
    d.n_labels = 2;
    d.label_nodes = label_nodes;
    d.labels = (hg_strtab){2, label_off, labels};
    snprintf(path, sizeof(path), "%s/seed.hgsnap", dir);
    (void)hg_snapfile_write(path, &d, NULL, 0);
    g->fwd = (hg_csr){0, 0, NULL, NULL};
    free(off);
    free(tgt);
    hg_graph_free(g);
    snprintf(path, sizeof(path), "%s/seed-v1.hgsnap", dir);
    fp = fopen(path, "wb");
    if (fp != NULL) {
        fwrite(snapfile_v1, 1, sizeof(snapfile_v1), fp);
        fclose(fp);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *dir = getenv("HG_FUZZ_SEED_DIR");
    (void)argc;
    (void)argv;
    if (dir != NULL) {
        write_seed(dir);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an aligned copy exactly `size` long: ASan sees any overread */
    uint8_t *buf = aligned_alloc(8, size == 0 ? 8 : (size + 7) & ~(size_t)7);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    walk(buf, size);
    reseal(buf, size);
    walk(buf, size);
    free(buf);
    return 0;
}
