/*
 * capture.c -- hg_capture_run: freeze the live heap into a heapgraph.
 *
 * Workload: every object the cyclic GC tracks (1M-50M), each visited once
 * with the GIL held and no Python code running; the pause is what users
 * see, so the walk touches each object once and does no hashing for
 * tracked targets.
 *
 * Algorithm (one process, GIL held until phase 5):
 *   1. stash: walk the GC lists (generations 0, 1, 2, permanent) and write
 *      each tracked object's node id into its _gc_prev (cpython311.h
 *      explains the invariant).  gcstate->collecting is set meanwhile so
 *      that nothing can start a collection.
 *   2. walk: the same lists in the same order: record node id's address,
 *      type, refcount, flags and size, then call tp_traverse with visit(),
 *      which appends one edge per visited referent to the forward CSR.  A
 *      tracked referent's id is read from its GC header; any other referent
 *      (str, int, None, untracked tuple or dict, non-GC object) gets the
 *      next id >= n_tracked through an open-addressing table keyed by
 *      address, and its node entry is read at that moment.
 *   3. while ids are still stashed: flag modules in sys.modules and the
 *      caller's excluded objects, without running Python code.
 *   4. restore every _gc_prev (on every path, including errors); pin;
 *      then, with strong references held, run what may execute Python
 *      code: __sizeof__ calls that are not native, type names.
 *   2b. untracked GC objects (untracked tuples and dicts) are traversed
 *      in id order after the tracked ones, so their referents are nodes
 *      and edges too; non-GC objects (str, int) have no out-edges.
 *   5. GIL released: copy the node table into the graph, per-type flags,
 *      trim the CSR.
 *
 * Value encodings: node ids 0..n_tracked-1 are tracked objects in GC list
 * order; untracked ids follow in order of first visit.  utab slots hold
 * addr == 0 when empty.  type index slots hold type id + 1, 0 when empty.
 */
#include "capture_int.h"

#include <string.h>

#define HG__GOLDEN 0x9E3779B97F4A7C15ull

/* ---- growable arrays ----------------------------------------------------- */

