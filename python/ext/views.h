/*
 * views.h -- node masks, type histograms and selections (views.c).
 *
 * views.c's part of the Graph method table; module.c puts it in the type.
 */
#ifndef HGPY_VIEWS_H
#define HGPY_VIEWS_H

#include "graphobj.h"

/* mask, type_counts, type_order, type_bytes, type_edges, select,
 * zero_in_degree, addrs_by_type: NULL-terminated. */
extern PyMethodDef hgpy_views_methods[];

#endif /* HGPY_VIEWS_H */
