/*
 * snapfile_read.c -- snapshot files read back: hg_snapfile_open (a copy the
 * snapshot owns), hg_snapfile_map (a private mapping), hg_snapfile_open_mem
 * (the caller's bytes), each validated by parse() before anything is used
 * (the format and what is checked: snapfile.c's header).
 */
#define _GNU_SOURCE /* MAP_POPULATE */
#include "snapfile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HG__READ_CHUNK ((size_t)1 << 30) /* bytes per pread() call */

static const char *const section_names[SEC_N_KNOWN] = {
    "?",
    "type_addr",
    "type_flags",
    "type_short_names",
    "type_long_names",
    "node_addr",
    "node_type",
    "node_size",
    "node_refcnt",
    "node_flags",
    "fwd_offsets",
    "fwd_targets",
    "label_nodes",
    "label_text",
    "edge_label_edges",
    "edge_label_text",
    "node_size_over",
    "note_nodes",
    "note_text",
};

/* Who owns hg_snapfile.base, and so how close() gives it back. */
enum {
    HG__OWN_CALLER = 0,  /* hg_snapfile_open_mem: the caller's buffer */
    HG__OWN_BUFFER = 1,  /* hg_snapfile_open: hg_alloc(hg__align8(len)) */
    HG__OWN_MAPPING = 2, /* hg_snapfile_map: munmap(base, len) */
};

struct hg_snapfile {
    const uint8_t *base; /* the file's bytes (see owner) */
    size_t len;          /* the file's size */
    int owner;           /* HG__OWN_*: how close() releases base */
    hg_graph graph;      /* arrays in the mapping; rev owned, built later */
    hg_snapfile_data data;
    /* A version 1 file's 8-byte sizes (in the mapping), converted after
     * validation into graph.size and graph.size_over, which an open f then
     * owns; NULL for version 2, whose sizes are used in place. */
    const uint64_t *sizes_v1;
};

static const char *kind_name(uint32_t kind) {
    return kind < SEC_N_KNOWN ? section_names[kind] : "unknown";
}

/* A string table section: count, offsets, bytes; offsets[0] == 0,
 * non-decreasing, the last one the byte count, and the section exactly
 * that long. */
static int parse_strtab(const uint8_t *p, uint64_t len, uint64_t count,
                        hg_strtab *out, const char *what, char *why,
                        size_t n_why) {
    uint64_t stored, total;
    const uint64_t *offs;

    if (len < 16) {
        hg__snap_why(why, n_why, "section %s: %llu bytes, too short", what,
                     (unsigned long long)len);
        return -1;
    }
    memcpy(&stored, p, 8);
    if (stored != count) {
        hg__snap_why(why, n_why, "section %s: %llu strings, expected %llu",
                     what, (unsigned long long)stored,
                     (unsigned long long)count);
        return -1;
    }
    /* count <= 2^32, so the offsets fit any sane length check */
    if ((len - 8) / 8 < count + 1) {
        hg__snap_why(why, n_why, "section %s: too short for %llu offsets", what,
                     (unsigned long long)(count + 1));
        return -1;
    }
    offs = (const uint64_t *)(p + 8);
    if (offs[0] != 0) {
        hg__snap_why(why, n_why, "section %s: first offset is not 0", what);
        return -1;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (offs[i + 1] < offs[i]) {
            hg__snap_why(why, n_why, "section %s: offset %llu decreases", what,
                         (unsigned long long)(i + 1));
            return -1;
        }
    }
    total = 8 + 8 * (count + 1);
    if (offs[count] != len - total) {
        hg__snap_why(why, n_why,
                     "section %s: strings end at %llu, the section holds %llu "
                     "bytes of text",
                     what, (unsigned long long)offs[count],
                     (unsigned long long)(len - total));
        return -1;
    }
    out->count = count;
    out->offsets = offs;
    out->bytes = (const char *)(p + total);
    return 0;
}

