/*
 * analysis.c -- leak analysis on a Graph: roots, dominators, retained sizes,
 * retention paths in bulk, reference cycles, snapshot matching.
 *
 * The Python layer (objgraph/_leaks.py) asks these methods; the whole-heap
 * work is done by core kernels with the GIL released:
 *   roots      hg_graph_find_roots, refcnt > in-degree (cached by
 *              hg_graph_build_roots, graph.c);
 *   idom       hg_domtree_build, a virtual root pointing at every root;
 *   retained   hg_domtree_retained (shallow sizes summed over subtrees);
 *   comp       hg_scc over the nodes outside the capturer's machinery;
 *   bfs_parent hg_bfs_diropt from every root, excluded nodes blocked, ties
 *              between equally near parents broken by address
 *              (hg_bfs_rekey_parents).
 * Each array is built on first use under self->lock and kept (counted in
 * nbytes, freed with the graph).
 *
 * Each query then runs a core kernel on those arrays, the GIL released:
 *   top_retained      hg_topk over the retained sizes;
 *   type_retained     hg_domtree_class_retained, each byte counted once
 *                     per type;
 *   retention_groups  hg_paths_group: the targets grouped by the
 *                     signature of their path from a root;
 *   cycle_groups      hg_cycles_group: components of two nodes or more
 *                     keyed by their set of type ids.
 * What stays here is argument parsing, the lazy builders above and the
 * shaping of the kernels' output into Python objects.
 *
 * Encodings:
 *   idom(v)        node id, -1 for the virtual root, -2 when no root
 *                  reaches v;
 *   bfs_parent[v]  parent on a shortest path from a root, HG_PATH_ROOT for
 *                  the roots themselves, HG_NONE when unreached.
 */
#include <stdlib.h>
#include <string.h>

#include "hgmodule.h"

static hg_graph *G(const GraphObject *self) {
    return self->cap.graph;
}

static size_t nodes_nbytes(const GraphObject *self, size_t elem) {
    return (size_t)G(self)->n_nodes * elem + 1;
}

/* ---- lifetime ------------------------------------------------------------ */

void hg_graph_free_analysis(GraphObject *self) {
    if (G(self) == NULL) { /* a failed capture: nothing was built */
        return;
    }
    hg_free(self->idom, nodes_nbytes(self, sizeof(hg_node)));
    hg_free(self->retained, nodes_nbytes(self, sizeof(uint64_t)));
    hg_free(self->comp, nodes_nbytes(self, sizeof(hg_node)));
    hg_free(self->bfs_parent, nodes_nbytes(self, sizeof(hg_node)));
    self->idom = self->comp = self->bfs_parent = NULL;
    self->retained = NULL;
}

uint64_t hg_graph_analysis_nbytes(const GraphObject *self) {
    uint64_t n = G(self)->n_nodes, total = 0;
    total += self->idom != NULL ? n * sizeof(hg_node) : 0;
    total += self->retained != NULL ? n * sizeof(uint64_t) : 0;
    total += self->comp != NULL ? n * sizeof(hg_node) : 0;
    total += self->bfs_parent != NULL ? n * sizeof(hg_node) : 0;
    return total;
}

/* ---- builders (self->lock held, GIL released) ---------------------------- */

static hg_status build_idom(GraphObject *self) {
    hg_graph *g = G(self);
    hg_node *idom;
    hg_status st = hg_graph_build_roots(self);
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
    hg_status st = hg_graph_build_roots(self);
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

typedef hg_status (*builder)(GraphObject *);

/* Build *slot with `build` unless built; needs the reverse graph when
 * need_rev.  0, or -1 with an exception naming `what`. */
static int ensure(GraphObject *self, void *const *slot, builder build,
                  int need_rev, const char *what) {
    hg_status st = HG_OK;
    if (self->nodes_only) {
        PyErr_SetString(PyExc_ValueError,
                        "this graph was captured without references "
                        "(nodes_only=True)");
        return -1;
    }
    if (need_rev && hg_graph_ensure_reverse(self) < 0) {
        return -1;
    }
    if (*slot != NULL) {
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (*slot == NULL) {
            st = build(self);
        }
        PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, what);
        return -1;
    }
    return 0;
}

