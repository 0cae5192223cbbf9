/*
 * portable.c -- hg_capture_portable_run: the heap snapshot through the
 * public and unstable C API only, for any CPython 3.10 or later.
 *
 * The native capture (capture.c) reads the collector's lists and marks
 * objects in their own headers; both depend on one interpreter version's
 * private layout.  This capture asks the interpreter instead, and keeps
 * its marks in a hash table of its own: it fills the same hg_capture, so
 * every query, file and analysis works unchanged, and gives the same
 * nodes, edges (as multisets by address), sizes and reference counts;
 * node ids may differ.  It is slower (one hash probe per reference) and
 * serial.
 *
 * Algorithm (GIL released in phases 0 and 5, held from 1 to 4, no Python
 * code running until phase 4; the collector is disabled -- PyGC_Disable
 * -- from phase 1 to phase 3, so no allocation can start a collection):
 *   0. allocate the node table, the CSR and the address table for the
 *      previous capture's heap, and touch every page, without the GIL.
 *   1. enumerate: the tracked objects, generation by generation --
 *      gc.get_objects(i) for generations i = 0, 1, 2 (3.10, 3.11), or
 *      PyUnstable_GC_VisitObjects (3.12+), which walks the three
 *      generations young to old, the sizes of the young ones taken from
 *      gc.get_objects(0) and (1).  Each gets the next id and
 *      an entry address -> id in the table.  The lists are dropped
 *      before anything is read, so reference counts read later are the
 *      program's own.  Neither way sees the permanent generation
 *      (gc.freeze()): frozen objects become nodes when the walk meets
 *      them (phase 2), as tracked nodes flagged frozen -- those a node
 *      refers to, sys.modules and the builtins, and what they lead to;
 *      not those only a running function's locals or C code hold.
 *   2. walk: the enumerated objects in id order: type, reference count,
 *      flags, size (portable_sizeof.c: sizeof.c's strategy), then
 *      tp_traverse with visit(), which appends one edge per referent,
 *      looking its id up in the table; a referent not in it gets the
 *      next id (its entry recorded at once).  Then the GC objects found
 *      that way (untracked tuples and dicts, frozen objects) are
 *      traversed in id order, so their referents are nodes too.
 *   3. flags: modules in sys.modules, the caller's excluded objects (by
 *      table lookup); the pins taken.
 *   4. with strong references to the types and to the objects whose size
 *      needs a call, the collector enabled again: the deferred sizes and
 *      the type names (typenames.c).
 *   5. GIL released: when frozen objects were found, the ids renumbered so
 *      that tracked nodes come first (the graph's invariant); the arrays
 *      trimmed and handed to the graph.
 *
 * Reference counts: immortal objects (3.12+) report a count of 2^32 - 1
 * or more and are stored saturated, like any count that does not fit:
 * roots, never garbage.
 *
 * Value encodings: table slots hold key address (0: empty) and node id;
 * type index slots hold type id + 1 (0: empty).  Memory: the node table
 * (21 bytes per node), 12 bytes per table slot (2 slots per node at
 * most), 4 per edge.  Scale: as the native capture, 1M-50M objects.
 */
#include "portable.h"
#include "portable_table.h"

#include <string.h>
#include <time.h>

/* visit_queued resolves a referent HG__P_LAG referents after it is met;
 * the ring (a power of two) holds more. */
#define HG__P_LAG 32
#define HG__P_RING 64

/* ---- walk state ---------------------------------------------------------- */

typedef struct ptype {
    PyTypeObject *tp; /* borrowed during the walk, strong in phase 4 */
    hg__p_sizer sizer;
    uint8_t node_flags; /* HG_NODE_HAS_DEL */
} ptype;

typedef struct pdefer {
    PyObject *op; /* borrowed during the walk, strong in phase 4 */
    hg_node id;
} pdefer;