/* Grow *p (elem-byte items, *cap of them) to hold at least need items. */
static int grow(void **p, size_t *cap, size_t elem, size_t need) {
    size_t ncap = *cap ? *cap : 64;
    void *np;
    while (ncap < need) {
        ncap += ncap / 2 + 64;
    }
    if (ncap == *cap) {
        return 0;
    }
    np = hg_realloc(*p, *cap * elem, ncap * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

/* Shrink (or grow) an exact-size array from old_n to new_n items. */
static int resize_exact(void **p, size_t elem, size_t old_n, size_t new_n) {
    void *np;
    if (old_n == new_n) {
        return 0;
    }
    if (new_n == 0) {
        hg_free(*p, old_n * elem);
        *p = NULL;
        return 0;
    }
    np = hg_realloc(*p, old_n * elem, new_n * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    return 0;
}

/* ---- walk state ---------------------------------------------------------- */

typedef struct utab_slot {
    uint64_t addr; /* 0: empty */
    hg_node id;
} utab_slot;

typedef struct deferred {
    PyObject *op; /* borrowed during the walk, strong after phase 4 */
    hg_node id;
} deferred;

typedef struct type_entry {
    PyTypeObject *tp; /* borrowed during the walk, strong after phase 4 */
    hg__sizer sizer;
} type_entry;

/* status of a walk stopped by a tp_traverse that failed on its own */
#define HG__TRAVERSE_FAILED 100

typedef struct walk {
    hg_node n_tracked;
    size_t cap_t;   /* allocated entries of the t_* arrays: max(1, n_tracked) */
    size_t n_nodes; /* n_tracked + untracked so far */
    int status;     /* hg_status of the first failure */

    /* node table: tracked part (n_tracked entries) then untracked part
     * (n_nodes - n_tracked entries, capacity cap_u) */
    uint64_t *t_addr, *t_size, *u_addr, *u_size;
    uint32_t *t_type, *t_refcnt, *u_type, *u_refcnt;
    uint8_t *t_flags, *u_flags;
    size_t cap_u;

    /* untracked address -> id */
    utab_slot *slots;
    size_t mask; /* n slots - 1 */

    /* forward CSR of the tracked part */
    hg_edge *offsets; /* capacity n_offsets; n_nodes + 1 used at the end */
    size_t n_offsets;
    hg_node *targets;
    size_t n_edges, cap_edges;

    /* type table */
    type_entry *types;
    size_t n_types, cap_types;
    uint32_t *tindex; /* type id + 1 */
    size_t tmask;
    PyTypeObject *last_tp; /* borrowed: one-entry cache */
    uint32_t last_tid;

    /* objects whose size needs a call */
    deferred *defer;
    size_t n_defer, cap_defer;

    int types_owned; /* types[] hold strong references */
    int defer_owned; /* defer[].op hold strong references */
    int pinned;      /* tracked nodes hold one strong reference each */
} walk;

static inline size_t hash_addr(uint64_t a, size_t mask) {
    return (size_t)(((a >> 4) * HG__GOLDEN) >> 20) & mask;
}

static void walk_free(walk *w) {
    size_t nt = w->cap_t, nu = w->cap_u;
    hg_free(w->t_addr, nt * sizeof(uint64_t));
    hg_free(w->t_size, nt * sizeof(uint64_t));
    hg_free(w->t_type, nt * sizeof(uint32_t));
    hg_free(w->t_refcnt, nt * sizeof(uint32_t));
    hg_free(w->t_flags, nt);
    hg_free(w->u_addr, nu * sizeof(uint64_t));
    hg_free(w->u_size, nu * sizeof(uint64_t));
    hg_free(w->u_type, nu * sizeof(uint32_t));
    hg_free(w->u_refcnt, nu * sizeof(uint32_t));
    hg_free(w->u_flags, nu);
    if (w->slots != NULL) {
        hg_free(w->slots, (w->mask + 1) * sizeof(utab_slot));
    }
    hg_free(w->offsets, w->n_offsets * sizeof(hg_edge));
    hg_free(w->targets, w->cap_edges * sizeof(hg_node));
    hg_free(w->types, w->cap_types * sizeof(type_entry));
    if (w->tindex != NULL) {
        hg_free(w->tindex, (w->tmask + 1) * sizeof(uint32_t));
    }
    hg_free(w->defer, w->cap_defer * sizeof(deferred));
    memset(w, 0, sizeof(*w));
}

/* ---- type table ---------------------------------------------------------- */

static int type_index_insert(uint32_t *ix, size_t mask, PyTypeObject *tp,
                             uint32_t tid) {
    size_t h = hash_addr((uint64_t)(uintptr_t)tp, mask);
    while (ix[h] != 0) {
        h = (h + 1) & mask;
    }
    ix[h] = tid + 1;
    return 0;
}

/* Id of tp in the type table, adding it (and its size strategy) on first
 * sight.  Runs no Python code.  -1 on allocation failure. */
static int64_t type_id(walk *w, PyTypeObject *tp) {
    size_t h;
    uint32_t tid;

    if (tp == w->last_tp) {
        return w->last_tid;
    }
    h = hash_addr((uint64_t)(uintptr_t)tp, w->tmask);
    while (w->tindex[h] != 0) {
        tid = w->tindex[h] - 1;
        if (w->types[tid].tp == tp) {
            w->last_tp = tp;
            w->last_tid = tid;
            return tid;
        }
        h = (h + 1) & w->tmask;
    }
    if (w->n_types + 1 > (w->tmask + 1) / 2) {
        size_t nmask = (w->tmask + 1) * 2 - 1;
        uint32_t *nix = hg_calloc((nmask + 1) * sizeof(uint32_t));
        if (nix == NULL) {
            return -1;
        }
        for (size_t i = 0; i < w->n_types; i++) {
            type_index_insert(nix, nmask, w->types[i].tp, (uint32_t)i);
        }
        hg_free(w->tindex, (w->tmask + 1) * sizeof(uint32_t));
        w->tindex = nix;
        w->tmask = nmask;
    }
    if (w->n_types == w->cap_types &&
        grow((void **)&w->types, &w->cap_types, sizeof(type_entry),
             w->n_types + 1) < 0) {
        return -1;
    }
    tid = (uint32_t)w->n_types++;
    w->types[tid].tp = tp;
    hg__sizer_init(tp, &w->types[tid].sizer);
    type_index_insert(w->tindex, w->tmask, tp, tid);
    w->last_tp = tp;
    w->last_tid = tid;
    return tid;
}

/* ---- node entries -------------------------------------------------------- */

static inline uint32_t sat_refcnt(PyObject *op) {
    Py_ssize_t r = Py_REFCNT(op);
    return r > (Py_ssize_t)UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* Record the size of node id, or queue op for phase 4. */
static int record_size(walk *w, PyObject *op, uint32_t tid, hg_node id,
                       uint64_t *slot) {
    Py_ssize_t n = hg__sizer_quick(&w->types[tid].sizer, op);
    if (n >= 0) {
        *slot = (uint64_t)n;
        return 0;
    }
    *slot = 0;
    if (w->n_defer == w->cap_defer &&
        grow((void **)&w->defer, &w->cap_defer, sizeof(deferred),
             w->n_defer + 1) < 0) {
        return -1;
    }
    w->defer[w->n_defer].op = op;
    w->defer[w->n_defer].id = id;
    w->n_defer++;
    return 0;
}

static int utab_grow(walk *w) {
    size_t nmask = (w->mask + 1) * 2 - 1;
    utab_slot *ns = hg_calloc((nmask + 1) * sizeof(utab_slot));
    if (ns == NULL) {
        return -1;
    }
    for (size_t i = 0; i <= w->mask; i++) {
        if (w->slots[i].addr != 0) {
            size_t h = hash_addr(w->slots[i].addr, nmask);
            while (ns[h].addr != 0) {
                h = (h + 1) & nmask;
            }
            ns[h] = w->slots[i];
        }
    }
    hg_free(w->slots, (w->mask + 1) * sizeof(utab_slot));
    w->slots = ns;
    w->mask = nmask;
    return 0;
}

/* Grow the five untracked arrays together (they share cap_u); on failure
 * the ones already grown are shrunk back so walk_free's sizes stay exact. */
static int grow_untracked(walk *w) {
    void **arr[5] = {(void **)&w->u_addr, (void **)&w->u_size,
                     (void **)&w->u_type, (void **)&w->u_refcnt,
                     (void **)&w->u_flags};
    const size_t elem[5] = {8, 8, 4, 4, 1};
    size_t old = w->cap_u, grown = old;

    /* grow() picks the same new capacity for each array */
    for (int i = 0; i < 5; i++) {
        size_t c = old;
        if (grow(arr[i], &c, elem[i], old + 1) < 0) {
            for (int j = 0; j < i; j++) {
                if (resize_exact(arr[j], elem[j], grown, old) < 0) {
                    /* the shim refused even to shrink: give up the array
                     * (walk_free frees the rest at cap_u) */
                    hg_free(*arr[j], grown * elem[j]);
                    *arr[j] = NULL;
                }
            }
            return -1;
        }
        grown = c;
    }
    w->cap_u = grown;
    return 0;
}

/* Id of an untracked object, recording its node entry on first sight. */
static int untracked_id(walk *w, PyObject *op, hg_node *out) {
    uint64_t a = (uint64_t)(uintptr_t)op;
    size_t h = hash_addr(a, w->mask);
    size_t k;
    int64_t tid;

    while (w->slots[h].addr != 0) {
        if (w->slots[h].addr == a) {
            *out = w->slots[h].id;
            return 0;
        }
        h = (h + 1) & w->mask;
    }
    if (w->n_nodes >= HG_MAX_NODES) {
        w->status = HG_ERANGE;
        return -1;
    }
    k = w->n_nodes - w->n_tracked;
    if (k == w->cap_u && grow_untracked(w) < 0) {
        goto nomem;
    }
    tid = type_id(w, Py_TYPE(op));
    if (tid < 0) {
        goto nomem;
    }
    *out = (hg_node)w->n_nodes;
    w->u_addr[k] = a;
    w->u_type[k] = (uint32_t)tid;
    w->u_refcnt[k] = sat_refcnt(op);
    w->u_flags[k] = PyObject_IS_GC(op) ? HG_NODE_GC : 0;
    if (record_size(w, op, (uint32_t)tid, *out, &w->u_size[k]) < 0) {
        goto nomem;
    }
    w->n_nodes++;
    w->slots[h].addr = a;
    w->slots[h].id = *out;
    if ((w->n_nodes - w->n_tracked) * 2 > w->mask + 1 && utab_grow(w) < 0) {
        goto nomem;
    }
    return 0;

nomem:
    if (w->status == HG_OK) {
        w->status = HG_ENOMEM;
    }
    return -1;
}

/* tp_traverse callback: one edge from the current node to op. */
static int visit(PyObject *op, void *arg) {
    walk *w = arg;
    hg_node id;
    uint64_t sid;

    if (hg__gc_tracked(op) && (sid = hg__gc_stashed_id(op)) < w->n_tracked) {
        id = (hg_node)sid;
    } else if (untracked_id(w, op, &id) < 0) {
        return -1;
    }
    if (w->n_edges == w->cap_edges &&
        grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node),
             w->n_edges + 1) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    w->targets[w->n_edges++] = id;
    return 0;
}

/* ---- phases -------------------------------------------------------------- */

/* Phase 2: node entries and edges of every tracked object. */
static int walk_tracked(walk *w, struct _gc_runtime_state *gc) {
    hg_node id = 0;
    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        PyGC_Head *head = hg__gc_list(gc, i);
        uint8_t fl = (uint8_t)(HG_NODE_TRACKED | HG_NODE_GC |
                               (i << HG_NODE_GEN_SHIFT) |
                               (i == HG__GC_LIST_FROZEN ? HG_NODE_FROZEN : 0));
        for (PyGC_Head *g = hg__gc_next(head); g != head; g = hg__gc_next(g)) {
            PyObject *op = hg__gc_object(g); /* borrowed */
            traverseproc trav = Py_TYPE(op)->tp_traverse;
            int64_t tid = type_id(w, Py_TYPE(op));
            if (tid < 0) {
                w->status = HG_ENOMEM;
                return -1;
            }
            w->t_addr[id] = (uint64_t)(uintptr_t)op;
            w->t_type[id] = (uint32_t)tid;
            w->t_refcnt[id] = sat_refcnt(op);
            w->t_flags[id] = fl;
            if (record_size(w, op, (uint32_t)tid, id, &w->t_size[id]) < 0) {
                w->status = HG_ENOMEM;
                return -1;
            }
            w->offsets[id] = w->n_edges;
            if (trav != NULL && trav(op, visit, w) != 0) {
                if (w->status == HG_OK) {
                    w->status = HG__TRAVERSE_FAILED;
                }
                return -1;
            }
            id++;
        }
    }
    w->offsets[id] = w->n_edges;
    return 0;
}

/* Phase 2b: untracked GC objects (tuples and dicts the collector has
 * untracked, objects never tracked) are traversed too, so that searches
 * through referents see what gc.get_referents() sees.  They are taken in
 * id order; nodes they reveal get the next ids and are taken in turn, so
 * the CSR stays in id order.  Non-GC objects (str, int, ...) have no
 * out-edges.  On return offsets[0 .. n_nodes] are all set. */
static int walk_untracked(walk *w) {
    for (size_t id = w->n_tracked; id < w->n_nodes; id++) {
        PyObject *op; /* borrowed: referenced by a node walked earlier */
        traverseproc trav;
        if (id + 2 > w->n_offsets &&
            grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                 id + 2) < 0) {
            w->status = HG_ENOMEM;
            return -1;
        }
        w->offsets[id] = w->n_edges;
        if (!(w->u_flags[id - w->n_tracked] & HG_NODE_GC)) {
            continue;
        }
        op = (PyObject *)(uintptr_t)w->u_addr[id - w->n_tracked];
        trav = Py_TYPE(op)->tp_traverse;
        if (trav != NULL && trav(op, visit, w) != 0) {
            if (w->status == HG_OK) {
                w->status = HG__TRAVERSE_FAILED;
            }
            return -1;
        }
    }
    if (w->n_nodes + 1 > w->n_offsets &&
        grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
             w->n_nodes + 1) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    w->offsets[w->n_nodes] = w->n_edges;
    return 0;
}

/* Node id of op while ids are stashed, or HG_NONE if it is not a node. */
static hg_node find_node(walk *w, PyObject *op) {
    uint64_t sid, a = (uint64_t)(uintptr_t)op;
    size_t h;
    if (hg__gc_tracked(op) && (sid = hg__gc_stashed_id(op)) < w->n_tracked &&
        w->t_addr[sid] == a) {
        return (hg_node)sid;
    }
    h = hash_addr(a, w->mask);
    while (w->slots[h].addr != 0) {
        if (w->slots[h].addr == a) {
            return w->slots[h].id;
        }
        h = (h + 1) & w->mask;
    }
    return HG_NONE;
}

static void flag_node(walk *w, hg_node id, uint8_t fl) {
    if (id == HG_NONE) {
        return;
    }
    if (id < w->n_tracked) {
        w->t_flags[id] |= fl;
    } else {
        w->u_flags[id - w->n_tracked] |= fl;
    }
}

/* Phase 3: modules m in sys.modules with sys.modules.get(m.__name__) is m
 * (objgraph's is_proper_module), and excluded objects.  C API only: a
 * module whose __name__ is not a str, or dicts that could call __eq__ on
 * lookup, are skipped. */
static void flag_modules_and_excluded(walk *w,
                                      PyObject *exclude /* borrowed */) {
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *key, *m, *d, *name, *again;         /* borrowed */
    Py_ssize_t pos = 0;

    if (modules != NULL && hg__dict_str_keys_only(modules)) {
        while (PyDict_Next(modules, &pos, &key, &m)) {
            if (!PyModule_Check(m)) {
                continue;
            }
            d = ((PyModuleObject *)m)->md_dict;
            if (d == NULL || !hg__dict_str_keys_only(d)) {
                continue;
            }
            name = PyDict_GetItemWithError(d, HG__ID(__name__));
            if (name == NULL || !PyUnicode_CheckExact(name)) {
                PyErr_Clear();
                continue;
            }
            again = PyDict_GetItemWithError(modules, name);
            if (again == m) {
                flag_node(w, find_node(w, m), HG_NODE_MODULE);
            }
            PyErr_Clear();
        }
    }
    if (exclude != NULL && PyTuple_Check(exclude)) {
        flag_node(w, find_node(w, exclude), HG_NODE_EXCLUDED);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(exclude); i++) {
            flag_node(w, find_node(w, PyTuple_GET_ITEM(exclude, i)),
                      HG_NODE_EXCLUDED);
        }
    }
}

