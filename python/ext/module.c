/*
 * module.c -- objgraph._heapgraph: module definition and capture().
 *
 * The private extension behind the objgraph package.  capture() freezes the
 * heap through capture/ and wraps the result in a Graph (graphobj.c).  This
 * file is the top of the bindings: it puts the Graph method table together
 * from each method file's part (graph.c, views.c, snapfile.c, analysis.c,
 * retention.c, and referrers.c's functions, listed here), and none of them
 * includes it.
 * Errors from the core become exceptions in errors.c alone.
 */
#include "analysis.h"
#include "graph.h"
#include "referrers.h"
#include "retention.h"
#include "snapfile.h"
#include "views.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef HG_HAVE_NATIVE_CAPTURE
#define HG_NATIVE_BUILT 1
#else
#define HG_NATIVE_BUILT 0
#endif

/* The capture to run (enum hg_capture_kind), from the environment
 * variable OBJGRAPH_CAPTURE, read at each capture: unset, empty or
 * 'auto': the native one when it was built for this interpreter, else the
 * portable one; 'portable' or 'native' force one.  0, or -1 with
 * ValueError (an unknown value) or RuntimeError ('native' not built). */
static int wanted_capture(int *kind) {
    const char *env = getenv("OBJGRAPH_CAPTURE");
    if (env == NULL || env[0] == '\0' || strcmp(env, "auto") == 0) {
        *kind = HG_NATIVE_BUILT ? HG_CAPTURE_NATIVE : HG_CAPTURE_PORTABLE;
    } else if (strcmp(env, "portable") == 0) {
        *kind = HG_CAPTURE_PORTABLE;
    } else if (strcmp(env, "native") == 0) {
        if (!HG_NATIVE_BUILT) {
            PyErr_Format(PyExc_RuntimeError,
                         "OBJGRAPH_CAPTURE=native, but objgraph was built "
                         "without the native capture for Python %s (only "
                         "the portable one)",
                         PY_VERSION);
            return -1;
        }
        *kind = HG_CAPTURE_NATIVE;
    } else {
        PyErr_Format(PyExc_ValueError,
                     "OBJGRAPH_CAPTURE must be 'auto', 'native' or "
                     "'portable', not '%.100s'",
                     env);
        return -1;
    }
    return 0;
}

/* Run the capture `kind` into *out. */
static int run_capture(int kind, const hg_capture_opts *opts, hg_capture *out) {
    int rc;
#ifdef HG_HAVE_NATIVE_CAPTURE
    if (kind == HG_CAPTURE_NATIVE) {
        rc = hg_capture_run(opts, out);
        if (rc == 0) {
            out->kind = HG_CAPTURE_NATIVE;
        }
        return rc;
    }
#endif
    (void)kind;
    rc = hg_capture_portable_run(opts, out);
    return rc;
}

PyDoc_STRVAR(
    capture_doc,
    "capture(pin=True, exclude=None, nodes_only=False, sizes='c',\n"
    "        gc_timeout=10.0, fork=False, fork_timeout=60.0) -> Graph\n\n"
    "Freeze the heap: every object the cyclic GC tracks (frozen ones\n"
    "included) and each distinct untracked referent become nodes, references\n"
    "become edges.  pin: hold a strong reference to every tracked node until\n"
    "Graph.close(); a pinned Graph takes part in cyclic garbage collection.\n"
    "exclude: a tuple of objects to flag as the caller's own machinery.\n"
    "nodes_only: tracked objects and their types only, no references\n"
    "(enough for type counts; queries about references are then refused).\n"
    "sizes: 'c' (a __sizeof__ defined in Python is not called) or 'python'\n"
    "(it is, as sys.getsizeof).  gc_timeout: seconds to wait, at most, for a\n"
    "collection running in another thread to finish (RuntimeError after\n"
    "that); a capture from inside a collection in this thread (a finalizer,\n"
    "gc.callbacks) raises RuntimeError at once.\n\n"
    "fork: capture in a child made by fork() (Linux; pin must be False):\n"
    "the program is paused for the fork only; the portable walk runs in\n"
    "the child, which is killed after fork_timeout seconds.  A failed\n"
    "child raises ChildProcessError.  child_sleep and child_as_limit are\n"
    "test hooks: the child sleeps that long first, its RLIMIT_AS is set.\n\n"
    "The environment variable OBJGRAPH_CAPTURE, read at each capture,\n"
    "chooses the capture: 'auto' (or unset: the native one when built for\n"
    "this interpreter, else the portable one), 'native' or 'portable'\n"
    "(public C API only; the same nodes, edges, sizes and reference\n"
    "counts, other node ids; frozen objects only when referenced).\n"
    "Graph.capture_kind says which one ran.");

