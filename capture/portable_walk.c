/*
 * portable_walk.c -- the portable capture's node table and its phases 1
 * (enumeration) and 2 (the walk): see portable.c's header for the
 * algorithm, portable_walk.h for the state.
 */
#include "portable_walk.h"

#include <string.h>

/* See portable_walk.h. */
int hg__pw_grow(void **p, size_t *cap, size_t elem, size_t need) {
    size_t ncap = *cap ? *cap : 1024;
    void *np;
    if (need <= *cap) {
        return 0;
    }
    while (ncap < need) {
        ncap += ncap / 2 + 1024;
    }
    np = hg_realloc(*p, *cap * elem, ncap * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

/* See portable_walk.h. */
void hg__pw_node_arrays(pwalk *w, void **arr[5]) {
    arr[0] = (void **)&w->addr;
    arr[1] = (void **)&w->size;
    arr[2] = (void **)&w->type;
    arr[3] = (void **)&w->refcnt;
    arr[4] = (void **)&w->flags;
}

/* See portable_walk.h. */
int hg__pw_reserve_nodes(pwalk *w, size_t need) {
    void **arr[5];
    if (need <= w->cap) {
        return 0;
    }
    if (need > HG_MAX_NODES) {
        w->status = HG__WALK_ERANGE;
        return -1;
    }
    hg__pw_node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        if (hg__pw_grow(arr[i], &w->cap_each[i], hg__pw_node_elem[i], need) <
            0) {
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
    }
    w->cap = w->cap_each[0];
    for (int i = 1; i < 5; i++) {
        w->cap = w->cap_each[i] < w->cap ? w->cap_each[i] : w->cap;
    }
    return 0;
}

/* See portable_walk.h. */
void hg__pw_free(pwalk *w) {
    void **arr[5];
    hg__pw_node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        hg_free(*arr[i], w->cap_each[i] * hg__pw_node_elem[i]);
    }
    hg_free(w->sover, w->cap_sover * sizeof(hg_size_overflow));
    hg_free(w->offsets, w->cap_off * sizeof(hg_edge));
    hg_free(w->targets, w->cap_edges * sizeof(hg_node));
    hg_free(w->types, w->cap_types * sizeof(ptype));
    hg_free(w->defer, w->cap_defer * sizeof(pdefer));
    ptable_free(&w->ids);
    ptable_free(&w->tindex);
    memset(w, 0, sizeof(*w));
}

/* Id of tp in the type table, adding it on first sight.  Runs no Python
 * code.  -1 on allocation failure. */
static int64_t type_id(pwalk *w, PyTypeObject *tp) {
    uint32_t tid;
    PyObject *del; /* borrowed */
    if (tp == w->last_tp) {
        return w->last_tid;
    }
    tid = ptable_get(&w->tindex, (uint64_t)(uintptr_t)tp);
    if (tid == HG_NONE) {
        if (hg__pw_grow((void **)&w->types, &w->cap_types, sizeof(ptype),
                        w->n_types + 1) < 0 ||
            ptable_add(&w->tindex, (uint64_t)(uintptr_t)tp,
                       (uint32_t)w->n_types) < 0) {
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
        tid = (uint32_t)w->n_types++;
        w->types[tid].tp = tp;
        hg__p_sizer_init(tp, w->py_sizes, &w->types[tid].sizer);
        /* a dict that could run code on lookup: no flag */
        w->types[tid].node_flags =
            hg__p_type_lookup(tp, hg__p_id.del_, &del) == 0 && del != NULL
                ? HG_NODE_HAS_DEL
                : 0;
    }
    w->last_tp = tp;
    w->last_tid = tid;
    return tid;
}

static int store_size(pwalk *w, hg_node id, Py_ssize_t n) {
    if ((uint64_t)n < UINT32_MAX) {
        w->size[id] = (uint32_t)n;
        return 0;
    }
    w->size[id] = UINT32_MAX;
    if (hg__pw_grow((void **)&w->sover, &w->cap_sover, sizeof(hg_size_overflow),
                    w->n_sover + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->sover[w->n_sover++] = (hg_size_overflow){id, 0, (uint64_t)n};
    return 0;
}

static int store_child_size(pwalk *w, PyObject *op, uint32_t tid, hg_node id) {
    return store_size(w, id, hg__p_sizer_nocall(&w->types[tid].sizer, op));
}

/* Record the size of node id, or defer it to phase 4 (in a forked child:
 * the size without the call). */
static int record_size(pwalk *w, PyObject *op, uint32_t tid, hg_node id) {
    Py_ssize_t n = hg__p_sizer_quick(&w->types[tid].sizer, op);
    if (n == -2) {
        PyErr_Clear(); /* MemoryError from an int */
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    if (n >= 0) {
        return store_size(w, id, n);
    }
    if (w->child) {
        /* a call could take a lock another thread held at the fork: the
         * size without it (object's formula and the pre-header) */
        return store_child_size(w, op, tid, id);
    }
    w->size[id] = 0;
    if (hg__pw_grow((void **)&w->defer, &w->cap_defer, sizeof(pdefer),
                    w->n_defer + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->defer[w->n_defer].op = op;
    w->defer[w->n_defer].id = id;
    w->n_defer++;
    return 0;
}

static inline uint32_t sat_refcnt(Py_ssize_t r) {
    return r >= (Py_ssize_t)UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* Fill node id's entry for op (its address is already in addr[id]). */
static int fill_node(pwalk *w, PyObject *op, hg_node id, uint8_t fl) {
    int64_t tid = type_id(w, Py_TYPE(op));
    if (tid < 0) {
        return -1;
    }
    w->type[id] = (uint32_t)tid;
    w->refcnt[id] = sat_refcnt(Py_REFCNT(op));
    w->flags[id] = fl | w->types[tid].node_flags;
    return record_size(w, op, (uint32_t)tid, id);
}

/* ---- phase 1: enumeration ------------------------------------------------ */

/* See portable_walk.h. */
int hg__pw_enum_add(pwalk *w, PyObject *op, int gen) {
    hg_node id = (hg_node)w->n;
    if (hg__pw_reserve_nodes(w, w->n + 1) < 0) {
        return -1;
    }
    w->addr[id] = (uint64_t)(uintptr_t)op;
    w->flags[id] =
        (uint8_t)(HG_NODE_TRACKED | HG_NODE_GC | (gen << HG_NODE_GEN_SHIFT));
    w->n++;
    return 0;
}

/* See portable_walk.h. */
int hg__pw_index_enumerated(pwalk *w) {
    if (2 * (2 * w->n + 2) > w->ids.cap) {
        ptable bigger;
        if (ptable_init(&bigger, 2 * w->n) < 0) {
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
        ptable_free(&w->ids);
        w->ids = bigger;
    }
    for (size_t v = 0; v < w->n; v++) {
        /* independent inserts at random slots: fetch ahead of them */
        if (v + HG__P_LAG < w->n) {
            __builtin_prefetch(
                &w->ids.slot[slot_of(w->addr[v + HG__P_LAG], w->ids.cap)], 1);
        }
        if (ptable_add(&w->ids, w->addr[v], (uint32_t)v) < 0) {
            w->status = HG__WALK_ENOMEM;
            return -1;
        }
    }
    return 0;
}

/* gc.get_objects, fetched once (a strong reference for the life of the
 * process: a program that replaces the module's attribute later does not
 * change what is called). */
static PyObject *get_objects_fn;

/* See portable_walk.h. */
PyObject *hg__pw_get_objects(int gen) {
    PyObject *arg, *res;
    if (get_objects_fn == NULL) {
        PyObject *gc = PyImport_ImportModule("gc");
        if (gc == NULL) {
            return NULL;
        }
        get_objects_fn = PyObject_GetAttrString(gc, "get_objects");
        Py_DECREF(gc);
        if (get_objects_fn == NULL) {
            return NULL;
        }
    }
    arg = PyLong_FromLong(gen);
    if (arg == NULL) {
        return NULL;
    }
    res = PyObject_Vectorcall(get_objects_fn, &arg, 1, NULL);
    Py_DECREF(arg);
    if (res != NULL && !PyList_CheckExact(res)) {
        Py_CLEAR(res);
        PyErr_SetString(PyExc_TypeError, "gc.get_objects() gave no list");
    }
    return res;
}

#if PY_VERSION_HEX >= 0x030C0000
typedef struct visit_state {
    pwalk *w;
    size_t n_young[2]; /* objects in generations 0 and 1 */
    size_t seen;
} visit_state;

/* PyUnstable_GC_VisitObjects callback: 0 stops the visit. */
static int enum_visit(PyObject *op, void *arg) {
    visit_state *vs = arg;
    int gen = vs->seen < vs->n_young[0]                    ? 0
              : vs->seen < vs->n_young[0] + vs->n_young[1] ? 1
                                                           : 2;
    vs->seen++;
    return hg__pw_enum_add(vs->w, op, gen) == 0;
}
#endif

/* See portable_walk.h. */
int hg__pw_enumerate(pwalk *w) {
#if PY_VERSION_HEX >= 0x030C0000
    visit_state vs = {w, {0, 0}, 0};
    for (int gen = 0; gen < 2; gen++) {
        PyObject *list = hg__pw_get_objects(gen);
        if (list == NULL) {
            return -1;
        }
        vs.n_young[gen] = (size_t)PyList_GET_SIZE(list);
        Py_DECREF(list);
    }
    PyUnstable_GC_VisitObjects(enum_visit, &vs);
    if (w->status != HG__WALK_OK) {
        return -1;
    }
#else
    for (int gen = 0; gen < 3; gen++) {
        PyObject *list = hg__pw_get_objects(gen);
        if (list == NULL) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
            if (hg__pw_enum_add(w, PyList_GET_ITEM(list, i), gen) < 0) {
                Py_DECREF(list);
                return -1;
            }
        }
        /* every item has another reference: dropping the list frees
         * nothing else and runs no code */
        Py_DECREF(list);
    }
#endif
    w->n_enum = (hg_node)w->n;
    return hg__pw_index_enumerated(w);
}

/* ---- phase 2: the walk --------------------------------------------------- */

/* Id of a referent met for the first time: a new node. */
/* Whether op is immortal (3.12 on): its count's low 32 bits, read as
 * signed, are negative -- what 3.12 and 3.13's private _Py_IsImmortal
 * tests; 3.14 says it through the unstable API. */
static int immortal(PyObject *op) {
#if PY_VERSION_HEX >= 0x030E0000
    return PyUnstable_IsImmortal(op);
#elif PY_VERSION_HEX >= 0x030C0000
    return (int32_t)(uint32_t)Py_REFCNT(op) < 0;
#else
    (void)op;
    return 0;
#endif
}

static int new_node(pwalk *w, PyObject *op, hg_node *out) {
    hg_node id = (hg_node)w->n;
    uint8_t fl = 0;
    if (hg__pw_reserve_nodes(w, w->n + 1) < 0) {
        return -1;
    }
    if (ptable_add(&w->ids, (uint64_t)(uintptr_t)op, id) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    if (PyObject_IS_GC(op)) {
        fl = HG_NODE_GC;
        if (PyObject_GC_IsTracked(op)) {
            /* tracked, yet on no generation's list: the permanent
             * generation (no collection runs, gcwatch.c) */
            fl |= HG_NODE_TRACKED | HG_NODE_FROZEN | (3u << HG_NODE_GEN_SHIFT);
            if (immortal(op)) {
                /* the interpreter's own: 3.12 freezes the immortal
                 * __mro__ and __bases__ of its static types at startup;
                 * out of every view, as gc.get_objects() leaves them */
                fl |= HG_NODE_EXCLUDED;
            }
            w->n_extra++;
        }
    }
    w->addr[id] = (uint64_t)(uintptr_t)op;
    w->n++;
    if (fill_node(w, op, id, fl) < 0) {
        return -1;
    }
    *out = id;
    return 0;
}

/* One edge from the node being walked to op: op's id from the table, or
 * a new node. */
static int add_edge(pwalk *w, PyObject *op) {
    hg_node id = ptable_get(&w->ids, (uint64_t)(uintptr_t)op);
    if (id == HG_NONE && new_node(w, op, &id) < 0) {
        return -1;
    }
    if (w->n_edges == w->cap_edges &&
        hg__pw_grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node),
                    w->n_edges + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->targets[w->n_edges++] = id;
    return 0;
}

/* tp_traverse callback of the discovered nodes: resolved at once. */
static int visit(PyObject *op, void *arg) {
    return add_edge(arg, op);
}

/* tp_traverse callback of the enumerated nodes: a referent's table slot
 * (and header) is usually a cache miss, so it is prefetched and the
 * referent queued, resolved HG__P_LAG referents later in queue order --
 * the ids and the edge order are those of resolving at once (capture.c's
 * visit_queued does the same for the native walk). */
static int visit_queued(PyObject *op, void *arg) {
    pwalk *w = arg;
    __builtin_prefetch(
        &w->ids.slot[slot_of((uint64_t)(uintptr_t)op, w->ids.cap)]);
    __builtin_prefetch(op);
    w->ring[w->ring_head++ & (HG__P_RING - 1)] = op;
    if (w->ring_head - w->ring_tail > HG__P_LAG) {
        return add_edge(w, w->ring[w->ring_tail++ & (HG__P_RING - 1)]);
    }
    return 0;
}

/* Resolve every queued referent. */
static int drain_queue(pwalk *w) {
    while (w->ring_tail != w->ring_head) {
        if (add_edge(w, w->ring[w->ring_tail++ & (HG__P_RING - 1)]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A dict whose tp_traverse visited nothing though it holds values (3.13:
 * an instance's __dict__ whose values are still inline; the instance
 * visits them): one of them keeps it tracked, as _PyDict_MaybeUntrack
 * reads them.  PyDict_Next runs no code. */
static int dict_kept_elsewhere(PyObject *d) {
    Py_ssize_t pos = 0;
    PyObject *key, *value; /* borrowed */
    while (PyDict_Next(d, &pos, &key, &value)) {
        if (PyObject_IS_GC(value) &&
            (!PyTuple_CheckExact(value) || PyObject_GC_IsTracked(value))) {
            return 1;
        }
    }
    return 0;
}

/* The edges of node id (offsets[id] set first: after the resolved and
 * the queued ones), through visit_fn. */
static int traverse(pwalk *w, hg_node id, visitproc visit_fn) {
    PyObject *op = (PyObject *)(uintptr_t)w->addr[id]; /* borrowed */
    traverseproc trav = Py_TYPE(op)->tp_traverse;
    if (hg__pw_grow((void **)&w->offsets, &w->cap_off, sizeof(hg_edge),
                    (size_t)id + 2) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->offsets[id] = w->n_edges + (w->ring_head - w->ring_tail);
    if (w->nodes_only || !(w->flags[id] & HG_NODE_GC) || trav == NULL) {
        return 0;
    }
    if (trav(op, visit_fn, w) != 0) {
        if (w->status == HG__WALK_OK) {
            w->status = HG__WALK_TRAVERSE_FAILED;
        }
        return -1;
    }
    if (Py_IS_TYPE(op, &PyDict_Type) && PyDict_GET_SIZE(op) > 0 &&
        w->n_edges + (w->ring_head - w->ring_tail) == w->offsets[id] &&
        dict_kept_elsewhere(op)) {
        w->flags[id] |= HG_NODE_DICT_KEPT; /* untrack.c */
    }
    return 0;
}

/* The tables every program's globals hang from -- sys.modules and the
 * builtins -- as nodes, when they are frozen (tracked, yet not
 * enumerated): the walk then finds the frozen objects that module
 * globals lead to.  When nothing is frozen they are nodes already. */
static int add_frozen_roots(pwalk *w) {
    PyObject *roots[2] = {PyImport_GetModuleDict(), PyEval_GetBuiltins()};
    for (int i = 0; i < 2; i++) {
        PyObject *op = roots[i]; /* borrowed */
        hg_node id;
        if (op != NULL && PyObject_IS_GC(op) && PyObject_GC_IsTracked(op) &&
            ptable_get(&w->ids, (uint64_t)(uintptr_t)op) == HG_NONE &&
            new_node(w, op, &id) < 0) {
            return -1;
        }
    }
    return 0;
}

/* See portable_walk.h. */
int hg__pw_walk_all(pwalk *w) {
    for (hg_node id = 0; id < w->n_enum; id++) {
        PyObject *op = (PyObject *)(uintptr_t)w->addr[id]; /* borrowed */
        if (id + 8 < w->n_enum) {
            /* the object and its pre-header: what it is read first for */
            char *ahead = (char *)(uintptr_t)w->addr[id + 8];
            __builtin_prefetch(ahead - 32);
            __builtin_prefetch(ahead + 32);
        }
        if (fill_node(w, op, id, w->flags[id]) < 0 ||
            traverse(w, id, visit_queued) < 0) {
            return -1;
        }
    }
    if (drain_queue(w) < 0) {
        return -1;
    }
    if (!w->nodes_only && add_frozen_roots(w) < 0) {
        return -1;
    }
    for (size_t id = w->n_enum; id < w->n; id++) {
        if (traverse(w, (hg_node)id, visit) < 0) {
            return -1;
        }
    }
    if (hg__pw_grow((void **)&w->offsets, &w->cap_off, sizeof(hg_edge),
                    w->n + 1) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    w->offsets[w->n] = w->n_edges;
    return 0;
}
