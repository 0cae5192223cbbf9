/*
 * ref_edges.h -- naive references for the kernels of heapgraph.h's
 * "references on paths" (hg_paths_tree_edges, hg_csr_find_edges), in
 * ref_edges.c.
 */
#ifndef HG_TEST_REF_EDGES_H
#define HG_TEST_REF_EDGES_H

#include "heapgraph.h"

/* Tree edges by target: for each node w whose parent p is a node of a
 * chosen type, every edge p -> w (all of a multi-edge), then sorted by
 * edge index.  *edges, *src, *dst malloc'ed (n + 1 entries); returns n. */
size_t ref_tree_edges(const hg_graph *g, const hg_node *parent,
                      const uint8_t *type_mask, hg_edge **edges, hg_node **src,
                      hg_node **dst);

/* The first edge src[i] -> dst[i] by a backward scan of src[i]'s row
 * (the last match seen from the end), UINT64_MAX if none. */
void ref_find_edges(const hg_csr *g, const hg_node *src, const hg_node *dst,
                    size_t n, uint64_t *out);

#endif /* HG_TEST_REF_EDGES_H */