/* The optional notes (a pair of sections, or neither) into d. */
static int parse_notes(const hg__snap_entry *nodes, const hg__snap_entry *text,
                       const uint8_t *base, hg_node n, hg_snapfile_data *d,
                       char *why, size_t n_why) {
    if (nodes == NULL && text == NULL) {
        return 0;
    }
    if (nodes == NULL || text == NULL) {
        hg__snap_why(why, n_why, "note sections must come in pairs");
        return -1;
    }
    if (nodes->length % 4 != 0 || nodes->length / 4 > n) {
        hg__snap_why(why, n_why, "section note_nodes: %llu bytes for %u nodes",
                     (unsigned long long)nodes->length, n);
        return -1;
    }
    d->n_notes = (hg_node)(nodes->length / 4);
    d->note_nodes = (const hg_node *)(base + nodes->offset);
    if (!hg__snap_ids_ascending(d->note_nodes, d->n_notes, n)) {
        hg__snap_why(why, n_why, "note node ids out of range or out of order");
        return -1;
    }
    return parse_strtab(base + text->offset, text->length, d->n_notes,
                        &d->notes, "note_text", why, n_why);
}

/* Where section e starts in the file's bytes. */
static const void *at(const uint8_t *base, const hg__snap_entry *e) {
    return base + e->offset;
}

/* Step 1: the fixed header -- magic, byte order, version, sizes, the file
 * size, the header checksum (over the section table too), zero reserved
 * bytes and consistent counts -- into *h. */
static int parse_header(const uint8_t *base, uint64_t len, hg__snap_header *h,
                        char *why, size_t n_why) {
    if (len < 8 || memcmp(base, HG__SNAP_MAGIC, 8) != 0) {
        hg__snap_why(why, n_why, "not an objgraph snapshot file (bad magic)");
        return -1;
    }
    if (len < HG__HEADER_SIZE) {
        hg__snap_why(why, n_why,
                     "truncated: %llu bytes, the header alone needs %u",
                     (unsigned long long)len, HG__HEADER_SIZE);
        return -1;
    }
    memcpy(h, base, sizeof(*h));
    if (h->bom != HG__BOM) {
        hg__snap_why(why, n_why,
                     "written with another byte order (mark 0x%08x, expected "
                     "0x%08x)",
                     h->bom, HG__BOM);
        return -1;
    }
    if (h->version < 1 || h->version > HG_SNAPFILE_VERSION) {
        hg__snap_why(why, n_why,
                     "format version %u; this objgraph reads versions 1 to %u",
                     h->version, HG_SNAPFILE_VERSION);
        return -1;
    }
    if (h->node_size != sizeof(hg_node) || h->edge_size != sizeof(hg_edge) ||
        h->header_size != HG__HEADER_SIZE) {
        hg__snap_why(why, n_why,
                     "unexpected sizes: node %u, edge %u, header %u",
                     h->node_size, h->edge_size, h->header_size);
        return -1;
    }
    if (h->file_size != len) {
        hg__snap_why(why, n_why,
                     "%s: the file has %llu bytes, its header says %llu",
                     len < h->file_size ? "truncated" : "trailing bytes",
                     (unsigned long long)len, (unsigned long long)h->file_size);
        return -1;
    }
    if (h->n_sections > HG__MAX_SECTIONS ||
        HG__HEADER_SIZE + (uint64_t)h->n_sections * HG__ENTRY_SIZE > len) {
        hg__snap_why(why, n_why, "bad section count %u", h->n_sections);
        return -1;
    }
    if (hg__snap_header_checksum(
            h, (const hg__snap_entry *)(base + HG__HEADER_SIZE),
            h->n_sections) != h->checksum) {
        hg__snap_why(why, n_why, "header checksum mismatch (corrupt header)");
        return -1;
    }
    if (h->runtime[HG_SNAPFILE_TEXT - 1] != '\0' ||
        h->producer[HG_SNAPFILE_TEXT - 1] != '\0' || h->reserved0 != 0 ||
        h->flags != 0) {
        hg__snap_why(why, n_why, "bad header text or flags");
        return -1;
    }
    for (size_t i = 0; i < sizeof(h->reserved); i++) {
        if (h->reserved[i] != 0) {
            hg__snap_why(why, n_why, "reserved header bytes are not zero");
            return -1;
        }
    }
    if ((uint64_t)h->n_nodes > HG_MAX_NODES || h->n_tracked > h->n_nodes ||
        h->n_labels > h->n_nodes) {
        hg__snap_why(why, n_why, "bad counts: %u nodes, %u tracked, %u labels",
                     h->n_nodes, h->n_tracked, h->n_labels);
        return -1;
    }
    return 0;
}

