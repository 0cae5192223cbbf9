/*
 * leakdata.c -- the arrays leak analysis builds once per graph.
 *
 * analysis.c and retention.c answer from these; each is built on first use
 * through graphobj.c's lazy cache (hgpy_graph_ensure: under self->lock,
 * the GIL released) and kept; graphobj.c counts it in nbytes and frees it
 * with the graph.
 *   idom       hg_domtree_build, a virtual root pointing at every root
 *              (the roots: graphobj.c's hgpy_graph_build_roots);
 *   retained   hg_domtree_retained (shallow sizes summed over subtrees);
 *   comp       hg_scc over the nodes outside the capturer's machinery;
 *   bfs_parent hg_bfs_diropt from every root, excluded nodes blocked, ties
 *              between equally near parents broken by address
 *              (hg_bfs_rekey_parents).
 *
 * Encodings:
 *   idom[v]        node id, HG_DOM_VIRTUAL under the virtual root, HG_NONE
 *                  when no root reaches v;
 *   bfs_parent[v]  parent on a shortest path from a root, HG_PATH_ROOT for
 *                  the roots themselves, HG_NONE when unreached.
 */
#include "leakdata.h"

static hg_graph *G(const GraphObject *self) {
    return self->cap.graph;
}

static size_t nodes_nbytes(const GraphObject *self, size_t elem) {
    return (size_t)G(self)->n_nodes * elem + 1;
}

/* ---- builders (self->lock held, GIL released) ---------------------------- */

static hg_status build_idom(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node *idom;
    hg_status st = hgpy_graph_build_roots(self);
    if (st != HG_OK) {
        return st;
    }
    idom = hg_alloc(nodes_nbytes(self, sizeof(hg_node)));
    if (idom == NULL) {
        return HG_ENOMEM;
    }
    st = hg_domtree_build(&g->fwd, &g->rev, self->roots, self->n_roots, idom);
    if (st != HG_OK) {
        hg_free(idom, nodes_nbytes(self, sizeof(hg_node)));
        return st;
    }
    self->idom = idom;
    return HG_OK;
}

static hg_status build_retained(GraphObject *self) {
    const hg_graph *g = G(self);
    uint64_t *retained;
    hg_status st = self->idom != NULL ? HG_OK : build_idom(self);
    if (st != HG_OK) {
        return st;
    }
    retained = hg_alloc(nodes_nbytes(self, sizeof(uint64_t)));
    if (retained == NULL) {
        return HG_ENOMEM;
    }
    st = hg_domtree_retained(self->idom, g->n_nodes, g->size, g->size_over,
                             g->n_size_over, retained);
    if (st != HG_OK) {
        hg_free(retained, nodes_nbytes(self, sizeof(uint64_t)));
        return st;
    }
    self->retained = retained;
    return HG_OK;
}

/* The nodes outside the capturer's machinery (1) -- or, inverted, the
 * machinery (1): n_nodes bytes, hg_free(m, n_nodes + 1). */
static uint8_t *machinery_mask(const GraphObject *self, int machinery) {
    hg_graph *g = G(self);
    uint8_t *m = hg_alloc((size_t)g->n_nodes + 1);
    if (m != NULL) {
        for (hg_node v = 0; v < g->n_nodes; v++) {
            m[v] = ((g->flags[v] & HG_NODE_EXCLUDED) != 0) == machinery;
        }
    }
    return m;
}

static hg_status build_comp(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node *comp, n_comp = 0;
    uint8_t *mask = machinery_mask(self, 0);
    hg_status st;
    comp = hg_alloc(nodes_nbytes(self, sizeof(hg_node)));
    if (mask == NULL || comp == NULL) {
        hg_free(mask, (size_t)g->n_nodes + 1);
        hg_free(comp, nodes_nbytes(self, sizeof(hg_node)));
        return HG_ENOMEM;
    }
    st = hg_scc(&g->fwd, mask, comp, &n_comp);
    hg_free(mask, (size_t)g->n_nodes + 1);
    if (st != HG_OK) {
        hg_free(comp, nodes_nbytes(self, sizeof(hg_node)));
        return st;
    }
    self->comp = comp;
    self->n_comp = n_comp;
    return HG_OK;
}

/* Shortest paths from the roots outside the machinery, never through it;
 * of equally near referrers, a node hangs from the one of lowest address,
 * so every snapshot of one heap -- pinned, detached, a file of either,
 * numbered in whatever order the collector's lists were in -- prints the
 * same paths. */
static hg_status build_bfs(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node *parent = NULL, *sources = NULL;
    uint32_t *depth = NULL;
    uint8_t *blocked = NULL;
    size_t n_src = 0;
    hg_status st = hgpy_graph_build_roots(self);
    if (st != HG_OK) {
        return st;
    }
    parent = hg_alloc(nodes_nbytes(self, sizeof(hg_node)));
    depth = hg_alloc(nodes_nbytes(self, sizeof(uint32_t)));
    sources = hg_alloc(self->n_roots * sizeof(hg_node) + 1);
    blocked = machinery_mask(self, 1);
    if (parent == NULL || depth == NULL || sources == NULL || blocked == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < self->n_roots; i++) {
        if (!blocked[self->roots[i]]) {
            sources[n_src++] = self->roots[i];
        }
    }
    st = hg_bfs_diropt(&g->fwd, &g->rev, sources, n_src, blocked, UINT32_MAX,
                       parent, depth);
    if (st == HG_OK) {
        st = hg_bfs_rekey_parents(&g->rev, depth, g->addr, parent);
    }
    if (st != HG_OK) {
        goto cleanup;
    }
    for (size_t i = 0; i < n_src; i++) {
        parent[sources[i]] = HG_PATH_ROOT;
    }
    self->bfs_parent = parent;
    parent = NULL;
cleanup:
    hg_free(parent, nodes_nbytes(self, sizeof(hg_node)));
    hg_free(depth, nodes_nbytes(self, sizeof(uint32_t)));
    hg_free(sources, self->n_roots * sizeof(hg_node) + 1);
    hg_free(blocked, (size_t)g->n_nodes + 1);
    return st;
}

int hgpy_graph_ensure_idom(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->idom, build_idom,
                             HGPY_NEEDS_REVERSE, "building the dominator tree");
}

int hgpy_graph_ensure_retained(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->retained,
                             build_retained, HGPY_NEEDS_REVERSE,
                             "computing retained sizes");
}

int hgpy_graph_ensure_comp(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->comp, build_comp,
                             HGPY_NEEDS_EDGES,
                             "finding strongly connected components");
}

int hgpy_graph_ensure_bfs(GraphObject *self) {
    return hgpy_graph_ensure(self, (void *const *)&self->bfs_parent, build_bfs,
                             HGPY_NEEDS_REVERSE,
                             "searching shortest paths from the roots");
}
