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
 * (hash + checks); about 29 bytes per node (address 8, type 4, size 4,
 * reference count 4, flags 1, CSR offset 8) + 4 per edge on disk.
 *
 * The code: snapfile_int.h (the layout as stored), this file (XXH64 and
 * the checks reader and writer share), snapfile_write.c (the writer),
 * snapfile_read.c (the reader and the open snapshot).
 */
#include "snapfile_int.h"

#include <stdarg.h>
#include <stdio.h>

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

/* See snapfile_int.h. */
void hg__snap_why(char *why, size_t n_why, const char *fmt, ...) {
    va_list ap;
    if (why == NULL || n_why == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, n_why, fmt, ap);
    va_end(ap);
}

/* See snapfile_int.h. */
uint64_t hg__snap_header_checksum(const hg__snap_header *h,
                                  const hg__snap_entry *table,
                                  uint32_t n_sections) {
    uint64_t seed =
        hg_snapfile_checksum(table, (size_t)n_sections * HG__ENTRY_SIZE, 0);
    return hg_snapfile_checksum(h, HG__HEADER_SUM_AT, seed);
}

/* See snapfile_int.h. */
int hg__snap_ids_ascending(const hg_node *ids, uint64_t count, hg_node n) {
    for (uint64_t i = 0; i < count; i++) {
        if (ids[i] >= n || (i > 0 && ids[i] <= ids[i - 1])) {
            return 0;
        }
    }
    return 1;
}
