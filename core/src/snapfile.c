/*
 * snapfile.c -- snapshot files: write a frozen graph to disk, read it back.
 *
 * A snapshot file holds everything a detached snapshot knows: the type
 * table (addresses, flags, short and long names), the node table (address,
 * type, shallow size, reference count, flags), the forward CSR, optional
 * short labels of nodes (module, class and function names), and the
 * capture's figures (pause, capture time, runtime and producer texts).  The
 * reverse CSR and every other derived array are rebuilt on demand.  The
 * layout (docs/snapshot-format.rst has the full table):
 *
 *   [0, 256)           header: magic "\x89HGS\r\n\x1a\n", format version,
 *                      byte-order mark, id sizes, counts, figures, and a
 *                      header checksum covering the header and the table
 *   [256, 256 + 32 s)  section table: s entries (kind, flags, offset,
 *                      length, checksum), in file order
 *   then the sections  each at an offset aligned to 8 bytes, right after
 *                      the previous one; padding bytes are zero
 *
 * Arrays are stored in the writer's byte order (the byte-order mark rejects
 * foreign files) and aligned, so the reader uses them in place in the bytes
 * it read (or mapped): opening costs one read and one validating pass over
 * the bytes, no conversion.  Checksums are XXH64 (Yann Collet's xxHash,
 * 64-bit variant, seed 0) of each section; the header checksum is XXH64 of
 * header bytes [0, 248) seeded with XXH64 of the section table.  Every byte
 * of a valid file is covered by a checksum, the zero-padding rule or the
 * recorded file size, so any corruption is detected (short of a 2^-64 hash
 * collision).
 *
 * Writer: a temporary file "<path>.tmp-XXXXXXXX" in the same directory,
 * written, fsync()ed, then renamed over path (and the directory fsync()ed):
 * readers see the old file or the new one, never a mix, even if the writer
 * is killed.  On any error the temporary file is removed.
 *
 * Reader: validates everything before anything is used -- sizes, offsets
 * within the file, checksums, CSR invariants (offsets[0] == 0, non-
 * decreasing, offsets[n] == n_edges, targets < n), type ids < n_types,
 * the size overflow table, string tables, label ids -- and reports the
 * first violation as HG_EFORMAT with a reason.  No input makes it read out
 * of bounds.
 *
 * Where the bytes live: hg_snapfile_open reads the file with pread() into
 * a buffer the snapshot owns (hg_alloc, so counted), then validates that
 * copy: nothing another program does to the file afterwards -- truncate
 * it, rewrite it in place -- can reach an open snapshot, and a file
 * changed while it is read is refused (its size no longer matches, or the
 * checksums catch the torn contents).  A load either gives one consistent
 * version of the file or an error; never a signal.  hg_snapfile_map, the
 * opt-in, maps the file instead (MAP_PRIVATE, populated): no copy and
 * pages the kernel may drop, but a file truncated while mapped raises
 * SIGBUS on the next access and one rewritten in place changes the
 * validated arrays under the kernels (out-of-range ids: SIGSEGV).  Files
 * written here replace their path by rename, which leaves open mappings
 * intact; only other writers (cp, truncate, an editor) are a danger.
 *
 * Versions: 3 (written) has the layout of version 2; only the meaning of
 * the edge labels differs (version 3: the whole text a retention path
 * prints for the reference's source, "Holder.cache", "dict[int]";
 * version 2: the repr of a dict's str key), which the reader reports
 * (d->version) and leaves to its caller.  2 stores node sizes in 4 bytes,
 * saturated at
 * UINT32_MAX, plus a node_size_over section of (node, size) pairs for the
 * sizes of 4 GiB or more, absent when there are none -- the graph's own
 * layout, so both are used in place.  Version 1 (the previous release)
 * stored 8 bytes per size and has no overflow section; it still loads, its
 * sizes converted on open into arrays the snapshot owns (hg_size_pack).
 *
 * Scale: one pass over the data for each of write (hash + write) and open
 * (hash + checks); about 29 bytes per node + 4 per edge on disk.
 */
#define _GNU_SOURCE /* MAP_POPULATE */
#include "hg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the format ---------------------------------------------------------- */

static const uint8_t MAGIC[8] = {0x89, 'H', 'G', 'S', '\r', '\n', 0x1a, '\n'};

#define HG__BOM 0x01020304u
#define HG__HEADER_SIZE 256u
#define HG__HEADER_SUM_AT 248u
#define HG__ENTRY_SIZE 32u
#define HG__MAX_SECTIONS 64u
#define HG__SECTION_REQUIRED 1u
#define HG__READ_CHUNK ((size_t)1 << 30) /* bytes per pread() call */

enum section_kind {
    SEC_TYPE_ADDR = 1,
    SEC_TYPE_FLAGS = 2,
    SEC_TYPE_SHORT_NAMES = 3,
    SEC_TYPE_LONG_NAMES = 4,
    SEC_NODE_ADDR = 5,
    SEC_NODE_TYPE = 6,
    SEC_NODE_SIZE = 7,
    SEC_NODE_REFCNT = 8,
    SEC_NODE_FLAGS = 9,
    SEC_FWD_OFFSETS = 10,
    SEC_FWD_TARGETS = 11,
    SEC_LABEL_NODES = 12,
    SEC_LABEL_TEXT = 13,
    SEC_EDGE_LABEL_EDGES = 14, /* optional: dict keys of references */
    SEC_EDGE_LABEL_TEXT = 15,
    SEC_NODE_SIZE_OVER = 16, /* version 2; only when a size >= UINT32_MAX */
    SEC_NOTE_NODES = 17,     /* optional: notes on nodes (root names) */
    SEC_NOTE_TEXT = 18,
    SEC_N_KNOWN = 19,
};