/* Step 2: the section table -- every section in place after the previous
 * one, zero padding, known flags, its checksum; no kind twice; every kind
 * the version requires present.  found[kind] gets each known section. */
static int parse_table(const uint8_t *base, uint64_t len,
                       const hg__snap_header *h, const hg__snap_entry **found,
                       char *why, size_t n_why) {
    const hg__snap_entry *table =
        (const hg__snap_entry *)(base + HG__HEADER_SIZE);
    /* section kinds this file's version has */
    uint32_t n_known = h->version == 1 ? SEC_N_KNOWN_V1 : SEC_N_KNOWN;
    uint64_t end;

    end = HG__HEADER_SIZE + (uint64_t)h->n_sections * HG__ENTRY_SIZE;
    for (uint32_t i = 0; i < h->n_sections; i++) {
        const hg__snap_entry *e = &table[i];
        const char *name = kind_name(e->kind);
        if (e->offset != hg__align8(end) || e->offset > len ||
            e->length > len - e->offset) {
            hg__snap_why(
                why, n_why,
                "section %u (%s): offset %llu, length %llu outside the "
                "file or out of place",
                i, name, (unsigned long long)e->offset,
                (unsigned long long)e->length);
            return -1;
        }
        for (uint64_t k = end; k < e->offset; k++) {
            if (base[k] != 0) {
                hg__snap_why(why, n_why, "nonzero padding before section %s",
                             name);
                return -1;
            }
        }
        if ((e->flags & ~HG__SECTION_REQUIRED) != 0) {
            hg__snap_why(why, n_why, "section %s: unknown flags 0x%x", name,
                         e->flags);
            return -1;
        }
        if (hg_snapfile_checksum(base + e->offset, (size_t)e->length, 0) !=
            e->checksum) {
            hg__snap_why(why, n_why,
                         "section %s: checksum mismatch (corrupt data)", name);
            return -1;
        }
        if (e->kind == 0 || e->kind >= n_known) {
            if (e->flags & HG__SECTION_REQUIRED) {
                hg__snap_why(why, n_why,
                             "requires section kind %u, unknown to this reader "
                             "(written by a newer objgraph?)",
                             e->kind);
                return -1;
            }
        } else if (found[e->kind] != NULL) {
            hg__snap_why(why, n_why, "section %s appears twice", name);
            return -1;
        } else {
            found[e->kind] = e;
        }
        end = e->offset + e->length;
    }
    if (end != len) {
        hg__snap_why(why, n_why, "%llu bytes after the last section",
                     (unsigned long long)(len - end));
        return -1;
    }
    for (uint32_t k = 1; k < n_known; k++) {
        int optional = ((k == SEC_LABEL_NODES || k == SEC_LABEL_TEXT) &&
                        h->n_labels == 0) ||
                       k == SEC_EDGE_LABEL_EDGES || k == SEC_EDGE_LABEL_TEXT ||
                       k == SEC_NODE_SIZE_OVER || k == SEC_NOTE_NODES ||
                       k == SEC_NOTE_TEXT;
        if (found[k] == NULL && !optional) {
            hg__snap_why(why, n_why, "section %s is missing", section_names[k]);
            return -1;
        }
    }
    return 0;
}

