/*
 * hg_internal.h -- cross-file internals of the heapgraph core (hg__*).
 *
 * Not installed, not seen by tests or benchmarks.  Holds:
 *   - the small named atomic helpers every parallel kernel uses (GCC/Clang
 *     __atomic builtins on plain arrays, so outputs stay plain C types);
 *   - the chunking rule: kernels split their work into K <= HG__MAX_CHUNKS
 *     contiguous chunks and loop over chunks with an OpenMP for, so results
 *     never depend on how many threads the runtime really gives us;
 *   - the one shared parallel prefix sum and the per-chunk column scan that
 *     counting sorts use (build.c; transpose.c bins first);
 *   - the open-addressing address table used by build and the address index.
 */
#ifndef HG_INTERNAL_H
#define HG_INTERNAL_H

#include "heapgraph.h"

#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- atomics ------------------------------------------------------------ */

static inline uint32_t hg__atomic_load_u32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* *p = min(*p, v), atomically; returns the value *p had before.  No locked
 * instruction when v is not smaller. */
static inline uint32_t hg__atomic_min_u32(uint32_t *p, uint32_t v) {
    uint32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < cur && !__atomic_compare_exchange_n(
                          p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return cur;
}

static inline void hg__atomic_store_u32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Set *p to 1; nonzero if it was 0 before (this call claimed it). */
static inline int hg__atomic_claim_u8(uint8_t *p) {
    if (__atomic_load_n(p, __ATOMIC_RELAXED)) {
        return 0;
    }
    return __atomic_exchange_n(p, (uint8_t)1, __ATOMIC_RELAXED) == 0;
}

static inline uint64_t hg__atomic_fetch_add_u64(uint64_t *p, uint64_t v) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t hg__atomic_load_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* 128-bit products for even splits and hashing (GCC/Clang extension). */
__extension__ typedef unsigned __int128 hg__u128;

/* ---- chunking ----------------------------------------------------------- */

#define HG__MAX_CHUNKS 64
/* Below this much work a kernel runs as one chunk (no parallel region). */
#define HG__MIN_PAR_WORK 4096u

/* Number of chunks for `work` items: 1 when small or single-threaded,
 * else min(hg_num_threads(), HG__MAX_CHUNKS). */
int hg__n_chunks(uint64_t work);

/* out[t] = the sum of weights[v] (1 each when weights is NULL) over nodes
 * v < n of type t with mask == NULL or mask[v] != 0: hg_type_histogram and
 * hg_type_bytes (which adds the sizes beyond the saturated weights). */
hg_status hg__type_sums(const uint32_t *type_ids, const uint32_t *weights,
                        hg_node n, const uint8_t *mask, uint32_t n_types,
                        uint64_t *out);

/* Nonzero if over (n_over entries; NULL only when none) is not a valid
 * size overflow table for size[0..n): every node < n, strictly ascending,
 * with size[node] == UINT32_MAX and a true size >= UINT32_MAX (graph.c).
 * The kernels that sum sizes check it before writing anything. */
int hg__size_overflow_bad(const uint32_t *size, hg_node n,
                          const hg_size_overflow *over, hg_node n_over);

/* Chunks for a kernel whose every chunk but one keeps a count array of
 * n_buckets entries: at most 1 + work / n_buckets, so that scratch stays
 * within the size of the input (64 threads x 50M nodes would be 12 GiB). */
static inline int hg__n_chunks_counted(uint64_t work, uint64_t n_buckets) {
    int k = hg__n_chunks(work);
    uint64_t cap = n_buckets > 0 ? 1 + work / n_buckets : 1;
    return (uint64_t)k > cap ? (int)cap : k;
}

/* Nonzero if ids (n_ids of them; NULL only when none) holds an id >= n:
 * the searches' check of their sources. */
static inline int hg__bad_ids(const hg_node *ids, size_t n_ids, hg_node n) {
    if (ids == NULL && n_ids > 0) {
        return 1;
    }
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] >= n) {
            return 1;
        }
    }
    return 0;
}

/* Start of chunk k of K over [0, n): an even split. */
static inline uint64_t hg__chunk_begin(uint64_t n, int k, int n_chunks) {
    return (uint64_t)((hg__u128)n * (unsigned)k / (unsigned)n_chunks);
}

/* ---- CSR helpers -------------------------------------------------------- */

/* A CSR a kernel may read: arrays present, or the zeroed empty CSR. */
static inline int hg__csr_readable(const hg_csr *g) {
    return g != NULL &&
           (g->offsets != NULL || (g->n_nodes == 0 && g->n_edges == 0));
}

/* First node of chunk k of K when g's nodes are split into K contiguous
 * ranges holding about n_edges / K edges each; k == K gives n_nodes. */
hg_node hg__csr_split(const hg_csr *g, int k, int n_chunks);

/* ---- top-down BFS and reach levels (bfs.c, shared with bfs_diropt.c) ---- */

/* A level runs in parallel only when its frontier has at least this many
 * out-edges, and only with HG__BFS_MIN_THREADS threads or more (bfs.c says
 * why); results never depend on the choice. */
