/*
 * portable.h -- what capture/ needs that the public and unstable C API
 * alone provides, for any CPython 3.10 or later (default, GIL build).
 * Private to capture/.
 *
 * The portable capture (portable.c) and the helpers both captures share
 * (type names, the gc.callbacks watch) include this header and nothing
 * of the interpreter's internals: no Py_BUILD_CORE, no pycore_*.h, no
 * _Py* functions, no struct layouts outside Include/ and Include/cpython/.
 * Where the API differs between versions, the difference is here, each
 * with the version that introduced it:
 *   3.10  PyGC_Enable/PyGC_Disable, PyObject_GC_IsTracked (3.9)
 *   3.12  PyUnstable_GC_VisitObjects; PyType_GetDict (static builtin
 *         types keep their dict in the interpreter, tp_dict is NULL);
 *         immortal objects (a saturated reference count)
 *   3.13  PyObject_GetOptionalAttr, Py_IsFinalizing
 */
#ifndef HG_CAPTURE_PORTABLE_H
#define HG_CAPTURE_PORTABLE_H

#include "capture.h"

#include <stdint.h>

#if PY_VERSION_HEX < 0x030A0000
#error "objgraph capture/: CPython 3.10 or later is needed"
#endif
#ifdef Py_GIL_DISABLED
#error "objgraph capture/: the free-threaded build is not supported (the \
capture relies on the GIL to freeze the heap)"
#endif

/* ---- interned names ------------------------------------------------------
 * The attribute names capture/ looks up, interned once (GIL held); NULL
 * until hg__p_names_init() succeeded. */
typedef struct hg__p_names {
    PyObject *name_, *module_, *sizeof_, *del_;
} hg__p_names;
extern hg__p_names hg__p_id;

/* Intern the names (idempotent).  0, or -1 with MemoryError. */
int hg__p_names_init(void);

/* ---- dictionaries and types ---------------------------------------------- */

/* tp's own dict, borrowed (the type keeps it): tp_dict, or on 3.12+ for
 * static builtin types (tp_dict NULL) the interpreter's copy. */
PyObject *hg__p_type_dict(PyTypeObject *tp);

/* d[name] for an exact str name, without running code: *out borrowed, or
 * NULL when absent.  -1 when d is no exact dict or has a key that is not
 * an exact str (comparing it could call __eq__): the caller must then not
 * look.  A scan of d: O(len(d)); meant for type and module dicts. */
int hg__p_dict_get(PyObject *d, PyObject *name, PyObject **out);

/* Whether every key of d (an exact dict) is an exact str, so that
 * PyDict_GetItemWithError(d, str) runs no Python code. */
int hg__p_dict_str_keys_only(PyObject *d);

/* _PyType_Lookup(tp, name) without its attribute cache and without
 * running code: each class of the MRO in order, its dict read by
 * hg__p_dict_get.  *out borrowed or NULL; -1 when a dict of the MRO has a
 * non-str key (or tp has no MRO tuple). */
int hg__p_type_lookup(PyTypeObject *tp, PyObject *name, PyObject **out);

/* getattr(obj, name, None): 0 and *out a new reference or NULL (missing),
 * -1 with an exception.  May run code (a property). */
int hg__p_getattr_optional(PyObject *obj, PyObject *name, PyObject **out);

/* ---- sizes (portable_sizeof.c) --------------------------------------------
 * sys.getsizeof without running Python code, per type: object's formula,
 * CPython's own C __sizeof__ of the builtin containers and str/int/bytes
 * called directly (pure C, returns an int), another C method or a
 * Python-level __sizeof__ (Python sizes only) called after the walk. */
typedef enum hg__p_size_kind {
    HG__P_SZ_DEFAULT = 0, /* basicsize + ob_size * itemsize */
    HG__P_SZ_BUILTIN,     /* CPython's C __sizeof__: called in the walk */
    HG__P_SZ_CMETH,       /* another C method: called after the walk */
    HG__P_SZ_CDESCR,      /* a C method of another calling convention
                           * (3.13's ctypes metaclasses: METH_METHOD):
                           * called through its descriptor after the walk */
    HG__P_SZ_PYTHON,      /* a Python-level one (Python sizes only) */
} hg__p_size_kind;

typedef struct hg__p_sizer {
    hg__p_size_kind kind;
    PyCFunction meth; /* BUILTIN, CMETH */
    PyObject *descr;  /* CDESCR, PYTHON: the __sizeof__ found (borrowed
                       * from the type's dict) */
    int gc_preheader; /* 3.10: the GC header is added per object
                       * (PyObject_IS_GC); later: by type */
    Py_ssize_t preheader;
} hg__p_sizer;

