/*
 * retention.c -- retention paths on a Graph: how the roots hold the
 * leaking objects.
 *
 * One shortest-path tree from every root (leakdata.c's bfs_parent) answers
 * them all, each query a core kernel with the GIL released:
 *   retention_groups  hg_paths_group: the targets grouped by the
 *                     signature of their path from a root (types, and the
 *                     keys the caller gives nodes), with retained bytes;
 *   path_to_root      one node's path, parent by parent;
 *   path_edges        hg_paths_tree_edges: the tree's references out of
 *                     the chosen types (a snapshot file labels them);
 *   find_edges        hg_csr_find_edges: the first reference per pair.
 * What stays here is argument parsing and the shaping of the kernels'
 * output into Python objects.
 */
#include <string.h>

#include "leakdata.h"
#include "retention.h"

static hg_graph *G(const GraphObject *self) {
    return self->cap.graph;
}

/* ---- retention paths ---------------------------------------------------- */

PyDoc_STRVAR(
    Graph_retention_groups_doc,
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
    "dominator tree is built), for the examples alone.");

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
    if (hgpy_parse_ids(self, keyed, "retention_groups() keyed", &ids, &n) < 0) {
        return -1;
    }
    if (hgpy_get_buffer(keys, view, (size_t)-1, 0, 0,
                        "retention_groups() keys") < 0) {
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
    hgpy_release_buffer(view);
    view->obj = NULL;
    memset(nk, 0, sizeof(*nk));
    return -1;
}

static PyObject *Graph_retention_groups(GraphObject *self, PyObject *args,
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
        hgpy_parse_ids(self, arg, "retention_groups()", &ids, &n_ids) < 0) {
        return NULL;
    }
    if (parse_node_keys(self, keyed, keys, &nk, &kview) < 0 ||
        hgpy_graph_ensure_bfs(self) < 0 ||
        (with_retained && hgpy_graph_ensure_retained(self) < 0)) {
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
        hgpy_raise_status(st, HGPY_ON_GRAPH, "grouping retention paths");
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
        hgpy_release_buffer(&kview);
    }
    hg_free((void *)nk.ids, nk.n * sizeof(hg_node) + 1);
    hg_path_groups_destroy(&pg);
    hg_free(tmask, (size_t)g->n_nodes + 1);
    hg_free(ids, n_ids * sizeof(hg_node) + 1);
    return res;
}

PyDoc_STRVAR(
    Graph_path_to_root_doc,
    "path_to_root(id) -> list[int]\n\n"
    "The node's shortest path from a root, [root, ..., id] (the BFS of\n"
    "retention_groups); [] when no root reaches it.");

static PyObject *Graph_path_to_root(GraphObject *self, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    hg_node *path, u;
    size_t len = 0, cap = 64;
    PyObject *res;

    if ((v == -1 && PyErr_Occurred()) ||
        hgpy_check_node(self, v, "path_to_root()") < 0 ||
        hgpy_graph_ensure_bfs(self) < 0) {
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
    res = hgpy_ids_list(path, len);
    PyMem_Free(path);
    return res;
}

PyDoc_STRVAR(
    Graph_path_edges_doc,
    "path_edges(type_mask) -> (edges, sources, targets)\n\n"
    "The references on shortest paths from the roots (the BFS of\n"
    "retention_groups) whose source's type is in type_mask (bytes, one per\n"
    "type): their indices into the forward CSR (ascending native uint64),\n"
    "source and target node ids (native uint32).  A snapshot file labels\n"
    "them (dict keys on paths).");

static PyObject *Graph_path_edges(GraphObject *self, PyObject *arg) {
    const hg_graph *g = G(self);
    Py_buffer tm;
    hg_edge_list l = {0};
    PyObject *res = NULL;
    hg_status st;

    if (hgpy_get_buffer(arg, &tm, self->cap.n_types, 0, 0, "type_mask") < 0) {
        return NULL;
    }
    if (hgpy_graph_ensure_bfs(self) < 0) {
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = hg_paths_tree_edges(g, self->bfs_parent, tm.buf, &l);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "finding the paths' references");
        goto cleanup;
    }
    res = Py_BuildValue(
        "(y#y#y#)", (const char *)l.edges, (Py_ssize_t)(l.n * sizeof(hg_edge)),
        (const char *)l.src, (Py_ssize_t)(l.n * sizeof(hg_node)),
        (const char *)l.dst, (Py_ssize_t)(l.n * sizeof(hg_node)));
cleanup:
    hg_edge_list_destroy(&l);
    hgpy_release_buffer(&tm);
    return res;
}

PyDoc_STRVAR(
    Graph_find_edges_doc,
    "find_edges(sources, targets) -> bytes\n\n"
    "For each pair (sources[i], targets[i]) of node ids (bytes of native\n"
    "uint32, as long as each other), the index into the forward CSR of the\n"
    "first reference from the source to the target (native uint64), or\n"
    "2**64 - 1 when there is none.  Snapshot files label the references of\n"
    "retention paths by these indices.");

static PyObject *Graph_find_edges(GraphObject *self, PyObject *args) {
    PyObject *src_obj, *dst_obj;
    hg_node *src = NULL, *dst = NULL;
    size_t n_src = 0, n_dst = 0;
    uint64_t *out = NULL;
    PyObject *res = NULL;
    hg_status st;

    if (!PyArg_ParseTuple(args, "OO:find_edges", &src_obj, &dst_obj) ||
        hgpy_parse_ids(self, src_obj, "find_edges() sources", &src, &n_src) <
            0 ||
        hgpy_parse_ids(self, dst_obj, "find_edges() targets", &dst, &n_dst) <
            0) {
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
    Py_BEGIN_ALLOW_THREADS
        st = hg_csr_find_edges(&G(self)->fwd, src, dst, n_src, out);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_GRAPH, "find_edges()");
        goto cleanup;
    }
    res = PyBytes_FromStringAndSize((const char *)out,
                                    (Py_ssize_t)(n_src * sizeof(uint64_t)));
cleanup:
    PyMem_Free(out);
    hg_free(src, n_src * sizeof(hg_node) + 1);
    hg_free(dst, n_dst * sizeof(hg_node) + 1);
    return res;
}

/* ---- the method table ---------------------------------------------------- */

PyMethodDef hgpy_retention_methods[] = {
    {"retention_groups", (PyCFunction)(void (*)(void))Graph_retention_groups,
     METH_VARARGS | METH_KEYWORDS, Graph_retention_groups_doc},
    {"path_to_root", (PyCFunction)Graph_path_to_root, METH_O,
     Graph_path_to_root_doc},
    {"path_edges", (PyCFunction)Graph_path_edges, METH_O, Graph_path_edges_doc},
    {"find_edges", (PyCFunction)Graph_find_edges, METH_VARARGS,
     Graph_find_edges_doc},
    {NULL, NULL, 0, NULL},
};
