/*
 * heapgraph.h -- public contract of the heapgraph core.
 *
 * The core holds a frozen object graph (a heap snapshot) as compressed
 * sparse rows and runs the kernels the objgraph API needs on it: reverse
 * edges, in-degree, type histograms, breadth-first search with parent
 * pointers, reachability, and the leak analyses (dominator tree, retained
 * sizes, strongly connected components).  It is plain C11 (+ OpenMP when
 * built with HG_USE_OPENMP) and knows nothing about Python: capture/ fills
 * a graph from a live interpreter, tests and benchmarks fill it from
 * synthetic data.
 *
 * Scale: up to 2^32 - 2 nodes and 2^64 edges; expected 1M-50M nodes.
 * Every kernel gives the same answer for any thread count; where several
 * answers are valid, ties go to the smallest node id (or, for the stepwise
 * search, to the earliest position in the frontier).
 */
#ifndef HEAPGRAPH_H
#define HEAPGRAPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */

typedef enum hg_status {
    HG_OK = 0,
    HG_ENOMEM = 1,  /* an allocation failed; outputs are untouched/freed */
    HG_EINVAL = 2,  /* a bad argument (NULL where not allowed, bad id...) */
    HG_ERANGE = 3,  /* a count does not fit the id types (> 2^32-2 nodes) */
    HG_EIO = 4,     /* a file could not be read or written (errno's cause) */
    HG_EFORMAT = 5, /* a file is not a valid snapshot file (see its reason) */
} hg_status;

/* A static English description of a status ("out of memory", ...). */
const char *hg_status_str(hg_status st);

/* ---- ids ----------------------------------------------------------------- */

typedef uint32_t hg_node; /* dense node id, 0 .. n_nodes-1 */
typedef uint64_t hg_edge; /* edge index into a CSR target array */

#define HG_NONE ((hg_node)UINT32_MAX) /* "no node": unvisited, no parent */
#define HG_MAX_NODES ((uint64_t)UINT32_MAX - 1)

/* ---- allocator shim -------------------------------------------------------
 * Every large array of the core goes through these.  With HG_WITH_JEMALLOC
 * they use jemalloc's mallocx/sdallocx; otherwise malloc/free.  Sizes are
 * passed back on free (sized deallocation).  hg_free(NULL, n) is a no-op.
 * Zero bytes are an allocation like any other: hg_alloc(0) and hg_calloc(0)
 * return a valid, unique pointer (never to be read or written) that
 * hg_free(p, 0) takes back, so NULL always means failure and an empty array
 * needs no padding.  Every call, zero bytes included, may fail (NULL).
 */
void *hg_alloc(size_t nbytes);  /* NULL on failure only */
void *hg_calloc(size_t nbytes); /* zeroed; NULL on failure only */
/* p == NULL allocates; otherwise p (of old_nbytes) is resized to new_nbytes,
 * 0 included (a zero-byte block, as from hg_alloc(0)); on failure NULL is
 * returned and p is left as it was. */
void *hg_realloc(void *p, size_t old_nbytes, size_t new_nbytes);
void hg_free(void *p, size_t nbytes);
/* Bytes currently allocated through the shim (whole process). */
uint64_t hg_alloc_live_bytes(void);
/* Give back to the system, now, the freed large blocks the shim keeps for
 * reuse (malloc builds keep up to 4 GiB, each for 5 s after it was freed,
 * then a thread of the shim unmaps it); the bytes given back. */
uint64_t hg_alloc_trim(void);
/* Have the kernel map every page of [p, p + nbytes) now, in one call
 * (MADV_POPULATE_WRITE): 0 if done, -1 if the system cannot (a kernel
 * before 5.14, not Linux, an error) -- the caller then touches the pages
 * itself.  The memory must be writable and may hold data (it is kept). */
int hg_populate(void *p, size_t nbytes);
/* Name of the allocator in use: "jemalloc" or "malloc". */
const char *hg_alloc_name(void);
/* Testing hook: make the n-th following allocation (0 = the next one) and
 * every later one fail, until called again with n < 0 (the default). */
void hg_alloc_fail_after(long n);

/* ---- threads ------------------------------------------------------------- */

/* Number of threads the parallel regions started by the calling thread use
 * (each asks for exactly this many, or runs on one): the OpenMP count
 * (OMP_NUM_THREADS, hg_set_num_threads, within OMP_THREAD_LIMIT) lowered to
 * what this thread proved it can create -- the first call, and the first
 * after the count changed, creates that many threads to see (threads.c) --
 * and 1 on the thread that called fork(), in the child: its OpenMP pool
 * lists threads that do not exist there.  Turns OpenMP's dynamic adjustment
 * (OMP_DYNAMIC) off for the calling thread.  1 without OpenMP. */
int hg_num_threads(void);
/* Set the OpenMP count (n >= 1; others are ignored); a no-op without
 * OpenMP.  hg_num_threads() may still return fewer. */