static PyObject *hgpy_capture(PyObject *module, PyObject *args,
                              PyObject *kwds) {
    static char *kwlist[] = {
        "pin",  "exclude",      "nodes_only",  "sizes",          "gc_timeout",
        "fork", "fork_timeout", "child_sleep", "child_as_limit", NULL};
    int pin = 1, nodes_only = 0, fork = 0, rc, kind;
    hg_capture_fork_opts fopts = {HG_CAPTURE_FORK_TIMEOUT, 0, 0};
    unsigned long long as_limit = 0;
    const char *sizes = "c";
    PyObject *exclude = Py_None; /* borrowed */
    double gc_timeout = HG_CAPTURE_GC_TIMEOUT;
    hg_capture_opts opts = {0};
    GraphObject *g = NULL;
    (void)module;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pOpsdpddK:capture", kwlist,
                                     &pin, &exclude, &nodes_only, &sizes,
                                     &gc_timeout, &fork, &fopts.timeout,
                                     &fopts.child_sleep, &as_limit)) {
        return NULL;
    }
    fopts.child_as_limit = as_limit;
    if (fork && !(fopts.timeout > 0)) { /* NaN too */
        PyErr_SetString(PyExc_ValueError,
                        "capture(): fork_timeout must be a number of "
                        "seconds > 0");
        return NULL;
    }
    if (fork && strcmp(sizes, "python") == 0) {
        PyErr_SetString(PyExc_ValueError,
                        "capture(): sizes='python' calls __sizeof__ methods, "
                        "which a forked child must not: use sizes='c' with "
                        "fork=True");
        return NULL;
    }
    if (strcmp(sizes, "c") != 0 && strcmp(sizes, "python") != 0) {
        return PyErr_Format(PyExc_ValueError,
                            "capture(): sizes must be 'c' or 'python', "
                            "not '%.100s'",
                            sizes);
    }
    opts.python_sizes = strcmp(sizes, "python") == 0;
    if (exclude != Py_None && !PyTuple_Check(exclude)) {
        return PyErr_Format(PyExc_TypeError,
                            "capture(): exclude must be a tuple or None, "
                            "not %.100s",
                            Py_TYPE(exclude)->tp_name);
    }
    if (!(gc_timeout >= 0)) { /* NaN too */
        PyErr_SetString(PyExc_ValueError,
                        "capture(): gc_timeout must be a number of "
                        "seconds >= 0");
        return NULL;
    }
    opts.pin = pin;
    opts.nodes_only = nodes_only;
    opts.exclude = exclude == Py_None ? NULL : exclude;
    opts.gc_timeout = gc_timeout;
    if (wanted_capture(&kind) < 0) {
        return NULL;
    }

    /* Allocate the wrapper first: a failure after the capture would have to
     * undo the pins.  It is not tracked by the collector yet, so it is not
     * a node of its own capture. */
    g = hgpy_graph_new();
    if (g == NULL) {
        return NULL;
    }
    /* earlier pinned graphs show no references to this walk (graphobj.c) */
    hgpy_pins_hidden++;
    rc = fork ? hg_capture_fork_run(&opts, &fopts, &g->cap)
              : run_capture(kind, &opts, &g->cap);
    hgpy_pins_hidden--;
    if (rc < 0) {
        Py_DECREF(g);
        return NULL;
    }
    g->was_pinned = g->cap.pinned;
    g->nodes_only = nodes_only;
    if (hgpy_graph_summarise(g) < 0) {
        Py_DECREF(g);
        return NULL;
    }
    if (g->cap.pinned) {
        /* its pins may hold it in a cycle (graphobj.c): the collector must
         * see them, in full collections only */
        hg_capture_gc_track_oldest((PyObject *)g);
    }
    return (PyObject *)g;
}

PyDoc_STRVAR(
    referent_at_doc,
    "referent_at(parent, addr) -> object or None\n\n"
    "The referent of parent (as its tp_traverse reports them) whose id() is\n"
    "addr, or None.");

