/*
 * capture.c -- hg_capture_run: freeze the live heap into a heapgraph.
 * The phases, in order; the walks themselves live in their own files
 * (walk.h lists them), which never call back into this one.
 *
 * Workload: every object the cyclic GC tracks (1M-50M), each visited once
 * with the GIL held and no Python code running; the pause is what users
 * see, so the walk touches each object once and does no hashing for
 * tracked targets.
 *
 * Algorithm (GIL released in phases 0 and 5, held from 1 to 4):
 *   0. prepare: allocate the output arrays, sized from the previous
 *      capture (or, for the first one, the collector's counts), and have
 *      every page mapped, all without the GIL (walk_state.c's
 *      hg__prefault, and walk_parallel.c for the parallel walk's parts):
 *      fresh memory is populated by the kernel in one call per array
 *      (hg_populate: MADV_POPULATE_WRITE; a store per page only where the
 *      kernel cannot), a reused block's missing pages touched.  First
 *      touch of fresh memory is slow (kernel page clearing) and used to
 *      make the first capture's pause 3x a warm one.  Other threads may
 *      run Python meanwhile; the heap is
 *      read only from phase 1 on.  Before that, the threads of the regions
 *      that run while the heap is marked are reserved (plan_team): from
 *      phase 1 to the restore, the OpenMP runtime creates no thread and
 *      allocates nothing.
 *   1. chase (walk_state.c): walk the GC lists (generations 0, 1, 2,
 *      permanent) once, each from both ends at once (two chains of loads),
 *      the only dependent pointer chase of the capture:
 *      stash each tracked object's node id in its GC header (interp.h; the
 *      version header states the invariant) and record its address, type,
 *      refcount and flags (and take the pin, if asked).  The collector's
 *      "collecting" flag is set meanwhile so that nothing can start a
 *      collection.
 *   2. walk (walk_serial.c): tracked nodes in id order, from the recorded
 *      addresses: size, then tp_traverse, one edge per visited referent.
 *      A tracked referent's id is read from its GC header; any other
 *      referent (str, int, None, untracked tuple or dict, non-GC object)
 *      gets the next id >= n_tracked on first sight: its node entry is
 *      read, then its reference count is replaced by the mark -(id + 1),
 *      so later visits read the id from the object itself (no hash table:
 *      the collector's own trick, applied to the reference count); an
 *      object whose count is 1 has no other reference to meet and is not
 *      marked.  The restore puts every count back, on every path, before
 *      anything else runs.  With two threads or more and a heap of 32k
 *      tracked objects or more, walk_parallel.c does phases 2 and 2b
 *      instead: the tracked objects over the OpenMP threads, the ids
 *      renumbered in phase 5 (renumber.c) to exactly the ones the serial
 *      walk gives.
 *   2b. untracked GC objects (untracked tuples and dicts) are traversed
 *      in id order after the tracked ones, so their referents are nodes
 *      and edges too; non-GC objects (str, int) have no out-edges.
 *   3. while ids are still stashed: flag modules in sys.modules and the
 *      caller's excluded objects, without running Python code.
 *   4. 4a: restore every mark and GC header (on every path, including
 *      errors: from the recorded addresses, without a second chase, once
 *      phase 1 is complete); then, with strong references held, make the
 *      calls that could not be made during the walk: C __sizeof__ methods
 *      of extension types (4b; Python-level ones only with Python sizes),
 *      and the type names (4c), read from the classes unless a metaclass
 *      computes them in Python.
 *   5. finish, GIL released: (the parallel walk's renumbering), trim the
 *      arrays and hand them to the graph (walk_state.c).
 * The pause reported is the time the GIL was held: phases 1 to 4.  Each
 * phase is timed (capture.h: enum hg_capture_phase).
 *
 * Value encodings: node ids 0..n_tracked-1 are tracked objects in GC list
 * order; untracked ids follow in order of first visit.  While marked, an
 * untracked object's reference count is -(id + 1) (live objects never
 * have a count < 1); its true count is in refcnt[id], or in the overflow
 * list when it does not fit 32 bits.  Sizes are stored as the graph keeps
 * them: saturated at UINT32_MAX, the true size in the overflow table.
 * The node arrays have capacity cap_n and hold n_nodes entries. */