#define HG__BFS_PAR_EDGES 4096u
#define HG__BFS_MIN_THREADS 3
#define HG__BFS_BUF 256 /* thread-local append buffer, entries */

/* Expand the frontier q[lo, hi) at level L along g's out-edges: every node
 * v not blocked and unseen (dep[v] == UINT32_MAX) gets dep[v] = L + 1, the
 * smallest frontier predecessor as parent[v], and is appended to q at hi,
 * hi+1, ...  Returns the new queue tail; *next_edges receives the out-edge
 * count of the new frontier.  Serial and parallel give the same parent and
 * dep (the order of the appended nodes may differ).  seen_before (may be
 * NULL): a bitmap, bit v % 64 of word v / 64, of nodes known to be seen at
 * levels <= L or blocked; edges to them are skipped without reading dep.
 * It is only read. */
uint64_t hg__bfs_level_serial(const hg_csr *g, const uint8_t *blocked,
                              const uint64_t *seen_before, uint32_t L,
                              hg_node *q, uint64_t lo, uint64_t hi,
                              hg_node *parent, uint32_t *dep,
                              hg_edge *next_edges);
uint64_t hg__bfs_level_parallel(const hg_csr *g, const uint8_t *blocked,
                                const uint64_t *seen_before, uint32_t L,
                                hg_node *q, uint64_t lo, uint64_t hi,
                                hg_node *parent, uint32_t *dep,
                                hg_edge *next_edges);

/* The same for reachability: every node v not blocked with reached[v] == 0
 * gets reached[v] = 1 and is appended to q. */
uint64_t hg__reach_level_serial(const hg_csr *g, const uint8_t *blocked,
                                const uint64_t *seen_before, hg_node *q,
                                uint64_t lo, uint64_t hi, uint8_t *reached,
                                hg_edge *next_edges);
uint64_t hg__reach_level_parallel(const hg_csr *g, const uint8_t *blocked,
                                  const uint64_t *seen_before, hg_node *q,
                                  uint64_t lo, uint64_t hi, uint8_t *reached,
                                  hg_edge *next_edges);

/* Bit v of a node bitmap (bit v % 64 of word v / 64). */
static inline int hg__bit_test(const uint64_t *bits, hg_node v) {
    return (int)((bits[v >> 6] >> (v & 63)) & 1u);
}

/* ---- prefix sums -------------------------------------------------------- */

/* Exclusive prefix sum of a[0..n) in place; returns the total.  Parallel
 * (two passes over a fixed number of blocks), deterministic, never fails. */
hg_edge hg__prefix_sum(hg_edge *a, size_t n);

/* Column scan for a K-chunk counting sort over n buckets.  On entry
 * counts[k * n + b] is the number of items chunk k puts in bucket b; on exit
 * it is the position of chunk k's first item relative to the bucket's start,
 * offsets[b] is the bucket's start and offsets[n] the total.  offsets has
 * n + 1 entries.  Relative positions are uint32: callers use K > 1 only when
 * the item count is <= UINT32_MAX. */
void hg__chunk_columns(uint32_t *counts, int n_chunks, size_t n,
                       hg_edge *offsets);

/* ---- address table ---------------------------------------------------------
 * Open addressing with linear probing over 64-bit addresses, value an
 * hg_node.  keys[i] == 0 marks an empty slot; the address 0 itself lives in
 * has_zero/zero_val.  Slot of a key: fastrange(mix(key), cap), so cap need
 * not be a power of two and the load factor stays near 2/3.
 */
typedef struct hg__addr_table {
    uint64_t *keys; /* cap entries, 0 = empty */
    hg_node *vals;  /* cap entries */
    uint64_t cap;
    uint64_t count; /* keys stored, the zero key included */
    int has_zero;
    hg_node zero_val;
} hg__addr_table;

/* A zeroed table sized for `expected` keys. */
hg_status hg__addr_table_init(hg__addr_table *t, uint64_t expected);
void hg__addr_table_destroy(hg__addr_table *t);
uint64_t hg__addr_table_nbytes(const hg__addr_table *t);
/* Value stored for key, or HG_NONE. */
hg_node hg__addr_table_find(const hg__addr_table *t, uint64_t key);
/* Hint the cache about key's home slot: lookups in a loop prefetch the key
 * HG__PREFETCH iterations ahead, so several misses overlap. */
#define HG__PREFETCH 16
void hg__addr_table_prefetch(const hg__addr_table *t, uint64_t key);
/* Insert key -> val unless present, growing as needed (sequential only).
 * *got receives the stored value (val if inserted). */
hg_status hg__addr_table_insert(hg__addr_table *t, uint64_t key, hg_node val,
                                hg_node *got);
/* Parallel bulk insert of keys[i] -> i for i < n into a table initialised
 * for >= n keys; a repeated key keeps its smallest i.  *n_dup receives how
 * many keys were repeats. */
void hg__addr_table_insert_ids(hg__addr_table *t, const uint64_t *keys,
                               hg_node n, uint64_t *n_dup);

#endif /* HG_INTERNAL_H */
