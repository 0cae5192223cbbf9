/*
 * untrack.c -- which tracked objects would a full gc.collect() untrack?
 *
 * objgraph 3.x forces gc.collect() before counting growth or searching
 * leaks; besides freeing garbage, a full collection untracks tuples and
 * dicts that contain nothing the collector needs to follow (CPython 3.11
 * Modules/gcmodule.c: untrack_tuples, untrack_dicts; Objects/dictobject.c:
 * _PyDict_MaybeUntrack).  The objgraph functions that answer "as after a
 * collection" without running one leave those nodes out too, so counts
 * match objgraph 3.x exactly.  A dict is judged by its edges, except one
 * the capture flagged HG_NODE_DICT_KEPT: 3.13 visits an instance's inline
 * values from the instance, not from the __dict__ made for it, while
 * _PyDict_MaybeUntrack reads them.
 *
 * Works on the captured arrays only (no Python API): one pass over the
 * tuples in the collector's order, one over the dicts.  Expected scale:
 * 1M-50M nodes; O(nodes + edges of tuples and dicts).
 */
#include "capture.h"

#include <string.h>

/* Generation bits -> position of the generation in the merged list a full
 * collection walks: 2 first, then 0, then 1; 3 (frozen) is never walked. */
static const int merged_rank[4] = {1, 2, 0, -1};

/* Whether CPython's _PyObject_GC_MAY_BE_TRACKED holds for node w, given
 * the untracking decided so far (out). */
static int may_be_tracked(const hg_graph *g, const uint32_t *type_flags,
                          const uint8_t *out, hg_node w) {
    uint8_t f = g->flags[w];
    if (!(f & HG_NODE_GC)) {
        return 0;
    }
    if (type_flags[g->type_id[w]] & HG_TYPE_EXACT_TUPLE) {
        return (f & HG_NODE_TRACKED) && !out[w];
    }
    return 1;
}

static int all_untracked(const hg_graph *g, const uint32_t *type_flags,
                         const uint8_t *out, hg_node v) {
    for (hg_edge e = g->fwd.offsets[v]; e < g->fwd.offsets[v + 1]; e++) {
        if (may_be_tracked(g, type_flags, out, g->fwd.targets[e])) {
            return 0;
        }
    }
    return 1;
}

hg_status hg_capture_untrackable(const hg_capture *c, const uint8_t *live,
                                 uint8_t *out) {
    const hg_graph *g;
    const uint32_t *tf;

    if (c == NULL || c->graph == NULL || live == NULL || out == NULL) {
        return HG_EINVAL;
    }
    g = c->graph;
    tf = c->type_flags;
    memset(out, 0, g->n_nodes);
    /* tuples, generation by generation in the merged order; within a
     * generation, ids follow the list order */
    for (int rank = 0; rank < 3; rank++) {
        for (hg_node v = 0; v < g->n_tracked; v++) {
            int gen = (g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT;
            if (merged_rank[gen] != rank || !live[v] ||
                !(tf[g->type_id[v]] & HG_TYPE_EXACT_TUPLE)) {
                continue;
            }
            out[v] = (uint8_t)all_untracked(g, tf, out, v);
        }
    }
    /* dicts: after the tuples, as untrack_dicts runs after untrack_tuples */
    for (hg_node v = 0; v < g->n_tracked; v++) {
        int gen = (g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT;
        if (merged_rank[gen] < 0 || !live[v] ||
            !(tf[g->type_id[v]] & HG_TYPE_EXACT_DICT)) {
            continue;
        }
        /* a dict whose values its object visits (3.13): the capture
         * checked them as _PyDict_MaybeUntrack does */
        out[v] = (uint8_t)(all_untracked(g, tf, out, v) &&
                           !(g->flags[v] & HG_NODE_DICT_KEPT));
    }
    return HG_OK;
}
