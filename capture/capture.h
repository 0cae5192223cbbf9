/*
 * capture.h -- freeze the live CPython heap into a heapgraph.
 *
 * capture/ is the only C code that sees PyObject * (besides the module
 * bindings in python/ext/).  hg_capture_run() walks every object the cyclic
 * GC tracks -- the three generations and the permanent generation filled by
 * gc.freeze() -- calls each one's tp_traverse, and records a node per object
 * and per distinct untracked referent, with address, type, shallow size
 * (sys.getsizeof, but see hg_capture_opts.python_sizes), reference count
 * (saturated at UINT32_MAX) and flags.  No Python code runs during the
 * walk, nor after it unless the caller asks for Python-level __sizeof__
 * calls or a metaclass computes a class's __name__ or __module__ in
 * Python (an exception that code raises is recorded in name_errors, not
 * raised).  The GIL is held only while object memory is read; the time it
 * is held is reported as the pause.
 *
 * This is the one public header of the library hg_capture
 * (capture/CMakeLists.txt); every other header of capture/ is internal.
 * Interpreter internals (GC lists and header layout, managed dicts, size
 * rules) live in one header per version family (cpython311.h), reached
 * through one interface (interp.h).  Other versions fail at build time
 * with a message naming the header to add.
 * That native capture is built only for the versions it knows
 * (HG_HAVE_NATIVE_CAPTURE); hg_capture_portable_run() (portable.c) gives
 * the same snapshot through the public and unstable C API only, for
 * CPython 3.10 and later, and stands in for everything below on the other
 * versions.
 *
 * Functions returning int return 0 on success and -1 with a Python
 * exception set (MemoryError, RuntimeError, TypeError) on failure; on
 * failure nothing stays pinned and the heap is as before.
 */
#ifndef HG_CAPTURE_H
#define HG_CAPTURE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "heapgraph.h"

/* Per-type facts, one entry per distinct type among the nodes; bits 2 and 3
 * are core's HG_TYPE_EXACT_TUPLE and HG_TYPE_EXACT_DICT (heapgraph.h). */
enum hg_type_flag {
    HG_TYPE_HAS_DEL = 1u << 0,   /* the class defines __del__ (hasattr) */
    HG_TYPE_IS_MODULE = 1u << 1, /* a subclass of types.ModuleType */
};

/* Which capture took a snapshot (hg_capture.kind). */
enum hg_capture_kind {
    HG_CAPTURE_NONE = 0,     /* not captured: read from a snapshot file */
    HG_CAPTURE_NATIVE = 1,   /* hg_capture_run, interpreter internals */
    HG_CAPTURE_PORTABLE = 2, /* hg_capture_portable_run, public C API */
};

/* The phases of a capture, timed: capture.c's header numbers them 0 to 5
 * and hg_capture_run runs them in this order (portable.c's phases map
 * onto the same slots: its enumeration is the chase, its flags end the
 * walk, its pins and strong references are the restore). */
enum hg_capture_phase {
    HG_PHASE_PREPARE, /* 0 prepare: arrays allocated and populated, GIL
                       * released; a wait for another thread's
                       * collection */
    HG_PHASE_CHASE,   /* 1 chase: the GC lists walked, ids stashed */
    HG_PHASE_WALK,    /* 2 walk, 2b untracked GC objects, 3 flags */
    HG_PHASE_RESTORE, /* 4a restore: reference counts and GC headers */
    HG_PHASE_CALLS,   /* 4b, 4c calls: __sizeof__, type names */
    HG_PHASE_FINISH,  /* 5 finish, GIL released: renumbering, the graph
                       * assembled */
    HG_N_PHASES
};

