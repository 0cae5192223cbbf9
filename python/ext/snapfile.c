/*
 * snapfile.c -- Graph.save() and load(): snapshot files in the bindings.
 *
 * save() hands the capture's arrays to the core writer (core/src/snapfile.c)
 * with the GIL released; only the type names and node labels are packed
 * first, with the GIL held.  Nothing is pinned and no object is touched.
 *
 * load() reads a file into memory the core owns (hg_snapfile_open), or
 * maps it when asked (mmap=True, hg_snapfile_map), and wraps it in a Graph
 * whose capture points into those bytes: cap.graph is the file's graph,
 * cap.type_addr and cap.type_flags its arrays, cap.short_names and
 * cap.long_names Python lists decoded from it.  Such a Graph owns none of
 * those arrays: self->file says so, and the Graph's dealloc (graphobj.c)
 * detaches them and frees or unmaps the file's bytes (and the reverse
 * graph if one was built) before hg_capture_release().  A loaded Graph is
 * detached and has no live objects: Graph.objects() refuses (an address from
 * another process is not an object here).  Read (the default), it never looks
 * at the file again; mapped, the file must not be truncated or rewritten in
 * place while the Graph lives (the caller's promise: load()'s docstring says
 * so).
 *
 * save() to a path naming a device, FIFO, socket or directory is refused
 * by the core writer before anything is written (FileError naming it).
 *
 * Errors: a file that cannot be written or read raises
 * _heapgraph.FileError(reason) (objgraph turns it into SnapshotError naming
 * the file); out of memory raises MemoryError (both through errors.c's
 * hgpy_raise_status, HGPY_ON_FILE).
 */
#include <string.h>

#include "snapfile.h"

/* ---- string tables --------------------------------------------------------
 */

typedef struct packed_strings {
    hg_strtab tab;
    uint64_t *offsets; /* PyMem */
    char *bytes;       /* PyMem */
} packed_strings;

static void packed_free(packed_strings *p) {
    PyMem_Free(p->offsets);
    PyMem_Free(p->bytes);
    memset(p, 0, sizeof(*p));
}

/* Pack a sequence of str (UTF-8, surrogates escaped) into p; 0 or -1. */
static int pack_strings(PyObject *seq_obj, Py_ssize_t expect, packed_strings *p,
                        const char *what) {
    PyObject *seq = PySequence_Fast(seq_obj, "expected a sequence of str");
    Py_ssize_t n;
    size_t total = 0, at = 0;

    memset(p, 0, sizeof(*p));
    if (seq == NULL) {
        return -1;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    if (expect >= 0 && n != expect) {
        PyErr_Format(PyExc_ValueError, "%s: %zd strings, expected %zd", what, n,
                     expect);
        goto error;
    }
    p->offsets = PyMem_Malloc(((size_t)n + 1) * sizeof(uint64_t));
    if (p->offsets == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i); /* borrowed */
        Py_ssize_t len;
        if (!PyUnicode_Check(s) || PyUnicode_AsUTF8AndSize(s, &len) == NULL) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: item %zd is not a str", what, i);
            goto error;
        }
        total += (size_t)len;
    }
    p->bytes = PyMem_Malloc(total + 1);
    if (p->bytes == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *u =
            PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, i), &len);
        p->offsets[i] = at;
        memcpy(p->bytes + at, u, (size_t)len);
        at += (size_t)len;
    }
    p->offsets[n] = at;
    p->tab.count = (uint64_t)n;
    p->tab.offsets = p->offsets;
    p->tab.bytes = p->bytes;
    Py_DECREF(seq);
    return 0;
error:
    Py_DECREF(seq);
    packed_free(p);
    return -1;
}

