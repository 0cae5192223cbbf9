/*
 * snapfile.h -- snapshot files in the bindings (snapfile.c).
 *
 * Graph.save/file_info/labels/notes/edge_labels, snapfile.c's part of the
 * Graph method table, and the module's load(); module.c puts them in the
 * type and the module.
 */
#ifndef HGPY_SNAPFILE_H
#define HGPY_SNAPFILE_H

#include "graphobj.h"

/* NULL-terminated. */
extern PyMethodDef hgpy_snapfile_methods[];

/* _heapgraph.load(path, mmap=False) -> Graph, and its docstring. */
PyObject *hgpy_load(PyObject *module, PyObject *args, PyObject *kwargs);
extern const char hgpy_load_doc[];

#endif /* HGPY_SNAPFILE_H */