/* Step 3: the array sections' exact lengths, from the header's counts. */
static int check_lengths(const hg__snap_header *h,
                         const hg__snap_entry *const *found, char *why,
                         size_t n_why) {
    uint64_t n = h->n_nodes, m = h->n_edges;

    const struct {
        uint32_t kind;
        uint64_t count, width;
    } want[] = {
        {SEC_TYPE_ADDR, h->n_types, 8},
        {SEC_TYPE_FLAGS, h->n_types, 4},
        {SEC_NODE_ADDR, n, 8},
        {SEC_NODE_TYPE, n, 4},
        {SEC_NODE_SIZE, n, h->version == 1 ? 8 : 4},
        {SEC_NODE_REFCNT, n, 4},
        {SEC_NODE_FLAGS, n, 1},
        {SEC_FWD_OFFSETS, n + 1, 8},
        {SEC_LABEL_NODES, h->n_labels, 4},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const hg__snap_entry *e = found[want[i].kind];
        if (e != NULL && e->length != want[i].count * want[i].width) {
            hg__snap_why(
                why, n_why, "section %s: %llu bytes, expected %llu x %llu",
                section_names[want[i].kind], (unsigned long long)e->length,
                (unsigned long long)want[i].count,
                (unsigned long long)want[i].width);
            return -1;
        }
    }
    /* m is a free u64: compare without overflowing */
    if (found[SEC_FWD_TARGETS]->length % 4 != 0 ||
        found[SEC_FWD_TARGETS]->length / 4 != m) {
        hg__snap_why(why, n_why,
                     "section fwd_targets: %llu bytes for %llu edges",
                     (unsigned long long)found[SEC_FWD_TARGETS]->length,
                     (unsigned long long)m);
        return -1;
    }
    /* whole (node, size) pairs, at most one per node */
    if (found[SEC_NODE_SIZE_OVER] != NULL) {
        uint64_t bytes = found[SEC_NODE_SIZE_OVER]->length;
        if (bytes % sizeof(hg_size_overflow) != 0 ||
            bytes / sizeof(hg_size_overflow) > n) {
            hg__snap_why(why, n_why,
                         "section node_size_over: %llu bytes for %llu nodes",
                         (unsigned long long)bytes, (unsigned long long)n);
            return -1;
        }
    }
    return 0;
}

/* Step 4: the graph's arrays, in place in the file's bytes (a version 1
 * file's 8-byte sizes kept aside for open_common to convert). */
static void map_graph(hg_snapfile *f, const hg__snap_header *h,
                      const hg__snap_entry *const *found) {
    const uint8_t *base = f->base;
    hg_graph *g = &f->graph;
    uint64_t m = h->n_edges;

    g->n_nodes = h->n_nodes;
    g->n_tracked = h->n_tracked;
    g->n_types = h->n_types;
    g->addr = (uint64_t *)at(base, found[SEC_NODE_ADDR]);
    g->type_id = (uint32_t *)at(base, found[SEC_NODE_TYPE]);
    if (h->version == 1) {
        /* 8-byte sizes: converted by open_common */
        f->sizes_v1 = at(base, found[SEC_NODE_SIZE]);
    } else {
        g->size = (uint32_t *)at(base, found[SEC_NODE_SIZE]);
        if (found[SEC_NODE_SIZE_OVER] != NULL) {
            g->n_size_over = (hg_node)(found[SEC_NODE_SIZE_OVER]->length /
                                       sizeof(hg_size_overflow));
            g->size_over =
                (hg_size_overflow *)at(base, found[SEC_NODE_SIZE_OVER]);
        }
    }
    g->refcnt = (uint32_t *)at(base, found[SEC_NODE_REFCNT]);
    g->flags = (uint8_t *)at(base, found[SEC_NODE_FLAGS]);
    g->fwd.n_nodes = h->n_nodes;
    g->fwd.n_edges = m;
    g->fwd.offsets = (hg_edge *)at(base, found[SEC_FWD_OFFSETS]);
    g->fwd.targets = (hg_node *)at(base, found[SEC_FWD_TARGETS]);
}

/* Step 5: everything a kernel indexes with -- the CSR's invariants, type
 * ids, the size overflow table exact. */