static PyObject *unpack_strings(const hg_strtab *t) {
    PyObject *list = PyList_New((Py_ssize_t)t->count);
    if (list == NULL) {
        return NULL;
    }
    for (uint64_t i = 0; i < t->count; i++) {
        PyObject *s = PyUnicode_DecodeUTF8(
            t->bytes + t->offsets[i],
            (Py_ssize_t)(t->offsets[i + 1] - t->offsets[i]), "replace");
        if (s == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    return list;
}

/* ---- Graph.save ------------------------------------------------------------
 */

PyDoc_STRVAR(
    Graph_save_doc,
    "save(path, label_ids, labels, runtime, producer, created,\n"
    "     edge_label_edges=b'', edge_labels=(), note_ids=b'', notes=())\n\n"
    "Write the graph to path atomically (core hg_snapfile_write): node\n"
    "table, forward CSR, type table, and labels[i] for node label_ids[i]\n"
    "(bytes of ascending uint32 ids); edge_labels[i] for the reference\n"
    "edge_label_edges[i] (bytes of ascending uint64 indices into the\n"
    "forward CSR); notes[i] for node note_ids[i] (bytes of ascending\n"
    "uint32 ids).  Raises FileError(reason) when the file cannot be\n"
    "written; nothing is left behind then.");

/* save()'s arguments: the id arrays, and the string tables packed from the
 * graph's type names and the caller's labels and notes. */
typedef struct save_input {
    Py_buffer ids, edges, note_ids;
    packed_strings shorts, longs, labels, elabels, notes;
} save_input;

static void save_input_release(save_input *in) {
    packed_free(&in->shorts);
    packed_free(&in->longs);
    packed_free(&in->labels);
    packed_free(&in->elabels);
    packed_free(&in->notes);
    hgpy_release_buffer(&in->ids);
    hgpy_release_buffer(&in->edges);
    hgpy_release_buffer(&in->note_ids);
}

/* Step 1: the id arrays, each a whole number of ids, each with its texts
 * (edges_obj and after may be NULL: not given).  0, or -1 with an
 * exception. */
static int get_id_arrays(PyObject *ids_obj, PyObject *edges_obj,
                         PyObject *edge_labels_obj, PyObject *note_ids_obj,
                         PyObject *notes_obj, save_input *in) {
    if (hgpy_get_buffer(ids_obj, &in->ids, (size_t)-1, 0, 0, "label_ids") < 0) {
        return -1;
    }
    if (in->ids.len % sizeof(hg_node) != 0) {
        PyErr_SetString(PyExc_ValueError, "label_ids: not a uint32 array");
        return -1;
    }
    if (edges_obj != NULL && hgpy_get_buffer(edges_obj, &in->edges, (size_t)-1,
                                             0, 0, "edge_label_edges") < 0) {
        return -1;
    }
    if (in->edges.len % sizeof(uint64_t) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "edge_label_edges: not a uint64 array");
        return -1;
    }
    if (in->edges.len > 0 && edge_labels_obj == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "edge_label_edges given without edge_labels");
        return -1;
    }
    if (note_ids_obj != NULL &&
        hgpy_get_buffer(note_ids_obj, &in->note_ids, (size_t)-1, 0, 0,
                        "note_ids") < 0) {
        return -1;
    }
    if (in->note_ids.len % sizeof(hg_node) != 0) {
        PyErr_SetString(PyExc_ValueError, "note_ids: not a uint32 array");
        return -1;
    }
    if (in->note_ids.len > 0 && notes_obj == NULL) {
        PyErr_SetString(PyExc_TypeError, "note_ids given without notes");
        return -1;
    }
    return 0;
}

/* Step 2: the string tables, one string per type, label, reference label
 * and note.  0, or -1 with an exception. */
static int pack_tables(GraphObject *self, PyObject *labels_obj,
                       PyObject *edge_labels_obj, PyObject *notes_obj,
                       save_input *in) {
    Py_ssize_t n_labels = in->ids.len / (Py_ssize_t)sizeof(hg_node);
    Py_ssize_t n_edges = in->edges.len / (Py_ssize_t)sizeof(uint64_t);
    Py_ssize_t n_notes = in->note_ids.len / (Py_ssize_t)sizeof(hg_node);
    if (pack_strings(self->cap.short_names, self->cap.n_types, &in->shorts,
                     "short names") < 0 ||
        pack_strings(self->cap.long_names, self->cap.n_types, &in->longs,
                     "long names") < 0 ||
        pack_strings(labels_obj, n_labels, &in->labels, "labels") < 0 ||
        (n_edges > 0 && pack_strings(edge_labels_obj, n_edges, &in->elabels,
                                     "edge_labels") < 0) ||
        (n_notes > 0 &&
         pack_strings(notes_obj, n_notes, &in->notes, "notes") < 0)) {
        return -1;
    }
    return 0;
}