/* Choose the strategy for tp (as sizeof.c's hg__sizer_init does for the
 * native capture).  Runs no Python code, changes no reference count. */
void hg__p_sizer_init(PyTypeObject *tp, int python_sizes, hg__p_sizer *out);

/* The size now: >= 0, or -1 for the calls after the walk (CMETH,
 * PYTHON), or -2 with MemoryError (a builtin __sizeof__'s int). */
Py_ssize_t hg__p_sizer_quick(const hg__p_sizer *s, PyObject *op);

/* The size by the call the walk deferred; a strong reference to op held,
 * may run Python code.  -1 with an exception set. */
Py_ssize_t hg__p_sizer_slow(const hg__p_sizer *s, PyObject *op);

/* The size without any call a walk would defer (CMETH, CDESCR, PYTHON:
 * object's formula and the pre-header; but CPython's own
 * type.__sizeof__ is called), for a forked child (fork.c): an
 * extension's method could take a lock no thread will release.  Never
 * fails; a builtin's int that cannot be made counts as object's size. */
Py_ssize_t hg__p_sizer_nocall(const hg__p_sizer *s, PyObject *op);

/* The C size (what Python sizes 0 give), for a failed Python-level
 * __sizeof__; never fails (object's formula at worst). */
Py_ssize_t hg__p_sizer_c_size(PyObject *op);

/* ---- type names (typenames.c) --------------------------------------------
 * objgraph's names of tp: *short_name = type(o).__name__ and *long_name =
 * _long_typename(o) (new references, exact str), read from the class's
 * fields when Python would find them without running code (typenames.c
 * says when), computed by Python code otherwise.  When that code raises
 * an ordinary exception (an Exception, not MemoryError), the name is the
 * one the class's fields give and *short_err / *long_err receive the
 * exception (a new reference, no traceback); they are NULL otherwise.
 * Needs the GIL and a strong reference to tp, after the walk.  -1 with an
 * exception set (MemoryError, KeyboardInterrupt...) when the capture must
 * fail; all four outputs are then NULL. */
int hg__type_names(PyTypeObject *tp, PyObject **short_name,
                   PyObject **long_name, PyObject **short_err,
                   PyObject **long_err);

/* ---- the collector (gcwatch.c) --------------------------------------------
 * What the gc.callbacks entry hg_capture_watch_gc() installs has seen:
 * 1 when a "start" was seen since the module was loaded, *thread the
 * thread of the latest one, *running whether its "stop" is still to come
 * (the entry runs first among the callbacks: during the other entries'
 * "stop" the collection is reported finished).  GIL held. */
int hg__gc_collector(unsigned long *thread, int *running);

/* One round of a capture's wait for a collection in another thread
 * (gcwait.c's for the native capture, portable.c's): RuntimeError at once
 * when the collection runs in this thread (waiting would never end) or
 * finalizing is set (interpreter shutdown), or when left (seconds of
 * timeout not spent) is not positive; else sleep min(*step, left) with
 * the GIL released, check signals (Ctrl-C ends the wait) and double *step
 * up to 5 ms (*step 0 at first).  GIL held.  0 to look again, or -1 with
 * an exception set. */
int hg__gc_wait_step(double timeout, double left, int finalizing, double *step);

/* Monotonic clock, seconds. */
double hg__p_now(void);

/* The int a __sizeof__ returned, checked as sys.getsizeof checks it;
 * steals res (NULL: the call failed).  -1 with an exception
 * (portable_sizeof.c; sizeof.c calls it too). */
Py_ssize_t hg__size_of_result(PyObject *res);

/* hg_capture_attribute_at for an object whose type has no managed
 * __dict__ (portable_objects.c): the str key of the entry of the __dict__
 * it has (none is made) holding the object at addr, a new reference, or
 * NULL (no exception) when none does or it has no __dict__.  *handled = 0
 * when the type has a managed __dict__ (left to the native capture) or a
 * negative tp_dictoffset. */
PyObject *hg__attribute_in_dict(PyObject *obj, uint64_t addr, int *handled);

/* The start both hg_capture_objects and hg_capture_portable_objects share
 * (release.c): the arguments checked (TypeError), out[] cleared, a pinned
 * capture answered from its recorded addresses.  -1 with an exception; 0
 * when answered; 1 when *n_want (> 0) tracked ids remain to be looked up
 * in the collector's lists. */
int hg__objects_begin(const hg_capture *c, const hg_node *ids, size_t n,
                      PyObject **out, size_t *n_want);