void hg_set_num_threads(int n);
/* Before work during which the OpenMP runtime must neither create a thread
 * nor allocate (capture/ calls it before it marks the heap): prove the
 * count again, unless the runtime's pool still holds every thread of the
 * team the last call started, and start a team of that size, whose threads
 * and team structure the runtime keeps.  Returns the count, which
 * hg_num_threads() returns from then on; regions of exactly that size run
 * by the calling thread then create and allocate nothing.  Never fails:
 * with no thread to be had the count is 1. */
int hg_threads_reserve(void);

/* ---- compressed sparse rows ----------------------------------------------
 * Invariants: offsets has n_nodes+1 entries, offsets[0] == 0, offsets is
 * non-decreasing, offsets[n_nodes] == n_edges, every target < n_nodes.
 * The edges of node v are targets[offsets[v] .. offsets[v+1]).
 * Multi-edges and self-loops are allowed and kept.
 */
typedef struct hg_csr {
    hg_node n_nodes;
    hg_edge n_edges;
    hg_edge *offsets; /* n_nodes + 1 entries, owned */
    hg_node *targets; /* n_edges entries, owned */
} hg_csr;

/* Take ownership of offsets/targets (NULLs the caller's pointers) after
 * checking the invariants above; on error the arrays stay with the caller. */
hg_status hg_csr_adopt(hg_csr *csr, hg_node n_nodes, hg_edge n_edges,
                       hg_edge **offsets, hg_node **targets);
/* The same without the O(n + m) check of the invariants, for a producer
 * that has just written the arrays itself and vouches for them (the heap
 * capture, where the check would add 5% to every snapshot).  Arguments are
 * still checked for NULL and range. */
hg_status hg_csr_adopt_unchecked(hg_csr *csr, hg_node n_nodes, hg_edge n_edges,
                                 hg_edge **offsets, hg_node **targets);
/* Free the arrays and zero the struct; accepts NULL and zeroed structs. */
void hg_csr_destroy(hg_csr *csr);
/* Bytes held by the arrays. */
uint64_t hg_csr_nbytes(const hg_csr *csr);

/* The reverse graph: out->targets of node v are the sources of v's in-edges
 * in ascending source order (duplicates kept, one per forward edge).
 * out must be zeroed or destroyed; parallel counting transpose. */
hg_status hg_csr_transpose(const hg_csr *in, hg_csr *out);

/* in_degree[v] = number of edges whose target is v (n_nodes entries).
 * If src_mask is non-NULL, only edges from sources u with src_mask[u] != 0
 * count. */
hg_status hg_csr_in_degree(const hg_csr *csr, const uint8_t *src_mask,
                           uint32_t *in_degree);

/* ---- node sizes ------------------------------------------------------------
 * Shallow sizes take 4 bytes per node: size[v] is v's size when it is below
 * UINT32_MAX; UINT32_MAX means "see the overflow table", a short array of
 * (node, size) pairs, ascending by node, for the rare objects of 4 GiB or
 * more.  The size of v is therefore size[v] if size[v] < UINT32_MAX, else
 * the size of v's overflow entry (UINT32_MAX if it has none).  Kernels that
 * sum sizes take (size, over, n_over) and read the plain uint32 array on
 * their fast path; they refuse (HG_EINVAL) a table whose nodes are out of
 * range or order, whose sizes are below UINT32_MAX, or whose nodes do not
 * have size[node] == UINT32_MAX.
 */
typedef struct hg_size_overflow {
    hg_node node;      /* a node with size[node] == UINT32_MAX */
    uint32_t reserved; /* 0 (the pair is 16 bytes, as a file stores it) */
    uint64_t size;     /* its true size, >= UINT32_MAX */
} hg_size_overflow;

/* size[v] = min(sizes[v], UINT32_MAX) for v < n, and *over = a table
 * (hg_alloc'ed, *n_over entries, NULL when none) of the nodes whose size is
 * >= UINT32_MAX; free it with hg_free(*over, *n_over *
 * sizeof(hg_size_overflow)).  On HG_ENOMEM nothing is written. */
hg_status hg_size_pack(const uint64_t *sizes, hg_node n, uint32_t *size,
                       hg_size_overflow **over, hg_node *n_over);

/* ---- the graph: node table + forward and reverse CSR ---------------------
 * Node arrays are structure-of-arrays, n_nodes entries each.  Tracked nodes
 * (objects the cyclic GC tracks) come first: ids 0 .. n_tracked-1; then
 * untracked nodes; only nodes flagged HG_NODE_GC have out-edges.  refcnt
 * saturates at UINT32_MAX.  type_id < n_types.  size saturates at
 * UINT32_MAX, the true sizes of those nodes being in size_over (see "node
 * sizes" above; read sizes with hg_node_size).
 */
enum hg_node_flag {
    HG_NODE_TRACKED = 1u << 0, /* tracked by the cyclic GC */
    HG_NODE_MODULE = 1u << 1,  /* a module that is in sys.modules */
    HG_NODE_HAS_DEL = 1u << 2, /* its class defines __del__ */
    /* the same bit on an exact dict (whose class has no __del__): a
     * collection keeps it tracked for values it does not visit itself
     * (3.13: an instance's inline values, which the instance visits) */
    HG_NODE_DICT_KEPT = 1u << 2,
    HG_NODE_FROZEN = 1u << 3, /* in the permanent generation (gc.freeze) */
    HG_NODE_GEN_SHIFT = 4,    /* bits 4-5: GC generation 0, 1, 2 (3=frozen) */
    HG_NODE_GEN_MASK = 3u << 4,
    HG_NODE_EXCLUDED = 1u << 6, /* the capturer's own machinery: ignore */
    HG_NODE_GC = 1u << 7,       /* a GC-aware object (tracked or not) */
};

