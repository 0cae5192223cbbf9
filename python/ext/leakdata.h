/*
 * leakdata.h -- the arrays leak analysis builds once per graph
 * (leakdata.c): dominator tree, retained sizes, strongly connected
 * components, shortest-path tree from the roots.
 */
#ifndef HGPY_LEAKDATA_H
#define HGPY_LEAKDATA_H

#include "graphobj.h"

/* self->idom, self->retained (with idom), self->comp and n_comp,
 * self->bfs_parent: built unless built, then kept.  0, or -1 with an
 * exception (ValueError for a nodes_only graph). */
int hgpy_graph_ensure_idom(GraphObject *self);
int hgpy_graph_ensure_retained(GraphObject *self);
int hgpy_graph_ensure_comp(GraphObject *self);
int hgpy_graph_ensure_bfs(GraphObject *self);

#endif /* HGPY_LEAKDATA_H */