static int ensure_idom(GraphObject *self) {
    return ensure(self, (void *const *)&self->idom, build_idom, 1,
                  "building the dominator tree");
}

static int ensure_retained(GraphObject *self) {
    return ensure(self, (void *const *)&self->retained, build_retained, 1,
                  "computing retained sizes");
}

static int ensure_comp(GraphObject *self) {
    return ensure(self, (void *const *)&self->comp, build_comp, 0,
                  "finding strongly connected components");
}

static int ensure_bfs(GraphObject *self) {
    return ensure(self, (void *const *)&self->bfs_parent, build_bfs, 1,
                  "searching shortest paths from the roots");
}

int hg_graph_ensure_roots(GraphObject *self) {
    return ensure(self, (void *const *)&self->roots, hg_graph_build_roots, 0,
                  "finding the roots");
}

/* ---- argument helpers ---------------------------------------------------- */

/* Node ids from bytes of native uint32 or an iterable of int, checked;
 * *out (hg_free(*out, *n * sizeof(hg_node) + 1)).  0, or -1 with an
 * exception. */
static int parse_ids(GraphObject *self, PyObject *arg, const char *what,
                     hg_node **out, size_t *n_out) {
    hg_node *ids = NULL;
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    if (PyObject_CheckBuffer(arg)) {
        Py_buffer view;
        if (hg_get_buffer(arg, &view, (size_t)-1, 0, 0, what) < 0) {
            return -1;
        }
        n = (size_t)view.len / sizeof(hg_node);
        ids = hg_alloc(n * sizeof(hg_node) + 1);
        if (ids != NULL) {
            memcpy(ids, view.buf, n * sizeof(hg_node));
        }
        hg_release_buffer(&view);
    } else {
        PyObject *seq = PySequence_Fast(arg, "ids must be bytes or an "
                                             "iterable of int");
        if (seq == NULL) {
            return -1;
        }
        n = (size_t)PySequence_Fast_GET_SIZE(seq);
        ids = hg_alloc(n * sizeof(hg_node) + 1);
        for (size_t i = 0; ids != NULL && i < n; i++) {
            long long v =
                PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i));
            if ((v == -1 && PyErr_Occurred()) ||
                hg_check_node(self, v, what) < 0) {
                Py_DECREF(seq);
                hg_free(ids, n * sizeof(hg_node) + 1);
                return -1;
            }
            ids[i] = (hg_node)v;
        }
        Py_DECREF(seq);
    }
    if (ids == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= G(self)->n_nodes) {
            hg_check_node(self, ids[i], what);
            hg_free(ids, n * sizeof(hg_node) + 1);
            return -1;
        }
    }
    *out = ids;
    *n_out = n;
    return 0;
}

static PyObject *ids_bytes(const hg_node *ids, size_t n) {
    return PyBytes_FromStringAndSize((const char *)ids,
                                     (Py_ssize_t)(n * sizeof(hg_node)));
}

/* ---- roots and garbage --------------------------------------------------- */

const char hg_graph_roots_doc[] =
    "roots(tracked_only=True) -> bytes\n\n"
    "Ids of the roots: nodes whose reference count exceeds their in-degree\n"
    "(referenced from outside the graph).  tracked_only: only tracked nodes\n"
    "outside the capturer's machinery.";

PyObject *hg_graph_roots(GraphObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"tracked_only", NULL};
    int tracked_only = 1;
    hg_graph *g = G(self);
    hg_node *ids;
    size_t n = 0;
    PyObject *res;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p:roots", kwlist,
                                     &tracked_only) ||
        hg_graph_ensure_roots(self) < 0) {
        return NULL;
    }
    if (!tracked_only) {
        return ids_bytes(self->roots, self->n_roots);
    }
    ids = hg_alloc(self->n_roots * sizeof(hg_node) + 1);
    if (ids == NULL) {
        return PyErr_NoMemory();
    }
    for (size_t i = 0; i < self->n_roots; i++) {
        hg_node v = self->roots[i];
        if ((g->flags[v] & HG_NODE_TRACKED) &&
            !(g->flags[v] & HG_NODE_EXCLUDED)) {
            ids[n++] = v;
        }
    }
    res = ids_bytes(ids, n);
    hg_free(ids, self->n_roots * sizeof(hg_node) + 1);
    return res;
}

