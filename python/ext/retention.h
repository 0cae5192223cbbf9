/*
 * retention.h -- retention paths on a Graph (retention.c).
 *
 * retention.c's part of the Graph method table; module.c puts it in the
 * type.
 */
#ifndef HGPY_RETENTION_H
#define HGPY_RETENTION_H

#include "graphobj.h"

/* retention_groups, path_to_root, path_edges, find_edges: NULL-terminated. */
extern PyMethodDef hgpy_retention_methods[];

#endif /* HGPY_RETENTION_H */