typedef struct pwalk {
    /* node table: n entries of cap */
    uint64_t *addr;
    uint32_t *size, *type, *refcnt;
    uint8_t *flags;
    size_t n, cap;      /* cap: the smallest of cap_each */
    size_t cap_each[5]; /* of addr, size, type, refcnt, flags */
    hg_node n_enum;     /* enumerated (tracked) nodes: ids 0 .. n_enum-1 */
    size_t n_extra;     /* tracked nodes the walk found (frozen ones) */
    ptable ids;         /* address -> node id */
    hg_size_overflow *sover;
    size_t n_sover, cap_sover;
    /* forward CSR */
    hg_edge *offsets; /* cap_off entries */
    size_t cap_off;
    hg_node *targets;
    size_t n_edges, cap_edges;
    /* types */
    ptype *types;
    size_t n_types, cap_types;
    ptable tindex; /* type address -> type id */
    PyTypeObject *last_tp;
    uint32_t last_tid;
    /* sizes that need a call (phase 4) */
    pdefer *defer;
    size_t n_defer, cap_defer;
    int py_sizes, nodes_only, pin;
    int child;      /* in a forked child (fork.c): no call is ever made */
    int pinned;     /* the tracked nodes hold a reference each */
    int refs_owned; /* types[] and defer[] hold strong references */
    int status;     /* hg_status, or HG__TRAVERSE_FAILED */
    /* referents queued by visit_queued, not yet resolved: ring[tail ..
     * head) (indices mod HG__P_RING); borrowed */
    PyObject *ring[HG__P_RING];
    size_t ring_head, ring_tail;
} pwalk;

/* Grow *p (elem-byte items, *cap of them) to hold need items. */
static int grow(void **p, size_t *cap, size_t elem, size_t need) {
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

/* The node arrays and their bytes per entry. */
static const size_t node_elem[5] = {8, 4, 4, 4, 1};

static void node_arrays(pwalk *w, void **arr[5]) {
    arr[0] = (void **)&w->addr;
    arr[1] = (void **)&w->size;
    arr[2] = (void **)&w->type;
    arr[3] = (void **)&w->refcnt;
    arr[4] = (void **)&w->flags;
}

/* Make the node table hold need entries.  Each array grows on its own:
 * one that fails leaves those grown before with their new capacity,
 * recorded in cap_each (the allocator frees with the exact size). */
static int reserve_nodes(pwalk *w, size_t need) {
    void **arr[5];
    if (need <= w->cap) {
        return 0;
    }
    if (need > HG_MAX_NODES) {
        w->status = HG_ERANGE;
        return -1;
    }
    node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        if (grow(arr[i], &w->cap_each[i], node_elem[i], need) < 0) {
            w->status = HG_ENOMEM;
            return -1;
        }
    }
    w->cap = w->cap_each[0];
    for (int i = 1; i < 5; i++) {
        w->cap = w->cap_each[i] < w->cap ? w->cap_each[i] : w->cap;
    }
    return 0;
}