const char hg_graph_unreachable_doc[] =
    "unreachable() -> bytes\n\n"
    "Ids of the tracked nodes outside the capturer's machinery that no root\n"
    "reaches (cyclic garbage awaiting collection).";

PyObject *hg_graph_unreachable(GraphObject *self, PyObject *unused) {
    hg_graph *g = G(self);
    hg_node *ids;
    size_t n = 0;
    PyObject *res;
    (void)unused;

    if (hg_graph_ensure_live(self) < 0) {
        return NULL;
    }
    ids = hg_alloc((size_t)g->n_tracked * sizeof(hg_node) + 1);
    if (ids == NULL) {
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
        for (hg_node v = 0; v < g->n_tracked; v++) {
            if (!self->live[v] && !(g->flags[v] & HG_NODE_EXCLUDED)) {
                ids[n++] = v;
            }
        }
    Py_END_ALLOW_THREADS
    res = ids_bytes(ids, n);
    hg_free(ids, (size_t)g->n_tracked * sizeof(hg_node) + 1);
    return res;
}

/* ---- dominators and retained sizes --------------------------------------- */

const char hg_graph_idom_doc[] =
    "idom(id) -> int\n\n"
    "The node's immediate dominator: a node id, -1 when only the virtual\n"
    "root (which points at every root) dominates it, -2 when no root\n"
    "reaches it.";

PyObject *hg_graph_idom(GraphObject *self, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    hg_node d;
    if ((v == -1 && PyErr_Occurred()) || hg_check_node(self, v, "idom()") < 0 ||
        ensure_idom(self) < 0) {
        return NULL;
    }
    d = self->idom[v];
    if (d == HG_DOM_VIRTUAL) {
        return PyLong_FromLong(-1);
    }
    if (d == HG_NONE) {
        return PyLong_FromLong(-2);
    }
    return PyLong_FromUnsignedLong(d);
}

const char hg_graph_retained_doc[] =
    "retained(ids) -> list[int]\n\n"
    "Retained bytes of each node (bytes of uint32 or an iterable of int): the\n"
    "shallow sizes of its dominator subtree; 0 when no root reaches it.";

PyObject *hg_graph_retained(GraphObject *self, PyObject *arg) {
    hg_node *ids;
    size_t n;
    PyObject *res;
    if (parse_ids(self, arg, "retained()", &ids, &n) < 0) {
        return NULL;
    }
    if (ensure_retained(self) < 0) {
        hg_free(ids, n * sizeof(hg_node) + 1);
        return NULL;
    }
    res = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; res != NULL && i < n; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(self->retained[ids[i]]);
        if (x == NULL) {
            Py_CLEAR(res);
            break;
        }
        PyList_SET_ITEM(res, (Py_ssize_t)i, x);
    }
    hg_free(ids, n * sizeof(hg_node) + 1);
    return res;
}

const char hg_graph_top_retained_doc[] =
    "top_retained(mask, k) -> bytes\n\n"
    "Ids of the k masked nodes (mask None: all) with the most retained\n"
    "bytes, most first (ties: smaller id first); k == 0: all of them.";

