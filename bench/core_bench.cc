/*
 * core_bench.cc -- Google Benchmark harness for the heapgraph core kernels.
 *
 * Every kernel runs on the same heap-shaped graphs (heap_graphs.h: 1M and
 * 10M nodes, about 2.5 edges per node, power-law in-degree, long chains),
 * for 1, 2, 4, ... up to the OpenMP thread count, beside the peers the
 * headline figures are ratios against, measured in the same process on the
 * same graph:
 *   - BM_Memcpy: memcpy of the edge (targets) array, split over the same
 *     threads: the memory-bandwidth ceiling;
 *   - BM_Igraph*: igraph's C core (one thread): igraph_create from the edge
 *     list (it builds the out- and in-indexes, igraph's counterpart of our
 *     transpose), igraph_bfs and igraph_bfs_simple from the same root,
 *     igraph_degree (read off its in-index), igraph_dominator_tree
 *     (Lengauer-Tarjan) from a virtual root added above the graph's roots,
 *     beside hg_domtree_build (BM_DomTree); below 2M nodes the idoms are
 *     checked equal once, outside the timed loop (igraph runs once at 10M,
 *     and that call is left alone).
 *
 * Names: BM_<Kernel>/nodes:<n>/threads:<t>/real_time.  Graphs are generated
 * once per size, outside every timed loop; benchmarks run size by size so
 * each graph is generated once.  HG_BENCH_NODES=1000000,... overrides the
 * sizes.
 *
 * Units: items are edges (nodes for the type histogram and the leak
 * analyses: dominator tree, retained sizes, components); a search's edges
 * are the out-edges of the nodes it reaches (what it scans).  Bytes are the
 * array bytes a kernel must read plus those it must write, counted once:
 * for a transpose 2 x the CSR, for memcpy 2 x the edge array -- so
 * transpose GB/s and memcpy GB/s compare directly.  Scratch traffic is not
 * counted.
 *
 * Warm and cold.  Kernels that allocate their outputs (transpose) or scratch
 * (the BFS queue) get memory the allocator kept from the previous iteration:
 * that is the steady state of repeated snapshots (BM_Transpose, BM_Bfs).
 * The *Cold variants first make the allocator give its free pages back to
 * the system (hg_alloc_trim, jemalloc's arena purge), outside the timed
 * region, so each iteration pays allocation and first touch (page faults)
 * of everything it writes; BM_BfsCold also allocates its parent and depth
 * arrays inside the timed region.  Build once with jemalloc (default) and
 * once with -DHG_WITH_JEMALLOC=OFF to compare allocators (make bench-core).
 * Note that jemalloc 5 serves requests of 8 MiB and more (its
 * oversize_threshold) from an arena that does not cache freed extents, so
 * with its defaults warm is cold for every large array; the malloc build's
 * shim keeps freed mappings for reuse (core/src/alloc.c).
 */
#include "heap_graphs.h"
#include "heapgraph.h"

#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef HG_BENCH_IGRAPH
#include <igraph.h>
#endif

namespace {

/* ---- set-up shared by the benchmarks ------------------------------------ */

/* What a search from the graph's root (and from all its roots) scans;
 * computed once per graph, outside the timed loops. */
struct SearchSize {
    uint64_t nodes = 0; /* nodes reached */
    uint64_t edges = 0; /* their out-edges */
};

struct Fixture {
    const HeapGraph *g = nullptr;
    SearchSize single, multi;
    uint32_t depth = 0;          /* levels of the single-source search */
    hg_csr rev = {};             /* reverse of g->fwd, built on first use */
    std::vector<hg_node> idom;   /* dominator tree from g->roots, on use */
    std::vector<uint32_t> sizes; /* shallow sizes by type, on first use */