static int check_graph(const hg_graph *g, uint32_t n_types, char *why,
                       size_t n_why) {
    uint64_t n = g->n_nodes, m = g->fwd.n_edges, n_saturated = 0;

    if (g->fwd.offsets[0] != 0 || g->fwd.offsets[n] != m) {
        hg__snap_why(why, n_why,
                     "CSR: offsets run from %llu to %llu, expected 0 to %llu "
                     "edges",
                     (unsigned long long)g->fwd.offsets[0],
                     (unsigned long long)g->fwd.offsets[n],
                     (unsigned long long)m);
        return -1;
    }
    for (uint64_t v = 0; v < n; v++) {
        if (g->fwd.offsets[v + 1] < g->fwd.offsets[v]) {
            hg__snap_why(why, n_why, "CSR: offsets decrease at node %llu",
                         (unsigned long long)v);
            return -1;
        }
    }
    for (uint64_t e = 0; e < m; e++) {
        if (g->fwd.targets[e] >= n) {
            hg__snap_why(why, n_why,
                         "CSR: edge %llu targets node %u >= %llu nodes",
                         (unsigned long long)e, g->fwd.targets[e],
                         (unsigned long long)n);
            return -1;
        }
    }
    for (uint64_t v = 0; v < n; v++) {
        if (g->type_id[v] >= n_types) {
            hg__snap_why(why, n_why, "node %llu has type id %u >= %u types",
                         (unsigned long long)v, g->type_id[v], n_types);
            return -1;
        }
        if (g->size != NULL) {
            n_saturated += g->size[v] == UINT32_MAX;
        }
    }
    /* exactly one overflow entry per saturated size, as the writer makes
     * them: hg_node_size and the kernels then agree on every size */
    if (hg__size_overflow_bad(g->size, n, g->size_over, g->n_size_over) ||
        n_saturated != g->n_size_over) {
        hg__snap_why(why, n_why,
                     "section node_size_over: %u entries for %llu saturated "
                     "sizes, or entries out of order, out of range or below "
                     "2^32 - 1",
                     g->n_size_over, (unsigned long long)n_saturated);
        return -1;
    }
    for (hg_node i = 0; i < g->n_size_over; i++) {
        if (g->size_over[i].reserved != 0) {
            hg__snap_why(why, n_why,
                         "section node_size_over: entry %u: nonzero "
                         "reserved bytes",
                         i);
            return -1;
        }
    }
    return 0;
}

/* Step 6: the string tables and id lists -- type names, node labels, edge
 * labels, notes -- into f->data. */
static int parse_texts(hg_snapfile *f, const hg__snap_header *h,
                       const hg__snap_entry *const *found, char *why,
                       size_t n_why) {
    const uint8_t *base = f->base;
    hg_graph *g = &f->graph;
    hg_snapfile_data *d = &f->data;
    uint64_t n = h->n_nodes, m = h->n_edges;

    d->graph = g;
    d->version = h->version;
    d->n_types = h->n_types;
    d->type_addr = at(base, found[SEC_TYPE_ADDR]);
    d->type_flags = at(base, found[SEC_TYPE_FLAGS]);
    if (parse_strtab(at(base, found[SEC_TYPE_SHORT_NAMES]),
                     found[SEC_TYPE_SHORT_NAMES]->length, h->n_types,
                     &d->short_names, "type_short_names", why, n_why) < 0 ||
        parse_strtab(at(base, found[SEC_TYPE_LONG_NAMES]),
                     found[SEC_TYPE_LONG_NAMES]->length, h->n_types,
                     &d->long_names, "type_long_names", why, n_why) < 0) {
        return -1;
    }
    d->n_labels = h->n_labels;
    if (found[SEC_LABEL_NODES] != NULL && found[SEC_LABEL_TEXT] != NULL) {
        const hg_node *ids = at(base, found[SEC_LABEL_NODES]);
        if (!hg__snap_ids_ascending(ids, h->n_labels, n)) {
            hg__snap_why(why, n_why,
                         "label node ids out of range or out of order");
            return -1;
        }
        d->label_nodes = ids;
        if (parse_strtab(at(base, found[SEC_LABEL_TEXT]),
                         found[SEC_LABEL_TEXT]->length, h->n_labels, &d->labels,
                         "label_text", why, n_why) < 0) {
            return -1;
        }
    } else if (found[SEC_LABEL_NODES] != NULL ||
               found[SEC_LABEL_TEXT] != NULL) {
        hg__snap_why(why, n_why, "label sections must come in pairs");
        return -1;
    }
    if (found[SEC_EDGE_LABEL_EDGES] != NULL &&
        found[SEC_EDGE_LABEL_TEXT] != NULL) {
        const uint64_t *es = at(base, found[SEC_EDGE_LABEL_EDGES]);
        uint64_t ne = found[SEC_EDGE_LABEL_EDGES]->length / 8;
        if (found[SEC_EDGE_LABEL_EDGES]->length % 8 != 0) {
            hg__snap_why(
                why, n_why, "section edge_label_edges: %llu bytes",
                (unsigned long long)found[SEC_EDGE_LABEL_EDGES]->length);
            return -1;
        }
        for (uint64_t i = 0; i < ne; i++) {
            if (es[i] >= m || (i > 0 && es[i] <= es[i - 1])) {
                hg__snap_why(
                    why, n_why,
                    "edge label %llu: reference %llu out of range or out "
                    "of order",
                    (unsigned long long)i, (unsigned long long)es[i]);
                return -1;
            }
        }
        d->n_edge_labels = ne;
        d->edge_label_edges = es;
        if (parse_strtab(at(base, found[SEC_EDGE_LABEL_TEXT]),
                         found[SEC_EDGE_LABEL_TEXT]->length, ne,
                         &d->edge_labels, "edge_label_text", why, n_why) < 0) {
            return -1;
        }
    } else if (found[SEC_EDGE_LABEL_EDGES] != NULL ||
               found[SEC_EDGE_LABEL_TEXT] != NULL) {
        hg__snap_why(why, n_why, "edge label sections must come in pairs");
        return -1;
    }
    if (parse_notes(found[SEC_NOTE_NODES], found[SEC_NOTE_TEXT], base, n, d,
                    why, n_why) < 0) {
        return -1;
    }
    return 0;
}

