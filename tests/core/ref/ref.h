/*
 * ref.h -- naive serial reference implementations of the core kernels.
 *
 * Written for obviousness, not speed, and by a different route than the
 * kernels where one exists (sorting instead of counting, edge scans instead
 * of frontiers), so that agreement means something.  Outputs are plain
 * malloc'ed arrays; the caller frees them with free().
 */
#ifndef HG_TEST_REF_H
#define HG_TEST_REF_H

#include "heapgraph.h"

/* in_degree[v], counting only sources with mask[u] != 0 (mask may be NULL). */
void ref_in_degree(const hg_csr *g, const uint8_t *mask, uint32_t *in_degree);

/* Reverse CSR by sorting (target, source) pairs: *off has n+1 entries,
 * *tgt n_edges. */
void ref_transpose(const hg_csr *g, hg_edge **off, hg_node **tgt);

/* counts[t] for t < n_types. */
void ref_histogram(const uint32_t *type_ids, hg_node n, const uint8_t *mask,
                   uint32_t n_types, uint64_t *counts);

/* bytes[t]: sizes summed per type; counts[a * k + b]: edges between the
 * slots of masked nodes (hg_type_bytes, hg_type_edges). */
void ref_type_bytes(const uint32_t *type_ids, const uint64_t *sizes, hg_node n,
                    const uint8_t *mask, uint32_t n_types, uint64_t *bytes);
void ref_type_edges(const hg_csr *g, const uint32_t *type_ids,
                    const uint8_t *mask, const uint32_t *type_slot, uint32_t k,
                    uint64_t *counts);

/* hg_gc_order by a literal replay of CPython's move_unreachable on a
 * doubly linked list (young list, unreachable list, tail appends). */
void ref_gc_order(const hg_csr *g, const uint32_t *refcnt, const hg_node *list,
                  hg_node n_list, hg_node *pos);

/* hg_untrack_replay by writing the collector's merged list out (the live
 * tracked nodes of generation 2, then 0, then 1) and walking it twice, the
 * tuples in the first pass, the dicts in the second. */
void ref_untrack_replay(const hg_graph *g, const uint32_t *type_flags,
                        const uint8_t *live, uint8_t *out);

/* hg_graph_build by sorting and binary search; returns 0, or -1 if the
 * input is invalid (repeated source address, source id out of range). */
int ref_build(hg_node n_src, const uint64_t *src_addrs,
              const hg_raw_edge *edges, hg_edge n_edges, hg_node *n_nodes,
              uint64_t **addrs, hg_edge **off, hg_node **tgt);

/* The nodes with refcnt[v] > in_degree[v], one by one; returns how many. */
size_t ref_roots(const uint32_t *refcnt, const uint32_t *in_degree, hg_node n,
                 hg_node *roots);

/* BFS by definition: depths from a FIFO search, then parent[v] = the
 * smallest u with an edge u -> v and depth[u] + 1 == depth[v]. */
void ref_bfs(const hg_csr *g, const hg_node *sources, size_t n_sources,
             const uint8_t *blocked, uint32_t max_depth, hg_node *parent,
             uint32_t *depth);

/* Reachability by depth-first search with an explicit stack. */
void ref_reach(const hg_csr *g, const hg_node *sources, size_t n_sources,
               const uint8_t *blocked, uint8_t *reached);

/* A textbook FIFO-queue BFS from one start node: parent on first sight,
 * order[] = nodes in dequeue order (start first); returns their count. */
size_t ref_fifo_bfs(const hg_csr *g, hg_node start, const uint8_t *blocked,
                    hg_node *parent, hg_node *order);

/* Dominators by their definition: d dominates w iff w is reachable from
 * the roots but not once d is removed; idom[w] = the strict dominator with
 * the most dominators itself (the closest), HG_DOM_VIRTUAL when there is
 * none, HG_NONE when w is not reached.  O(n * m) time, n * n bytes. */
void ref_domtree(const hg_csr *g, const hg_node *roots, size_t n_roots,
                 hg_node *idom);

/* retained[v] by walking up from every node, adding its size to each of
 * its dominator-tree ancestors (and itself). */
void ref_retained(const hg_node *idom, hg_node n, const uint64_t *size,
                  uint64_t *retained);

/* out[c] by walking up from every node of class c (and mask) to the
 * virtual root: it counts retained[v] when no ancestor on the way has
 * class c and mask (hg_domtree_class_retained). */
void ref_class_retained(const hg_node *idom, hg_node n,
                        const uint64_t *retained, const uint32_t *cls,
                        uint32_t n_cls, const uint8_t *mask, uint64_t *out);

/* hg_topk by sorting every masked node (key descending, id ascending)
 * and keeping the first k; returns how many. */
size_t ref_topk(const uint64_t *key, hg_node n, const uint8_t *mask, size_t k,
                hg_node *out);

/* hg_paths_group by writing every reached target's path out as tokens
 * (0x80000000 | key before a keyed node, then its type id; root first),
 * sorting the paths and cutting equal runs into groups; retained bytes by
 * ref_class_retained with the groups as classes.  *groups (n_nodes + 1
 * entries, free()) gets the ranked groups; returns their count. */
size_t ref_paths_group(const hg_graph *g, const hg_node *parent,
                       const uint8_t *targets, const hg_path_keys *keys,
                       const hg_node *idom, const uint64_t *retained,
                       hg_path_group **groups, size_t *n_unreached);

/* hg_cycles_group by listing each component's nodes, writing out its
 * sorted set of types and comparing the sets of every pair of
 * components.  groups (n_nodes + 1 entries) and types (n_nodes + 1) are
 * the caller's; returns the number of groups, *n_types the types written. */
size_t ref_cycles_group(const hg_graph *g, const hg_node *comp, hg_node n_comp,
                        hg_cycle_group *groups, uint32_t *types,
                        size_t *n_types);

/* Components by mutual reachability (one search per node over the masked
 * nodes), numbered by smallest node id; returns their count. */
hg_node ref_scc(const hg_csr *g, const uint8_t *mask, hg_node *comp);

#endif /* HG_TEST_REF_H */
