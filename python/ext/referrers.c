/*
 * referrers.c -- the referrers a drawing shows: Graph.draw_referrers(id).
 *
 * show_backrefs draws, for a handful of nodes, what refers to each -- as
 * objgraph 3.x's gc.get_referrers() after its gc.collect() would list them:
 * each referrer once, tracked, not garbage, not a tuple or dict that the
 * collection would untrack, in the order of the collector's list after the
 * collection.
 *
 * That order: a full collection merges generations 0 and 1 after 2 (ids
 * keep list order within a generation), then move_unreachable keeps in
 * place the objects it reaches in time and moves the others to the tail
 * (core hg_gc_order replays it).  An object "stays" when it has references
 * from outside the list (gc_refs > 0) or an earlier object that stays
 * refers to it; when every referrer shown is found to stay by that local
 * test (a few levels deep), the merged order is the final one; otherwise
 * the whole walk is replayed once for the graph (O(heap), as one
 * collection's marking) and its ranks are used from then on.
 *
 * "Not garbage" is asked node by node (core hg_graph_rooted: a backward
 * search that stops at the first root), so a drawing on a fresh snapshot
 * costs the reverse graph and a few small searches, not reachability over
 * the whole heap.  A search that runs out of budget falls back to the
 * whole-heap answer (hg_graph_ensure_live), which is then used for every
 * later query of this graph.
 *
 * The untracking test is core's hg_untrack_local, the rule of the
 * whole-heap replay (hg_untrack_replay) made local: a tuple or dict would
 * be untracked when nothing it refers to may be tracked, a nested tuple
 * counting as tracked unless it would be untracked itself (looked at up to
 * 32 levels deep; deeper nesting counts as tracked).
 */
#include <stdlib.h>
#include <string.h>

#include "referrers.h"

#define HG__ROOTED_BUDGET ((size_t)1 << 16)
#define HG__STAYS_DEPTH 32  /* levels back towards a root */
#define HG__STAYS_ROW 64    /* rows longer than this are not looked at */
#define HG__STAYS_WORK 4096 /* nodes looked at, per referrer settled */

/* Whether v is on the collector's list (tracked, not frozen). */
static inline int listed(const hg_graph *g, hg_node v) {
    return (g->flags[v] & HG_NODE_TRACKED) && !(g->flags[v] & HG_NODE_FROZEN);
}

/* Whether a collection would untrack v (core's local test). */
static inline int local_untrackable(const GraphObject *self, hg_node v) {
    return hg_untrack_local(self->cap.graph, self->cap.type_flags, v);
}