typedef struct hg_capture {
    hg_graph *graph; /* owned; node ids: tracked first */
    uint32_t n_types;
    uint64_t *type_addr;    /* n_types: address of the type object */
    uint32_t *type_flags;   /* n_types: enum hg_type_flag bits */
    PyObject *short_names;  /* list of str, n_types: type(o).__name__ */
    PyObject *long_names;   /* list of str: 'module.Name' or 'Name' as
                             * objgraph's _long_typename */
    PyObject *name_errors;  /* NULL, or a dict: type id -> (exception or
                             * None, exception or None), what computing
                             * its short and long name raised (Python code:
                             * a metaclass property...); the names are
                             * then the ones the class's fields give.  The
                             * exceptions have no traceback */
    int pinned;             /* tracked nodes hold one strong reference each */
    int kind;               /* enum hg_capture_kind (set by the caller of
                             * hg_capture_run, by hg_capture_portable_run
                             * itself) */
    double pause_seconds;   /* wall time the GIL was held by the capture */
    double capture_seconds; /* wall time of the whole capture */
    double phase_seconds[HG_N_PHASES]; /* wall time of each phase */
    int forked;                        /* taken by hg_capture_fork_run */
    uint64_t fork_extra_bytes;         /* forked: the child's memory beyond the
                                        * parent's -- pages copied on write, its
                                        * own tables, the shared file -- at its
                                        * end (peak, about) */
} hg_capture;

typedef struct hg_capture_opts {
    int pin;           /* hold a strong reference to every tracked node */
    PyObject *exclude; /* NULL or a tuple of objects (the caller's own
                        * machinery): their nodes get HG_NODE_EXCLUDED;
                        * the tuple itself is excluded too */
    int nodes_only;    /* record tracked nodes only: no tp_traverse, no
                        * edges, no untracked nodes (for type counts) */
    int python_sizes;  /* 0 (C sizes): a __sizeof__ defined in Python is
                        * not called; the object gets the size the nearest
                        * C __sizeof__ in its class's MRO gives (object's
                        * for plain classes), plus the pre-header.  1:
                        * called, exactly sys.getsizeof (a failing one
                        * falls back to the C size) */
    double gc_timeout; /* seconds to wait, at most, for a collection
                        * running in another thread (0: refuse at once) */
} hg_capture_opts;

/* A capture in a forked child (hg_capture_fork_run). */
typedef struct hg_capture_fork_opts {
    double timeout;          /* seconds the child may take, then killed */
    double child_sleep;      /* test hook: the child sleeps this long
                              * first (0: not) */
    uint64_t child_as_limit; /* test hook: the child's RLIMIT_AS, bytes
                              * (0: unchanged) */
} hg_capture_fork_opts;

/* The bindings' default fork timeout, seconds: a heap of 50M objects
 * takes the child about 10 s. */
#define HG_CAPTURE_FORK_TIMEOUT 60.0

/* The bindings' default gc_timeout, seconds: longer than any collection's
 * finalizers should run, short enough to end a capture that waits for a
 * collection it cannot recognise as its own (gcwait.c). */
#define HG_CAPTURE_GC_TIMEOUT 10.0

/* Take a snapshot into *out (zeroed by the caller).  While the cyclic GC
 * is collecting in another thread (running finalizers), waits for it with
 * the GIL released, up to opts->gc_timeout seconds, then RuntimeError; a
 * collection in the calling thread (objgraph called from a finalizer or
 * gc.callbacks) is refused at once with RuntimeError (gcwait.c). */
int hg_capture_run(const hg_capture_opts *opts, hg_capture *out);

/* The same snapshot through the public and unstable C API only
 * (portable.c): every tracked object the interpreter lists
 * (gc.get_objects or PyUnstable_GC_VisitObjects), edges by tp_traverse,
 * marks in a table of its own.  Gives the same nodes, edges (as multisets
 * by address), sizes, reference counts and flags as hg_capture_run; node
 * ids may differ.  Frozen objects (gc.freeze()) are nodes only when
 * sys.modules, the builtins or another node leads to them (not when only
 * a running function's locals or C code hold them; with nodes_only,
 * never).  Waits for a
 * collection in
 * another thread as long as the gc.callbacks entry (gcwatch.c) says one
 * runs.  Sets out->kind to HG_CAPTURE_PORTABLE. */
int hg_capture_portable_run(const hg_capture_opts *opts, hg_capture *out);

/* The same snapshot as hg_capture_portable_run, detached, taken in a
 * child made by fork() (fork.c; Linux only): the calling thread holds the
 * GIL through the fork only -- the pause -- and waits for the child with
 * it released, so the program's other threads run.  The child runs no
 * Python code and takes no lock; a size that needs a call (an extension's
 * C __sizeof__, a Python one) is object's formula there.  opts->pin must
 * be 0 (ValueError).  The child killed, crashed, out of memory or past
 * fopts->timeout: ChildProcessError, the child reaped, nothing left
 * behind.  Not on Linux: NotImplementedError.  Sets out->forked and
 * out->fork_extra_bytes; out->capture_seconds is the child's wall time. */
