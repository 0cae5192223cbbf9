/*
 * analysis.h -- leak analysis on a Graph (analysis.c).
 *
 * analysis.c's part of the Graph method table (roots, dominators, retained
 * sizes, retention paths, cycles, matching); module.c puts it in the type.
 */
#ifndef HGPY_ANALYSIS_H
#define HGPY_ANALYSIS_H

#include "graphobj.h"

/* NULL-terminated. */
extern PyMethodDef hgpy_analysis_methods[];

#endif /* HGPY_ANALYSIS_H */