PyObject *hg_graph_top_retained(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    PyObject *mask_obj, *res = NULL;
    unsigned long long k_arg;
    Py_buffer mask;
    hg_node *ids = NULL;
    size_t k = 0, used = 0;
    hg_status st;

    if (!PyArg_ParseTuple(args, "OK:top_retained", &mask_obj, &k_arg)) {
        return NULL;
    }
    if (hg_get_buffer(mask_obj, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (ensure_retained(self) < 0) {
        goto cleanup;
    }
    k = k_arg == 0 || k_arg > g->n_nodes ? g->n_nodes : (size_t)k_arg;
    ids = hg_alloc((k + 1) * sizeof(hg_node));
    if (ids == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_topk(self->retained, g->n_nodes, mask.buf, k, ids, &used);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "ranking retained sizes");
        goto cleanup;
    }
    res = ids_bytes(ids, used);
cleanup:
    hg_free(ids, ids != NULL ? (k + 1) * sizeof(hg_node) : 0);
    hg_release_buffer(&mask);
    return res;
}

static PyObject *u64_list(const uint64_t *a, size_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(a[i]);
        if (x == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}

const char hg_graph_type_retained_doc[] =
    "type_retained(mask) -> list[int]\n\n"
    "Retained bytes per type id over the masked nodes (None: all), each byte\n"
    "counted once: a node's retained size counts unless a proper dominator\n"
    "of it has the same type.";

PyObject *hg_graph_type_retained(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    Py_buffer mask;
    uint32_t nt = self->cap.n_types;
    uint64_t *out = NULL;
    PyObject *res = NULL;
    hg_status st;

    if (hg_get_buffer(arg, &mask, g->n_nodes, 0, 1, "mask") < 0) {
        return NULL;
    }
    if (ensure_retained(self) < 0) {
        goto cleanup;
    }
    out = hg_alloc((size_t)nt * sizeof(uint64_t) + 1);
    if (out == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_domtree_class_retained(self->idom, g->n_nodes, self->retained,
                                       g->type_id, nt, mask.buf, out);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "retained bytes by type");
        goto cleanup;
    }
    res = u64_list(out, nt);
cleanup:
    hg_free(out, (size_t)nt * sizeof(uint64_t) + 1);
    hg_release_buffer(&mask);
    return res;
}

/* ---- retention paths ---------------------------------------------------- */

const char hg_graph_retention_groups_doc[] =
    "retention_groups(targets, limit=0, keyed=None, keys=None,\n"
    "                 retained=True)\n"
    "    -> (groups, n_groups, unreached)\n\n"
    "The targets (bytes of uint32 ids or an iterable of int) grouped by the\n"
    "type sequence of their shortest path from a root (one BFS from every\n"
    "root, kept for the graph), and by the keys of the nodes on it: keyed\n"
    "(node ids, ascending: roots, modules, classes...) and keys (bytes\n"
    "of native uint32 below 2**31, one per node) tell nodes apart -- paths\n"
    "through nodes with different keys never share a group; a node not\n"
    "listed has no key.  groups: the first `limit` (0: all) of\n"
    "(count, retained bytes, example id) per group, most members first, then\n"
    "most bytes, then lowest example address (the example: the member of\n"
    "lowest address); retained bytes count each byte once.\n"
    "n_groups: how many groups there are; unreached: targets no root\n"
    "reaches.  retained=False: every group's retained bytes are 0 (no\n"
    "dominator tree is built), for the examples alone.";

#define KEY_LIMIT 0x80000000u /* keys are below 2**31 (hg_paths_group) */

/* nk from retention_groups' keyed and keys (ids to free with
 * hg_free(nk->ids, nk->n * sizeof(hg_node) + 1), keys to release
 * when keys->obj); 0, or -1 with an exception. */
static int parse_node_keys(GraphObject *self, PyObject *keyed, PyObject *keys,
                           hg_path_keys *nk, Py_buffer *view) {
    hg_node *ids = NULL;
    size_t n = 0;
    memset(nk, 0, sizeof(*nk));
    view->obj = NULL;
    if (keyed == Py_None && keys == Py_None) {
        return 0;
    }
    if (keyed == Py_None || keys == Py_None) {
        PyErr_SetString(PyExc_TypeError, "retention_groups(): keyed and "
                                         "keys go together");
        return -1;
    }
    if (parse_ids(self, keyed, "retention_groups() keyed", &ids, &n) < 0) {
        return -1;
    }
    if (hg_get_buffer(keys, view, (size_t)-1, 0, 0, "retention_groups() keys") <
        0) {
        hg_free(ids, n * sizeof(hg_node) + 1);
        return -1;
    }
    nk->ids = ids;
    nk->key = view->buf;
    nk->n = n;
    if ((size_t)view->len != n * sizeof(uint32_t)) {
        PyErr_SetString(PyExc_ValueError, "retention_groups(): one key per "
                                          "keyed node (native uint32)");
        goto error;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && ids[i] <= ids[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "retention_groups(): keyed nodes "
                                              "must be ascending");
            goto error;
        }
        if (nk->key[i] >= KEY_LIMIT) {
            PyErr_SetString(PyExc_ValueError,
                            "retention_groups(): a key of 2**31 or more");
            goto error;
        }
    }
    return 0;
error:
    hg_free(ids, n * sizeof(hg_node) + 1);
    hg_release_buffer(view);
    view->obj = NULL;
    memset(nk, 0, sizeof(*nk));
    return -1;
}

