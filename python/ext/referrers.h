/*
 * referrers.h -- the referrers a drawing shows (referrers.c).
 *
 * Graph.draw_referrers, Graph.shown_filter and Graph.shown; module.c puts
 * them in the Graph method table.  (Their hg_graph_ names predate the
 * bindings' hgpy_ prefix and stay while referrers.c is reworked.)
 */
#ifndef HGPY_REFERRERS_H
#define HGPY_REFERRERS_H

#include "graphobj.h"

/* Build self->gc_pos if it is not built: 0, or -1 with an exception. */
int hgpy_graph_ensure_gc_pos(GraphObject *self);
/* Graph.draw_referrers(id) -> list[int]. */
PyObject *hgpy_graph_draw_referrers(GraphObject *self, PyObject *arg);
/* Graph.shown_filter(frontier, local=False) -> bytes. */
PyObject *hgpy_graph_shown_filter(GraphObject *self, PyObject *args);
/* Graph.shown(id) -> bool. */
PyObject *hgpy_graph_shown(GraphObject *self, PyObject *arg);

#endif /* HGPY_REFERRERS_H */
