/*
 * heap_graphs.h -- synthetic heap-shaped object graphs for the benchmarks.
 *
 * A CPython heap is not a random graph.  What the kernels feel, and what this
 * generator reproduces from a fixed seed:
 *   - small out-degree: about 2.5 referents per object on average, 39 %
 *     of the nodes (str, int, float: untracked leaves) have none;
 *   - power-law in-degree: most objects have exactly one referrer (their
 *     owner, usually allocated just before them), while a few nodes are
 *     referenced by up to millions (1.4M at 10M nodes): singletons (None,
 *     True, small ints), type objects (every instance of a class refers to
 *     it, class sizes follow Zipf's law) and module dicts (the globals of
 *     every function);
 *   - long chains and cycles: linked lists and frame chains up to 1/50 of the
 *     tracked nodes long (128k at 10M nodes), some doubly linked, some closed
 *     into rings, so a search from the roots has thousands of levels with
 *     tiny frontiers;
 *   - a root "sys.modules" node that reaches almost everything, and a few
 *     thousand natural roots (type objects, module dicts) for multi-source
 *     searches.
 * Node ids follow capture/'s layout: tracked nodes first (type objects,
 * sys.modules, module dicts, containers), then untracked leaves.  Type
 * object t is node t and is also type id t, so type_id doubles as the
 * instance -> type edge.
 *
 * The CSR is built through the public API (hg_alloc + hg_csr_adopt), like
 * capture/ does.  Graphs are generated once per size and cached.
 */
#ifndef HG_BENCH_HEAP_GRAPHS_H
#define HG_BENCH_HEAP_GRAPHS_H

#include "heapgraph.h"

#include <cstdint>
#include <vector>

struct HeapGraph {
    hg_csr fwd = {};               /* object -> referents, owned */
    std::vector<uint32_t> type_id; /* n_nodes entries, < n_types */
    uint32_t n_types = 0;          /* == number of type-object nodes */
    hg_node n_tracked = 0;         /* ids >= n_tracked are leaves */
    hg_node root = HG_NONE;        /* "sys.modules": reaches the heap */
    std::vector<hg_node> roots;    /* type objects, sys.modules, modules */
    hg_node longest_chain = 0;     /* nodes in the longest linked list */

    HeapGraph() = default;
    HeapGraph(const HeapGraph &) = delete;
    HeapGraph &operator=(const HeapGraph &) = delete;
    ~HeapGraph() {
        hg_csr_destroy(&fwd);
    }
};

/* Generate a heap-shaped graph of n_nodes nodes (n_nodes >= 100000) from
 * seed; the same arguments always give the same graph.  Aborts the benchmark
 * process on allocation failure (this is a test harness, not the library). */
void heap_graph_generate(hg_node n_nodes, uint64_t seed, HeapGraph *out);

/* The cached graph of that size (fixed seed).  Only one size is kept: asking
 * for another size frees the previous graph first. */
const HeapGraph &heap_graph(hg_node n_nodes);

#endif /* HG_BENCH_HEAP_GRAPHS_H */