/* Position of a node's generation in the merged list: 2, 0, 1, frozen. */
static inline uint64_t merged_key(const hg_graph *g, hg_node v) {
    /* frozen ranks 4: rank 3 is the one referrer known to be moved to the
     * list's tail (draw_referrers) */
    unsigned rank =
        hg_gc_rank((g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT);
    return (uint64_t)(rank == HG_GC_RANK_FROZEN ? 4 : rank) << 32 | v;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* gc_refs of listed node v: its count less the references from listed
 * nodes. */
static int64_t gc_refs(const hg_graph *g, hg_node v) {
    int64_t r = g->refcnt[v];
    for (hg_edge e = g->rev.offsets[v]; e < g->rev.offsets[v + 1]; e++) {
        r -= listed(g, g->rev.targets[e]);
    }
    return r;
}

/* 1: move_unreachable keeps v in place; 0: it moves v to the tail (or
 * finds it unreachable); -1: not settled by this local look. */
static int stays(const hg_graph *g, hg_node v, int depth, int *work) {
    int unknown = 0;
    hg_edge lo = g->rev.offsets[v], hi = g->rev.offsets[v + 1];
    if (gc_refs(g, v) > 0) {
        return 1;
    }
    if (depth >= HG__STAYS_DEPTH || hi - lo > HG__STAYS_ROW || --*work < 0) {
        return -1;
    }
    for (hg_edge e = lo; e < hi; e++) {
        hg_node r = g->rev.targets[e];
        int s;
        if (!listed(g, r) || merged_key(g, r) >= merged_key(g, v)) {
            continue; /* walked after v: too late to keep it in place */
        }
        s = stays(g, r, depth + 1, work);
        if (s == 1) {
            return 1;
        }
        unknown |= s < 0;
    }
    return unknown ? -1 : 0;
}

int hgpy_graph_ensure_gc_pos(GraphObject *self) {
    const hg_graph *g = self->cap.graph;
    hg_node n = g->n_nodes, n_list = 0;
    hg_node *list = NULL, *pos = NULL;
    hg_status st = HG_OK;

    if (self->gc_pos != NULL) {
        return 0;
    }
    list = hg_alloc((size_t)g->n_tracked * sizeof(hg_node) + 1);
    pos = hg_alloc((size_t)n * sizeof(hg_node) + 1);
    if (list == NULL || pos == NULL) {
        hg_free(list, (size_t)g->n_tracked * sizeof(hg_node) + 1);
        hg_free(pos, (size_t)n * sizeof(hg_node) + 1);
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
        for (unsigned k = 0; k < HG_GC_RANK_FROZEN; k++) {
            for (hg_node v = 0; v < g->n_tracked; v++) {
                unsigned gen =
                    (g->flags[v] & HG_NODE_GEN_MASK) >> HG_NODE_GEN_SHIFT;
                if (hg_gc_rank(gen) == k && listed(g, v)) {
                    list[n_list++] = v;
                }
            }
        }
        st = hg_gc_order(&g->fwd, g->refcnt, list, n_list, pos);
    Py_END_ALLOW_THREADS
    hg_free(list, (size_t)g->n_tracked * sizeof(hg_node) + 1);
    if (st != HG_OK) {
        hg_free(pos, (size_t)n * sizeof(hg_node) + 1);
        hgpy_raise_status(st, HGPY_ON_GRAPH, "replaying a collection");
        return -1;
    }
    self->gc_pos = pos;
    return 0;
}

/* 1: keep u, 0: leave it out, -1: unknown (search out of budget), -2: an
 * error (exception set). */
static int shown(GraphObject *self, hg_node u) {
    const hg_graph *g = self->cap.graph;
    int rooted = 0;
    hg_status st;
    if (!(g->flags[u] & HG_NODE_TRACKED) || (g->flags[u] & HG_NODE_EXCLUDED)) {
        return 0;
    }
    if (self->live != NULL) {
        return self->live[u] && !self->untrackable[u];
    }
    if (self->gc_pos != NULL && listed(g, u)) {
        return self->gc_pos[u] != HG_NONE && !local_untrackable(self, u);
    }
    st = hg_graph_rooted(g, u, HG__ROOTED_BUDGET, &rooted);
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "searching for a root");
        return -2;
    }
    if (rooted != 1) {
        return rooted; /* 0 garbage, -1 unknown */
    }
    return !local_untrackable(self, u);
}

/* shown(), settled: 1 keep u, 0 leave it out, -1 an error (exception
 * set).  A referrer with a long way to a root is settled, with every later
 * one, by reachability over the whole graph. */
static int shown_settled(GraphObject *self, hg_node u) {
    int keep = shown(self, u);
    if (keep == -1) {
        if (hgpy_graph_ensure_live(self) < 0) {
            return -1;
        }
        keep = shown(self, u);
    }
    return keep == -2 ? -1 : keep;
}

PyObject *hgpy_graph_draw_referrers(GraphObject *self, PyObject *arg) {
    const hg_graph *g = self->cap.graph;
    long long v = PyLong_AsLongLong(arg);
    uint64_t *keys = NULL;
    size_t n = 0, cap;
    PyObject *res = NULL;

    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (v < 0 || v >= (long long)g->n_nodes) {
        PyErr_Format(PyExc_IndexError,
                     "draw_referrers(): node id %lld out of range [0, %u)", v,
                     g->n_nodes);
        return NULL;
    }
    if (hgpy_graph_ensure_reverse(self) < 0) {
        return NULL;
    }
    cap = (size_t)(g->rev.offsets[v + 1] - g->rev.offsets[v]);
    keys = malloc(cap * sizeof(uint64_t) + 1);
    if (keys == NULL) {
        return PyErr_NoMemory();
    }
    for (hg_edge e = g->rev.offsets[v]; e < g->rev.offsets[v + 1]; e++) {
        hg_node u = g->rev.targets[e];
        int keep;
        if (e > g->rev.offsets[v] && g->rev.targets[e - 1] == u) {
            continue; /* sources are sorted: a repeat is a multi-edge */
        }
        keep = shown_settled(self, u);
        if (keep < 0) {
            goto cleanup;
        }
        if (keep) {
            keys[n++] = merged_key(g, u);
        }
    }
    if (n > 1 && self->gc_pos == NULL) {
        /* move_unreachable keeps in place, in list order, the objects it
         * reaches in time, and appends the others to the tail as it finds
         * them again.  Every referrer staying but one moved: that one
         * comes after them all (before the frozen ones, never listed).
         * Two moved or more, or one not settled: replay the walk. */
        size_t moved = n;
        for (size_t i = 0; i < n; i++) {
            hg_node u = (hg_node)(keys[i] & 0xFFFFFFFFu);
            int work = HG__STAYS_WORK, s;
            if (!listed(g, u) || (s = stays(g, u, 0, &work)) == 1) {
                continue;
            }
            if (s == 0 && moved == n) {
                moved = i;
                continue;
            }
            moved = n;
            if (hgpy_graph_ensure_gc_pos(self) < 0) {
                goto cleanup;
            }
            break;
        }
        if (moved < n && self->gc_pos == NULL) {
            keys[moved] = (uint64_t)3 << 32 | (keys[moved] & 0xFFFFFFFFu);
        }
    }
    if (n > 1 && self->gc_pos != NULL) {
        /* the final list's ranks; frozen referrers (never on it) last */
        for (size_t i = 0; i < n; i++) {
            hg_node u = (hg_node)(keys[i] & 0xFFFFFFFFu);
            hg_node p = listed(g, u) ? self->gc_pos[u] : HG_NONE;
            keys[i] =
                (p == HG_NONE ? (uint64_t)1 << 63 : (uint64_t)p << 32) | u;
        }
    }
    qsort(keys, n, sizeof(uint64_t), cmp_u64);
    res = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; res != NULL && i < n; i++) {
        PyObject *x =
            PyLong_FromUnsignedLong((unsigned long)(keys[i] & 0xFFFFFFFFu));
        if (x == NULL) {
            Py_CLEAR(res);
            break;
        }
        PyList_SET_ITEM(res, (Py_ssize_t)i, x);
    }
cleanup:
    free(keys);
    return res;
}

