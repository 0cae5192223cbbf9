/*
 * graph.h -- the Graph type's primitive queries (graph.c).
 *
 * graph.c's part of the Graph method table; module.c puts it in the type.
 */
#ifndef HGPY_GRAPH_H
#define HGPY_GRAPH_H

#include "graphobj.h"

/* close, node and type tables, masks, histograms, selections, addresses
 * and objects, neighbours, bfs_step: NULL-terminated. */
extern PyMethodDef hgpy_graph_methods[];

#endif /* HGPY_GRAPH_H */