#include "walk.h"

#include <string.h>

/* Below this many planned nodes no parallel region runs while the heap is
 * marked (the smaller of the parallel walk's threshold, walk_parallel.c,
 * and walk_serial.c's HG__PAR_MIN), so phase 0 reserves no threads. */
#define HG__RESERVE_MIN ((size_t)1 << 15)

/* Sizes of the previous capture, so the next one allocates once (0: no
 * capture yet).  Read and written with the GIL held. */
static size_t hint_tracked, hint_untracked, hint_edges;

/* How many times hg__immortal_estimate() the immortal table holds: grown
 * when a walk found it full (hg_capture_run retries that walk). */
static size_t immortal_scale = 1;

/* ---- phase 0: the plan --------------------------------------------------- */

/* Capacities for this capture: the previous capture's sizes (or, for the
 * first one, the collector's own counts and a heap-shaped guess: about
 * one untracked referent and four references per tracked object) plus an
 * eighth.  The arrays grow during the walk if the heap grew more. */
static void plan_capacity(walk *w, hg__gcstate *gc) {
    size_t nt = hint_tracked ? hint_tracked : hg__gc_tracked_estimate(gc);
    size_t nu = hint_edges ? hint_untracked : nt;
    size_t ne = hint_edges ? hint_edges : nt * 4;
    if (w->nodes_only) {
        nu = ne = 0;
    }
    w->est_tracked = nt;
    w->est_untracked = nu;
    w->est_edges = ne;
    w->est_immortal = hg__immortal_estimate() * immortal_scale;
    w->cap_n = nt + nt / 8 + nu + nu / 8 + 1024;
    w->n_offsets = w->cap_n + 1;
    w->cap_edges = ne + ne / 8 + 1024;
    for (int i = 0; i < HG__NODE_ARRAYS; i++) {
        w->cap_each[i] = w->cap_n;
    }
}

/* The threads of the regions that run while the heap is marked, started
 * now, before anything else of phase 0 runs a region: between marking and
 * restoring, the OpenMP runtime must neither create a thread nor allocate
 * (either failing, libgomp ends the process -- with the heap marked).
 * hg_threads_reserve() proves the count by creating as many threads, lowers
 * it to what it could create (1: serial), and leaves a team of that size in
 * the runtime's pool; every region until the restore uses exactly that team
 * (phase 0's too, through hg_num_threads()), so the pool neither shrinks
 * nor grows and the runtime reuses its team structure.  Small heaps run no
 * region while marked and reserve nothing. */
static int plan_team(const walk *w) {
    if (w->est_tracked + w->est_untracked < HG__RESERVE_MIN) {
        return 1;
    }
    return hg_threads_reserve();
}

/* ---- phase 3: flags ------------------------------------------------------ */

/* Walk id of op while ids are stashed, or HG_NONE if it is not a node. */
static hg_node find_node(walk *w, PyObject *op) {
    uint64_t sid, a = (uint64_t)(uintptr_t)op;
    Py_ssize_t rc;
    if (hg__gc_tracked(op) && (sid = hg__walk_stashed(w, op)) < w->n_tracked &&
        w->addr[sid] == a) {
        return (hg_node)sid;
    }
    rc = hg__word_load(hg__refcnt_word(op));
    if (rc >= 0 && hg__immortal_count(rc)) {
        const Py_ssize_t *slot = hg__imm_find(&w->imm, op);
        rc = slot != NULL ? *slot : 0;
    }
    if (rc < 0) {
        size_t i;
        const part *p = hg__walk_where(w, hg__mark_id(rc), &i);
        if (p != NULL ? i < p->n && p->addr[i] == a
                      : i < w->n_nodes && w->addr[i] == a) {
            return hg__mark_id(rc);
        }
    }
    return HG_NONE;
}