/* Validate the bytes [f->base, f->base + f->len) and fill f, in the steps
 * above; 0 or -1 with why set. */
static int parse(hg_snapfile *f, char *why, size_t n_why) {
    hg__snap_header h;
    const hg__snap_entry *found[SEC_N_KNOWN] = {NULL};
    hg_snapfile_data *d = &f->data;

    if (parse_header(f->base, f->len, &h, why, n_why) < 0 ||
        parse_table(f->base, f->len, &h, found, why, n_why) < 0 ||
        check_lengths(&h, found, why, n_why) < 0) {
        return -1;
    }
    map_graph(f, &h, found);
    if (check_graph(&f->graph, h.n_types, why, n_why) < 0 ||
        parse_texts(f, &h, found, why, n_why) < 0) {
        return -1;
    }
    d->pause_seconds = h.pause_seconds;
    d->capture_seconds = h.capture_seconds;
    d->created = h.created;
    memcpy(d->runtime, h.runtime, HG_SNAPFILE_TEXT);
    memcpy(d->producer, h.producer, HG_SNAPFILE_TEXT);
    return 0;
}

static hg_status open_common(const uint8_t *base, size_t len, int owner,
                             hg_snapfile **out, char *why, size_t n_why) {
    hg_snapfile *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        hg__snap_why(why, n_why, "out of memory");
        return HG_ENOMEM;
    }
    f->base = base;
    f->len = len;
    f->owner = owner;
    if (parse(f, why, n_why) < 0) {
        free(f); /* the caller releases base */
        return HG_EFORMAT;
    }
    if (f->sizes_v1 != NULL) {
        /* a version 1 file: its validated 8-byte sizes, packed as version 2
         * stores them, into arrays f owns */
        hg_graph *g = &f->graph;
        hg_status st = HG_ENOMEM;
        g->size = hg_alloc((size_t)g->n_nodes * sizeof(uint32_t));
        if (g->size != NULL || g->n_nodes == 0) {
            st = hg_size_pack(f->sizes_v1, g->n_nodes, g->size, &g->size_over,
                              &g->n_size_over);
        }
        if (st != HG_OK) {
            hg_free(g->size, (size_t)g->n_nodes * sizeof(uint32_t));
            hg__snap_why(why, n_why, "out of memory");
            free(f); /* the caller releases base */
            return st;
        }
    }
    *out = f;
    return HG_OK;
}