/* The rank of GC generation gen (HG_NODE_GEN_MASK's value: 0, 1, 2, or 3
 * for the permanent one) in the list a full collection of CPython walks:
 * it merges the younger generations into the oldest, so 2 first (rank 0),
 * then 0, then 1; the permanent generation, never walked, ranks
 * HG_GC_RANK_FROZEN, after every other. */
#define HG_GC_RANK_FROZEN 3u
static inline unsigned hg_gc_rank(unsigned gen) {
    return (0x3021u >> (4 * (gen & 3))) & 0xf; /* 1, 2, 0, 3 */
}

/* Bits of a per-type flag table (n_types entries, the capturer's: capture.h
 * adds bits of its own) that the kernels read. */
enum hg_type_flag_core {
    HG_TYPE_EXACT_TUPLE = 1u << 2, /* exactly tuple */
    HG_TYPE_EXACT_DICT = 1u << 3,  /* exactly dict */
};

typedef struct hg_graph {
    hg_node n_nodes;
    hg_node n_tracked;
    uint32_t n_types;
    uint64_t *addr;    /* object address (id(obj)) */
    uint32_t *type_id; /* index into the caller's type table */
    uint32_t *size;    /* shallow size (sys.getsizeof), saturated */
    uint32_t *refcnt;  /* reference count at capture, saturated */
    uint8_t *flags;    /* enum hg_node_flag bits */
    hg_node n_size_over;
    hg_size_overflow *size_over; /* n_size_over entries, owned (hg_alloc) */
    hg_csr fwd;                  /* object -> referents (tp_traverse order) */
    hg_csr rev;                  /* object -> referrers; empty until built */
} hg_graph;

/* The shallow size of node v < g->n_nodes: one 4-byte load, and for the
 * rare saturated entry a binary search of the overflow table. */