/* Whether id is a tracked node of c (an object the collector lists). */
static inline int hg__tracked_id(const hg_capture *c, hg_node id) {
    return c->graph != NULL && id < c->graph->n_tracked;
}

/* ---- the result, as both captures hand it over (result.c) ---------------- */

/* How a walk ended: HG_OK, the core status of its first failure, or the
 * capture's own failure -- a tp_traverse that returned nonzero by itself.
 * A walk's status variable is of this type and holds nothing else. */
typedef enum hg__walk_status {
    HG__WALK_OK = HG_OK,
    HG__WALK_ENOMEM = HG_ENOMEM,
    HG__WALK_EINVAL = HG_EINVAL,
    HG__WALK_ERANGE = HG_ERANGE,
    HG__WALK_EIO = HG_EIO,
    HG__WALK_TRAVERSE_FAILED = 100, /* beyond every hg_status */
} hg__walk_status;

/* A core status as the walk status it is. */
static inline hg__walk_status hg__walk_status_of(hg_status st) {
    return (hg__walk_status)st;
}

/* The type table of out for nt types: arrays and name lists allocated,
 * n_types set (what hg_capture_release frees).  0, or -1 with an
 * exception. */
int hg__result_types_begin(hg_capture *out, size_t nt);

/* Entry i of the type table: tp's address, its enum hg_type_flag bits
 * (node_flags: the HG_NODE_* flags its instances got) and its names from
 * hg__type_names, an exception those raised recorded in out->name_errors
 * (not raised: only the queries that need the name raise it).  Needs a
 * strong reference to tp.  0, or -1 with an exception. */
int hg__result_type_set(hg_capture *out, size_t i, PyTypeObject *tp,
                        uint32_t node_flags);

/* Set the Python exception for a failed walk's status, unless one is set
 * already. */
void hg__result_status_error(hg__walk_status status);

/* Shrink (or grow) an exact-size array from old_n to new_n items (0:
 * freed, *p NULL).  0, or -1 when the allocator failed (*p unchanged). */
int hg__resize_exact(void **p, size_t elem, size_t old_n, size_t new_n);

/* ---- the walk of a forked child (portable.c, for fork.c) ----------------
 * What the child hands back: the graph and its type table, by address. */
typedef struct hg__p_child_out {
    hg_graph *graph;        /* owned */
    size_t n_types;         /* type ids 0 .. n_types-1 of graph->type_id */
    uint64_t *type_addr;    /* n_types: the type objects' addresses */
    uint8_t *type_nflags;   /* n_types: HG_NODE_HAS_DEL when it has __del__ */
    uint64_t table_bytes;   /* the walk's address tables, freed on return
                             * (part of the child's peak memory) */
    hg__walk_status status; /* on failure: why */
} hg__p_child_out;

/* Wait, the GIL released, while the gc.callbacks entry says another
 * thread collects (the portable capture's wait); RuntimeError at once
 * when this thread does.  *waited grows by the time waited.  0 or -1. */
int hg__p_fork_wait_collector(double timeout, double *waited);

/* What a forked child's walk found (its own hints die with it), so that
 * the next child allocates once.  GIL held. */
void hg__p_fork_hint(size_t nodes, size_t edges);

/* Before fork(), GIL held: whatever the child's walk would otherwise
 * fetch on first use (interned names, the sizes' method table and, with
 * no native lists, gc.get_objects, which an import finds).  0, or -1
 * with an exception. */
int hg__p_child_prepare(void);

/* The portable walk in the only thread of a forked child (the GIL held,
 * never released): no Python code, no call that could take a lock (sizes
 * without deferred calls: hg__p_sizer_nocall), tracked objects listed by
 * hg__gc_visit_listed where the native capture is built (nothing
 * written), else by the portable enumeration.  exclude: NULL or a tuple,
 * flagged.  0, or -1 with out->status set (no exception is left). */
int hg__p_child_walk(PyObject *exclude, int nodes_only, hg__p_child_out *out);

/* Free out's graph and arrays (status kept); accepts a zeroed struct. */
void hg__p_child_out_free(hg__p_child_out *out);

#ifdef HG_HAVE_NATIVE_CAPTURE
/* fn(op, generation, arg) for every object of the collector's
 * generations 0-2 in list order, reading the lists only: no reference
 * taken, no byte written, no call (gclists.c).  Stops at fn's first
 * -1 and returns it; 0 otherwise. */
int hg__gc_visit_listed(int (*fn)(PyObject *op, int gen, void *arg), void *arg);
#endif

#endif /* HG_CAPTURE_PORTABLE_H */