/* Step 3: what the core writer writes. */
static void describe(const GraphObject *self, const save_input *in,
                     const char *runtime, const char *producer, double created,
                     hg_snapfile_data *d) {
    memset(d, 0, sizeof(*d));
    d->graph = self->cap.graph;
    d->n_types = self->cap.n_types;
    d->type_addr = self->cap.type_addr;
    d->type_flags = self->cap.type_flags;
    d->short_names = in->shorts.tab;
    d->long_names = in->longs.tab;
    d->n_labels = (hg_node)(in->ids.len / (Py_ssize_t)sizeof(hg_node));
    d->label_nodes = in->ids.buf;
    d->labels = in->labels.tab;
    d->n_edge_labels = (uint64_t)in->edges.len / sizeof(uint64_t);
    d->edge_label_edges = in->edges.buf;
    d->edge_labels = in->elabels.tab;
    d->n_notes = (hg_node)(in->note_ids.len / (Py_ssize_t)sizeof(hg_node));
    d->note_nodes = in->note_ids.buf;
    d->notes = in->notes.tab;
    d->pause_seconds = self->cap.pause_seconds;
    d->capture_seconds = self->cap.capture_seconds;
    d->created = created;
    snprintf(d->runtime, sizeof(d->runtime), "%s", runtime);
    snprintf(d->producer, sizeof(d->producer), "%s", producer);
}

static PyObject *Graph_save(GraphObject *self, PyObject *args) {
    PyObject *path = NULL, *ids_obj, *labels_obj, *res = NULL;
    PyObject *edges_obj = NULL, *edge_labels_obj = NULL;
    PyObject *note_ids_obj = NULL, *notes_obj = NULL;
    const char *runtime, *producer;
    double created;
    save_input in;
    hg_snapfile_data d;
    char why[512];
    hg_status st;

    memset(&in, 0, sizeof(in));
    if (!PyArg_ParseTuple(args, "O&OOssd|OOOO:save", PyUnicode_FSConverter,
                          &path, &ids_obj, &labels_obj, &runtime, &producer,
                          &created, &edges_obj, &edge_labels_obj, &note_ids_obj,
                          &notes_obj)) {
        return NULL;
    }
    if (self->nodes_only) {
        PyErr_SetString(PyExc_ValueError,
                        "this graph was captured without references "
                        "(nodes_only=True) and cannot be saved");
        goto cleanup;
    }
    if (get_id_arrays(ids_obj, edges_obj, edge_labels_obj, note_ids_obj,
                      notes_obj, &in) < 0 ||
        pack_tables(self, labels_obj, edge_labels_obj, notes_obj, &in) < 0) {
        goto cleanup;
    }
    describe(self, &in, runtime, producer, created, &d);
    Py_BEGIN_ALLOW_THREADS
        st = hg_snapfile_write(PyBytes_AS_STRING(path), &d, why, sizeof(why));
    Py_END_ALLOW_THREADS
    if (st != HG_OK) {
        hgpy_raise_status(st, HGPY_ON_FILE, why);
        goto cleanup;
    }
    res = Py_NewRef(Py_None);
cleanup:
    save_input_release(&in);
    Py_XDECREF(path);
    return res;
}

/* ---- Graph.file_info, Graph.labels ----------------------------------------
 */

PyDoc_STRVAR(
    Graph_file_info_doc,
    "file_info() -> dict or None\n\n"
    "For a graph loaded from a file: version (of the format), runtime,\n"
    "producer, created (Unix time),\n"
    "nbytes (the file's size), memory (bytes the file's contents hold in\n"
    "memory: read, or mapped) and mapped (load(mmap=True)); None for a\n"
    "captured graph.");