static void unpin_tracked(walk *w) {
    if (!w->pinned) {
        return;
    }
    w->pinned = 0;
    for (hg_node v = 0; v < w->n_tracked; v++) {
        Py_DECREF((PyObject *)(uintptr_t)w->t_addr[v]);
    }
}

/* Drop the references taken in phase 4 (may run deallocators). */
static void drop_refs(walk *w) {
    if (w->defer_owned) {
        w->defer_owned = 0;
        for (size_t i = 0; i < w->n_defer; i++) {
            Py_DECREF(w->defer[i].op);
        }
    }
    if (w->types_owned) {
        w->types_owned = 0;
        for (size_t i = 0; i < w->n_types; i++) {
            Py_DECREF(w->types[i].tp);
        }
    }
}

/* Phase 4b: sizes that need calls.  A __sizeof__ that fails with an
 * ordinary exception (sys.getsizeof would raise) falls back to
 * object.__sizeof__'s formula so that one broken class does not make the
 * heap impossible to snapshot; MemoryError and non-Exception errors
 * (KeyboardInterrupt...) fail the capture. */
static int deferred_sizes(walk *w) {
    for (size_t i = 0; i < w->n_defer; i++) {
        PyObject *op = w->defer[i].op; /* borrowed from defer[] */
        hg_node id = w->defer[i].id;
        uint32_t tid =
            id < w->n_tracked ? w->t_type[id] : w->u_type[id - w->n_tracked];
        const hg__sizer *s = &w->types[tid].sizer;
        Py_ssize_t n = hg__sizer_slow(s, op);
        if (n < 0) {
            if (!PyErr_ExceptionMatches(PyExc_Exception) ||
                PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear();
            n = hg__object_sizeof(op) + s->preheader;
        }
        if (id < w->n_tracked) {
            w->t_size[id] = (uint64_t)n;
        } else {
            w->u_size[id - w->n_tracked] = (uint64_t)n;
        }
    }
    return 0;
}

/* objgraph: type(o).__name__ and _long_typename(o). */
static int type_names(PyTypeObject *tp, PyObject **short_name,
                      PyObject **long_name) {
    PyObject *name = NULL, *module = NULL;
    int truth, rc = -1;

    *short_name = *long_name = NULL;
    name = PyObject_GetAttr((PyObject *)tp, HG__ID(__name__));
    if (name == NULL) {
        goto cleanup;
    }
    if (!PyUnicode_Check(name)) {
        Py_SETREF(name, PyObject_Str(name));
        if (name == NULL) {
            goto cleanup;
        }
    }
    if (_PyObject_LookupAttr((PyObject *)tp, HG__ID(__module__), &module) < 0) {
        goto cleanup;
    }
    truth = module == NULL ? 0 : PyObject_IsTrue(module);
    if (truth < 0) {
        goto cleanup;
    }
    if (truth) {
        *long_name = PyUnicode_FromFormat("%S.%S", module, name);
        if (*long_name == NULL) {
            goto cleanup;
        }
    } else {
        *long_name = Py_NewRef(name);
    }
    *short_name = Py_NewRef(name);
    rc = 0;
cleanup:
    Py_XDECREF(name);
    Py_XDECREF(module);
    return rc;
}

/* Phase 4c: the type table of the result. */
static int build_types(walk *w, hg_capture *out) {
    size_t nt = w->n_types;
    out->type_addr = hg_alloc(nt * sizeof(uint64_t));
    out->type_flags = hg_alloc(nt * sizeof(uint32_t));
    out->short_names = PyList_New((Py_ssize_t)nt);
    out->long_names = PyList_New((Py_ssize_t)nt);
    out->n_types = (uint32_t)nt; /* the size hg_capture_release frees */
    if (out->type_addr == NULL || out->type_flags == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (out->short_names == NULL || out->long_names == NULL) {
        return -1;
    }
    for (size_t i = 0; i < nt; i++) {
        PyTypeObject *tp = w->types[i].tp; /* borrowed from types[] */
        PyObject *s, *l;
        uint32_t f = 0;
        out->type_addr[i] = (uint64_t)(uintptr_t)tp;
        if (_PyType_Lookup(tp, HG__ID(__del__)) != NULL) {
            f |= HG_TYPE_HAS_DEL;
        }
        if (PyType_IsSubtype(tp, &PyModule_Type)) {
            f |= HG_TYPE_IS_MODULE;
        }
        if (tp == &PyTuple_Type) {
            f |= HG_TYPE_EXACT_TUPLE;
        }
        if (tp == &PyDict_Type) {
            f |= HG_TYPE_EXACT_DICT;
        }
        out->type_flags[i] = f;
        if (type_names(tp, &s, &l) < 0) {
            return -1;
        }
        PyList_SET_ITEM(out->short_names, (Py_ssize_t)i, s);
        PyList_SET_ITEM(out->long_names, (Py_ssize_t)i, l);
    }
    return 0;
}

/* Phase 5 (GIL released): move the node table and CSR into g. */
static hg_status assemble(walk *w, const uint32_t *type_flags, hg_graph *g) {
    size_t nt = w->n_tracked, nu = w->n_nodes - w->n_tracked;
    size_t n = w->n_nodes;
    hg_status st;

    memcpy(g->addr, w->t_addr, nt * 8);
    memcpy(g->addr + nt, w->u_addr, nu * 8);
    memcpy(g->size, w->t_size, nt * 8);
    memcpy(g->size + nt, w->u_size, nu * 8);
    memcpy(g->type_id, w->t_type, nt * 4);
    memcpy(g->type_id + nt, w->u_type, nu * 4);
    memcpy(g->refcnt, w->t_refcnt, nt * 4);
    memcpy(g->refcnt + nt, w->u_refcnt, nu * 4);
    memcpy(g->flags, w->t_flags, nt);
    memcpy(g->flags + nt, w->u_flags, nu);
    for (size_t v = 0; v < n; v++) {
        if (type_flags[g->type_id[v]] & HG_TYPE_HAS_DEL) {
            g->flags[v] |= HG_NODE_HAS_DEL;
        }
    }
    g->n_tracked = (hg_node)nt;
    g->n_types = (uint32_t)w->n_types;

    /* walk_untracked set offsets[0 .. n]; trim the spare capacity */
    if (resize_exact((void **)&w->offsets, sizeof(hg_edge), w->n_offsets,
                     n + 1) < 0) {
        return HG_ENOMEM;
    }
    w->n_offsets = n + 1;
    /* the core frees with the exact size (sized deallocation) */
    if (resize_exact((void **)&w->targets, sizeof(hg_node), w->cap_edges,
                     w->n_edges) < 0) {
        return HG_ENOMEM;
    }
    w->cap_edges = w->n_edges;
    st =
        hg_csr_adopt(&g->fwd, (hg_node)n, w->n_edges, &w->offsets, &w->targets);
    if (st == HG_OK) {
        w->n_offsets = 0;
        w->cap_edges = 0;
    }
    return st;
}

static void set_status_error(int status) {
    if (PyErr_Occurred()) {
        return;
    }
    if (status == HG_ERANGE) {
        PyErr_SetString(PyExc_MemoryError,
                        "heap snapshot: more objects than node ids (2^32-2)");
    } else if (status == HG__TRAVERSE_FAILED) {
        PyErr_SetString(PyExc_RuntimeError,
                        "heap snapshot: a tp_traverse function failed");
    } else if (status == HG_ENOMEM) {
        PyErr_SetString(PyExc_MemoryError,
                        "heap snapshot: out of memory while capturing");
    } else {
        PyErr_Format(PyExc_RuntimeError, "heap snapshot: %s",
                     hg_status_str((hg_status)status));
    }
}

/* ---- entry point --------------------------------------------------------- */

/* See capture.h.  Phases as in the file header. */
int hg_capture_run(const hg_capture_opts *opts, hg_capture *out) {
    struct _gc_runtime_state *gc = hg__gc_state();
    walk w;
    hg_graph *g = NULL;
    int stashed = 0, rc = -1;
    int st = HG_OK; /* hg_status or HG__TRAVERSE_FAILED */
    double t0 = hg__now(), t_release;
    uint64_t n_tracked;

    memset(&w, 0, sizeof(w));
    if (opts == NULL || out == NULL) {
        PyErr_SetString(PyExc_TypeError, "hg_capture_run: NULL argument");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (opts->exclude != NULL && !PyTuple_Check(opts->exclude)) {
        PyErr_SetString(PyExc_TypeError, "exclude must be a tuple");
        return -1;
    }
    if (gc->collecting) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot capture the heap while the garbage "
                        "collector is running");
        return -1;
    }
    /* Warm the sizer's lookups before anything is stashed. */
    (void)hg_capture_sizeof(Py_None);

    /* ---- phase 1: stash ids -------------------------------------------- */
    gc->collecting = 1;
    stashed = 1;
    n_tracked = hg__gc_stash_ids(gc);
    if (n_tracked > HG_MAX_NODES) {
        st = HG_ERANGE;
        goto restore;
    }
    w.n_tracked = (hg_node)n_tracked;
    w.n_nodes = n_tracked;
    /* cap_t >= 1: hg_alloc(0) would look like a failure */
    w.cap_t = n_tracked > 0 ? n_tracked : 1;
    w.t_addr = hg_alloc(w.cap_t * 8);
    w.t_size = hg_alloc(w.cap_t * 8);
    w.t_type = hg_alloc(w.cap_t * 4);
    w.t_refcnt = hg_alloc(w.cap_t * 4);
    w.t_flags = hg_alloc(w.cap_t);
    w.n_offsets = n_tracked + 1;
    w.offsets = hg_alloc(w.n_offsets * sizeof(hg_edge));
    w.mask = 4095;
    w.slots = hg_calloc((w.mask + 1) * sizeof(utab_slot));
    w.tmask = 255;
    w.tindex = hg_calloc((w.tmask + 1) * sizeof(uint32_t));
    if (w.t_addr == NULL || w.t_size == NULL || w.t_type == NULL ||
        w.t_refcnt == NULL || w.t_flags == NULL || w.offsets == NULL ||
        w.slots == NULL || w.tindex == NULL ||
        grow((void **)&w.targets, &w.cap_edges, sizeof(hg_node),
             n_tracked * 3 + 1024) < 0) {
        st = HG_ENOMEM;
        goto restore;
    }

    /* ---- phase 2: walk ------------------------------------------------- */
    if (walk_tracked(&w, gc) < 0) {
        st = w.status;
        goto restore;
    }
    if (walk_untracked(&w) < 0) {
        st = w.status;
        goto restore;
    }

    /* ---- phase 3: flags that need the stashed ids ---------------------- */
    flag_modules_and_excluded(&w, opts->exclude);

restore:
    /* ---- phase 4: restore, pin, calls ---------------------------------- */
    hg__gc_restore(gc);
    gc->collecting = 0;
    stashed = 0;
    if (st != HG_OK) {
        set_status_error(st);
        goto cleanup;
    }
    /* Nothing has run since the walk, so every recorded object is alive:
     * take the references now, before any Python code can free one. */
    if (opts->pin) {
        for (hg_node v = 0; v < w.n_tracked; v++) {
            Py_INCREF((PyObject *)(uintptr_t)w.t_addr[v]);
        }
        w.pinned = 1;
    }
    for (size_t i = 0; i < w.n_types; i++) {
        Py_INCREF(w.types[i].tp);
    }
    w.types_owned = 1;
    for (size_t i = 0; i < w.n_defer; i++) {
        Py_INCREF(w.defer[i].op);
    }
    w.defer_owned = 1;
    if (deferred_sizes(&w) < 0 || build_types(&w, out) < 0) {
        goto cleanup;
    }
    drop_refs(&w);
    if (hg_graph_new((hg_node)w.n_nodes, &g) != HG_OK) {
        PyErr_NoMemory();
        goto cleanup;
    }

    /* ---- phase 5: without the GIL -------------------------------------- */
    t_release = hg__now();
    Py_BEGIN_ALLOW_THREADS st = assemble(&w, out->type_flags, g);
    Py_END_ALLOW_THREADS if (st != HG_OK) {
        set_status_error(st);
        goto cleanup;
    }
    out->graph = g;
    g = NULL;
    out->pinned = w.pinned;
    w.pinned = 0;
    out->pause_seconds = t_release - t0;
    rc = 0;

cleanup:
    if (stashed) {
        hg__gc_restore(gc);
        gc->collecting = 0;
    }
    if (rc < 0) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        drop_refs(&w);
        unpin_tracked(&w);
        hg_graph_free(g);
        hg_capture_release(out);
        PyErr_Restore(et, ev, tb);
    }
    walk_free(&w);
    if (rc == 0) {
        out->capture_seconds = hg__now() - t0;
    }
    return rc;
}