PyObject *hg_graph_retention_groups(GraphObject *self, PyObject *args,
                                    PyObject *kwds) {
    static char *kwlist[] = {"targets", "limit",    "keyed",
                             "keys",    "retained", NULL};
    hg_graph *g = G(self);
    PyObject *arg, *keyed = Py_None, *keys = Py_None;
    unsigned long long limit = 0;
    int with_retained = 1;
    hg_node *ids = NULL;
    size_t n_ids = 0, n_out;
    uint8_t *tmask = NULL;
    hg_path_groups pg = {0};
    hg_path_keys nk = {0};
    Py_buffer kview = {0};
    PyObject *list = NULL, *res = NULL;
    hg_status st;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|KOOp:retention_groups",
                                     kwlist, &arg, &limit, &keyed, &keys,
                                     &with_retained) ||
        parse_ids(self, arg, "retention_groups()", &ids, &n_ids) < 0) {
        return NULL;
    }
    if (parse_node_keys(self, keyed, keys, &nk, &kview) < 0 ||
        ensure_bfs(self) < 0 || (with_retained && ensure_retained(self) < 0)) {
        goto cleanup;
    }
    tmask = hg_calloc((size_t)g->n_nodes + 1);
    if (tmask == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        for (size_t i = 0; i < n_ids; i++) {
            tmask[ids[i]] = 1;
        }
        st = hg_paths_group(g, self->bfs_parent, tmask, nk.n ? &nk : NULL,
                            with_retained ? self->idom : NULL,
                            with_retained ? self->retained : NULL, &pg);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "grouping retention paths");
        goto cleanup;
    }
    n_out = limit == 0 || limit > pg.n_groups ? pg.n_groups : (size_t)limit;
    list = PyList_New((Py_ssize_t)n_out);
    for (size_t i = 0; list != NULL && i < n_out; i++) {
        PyObject *t =
            Py_BuildValue("(KKk)", pg.groups[i].count, pg.groups[i].retained,
                          (unsigned long)pg.groups[i].example);
        if (t == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    if (list != NULL) {
        res = Py_BuildValue("(Nnn)", list, (Py_ssize_t)pg.n_groups,
                            (Py_ssize_t)pg.n_unreached);
    }
cleanup:
    if (kview.obj != NULL) {
        hg_release_buffer(&kview);
    }
    hg_free((void *)nk.ids, nk.n * sizeof(hg_node) + 1);
    hg_path_groups_destroy(&pg);
    hg_free(tmask, (size_t)g->n_nodes + 1);
    hg_free(ids, n_ids * sizeof(hg_node) + 1);
    return res;
}

const char hg_graph_path_to_root_doc[] =
    "path_to_root(id) -> list[int]\n\n"
    "The node's shortest path from a root, [root, ..., id] (the BFS of\n"
    "retention_groups); [] when no root reaches it.";

PyObject *hg_graph_path_to_root(GraphObject *self, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    hg_node *path, u;
    size_t len = 0, cap = 64;
    PyObject *res;

    if ((v == -1 && PyErr_Occurred()) ||
        hg_check_node(self, v, "path_to_root()") < 0 || ensure_bfs(self) < 0) {
        return NULL;
    }
    if (self->bfs_parent[v] == HG_NONE) {
        return PyList_New(0);
    }
    path = PyMem_Malloc(cap * sizeof(hg_node));
    for (u = (hg_node)v; path != NULL; u = self->bfs_parent[u]) {
        if (len == cap) {
            hg_node *p = PyMem_Realloc(path, 2 * cap * sizeof(hg_node));
            if (p == NULL) {
                PyMem_Free(path);
                path = NULL;
                break;
            }
            path = p;
            cap *= 2;
        }
        path[len++] = u;
        if (self->bfs_parent[u] == HG_PATH_ROOT) {
            break;
        }
    }
    if (path == NULL) {
        return PyErr_NoMemory();
    }
    for (size_t i = 0; i < len / 2; i++) {
        hg_node t = path[i];
        path[i] = path[len - 1 - i];
        path[len - 1 - i] = t;
    }
    res = hg_ids_to_list(path, len);
    PyMem_Free(path);
    return res;
}

const char hg_graph_path_edges_doc[] =
    "path_edges(type_mask) -> (edges, sources, targets)\n\n"
    "The references on shortest paths from the roots (the BFS of\n"
    "retention_groups) whose source's type is in type_mask (bytes, one per\n"
    "type): their indices into the forward CSR (ascending native uint64),\n"
    "source and target node ids (native uint32).  A snapshot file labels\n"
    "them (dict keys on paths).";

/* path_edges' references -- from a node u whose type is in type_mask to a
 * node whose BFS parent is u -- in CSR order: their number, and with out
 * != NULL their indices, sources and targets written there. */
static size_t tree_edges(const hg_graph *g, const hg_node *parent,
                         const uint8_t *type_mask, uint64_t *out, hg_node *src,
                         hg_node *dst) {
    size_t n = 0;
    for (hg_node u = 0; u < g->n_nodes; u++) {
        if (!type_mask[g->type_id[u]]) {
            continue;
        }
        for (hg_edge e = g->fwd.offsets[u]; e < g->fwd.offsets[u + 1]; e++) {
            if (parent[g->fwd.targets[e]] != u) {
                continue;
            }
            if (out != NULL) {
                out[n] = e;
                src[n] = u;
                dst[n] = g->fwd.targets[e];
            }
            n++;
        }
    }
    return n;
}

PyObject *hg_graph_path_edges(GraphObject *self, PyObject *arg) {
    const hg_graph *g = self->cap.graph;
    Py_buffer tm;
    uint64_t *out = NULL;
    hg_node *src = NULL, *dst = NULL;
    size_t n;
    PyObject *res = NULL;

    if (hg_get_buffer(arg, &tm, self->cap.n_types, 0, 0, "type_mask") < 0) {
        return NULL;
    }
    if (ensure_bfs(self) < 0) {
        goto cleanup;
    }
    /* two passes: count, then fill */
    n = tree_edges(g, self->bfs_parent, tm.buf, NULL, NULL, NULL);
    out = PyMem_Malloc(n * sizeof(uint64_t) + 1);
    src = PyMem_Malloc(n * sizeof(hg_node) + 1);
    dst = PyMem_Malloc(n * sizeof(hg_node) + 1);
    if (out == NULL || src == NULL || dst == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    (void)tree_edges(g, self->bfs_parent, tm.buf, out, src, dst);
    res = Py_BuildValue("(y#y#y#)", (const char *)out,
                        (Py_ssize_t)(n * sizeof(uint64_t)), (const char *)src,
                        (Py_ssize_t)(n * sizeof(hg_node)), (const char *)dst,
                        (Py_ssize_t)(n * sizeof(hg_node)));
cleanup:
    PyMem_Free(out);
    PyMem_Free(src);
    PyMem_Free(dst);
    hg_release_buffer(&tm);
    return res;
}

const char hg_graph_find_edges_doc[] =
    "find_edges(sources, targets) -> bytes\n\n"
    "For each pair (sources[i], targets[i]) of node ids (bytes of native\n"
    "uint32, as long as each other), the index into the forward CSR of the\n"
    "first reference from the source to the target (native uint64), or\n"
    "2**64 - 1 when there is none.  Snapshot files label the references of\n"
    "retention paths by these indices.";

PyObject *hg_graph_find_edges(GraphObject *self, PyObject *args) {
    const hg_graph *g = self->cap.graph;
    PyObject *src_obj, *dst_obj;
    hg_node *src = NULL, *dst = NULL;
    size_t n_src = 0, n_dst = 0;
    uint64_t *out = NULL;
    PyObject *res = NULL;

    if (!PyArg_ParseTuple(args, "OO:find_edges", &src_obj, &dst_obj) ||
        parse_ids(self, src_obj, "find_edges() sources", &src, &n_src) < 0 ||
        parse_ids(self, dst_obj, "find_edges() targets", &dst, &n_dst) < 0) {
        goto cleanup;
    }
    if (n_src != n_dst) {
        PyErr_SetString(PyExc_ValueError,
                        "find_edges(): as many sources as targets");
        goto cleanup;
    }
    out = PyMem_Malloc(n_src * sizeof(uint64_t) + 1);
    if (out == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    for (size_t i = 0; i < n_src; i++) {
        out[i] = UINT64_MAX;
        for (hg_edge e = g->fwd.offsets[src[i]]; e < g->fwd.offsets[src[i] + 1];
             e++) {
            if (g->fwd.targets[e] == dst[i]) {
                out[i] = e;
                break;
            }
        }
    }
    res = PyBytes_FromStringAndSize((const char *)out,
                                    (Py_ssize_t)(n_src * sizeof(uint64_t)));
cleanup:
    PyMem_Free(out);
    hg_free(src, n_src * sizeof(hg_node) + 1);
    hg_free(dst, n_dst * sizeof(hg_node) + 1);
    return res;
}

/* ---- cycles -------------------------------------------------------------- */

const char hg_graph_cycle_groups_doc[] =
    "cycle_groups() -> list[tuple]\n\n"
    "Strongly connected components of two nodes or more (outside the\n"
    "capturer's machinery) grouped by their set of type ids: one\n"
    "(type ids, components, nodes, shallow bytes, example component) per\n"
    "group, type ids ascending, the example the component with the\n"
    "smallest node id.";

/* One row of cycle_groups: (type ids, components, nodes, bytes, example). */
static PyObject *cycle_row(const hg_cycle_groups *cg, size_t i) {
    const hg_cycle_group *grp = &cg->groups[i];
    PyObject *types = PyTuple_New((Py_ssize_t)grp->n_types);
    for (uint32_t t = 0; types != NULL && t < grp->n_types; t++) {
        PyObject *x = PyLong_FromUnsignedLong(cg->types[grp->first_type + t]);
        if (x == NULL) {
            Py_CLEAR(types);
            break;
        }
        PyTuple_SET_ITEM(types, (Py_ssize_t)t, x);
    }
    if (types == NULL) {
        return NULL;
    }
    return Py_BuildValue("(NnKKk)", types, (Py_ssize_t)grp->n_comps,
                         grp->n_nodes, grp->nbytes,
                         (unsigned long)grp->example);
}

PyObject *hg_graph_cycle_groups(GraphObject *self, PyObject *unused) {
    hg_cycle_groups cg = {0};
    hg_status st;
    PyObject *res = NULL;
    (void)unused;

    if (ensure_comp(self) < 0) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_cycles_group(G(self), self->comp, self->n_comp, &cg);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg_raise_status(st, "grouping reference cycles");
        return NULL;
    }
    res = PyList_New(0);
    for (size_t i = 0; res != NULL && i < cg.n_groups; i++) {
        PyObject *row = cycle_row(&cg, i);
        if (row == NULL || PyList_Append(res, row) < 0) {
            Py_XDECREF(row);
            Py_CLEAR(res);
            break;
        }
        Py_DECREF(row);
    }
    hg_cycle_groups_destroy(&cg);
    return res;
}

const char hg_graph_component_doc[] =
    "component(c) -> bytes\n\nIds of the nodes of strongly connected "
    "component c, ascending.";

PyObject *hg_graph_component(GraphObject *self, PyObject *arg) {
    hg_graph *g = G(self);
    long long c = PyLong_AsLongLong(arg);
    hg_node *ids;
    size_t n = 0;
    PyObject *res;

    if ((c == -1 && PyErr_Occurred()) || ensure_comp(self) < 0) {
        return NULL;
    }
    if (c < 0 || c >= (long long)self->n_comp) {
        return PyErr_Format(PyExc_IndexError,
                            "component(): %lld out of range [0, %u)", c,
                            self->n_comp);
    }
    for (hg_node v = 0; v < g->n_nodes; v++) {
        n += self->comp[v] == (hg_node)c;
    }
    ids = hg_alloc(n * sizeof(hg_node) + 1);
    if (ids == NULL) {
        return PyErr_NoMemory();
    }
    n = 0;
    for (hg_node v = 0; v < g->n_nodes; v++) {
        if (self->comp[v] == (hg_node)c) {
            ids[n++] = v;
        }
    }
    res = ids_bytes(ids, n);
    hg_free(ids, n * sizeof(hg_node) + 1);
    return res;
}

/* ---- matching snapshots -------------------------------------------------- */

const char hg_graph_match_doc[] =
    "match(old, mask, survivors=True) -> bytes\n\n"
    "A mask of this graph's nodes: mask[v] set and v matched (survivors) or\n"
    "not matched (newcomers) by a node of the older Graph `old` with the\n"
    "same address and the same type (same type address and long name).";

PyObject *hg_graph_match(GraphObject *self, PyObject *args) {
    hg_graph *g = G(self);
    GraphObject *old;
    PyObject *mask_obj, *res = NULL;
    int survivors = 1;
    Py_buffer mask;
    hg_addr_index *types = NULL;
    uint32_t *type_map = NULL, nt = self->cap.n_types;
    uint8_t *out;
    hg_status st;

    if (!PyArg_ParseTuple(args, "O!O|p:match", &Graph_Type, &old, &mask_obj,
                          &survivors)) {
        return NULL;
    }
    if (hg_get_buffer(mask_obj, &mask, g->n_nodes, 0, 0, "mask") < 0) {
        return NULL;
    }
    if (hg_graph_ensure_index(old) < 0) {
        goto cleanup;
    }
    st = hg_addr_index_new(old->cap.type_addr, old->cap.n_types, &types);
    type_map = hg_alloc((size_t)nt * sizeof(uint32_t) + 1);
    if (st != HG_OK || type_map == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    /* this graph's type ids -> old's, HG_NONE when old has no such type */
    for (uint32_t t = 0; t < nt; t++) {
        hg_node u = hg_addr_index_find(types, self->cap.type_addr[t]);
        type_map[t] = HG_NONE;
        if (u != HG_NONE) {
            int eq = PyUnicode_Compare(PyList_GET_ITEM(self->cap.long_names, t),
                                       PyList_GET_ITEM(old->cap.long_names, u));
            if (eq == -1 && PyErr_Occurred()) {
                goto cleanup;
            }
            if (eq == 0) {
                type_map[t] = u;
            }
        }
    }
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)g->n_nodes);
    if (res == NULL) {
        goto cleanup;
    }
    out = (uint8_t *)PyBytes_AS_STRING(res);
    Py_BEGIN_ALLOW_THREADS
        const uint8_t *m = mask.buf;
        const hg_graph *og = old->cap.graph;
        for (hg_node v = 0; v < g->n_nodes; v++) {
            int matched = 0;
            if (m[v]) {
                hg_node u = hg_addr_index_find(old->index, g->addr[v]);
                matched =
                    u != HG_NONE && type_map[g->type_id[v]] == og->type_id[u];
            }
            out[v] = m[v] && matched == survivors;
        }
    Py_END_ALLOW_THREADS
cleanup:
    hg_addr_index_free(types);
    hg_free(type_map, (size_t)nt * sizeof(uint32_t) + 1);
    hg_release_buffer(&mask);
    return res;
}
