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
#include "portable_walk.h"

#include <string.h>
#include <time.h>

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
    if (hg__pw_reserve_nodes(w, n) < 0) {
        return -1;
    }
    if (hg__pw_grow((void **)&w->offsets, &w->cap_off, sizeof(hg_edge), n + 1) <
            0 ||
        hg__pw_grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node), e) <
            0 ||
        ptable_init(&w->ids, n) < 0 || ptable_init(&w->tindex, 256) < 0) {
        w->status = HG__WALK_ENOMEM;
        return -1;
    }
    hg__pw_node_arrays(w, arr);
    for (int i = 0; i < 5; i++) {
        touch(*arr[i], w->cap_each[i] * hg__pw_node_elem[i]);
    }
    touch(w->offsets, w->cap_off * sizeof(hg_edge));
    touch(w->targets, w->cap_edges * sizeof(hg_node));
    touch(w->ids.slot, w->ids.cap * sizeof(pslot));
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
        if (hg__pw_grow((void **)&w->sover, &w->cap_sover,
                        sizeof(hg_size_overflow), w->n_sover + 1) < 0) {
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

/* When each phase of hg_capture_portable_run ended (hg__p_now). */
typedef struct ptimes {
    double t0, unlock, lock, enumerated, walked, flagged, release;
} ptimes;

/* Phase 0 with the GIL released, then the collector waited for again
 * (other threads ran meanwhile).  0, or -1 with an exception. */
static int prepare_released(pwalk *w, const hg_capture_opts *opts, ptimes *t,
                            double *waited) {
    size_t hint_n = hint_nodes > 0 ? hint_nodes : (size_t)1 << 16;
    size_t hint_e = w->nodes_only    ? 0
                    : hint_edges > 0 ? hint_edges
                                     : 4 * hint_n;
    int prepared;

    t->unlock = hg__p_now();
    Py_BEGIN_ALLOW_THREADS
        prepared = prepare(w, hint_n, hint_e);
    Py_END_ALLOW_THREADS
    t->lock = hg__p_now();
    if (prepared < 0) {
        hg__result_status_error(w->status);
        return -1;
    }
    return wait_for_collector(opts->gc_timeout, waited);
}

/* The figures of a capture that succeeded. */
static void record_times(hg_capture *out, const ptimes *t) {
    double *ph = out->phase_seconds;
    out->pause_seconds = (t->unlock - t->t0) + (t->release - t->lock);
    out->capture_seconds = hg__p_now() - t->t0;
    ph[HG_PHASE_PREPARE] = t->lock - t->t0;
    ph[HG_PHASE_CHASE] = t->enumerated - t->lock;
    ph[HG_PHASE_WALK] = t->walked - t->enumerated;
    ph[HG_PHASE_RESTORE] = t->flagged - t->walked;
    ph[HG_PHASE_CALLS] = t->release - t->flagged;
    ph[HG_PHASE_FINISH] = out->capture_seconds - (t->release - t->t0);
}

/* Undo a failed capture -- pins, strong references, what out holds --
 * keeping the exception set. */
static void undo(pwalk *w, hg_graph *g, hg_capture *out) {
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    if (w->pinned) {
        pin_tracked(w, -1);
    }
    drop_refs(w);
    hg_graph_free(g);
    hg_capture_release(out);
    PyErr_Restore(et, ev, tb);
}

/* See capture.h.  Phases as in the file header. */
int hg_capture_portable_run(const hg_capture_opts *opts, hg_capture *out) {
    pwalk w;
    hg_graph *g = NULL;
    int rc = -1, gc_was_enabled = 0, gc_disabled = 0;
    hg_status st = HG_OK;
    ptimes t = {0};
    double waited = 0;

    memset(&w, 0, sizeof(w));
    t.t0 = hg__p_now();
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
        t.t0 = hg__p_now();
    }
    if (hg__p_names_init() < 0) {
        return -1;
    }
    w.pin = opts->pin;
    w.nodes_only = opts->nodes_only;
    w.py_sizes = opts->python_sizes;

    /* ---- phase 0: allocate, touch (GIL released) ------------------------ */
    if (prepare_released(&w, opts, &t, &waited) < 0) {
        goto cleanup;
    }

    /* ---- phases 1 and 2: enumerate, walk -------------------------------- */
    gc_was_enabled = PyGC_Disable();
    gc_disabled = 1;
    if (hg__pw_enumerate(&w) < 0) {
        hg__result_status_error(w.status);
        goto cleanup;
    }
    t.enumerated = hg__p_now();
    if (hg__pw_walk_all(&w) < 0) {
        hg__result_status_error(w.status);
        goto cleanup;
    }
    t.walked = hg__p_now();
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
    t.flagged = hg__p_now();

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
    t.release = hg__p_now();
    Py_BEGIN_ALLOW_THREADS
        st = hg__pw_assemble(&w, g);
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg__result_status_error(hg__walk_status_of(st));
        goto cleanup;
    }
    out->graph = g;
    g = NULL;
    out->pinned = w.pinned;
    w.pinned = 0;
    out->kind = HG_CAPTURE_PORTABLE;
    rc = 0;

cleanup:
    if (gc_disabled && gc_was_enabled) {
        PyGC_Enable();
    }
    if (rc < 0) {
        undo(&w, g, out);
    }
    hg__pw_free(&w);
    if (rc == 0) {
        record_times(out, &t);
    }
    return rc;
}

/* ---- the walk of a forked child (fork.c) --------------------------------- */

#ifdef HG_HAVE_NATIVE_CAPTURE
static int child_enum_add(PyObject *op, int gen, void *arg) {
    return hg__pw_enum_add(arg, op, gen);
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
    if (hg__pw_index_enumerated(&w) < 0) {
        goto fail;
    }
#else
    if (hg__pw_enumerate(&w) < 0) {
        goto fail;
    }
#endif
    if (hg__pw_walk_all(&w) < 0) {
        goto fail;
    }
    flag_modules_and_excluded(&w, exclude);
    out->n_types = w.n_types;
    out->type_addr = hg_alloc(w.n_types * sizeof(uint64_t));
    out->type_nflags = hg_alloc(w.n_types);
    if (out->type_addr == NULL || out->type_nflags == NULL) {
        w.status = HG__WALK_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < w.n_types; i++) {
        out->type_addr[i] = (uint64_t)(uintptr_t)w.types[i].tp;
        out->type_nflags[i] = w.types[i].node_flags;
    }
    if (hg_graph_new(0, &g) != HG_OK) {
        w.status = HG__WALK_ENOMEM;
        goto fail;
    }
    if ((st = hg__pw_assemble(&w, g)) != HG_OK) {
        w.status = hg__walk_status_of(st);
        goto fail;
    }
    out->graph = g;
    out->table_bytes = ((uint64_t)w.ids.cap + w.tindex.cap) * sizeof(pslot);
    hg__pw_free(&w);
    return 0;

fail:
    out->status = w.status != HG__WALK_OK ? w.status : HG__WALK_EINVAL;
    PyErr_Clear();
    hg_graph_free(g);
    hg__pw_free(&w);
    hg__p_child_out_free(out);
    return -1;
}

/* See portable.h. */
void hg__p_child_out_free(hg__p_child_out *out) {
    hg__walk_status status = out->status;
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
        PyObject *list = hg__pw_get_objects(0);
        if (list == NULL) {
            return -1;
        }
        Py_DECREF(list);
    }
#endif
    return 0;
}
