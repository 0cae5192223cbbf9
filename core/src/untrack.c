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
 * Two answers, one rule ("an item may be tracked if it is a GC object and
 * not an untracked, or just untracked, exact tuple"):
 *
 *   - hg_untrack_replay, the whole heap, as the collection runs: the
 *     tuples one at a time in the collector's list order after it merges
 *     the young generations into the old (2, then 0, then 1; ids follow
 *     list order within a generation), so a tuple sees the verdicts of
 *     the tuples before it; then the dicts, which read only the tuples'
 *     verdicts and so are judged in parallel;
 *   - hg_untrack_local, one node, with no order: a nested tuple counts as
 *     untracked when it would be untracked itself, looked at up to
 *     HG__UNTRACK_DEPTH levels deep (deeper nesting counts as tracked).
 *     A drawing asks it of a handful of referrers.
 *
 * Encodings: out[v] == 1 means the collection would untrack v.  Memory:
 * none beyond out.  Scale: 1M-50M nodes; O(nodes + edges of tuples and
 * dicts) for the replay, O(edges within HG__UNTRACK_DEPTH levels) for one
 * local answer.
 */
#include "hg_internal.h"

#define HG__UNTRACK_DEPTH 32

static inline unsigned generation(const hg_graph *g, hg_node v) {
    return (g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT;
}

static inline int is_tuple(const hg_graph *g, const uint32_t *tf, hg_node v) {
    return (tf[g->type_id[v]] & HG_TYPE_EXACT_TUPLE) != 0;
}

static inline int is_dict(const hg_graph *g, const uint32_t *tf, hg_node v) {
    return (tf[g->type_id[v]] & HG_TYPE_EXACT_DICT) != 0;
}

/* Whether CPython's _PyObject_GC_MAY_BE_TRACKED holds for node w, given
 * the untracking decided so far (out). */
static int may_be_tracked(const hg_graph *g, const uint32_t *tf,
                          const uint8_t *out, hg_node w) {
    uint8_t f = g->flags[w];
    if (!(f & HG_NODE_GC)) {
        return 0;
    }
    if (is_tuple(g, tf, w)) {
        return (f & HG_NODE_TRACKED) && !out[w];
    }
    return 1;
}

/* Whether no edge of v leads to a node that may be tracked. */
static int all_untracked(const hg_graph *g, const uint32_t *tf,
                         const uint8_t *out, hg_node v) {
    for (hg_edge e = g->fwd.offsets[v]; e < g->fwd.offsets[v + 1]; e++) {
        if (may_be_tracked(g, tf, out, g->fwd.targets[e])) {
            return 0;
        }
    }
    return 1;
}

hg_status hg_untrack_replay(const hg_graph *g, const uint32_t *type_flags,
                            const uint8_t *live, uint8_t *out) {
    int par;
    int64_t v;

    if (g == NULL || (g->n_nodes > 0 && (live == NULL || out == NULL)) ||
        (g->n_types > 0 && type_flags == NULL)) {
        return HG_EINVAL;
    }
    if (g->n_nodes == 0) {
        return HG_OK;
    }
    par = hg__n_chunks(g->n_tracked) > 1;
    (void)par; /* without OpenMP */
    memset(out, 0, g->n_nodes);

    /* ---- tuples, generation by generation in the merged order ---- */
    for (unsigned rank = 0; rank < HG_GC_RANK_FROZEN; rank++) {
        for (hg_node u = 0; u < g->n_tracked; u++) {
            if (hg_gc_rank(generation(g, u)) != rank || !live[u] ||
                !is_tuple(g, type_flags, u)) {
                continue;
            }
            out[u] = (uint8_t)all_untracked(g, type_flags, out, u);
        }
    }

    /* ---- dicts: after the tuples, as untrack_dicts runs after
     * untrack_tuples; each reads only the tuples' verdicts ---- */
#pragma omp parallel for schedule(static) if (par) num_threads(hg_num_threads())
    for (v = 0; v < (int64_t)g->n_tracked; v++) {
        hg_node u = (hg_node)v;
        if (hg_gc_rank(generation(g, u)) == HG_GC_RANK_FROZEN || !live[u] ||
            !is_dict(g, type_flags, u)) {
            continue;
        }
        /* a dict whose values its object visits (3.13): the capture
         * checked them as _PyDict_MaybeUntrack does */
        out[u] = (uint8_t)(all_untracked(g, type_flags, out, u) &&
                           !(g->flags[u] & HG_NODE_DICT_KEPT));
    }
    return HG_OK;
}

static int local_untrackable(const hg_graph *g, const uint32_t *tf, hg_node v,
                             int depth);

/* may_be_tracked, with a nested tuple's verdict asked locally. */
static int local_may_be_tracked(const hg_graph *g, const uint32_t *tf,
                                hg_node w, int depth) {
    uint8_t f = g->flags[w];
    if (!(f & HG_NODE_GC)) {
        return 0;
    }
    if (is_tuple(g, tf, w)) {
        return (f & HG_NODE_TRACKED) && !local_untrackable(g, tf, w, depth + 1);
    }
    return 1;
}

static int local_untrackable(const hg_graph *g, const uint32_t *tf, hg_node v,
                             int depth) {
    if (!(is_tuple(g, tf, v) || is_dict(g, tf, v)) ||
        depth > HG__UNTRACK_DEPTH || (g->flags[v] & HG_NODE_FROZEN) ||
        (is_dict(g, tf, v) && (g->flags[v] & HG_NODE_DICT_KEPT))) {
        return 0;
    }
    for (hg_edge e = g->fwd.offsets[v]; e < g->fwd.offsets[v + 1]; e++) {
        if (local_may_be_tracked(g, tf, g->fwd.targets[e], depth)) {
            return 0;
        }
    }
    return 1;
}

int hg_untrack_local(const hg_graph *g, const uint32_t *type_flags, hg_node v) {
    if (g == NULL || v >= g->n_nodes || type_flags == NULL) {
        return 0;
    }
    return local_untrackable(g, type_flags, v, 0);
}
