/*
 * heapgraph_edges.h -- finding references in a graph's forward CSR:
 * the edges of a shortest-path tree (tree_edges.c) and the first edge
 * between given pairs (find_edges.c).
 *
 * Part of the core's public interface (heapgraph.h's contract and ids).
 * It stands apart only while heapgraph.h is being edited elsewhere; its
 * prototypes belong under heapgraph.h's "paths" heading, and this header
 * goes when they move there.
 */
#ifndef HEAPGRAPH_EDGES_H
#define HEAPGRAPH_EDGES_H

#include "heapgraph.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* HEAPGRAPH_EDGES_H */