static void pwalk_free(pwalk *w) {
    void **arr[5];
    node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        hg_free(*arr[i], w->cap_each[i] * node_elem[i]);
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
        if (grow((void **)&w->types, &w->cap_types, sizeof(ptype),
                 w->n_types + 1) < 0 ||
            ptable_add(&w->tindex, (uint64_t)(uintptr_t)tp,
                       (uint32_t)w->n_types) < 0) {
            w->status = HG_ENOMEM;
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
    if (grow((void **)&w->sover, &w->cap_sover, sizeof(hg_size_overflow),
             w->n_sover + 1) < 0) {
        w->status = HG_ENOMEM;
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
        w->status = HG_ENOMEM;
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
    if (grow((void **)&w->defer, &w->cap_defer, sizeof(pdefer),
             w->n_defer + 1) < 0) {
        w->status = HG_ENOMEM;
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

/* ---- phase 0: the arrays, without the GIL -------------------------------- */

/* Nodes and edges of the previous portable capture (0: none yet), so
 * that the next one allocates once.  Read and written with the GIL. */
static size_t hint_nodes, hint_edges;

/* Map every page of [p, p + nbytes) now, not one fault at a time during
 * the pause: populated by the kernel, or a store to one byte per page. */
static void touch(void *p, size_t nbytes) {
    if (hg_populate(p, nbytes) == 0) {
        return; /* by the kernel, in one call (alloc.c) */
    }
    for (size_t off = 0; off < nbytes; off += 4096) {
        ((volatile char *)p)[off] = 0;
    }
}

/* Phase 0 (no GIL: touches no Python object): the node table, the CSR
 * and the address table sized for the previous capture's heap plus an
 * eighth, every page touched.  They grow during the walk if the heap
 * grew more.  -1 with w->status set. */
static int prepare(pwalk *w, size_t nodes, size_t edges) {
    size_t n = nodes + nodes / 8 + 4096, e = edges + edges / 8 + 4096;
    void **arr[5];
    if (reserve_nodes(w, n) < 0) {
        return -1;
    }
    if (grow((void **)&w->offsets, &w->cap_off, sizeof(hg_edge), n + 1) < 0 ||
        grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node), e) < 0 ||
        ptable_init(&w->ids, n) < 0 || ptable_init(&w->tindex, 256) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        touch(*arr[i], w->cap_each[i] * node_elem[i]);
    }
    touch(w->offsets, w->cap_off * sizeof(hg_edge));
    touch(w->targets, w->cap_edges * sizeof(hg_node));
    touch(w->ids.slot, w->ids.cap * sizeof(pslot));
    return 0;
}

/* ---- phase 1: enumeration ------------------------------------------------ */

/* Append a tracked object (generation gen) to the node table. */
static int enum_add(pwalk *w, PyObject *op, int gen) {
    hg_node id = (hg_node)w->n;
    if (reserve_nodes(w, w->n + 1) < 0) {
        return -1;
    }
    w->addr[id] = (uint64_t)(uintptr_t)op;
    w->flags[id] =
        (uint8_t)(HG_NODE_TRACKED | HG_NODE_GC | (gen << HG_NODE_GEN_SHIFT));
    w->n++;
    return 0;
}

/* The enumerated addresses into the table, made large enough first for
 * them and as many untracked nodes again when the previous capture's size
 * (prepare) did not already: a heap with more untracked nodes than
 * tracked ones grows the table during the walk, a first capture only --
 * the next one is prepared for its size. */
static int index_enumerated(pwalk *w) {
    if (2 * (2 * w->n + 2) > w->ids.cap) {
        ptable bigger;
        if (ptable_init(&bigger, 2 * w->n) < 0) {
            w->status = HG_ENOMEM;
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
            w->status = HG_ENOMEM;
            return -1;
        }
    }
    return 0;
}

/* gc.get_objects, fetched once (a strong reference for the life of the
 * process: a program that replaces the module's attribute later does not
 * change what is called). */
static PyObject *get_objects_fn;

/* gc.get_objects(gen): a new list, or NULL with an exception.  Called
 * through vectorcall with the argument on the C stack: an argument tuple
 * (or a keyword-names tuple) would be a tracked object alive during the
 * call, listed, and freed right after -- a dangling address in the
 * table.  The int is a cached small int (not a GC object). */
static PyObject *get_objects(int gen) {
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
    return enum_add(vs->w, op, gen) == 0;
}
#endif

/* Phase 1.  0, or -1 with w->status set or a Python exception. */
static int enumerate_tracked(pwalk *w) {
#if PY_VERSION_HEX >= 0x030C0000
    visit_state vs = {w, {0, 0}, 0};
    for (int gen = 0; gen < 2; gen++) {
        PyObject *list = get_objects(gen);
        if (list == NULL) {
            return -1;
        }
        vs.n_young[gen] = (size_t)PyList_GET_SIZE(list);
        Py_DECREF(list);
    }
    PyUnstable_GC_VisitObjects(enum_visit, &vs);
    if (w->status != HG_OK) {
        return -1;
    }
#else
    for (int gen = 0; gen < 3; gen++) {
        PyObject *list = get_objects(gen);
        if (list == NULL) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
            if (enum_add(w, PyList_GET_ITEM(list, i), gen) < 0) {
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
    return index_enumerated(w);
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
    if (reserve_nodes(w, w->n + 1) < 0) {
        return -1;
    }
    if (ptable_add(&w->ids, (uint64_t)(uintptr_t)op, id) < 0) {
        w->status = HG_ENOMEM;
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
        grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node),
             w->n_edges + 1) < 0) {
        w->status = HG_ENOMEM;
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
    if (grow((void **)&w->offsets, &w->cap_off, sizeof(hg_edge),
             (size_t)id + 2) < 0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    w->offsets[id] = w->n_edges + (w->ring_head - w->ring_tail);
    if (w->nodes_only || !(w->flags[id] & HG_NODE_GC) || trav == NULL) {
        return 0;
    }
    if (trav(op, visit_fn, w) != 0) {
        if (w->status == HG_OK) {
            w->status = HG__TRAVERSE_FAILED;
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

/* Phase 2: the enumerated nodes' entries and edges, then the GC objects
 * the walk found, in id order (each may find more). */
static int walk_all(pwalk *w) {
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
    if (grow((void **)&w->offsets, &w->cap_off, sizeof(hg_edge), w->n + 1) <
        0) {
        w->status = HG_ENOMEM;
        return -1;
    }
    w->offsets[w->n] = w->n_edges;
    return 0;
}

/* ---- phase 3: flags and pins --------------------------------------------- */

static void flag_addr(pwalk *w, PyObject *op, uint8_t fl) {
    hg_node id = ptable_get(&w->ids, (uint64_t)(uintptr_t)op);
    if (id != HG_NONE) {
        w->flags[id] |= fl;
    }
}

/* Modules m in sys.modules with sys.modules.get(m.__name__) is m
 * (objgraph's is_proper_module), and the excluded objects.  A module
 * whose __name__ is not a str, or dicts whose lookup could call __eq__,
 * are skipped. */
static void flag_modules_and_excluded(pwalk *w,
                                      PyObject *exclude /* borrowed */) {
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *key, *m, *name, *again;             /* borrowed */
    Py_ssize_t pos = 0;

    if (modules != NULL && hg__p_dict_str_keys_only(modules)) {
        while (PyDict_Next(modules, &pos, &key, &m)) {
            if (!PyModule_Check(m) ||
                hg__p_dict_get(PyModule_GetDict(m), hg__p_id.name_, &name) <
                    0 ||
                name == NULL || !PyUnicode_CheckExact(name)) {
                continue;
            }
            again = PyDict_GetItemWithError(modules, name);
            if (again == m) {
                flag_addr(w, m, HG_NODE_MODULE);
            }
            PyErr_Clear();
        }
    }
    if (exclude != NULL) {
        flag_addr(w, exclude, HG_NODE_EXCLUDED);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(exclude); i++) {
            flag_addr(w, PyTuple_GET_ITEM(exclude, i), HG_NODE_EXCLUDED);
        }
    }
}

/* One reference to every tracked node (or drop them: delta -1, which
 * frees nothing while the capture holds the GIL and runs no code). */
static void pin_tracked(pwalk *w, int delta) {
    for (size_t v = 0; v < w->n; v++) {
        if (w->flags[v] & HG_NODE_TRACKED) {
            PyObject *op = (PyObject *)(uintptr_t)w->addr[v];
            if (delta > 0) {
                Py_INCREF(op);
            } else {
                Py_DECREF(op);
            }
        }
    }
    w->pinned = delta > 0;
}

/* ---- phase 4: calls ------------------------------------------------------ */

static void take_refs(pwalk *w) {
    for (size_t i = 0; i < w->n_types; i++) {
        Py_INCREF(w->types[i].tp);
        Py_XINCREF(w->types[i].sizer.descr);
    }
    for (size_t i = 0; i < w->n_defer; i++) {
        Py_INCREF(w->defer[i].op);
    }
    w->refs_owned = 1;
}

/* Drop them (may run deallocators). */
static void drop_refs(pwalk *w) {
    if (!w->refs_owned) {
        return;
    }
    w->refs_owned = 0;
    for (size_t i = 0; i < w->n_defer; i++) {
        Py_DECREF(w->defer[i].op);
    }
    for (size_t i = 0; i < w->n_types; i++) {
        Py_XDECREF(w->types[i].sizer.descr);
        Py_DECREF(w->types[i].tp);
    }
}

/* The deferred sizes.  A __sizeof__ that fails with an ordinary
 * exception falls back to the C size (as capture.c's deferred_sizes);
 * MemoryError and non-Exception errors fail the capture. */
static int deferred_sizes(pwalk *w) {
    for (size_t i = 0; i < w->n_defer; i++) {
        PyObject *op = w->defer[i].op; /* borrowed from defer[] */
        hg_node id = w->defer[i].id;
        const hg__p_sizer *s = &w->types[w->type[id]].sizer;
        Py_ssize_t n = hg__p_sizer_slow(s, op);
        if (n < 0) {
            if (!PyErr_ExceptionMatches(PyExc_Exception) ||
                PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear();
            n = hg__p_sizer_c_size(op);
        }
        if ((uint64_t)n < UINT32_MAX) {
            w->size[id] = (uint32_t)n;
            continue;
        }
        w->size[id] = UINT32_MAX;
        if (grow((void **)&w->sover, &w->cap_sover, sizeof(hg_size_overflow),
                 w->n_sover + 1) < 0) {
            PyErr_NoMemory();
            return -1;
        }
        w->sover[w->n_sover++] = (hg_size_overflow){id, 0, (uint64_t)n};
    }
    return 0;
}

/* The type table of the result (as capture.c's build_types). */
static int build_types(pwalk *w, hg_capture *out) {
    if (hg__result_types_begin(out, w->n_types) < 0) {
        return -1;
    }
    for (size_t i = 0; i < w->n_types; i++) {
        /* tp borrowed from types[] */
        if (hg__result_type_set(out, i, w->types[i].tp,
                                w->types[i].node_flags) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- phase 5: without the GIL -------------------------------------------- */

/* Frozen objects found by the walk get ids right after the enumerated
 * ones, before the untracked nodes, each group in its order of first
 * visit: the graph's nodes 0 .. n_tracked-1 are the tracked ones. */
static hg_status renumber(pwalk *w) {
    size_t n = w->n, e = w->n_edges;
    hg_node *new_id = NULL, *old_of = NULL, *nt = NULL;
    hg_edge *no = NULL;
    char *na[5] = {NULL, NULL, NULL, NULL, NULL};
    void **arr[5];
    hg_node next_tracked = w->n_enum;
    hg_node next_untracked = (hg_node)(w->n_enum + w->n_extra);
    hg_status st = HG_ENOMEM;

    /* everything allocated first: a failure leaves w as it was (the
     * cleanup of a failed capture drops its pins through addr and
     * flags, which must still match) */
    new_id = hg_alloc(n * sizeof(hg_node));
    old_of = hg_alloc(n * sizeof(hg_node));
    nt = hg_alloc(e * sizeof(hg_node));
    no = hg_alloc(w->cap_off * sizeof(hg_edge));
    for (int i = 0; i < 5; i++) {
        na[i] = hg_alloc(n * node_elem[i]);
        if (na[i] == NULL) {
            goto cleanup;
        }
    }
    if (new_id == NULL || old_of == NULL || nt == NULL || no == NULL) {
        goto cleanup;
    }
    for (size_t v = 0; v < n; v++) {
        if (v < w->n_enum) {
            new_id[v] = (hg_node)v;
        } else if (w->flags[v] & HG_NODE_TRACKED) {
            new_id[v] = next_tracked++;
        } else {
            new_id[v] = next_untracked++;
        }
        old_of[new_id[v]] = (hg_node)v;
    }
    /* the CSR, row by row in the new order */
    no[0] = 0;
    for (size_t u = 0; u < n; u++) {
        hg_node v = old_of[u];
        hg_edge k = no[u];
        for (hg_edge j = w->offsets[v]; j < w->offsets[v + 1]; j++) {
            nt[k++] = new_id[w->targets[j]];
        }
        no[u + 1] = k;
    }
    /* the node table */
    node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        size_t elem = node_elem[i];
        const char *old = *arr[i];
        for (size_t v = 0; v < n; v++) {
            memcpy(na[i] + (size_t)new_id[v] * elem, old + v * elem, elem);
        }
        hg_free(*arr[i], w->cap_each[i] * elem);
        *arr[i] = na[i];
        na[i] = NULL;
        w->cap_each[i] = n;
    }
    w->cap = n;
    for (size_t i = 0; i < w->n_sover; i++) {
        w->sover[i].node = new_id[w->sover[i].node];
    }
    hg_free(w->offsets, w->cap_off * sizeof(hg_edge));
    w->offsets = no;
    no = NULL;
    hg_free(w->targets, w->cap_edges * sizeof(hg_node));
    w->targets = nt;
    w->cap_edges = e;
    nt = NULL;
    st = HG_OK;
cleanup:
    for (int i = 0; i < 5; i++) {
        hg_free(na[i], n * node_elem[i]);
    }
    hg_free(new_id, n * sizeof(hg_node));
    hg_free(old_of, n * sizeof(hg_node));
    hg_free(nt, e * sizeof(hg_node));
    hg_free(no, w->cap_off * sizeof(hg_edge));
    return st;
}

static int cmp_over(const void *pa, const void *pb) {
    const hg_size_overflow *a = pa, *b = pb;
    return (a->node > b->node) - (a->node < b->node);
}

/* Hand the arrays over to g, trimmed to their exact sizes. */
static hg_status assemble(pwalk *w, hg_graph *g) {
    size_t n = w->n;
    hg_status st;
    if (w->n_extra > 0 && (st = renumber(w)) != HG_OK) {
        return st;
    }
    {
        void **arr[5];
        node_arrays(w, arr);
        for (int i = 0; i < 5; i++) {
            if (hg__resize_exact(arr[i], node_elem[i], w->cap_each[i], n) < 0) {
                return HG_ENOMEM; /* the failed realloc left it as it was */
            }
            w->cap_each[i] = n;
        }
    }
    w->cap = n;
    if (hg__resize_exact((void **)&w->sover, sizeof(hg_size_overflow),
                         w->cap_sover, w->n_sover) < 0 ||
        hg__resize_exact((void **)&w->offsets, sizeof(hg_edge), w->cap_off,
                         n + 1) < 0) {
        return HG_ENOMEM;
    }
    w->cap_sover = w->n_sover;
    w->cap_off = n + 1;
    qsort(w->sover, w->n_sover, sizeof(hg_size_overflow), cmp_over);
    if (hg__resize_exact((void **)&w->targets, sizeof(hg_node), w->cap_edges,
                         w->n_edges) < 0) {
        return HG_ENOMEM;
    }
    w->cap_edges = w->n_edges;
    st = hg_csr_adopt_unchecked(&g->fwd, (hg_node)n, w->n_edges, &w->offsets,
                                &w->targets);
    if (st != HG_OK) {
        return st;
    }
    w->cap_off = 0;
    w->cap_edges = 0;
    g->n_nodes = (hg_node)n;
    g->n_tracked = (hg_node)(w->n_enum + w->n_extra);
    g->n_types = (uint32_t)w->n_types;
    g->addr = w->addr;
    g->size = w->size;
    g->type_id = w->type;
    g->refcnt = w->refcnt;
    g->flags = w->flags;
    g->n_size_over = (hg_node)w->n_sover;
    g->size_over = w->sover;
    w->addr = NULL;
    w->size = w->type = w->refcnt = NULL;
    w->flags = NULL;
    w->sover = NULL;
    w->n_sover = w->cap_sover = 0;
    w->cap = 0;
    memset(w->cap_each, 0, sizeof(w->cap_each));
    return HG_OK;
}

/* ---- the collector ------------------------------------------------------- */

/* Wait, with the GIL released, while the gc.callbacks entry (gcwatch.c)
 * says another thread collects; refuse at once when this thread does (a
 * finalizer calling us), as gcwait.c does for the native capture.  0, or
 * -1 with RuntimeError (or what a signal handler raised). */
static int wait_for_collector(double timeout, double *waited) {
    double start = hg__p_now(), now = start, step = 0;
    unsigned long thread;
    int running, rc = 0;
    while (hg__gc_collector(&thread, &running) && running) {
#if PY_VERSION_HEX >= 0x030D0000
        int finalizing = Py_IsFinalizing();
#else
        int finalizing = 0; /* no public way to tell before 3.13 */
#endif
        if (hg__gc_wait_step(timeout, timeout - *waited - (now - start),
                             finalizing, &step) < 0) {
            rc = -1;
            break;
        }
        now = hg__p_now();
    }
    *waited += now - start;
    return rc;
}

/* See portable.h. */
void hg__p_fork_hint(size_t nodes, size_t edges) {
    hint_nodes = nodes;
    hint_edges = edges;
}

/* See portable.h. */
int hg__p_fork_wait_collector(double timeout, double *waited) {
    return wait_for_collector(timeout, waited);
}

/* ---- entry point --------------------------------------------------------- */

/* See capture.h.  Phases as in the file header. */
int hg_capture_portable_run(const hg_capture_opts *opts, hg_capture *out) {
    pwalk w;
    hg_graph *g = NULL;
    int rc = -1, gc_was_enabled = 0, gc_disabled = 0;
    hg_status st = HG_OK;
    double t0 = hg__p_now(), t_enum = 0, t_walked = 0, t_flagged = 0;
    double t_release = 0, waited = 0, t_unlock = 0, t_lock = 0;
    size_t hint_n, hint_e;
    int prepared;

    memset(&w, 0, sizeof(w));
    if (opts == NULL || out == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "hg_capture_portable_run: NULL argument");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (opts->exclude != NULL && !PyTuple_Check(opts->exclude)) {
        PyErr_SetString(PyExc_TypeError, "exclude must be a tuple");
        return -1;
    }
    if (wait_for_collector(opts->gc_timeout, &waited) < 0) {
        return -1;
    }
    if (waited > 0) {
        t0 = hg__p_now();
    }
    if (hg__p_names_init() < 0) {
        return -1;
    }
    w.pin = opts->pin;
    w.nodes_only = opts->nodes_only;
    w.py_sizes = opts->python_sizes;

    /* ---- phase 0: allocate, touch (GIL released) ------------------------ */
    hint_n = hint_nodes > 0 ? hint_nodes : (size_t)1 << 16;
    hint_e = w.nodes_only ? 0 : hint_edges > 0 ? hint_edges : 4 * hint_n;
    t_unlock = hg__p_now();
    Py_BEGIN_ALLOW_THREADS
        prepared = prepare(&w, hint_n, hint_e);
    Py_END_ALLOW_THREADS
    t_lock = hg__p_now();
    if (prepared < 0) {
        hg__result_status_error(w.status);
        goto cleanup;
    }
    /* other threads ran meanwhile: a collection may have started */
    if (wait_for_collector(opts->gc_timeout, &waited) < 0) {
        goto cleanup;
    }

    /* ---- phase 1: enumerate --------------------------------------------- */
    gc_was_enabled = PyGC_Disable();
    gc_disabled = 1;
    if (enumerate_tracked(&w) < 0) {
        hg__result_status_error(w.status);
        goto cleanup;
    }
    t_enum = hg__p_now();

    /* ---- phase 2: walk -------------------------------------------------- */
    if (walk_all(&w) < 0) {
        hg__result_status_error(w.status);
        goto cleanup;
    }
    t_walked = hg__p_now();
    hint_nodes = w.n;
    if (!w.nodes_only) {
        hint_edges = w.n_edges;
    }

    /* ---- phase 3: flags, pins ------------------------------------------- */
    flag_modules_and_excluded(&w, opts->exclude);
    if (w.pin) {
        pin_tracked(&w, 1);
    }
    /* nothing has run since the walk: every recorded object is alive */
    take_refs(&w);
    if (gc_was_enabled) {
        PyGC_Enable();
    }
    gc_disabled = 0;
    t_flagged = hg__p_now();

    /* ---- phase 4: calls ------------------------------------------------- */
    if (deferred_sizes(&w) < 0 || build_types(&w, out) < 0) {
        goto cleanup;
    }
    drop_refs(&w);
    if (hg_graph_new(0, &g) != HG_OK) {
        PyErr_NoMemory();
        goto cleanup;
    }

    /* ---- phase 5: without the GIL --------------------------------------- */
    t_release = hg__p_now();
    Py_BEGIN_ALLOW_THREADS
        st = assemble(&w, g);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg__result_status_error(st);
        goto cleanup;
    }
    out->graph = g;
    g = NULL;
    out->pinned = w.pinned;
    w.pinned = 0;
    out->kind = HG_CAPTURE_PORTABLE;
    out->pause_seconds = (t_unlock - t0) + (t_release - t_lock);
    rc = 0;

cleanup:
    if (gc_disabled && gc_was_enabled) {
        PyGC_Enable();
    }
    if (rc < 0) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (w.pinned) {
            pin_tracked(&w, -1);
        }
        drop_refs(&w);
        hg_graph_free(g);
        hg_capture_release(out);
        PyErr_Restore(et, ev, tb);
    }
    pwalk_free(&w);
    if (rc == 0) {
        double *ph = out->phase_seconds;
        out->capture_seconds = hg__p_now() - t0;
        ph[HG_PHASE_PREPARE] = t_lock - t0;
        ph[HG_PHASE_CHASE] = t_enum - t_lock;
        ph[HG_PHASE_WALK] = t_walked - t_enum;
        ph[HG_PHASE_RESTORE] = t_flagged - t_walked;
        ph[HG_PHASE_CALLS] = t_release - t_flagged;
        ph[HG_PHASE_FINISH] = out->capture_seconds - (t_release - t0);
    }
    return rc;
}

/* ---- the walk of a forked child (fork.c) --------------------------------- */

#ifdef HG_HAVE_NATIVE_CAPTURE
static int child_enum_add(PyObject *op, int gen, void *arg) {
    return enum_add(arg, op, gen);
}
#endif

/* See portable.h.  Phases 1 to 3 and 5 as above, in the only thread of
 * a forked child, which holds the GIL and never releases it (the GIL's
 * own mutex may be held by a thread that did not survive the fork): no
 * wait for a collector (the parent waited before forking), no pins, no
 * phase 4. */
int hg__p_child_walk(PyObject *exclude, int nodes_only, hg__p_child_out *out) {
    pwalk w;
    hg_graph *g = NULL;
    hg_status st;
    size_t hint_n = hint_nodes > 0 ? hint_nodes : (size_t)1 << 16;

    memset(&w, 0, sizeof(w));
    memset(out, 0, sizeof(*out));
    w.nodes_only = nodes_only;
    w.child = 1;
    if (prepare(&w, hint_n,
                nodes_only       ? 0
                : hint_edges > 0 ? hint_edges
                                 : 4 * hint_n) < 0) {
        goto fail;
    }
    (void)PyGC_Disable(); /* this process's collector: nothing allocated
                           * here may start a collection (finalizers) */
#ifdef HG_HAVE_NATIVE_CAPTURE
    if (hg__gc_visit_listed(child_enum_add, &w) < 0) {
        goto fail;
    }
    w.n_enum = (hg_node)w.n;
    if (index_enumerated(&w) < 0) {
        goto fail;
    }
#else
    if (enumerate_tracked(&w) < 0) {
        goto fail;
    }
#endif
    if (walk_all(&w) < 0) {
        goto fail;
    }
    flag_modules_and_excluded(&w, exclude);
    out->n_types = w.n_types;
    out->type_addr = hg_alloc(w.n_types * sizeof(uint64_t));
    out->type_nflags = hg_alloc(w.n_types);
    if (out->type_addr == NULL || out->type_nflags == NULL) {
        w.status = HG_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < w.n_types; i++) {
        out->type_addr[i] = (uint64_t)(uintptr_t)w.types[i].tp;
        out->type_nflags[i] = w.types[i].node_flags;
    }
    if (hg_graph_new(0, &g) != HG_OK) {
        w.status = HG_ENOMEM;
        goto fail;
    }
    if ((st = assemble(&w, g)) != HG_OK) {
        w.status = st;
        goto fail;
    }
    out->graph = g;
    out->table_bytes = ((uint64_t)w.ids.cap + w.tindex.cap) * sizeof(pslot);
    pwalk_free(&w);
    return 0;

fail:
    out->status = w.status != HG_OK ? w.status : HG_EINVAL;
    PyErr_Clear();
    hg_graph_free(g);
    pwalk_free(&w);
    hg__p_child_out_free(out);
    return -1;
}

/* See portable.h. */
void hg__p_child_out_free(hg__p_child_out *out) {
    int status = out->status;
    hg_graph_free(out->graph);
    hg_free(out->type_addr, out->n_types * sizeof(uint64_t));
    hg_free(out->type_nflags, out->n_types);
    memset(out, 0, sizeof(*out));
    out->status = status;
}

/* See portable.h. */
int hg__p_child_prepare(void) {
    hg__p_sizer s;
    if (hg__p_names_init() < 0) {
        return -1;
    }
    /* the sizes' method table, filled on first use */
    hg__p_sizer_init(&PyList_Type, 0, &s);
#ifndef HG_HAVE_NATIVE_CAPTURE
    /* gc.get_objects, fetched by an import: never in the child */
    {
        PyObject *list = get_objects(0);
        if (list == NULL) {
            return -1;
        }
        Py_DECREF(list);
    }
#endif
    return 0;
}
