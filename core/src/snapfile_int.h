/*
 * snapfile_int.h -- the snapshot file format as stored, shared by the three
 * files that implement it: snapfile.c (the format's description, the
 * checksum, the checks reader and writer share), snapfile_write.c and
 * snapfile_read.c.  Internal to core/.
 */
#ifndef HG_SNAPFILE_INT_H
#define HG_SNAPFILE_INT_H

#include "hg_internal.h"

/* ---- the format ---------------------------------------------------------- */

static const uint8_t HG__SNAP_MAGIC[8] = {0x89, 'H',  'G',  'S',
                                          '\r', '\n', 0x1a, '\n'};

#define HG__BOM 0x01020304u
#define HG__HEADER_SIZE 256u
#define HG__HEADER_SUM_AT 248u
#define HG__ENTRY_SIZE 32u
#define HG__MAX_SECTIONS 64u
#define HG__SECTION_REQUIRED 1u

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

/* The fixed header, as stored (native byte order, no implicit padding). */
typedef struct hg__snap_header {
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
} hg__snap_header;

typedef struct hg__snap_entry {
    uint32_t kind;
    uint32_t flags;
    uint64_t offset;
    uint64_t length;
    uint64_t checksum;
} hg__snap_entry;

_Static_assert(sizeof(hg__snap_header) == HG__HEADER_SIZE, "header layout");
_Static_assert(offsetof(hg__snap_header, checksum) == HG__HEADER_SUM_AT,
               "checksum");
_Static_assert(sizeof(hg__snap_entry) == HG__ENTRY_SIZE, "entry layout");
_Static_assert(sizeof(hg_size_overflow) == 16 &&
                   offsetof(hg_size_overflow, size) == 8,
               "size overflow pairs are stored as they are in memory");

static inline uint64_t hg__align8(uint64_t x) {
    return (x + 7) & ~(uint64_t)7;
}

/* A printf-style reason into why (n_why bytes); nothing when why is NULL. */
void hg__snap_why(char *why, size_t n_why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* XXH64 of header bytes [0, 248) seeded with XXH64 of the section table. */
uint64_t hg__snap_header_checksum(const hg__snap_header *h,
                                  const hg__snap_entry *table,
                                  uint32_t n_sections);
/* Whether the count node ids are strictly ascending and < n. */
int hg__snap_ids_ascending(const hg_node *ids, uint64_t count, hg_node n);

#endif /* HG_SNAPFILE_INT_H */