static PyObject *Graph_file_info(GraphObject *self, PyObject *unused) {
    const hg_snapfile_data *d;
    (void)unused;
    if (self->file == NULL) {
        Py_RETURN_NONE;
    }
    d = hg_snapfile_contents(self->file);
    return Py_BuildValue(
        "{s:I,s:s,s:s,s:d,s:K,s:K,s:O}", "version", (unsigned int)d->version,
        "runtime", d->runtime, "producer", d->producer, "created", d->created,
        "nbytes", (unsigned long long)hg_snapfile_size(self->file), "memory",
        (unsigned long long)hg_snapfile_nbytes(self->file), "mapped",
        hg_snapfile_is_mapped(self->file) ? Py_True : Py_False);
}

PyDoc_STRVAR(
    Graph_labels_doc,
    "labels() -> (bytes, list[str])\n\n"
    "The node labels stored in the file the graph was loaded from: ids\n"
    "(ascending uint32) and texts; empty for a captured graph.");

/* (ids as bytes, texts) of a table of strings on nodes. */
static PyObject *node_strings(const hg_node *nodes, hg_node count,
                              const hg_strtab *tab) {
    PyObject *ids, *texts;
    ids = PyBytes_FromStringAndSize((const char *)nodes, (Py_ssize_t)count * 4);
    texts = ids != NULL ? unpack_strings(tab) : NULL;
    if (texts == NULL) {
        Py_XDECREF(ids);
        return NULL;
    }
    return Py_BuildValue("(NN)", ids, texts);
}

/* The file's node labels, or with notes its notes: (ids, texts), empty
 * for a captured graph. */
static PyObject *file_node_strings(GraphObject *self, int notes) {
    const hg_snapfile_data *d;
    if (self->file == NULL) {
        return Py_BuildValue("(y#[])", "", (Py_ssize_t)0);
    }
    d = hg_snapfile_contents(self->file);
    return notes ? node_strings(d->note_nodes, d->n_notes, &d->notes)
                 : node_strings(d->label_nodes, d->n_labels, &d->labels);
}

static PyObject *Graph_labels(GraphObject *self, PyObject *unused) {
    (void)unused;
    return file_node_strings(self, 0);
}

PyDoc_STRVAR(
    Graph_notes_doc,
    "notes() -> (bytes, list[str])\n\n"
    "The notes on nodes stored in the file the graph was loaded from (what\n"
    "the capture knew of its roots): ids (ascending uint32) and texts;\n"
    "empty for a captured graph or a file without notes.");

static PyObject *Graph_notes(GraphObject *self, PyObject *unused) {
    (void)unused;
    return file_node_strings(self, 1);
}

PyDoc_STRVAR(
    Graph_edge_labels_doc,
    "edge_labels() -> (edges, texts, sources, targets)\n\n"
    "The reference labels (dict keys on paths) stored in the file the\n"
    "graph was loaded from: indices into the forward CSR (bytes of\n"
    "ascending uint64), texts, and each reference's source and target\n"
    "node ids (bytes of uint32); empty for a captured graph or a file\n"
    "without them.");