int hg_capture_fork_run(const hg_capture_opts *opts,
                        const hg_capture_fork_opts *fopts, hg_capture *out);

/* Live objects for tracked node ids, as hg_capture_objects, finding a
 * detached capture's objects through the same enumeration as
 * hg_capture_portable_run: frozen objects are not found (NULL). */
int hg_capture_portable_objects(const hg_capture *c, const hg_node *ids,
                                size_t n, PyObject **out);

/* The bound local variables of a frame object's frame (native captures,
 * and 3.10: HG_HAVE_FRAME_LOCALS), as a new list of (name, value) pairs --
 * arguments, locals, and the contents of cells and free variables --
 * read in place: unlike frame.f_locals on 3.11 and 3.12, no locals dict is
 * made or kept by the frame (frames.c; frames310.c).  TypeError for a
 * non-frame, NULL with MemoryError. */
PyObject *hg_capture_frame_locals(PyObject *frame);

/* Once, at module initialisation (GIL held): put first in gc.callbacks
 * the C function that tells hg_capture_run which thread runs a collection
 * and whether it still runs (gcwatch.c).  Without it, a native capture
 * from inside a collection fails only after gc_timeout, and the portable
 * one does not wait.  -1 with an exception set on failure. */
int hg_capture_watch_gc(void);

/* Track op, a GC object not tracked yet (else nothing happens), in the
 * oldest generation: for objects that hold references to much of the heap
 * (a pinned graph), which young collections should not traverse.  GIL
 * held (objects.c). */
void hg_capture_gc_track_oldest(PyObject *op);

/* Drop the pins (if any; may run arbitrary Python code through
 * deallocators) and free everything; the struct is zeroed.  Accepts NULL
 * and zeroed structs.  Needs the GIL. */
void hg_capture_release(hg_capture *c);
/* Drop the pins only, keeping the graph (for close()). */
void hg_capture_unpin(hg_capture *c);

/* Live objects for tracked node ids: out[i] is a new reference, or NULL
 * (no exception) when the object is gone.  Pinned captures read the
 * address directly; detached ones walk the GC's lists once, matching
 * address and type.  Untracked ids give NULL.  -1 on MemoryError. */
int hg_capture_objects(const hg_capture *c, const hg_node *ids, size_t n,
                       PyObject **out);

/* The referent of `parent` (found through its tp_traverse) whose address
 * is addr, as a new reference, or NULL (no exception) if it has none.
 * Used to hand back untracked nodes (str, int, ...) safely. */
PyObject *hg_capture_referent_at(PyObject *parent, uint64_t addr);

/* The name of the attribute of obj -- an inline value of an instance with
 * a managed __dict__ (3.11 on), or an entry of the __dict__ it already
 * has -- holding the object at address addr, read without making a
 * __dict__ (looking __dict__ up from Python makes one in 3.11 and 3.12:
 * labelling a path would change the heap).  A new reference to the str
 * key; NULL with no exception when no attribute holds it (or obj has no
 * __dict__: none is made); NULL with NotImplementedError when this capture
 * cannot tell for this object (a managed __dict__ in the portable capture,
 * or without shared keys): the caller reads obj.__dict__ itself. */
PyObject *hg_capture_attribute_at(PyObject *obj, uint64_t addr);

/* The tracked nodes a full gc.collect() would untrack: core's
 * hg_untrack_replay on the capture's graph and type flags (see there).
 * live (n_nodes bytes): the nodes considered.  out (n_nodes bytes) gets 1
 * for those nodes.  Needs no Python; HG_EINVAL for a NULL argument. */
hg_status hg_capture_untrackable(const hg_capture *c, const uint8_t *live,
                                 uint8_t *out);

/* Once, at module initialisation (GIL held): learn what the walk needs
 * from the running interpreter -- the tp_traverse of classes defined in
 * Python, from a probe class kept for the life of the process.  Captures
 * work without it, only without the walk's inline traversal of plain
 * instances.  -1 with an exception set on failure. */
int hg_capture_init(void);

/* sys.getsizeof(op) computed without running Python code when the type's
 * __sizeof__ is implemented in C; -1 (no exception) when it would need to
 * call Python code. */
Py_ssize_t hg_capture_sizeof(PyObject *op);

#endif /* HG_CAPTURE_H */
