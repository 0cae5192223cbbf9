/*
 * heap_graphs.cc -- the heap-shaped graph generator (see heap_graphs.h).
 *
 * One sequential pass over the node ids emits edges (source, target) into
 * two flat arrays; a counting sort by source then gives the CSR, each
 * source's edges in emission order.  xoshiro256** from a splitmix64-expanded
 * seed, so the graph depends on (n_nodes, seed) only.  10M nodes take about
 * two seconds and 200 MB of scratch beyond the graph itself.
 *
 * Id layout (T = kTypes, M = kModules):
 *   [0, T)                 type objects; type object t is type id t
 *   T                      "sys.modules": one edge to every module dict
 *   [T+1, T+1+M)           module dicts
 *   [c0, n_tracked)        containers: dicts, tuples, lists, functions,
 *                          instances of classes, linked-list nodes, frames
 *   [n_tracked, +kSingle)  singletons: None, True, False, small ints
 *   [.., n)                other leaves: str, int, float, bytes
 * Every container and leaf has one owner edge (owner -> node); the owner of
 * a container is mostly a container allocated a few ids earlier, sometimes
 * any earlier one (so depth grows like log n), the owner of a chain node is
 * its predecessor in the chain.
 */
#include "heap_graphs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

constexpr uint32_t kTypes = 2048;
constexpr uint32_t kModules = 1024;
constexpr uint32_t kSingletons = 256;
constexpr uint32_t kFirstHeapClass = 32; /* type ids below are builtins */

/* builtin type ids */
enum : uint32_t {
    kTypeType = 0,
    kDict = 1,
    kList = 2,
    kTuple = 3,
    kFunction = 4,
    kCell = 5,
    kSet = 6,
    kFrame = 7,
    kStr = 8,
    kInt = 9,
    kFloat = 10,
    kBytes = 11,
    kNoneType = 12,
    kBool = 13,
    kListNode = kFirstHeapClass + 5, /* a user class used for linked lists */
};

constexpr double kTrackedShare = 0.64; /* containers among non-type nodes */
constexpr double kChainShare = 0.04;   /* container ids inside chains */
constexpr double kExtraMean = 1.8;     /* shared references per container */
constexpr double kFarOwner = 0.3;      /* owner is any earlier container */
constexpr double kGlobalsShare = 0.01; /* module-dict edges per node */

[[noreturn]] void die(const char *what) {
    std::fprintf(stderr, "heap_graphs: %s\n", what);
    std::abort();
}

uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* xoshiro256** (Blackman, Vigna). */
class Rng {
  public:
    explicit Rng(uint64_t seed) {
        for (uint64_t &w : s_) {
            w = splitmix64(&seed);
        }
    }
    uint64_t next() {
        uint64_t r = rotl(s_[1] * 5, 7) * 9;
        uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return r;
    }
    /* uniform in [0, n), n < 2^32 (Lemire's multiply, bias < 2^-32) */
    uint32_t below(uint64_t n) {
        return (uint32_t)(((next() >> 32) * n) >> 32);
    }
    double uniform() {
        return (double)(next() >> 11) * 0x1.0p-53;
    }
    bool chance(double p) {
        return uniform() < p;
    }
    /* geometric number of failures before a success, mean m */
    uint32_t geometric(double m) {
        double u = uniform();
        return (uint32_t)std::floor(std::log1p(-u) / std::log1p(-1 / (1 + m)));
    }

  private:
    static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
    }
    uint64_t s_[4];
};

/* Zipf's law over ranks 0..k-1 (P(r) ~ 1/(r+1)^s), by inverse CDF. */
class Zipf {
  public:
    Zipf(uint32_t k, double s) : cdf_(k) {
        double sum = 0;
        for (uint32_t r = 0; r < k; r++) {
            sum += std::pow(r + 1.0, -s);
            cdf_[r] = sum;
        }
        for (double &c : cdf_) {
            c /= sum;
        }
    }
    uint32_t draw(Rng &rng) const {
        auto it = std::upper_bound(cdf_.begin(), cdf_.end(), rng.uniform());
        return (uint32_t)std::min<size_t>(it - cdf_.begin(), cdf_.size() - 1);
    }

  private:
    std::vector<double> cdf_;
};

/* A linked list occupying container ids [start, start + len). */
struct Chain {
    hg_node start, len;
    bool frames; /* frame chain (f_back) rather than list nodes */
    bool doubly; /* each node also refers to its predecessor */
    bool ring;   /* the last node refers to the first */
};

/* Edge list under construction. */
struct Edges {
    std::vector<hg_node> src, dst;
    void add(hg_node u, hg_node v) {
        src.push_back(u);
        dst.push_back(v);
    }
};

/* Lay out chains over the containers [lo, hi): the first as long as
 * allowed, then log-uniform lengths, until kChainShare of the ids. */