/* Kinds a version 1 file may hold: version 1 readers knew 1..15, and
 * treated any other kind as unknown. */
#define SEC_N_KNOWN_V1 SEC_NODE_SIZE_OVER

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

/* The fixed header, as stored (native byte order, no implicit padding). */
typedef struct header {
    uint8_t magic[8];
    uint32_t version;
    uint32_t bom;
    uint8_t node_size, edge_size;
    uint16_t reserved0;
    uint32_t header_size;
    uint64_t file_size;
    uint32_t n_sections;
    uint32_t n_nodes;
    uint32_t n_tracked;
    uint32_t n_types;
    uint64_t n_edges;
    uint32_t n_labels;
    uint32_t flags;
    double pause_seconds;
    double capture_seconds;
    double created;
    char runtime[HG_SNAPFILE_TEXT];
    char producer[HG_SNAPFILE_TEXT];
    uint8_t reserved[64];
    uint64_t checksum;
} header;

typedef struct entry {
    uint32_t kind;
    uint32_t flags;
    uint64_t offset;
    uint64_t length;
    uint64_t checksum;
} entry;

_Static_assert(sizeof(header) == HG__HEADER_SIZE, "header layout");
_Static_assert(offsetof(header, checksum) == HG__HEADER_SUM_AT, "checksum");
_Static_assert(sizeof(entry) == HG__ENTRY_SIZE, "entry layout");
_Static_assert(sizeof(hg_size_overflow) == 16 &&
                   offsetof(hg_size_overflow, size) == 8,
               "size overflow pairs are stored as they are in memory");

/* ---- XXH64 ----------------------------------------------------------------
 * xxHash's 64-bit variant (github.com/Cyan4973/xxHash, XXH64 spec):
 * 4 lanes of multiply-rotate over 32-byte stripes, then the tail and an
 * avalanche.  Reads are little-endian, so the value is the reference one.
 */
#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t read_le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t read_le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t in) {
    acc += in * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t v) {
    acc ^= xxh_round(0, v);
    return acc * P1 + P4;
}