/* What shown() decides without the reverse graph: tracked, not objgraph's
 * own, not what a collection would untrack. */
static int shown_locally(const GraphObject *self, hg_node u) {
    uint8_t f = self->cap.graph->flags[u];
    return (f & HG_NODE_TRACKED) && !(f & HG_NODE_EXCLUDED) &&
           !local_untrackable(self, u);
}

/* Graph.shown_filter(frontier, local=False): the ids of frontier (native
 * uint32 bytes) that draw_referrers would show -- tracked, not objgraph's
 * own, not garbage, not what a collection would untrack -- in the same
 * order.  local=True leaves the garbage test out and needs no reverse
 * graph: a backward search may enter garbage, which only garbage refers
 * to, so that no chain from a live object passes through it, and asks
 * Graph.shown() of the one node its predicate matches (find_backref_chain
 * on a fresh snapshot). */
PyObject *hgpy_graph_shown_filter(GraphObject *self, PyObject *args) {
    PyObject *arg;
    int local = 0;
    Py_buffer in;
    hg_node *out = NULL;
    size_t n, k = 0;
    PyObject *res = NULL;

    if (!PyArg_ParseTuple(args, "O|p:shown_filter", &arg, &local) ||
        PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    n = (size_t)in.len / sizeof(hg_node);
    if (!local && hgpy_graph_ensure_reverse(self) < 0) {
        goto cleanup;
    }
    out = malloc(n * sizeof(hg_node) + 1);
    if (out == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        hg_node u = ((const hg_node *)in.buf)[i];
        int keep;
        if (u >= self->cap.graph->n_nodes) {
            PyErr_Format(PyExc_IndexError,
                         "shown_filter(): node id %u out of range", u);
            goto cleanup;
        }
        keep = local ? shown_locally(self, u) : shown_settled(self, u);
        if (keep < 0) {
            goto cleanup;
        }
        if (keep) {
            out[k++] = u;
        }
    }
    res = PyBytes_FromStringAndSize((const char *)out,
                                    (Py_ssize_t)(k * sizeof(hg_node)));
cleanup:
    free(out);
    PyBuffer_Release(&in);
    return res;
}

/* Graph.shown(id): whether draw_referrers would show node id (see
 * shown_filter).  A root -- referenced from outside the graph, so alive --
 * is settled by the in-degrees (O(edges) once, no reverse graph); any
 * other node by a backward search to a root. */
PyObject *hgpy_graph_shown(GraphObject *self, PyObject *arg) {
    const hg_graph *g = self->cap.graph;
    long long v = PyLong_AsLongLong(arg);
    int keep;

    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (v < 0 || v >= (long long)g->n_nodes) {
        PyErr_Format(PyExc_IndexError,
                     "shown(): node id %lld out of range [0, %u)", v,
                     g->n_nodes);
        return NULL;
    }
    if (!shown_locally(self, (hg_node)v)) {
        Py_RETURN_FALSE;
    }
    if (hgpy_graph_ensure_roots(self) < 0) {
        return NULL;
    }
    if (g->refcnt[v] > self->in_degree[v]) {
        Py_RETURN_TRUE;
    }
    if (hgpy_graph_ensure_reverse(self) < 0) {
        return NULL;
    }
    keep = shown_settled(self, (hg_node)v);
    if (keep < 0) {
        return NULL;
    }
    return PyBool_FromLong(keep);
}