std::vector<Chain> plan_chains(hg_node lo, hg_node hi, Rng &rng) {
    std::vector<Chain> chains;
    uint64_t n = hi - lo, budget = (uint64_t)(kChainShare * (double)n);
    uint64_t longest = std::max<uint64_t>(64, (uint64_t)(lo + n) / 50);
    std::vector<hg_node> lens;
    uint64_t total = 0;

    while (total < budget) {
        double u = rng.uniform();
        uint64_t len = lens.empty()
                           ? longest
                           : (uint64_t)(16.0 * std::pow((double)longest / 16.0,
                                                        u * u * u));
        len = std::min<uint64_t>(len, budget - total + 16);
        lens.push_back((hg_node)len);
        total += len;
    }
    for (size_t i = lens.size(); i > 1; i--) { /* Fisher-Yates */
        std::swap(lens[i - 1], lens[rng.below(i)]);
    }
    uint64_t gap = (n - total) / (lens.size() + 1);
    hg_node pos = lo;
    for (hg_node len : lens) {
        pos += rng.below(2 * gap + 1);
        if ((uint64_t)pos + len > hi) {
            break;
        }
        Chain c;
        c.start = pos;
        c.len = len;
        c.frames = rng.chance(0.3);
        c.doubly = !c.frames && rng.chance(0.5);
        c.ring = !c.frames && rng.chance(0.5);
        chains.push_back(c);
        pos += len;
    }
    return chains;
}

/* counting sort of the edge list by source into an adopted CSR */
void build_csr(hg_node n, Edges *e, hg_csr *out) {
    size_t m = e->src.size();
    hg_edge *off = (hg_edge *)hg_calloc(((size_t)n + 1) * sizeof(hg_edge));
    hg_node *tgt = (hg_node *)hg_alloc(m * sizeof(hg_node));
    if (off == nullptr || tgt == nullptr) {
        die("out of memory building the CSR");
    }
    for (size_t i = 0; i < m; i++) {
        off[e->src[i] + 1]++;
    }
    for (hg_node v = 0; v < n; v++) {
        off[v + 1] += off[v];
    }
    std::vector<hg_edge> cur(off, off + n);
    for (size_t i = 0; i < m; i++) {
        tgt[cur[e->src[i]]++] = e->dst[i];
    }
    std::vector<hg_node>().swap(e->src);
    std::vector<hg_node>().swap(e->dst);
    if (hg_csr_adopt(out, n, m, &off, &tgt) != HG_OK) {
        die("hg_csr_adopt rejected the generated CSR");
    }
}

} // namespace