    Fixture() = default;
    Fixture(const Fixture &) = delete;
    Fixture &operator=(const Fixture &) = delete;
    ~Fixture() {
        hg_csr_destroy(&rev);
    }
};

SearchSize measure_search(const hg_csr &csr, const std::vector<uint8_t> &r) {
    SearchSize s;
    for (hg_node v = 0; v < csr.n_nodes; v++) {
        if (r[v]) {
            s.nodes++;
            s.edges += csr.offsets[v + 1] - csr.offsets[v];
        }
    }
    return s;
}

/* The graph of state.range(0) nodes and its search sizes. */
Fixture &fixture(hg_node n) {
    static std::unique_ptr<Fixture> cached;
    if (cached != nullptr && cached->g->fwd.n_nodes == n) {
        return *cached;
    }
    cached.reset();
    auto f = std::make_unique<Fixture>();
    f->g = &heap_graph(n);
    const HeapGraph &g = *f->g;
    std::vector<uint8_t> reached(n);
    std::vector<hg_node> parent(n);
    std::vector<uint32_t> depth(n);
    if (hg_reach(&g.fwd, &g.root, 1, nullptr, reached.data()) != HG_OK ||
        hg_bfs(&g.fwd, &g.root, 1, nullptr, UINT32_MAX, parent.data(),
               depth.data()) != HG_OK) {
        std::abort();
    }
    f->single = measure_search(g.fwd, reached);
    for (uint32_t d : depth) {
        if (d != UINT32_MAX && d > f->depth) {
            f->depth = d;
        }
    }
    if (hg_reach(&g.fwd, g.roots.data(), g.roots.size(), nullptr,
                 reached.data()) != HG_OK) {
        std::abort();
    }
    f->multi = measure_search(g.fwd, reached);
    cached = std::move(f);
    return *cached;
}

/* Graph set-up common to all benchmarks: the graph, the thread count, and
 * counters naming the graph (constant, so they survive aggregation). */
Fixture &setup(benchmark::State &state) {
    Fixture &f = fixture((hg_node)state.range(0));
    hg_set_num_threads((int)state.range(1));
    state.counters["nodes"] = (double)f.g->fwd.n_nodes;
    state.counters["edges"] = (double)f.g->fwd.n_edges;
    return f;
}

/* Make the allocators return their free pages to the system, so the next
 * allocation faults fresh pages in (the cold case). */
void release_free_memory() {
    using mallctl_fn = int (*)(const char *, void *, size_t *, void *, size_t);
    static mallctl_fn mallctl =
        reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
    hg_alloc_trim();
    if (mallctl != nullptr) {
        /* 4096 == MALLCTL_ARENAS_ALL */
        (void)mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    }
    (void)malloc_trim(0);
}

bool failed(benchmark::State &state, hg_status st) {
    if (st == HG_OK) {
        return false;
    }
    state.SkipWithError(hg_status_str(st));
    return true;
}

void set_processed(benchmark::State &state, uint64_t items, uint64_t bytes) {
    state.SetItemsProcessed((int64_t)(state.iterations() * items));
    state.SetBytesProcessed((int64_t)(state.iterations() * bytes));
}

/* Bytes a search reads and writes: the reached rows of the CSR, and the
 * per-node output arrays (out_bytes per node, all of them initialised). */
uint64_t search_bytes(const hg_csr &csr, const SearchSize &s,
                      uint64_t out_bytes) {
    return s.nodes * sizeof(hg_edge) + s.edges * sizeof(hg_node) +
           (uint64_t)csr.n_nodes * out_bytes;
}

/* ---- core kernels ------------------------------------------------------- */

void BM_Transpose(benchmark::State &state, bool cold) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    for (auto _ : state) {
        if (cold) {
            state.PauseTiming();
            release_free_memory();
            state.ResumeTiming();
        }
        hg_csr rev = {};
        hg_status st = hg_csr_transpose(&fwd, &rev);
        benchmark::DoNotOptimize(rev.targets);
        state.PauseTiming();
        hg_csr_destroy(&rev);
        state.ResumeTiming();
        if (failed(state, st)) {
            break;
        }
    }
    set_processed(state, fwd.n_edges, 2 * hg_csr_nbytes(&fwd));
}