static inline uint64_t hg_node_size(const hg_graph *g, hg_node v) {
    uint32_t s = g->size[v];
    hg_node lo = 0, hi = g->n_size_over;
    if (s != UINT32_MAX) {
        return s;
    }
    while (lo < hi) {
        hg_node mid = lo + (hi - lo) / 2;
        if (g->size_over[mid].node < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < g->n_size_over && g->size_over[lo].node == v
               ? g->size_over[lo].size
               : UINT32_MAX;
}

/* Allocate a graph with n_nodes uninitialised node-table entries, no size
 * overflow table and empty CSRs.  *out is NULL on failure. */
hg_status hg_graph_new(hg_node n_nodes, hg_graph **out);
/* Free everything; accepts NULL. */
void hg_graph_free(hg_graph *g);
/* Build g->rev from g->fwd if it is not built yet. */
hg_status hg_graph_reverse(hg_graph *g);
/* Bytes held by the node table (21 per node, plus 16 per size overflow
 * entry) and both CSRs. */
uint64_t hg_graph_nbytes(const hg_graph *g);
/* Nodes whose reference count is stored saturated (refcnt == UINT32_MAX:
 * 2^32 - 1 or more at capture, the true count unknown); 0 for NULL. */
hg_node hg_graph_count_saturated(const hg_graph *g);
/* Nodes whose stored reference count is min or more; 0 for NULL.  (From
 * CPython 3.12 on, a count of 2^31 or more marks an immortal object.) */
hg_node hg_graph_count_refcnt_from(const hg_graph *g, uint32_t min);

/* The roots of g: the nodes whose reference count exceeds their in-degree
 * (referenced from outside the graph; in_degree as hg_csr_in_degree
 * writes it for g->fwd, n_nodes entries), ids ascending.  *roots is
 * hg_alloc'ed with room for *n_roots + 1 ids (never NULL on success):
 * free it with hg_free(*roots, (*n_roots + 1) * sizeof(hg_node)).  Two
 * parallel passes (roots.c); on failure *roots is untouched. */
hg_status hg_graph_find_roots(const hg_graph *g, const uint32_t *in_degree,
                              hg_node **roots, size_t *n_roots);

/* Whether node v is reachable from a root -- a node whose refcnt exceeds
 * its in-degree -- by a backward search over g->rev (which must be built)
 * that stops at the first root.  *out = 1 (reachable), 0 (not: garbage),
 * or -1 when more than `budget` nodes reach v and none of those seen is a
 * root (unknown: ask hg_reach over the whole graph instead). */
hg_status hg_graph_rooted(const hg_graph *g, hg_node v, size_t budget,
                          int *out);

/* The collector's list after a full collection (CPython 3.11's
 * update_refs, subtract_refs and move_unreachable replayed on g; see
 * gc_order.c).  list: the n_list listed node ids in list order (the young
 * generations merged after the old one); refcnt: reference counts (n_nodes
 * entries).  pos[v] (n_nodes entries, overwritten) = v's rank in the final
 * list, or HG_NONE when v is unreachable (garbage) or not listed.
 * HG_EINVAL for an id out of range or listed twice. */
hg_status hg_gc_order(const hg_csr *g, const uint32_t *refcnt,
                      const hg_node *list, hg_node n_list, hg_node *pos);

/* The tracked nodes a full collection would untrack (untrack.c), as
 * CPython 3.11's collector does for reachable objects: exact tuples none of
 * whose items may be tracked, taken in the collector's list order after it
 * merges the young generations into the old (generation 2, 0, then 1; ids
 * in list order within one), then exact dicts none of whose keys or values
 * may be tracked, unless flagged HG_NODE_DICT_KEPT.  An item "may be
 * tracked" if it is HG_NODE_GC and not an untracked (or just untracked)
 * exact tuple.  type_flags: n_types entries, enum hg_type_flag_core bits.
 * Only tracked nodes with live[v] != 0 (n_nodes entries) and not frozen
 * are considered.  out (n_nodes bytes, overwritten) gets 1 for those the
 * collection would untrack, 0 elsewhere.  Allocates nothing. */
hg_status hg_untrack_replay(const hg_graph *g, const uint32_t *type_flags,
                            const uint8_t *live, uint8_t *out);
/* The same test for one node, with no list order and no liveness: 1 if a
 * collection would untrack v (an exact tuple or dict, not frozen), a nested
 * tuple counting as untracked when it would be untracked itself, looked at
 * up to 32 levels deep (deeper nesting counts as tracked).  0 otherwise,
 * and for a bad argument. */
int hg_untrack_local(const hg_graph *g, const uint32_t *type_flags, hg_node v);

/* ---- construction from raw edges -------------------------------------------
 * Nodes 0..n_src-1 are given with their addresses (distinct).  Each raw edge
 * is (source id < n_src, target address).  Targets whose address is one of
 * the given sources map to that source's id; every other distinct address
 * becomes a new node, numbered n_src, n_src+1, ... in order of first
 * appearance in the edge array.  The CSR keeps, per source, the edges in
 * their order in the input.  On success *out_addrs (owned, n_nodes entries)
 * lists every node's address and *out_n_nodes its count.
 */
typedef struct hg_raw_edge {
    hg_node source;
    uint64_t target_addr;
} hg_raw_edge;

hg_status hg_graph_build(hg_node n_src, const uint64_t *src_addrs,
                         const hg_raw_edge *edges, hg_edge n_edges, hg_csr *out,
                         uint64_t **out_addrs, hg_node *out_n_nodes);

/* ---- address index ---------------------------------------------------------
 * A read-only hash index from address to node id, built once per snapshot
 * for at()/at_addrs() and for resolving addresses given by users.
 */
typedef struct hg_addr_index hg_addr_index;
hg_status hg_addr_index_new(const uint64_t *addrs, hg_node n,
                            hg_addr_index **out);
void hg_addr_index_free(hg_addr_index *ix);
/* Node id with that address, or HG_NONE. */
hg_node hg_addr_index_find(const hg_addr_index *ix, uint64_t addr);
uint64_t hg_addr_index_nbytes(const hg_addr_index *ix);

/* ---- histograms -----------------------------------------------------------
 */

/* counts[t] = number of nodes v < n with type_ids[v] == t and (mask == NULL
 * or mask[v] != 0); counts has n_types entries and is overwritten.
 * Every type_ids[v] must be < n_types (HG_EINVAL otherwise). */
hg_status hg_type_histogram(const uint32_t *type_ids, hg_node n,
                            const uint8_t *mask, uint32_t n_types,
                            uint64_t *counts);

/* bytes[t] = sum of the sizes of nodes v < n of type t (and mask == NULL
 * or mask[v] != 0), sizes given as size (n entries) and its overflow table
 * (over, n_over: see "node sizes"); the same contract as hg_type_histogram
 * otherwise (HG_EINVAL for a bad overflow table too). */
hg_status hg_type_bytes(const uint32_t *type_ids, const uint32_t *size,
                        const hg_size_overflow *over, hg_node n_over, hg_node n,
                        const uint8_t *mask, uint32_t n_types, uint64_t *bytes);

/* References between types, for a summary drawing: type_slot[t] (n_types
 * entries) is the slot 0..k-1 type t is counted in, or HG_NONE to leave it
 * out; counts[a * k + b] (k * k entries, overwritten) = the number of edges
 * u -> v of g with u in slot a, v in slot b and both masked (mask == NULL:
 * all).  HG_EINVAL for a slot >= k or a type id >= n_types. */
hg_status hg_type_edges(const hg_csr *g, const uint32_t *type_ids,
                        const uint8_t *mask, uint32_t n_types,
                        const uint32_t *type_slot, uint32_t k,
                        uint64_t *counts);

/* ---- searches --------------------------------------------------------------
 * blocked (n_nodes bytes, may be NULL): nodes with blocked[v] != 0 are never
 * entered (nor expanded), except that sources are always entered.
 */

/* Multi-source BFS.  parent[v] = the predecessor of v on a shortest path
 * from the nearest source (the smallest id among equally near
 * predecessors), HG_NONE for sources and unreached nodes; depth[v] = its
 * distance (UINT32_MAX when unreached).  depth may be NULL.  Nodes farther
 * than max_depth are not reached (UINT32_MAX = no limit). */
hg_status hg_bfs(const hg_csr *g, const hg_node *sources, size_t n_sources,
                 const uint8_t *blocked, uint32_t max_depth, hg_node *parent,
                 uint32_t *depth);

/* hg_bfs's answer (same parent, same depth, same arguments), by a
 * direction-optimizing BFS (Beamer et al., GAP): on large frontiers each
 * unseen node scans its referrers for one in the frontier instead of every
 * frontier edge being pushed.  rev must be the reverse of fwd as
 * hg_csr_transpose makes it (rows ascending by source); with any other rev
 * the result is unspecified.  Pays on low-diameter graphs with big frontiers;
 * on chains it is hg_bfs. */
hg_status hg_bfs_diropt(const hg_csr *fwd, const hg_csr *rev,
                        const hg_node *sources, size_t n_sources,
                        const uint8_t *blocked, uint32_t max_depth,
                        hg_node *parent, uint32_t *depth);

/* The parents of a finished hg_bfs or hg_bfs_diropt chosen again by a key
 * of the caller's: every node v at depth d > 0 (depth as the search left
 * it) gets as parent its referrer u at depth d - 1 with the smallest
 * (key[u], u); sources and unreached nodes keep theirs.  rev: the reverse
 * of the graph searched (rows in any order).  Paths stay shortest, and
 * which of equally near referrers a node hangs from no longer depends on
 * node ids: with key = addresses, two captures of one heap, whatever order
 * they numbered it in, choose the same paths.  O(edges), parallel. */
hg_status hg_bfs_rekey_parents(const hg_csr *rev, const uint32_t *depth,
                               const uint64_t *key, hg_node *parent);

/* reached[v] = 1 if v is reachable from a source (sources included), else 0.
 * n_nodes bytes, overwritten. */
hg_status hg_reach(const hg_csr *g, const hg_node *sources, size_t n_sources,
                   const uint8_t *blocked, uint8_t *reached);

/* hg_reach's answer, by the search of hg_bfs_diropt (same rev). */
hg_status hg_reach_diropt(const hg_csr *fwd, const hg_csr *rev,
                          const hg_node *sources, size_t n_sources,
                          const uint8_t *blocked, uint8_t *reached);

/* One level of a queue-ordered BFS, for searches whose stopping test is
 * evaluated between levels (objgraph's predicates).  For each frontier node
 * u in frontier order and each edge u->v in CSR order: if v is not yet seen
 * (seen[v] == 0) and not blocked, set seen[v] = 1, parent[v] = u and append
 * v to next.  This is exactly the order of a FIFO-queue BFS.  next must hold
 * up to n_nodes entries; *n_next receives the count.  The caller marks the
 * start nodes seen. */
hg_status hg_bfs_step(const hg_csr *g, const hg_node *frontier,
                      size_t n_frontier, const uint8_t *blocked, uint8_t *seen,
                      hg_node *parent, hg_node *next, size_t *n_next);

/* hg_bfs_step over the reverse of g, without it: exactly what hg_bfs_step
 * gives on hg_csr_transpose(g) (referrers in frontier order, then
 * ascending), from one parallel scan of g's edges.  O(edges) a level
 * instead of O(edges) once for the transpose and O(frontier's in-edges) a
 * level: for the first few levels of a backward search on a graph whose
 * reverse is not built (a short chain on a fresh snapshot). */
hg_status hg_bfs_step_back(const hg_csr *g, const hg_node *frontier,
                           size_t n_frontier, const uint8_t *blocked,
                           uint8_t *seen, hg_node *parent, hg_node *next,
                           size_t *n_next);

/* ---- leak analysis --------------------------------------------------------
 * The dominator tree answers "what would be freed if this object went
 * away" (its retained size); strongly connected components are the
 * reference cycles.  All three are serial, iterative (no recursion: a
 * 10M-node chain works) and give the same answer for any thread count.
 */

/* Dominator tree of g with a virtual root above roots[0..n_roots): the
 * virtual root has an edge to every root.  idom[v] (n_nodes entries,
 * overwritten) = v's immediate dominator; HG_DOM_VIRTUAL for nodes whose
 * immediate dominator is the virtual root (the roots themselves, and nodes
 * reachable from two roots by disjoint paths); HG_NONE for nodes no root
 * reaches.  rev may be NULL (built internally if the algorithm needs it).
 * Iterative (no recursion): a 10M-node chain works.  Same answer for any
 * thread count.  HG_EINVAL for a root id out of range.
 * Also: rev, when given, must be the reverse of fwd (hg_csr_transpose; any
 * row order) -- HG_EINVAL if its node or edge count differs; roots may
 * repeat.  SEMI-NCA (domtree.c): about 20 bytes of scratch per node, plus
 * the reverse graph when rev is NULL; on HG_ENOMEM idom is untouched. */
#define HG_DOM_VIRTUAL ((hg_node)UINT32_MAX - 1)
hg_status hg_domtree_build(const hg_csr *fwd, const hg_csr *rev,
                           const hg_node *roots, size_t n_roots, hg_node *idom);

/* retained[v] = v's size + the retained sizes of v's children in the
 * dominator tree given by idom (as hg_domtree_build writes it); 0 for
 * unreached nodes (idom[v] == HG_NONE).  Sizes are size (n_nodes entries)
 * and its overflow table (over, n_over: see "node sizes").  Every byte
 * counted once.  One bottom-up pass (no recursion).
 * Also: HG_EINVAL when idom is not such a tree (a parent id out of range or
 * unreached, a node its own parent: retained untouched; a longer cycle:
 * retained unspecified) or the overflow table is bad (retained untouched);
 * on HG_ENOMEM retained is untouched. */
hg_status hg_domtree_retained(const hg_node *idom, hg_node n_nodes,
                              const uint32_t *size,
                              const hg_size_overflow *over, hg_node n_over,
                              uint64_t *retained);

/* Retained bytes per class, each byte counted once: out[c] (n_cls entries,
 * overwritten) = the sum of retained[v] over the nodes v of class c
 * (cls[v] == c and, when mask is not NULL, mask[v] != 0) that have no
 * proper dominator of class c; cls[v] == HG_NONE: v has no class.  idom
 * as hg_domtree_build writes it, retained as hg_domtree_retained does.
 * One iterative depth-first walk of the dominator tree (class_retained.c),
 * 16 bytes of scratch per node.  HG_EINVAL for an idom entry out of range
 * or a class >= n_cls; on HG_ENOMEM out is untouched. */
hg_status hg_domtree_class_retained(const hg_node *idom, hg_node n_nodes,
                                    const uint64_t *retained,
                                    const uint32_t *cls, uint32_t n_cls,
                                    const uint8_t *mask, uint64_t *out);

/* Strongly connected components: comp[v] (n_nodes entries) = the id of
 * v's component, components numbered 0..*n_comp-1 in order of their
 * smallest node id; nodes with mask[v] == 0 (mask may be NULL) are left
 * out (comp[v] = HG_NONE) and their edges ignored.  Iterative.
 * Also: Tarjan's algorithm in Pearce's form (scc.c), about 21 bytes of
 * scratch per node at most; on HG_ENOMEM comp is untouched. */
hg_status hg_scc(const hg_csr *g, const uint8_t *mask, hg_node *comp,
                 hg_node *n_comp);

/* ---- retention paths -----------------------------------------------------
 * A shortest-path tree from the roots (hg_bfs or hg_bfs_diropt, then
 * hg_bfs_rekey_parents) with the parent of each root of the search set to
 * HG_PATH_ROOT: every reached node's path from a root follows its parents.
 */
#define HG_PATH_ROOT ((hg_node)UINT32_MAX - 1)

/* Nodes told apart in signatures (roots, modules, classes): ids[i]
 * strictly ascending, key[i] < 2^31 its key (nodes with equal keys are
 * alike; a node not listed has no key). */
typedef struct hg_path_keys {
    const hg_node *ids;
    const uint32_t *key;
    size_t n;
} hg_path_keys;

typedef struct hg_path_group {
    uint64_t count;    /* targets whose path has this signature */
    uint64_t retained; /* their retained bytes, each byte counted once */
    hg_node example;   /* the member of lowest address */
} hg_path_group;

typedef struct hg_path_groups {
    hg_path_group *groups; /* n_groups entries, owned, ranked */
    size_t n_groups;
    size_t n_unreached; /* targets no root reaches */
} hg_path_groups;

/* The targets (targets[v] != 0) grouped by the signature of their path:
 * its type sequence (g->type_id, each below 2^31) and the keys of the
 * keyed nodes on it (keys may be NULL).  Groups rank most members first,
 * then most retained bytes, then lowest example address (g->addr), then
 * smallest example id.  With idom and retained (as hg_domtree_build and
 * hg_domtree_retained write them) each group's retained bytes are
 * counted as hg_domtree_class_retained counts a class; with both NULL
 * they are 0.  Signatures are hash-consed along the tree (paths.c): the
 * work is the number of distinct nodes on the paths.  *out (zeroed or
 * destroyed; written on success only) is freed with
 * hg_path_groups_destroy.  HG_EINVAL for a parent out of range, a path
 * that does not end at an HG_PATH_ROOT, a type id or key of 2^31 or more,
 * keyed ids not ascending. */
hg_status hg_paths_group(const hg_graph *g, const hg_node *parent,
                         const uint8_t *targets, const hg_path_keys *keys,
                         const hg_node *idom, const uint64_t *retained,
                         hg_path_groups *out);
/* Free the groups and zero the struct; accepts NULL. */
void hg_path_groups_destroy(hg_path_groups *pg);

/* ---- references on paths ---------------------------------------------------
 * Finding references in a graph's forward CSR: the edges of a shortest-path
 * tree (tree_edges.c) and the first edge between given pairs
 * (find_edges.c). */

/* A list of references: edges[i] is an index into a forward CSR (ascending),
 * src[i] and dst[i] the reference's source and target node.  Owned arrays
 * (hg_alloc'ed, n + 1 entries each); freed, and the struct zeroed, by
 * hg_edge_list_destroy, which accepts a zeroed struct. */
typedef struct hg_edge_list {
    size_t n;
    hg_edge *edges;
    hg_node *src;
    hg_node *dst;
} hg_edge_list;

void hg_edge_list_destroy(hg_edge_list *list);

/* The references of the shortest-path tree `parent` (hg_bfs's encoding:
 * HG_PATH_ROOT for a root, HG_NONE unreached) out of the nodes whose type
 * is set in type_mask (g->n_types bytes): every edge e = (u -> w) of g->fwd
 * with type_mask[g->type_id[u]] != 0 and parent[w] == u, in CSR order.  A
 * multi-edge u -> w counts each time.  Parallel over contiguous ranges of
 * sources, counted then filled: the same list for any thread count.
 * O(nodes + edges).  HG_EINVAL for a NULL argument (with nodes) or a type
 * id >= g->n_types; on failure *out is zeroed. */
hg_status hg_paths_tree_edges(const hg_graph *g, const hg_node *parent,
                              const uint8_t *type_mask, hg_edge_list *out);

/* out[i] = the index into g's targets of the first edge src[i] -> dst[i]
 * (in CSR order), or UINT64_MAX when there is none; for i < n.  Parallel
 * over the pairs.  O(n + the rows scanned).  HG_EINVAL for a NULL argument
 * (with n > 0) or an id >= g->n_nodes, out then untouched. */
hg_status hg_csr_find_edges(const hg_csr *g, const hg_node *src,
                            const hg_node *dst, size_t n, uint64_t *out);

/* ---- ranking ---------------------------------------------------------------
 */

/* The k nodes v (mask == NULL: all; else those with mask[v] != 0) with the
 * largest key[v], into out, most first, ties to the smaller id; *n_out =
 * how many (min(k, masked nodes)).  k == 0 or k > n_nodes: all of them.
 * out must hold min(k, n_nodes) entries (k == 0: n_nodes).  A bounded heap
 * per chunk of nodes (topk.c): 16 bytes per entry kept, O(n log k). */
hg_status hg_topk(const uint64_t *key, hg_node n_nodes, const uint8_t *mask,
                  size_t k, hg_node *out, size_t *n_out);

/* ---- reference cycles ------------------------------------------------------
 */

typedef struct hg_cycle_group {
    uint64_t first_type; /* its type ids: types[first_type ..) */
    uint32_t n_types;    /* .. + n_types), ascending */
    hg_node n_comps;     /* components with exactly these types */
    uint64_t n_nodes;    /* their nodes */
    uint64_t nbytes;     /* their shallow bytes */
    hg_node example;     /* the component of smallest id */
} hg_cycle_group;

typedef struct hg_cycle_groups {
    hg_cycle_group *groups; /* n_groups entries, owned */
    size_t n_groups;
    uint32_t *types; /* n_types entries, owned: the groups' type ids */
    size_t n_types;
} hg_cycle_groups;

/* The components of two nodes or more (comp and n_comp as hg_scc writes
 * them; HG_NONE: left out) grouped by their set of type ids (g->type_id),
 * groups in order of those sets: fewer types first, then ascending type
 * ids compared in turn.  Bytes are g's shallow sizes (hg_node_size).
 * Distinct (component, type) pairs through a hash table, then sorts
 * (cycles.c).  *out (zeroed or destroyed; written on success only) is
 * freed with hg_cycle_groups_destroy.  HG_EINVAL for a component id >=
 * n_comp or a bad size overflow table. */
hg_status hg_cycles_group(const hg_graph *g, const hg_node *comp,
                          hg_node n_comp, hg_cycle_groups *out);
/* Free the groups and zero the struct; accepts NULL. */
void hg_cycle_groups_destroy(hg_cycle_groups *cg);

/* ---- snapshot files --------------------------------------------------------
 * A versioned binary file holding a graph's node table and forward CSR, the
 * type table and short node labels (snapfile.c; docs/snapshot-format.rst).
 * The writer replaces `path` atomically (temporary file, fsync, rename); the
 * reader reads the file into memory it owns (or, on request, maps it) and
 * validates every byte before use.
 * Functions taking `why` (may be NULL) write a one-line reason there on
 * failure (at most n_why bytes, NUL-terminated).
 */
#define HG_SNAPFILE_VERSION 3 /* written; versions 1 and 2 still load */
#define HG_SNAPFILE_TEXT 48   /* bytes of each header text, NUL included */

/* A table of `count` UTF-8 strings: string i is bytes[offsets[i] ..
 * offsets[i+1]); offsets has count+1 entries, offsets[0] == 0,
 * non-decreasing (count == 0: offsets and bytes may be NULL). */
typedef struct hg_strtab {
    uint64_t count;
    const uint64_t *offsets;
    const char *bytes;
} hg_strtab;

/* Everything a snapshot file holds.  graph->rev is not stored. */
typedef struct hg_snapfile_data {
    const hg_graph *graph; /* node table + fwd; type ids < n_types */
    uint32_t n_types;
    const uint64_t *type_addr;  /* n_types */
    const uint32_t *type_flags; /* n_types, the capturer's flag bits */
    hg_strtab short_names;      /* n_types strings */
    hg_strtab long_names;       /* n_types strings */
    hg_node n_labels;           /* labelled nodes (module, class, ...) */
    const hg_node *label_nodes; /* n_labels ids, strictly ascending */
    hg_strtab labels;           /* n_labels strings */
    /* Optional labels of references (dict keys on paths): reference
     * edge_label_edges[i] (an index into graph->fwd.targets, strictly
     * ascending) has label edge_labels[i]. */
    uint64_t n_edge_labels;
    const uint64_t *edge_label_edges;
    hg_strtab edge_labels;
    /* Optional notes on nodes, for the reader to name roots the way the
     * capture did (what a thread's local or a class's module was):
     * node note_nodes[i] (ids strictly ascending) has note notes[i]. */
    hg_node n_notes;
    const hg_node *note_nodes;
    hg_strtab notes;
    /* The format version of the file read (1 to HG_SNAPFILE_VERSION): the
     * meaning of the edge labels depends on it (docs/snapshot-format.rst).
     * Ignored by the writer, which writes HG_SNAPFILE_VERSION. */
    uint32_t version;
    double pause_seconds; /* the capture's figures */
    double capture_seconds;
    double created;                  /* Unix time of the capture */
    char runtime[HG_SNAPFILE_TEXT];  /* e.g. "CPython 3.11.2" */
    char producer[HG_SNAPFILE_TEXT]; /* e.g. "objgraph 4.0.0" */
} hg_snapfile_data;

/* Write d to path atomically: "<path>.tmp-XXXXXXXX" in the same directory,
 * fsync, rename over path.  path must name a regular file or nothing; a
 * symbolic link to a regular file is kept and its target replaced (the
 * temporary file then goes beside the target).  HG_EINVAL for inconsistent
 * data, HG_ENOMEM, HG_EIO (ENOSPC, EFBIG, EACCES...: named in why; and a
 * path naming a device, FIFO, socket, directory, a link to one or a
 * dangling link, refused before anything is written); on failure no
 * temporary file is left and path is untouched.  Reads d only (no GIL
 * needed). */
hg_status hg_snapfile_write(const char *path, const hg_snapfile_data *d,
                            char *why, size_t n_why);

/* An open, validated snapshot file. */
typedef struct hg_snapfile hg_snapfile;

/* Read path into a buffer f owns (about the file's size, hg_alloc'd) and
 * validate it; *out is NULL on failure.  Reads format versions 1 to 3.
 * Once open, f never touches the file again: truncating or rewriting it
 * cannot affect f.  HG_EIO: cannot open or read it (missing, a directory,
 * not a regular file, or changed in size while it was read, as when
 * another program rewrites it in place); HG_EFORMAT: not a valid snapshot
 * file (bad magic, other version or byte order, truncated, checksum
 * mismatch -- also what a file rewritten during the read gives --, broken
 * CSR...); HG_ENOMEM. */
hg_status hg_snapfile_open(const char *path, hg_snapfile **out, char *why,
                           size_t n_why);
/* The same, but map the file read-only instead of reading it: no copy,
 * faster to open.  The file must then stay as it is until
 * hg_snapfile_close: truncated meanwhile, the next access to the missing
 * pages raises SIGBUS; rewritten in place, the validated arrays change
 * under the caller (out-of-range ids: SIGSEGV).  Replacing it by rename,
 * as hg_snapfile_write does, is safe.  HG_EIO also when mmap fails. */
hg_status hg_snapfile_map(const char *path, hg_snapfile **out, char *why,
                          size_t n_why);
/* The same over a caller's buffer (aligned to 8 bytes, kept alive and
 * unchanged until hg_snapfile_close): for tests and fuzzing. */
hg_status hg_snapfile_open_mem(const void *data, size_t len, hg_snapfile **out,
                               char *why, size_t n_why);
/* Free (or unmap) the file's bytes, with the reverse CSR if one was built;
 * accepts NULL. */
void hg_snapfile_close(hg_snapfile *f);
/* The file's graph: arrays point into the file's bytes (f's buffer or the
 * mapping) and must not be written or freed (but for a version 1 file the
 * sizes, converted on open into arrays f owns); hg_graph_reverse may build
 * rev (owned by f). */
hg_graph *hg_snapfile_graph(hg_snapfile *f);
/* The file's contents (graph == hg_snapfile_graph(f)); valid until close. */
const hg_snapfile_data *hg_snapfile_contents(const hg_snapfile *f);
/* Bytes of memory f holds: the file's bytes (its buffer, or the mapping),
 * and a version 1 file's converted sizes; not the reverse CSR. */
uint64_t hg_snapfile_nbytes(const hg_snapfile *f);
/* The file's size in bytes. */
uint64_t hg_snapfile_size(const hg_snapfile *f);
/* Nonzero when f maps its file (hg_snapfile_map) instead of owning a copy. */
int hg_snapfile_is_mapped(const hg_snapfile *f);
/* The format's checksum: XXH64 of len bytes with the given seed. */
uint64_t hg_snapfile_checksum(const void *data, size_t len, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* HEAPGRAPH_H */