void heap_graph_generate(hg_node n, uint64_t seed, HeapGraph *g) {
    const hg_node root = kTypes, mod0 = kTypes + 1, c0 = mod0 + kModules;
    if (n < 100000) {
        die("heap_graph_generate: need at least 100000 nodes");
    }
    const hg_node n_tracked = c0 + (hg_node)(kTrackedShare * (n - c0));
    const hg_node leaf0 = n_tracked + kSingletons;
    const hg_node n_cont = n_tracked - c0, n_leaf = n - leaf0;
    Rng rng(seed);
    Zipf class_zipf(kTypes - kFirstHeapClass, 1.2), type_zipf(kTypes, 1.0);
    Zipf module_zipf(kModules, 1.0), single_zipf(kSingletons, 1.5);
    Edges e;
    e.src.reserve((size_t)(2.6 * n));
    e.dst.reserve((size_t)(2.6 * n));

    g->n_types = kTypes;
    g->n_tracked = n_tracked;
    g->root = root;
    g->type_id.assign(n, kInt);
    g->roots.clear();

    /* Chains are planned first: only their predecessor (and, for rings, the
     * last node) may refer to a chain's inner nodes, or shortcuts would
     * flatten them; a shared reference that lands inside a chain goes to
     * its head instead (the list object everyone holds). */
    std::vector<Chain> chains = plan_chains(c0 + 16 * kModules, n_tracked, rng);
    auto unchain = [&](hg_node t) {
        auto it = std::upper_bound(
            chains.begin(), chains.end(), t,
            [](hg_node x, const Chain &c) { return x < c.start; });
        if (it != chains.begin() && t < (it - 1)->start + (it - 1)->len) {
            return (it - 1)->start;
        }
        return t;
    };
    auto any_container = [&] { return unchain(c0 + rng.below(n_cont)); };
    auto any_leaf = [&] { return leaf0 + rng.below(n_leaf); };

    /* ---- type objects: base class, defining module, a class attribute */
    for (hg_node t = 0; t < kTypes; t++) {
        g->type_id[t] = kTypeType;
        g->roots.push_back(t);
        if (t > 0) {
            e.add(t, rng.below(t));
        }
        e.add(t, mod0 + module_zipf.draw(rng));
        e.add(t, any_container());
    }

    /* ---- sys.modules and the module dicts (their globals) */
    g->type_id[root] = kDict;
    g->roots.push_back(root);
    double harmonic = 0;
    for (uint32_t i = 0; i < kModules; i++) {
        harmonic += std::pow(i + 1.0, -0.7);
    }
    for (uint32_t i = 0; i < kModules; i++) {
        hg_node m = mod0 + i;
        g->type_id[m] = kDict;
        g->roots.push_back(m);
        e.add(root, m);
        uint32_t n_globals = std::max<uint32_t>(
            4,
            (uint32_t)(kGlobalsShare * n * std::pow(i + 1.0, -0.7) / harmonic));
        for (uint32_t j = 0; j < n_globals; j++) {
            double u = rng.uniform();
            hg_node v = u < 0.4   ? any_container()
                        : u < 0.6 ? type_zipf.draw(rng)
                        : u < 0.8 ? n_tracked + single_zipf.draw(rng)
                        : u < 0.9 ? mod0 + module_zipf.draw(rng)
                                  : any_leaf();
            e.add(m, v);
        }
    }

    size_t next_chain = 0;
    const Chain *in_chain = nullptr;
    for (hg_node v = c0; v < n_tracked; v++) {
        if (in_chain != nullptr && v >= in_chain->start + in_chain->len) {
            in_chain = nullptr;
        }
        if (in_chain == nullptr && next_chain < chains.size() &&
            chains[next_chain].start == v) {
            in_chain = &chains[next_chain++];
        }
        uint32_t type;
        bool head = in_chain == nullptr || v == in_chain->start;

        /* owner edge */
        hg_node owner;
        if (!head) {
            owner = v - 1;
        } else if (v < c0 + 16 * kModules) {
            owner = mod0 + (v - c0) / 16;
        } else if (rng.chance(kFarOwner)) {
            owner = c0 + rng.below(v - c0);
        } else {
            owner = v - 1 - rng.below(std::min<hg_node>(16, v - c0));
        }
        e.add(owner, v);

        /* type, and the instance -> class edge of heap classes */
        if (in_chain != nullptr) {
            type = in_chain->frames ? kFrame : kListNode;
        } else if (rng.chance(0.55)) {
            double u = rng.uniform();
            type = u < 0.40   ? kDict
                   : u < 0.65 ? kTuple
                   : u < 0.77 ? kList
                   : u < 0.90 ? kFunction
                   : u < 0.96 ? kCell
                              : kSet;
        } else {
            type = kFirstHeapClass + class_zipf.draw(rng);
        }
        g->type_id[v] = type;
        if (type >= kFirstHeapClass) {
            e.add(v, type);
        }
        if (in_chain != nullptr && in_chain->doubly && !head) {
            e.add(v, v - 1);
        }
        if (in_chain != nullptr && in_chain->ring &&
            v == in_chain->start + in_chain->len - 1) {
            e.add(v, in_chain->start);
        }

        /* shared references: singletons, globals, classes, strings, near
         * and far containers; now and then a big list or dict */
        uint32_t k = rng.geometric(kExtraMean);
        if (rng.chance(2e-5)) {
            k += 500 + rng.below(5000);
        }
        for (uint32_t j = 0; j < k; j++) {
            double u = rng.uniform();
            hg_node t;
            if (u < 0.28) {
                t = n_tracked + single_zipf.draw(rng);
            } else if (u < 0.36) {
                t = mod0 + module_zipf.draw(rng);
            } else if (u < 0.40) {
                t = type_zipf.draw(rng);
            } else if (u < 0.62) {
                t = any_leaf();
            } else if (u < 0.80) {
                int64_t w = (int64_t)v + (int64_t)rng.below(512) - 256;
                t = unchain((hg_node)std::clamp<int64_t>(w, c0, n_tracked - 1));
            } else {
                t = any_container();
            }
            e.add(v, t);
        }
    }
    for (const Chain &c : chains) {
        g->longest_chain = std::max(g->longest_chain, c.len);
    }

    /* ---- leaves: singletons (no owner), then owned str/int/float/bytes
     * whose owner sits at the same relative position among containers */
    for (hg_node s = 0; s < kSingletons; s++) {
        g->type_id[n_tracked + s] = s == 0 ? kNoneType : s < 3 ? kBool : kInt;
    }
    for (hg_node l = leaf0; l < n; l++) {
        double u = rng.uniform();
        g->type_id[l] = u < 0.55   ? kStr
                        : u < 0.80 ? kInt
                        : u < 0.9  ? kFloat
                                   : kBytes;
        int64_t pos = (int64_t)c0 +
                      (int64_t)((double)(l - leaf0) / n_leaf * n_cont) +
                      (int64_t)rng.below(64) - 32;
        e.add((hg_node)std::clamp<int64_t>(pos, c0, n_tracked - 1), l);
    }

    build_csr(n, &e, &g->fwd);
}

const HeapGraph &heap_graph(hg_node n_nodes) {
    static std::unique_ptr<HeapGraph> cached;
    if (cached == nullptr || cached->fwd.n_nodes != n_nodes) {
        cached.reset();
        cached = std::make_unique<HeapGraph>();
        heap_graph_generate(n_nodes, 0x6f626a6772617068ULL /* "objgraph" */,
                            cached.get());
    }
    return *cached;
}