void BM_Bfs(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    std::vector<hg_node> parent(fwd.n_nodes);
    std::vector<uint32_t> depth(fwd.n_nodes);
    for (auto _ : state) {
        hg_status st = hg_bfs(&fwd, &f.g->root, 1, nullptr, UINT32_MAX,
                              parent.data(), depth.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    state.counters["levels"] = f.depth;
    set_processed(state, f.single.edges,
                  search_bytes(fwd, f.single, 2 * sizeof(hg_node)));
}

/* Allocation and first touch of parent and depth (and of the search's
 * queue) inside the timed region. */
void BM_BfsCold(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    size_t nbytes = (size_t)fwd.n_nodes * sizeof(hg_node);
    for (auto _ : state) {
        state.PauseTiming();
        release_free_memory();
        state.ResumeTiming();
        hg_node *parent = (hg_node *)hg_alloc(nbytes);
        uint32_t *depth = (uint32_t *)hg_alloc(nbytes);
        hg_status st = HG_ENOMEM;
        if (parent != nullptr && depth != nullptr) {
            st =
                hg_bfs(&fwd, &f.g->root, 1, nullptr, UINT32_MAX, parent, depth);
        }
        benchmark::ClobberMemory();
        state.PauseTiming();
        hg_free(parent, nbytes);
        hg_free(depth, nbytes);
        state.ResumeTiming();
        if (failed(state, st)) {
            break;
        }
    }
    set_processed(state, f.single.edges,
                  search_bytes(fwd, f.single, 2 * sizeof(hg_node)));
}

/* BM_Bfs's search by the direction-optimizing BFS, which also reads the
 * reverse graph (built once, outside the timed loop). */
void BM_BfsDirOpt(benchmark::State &state) {
    Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    if (f.rev.offsets == nullptr &&
        failed(state, hg_csr_transpose(&fwd, &f.rev))) {
        return;
    }
    std::vector<hg_node> parent(fwd.n_nodes);
    std::vector<uint32_t> depth(fwd.n_nodes);
    for (auto _ : state) {
        hg_status st = hg_bfs_diropt(&fwd, &f.rev, &f.g->root, 1, nullptr,
                                     UINT32_MAX, parent.data(), depth.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    /* same answer as hg_bfs, or the timing means nothing */
    std::vector<hg_node> parent_ref(fwd.n_nodes);
    std::vector<uint32_t> depth_ref(fwd.n_nodes);
    if (hg_bfs(&fwd, &f.g->root, 1, nullptr, UINT32_MAX, parent_ref.data(),
               depth_ref.data()) != HG_OK ||
        parent != parent_ref || depth != depth_ref) {
        state.SkipWithError("hg_bfs_diropt and hg_bfs disagree");
    }
    state.counters["levels"] = f.depth;
    set_processed(state, f.single.edges,
                  search_bytes(fwd, f.single, 2 * sizeof(hg_node)));
}

/* From every root at once: type objects, sys.modules, module dicts. */
void BM_BfsMulti(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    std::vector<hg_node> parent(fwd.n_nodes);
    std::vector<uint32_t> depth(fwd.n_nodes);
    for (auto _ : state) {
        hg_status st = hg_bfs(&fwd, f.g->roots.data(), f.g->roots.size(),
                              nullptr, UINT32_MAX, parent.data(), depth.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    state.counters["sources"] = (double)f.g->roots.size();
    set_processed(state, f.multi.edges,
                  search_bytes(fwd, f.multi, 2 * sizeof(hg_node)));
}

void BM_Reach(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    std::vector<uint8_t> reached(fwd.n_nodes);
    for (auto _ : state) {
        hg_status st = hg_reach(&fwd, f.g->roots.data(), f.g->roots.size(),
                                nullptr, reached.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    state.counters["sources"] = (double)f.g->roots.size();
    set_processed(state, f.multi.edges,
                  search_bytes(fwd, f.multi, sizeof(uint8_t)));
}

void BM_InDegree(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    std::vector<uint32_t> in_degree(fwd.n_nodes);
    for (auto _ : state) {
        hg_status st = hg_csr_in_degree(&fwd, nullptr, in_degree.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    set_processed(state, fwd.n_edges,
                  hg_csr_nbytes(&fwd) + fwd.n_nodes * sizeof(uint32_t));
}

void BM_TypeHistogram(benchmark::State &state) {
    const Fixture &f = setup(state);
    const HeapGraph &g = *f.g;
    std::vector<uint64_t> counts(g.n_types);
    for (auto _ : state) {
        hg_status st = hg_type_histogram(g.type_id.data(), g.fwd.n_nodes,
                                         nullptr, g.n_types, counts.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    set_processed(state, g.fwd.n_nodes,
                  g.fwd.n_nodes * sizeof(uint32_t) +
                      g.n_types * sizeof(uint64_t));
}

/* ---- leak analyses ------------------------------------------------------ */

/* The reverse graph, built once per size outside the timed loops. */
bool ensure_rev(benchmark::State &state, Fixture &f) {
    return f.rev.offsets != nullptr ||
           !failed(state, hg_csr_transpose(&f.g->fwd, &f.rev));
}

/* The dominator tree from every root, once per size. */
bool ensure_idom(benchmark::State &state, Fixture &f) {
    if (!f.idom.empty()) {
        return true;
    }
    if (!ensure_rev(state, f)) {
        return false;
    }
    f.idom.resize(f.g->fwd.n_nodes);
    if (failed(state, hg_domtree_build(&f.g->fwd, &f.rev, f.g->roots.data(),
                                       f.g->roots.size(), f.idom.data()))) {
        f.idom.clear();
        return false;
    }
    return true;
}

/* hg_domtree_build from every root (type objects, sys.modules, module
 * dicts) below one virtual root; the reverse graph is given (built once),
 * as a snapshot has it.  Items: nodes. */
void BM_DomTree(benchmark::State &state) {
    Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    if (!ensure_rev(state, f)) {
        return;
    }
    std::vector<hg_node> idom(fwd.n_nodes);
    for (auto _ : state) {
        hg_status st = hg_domtree_build(&fwd, &f.rev, f.g->roots.data(),
                                        f.g->roots.size(), idom.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    state.counters["reached"] = (double)f.multi.nodes;
    set_processed(state, fwd.n_nodes,
                  hg_csr_nbytes(&fwd) + hg_csr_nbytes(&f.rev) +
                      fwd.n_nodes * sizeof(hg_node));
}

/* Retained sizes from the dominator tree (built once, outside the loop);
 * shallow sizes are a function of the type, like sys.getsizeof's. */
void BM_Retained(benchmark::State &state) {
    Fixture &f = setup(state);
    const HeapGraph &g = *f.g;
    hg_node n = g.fwd.n_nodes;
    if (!ensure_idom(state, f)) {
        return;
    }
    if (f.sizes.empty()) {
        f.sizes.resize(n);
        for (hg_node v = 0; v < n; v++) {
            f.sizes[v] = 16 + 8 * (uint64_t)(g.type_id[v] % 64);
        }
    }
    std::vector<uint64_t> retained(n);
    for (auto _ : state) {
        hg_status st = hg_domtree_retained(f.idom.data(), n, f.sizes.data(),
                                           nullptr, 0, retained.data());
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    set_processed(state, n, n * (sizeof(hg_node) + 2 * sizeof(uint64_t)));
}

/* Strongly connected components of the whole graph. */
void BM_Scc(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    std::vector<hg_node> comp(fwd.n_nodes);
    hg_node n_comp = 0;
    for (auto _ : state) {
        hg_status st = hg_scc(&fwd, nullptr, comp.data(), &n_comp);
        benchmark::ClobberMemory();
        if (failed(state, st)) {
            break;
        }
    }
    state.counters["components"] = (double)n_comp;
    set_processed(state, fwd.n_nodes,
                  hg_csr_nbytes(&fwd) + fwd.n_nodes * sizeof(hg_node));
}

/* ---- the bandwidth ceiling ---------------------------------------------- */

/* memcpy of the targets array into a warm buffer, split in equal cache-line
 * aligned parts over the threads. */
void BM_Memcpy(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    int n_threads = (int)state.range(1);
    size_t nbytes = fwd.n_edges * sizeof(hg_node);
    std::vector<char> dst(nbytes);
    const char *src = reinterpret_cast<const char *>(fwd.targets);
    for (auto _ : state) {
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads)
        {
            size_t part = (nbytes / omp_get_num_threads() + 63) & ~(size_t)63;
            size_t lo = std::min(nbytes, part * omp_get_thread_num());
            size_t hi = std::min(nbytes, lo + part);
            std::memcpy(dst.data() + lo, src + lo, hi - lo);
        }
#else
        (void)n_threads;
        std::memcpy(dst.data(), src, nbytes);
#endif
        benchmark::ClobberMemory();
    }
    set_processed(state, fwd.n_edges, 2 * nbytes);
}

/* ---- igraph's C core ---------------------------------------------------- */

#ifdef HG_BENCH_IGRAPH
/* The edge list igraph_create takes: (source, target) pairs, int64. */
void igraph_edge_list(const hg_csr &csr, igraph_vector_int_t *edges) {
    if (igraph_vector_int_init(edges, 2 * (igraph_integer_t)csr.n_edges)) {
        std::abort();
    }
    igraph_integer_t *p = VECTOR(*edges);
    for (hg_node u = 0; u < csr.n_nodes; u++) {
        for (hg_edge e = csr.offsets[u]; e < csr.offsets[u + 1]; e++) {
            *p++ = u;
            *p++ = csr.targets[e];
        }
    }
}

/* igraph's indexed graph of the fixture's graph, built once per size; with
 * `roots`, one more vertex (id n_nodes) with an edge to every root: the
 * virtual root igraph_dominator_tree starts from (it takes one root). */
struct IgraphGraph {
    igraph_t g;
    hg_node n;
    bool virtual_root;
    IgraphGraph(const hg_csr &csr, const std::vector<hg_node> *roots)
        : n(csr.n_nodes), virtual_root(roots != nullptr) {
        igraph_vector_int_t edges;
        igraph_edge_list(csr, &edges);
        if (roots != nullptr) {
            for (hg_node r : *roots) {
                if (igraph_vector_int_push_back(&edges, csr.n_nodes) ||
                    igraph_vector_int_push_back(&edges, r)) {
                    std::abort();
                }
            }
        }
        if (igraph_create(&g, &edges, csr.n_nodes + (virtual_root ? 1 : 0),
                          IGRAPH_DIRECTED)) {
            std::abort();
        }
        igraph_vector_int_destroy(&edges);
    }
    ~IgraphGraph() {
        igraph_destroy(&g);
    }
    IgraphGraph(const IgraphGraph &) = delete;
    IgraphGraph &operator=(const IgraphGraph &) = delete;
};

/* One cached igraph graph at a time (10M nodes take about 1 GB). */
const igraph_t &igraph_graph(const Fixture &f, bool virtual_root = false) {
    static std::unique_ptr<IgraphGraph> cached;
    if (cached == nullptr || cached->n != f.g->fwd.n_nodes ||
        cached->virtual_root != virtual_root) {
        cached.reset();
        cached = std::make_unique<IgraphGraph>(
            f.g->fwd, virtual_root ? &f.g->roots : nullptr);
    }
    return cached->g;
}

bool ifailed(benchmark::State &state, igraph_error_t err) {
    if (err == IGRAPH_SUCCESS) {
        return false;
    }
    state.SkipWithError(igraph_strerror(err));
    return true;
}

/* igraph_create: copies the edge list and builds both the out- and the
 * in-index (two radix sorts): what our capture + transpose provide. */
void BM_IgraphCreate(benchmark::State &state) {
    const Fixture &f = setup(state);
    const hg_csr &fwd = f.g->fwd;
    igraph_vector_int_t edges;
    igraph_edge_list(fwd, &edges);
    for (auto _ : state) {
        igraph_t g;
        igraph_error_t err =
            igraph_create(&g, &edges, fwd.n_nodes, IGRAPH_DIRECTED);
        state.PauseTiming();
        if (err == IGRAPH_SUCCESS) {
            igraph_destroy(&g);
        }
        state.ResumeTiming();
        if (ifailed(state, err)) {
            break;
        }
    }
    igraph_vector_int_destroy(&edges);
    /* read the int64 pairs, write from/to/oi/ii (int64 per edge) and the
     * two int64 start indexes */
    set_processed(state, fwd.n_edges,
                  fwd.n_edges * 6 * sizeof(igraph_integer_t) +
                      2 * ((uint64_t)fwd.n_nodes + 1) *
                          sizeof(igraph_integer_t));
}

/* igraph_bfs from the same root, with the outputs BM_Bfs gives (parents,
 * distances) plus the visit order igraph fills anyway. */
void BM_IgraphBfs(benchmark::State &state) {
    const Fixture &f = setup(state);
    const igraph_t &g = igraph_graph(f);
    igraph_vector_int_t order, parents, dist;
    igraph_vector_int_init(&order, 0);
    igraph_vector_int_init(&parents, 0);
    igraph_vector_int_init(&dist, 0);
    for (auto _ : state) {
        igraph_error_t err =
            igraph_bfs(&g, f.g->root, nullptr, IGRAPH_OUT,
                       /*unreachable=*/false, nullptr, &order, nullptr,
                       &parents, nullptr, nullptr, &dist, nullptr, nullptr);
        if (ifailed(state, err)) {
            break;
        }
    }
    uint64_t reached = 0;
    for (igraph_integer_t i = 0; i < igraph_vector_int_size(&dist); i++) {
        reached += VECTOR(dist)[i] >= 0;
    }
    if (reached != f.single.nodes) {
        state.SkipWithError("igraph_bfs reached a different node count");
    }
    igraph_vector_int_destroy(&order);
    igraph_vector_int_destroy(&parents);
    igraph_vector_int_destroy(&dist);
    set_processed(
        state, f.single.edges,
        search_bytes(f.g->fwd, f.single, 3 * sizeof(igraph_integer_t)));
}

void BM_IgraphBfsSimple(benchmark::State &state) {
    const Fixture &f = setup(state);
    const igraph_t &g = igraph_graph(f);
    igraph_vector_int_t order, layers, parents;
    igraph_vector_int_init(&order, 0);
    igraph_vector_int_init(&layers, 0);
    igraph_vector_int_init(&parents, 0);
    for (auto _ : state) {
        igraph_error_t err = igraph_bfs_simple(&g, f.g->root, IGRAPH_OUT,
                                               &order, &layers, &parents);
        if (ifailed(state, err)) {
            break;
        }
    }
    if ((uint64_t)igraph_vector_int_size(&order) != f.single.nodes) {
        state.SkipWithError("igraph_bfs_simple reached a different count");
    }
    igraph_vector_int_destroy(&order);
    igraph_vector_int_destroy(&layers);
    igraph_vector_int_destroy(&parents);
    set_processed(
        state, f.single.edges,
        search_bytes(f.g->fwd, f.single, 2 * sizeof(igraph_integer_t)));
}

/* igraph_degree(IGRAPH_IN): igraph reads it off the in-index igraph_create
 * built (one subtraction per node), so this is not an edge scan like
 * BM_InDegree; it is here as the cost of the answer once the index exists. */
void BM_IgraphInDegree(benchmark::State &state) {
    const Fixture &f = setup(state);
    const igraph_t &g = igraph_graph(f);
    igraph_vector_int_t deg;
    igraph_vector_int_init(&deg, 0);
    for (auto _ : state) {
        igraph_error_t err =
            igraph_degree(&g, &deg, igraph_vss_all(), IGRAPH_IN, IGRAPH_LOOPS);
        if (ifailed(state, err)) {
            break;
        }
    }
    igraph_vector_int_destroy(&deg);
    set_processed(state, f.g->fwd.n_edges,
                  2 * ((uint64_t)f.g->fwd.n_nodes + 1) *
                      sizeof(igraph_integer_t));
}
/* igraph_dominator_tree (Lengauer-Tarjan) from the virtual root above the
 * graph's roots: BM_DomTree's question.  Below 2M nodes, the answer is
 * compared with hg_domtree_build's once, after the timed loop. */
void BM_IgraphDomTree(benchmark::State &state) {
    Fixture &f = setup(state);
    const igraph_t &g = igraph_graph(f, true);
    hg_node n = f.g->fwd.n_nodes;
    igraph_vector_int_t dom;
    igraph_vector_int_init(&dom, 0);
    for (auto _ : state) {
        igraph_error_t err =
            igraph_dominator_tree(&g, n, &dom, nullptr, nullptr, IGRAPH_OUT);
        if (ifailed(state, err)) {
            break;
        }
    }
    if (n < 2000000 && ensure_idom(state, f)) {
        /* igraph: the root's entry is -1, unreached vertices' -2 */
        hg_node differ = 0;
        for (hg_node v = 0; v < n; v++) {
            igraph_integer_t d = VECTOR(dom)[v];
            hg_node want = d == (igraph_integer_t)n ? HG_DOM_VIRTUAL
                           : d < 0                  ? HG_NONE
                                                    : (hg_node)d;
            differ += want != f.idom[v];
        }
        state.counters["idoms_differ"] = differ;
        if (differ != 0) {
            state.SkipWithError("igraph_dominator_tree and hg_domtree_build "
                                "disagree");
        }
    }
    igraph_vector_int_destroy(&dom);
    state.counters["reached"] = (double)f.multi.nodes;
    set_processed(state, n, 0);
}
#endif /* HG_BENCH_IGRAPH */

/* ---- registration ------------------------------------------------------- */

std::vector<int64_t> node_counts() {
    std::vector<int64_t> sizes;
    const char *env = std::getenv("HG_BENCH_NODES");
    std::string s = env != nullptr ? env : "1000000,10000000";
    size_t pos = 0;
    while (pos < s.size()) {
        size_t end = s.find(',', pos);
        if (end == std::string::npos) {
            end = s.size();
        }
        long long v = std::atoll(s.substr(pos, end - pos).c_str());
        if (v >= 100000 && (uint64_t)v <= HG_MAX_NODES) {
            sizes.push_back(v);
        }
        pos = end + 1;
    }
    return sizes;
}

/* 1, 2, 4, ... and the OpenMP maximum. */
std::vector<int64_t> thread_counts() {
    std::vector<int64_t> t;
    int max = hg_num_threads();
    for (int k = 1; k < max; k *= 2) {
        t.push_back(k);
    }
    t.push_back(max);
    return t;
}

template <class Fn>
benchmark::internal::Benchmark *
add(const char *name, hg_node n, const std::vector<int64_t> &threads, Fn &&fn) {
    auto *b = benchmark::RegisterBenchmark(name, fn);
    b->ArgNames({"nodes", "threads"});
    for (int64_t t : threads) {
        b->Args({(int64_t)n, t});
    }
    b->UseRealTime()->Unit(benchmark::kMillisecond);
    return b;
}

/* igraph takes seconds per call from a few million nodes up (about 6 s to
 * create and 10 s to search 10M nodes): one timed call there, so the whole
 * suite stays within minutes.  Its spread is far below its gap to ours. */
template <class Fn> void add_igraph(const char *name, hg_node n, Fn &&fn) {
    auto *b = add(name, n, {1}, fn);
    if (n >= 2000000) {
        b->Iterations(1)->Repetitions(1);
    }
}

/* Size by size, so each graph is generated once. */
void register_all() {
    std::vector<int64_t> threads = thread_counts();
    for (int64_t n64 : node_counts()) {
        hg_node n = (hg_node)n64;
        add("BM_Transpose", n, threads,
            [](benchmark::State &s) { BM_Transpose(s, false); });
        add("BM_TransposeCold", n, threads,
            [](benchmark::State &s) { BM_Transpose(s, true); });
        add("BM_Bfs", n, threads, BM_Bfs);
        add("BM_BfsCold", n, threads, BM_BfsCold);
        add("BM_BfsDirOpt", n, threads, BM_BfsDirOpt);
        add("BM_BfsMulti", n, threads, BM_BfsMulti);
        add("BM_Reach", n, threads, BM_Reach);
        add("BM_InDegree", n, threads, BM_InDegree);
        add("BM_TypeHistogram", n, threads, BM_TypeHistogram);
        add("BM_Memcpy", n, threads, BM_Memcpy);
        add("BM_DomTree", n, threads, BM_DomTree);
        add("BM_Retained", n, threads, BM_Retained);
        add("BM_Scc", n, threads, BM_Scc);
#ifdef HG_BENCH_IGRAPH
        add_igraph("BM_IgraphCreate", n, BM_IgraphCreate);
        add_igraph("BM_IgraphBfs", n, BM_IgraphBfs);
        add_igraph("BM_IgraphBfsSimple", n, BM_IgraphBfsSimple);
        add_igraph("BM_IgraphInDegree", n, BM_IgraphInDegree);
        add_igraph("BM_IgraphDomTree", n, BM_IgraphDomTree);
#endif
    }
}

} // namespace

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::AddCustomContext("hg_allocator", hg_alloc_name());
    benchmark::AddCustomContext("hg_max_threads",
                                std::to_string(hg_num_threads()));
#ifdef HG_BENCH_IGRAPH
    benchmark::AddCustomContext("igraph_version", IGRAPH_VERSION);
#endif
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