static PyObject *Graph_edge_labels(GraphObject *self, PyObject *unused) {
    const hg_snapfile_data *d;
    const hg_graph *g;
    PyObject *edges, *texts, *res;
    hg_node *ends;
    (void)unused;
    if (self->file == NULL) {
        return Py_BuildValue("(y#[]y#y#)", "", (Py_ssize_t)0, "", (Py_ssize_t)0,
                             "", (Py_ssize_t)0);
    }
    d = hg_snapfile_contents(self->file);
    g = d->graph;
    ends = PyMem_Malloc(2 * d->n_edge_labels * sizeof(hg_node) + 1);
    if (ends == NULL) {
        return PyErr_NoMemory();
    }
    /* sources: edges ascend, so one merge-walk over the offsets */
    for (uint64_t i = 0, u = 0; i < d->n_edge_labels; i++) {
        hg_edge e = d->edge_label_edges[i];
        while (g->fwd.offsets[u + 1] <= e) {
            u++;
        }
        ends[i] = (hg_node)u;
        ends[d->n_edge_labels + i] = g->fwd.targets[e];
    }
    edges = PyBytes_FromStringAndSize((const char *)d->edge_label_edges,
                                      (Py_ssize_t)d->n_edge_labels * 8);
    texts = edges != NULL ? unpack_strings(&d->edge_labels) : NULL;
    if (texts == NULL) {
        Py_XDECREF(edges);
        PyMem_Free(ends);
        return NULL;
    }
    res = Py_BuildValue("(NNy#y#)", edges, texts, (const char *)ends,
                        (Py_ssize_t)(d->n_edge_labels * sizeof(hg_node)),
                        (const char *)(ends + d->n_edge_labels),
                        (Py_ssize_t)(d->n_edge_labels * sizeof(hg_node)));
    PyMem_Free(ends);
    return res;
}

/* ---- load ------------------------------------------------------------------
 */

const char hgpy_load_doc[] =
    "load(path, mmap=False) -> Graph\n\n"
    "Read a snapshot file into memory and validate it (core\n"
    "hg_snapfile_open); the Graph answers from that copy, whatever happens\n"
    "to the file afterwards.  mmap=True maps the file instead\n"
    "(hg_snapfile_map): no copy, but the file must not be truncated or\n"
    "rewritten in place while the Graph lives (SIGBUS, SIGSEGV).\n"
    "FileError(reason) for a missing, unreadable, invalid file, or one\n"
    "changed while it was read.";

PyObject *hgpy_load(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"path", "mmap", NULL};
    PyObject *path = NULL;
    int map = 0;
    GraphObject *g = NULL;
    hg_snapfile *f = NULL;
    const hg_snapfile_data *d;
    char why[512];
    hg_status st;
    (void)module;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|p:load", kwlist,
                                     PyUnicode_FSConverter, &path, &map)) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        st =
            map ? hg_snapfile_map(PyBytes_AS_STRING(path), &f, why, sizeof(why))
                : hg_snapfile_open(PyBytes_AS_STRING(path), &f, why,
                                   sizeof(why));
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != HG_OK) {
        return hgpy_raise_status(st, HGPY_ON_FILE, why);
    }
    g = hgpy_graph_new(); /* never tracked */
    if (g == NULL) {
        hg_snapfile_close(f);
        return NULL;
    }
    g->file = f; /* from here on, dealloc frees or unmaps it */
    d = hg_snapfile_contents(f);
    g->cap.graph = hg_snapfile_graph(f);
    g->cap.n_types = d->n_types;
    g->cap.type_addr = (uint64_t *)(uintptr_t)d->type_addr;
    g->cap.type_flags = (uint32_t *)(uintptr_t)d->type_flags;
    g->cap.pause_seconds = d->pause_seconds;
    g->cap.capture_seconds = d->capture_seconds;
    g->cap.short_names = unpack_strings(&d->short_names);
    g->cap.long_names = unpack_strings(&d->long_names);
    if (g->cap.short_names == NULL || g->cap.long_names == NULL ||
        hgpy_graph_summarise(g) < 0) {
        Py_DECREF(g);
        return NULL;
    }
    return (PyObject *)g;
}

/* ---- the method table ---------------------------------------------------- */

PyMethodDef hgpy_snapfile_methods[] = {
    {"save", (PyCFunction)Graph_save, METH_VARARGS, Graph_save_doc},
    {"file_info", (PyCFunction)Graph_file_info, METH_NOARGS,
     Graph_file_info_doc},
    {"labels", (PyCFunction)Graph_labels, METH_NOARGS, Graph_labels_doc},
    {"notes", (PyCFunction)Graph_notes, METH_NOARGS, Graph_notes_doc},
    {"edge_labels", (PyCFunction)Graph_edge_labels, METH_NOARGS,
     Graph_edge_labels_doc},
    {NULL, NULL, 0, NULL},
};