static PyObject *hgpy_referent_at(PyObject *module, PyObject *args) {
    PyObject *parent; /* borrowed */
    unsigned long long addr;
    PyObject *res;
    (void)module;

    if (!PyArg_ParseTuple(args, "OK:referent_at", &parent, &addr)) {
        return NULL;
    }
    res = hg_capture_referent_at(parent, (uint64_t)addr);
    if (res == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return res;
}

PyDoc_STRVAR(
    attribute_at_doc,
    "attribute_at(obj, addr) -> str or None\n\n"
    "The name of obj's attribute (an inline value, or an entry of the\n"
    "__dict__ it already has) holding the object whose id() is addr, or\n"
    "None; read without making obj a __dict__.  NotImplementedError when\n"
    "this build cannot tell for obj: read obj.__dict__ instead.");

static PyObject *hgpy_attribute_at(PyObject *module, PyObject *args) {
    PyObject *obj; /* borrowed */
    unsigned long long addr;
    PyObject *res;
    (void)module;

    if (!PyArg_ParseTuple(args, "OK:attribute_at", &obj, &addr)) {
        return NULL;
    }
    res = hg_capture_attribute_at(obj, (uint64_t)addr);
    if (res == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return res;
}

#ifdef HG_HAVE_FRAME_LOCALS
PyDoc_STRVAR(
    frame_locals_doc,
    "frame_locals(frame) -> list[tuple[str, object]]\n\n"
    "The bound local variables of a frame (arguments, locals, cell\n"
    "contents) as (name, value) pairs, read in place: no locals dict\n"
    "is made or kept by the frame.  Native captures and CPython 3.10.");

static PyObject *hgpy_frame_locals(PyObject *module, PyObject *frame) {
    (void)module;
    return hg_capture_frame_locals(frame);
}
#endif

PyDoc_STRVAR(checksum_doc,
             "checksum(data, seed=0) -> int\n\n"
             "The snapshot format's checksum (XXH64) of a bytes-like object:\n"
             "for tools and tests that rewrite a file's sections.");

static PyObject *hgpy_checksum(PyObject *module, PyObject *args) {
    Py_buffer data;
    unsigned long long seed = 0;
    uint64_t sum;
    (void)module;
    if (!PyArg_ParseTuple(args, "y*|K:checksum", &data, &seed)) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        sum = hg_snapfile_checksum(data.buf, (size_t)data.len, seed);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLongLong(sum);
}

PyDoc_STRVAR(
    set_num_threads_doc,
    "set_num_threads(n)\n\nThreads the parallel kernels use (n >= 1).");

static PyObject *hgpy_set_num_threads(PyObject *module, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    (void)module;
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n < 1) {
        return PyErr_Format(PyExc_ValueError,
                            "set_num_threads(): n must be >= 1, not %ld", n);
    }
    hg_set_num_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *hgpy_num_threads(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return PyLong_FromLong(hg_num_threads());
}

static PyObject *hgpy_allocator(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return PyUnicode_FromString(hg_alloc_name());
}

static PyObject *hgpy_live_bytes(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return PyLong_FromUnsignedLongLong(hg_alloc_live_bytes());
}

/* The shim's kept blocks, then glibc's free memory at the top of its
 * heaps and in its arenas (malloc_trim), back to the system now. */
static PyObject *hgpy_release_memory(PyObject *module, PyObject *unused) {
    uint64_t dropped;
    (void)module;
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
        dropped = hg_alloc_trim();
#ifdef __GLIBC__
        (void)malloc_trim(0);
#endif
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLongLong(dropped);
}

PyDoc_STRVAR(
    fail_after_doc,
    "_alloc_fail_after(n)\n\nTesting hook: the n-th following core allocation\n"
    "and all later ones fail, until called with n < 0.");

static PyObject *hgpy_fail_after(PyObject *module, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    (void)module;
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    hg_alloc_fail_after(n);
    Py_RETURN_NONE;
}

static PyMethodDef hg_methods[] = {
    {"capture", (PyCFunction)(void (*)(void))hgpy_capture,
     METH_VARARGS | METH_KEYWORDS, capture_doc},
    {"referent_at", hgpy_referent_at, METH_VARARGS, referent_at_doc},
    {"attribute_at", hgpy_attribute_at, METH_VARARGS, attribute_at_doc},
#ifdef HG_HAVE_FRAME_LOCALS
    {"frame_locals", hgpy_frame_locals, METH_O, frame_locals_doc},
#endif
    {"checksum", hgpy_checksum, METH_VARARGS, checksum_doc},
    {"set_num_threads", hgpy_set_num_threads, METH_O, set_num_threads_doc},
    {"num_threads", hgpy_num_threads, METH_NOARGS,
     "num_threads() -> int\n\nThreads the parallel kernels use when "
     "called from this\nthread: set_num_threads() or OMP_NUM_THREADS, "
     "fewer if no more\ncan be created, 1 on the thread that called "
     "fork(), in the child."},
    {"allocator", hgpy_allocator, METH_NOARGS,
     "allocator() -> str\n\n'jemalloc' or 'malloc'."},
    {"live_bytes", hgpy_live_bytes, METH_NOARGS,
     "live_bytes() -> int\n\nBytes held by the core's allocator shim."},
    {"release_memory", hgpy_release_memory, METH_NOARGS,
     "release_memory() -> int\n\nGive the memory freed snapshots leave "
     "for reuse back to\nthe system now; the bytes the shim unmapped."},
    {"_alloc_fail_after", hgpy_fail_after, METH_O, fail_after_doc},
    {"load", (PyCFunction)(void (*)(void))hgpy_load,
     METH_VARARGS | METH_KEYWORDS, hgpy_load_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef hg_module = {
    PyModuleDef_HEAD_INIT,
    "objgraph._heapgraph",
    "The heap-graph engine behind objgraph (private).",
    -1,
    hg_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* ---- the Graph method table ------------------------------------------- */

/* referrers.c's methods (it exports the functions, not a table). */
static PyMethodDef referrers_methods[] = {
    {"shown", (PyCFunction)hgpy_graph_shown, METH_O,
     "shown(id) -> bool\n\nWhether draw_referrers would show node id: "
     "tracked, not objgraph's\nown, not garbage, not what a collection "
     "would untrack."},
    {"shown_filter", (PyCFunction)hgpy_graph_shown_filter, METH_VARARGS,
     "shown_filter(frontier, local=False) -> bytes\n\nThe ids "
     "draw_referrers would show (see referrers.c);\nlocal=True: without "
     "the garbage test, which needs the reverse graph."},
    {"draw_referrers", (PyCFunction)hgpy_graph_draw_referrers, METH_O,
     "draw_referrers(id) -> list[int]\n\nThe referrers show_backrefs draws: "
     "as gc.get_referrers()\nafter a full collection lists them (see "
     "referrers.c)."},
    {NULL, NULL, 0, NULL},
};

#define HGPY_MAX_METHODS 64

/* Every file's part, in the order Graph's methods are listed. */
static PyMethodDef graph_methods[HGPY_MAX_METHODS + 1];

/* Fill graph_methods from the parts: 0, or -1 with SystemError. */
static int join_methods(void) {
    PyMethodDef *parts[] = {hgpy_graph_methods,    hgpy_views_methods,
                            hgpy_snapfile_methods, referrers_methods,
                            hgpy_analysis_methods, hgpy_retention_methods};
    size_t n = 0;
    for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
        for (PyMethodDef *m = parts[p]; m->ml_name != NULL; m++) {
            if (n == HGPY_MAX_METHODS) {
                PyErr_SetString(PyExc_SystemError,
                                "Graph has more than HGPY_MAX_METHODS methods");
                return -1;
            }
            graph_methods[n++] = *m;
        }
    }
    return 0;
}

PyMODINIT_FUNC PyInit__heapgraph(void) {
    PyObject *m;

    if (join_methods() < 0 || hgpy_graph_ready(graph_methods) < 0 ||
        hg_capture_init() < 0 || hg_capture_watch_gc() < 0) {
        return NULL;
    }
    m = PyModule_Create(&hg_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&hgpy_graph_type);
    if (PyModule_AddObject(m, "Graph", (PyObject *)&hgpy_graph_type) < 0) {
        Py_DECREF(&hgpy_graph_type);
        Py_DECREF(m);
        return NULL;
    }
    if (hgpy_errors_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "NODE_TRACKED", HG_NODE_TRACKED) < 0 ||
        PyModule_AddIntConstant(m, "NODE_MODULE", HG_NODE_MODULE) < 0 ||
        PyModule_AddIntConstant(m, "NODE_HAS_DEL", HG_NODE_HAS_DEL) < 0 ||
        PyModule_AddIntConstant(m, "NODE_FROZEN", HG_NODE_FROZEN) < 0 ||
        PyModule_AddIntConstant(m, "NODE_EXCLUDED", HG_NODE_EXCLUDED) < 0 ||
        PyModule_AddIntConstant(m, "NODE_GEN_SHIFT", HG_NODE_GEN_SHIFT) < 0 ||
        PyModule_AddObjectRef(m, "NATIVE_CAPTURE",
                              HG_NATIVE_BUILT ? Py_True : Py_False) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