uint64_t hg_snapfile_checksum(const void *data, size_t len, uint64_t seed) {
    static const uint8_t empty[1];
    const uint8_t *p = data != NULL ? data : empty, *end = p + len;
    uint64_t h;

    if (len >= 32) {
        const uint8_t *limit = end - 32;
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        do {
            v1 = xxh_round(v1, read_le64(p));
            v2 = xxh_round(v2, read_le64(p + 8));
            v3 = xxh_round(v3, read_le64(p + 16));
            v4 = xxh_round(v4, read_le64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh_merge(h, v1);
        h = xxh_merge(h, v2);
        h = xxh_merge(h, v3);
        h = xxh_merge(h, v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)len;
    while (end - p >= 8) {
        h ^= xxh_round(0, read_le64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= (uint64_t)read_le32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p) * P5;
        h = rotl64(h, 11) * P1;
        p++;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* ---- helpers ------------------------------------------------------------- */

static void set_why(char *why, size_t n_why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t n_why, const char *fmt, ...) {
    va_list ap;
    if (why == NULL || n_why == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, n_why, fmt, ap);
    va_end(ap);
}

static uint64_t align8(uint64_t x) {
    return (x + 7) & ~(uint64_t)7;
}

static uint64_t header_checksum(const header *h, const entry *table,
                                uint32_t n_sections) {
    uint64_t seed =
        hg_snapfile_checksum(table, (size_t)n_sections * HG__ENTRY_SIZE, 0);
    return hg_snapfile_checksum(h, HG__HEADER_SUM_AT, seed);
}

static size_t strtab_bytes(const hg_strtab *s) {
    return 8 + 8 * ((size_t)s->count + 1) +
           (size_t)(s->count > 0 ? s->offsets[s->count] : 0);
}

/* ---- writing ------------------------------------------------------------- */

/* One section to write: a contiguous buffer (owned ones are freed), or a
 * string table packed into one before writing. */
typedef struct wsection {
    uint32_t kind;
    const void *data;
    uint64_t length;
    const hg_strtab *strtab; /* to pack into owned, or NULL */
    void *owned;
} wsection;

/* A string table packed as stored: count, count+1 offsets, bytes. */
static hg_status pack_strtab(const hg_strtab *s, wsection *out) {
    size_t n = strtab_bytes(s);
    uint8_t *buf = malloc(n);
    uint64_t count = s->count, zero = 0;

    if (buf == NULL) {
        return HG_ENOMEM;
    }
    memcpy(buf, &count, 8);
    if (count > 0) {
        memcpy(buf + 8, s->offsets, 8 * ((size_t)count + 1));
        memcpy(buf + 8 + 8 * ((size_t)count + 1), s->bytes,
               (size_t)s->offsets[count]);
    } else {
        memcpy(buf + 8, &zero, 8);
    }
    out->data = out->owned = buf;
    out->length = n;
    return HG_OK;
}

static int strtab_ok(const hg_strtab *s, uint64_t count) {
    if (s->count != count) {
        return 0;
    }
    if (count == 0) {
        return 1;
    }
    if (s->offsets == NULL || s->offsets[0] != 0 ||
        (s->bytes == NULL && s->offsets[count] > 0)) {
        return 0;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (s->offsets[i + 1] < s->offsets[i]) {
            return 0;
        }
    }
    return 1;
}

/* Whether the count node ids are strictly ascending and < n. */
static int ids_ascending(const hg_node *ids, uint64_t count, hg_node n) {
    for (uint64_t i = 0; i < count; i++) {
        if (ids[i] >= n || (i > 0 && ids[i] <= ids[i - 1])) {
            return 0;
        }
    }
    return 1;
}

static hg_status check_data(const hg_snapfile_data *d, char *why,
                            size_t n_why) {
    const hg_graph *g = d->graph;
    hg_node n, n_saturated = 0;

    if (g == NULL || (g->n_nodes > 0 && g->fwd.offsets == NULL) ||
        g->fwd.n_nodes != g->n_nodes || g->n_tracked > g->n_nodes) {
        set_why(why, n_why, "the graph is missing or has no forward CSR");
        return HG_EINVAL;
    }
    n = g->n_nodes;
    if (n > 0 &&
        (g->addr == NULL || g->type_id == NULL || g->size == NULL ||
         g->refcnt == NULL || g->flags == NULL || g->fwd.offsets[0] != 0 ||
         g->fwd.offsets[n] != g->fwd.n_edges ||
         (g->fwd.n_edges > 0 && g->fwd.targets == NULL))) {
        set_why(why, n_why, "the node table or the forward CSR is invalid");
        return HG_EINVAL;
    }
    if (d->n_types > 0 && (d->type_addr == NULL || d->type_flags == NULL)) {
        set_why(why, n_why, "the type table is missing");
        return HG_EINVAL;
    }
    for (hg_node v = 0; v < n; v++) {
        if (g->type_id[v] >= d->n_types) {
            set_why(why, n_why, "node %u has type id %u >= %u types", v,
                    g->type_id[v], d->n_types);
            return HG_EINVAL;
        }
        n_saturated += g->size[v] == UINT32_MAX;
    }
    /* a file's table is exact: one entry per saturated size */
    if (hg__size_overflow_bad(g->size, n, g->size_over, g->n_size_over) ||
        n_saturated != g->n_size_over) {
        set_why(why, n_why, "the size overflow table is invalid");
        return HG_EINVAL;
    }
    for (hg_node i = 0; i < g->n_size_over; i++) {
        if (g->size_over[i].reserved != 0) {
            set_why(why, n_why, "size overflow entry %u: reserved bytes", i);
            return HG_EINVAL;
        }
    }
    if (!strtab_ok(&d->short_names, d->n_types) ||
        !strtab_ok(&d->long_names, d->n_types) ||
        !strtab_ok(&d->labels, d->n_labels)) {
        set_why(why, n_why, "a string table is invalid");
        return HG_EINVAL;
    }
    if (d->n_labels > 0 && d->label_nodes == NULL) {
        set_why(why, n_why, "labels without node ids");
        return HG_EINVAL;
    }
    if (!ids_ascending(d->label_nodes, d->n_labels, n)) {
        set_why(why, n_why, "label node ids must be ascending and < %u", n);
        return HG_EINVAL;
    }
    if (!strtab_ok(&d->notes, d->n_notes) ||
        (d->n_notes > 0 && d->note_nodes == NULL) ||
        !ids_ascending(d->note_nodes, d->n_notes, n)) {
        set_why(why, n_why,
                "invalid notes: node ids must be ascending and < %u", n);
        return HG_EINVAL;
    }
    if (!strtab_ok(&d->edge_labels, d->n_edge_labels) ||
        (d->n_edge_labels > 0 && d->edge_label_edges == NULL)) {
        set_why(why, n_why, "invalid edge labels");
        return HG_EINVAL;
    }
    for (uint64_t i = 0; i < d->n_edge_labels; i++) {
        if (d->edge_label_edges[i] >= g->fwd.n_edges ||
            (i > 0 && d->edge_label_edges[i] <= d->edge_label_edges[i - 1])) {
            set_why(why, n_why,
                    "edge label indices must be ascending and < %llu",
                    (unsigned long long)g->fwd.n_edges);
            return HG_EINVAL;
        }
    }
    return HG_OK;
}

/* write() all of it, across EINTR and short writes; 0 or -1 (errno). */
static int write_all(int fd, const void *buf, uint64_t n) {
    const char *p = buf;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)n;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (uint64_t)w;
    }
    return 0;
}

/* Open a fresh "<path>.tmp-XXXXXXXX" (O_EXCL, mode 0666 less the umask).
 * *tmp receives the malloc()ed name.  -1 with errno on failure. */
static int open_temp(const char *path, char **tmp) {
    static uint64_t counter; /* atomic */
    size_t n = strlen(path) + 16;
    char *name = malloc(n);

    *tmp = NULL;
    if (name == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t x = (uint64_t)getpid() * P1 ^ (uint64_t)time(NULL) * P2 ^
                     (hg__atomic_fetch_add_u64(&counter, 1) + 1) * P3 ^
                     (uint64_t)(uintptr_t)&attempt;
        int fd;
        x ^= x >> 31;
        x *= P4;
        x ^= x >> 29;
        snprintf(name, n, "%s.tmp-%08x", path, (unsigned)(x & 0xffffffffu));
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    free(name);
    return -1;
}

/* fsync the directory holding path, so the rename itself is durable.
 * Best effort: some file systems refuse directory fsync. */
static void sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    if (slash == NULL) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        dir = strndup(path, (size_t)(slash - path));
    }
    if (dir == NULL) {
        return;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* What a path names, for a message: "a character device", ... */
static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISCHR(mode)) {
        return "a character device";
    }
    if (S_ISBLK(mode)) {
        return "a block device";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO (named pipe)";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    return "not a regular file";
}

/* The file a save replaces: *target (malloc()ed) receives path itself when
 * path names a regular file or nothing yet, and the file a symbolic link
 * leads to when path is a link to a regular file (the link is kept and
 * its target replaced).  Anything else -- a device, FIFO, socket or
 * directory, a link to one, a dangling link -- is refused with HG_EIO
 * naming it: the rename would replace the node itself (a save to
 * /dev/null, as root, would replace /dev/null).  A check, not a lock: a
 * path another program changes between it and the rename is replaced as
 * it is then, as by any rename. */
static hg_status save_target(const char *path, char **target, char *why,
                             size_t n_why) {
    struct stat sb, lsb;
    int link = lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode);
    const char *what = link ? "a symbolic link to " : "";

    *target = NULL;
    if (stat(path, &sb) < 0) {
        if (errno != ENOENT) {
            set_why(why, n_why, "cannot save to '%s': %s", path,
                    strerror(errno));
            return HG_EIO;
        }
        if (link) {
            set_why(why, n_why,
                    "it is a symbolic link to a missing file; refusing to "
                    "replace it");
            return HG_EIO;
        }
        *target = strdup(path); /* a new file */
    } else if (!S_ISREG(sb.st_mode)) {
        set_why(why, n_why,
                "it is %s%s, not a regular file; refusing to replace it", what,
                file_kind(sb.st_mode));
        return HG_EIO;
    } else if (link) {
        *target = realpath(path, NULL);
        if (*target == NULL && errno != ENOMEM) {
            set_why(why, n_why, "cannot resolve the symbolic link '%s': %s",
                    path, strerror(errno));
            return HG_EIO;
        }
    } else {
        *target = strdup(path);
    }
    if (*target == NULL) {
        set_why(why, n_why, "out of memory");
        return HG_ENOMEM;
    }
    return HG_OK;
}

hg_status hg_snapfile_write(const char *path, const hg_snapfile_data *d,
                            char *why, size_t n_why) {
    const hg_graph *g;
    wsection sec[SEC_N_KNOWN - 1];
    entry table[SEC_N_KNOWN - 1];
    header h;
    uint32_t ns = 0; /* sections in the file */
    uint64_t off, n, nt;
    static const uint8_t zeros[8];
    char *tmp = NULL;
    char *target = NULL; /* the file replaced: path, or its link's target */
    int fd = -1;
    hg_status st;

    set_why(why, n_why, "no error");
    memset(sec, 0, sizeof(sec));
    if (path == NULL || path[0] == '\0' || d == NULL) {
        set_why(why, n_why, "no path or no data");
        return HG_EINVAL;
    }
    st = check_data(d, why, n_why);
    if (st != HG_OK) {
        return st;
    }
    st = save_target(path, &target, why, n_why);
    if (st != HG_OK) {
        return st;
    }
    g = d->graph;
    n = g->n_nodes;
    nt = d->n_types;

    /* ---- the sections, in file order; the optional ones when needed ---- */
    sec[ns++] = (wsection){
        .kind = SEC_TYPE_ADDR, .data = d->type_addr, .length = nt * 8};
    sec[ns++] = (wsection){
        .kind = SEC_TYPE_FLAGS, .data = d->type_flags, .length = nt * 4};
    sec[ns++] =
        (wsection){.kind = SEC_TYPE_SHORT_NAMES, .strtab = &d->short_names};
    sec[ns++] =
        (wsection){.kind = SEC_TYPE_LONG_NAMES, .strtab = &d->long_names};
    sec[ns++] =
        (wsection){.kind = SEC_NODE_ADDR, .data = g->addr, .length = n * 8};
    sec[ns++] =
        (wsection){.kind = SEC_NODE_TYPE, .data = g->type_id, .length = n * 4};
    sec[ns++] =
        (wsection){.kind = SEC_NODE_SIZE, .data = g->size, .length = n * 4};
    if (g->n_size_over > 0) {
        sec[ns++] = (wsection){.kind = SEC_NODE_SIZE_OVER,
                               .data = g->size_over,
                               .length = (uint64_t)g->n_size_over *
                                         sizeof(hg_size_overflow)};
    }
    sec[ns++] =
        (wsection){.kind = SEC_NODE_REFCNT, .data = g->refcnt, .length = n * 4};
    sec[ns++] =
        (wsection){.kind = SEC_NODE_FLAGS, .data = g->flags, .length = n};
    sec[ns++] = (wsection){
        .kind = SEC_FWD_OFFSETS, .data = g->fwd.offsets, .length = (n + 1) * 8};
    if (n == 0) {
        static const uint64_t zero_offset = 0;
        sec[ns - 1].data = &zero_offset;
    }
    sec[ns++] = (wsection){.kind = SEC_FWD_TARGETS,
                           .data = g->fwd.targets,
                           .length = g->fwd.n_edges * 4};
    sec[ns++] = (wsection){.kind = SEC_LABEL_NODES,
                           .data = d->label_nodes,
                           .length = (uint64_t)d->n_labels * 4};
    sec[ns++] = (wsection){.kind = SEC_LABEL_TEXT, .strtab = &d->labels};
    if (d->n_edge_labels > 0) {
        sec[ns++] = (wsection){.kind = SEC_EDGE_LABEL_EDGES,
                               .data = d->edge_label_edges,
                               .length = d->n_edge_labels * 8};
        sec[ns++] =
            (wsection){.kind = SEC_EDGE_LABEL_TEXT, .strtab = &d->edge_labels};
    }
    if (d->n_notes > 0) {
        sec[ns++] = (wsection){.kind = SEC_NOTE_NODES,
                               .data = d->note_nodes,
                               .length = (uint64_t)d->n_notes * 4};
        sec[ns++] = (wsection){.kind = SEC_NOTE_TEXT, .strtab = &d->notes};
    }
    for (uint32_t i = 0; i < ns; i++) {
        if (sec[i].strtab != NULL &&
            pack_strtab(sec[i].strtab, &sec[i]) != HG_OK) {
            set_why(why, n_why, "out of memory");
            st = HG_ENOMEM;
            goto cleanup;
        }
    }

    /* ---- header and table ---- */
    memset(&h, 0, sizeof(h));
    memset(table, 0, sizeof(table));
    memcpy(h.magic, MAGIC, 8);
    h.version = HG_SNAPFILE_VERSION;
    h.bom = HG__BOM;
    h.node_size = sizeof(hg_node);
    h.edge_size = sizeof(hg_edge);
    h.header_size = HG__HEADER_SIZE;
    h.n_sections = ns;
    h.n_nodes = g->n_nodes;
    h.n_tracked = g->n_tracked;
    h.n_types = d->n_types;
    h.n_edges = g->fwd.n_edges;
    h.n_labels = d->n_labels;
    h.pause_seconds = d->pause_seconds;
    h.capture_seconds = d->capture_seconds;
    h.created = d->created;
    memcpy(h.runtime, d->runtime, HG_SNAPFILE_TEXT - 1);
    memcpy(h.producer, d->producer, HG_SNAPFILE_TEXT - 1);
    off = HG__HEADER_SIZE + (uint64_t)ns * HG__ENTRY_SIZE;
    for (uint32_t i = 0; i < ns; i++) {
        off = align8(off);
        table[i].kind = sec[i].kind;
        /* edge labels and notes are optional: a reader may skip them */
        table[i].flags = sec[i].kind == SEC_EDGE_LABEL_EDGES ||
                                 sec[i].kind == SEC_EDGE_LABEL_TEXT ||
                                 sec[i].kind == SEC_NOTE_NODES ||
                                 sec[i].kind == SEC_NOTE_TEXT
                             ? 0
                             : HG__SECTION_REQUIRED;
        table[i].offset = off;
        table[i].length = sec[i].length;
        table[i].checksum =
            hg_snapfile_checksum(sec[i].data, (size_t)sec[i].length, 0);
        off += sec[i].length;
    }
    h.file_size = off;
    h.checksum = header_checksum(&h, table, ns);

    /* ---- the temporary file, then rename ---- */
    fd = open_temp(target, &tmp);
    if (fd < 0) {
        set_why(why, n_why, "cannot create a temporary file beside '%s': %s",
                target, strerror(errno));
        st = HG_EIO;
        goto cleanup;
    }
    if (write_all(fd, &h, sizeof(h)) < 0 ||
        write_all(fd, table, (uint64_t)ns * HG__ENTRY_SIZE) < 0) {
        goto io_error;
    }
    off = HG__HEADER_SIZE + (uint64_t)ns * HG__ENTRY_SIZE;
    for (uint32_t i = 0; i < ns; i++) {
        if (write_all(fd, zeros, table[i].offset - off) < 0 ||
            write_all(fd, sec[i].data, sec[i].length) < 0) {
            goto io_error;
        }
        off = table[i].offset + sec[i].length;
    }
    if (fsync(fd) < 0) {
        goto io_error;
    }
    if (close(fd) < 0) {
        fd = -1;
        goto io_error;
    }
    fd = -1;
    if (rename(tmp, target) < 0) {
        set_why(why, n_why, "cannot rename the temporary file to '%s': %s",
                target, strerror(errno));
        st = HG_EIO;
        goto cleanup;
    }
    free(tmp);
    tmp = NULL;
    sync_dir(target);
    st = HG_OK;
    goto cleanup;

io_error:
    set_why(why, n_why, "writing '%s': %s", tmp, strerror(errno));
    st = HG_EIO;
cleanup:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp != NULL) {
        (void)unlink(tmp);
        free(tmp);
    }
    for (uint32_t i = 0; i < SEC_N_KNOWN - 1; i++) {
        free(sec[i].owned);
    }
    free(target);
    return st;
}

/* ---- reading ------------------------------------------------------------- */

/* Who owns hg_snapfile.base, and so how close() gives it back. */
enum {
    HG__OWN_CALLER = 0,  /* hg_snapfile_open_mem: the caller's buffer */
    HG__OWN_BUFFER = 1,  /* hg_snapfile_open: hg_alloc(align8(len)) */
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
        set_why(why, n_why, "section %s: %llu bytes, too short", what,
                (unsigned long long)len);
        return -1;
    }
    memcpy(&stored, p, 8);
    if (stored != count) {
        set_why(why, n_why, "section %s: %llu strings, expected %llu", what,
                (unsigned long long)stored, (unsigned long long)count);
        return -1;
    }
    /* count <= 2^32, so the offsets fit any sane length check */
    if ((len - 8) / 8 < count + 1) {
        set_why(why, n_why, "section %s: too short for %llu offsets", what,
                (unsigned long long)(count + 1));
        return -1;
    }
    offs = (const uint64_t *)(p + 8);
    if (offs[0] != 0) {
        set_why(why, n_why, "section %s: first offset is not 0", what);
        return -1;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (offs[i + 1] < offs[i]) {
            set_why(why, n_why, "section %s: offset %llu decreases", what,
                    (unsigned long long)(i + 1));
            return -1;
        }
    }
    total = 8 + 8 * (count + 1);
    if (offs[count] != len - total) {
        set_why(why, n_why,
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

/* Validate the bytes [base, base + len) and fill f; 0 or -1 with why set. */
/* The optional notes (a pair of sections, or neither) into d. */
static int parse_notes(const entry *nodes, const entry *text,
                       const uint8_t *base, hg_node n, hg_snapfile_data *d,
                       char *why, size_t n_why) {
    if (nodes == NULL && text == NULL) {
        return 0;
    }
    if (nodes == NULL || text == NULL) {
        set_why(why, n_why, "note sections must come in pairs");
        return -1;
    }
    if (nodes->length % 4 != 0 || nodes->length / 4 > n) {
        set_why(why, n_why, "section note_nodes: %llu bytes for %u nodes",
                (unsigned long long)nodes->length, n);
        return -1;
    }
    d->n_notes = (hg_node)(nodes->length / 4);
    d->note_nodes = (const hg_node *)(base + nodes->offset);
    if (!ids_ascending(d->note_nodes, d->n_notes, n)) {
        set_why(why, n_why, "note node ids out of range or out of order");
        return -1;
    }
    return parse_strtab(base + text->offset, text->length, d->n_notes,
                        &d->notes, "note_text", why, n_why);
}

static int parse(hg_snapfile *f, char *why, size_t n_why) {
    const uint8_t *base = f->base;
    uint64_t len = f->len, end, n, m, n_saturated = 0;
    uint32_t n_known; /* section kinds this file's version has */
    header h;
    const entry *table;
    const entry *found[SEC_N_KNOWN] = {NULL};
    hg_graph *g = &f->graph;
    hg_snapfile_data *d = &f->data;

    /* ---- header ---- */
    if (len < 8 || memcmp(base, MAGIC, 8) != 0) {
        set_why(why, n_why, "not an objgraph snapshot file (bad magic)");
        return -1;
    }
    if (len < HG__HEADER_SIZE) {
        set_why(why, n_why, "truncated: %llu bytes, the header alone needs %u",
                (unsigned long long)len, HG__HEADER_SIZE);
        return -1;
    }
    memcpy(&h, base, sizeof(h));
    if (h.bom != HG__BOM) {
        set_why(why, n_why,
                "written with another byte order (mark 0x%08x, expected "
                "0x%08x)",
                h.bom, HG__BOM);
        return -1;
    }
    if (h.version < 1 || h.version > HG_SNAPFILE_VERSION) {
        set_why(why, n_why,
                "format version %u; this objgraph reads versions 1 to %u",
                h.version, HG_SNAPFILE_VERSION);
        return -1;
    }
    n_known = h.version == 1 ? SEC_N_KNOWN_V1 : SEC_N_KNOWN;
    if (h.node_size != sizeof(hg_node) || h.edge_size != sizeof(hg_edge) ||
        h.header_size != HG__HEADER_SIZE) {
        set_why(why, n_why, "unexpected sizes: node %u, edge %u, header %u",
                h.node_size, h.edge_size, h.header_size);
        return -1;
    }
    if (h.file_size != len) {
        set_why(why, n_why, "%s: the file has %llu bytes, its header says %llu",
                len < h.file_size ? "truncated" : "trailing bytes",
                (unsigned long long)len, (unsigned long long)h.file_size);
        return -1;
    }
    if (h.n_sections > HG__MAX_SECTIONS ||
        HG__HEADER_SIZE + (uint64_t)h.n_sections * HG__ENTRY_SIZE > len) {
        set_why(why, n_why, "bad section count %u", h.n_sections);
        return -1;
    }
    table = (const entry *)(base + HG__HEADER_SIZE);
    if (header_checksum(&h, table, h.n_sections) != h.checksum) {
        set_why(why, n_why, "header checksum mismatch (corrupt header)");
        return -1;
    }
    if (h.runtime[HG_SNAPFILE_TEXT - 1] != '\0' ||
        h.producer[HG_SNAPFILE_TEXT - 1] != '\0' || h.reserved0 != 0 ||
        h.flags != 0) {
        set_why(why, n_why, "bad header text or flags");
        return -1;
    }
    for (size_t i = 0; i < sizeof(h.reserved); i++) {
        if (h.reserved[i] != 0) {
            set_why(why, n_why, "reserved header bytes are not zero");
            return -1;
        }
    }
    if ((uint64_t)h.n_nodes > HG_MAX_NODES || h.n_tracked > h.n_nodes ||
        h.n_labels > h.n_nodes) {
        set_why(why, n_why, "bad counts: %u nodes, %u tracked, %u labels",
                h.n_nodes, h.n_tracked, h.n_labels);
        return -1;
    }

    /* ---- section table: contiguous, aligned, zero padding, checksums ---- */
    end = HG__HEADER_SIZE + (uint64_t)h.n_sections * HG__ENTRY_SIZE;
    for (uint32_t i = 0; i < h.n_sections; i++) {
        const entry *e = &table[i];
        const char *name = kind_name(e->kind);
        if (e->offset != align8(end) || e->offset > len ||
            e->length > len - e->offset) {
            set_why(why, n_why,
                    "section %u (%s): offset %llu, length %llu outside the "
                    "file or out of place",
                    i, name, (unsigned long long)e->offset,
                    (unsigned long long)e->length);
            return -1;
        }
        for (uint64_t k = end; k < e->offset; k++) {
            if (base[k] != 0) {
                set_why(why, n_why, "nonzero padding before section %s", name);
                return -1;
            }
        }
        if ((e->flags & ~HG__SECTION_REQUIRED) != 0) {
            set_why(why, n_why, "section %s: unknown flags 0x%x", name,
                    e->flags);
            return -1;
        }
        if (hg_snapfile_checksum(base + e->offset, (size_t)e->length, 0) !=
            e->checksum) {
            set_why(why, n_why, "section %s: checksum mismatch (corrupt data)",
                    name);
            return -1;
        }
        if (e->kind == 0 || e->kind >= n_known) {
            if (e->flags & HG__SECTION_REQUIRED) {
                set_why(why, n_why,
                        "requires section kind %u, unknown to this reader "
                        "(written by a newer objgraph?)",
                        e->kind);
                return -1;
            }
        } else if (found[e->kind] != NULL) {
            set_why(why, n_why, "section %s appears twice", name);
            return -1;
        } else {
            found[e->kind] = e;
        }
        end = e->offset + e->length;
    }
    if (end != len) {
        set_why(why, n_why, "%llu bytes after the last section",
                (unsigned long long)(len - end));
        return -1;
    }
    for (uint32_t k = 1; k < n_known; k++) {
        int optional = ((k == SEC_LABEL_NODES || k == SEC_LABEL_TEXT) &&
                        h.n_labels == 0) ||
                       k == SEC_EDGE_LABEL_EDGES || k == SEC_EDGE_LABEL_TEXT ||
                       k == SEC_NODE_SIZE_OVER || k == SEC_NOTE_NODES ||
                       k == SEC_NOTE_TEXT;
        if (found[k] == NULL && !optional) {
            set_why(why, n_why, "section %s is missing", section_names[k]);
            return -1;
        }
    }

    /* ---- array sections: exact lengths ---- */
    n = h.n_nodes;
    m = h.n_edges;
    {
        const struct {
            uint32_t kind;
            uint64_t count, width;
        } want[] = {
            {SEC_TYPE_ADDR, h.n_types, 8},
            {SEC_TYPE_FLAGS, h.n_types, 4},
            {SEC_NODE_ADDR, n, 8},
            {SEC_NODE_TYPE, n, 4},
            {SEC_NODE_SIZE, n, h.version == 1 ? 8 : 4},
            {SEC_NODE_REFCNT, n, 4},
            {SEC_NODE_FLAGS, n, 1},
            {SEC_FWD_OFFSETS, n + 1, 8},
            {SEC_LABEL_NODES, h.n_labels, 4},
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            const entry *e = found[want[i].kind];
            if (e != NULL && e->length != want[i].count * want[i].width) {
                set_why(
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
            set_why(why, n_why,
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
                set_why(why, n_why,
                        "section node_size_over: %llu bytes for %llu nodes",
                        (unsigned long long)bytes, (unsigned long long)n);
                return -1;
            }
        }
    }
#define AT(kind) ((const void *)(base + found[kind]->offset))
    g->n_nodes = h.n_nodes;
    g->n_tracked = h.n_tracked;
    g->n_types = h.n_types;
    g->addr = (uint64_t *)AT(SEC_NODE_ADDR);
    g->type_id = (uint32_t *)AT(SEC_NODE_TYPE);
    if (h.version == 1) {
        f->sizes_v1 = AT(SEC_NODE_SIZE); /* converted by open_common */
    } else {
        g->size = (uint32_t *)AT(SEC_NODE_SIZE);
        if (found[SEC_NODE_SIZE_OVER] != NULL) {
            g->n_size_over = (hg_node)(found[SEC_NODE_SIZE_OVER]->length /
                                       sizeof(hg_size_overflow));
            g->size_over = (hg_size_overflow *)AT(SEC_NODE_SIZE_OVER);
        }
    }
    g->refcnt = (uint32_t *)AT(SEC_NODE_REFCNT);
    g->flags = (uint8_t *)AT(SEC_NODE_FLAGS);
    g->fwd.n_nodes = h.n_nodes;
    g->fwd.n_edges = m;
    g->fwd.offsets = (hg_edge *)AT(SEC_FWD_OFFSETS);
    g->fwd.targets = (hg_node *)AT(SEC_FWD_TARGETS);

    /* ---- semantic checks: everything a kernel indexes with ---- */
    if (g->fwd.offsets[0] != 0 || g->fwd.offsets[n] != m) {
        set_why(why, n_why,
                "CSR: offsets run from %llu to %llu, expected 0 to %llu "
                "edges",
                (unsigned long long)g->fwd.offsets[0],
                (unsigned long long)g->fwd.offsets[n], (unsigned long long)m);
        return -1;
    }
    for (uint64_t v = 0; v < n; v++) {
        if (g->fwd.offsets[v + 1] < g->fwd.offsets[v]) {
            set_why(why, n_why, "CSR: offsets decrease at node %llu",
                    (unsigned long long)v);
            return -1;
        }
    }
    for (uint64_t e = 0; e < m; e++) {
        if (g->fwd.targets[e] >= n) {
            set_why(why, n_why, "CSR: edge %llu targets node %u >= %llu nodes",
                    (unsigned long long)e, g->fwd.targets[e],
                    (unsigned long long)n);
            return -1;
        }
    }
    for (uint64_t v = 0; v < n; v++) {
        if (g->type_id[v] >= h.n_types) {
            set_why(why, n_why, "node %llu has type id %u >= %u types",
                    (unsigned long long)v, g->type_id[v], h.n_types);
            return -1;
        }
        if (g->size != NULL) {
            n_saturated += g->size[v] == UINT32_MAX;
        }
    }
    /* exactly one overflow entry per saturated size, as the writer makes
     * them: hg_node_size and the kernels then agree on every size */
    if (hg__size_overflow_bad(g->size, h.n_nodes, g->size_over,
                              g->n_size_over) ||
        n_saturated != g->n_size_over) {
        set_why(why, n_why,
                "section node_size_over: %u entries for %llu saturated "
                "sizes, or entries out of order, out of range or below "
                "2^32 - 1",
                g->n_size_over, (unsigned long long)n_saturated);
        return -1;
    }
    for (hg_node i = 0; i < g->n_size_over; i++) {
        if (g->size_over[i].reserved != 0) {
            set_why(why, n_why,
                    "section node_size_over: entry %u: nonzero "
                    "reserved bytes",
                    i);
            return -1;
        }
    }
    d->graph = g;
    d->version = h.version;
    d->n_types = h.n_types;
    d->type_addr = AT(SEC_TYPE_ADDR);
    d->type_flags = AT(SEC_TYPE_FLAGS);
    if (parse_strtab(AT(SEC_TYPE_SHORT_NAMES),
                     found[SEC_TYPE_SHORT_NAMES]->length, h.n_types,
                     &d->short_names, "type_short_names", why, n_why) < 0 ||
        parse_strtab(AT(SEC_TYPE_LONG_NAMES),
                     found[SEC_TYPE_LONG_NAMES]->length, h.n_types,
                     &d->long_names, "type_long_names", why, n_why) < 0) {
        return -1;
    }
    d->n_labels = h.n_labels;
    if (found[SEC_LABEL_NODES] != NULL && found[SEC_LABEL_TEXT] != NULL) {
        const hg_node *ids = AT(SEC_LABEL_NODES);
        if (!ids_ascending(ids, h.n_labels, n)) {
            set_why(why, n_why, "label node ids out of range or out of order");
            return -1;
        }
        d->label_nodes = ids;
        if (parse_strtab(AT(SEC_LABEL_TEXT), found[SEC_LABEL_TEXT]->length,
                         h.n_labels, &d->labels, "label_text", why,
                         n_why) < 0) {
            return -1;
        }
    } else if (found[SEC_LABEL_NODES] != NULL ||
               found[SEC_LABEL_TEXT] != NULL) {
        set_why(why, n_why, "label sections must come in pairs");
        return -1;
    }
    if (found[SEC_EDGE_LABEL_EDGES] != NULL &&
        found[SEC_EDGE_LABEL_TEXT] != NULL) {
        const uint64_t *es = AT(SEC_EDGE_LABEL_EDGES);
        uint64_t ne = found[SEC_EDGE_LABEL_EDGES]->length / 8;
        if (found[SEC_EDGE_LABEL_EDGES]->length % 8 != 0) {
            set_why(why, n_why, "section edge_label_edges: %llu bytes",
                    (unsigned long long)found[SEC_EDGE_LABEL_EDGES]->length);
            return -1;
        }
        for (uint64_t i = 0; i < ne; i++) {
            if (es[i] >= m || (i > 0 && es[i] <= es[i - 1])) {
                set_why(why, n_why,
                        "edge label %llu: reference %llu out of range or out "
                        "of order",
                        (unsigned long long)i, (unsigned long long)es[i]);
                return -1;
            }
        }
        d->n_edge_labels = ne;
        d->edge_label_edges = es;
        if (parse_strtab(AT(SEC_EDGE_LABEL_TEXT),
                         found[SEC_EDGE_LABEL_TEXT]->length, ne,
                         &d->edge_labels, "edge_label_text", why, n_why) < 0) {
            return -1;
        }
    } else if (found[SEC_EDGE_LABEL_EDGES] != NULL ||
               found[SEC_EDGE_LABEL_TEXT] != NULL) {
        set_why(why, n_why, "edge label sections must come in pairs");
        return -1;
    }
    if (parse_notes(found[SEC_NOTE_NODES], found[SEC_NOTE_TEXT], base, n, d,
                    why, n_why) < 0) {
        return -1;
    }
#undef AT
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
        set_why(why, n_why, "out of memory");
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
            set_why(why, n_why, "out of memory");
            free(f); /* the caller releases base */
            return st;
        }
    }
    *out = f;
    return HG_OK;
}

hg_status hg_snapfile_open_mem(const void *data, size_t len, hg_snapfile **out,
                               char *why, size_t n_why) {
    set_why(why, n_why, "no error");
    if (out == NULL || (data == NULL && len > 0)) {
        set_why(why, n_why, "NULL argument");
        return HG_EINVAL;
    }
    *out = NULL;
    if (((uintptr_t)data & 7) != 0) {
        set_why(why, n_why, "the buffer must be aligned to 8 bytes");
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
        set_why(why, n_why, "%s", strerror(errno));
        return HG_EIO;
    }
    if (fstat(d, &sb) < 0) {
        set_why(why, n_why, "%s", strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(sb.st_mode)) {
        set_why(why, n_why, "is a directory, not a snapshot file");
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        set_why(why, n_why, "not a regular file");
        goto cleanup;
    }
    if (sb.st_size < (off_t)HG__HEADER_SIZE) {
        /* too small to be one: read the head for the right reason */
        uint8_t head[8] = {0};
        ssize_t r = pread(d, head, sizeof(head), 0);
        if (r < 8 || memcmp(head, MAGIC, 8) != 0) {
            set_why(why, n_why,
                    sb.st_size == 0
                        ? "empty file"
                        : "not an objgraph snapshot file (bad magic)");
        } else {
            set_why(why, n_why,
                    "truncated: %lld bytes, the header alone needs %u",
                    (long long)sb.st_size, HG__HEADER_SIZE);
        }
        st = HG_EFORMAT;
        goto cleanup;
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX / 2) {
        set_why(why, n_why, "file too large for this machine's memory");
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
    size_t cap = (size_t)align8(len), got = 0;
    uint8_t *buf = hg_alloc(cap);
    uint8_t extra;
    ssize_t r;

    *out = NULL;
    if (buf == NULL) {
        set_why(why, n_why, "out of memory reading %zu bytes", len);
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
            set_why(why, n_why, "cannot read the file: %s", strerror(errno));
            goto fail;
        }
        if (r == 0) {
            set_why(why, n_why,
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
        set_why(why, n_why,
                r > 0 ? "the file grew past %zu bytes while it was read (is "
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

    set_why(why, n_why, "no error");
    if (path == NULL || out == NULL) {
        set_why(why, n_why, "NULL argument");
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
            hg_free(buf, (size_t)align8(len));
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
        set_why(why, n_why, "cannot map the file: %s", strerror(errno));
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
        hg_free((void *)(uintptr_t)f->base, (size_t)align8(f->len));
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
    n = f->owner == HG__OWN_BUFFER ? align8(f->len) : (uint64_t)f->len;
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