static void flag_node(walk *w, hg_node id, uint8_t fl) {
    if (id != HG_NONE) {
        size_t i;
        part *p = hg__walk_where(w, id, &i);
        (p != NULL ? p->flags : w->flags)[i] |= fl;
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
            d = hg__module_dict(m);
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

/* ---- phase 4: restore, references, calls --------------------------------- */

/* Undo every mark and the id stash, as the walk that made them knows. */
static void restore_objects(walk *w, hg__gcstate *gc) {
    if (w->n_parts > 0) {
        hg__par_restore(w, gc);
    } else {
        hg__serial_restore(w, gc);
    }
}

/* Drop the pins of a failed capture.  The counts were raised by the walk,
 * so lowering them frees nothing while the caller holds the GIL. */
static void unpin_tracked(walk *w) {
    size_t n = w->n_pinned;
    w->n_pinned = 0;
    for (size_t v = 0; v < n; v++) {
        Py_DECREF((PyObject *)(uintptr_t)w->addr[v]);
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

/* Phase 4b: sizes that need calls: C __sizeof__ methods of extension
 * types and, only with Python sizes, __sizeof__ defined in Python (with
 * C sizes those were never deferred: sizeof.c).  A __sizeof__ that fails
 * with an ordinary exception (sys.getsizeof would raise) falls back to
 * the C size so that one broken class does not make the heap impossible
 * to snapshot; MemoryError and non-Exception errors (KeyboardInterrupt...)
 * fail the capture. */
static int deferred_sizes(walk *w) {
    for (size_t i = 0; i < w->n_defer; i++) {
        PyObject *op = w->defer[i].op; /* borrowed from defer[] */
        size_t at;
        part *p = hg__walk_where(w, w->defer[i].id, &at);
        uint32_t *slot = &(p != NULL ? p->size : w->size)[at];
        const hg__sizer *s =
            &w->types[(p != NULL ? p->type : w->type)[at]].sizer;
        Py_ssize_t n = hg__sizer_slow(s, op);
        if (n < 0) {
            if (!PyErr_ExceptionMatches(PyExc_Exception) ||
                PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear();
            n = s->kind == HG__SZ_PYTHON
                    ? hg__sizer_c_size(op)
                    : hg__object_sizeof(op) +
                          hg__preheader_of(op, s->preheader);
        }
        if (hg__store_size(slot, (uint64_t)n, w->defer[i].id, &w->sover,
                           &w->n_sover, &w->cap_sover) < 0) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

/* Phase 4c: the type table of the result.  Names come from the classes'
 * fields, or from Python code for the few classes whose metaclass
 * computes them (typenames.c); an exception that code raises is recorded,
 * not raised, so one odd metaclass does not make the heap impossible to
 * snapshot. */
static int build_types(walk *w, hg_capture *out) {
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

/* ---- the phases ---------------------------------------------------------- */

/* One capture, across its phases.  The times are hg__now() readings. */
typedef struct run {
    const hg_capture_opts *opts;
    hg_capture *out;
    hg__gcstate *gc;
    walk w;
    hg_graph *g;             /* owned until handed to out */
    hg__walk_status st;      /* how the walk ended */
    double waited;           /* for a collection in another thread (gcwait.c) */
    double t0;               /* the start, after any first wait */
    double t_unlock, t_lock; /* phase 0 without the GIL */
    double t_chased, t_walked, t_restored, t_release;
} run;

/* Phase 0: wait for another thread's collection, plan, then allocate and
 * pre-fault without the GIL.  0, or -1 with an exception set. */
static int prepare(run *r) {
    walk *w = &r->w;
    hg__walk_status st;

    if (hg__gc_collecting(r->gc)) {
        /* another thread's collection, running finalizers: wait for it
         * before allocating (gcwait.c); the capture, its pause and its
         * time start once it has finished */
        if (hg__gc_wait(r->gc, r->opts->gc_timeout, &r->waited) < 0) {
            return -1;
        }
        r->t0 = hg__now();
    }
    plan_capacity(w, r->gc);
    r->t_unlock = hg__now();
    Py_BEGIN_ALLOW_THREADS
        w->team = plan_team(w);
        st = hg__walk_status_of(hg__walk_alloc(w));
        if (st == HG__WALK_OK &&
            hg__par_plan(w, w->est_tracked, w->est_untracked, w->est_edges) <
                0) {
            st = w->status;
        }
    Py_END_ALLOW_THREADS
    r->t_lock = hg__now();
    if (st != HG__WALK_OK) {
        hg__result_status_error(st);
        return -1;
    }
    /* again with the GIL retaken: a collection that let other threads run
     * (a finalizer releasing the GIL) may be under way */
    if (hg__gc_collecting(r->gc)) {
        /* waited without the GIL: part of phase 0, not of the pause */
        if (hg__gc_wait(r->gc, r->opts->gc_timeout, &r->waited) < 0) {
            return -1;
        }
        r->t_lock = hg__now();
    }
    /* Warm the sizer's lookups before anything is stashed. */
    (void)hg_capture_sizeof(Py_None);
    return 0;
}

/* Phases 1 to 3, the heap marked: the list walk, the walk (serial or
 * parallel), the flags.  Sets the collector's "collecting" flag first;
 * the caller restores (4a) whatever the outcome (r->st). */
static void walk_heap(run *r) {
    walk *w = &r->w;

    hg__gc_set_collecting(r->gc, 1);
    /* ---- phase 1: the list walk: ids stashed, addresses ---------------- */
    if (hg__walk_chase(w, r->gc) < 0) {
        r->st = w->status;
        return;
    }
    r->t_chased = hg__now();
    /* ---- phases 2 and 2b: sizes and edges ------------------------------ */
    if (w->n_parts > 0 ? hg__par_walk(w) < 0 : hg__serial_walk(w) < 0) {
        r->st = w->status;
        return;
    }
    /* ---- phase 3: flags that need the stashed ids ---------------------- */
    flag_modules_and_excluded(w, r->opts->exclude);
}

/* Phase 4a: every mark and GC header restored, the collector free again;
 * then the walk's failure, if any, raised.  0, or -1 with an exception. */
static int restore(run *r) {
    walk *w = &r->w;

    r->t_walked = hg__now();
    restore_objects(w, r->gc);
    hg__gc_set_collecting(r->gc, 0);
    r->t_restored = hg__now();
    if (r->st != HG__WALK_OK) {
        hg__result_status_error(r->st);
        return -1;
    }
    hint_tracked = w->n_tracked;
    if (!w->nodes_only) {
        hint_untracked = w->n_nodes - w->n_tracked;
        hint_edges = w->n_edges;
    }
    return 0;
}

/* Phases 4b and 4c: the calls the walk could not make, and the graph to
 * fill.  0, or -1 with an exception set. */
static int calls(run *r) {
    walk *w = &r->w;

    /* Nothing has run since the walk, so every recorded object is alive
     * (pinned tracked nodes stay so): take references to the types and
     * to the objects whose size needs a call before any code runs. */
    for (size_t i = 0; i < w->n_types; i++) {
        Py_INCREF(w->types[i].tp);
    }
    w->types_owned = 1;
    for (size_t i = 0; i < w->n_defer; i++) {
        Py_INCREF(w->defer[i].op);
    }
    w->defer_owned = 1;
    if (deferred_sizes(w) < 0 || build_types(w, r->out) < 0) {
        return -1;
    }
    drop_refs(w);
    if (hg_graph_new(0, &r->g) != HG_OK) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Phase 5, GIL released: final ids (a parallel walk's), and the arrays
 * handed to the graph, the graph to out.  0, or -1 with an exception. */
static int finish(run *r) {
    walk *w = &r->w;
    hg_status st;

    r->t_release = hg__now();
    Py_BEGIN_ALLOW_THREADS
        st = w->n_parts > 0 ? hg__renumber(w) : HG_OK;
        if (st == HG_OK) {
            st = hg__walk_assemble(w, r->g);
        }
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hg__result_status_error(hg__walk_status_of(st));
        return -1;
    }
    r->out->graph = r->g;
    r->g = NULL;
    r->out->pinned = w->pin;
    w->n_pinned = 0;
    r->out->pause_seconds = (r->t_unlock - r->t0) + (r->t_release - r->t_lock);
    return 0;
}

/* A failed capture: the references it took dropped, out emptied; the
 * exception kept. */
static void fail(run *r) {
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    drop_refs(&r->w);
    unpin_tracked(&r->w);
    hg_graph_free(r->g);
    r->g = NULL;
    hg_capture_release(r->out);
    PyErr_Restore(et, ev, tb);
}

/* The phases' wall times, into out. */
static void record_times(const run *r) {
    hg_capture *out = r->out;
    double *ph = out->phase_seconds;
    out->capture_seconds = hg__now() - r->t0;
    ph[HG_PHASE_PREPARE] = r->t_lock - r->t0;
    ph[HG_PHASE_CHASE] = r->t_chased - r->t_lock;
    ph[HG_PHASE_WALK] = r->t_walked - r->t_chased;
    ph[HG_PHASE_RESTORE] = r->t_restored - r->t_walked;
    ph[HG_PHASE_CALLS] = r->t_release - r->t_restored;
    ph[HG_PHASE_FINISH] = out->capture_seconds - (r->t_release - r->t0);
}

/* ---- entry point --------------------------------------------------------- */

/* One capture: the phases as in the file header; each runs only if the
 * ones before it succeeded, except the restore, which follows the walk
 * whatever its outcome.  *imm_full: it failed because the immortal table
 * was full. */
static int capture_once(const hg_capture_opts *opts, hg_capture *out,
                        int *imm_full) {
    run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.opts = opts;
    r.out = out;
    r.gc = hg__gc_state();
    r.st = HG__WALK_OK;
    r.t0 = hg__now();
    r.w.pin = opts->pin;
    r.w.nodes_only = opts->nodes_only;
    r.w.py_sizes = opts->python_sizes;

    rc = prepare(&r); /* 0 */
    if (rc == 0) {
        walk_heap(&r);    /* 1, 2, 2b, 3: the heap marked */
        rc = restore(&r); /* 4a: unmarked, on every path */
    }
    if (rc == 0) {
        rc = calls(&r); /* 4b, 4c */
    }
    if (rc == 0) {
        rc = finish(&r); /* 5 */
    }
    if (rc < 0) {
        fail(&r);
    }
    *imm_full = r.w.imm.full;
    hg__par_free(&r.w);
    hg__walk_free(&r.w);
    if (rc == 0) {
        record_times(&r);
    }
    return rc;
}

/* See capture.h.  A walk that met more immortal objects than its table
 * holds left the heap as it found it; it is retried with a table four
 * times larger (twice at most: the estimate counts the interned strings,
 * which are most of them). */
int hg_capture_run(const hg_capture_opts *opts, hg_capture *out) {
    int rc, imm_full = 0;

    if (opts == NULL || out == NULL) {
        PyErr_SetString(PyExc_TypeError, "hg_capture_run: NULL argument");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (opts->exclude != NULL && !PyTuple_Check(opts->exclude)) {
        PyErr_SetString(PyExc_TypeError, "exclude must be a tuple");
        return -1;
    }
    for (int attempt = 0;; attempt++) {
        rc = capture_once(opts, out, &imm_full);
        if (rc == 0 || !imm_full || attempt == 2) {
            return rc;
        }
        PyErr_Clear();
        immortal_scale *= 4;
    }
}
