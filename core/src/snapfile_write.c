/*
 * snapfile_write.c -- hg_snapfile_write: a frozen graph to a snapshot file
 * (the format and the atomic replacement: snapfile.c's header), in three
 * steps -- the sections listed, the header and table computed, the bytes
 * written to a temporary file renamed over the path.
 */
#define _GNU_SOURCE /* strndup, realpath */
#include "snapfile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bytes of a string table as stored: count, count + 1 offsets, text. */
static size_t strtab_bytes(const hg_strtab *s) {
    return 8 + 8 * ((size_t)s->count + 1) +
           (size_t)(s->count > 0 ? s->offsets[s->count] : 0);
}

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

static hg_status check_data(const hg_snapfile_data *d, char *why,
                            size_t n_why) {
    const hg_graph *g = d->graph;
    hg_node n, n_saturated = 0;

    if (g == NULL || (g->n_nodes > 0 && g->fwd.offsets == NULL) ||
        g->fwd.n_nodes != g->n_nodes || g->n_tracked > g->n_nodes) {
        hg__snap_why(why, n_why, "the graph is missing or has no forward CSR");
        return HG_EINVAL;
    }
    n = g->n_nodes;
    if (n > 0 &&
        (g->addr == NULL || g->type_id == NULL || g->size == NULL ||
         g->refcnt == NULL || g->flags == NULL || g->fwd.offsets[0] != 0 ||
         g->fwd.offsets[n] != g->fwd.n_edges ||
         (g->fwd.n_edges > 0 && g->fwd.targets == NULL))) {
        hg__snap_why(why, n_why,
                     "the node table or the forward CSR is invalid");
        return HG_EINVAL;
    }
    if (d->n_types > 0 && (d->type_addr == NULL || d->type_flags == NULL)) {
        hg__snap_why(why, n_why, "the type table is missing");
        return HG_EINVAL;
    }
    for (hg_node v = 0; v < n; v++) {
        if (g->type_id[v] >= d->n_types) {
            hg__snap_why(why, n_why, "node %u has type id %u >= %u types", v,
                         g->type_id[v], d->n_types);
            return HG_EINVAL;
        }
        n_saturated += g->size[v] == UINT32_MAX;
    }
    /* a file's table is exact: one entry per saturated size */
    if (hg__size_overflow_bad(g->size, n, g->size_over, g->n_size_over) ||
        n_saturated != g->n_size_over) {
        hg__snap_why(why, n_why, "the size overflow table is invalid");
        return HG_EINVAL;
    }
    for (hg_node i = 0; i < g->n_size_over; i++) {
        if (g->size_over[i].reserved != 0) {
            hg__snap_why(why, n_why, "size overflow entry %u: reserved bytes",
                         i);
            return HG_EINVAL;
        }
    }
    if (!strtab_ok(&d->short_names, d->n_types) ||
        !strtab_ok(&d->long_names, d->n_types) ||
        !strtab_ok(&d->labels, d->n_labels)) {
        hg__snap_why(why, n_why, "a string table is invalid");
        return HG_EINVAL;
    }
    if (d->n_labels > 0 && d->label_nodes == NULL) {
        hg__snap_why(why, n_why, "labels without node ids");
        return HG_EINVAL;
    }
    if (!hg__snap_ids_ascending(d->label_nodes, d->n_labels, n)) {
        hg__snap_why(why, n_why, "label node ids must be ascending and < %u",
                     n);
        return HG_EINVAL;
    }
    if (!strtab_ok(&d->notes, d->n_notes) ||
        (d->n_notes > 0 && d->note_nodes == NULL) ||
        !hg__snap_ids_ascending(d->note_nodes, d->n_notes, n)) {
        hg__snap_why(why, n_why,
                     "invalid notes: node ids must be ascending and < %u", n);
        return HG_EINVAL;
    }
    if (!strtab_ok(&d->edge_labels, d->n_edge_labels) ||
        (d->n_edge_labels > 0 && d->edge_label_edges == NULL)) {
        hg__snap_why(why, n_why, "invalid edge labels");
        return HG_EINVAL;
    }
    for (uint64_t i = 0; i < d->n_edge_labels; i++) {
        if (d->edge_label_edges[i] >= g->fwd.n_edges ||
            (i > 0 && d->edge_label_edges[i] <= d->edge_label_edges[i - 1])) {
            hg__snap_why(why, n_why,
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
        /* process, time, call and stack address, mixed by XXH64 */
        uint64_t seed[4] = {(uint64_t)getpid(), (uint64_t)time(NULL),
                            hg__atomic_fetch_add_u64(&counter, 1) + 1,
                            (uint64_t)(uintptr_t)&attempt};
        uint64_t x = hg_snapfile_checksum(seed, sizeof(seed), 0);
        int fd;
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
            hg__snap_why(why, n_why, "cannot save to '%s': %s", path,
                         strerror(errno));
            return HG_EIO;
        }
        if (link) {
            hg__snap_why(why, n_why,
                         "it is a symbolic link to a missing file; refusing to "
                         "replace it");
            return HG_EIO;
        }
        *target = strdup(path); /* a new file */
    } else if (!S_ISREG(sb.st_mode)) {
        hg__snap_why(why, n_why,
                     "it is %s%s, not a regular file; refusing to replace it",
                     what, file_kind(sb.st_mode));
        return HG_EIO;
    } else if (link) {
        *target = realpath(path, NULL);
        if (*target == NULL && errno != ENOMEM) {
            hg__snap_why(why, n_why,
                         "cannot resolve the symbolic link '%s': %s", path,
                         strerror(errno));
            return HG_EIO;
        }
    } else {
        *target = strdup(path);
    }
    if (*target == NULL) {
        hg__snap_why(why, n_why, "out of memory");
        return HG_ENOMEM;
    }
    return HG_OK;
}

/* The sections of d (whose graph is g), in file order, the optional ones
 * when needed, string tables packed: sec[0 .. *ns).  HG_ENOMEM when a
 * packing fails; the caller frees sec[i].owned either way. */
static hg_status list_sections(const hg_snapfile_data *d, wsection *sec,
                               uint32_t *ns_out) {
    static const uint64_t zero_offset = 0;
    const hg_graph *g = d->graph;
    uint64_t n = g->n_nodes, nt = d->n_types;
    uint32_t ns = 0;

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
    sec[ns++] = (wsection){.kind = SEC_FWD_OFFSETS,
                           .data = n == 0 ? &zero_offset : g->fwd.offsets,
                           .length = (n + 1) * 8};
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
    *ns_out = ns;
    for (uint32_t i = 0; i < ns; i++) {
        if (sec[i].strtab != NULL &&
            pack_strtab(sec[i].strtab, &sec[i]) != HG_OK) {
            return HG_ENOMEM;
        }
    }
    return HG_OK;
}

/* The header and the section table of a file holding sec[0 .. ns): each
 * section at the next 8-aligned offset, with its checksum. */
static void lay_out(const hg_snapfile_data *d, const wsection *sec, uint32_t ns,
                    hg__snap_header *h, hg__snap_entry *table) {
    const hg_graph *g = d->graph;
    uint64_t off = HG__HEADER_SIZE + (uint64_t)ns * HG__ENTRY_SIZE;

    memset(h, 0, sizeof(*h));
    memset(table, 0, (size_t)ns * sizeof(*table));
    memcpy(h->magic, HG__SNAP_MAGIC, 8);
    h->version = HG_SNAPFILE_VERSION;
    h->bom = HG__BOM;
    h->node_size = sizeof(hg_node);
    h->edge_size = sizeof(hg_edge);
    h->header_size = HG__HEADER_SIZE;
    h->n_sections = ns;
    h->n_nodes = g->n_nodes;
    h->n_tracked = g->n_tracked;
    h->n_types = d->n_types;
    h->n_edges = g->fwd.n_edges;
    h->n_labels = d->n_labels;
    h->pause_seconds = d->pause_seconds;
    h->capture_seconds = d->capture_seconds;
    h->created = d->created;
    memcpy(h->runtime, d->runtime, HG_SNAPFILE_TEXT - 1);
    memcpy(h->producer, d->producer, HG_SNAPFILE_TEXT - 1);
    for (uint32_t i = 0; i < ns; i++) {
        off = hg__align8(off);
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
    h->file_size = off;
    h->checksum = hg__snap_header_checksum(h, table, ns);
}

/* Header, table and sections written to a temporary file beside target,
 * synced, renamed over target (and the directory synced).  On failure the
 * temporary file is removed and target is as it was. */
static hg_status write_file(const char *target, const hg__snap_header *h,
                            const hg__snap_entry *table, const wsection *sec,
                            char *why, size_t n_why) {
    static const uint8_t zeros[8];
    uint32_t ns = h->n_sections;
    uint64_t off = HG__HEADER_SIZE + (uint64_t)ns * HG__ENTRY_SIZE;
    char *tmp = NULL;
    int fd = open_temp(target, &tmp);
    hg_status st = HG_EIO;

    if (fd < 0) {
        hg__snap_why(why, n_why,
                     "cannot create a temporary file beside '%s': %s", target,
                     strerror(errno));
        return HG_EIO;
    }
    if (write_all(fd, h, sizeof(*h)) < 0 ||
        write_all(fd, table, (uint64_t)ns * HG__ENTRY_SIZE) < 0) {
        goto io_error;
    }
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
        hg__snap_why(why, n_why, "cannot rename the temporary file to '%s': %s",
                     target, strerror(errno));
        goto cleanup;
    }
    free(tmp);
    tmp = NULL;
    sync_dir(target);
    st = HG_OK;
    goto cleanup;

io_error:
    hg__snap_why(why, n_why, "writing '%s': %s", tmp, strerror(errno));
cleanup:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp != NULL) {
        (void)unlink(tmp);
        free(tmp);
    }
    return st;
}

hg_status hg_snapfile_write(const char *path, const hg_snapfile_data *d,
                            char *why, size_t n_why) {
    wsection sec[SEC_N_KNOWN - 1];
    hg__snap_entry table[SEC_N_KNOWN - 1];
    hg__snap_header h;
    uint32_t ns = 0;     /* sections in the file */
    char *target = NULL; /* the file replaced: path, or its link's target */
    hg_status st;

    hg__snap_why(why, n_why, "no error");
    memset(sec, 0, sizeof(sec));
    if (path == NULL || path[0] == '\0' || d == NULL) {
        hg__snap_why(why, n_why, "no path or no data");
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
    st = list_sections(d, sec, &ns);
    if (st != HG_OK) {
        hg__snap_why(why, n_why, "out of memory");
    } else {
        lay_out(d, sec, ns, &h, table);
        st = write_file(target, &h, table, sec, why, n_why);
    }
    for (uint32_t i = 0; i < SEC_N_KNOWN - 1; i++) {
        free(sec[i].owned);
    }
    free(target);
    return st;
}