hg_status hg_snapfile_open_mem(const void *data, size_t len, hg_snapfile **out,
                               char *why, size_t n_why) {
    hg__snap_why(why, n_why, "no error");
    if (out == NULL || (data == NULL && len > 0)) {
        hg__snap_why(why, n_why, "NULL argument");
        return HG_EINVAL;
    }
    *out = NULL;
    if (((uintptr_t)data & 7) != 0) {
        hg__snap_why(why, n_why, "the buffer must be aligned to 8 bytes");
        return HG_EINVAL;
    }
    return open_common(data, len, HG__OWN_CALLER, out, why, n_why);
}

/* Open path for reading and check that it can be a snapshot file: a
 * regular file (O_NONBLOCK: a FIFO or device must not block the open) of
 * at least a header's size.  On HG_OK *fd is open and *len its size; else
 * *fd is -1 and why names the cause (a file too short gets the reason its
 * first bytes give). */
static hg_status open_regular(const char *path, int *fd, size_t *len, char *why,
                              size_t n_why) {
    struct stat sb;
    int d = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    hg_status st = HG_EIO;

    *fd = -1;
    *len = 0;
    if (d < 0) {
        hg__snap_why(why, n_why, "%s", strerror(errno));
        return HG_EIO;
    }
    if (fstat(d, &sb) < 0) {
        hg__snap_why(why, n_why, "%s", strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(sb.st_mode)) {
        hg__snap_why(why, n_why, "is a directory, not a snapshot file");
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        hg__snap_why(why, n_why, "not a regular file");
        goto cleanup;
    }
    if (sb.st_size < (off_t)HG__HEADER_SIZE) {
        /* too small to be one: read the head for the right reason */
        uint8_t head[8] = {0};
        ssize_t r = pread(d, head, sizeof(head), 0);
        if (r < 8 || memcmp(head, HG__SNAP_MAGIC, 8) != 0) {
            hg__snap_why(why, n_why,
                         sb.st_size == 0
                             ? "empty file"
                             : "not an objgraph snapshot file (bad magic)");
        } else {
            hg__snap_why(why, n_why,
                         "truncated: %lld bytes, the header alone needs %u",
                         (long long)sb.st_size, HG__HEADER_SIZE);
        }
        st = HG_EFORMAT;
        goto cleanup;
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX / 2) {
        hg__snap_why(why, n_why, "file too large for this machine's memory");
        goto cleanup;
    }
    *fd = d;
    *len = (size_t)sb.st_size;
    return HG_OK;
cleanup:
    close(d);
    return st;
}

/* Read the len bytes of fd into a buffer of its own (hg_alloc, len rounded
 * up to 8 with zero bytes; hg_alloc's blocks are aligned for any type, so
 * to 8 at least, as the arrays need).  A file that another program
 * shrinks or extends while it is read -- truncated, or rewritten in place
 * the way cp(1) does -- gives HG_EIO naming that; one rewritten in place
 * with the same size gives torn contents, which the checksums reject. */
static hg_status read_file(int fd, size_t len, uint8_t **out, char *why,
                           size_t n_why) {
    size_t cap = (size_t)hg__align8(len), got = 0;
    uint8_t *buf = hg_alloc(cap);
    uint8_t extra;
    ssize_t r;

    *out = NULL;
    if (buf == NULL) {
        hg__snap_why(why, n_why, "out of memory reading %zu bytes", len);
        return HG_ENOMEM;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advice only */
#endif
    while (got < len) {
        size_t chunk = len - got > HG__READ_CHUNK ? HG__READ_CHUNK : len - got;
        r = pread(fd, buf + got, chunk, (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            hg__snap_why(why, n_why, "cannot read the file: %s",
                         strerror(errno));
            goto fail;
        }
        if (r == 0) {
            hg__snap_why(why, n_why,
                         "the file shrank from %zu to %zu bytes while it was "
                         "read (is another program rewriting it?)",
                         len, got);
            goto fail;
        }
        got += (size_t)r;
    }
    do {
        r = pread(fd, &extra, 1, (off_t)len);
    } while (r < 0 && errno == EINTR);
    if (r != 0) {
        hg__snap_why(why, n_why,
                     r > 0
                         ? "the file grew past %zu bytes while it was read (is "
                           "another program rewriting it?)"
                         : "cannot read the file past %zu bytes",
                     len);
        goto fail;
    }
    memset(buf + len, 0, cap - len);
    *out = buf;
    return HG_OK;
fail:
    hg_free(buf, cap);
    return HG_EIO;
}

/* hg_snapfile_open (read) and hg_snapfile_map (map) */
static hg_status open_path(const char *path, int map, hg_snapfile **out,
                           char *why, size_t n_why) {
    uint8_t *buf = NULL;
    void *base;
    size_t len;
    int fd;
    hg_status st;

    hg__snap_why(why, n_why, "no error");
    if (path == NULL || out == NULL) {
        hg__snap_why(why, n_why, "NULL argument");
        return HG_EINVAL;
    }
    *out = NULL;
    st = open_regular(path, &fd, &len, why, n_why);
    if (st != HG_OK) {
        return st;
    }
    if (!map) {
        st = read_file(fd, len, &buf, why, n_why);
        close(fd);
        if (st != HG_OK) {
            return st;
        }
        st = open_common(buf, len, HG__OWN_BUFFER, out, why, n_why);
        if (st != HG_OK) {
            hg_free(buf, (size_t)hg__align8(len));
        }
        return st;
    }
    {
        int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
        flags |= MAP_POPULATE; /* validation reads every page anyway */
#endif
        base = mmap(NULL, len, PROT_READ, flags, fd, 0);
    }
    close(fd);
    if (base == MAP_FAILED) {
        hg__snap_why(why, n_why, "cannot map the file: %s", strerror(errno));
        return errno == ENOMEM ? HG_ENOMEM : HG_EIO;
    }
    st = open_common(base, len, HG__OWN_MAPPING, out, why, n_why);
    if (st != HG_OK) {
        munmap(base, len);
    }
    return st;
}

hg_status hg_snapfile_open(const char *path, hg_snapfile **out, char *why,
                           size_t n_why) {
    return open_path(path, 0, out, why, n_why);
}

hg_status hg_snapfile_map(const char *path, hg_snapfile **out, char *why,
                          size_t n_why) {
    return open_path(path, 1, out, why, n_why);
}

void hg_snapfile_close(hg_snapfile *f) {
    if (f == NULL) {
        return;
    }
    hg_csr_destroy(&f->graph.rev);
    if (f->sizes_v1 != NULL) { /* converted sizes, owned */
        hg_free(f->graph.size, (size_t)f->graph.n_nodes * sizeof(uint32_t));
        hg_free(f->graph.size_over,
                (size_t)f->graph.n_size_over * sizeof(hg_size_overflow));
    }
    if (f->owner == HG__OWN_MAPPING) {
        munmap((void *)(uintptr_t)f->base, f->len);
    } else if (f->owner == HG__OWN_BUFFER) {
        hg_free((void *)(uintptr_t)f->base, (size_t)hg__align8(f->len));
    }
    free(f);
}

hg_graph *hg_snapfile_graph(hg_snapfile *f) {
    return f != NULL ? &f->graph : NULL;
}

const hg_snapfile_data *hg_snapfile_contents(const hg_snapfile *f) {
    return f != NULL ? &f->data : NULL;
}

uint64_t hg_snapfile_nbytes(const hg_snapfile *f) {
    uint64_t n;
    if (f == NULL) {
        return 0;
    }
    n = f->owner == HG__OWN_BUFFER ? hg__align8(f->len) : (uint64_t)f->len;
    if (f->sizes_v1 != NULL) { /* the converted sizes, owned */
        n += (uint64_t)f->graph.n_nodes * sizeof(uint32_t) +
             (uint64_t)f->graph.n_size_over * sizeof(hg_size_overflow);
    }
    return n;
}

uint64_t hg_snapfile_size(const hg_snapfile *f) {
    return f != NULL ? (uint64_t)f->len : 0;
}

int hg_snapfile_is_mapped(const hg_snapfile *f) {
    return f != NULL && f->owner == HG__OWN_MAPPING;
}
