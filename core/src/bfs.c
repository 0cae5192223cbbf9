/*
 * bfs.c -- breadth-first searches: multi-source BFS with parent pointers and
 * depths (hg_bfs), reachability (hg_reach), and one FIFO-ordered level for
 * searches with a stopping test between levels (hg_bfs_step); and the
 * parents of a finished search chosen again by a key (hg_bfs_rekey_parents).
 *
 * hg_bfs is level synchronous, top-down.  The frontier of level L is a
 * segment q[lo, hi) of one queue of n entries (every node enters it at most
 * once); level L+1 is appended after it.  Encodings: dep[v] == UINT32_MAX
 * means unseen, parent[v] == HG_NONE means source or unreached.
 *
 * Determinism: a node first seen at level L+1 gets as parent the smallest
 * frontier node with an edge to it, whichever order the frontier is in:
 *   - a serial level sets parent on first sight and lowers it on later
 *     sights from the same level;
 *   - in a parallel level every frontier node u with an edge to a node v
 *     that is unseen or new at L+1 takes an atomic minimum on parent[v];
 *     the one thread that moves parent[v] off HG_NONE owns v: it sets
 *     dep[v] = L+1 and appends v (through a small thread-local buffer
 *     flushed with one fetch-add).  One locked instruction per newly seen
 *     node (plus one per smaller parent found), since locked instructions
 *     stop the overlapping of cache misses that BFS lives on.
 * So the frontier order, which a parallel level leaves unspecified, never
 * shows in the results.
 *
 * Heaps have long chains (ANCHORS.md): most levels are tiny, and a barrier
 * per level would dominate.  A level runs in parallel only when its frontier
 * has at least HG__BFS_PAR_EDGES out-edges; otherwise it is a plain loop.
 *
 * And only with HG__BFS_MIN_THREADS threads or more.  Measured on the 2-core
 * target (10M nodes, 23M edges, 1000 sources): serial 0.85 s; parallel on 2
 * threads 1.2 s; the same loop without any locked instruction (racy, so not
 * usable) 0.85 s.  Random reads do not scale past one core there, and each
 * locked instruction stops the overlap of misses, so two threads lose.
 * Results never depend on the choice.
 *
 * Blocked nodes are never entered; sources always are, and are expanded like
 * any entered node (objgraph's find_chain expands its start object even if
 * it is in extra_ignore).
 */
#include "hg_internal.h"

#include <stdlib.h> /* qsort */

#define UNSEEN UINT32_MAX

static inline hg_edge out_degree(const hg_csr *g, hg_node v) {
    return g->offsets[v + 1] - g->offsets[v];
}

static inline int is_blocked(const uint8_t *blocked, hg_node v) {
    return blocked != NULL && blocked[v];
}

/* Append buf[0..nb) to q at the shared tail. */
static void flush(hg_node *q, uint64_t *tail, const hg_node *buf, size_t nb) {
    uint64_t pos = hg__atomic_fetch_add_u64(tail, nb);
    memcpy(q + pos, buf, nb * sizeof(hg_node));
}

/* ---- hg_bfs ------------------------------------------------------------- */

/* The two top-down levels are shared with bfs_diropt.c (hg_internal.h). */
uint64_t hg__bfs_level_serial(const hg_csr *g, const uint8_t *blocked,
                              const uint64_t *seen_before, uint32_t L,
                              hg_node *q, uint64_t lo, uint64_t hi,
                              hg_node *parent, uint32_t *dep,
                              hg_edge *next_edges) {
    uint64_t tail = hi;
    hg_edge ne = 0;

    for (uint64_t i = lo; i < hi; i++) {
        hg_node u = q[i];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if ((seen_before != NULL && hg__bit_test(seen_before, v)) ||
                is_blocked(blocked, v)) {
                continue;
            }
            if (dep[v] == UNSEEN) {
                dep[v] = L + 1;
                parent[v] = u;
                q[tail++] = v;
                ne += out_degree(g, v);
            } else if (dep[v] == L + 1 && u < parent[v]) {
                parent[v] = u;
            }
        }
    }
    *next_edges = ne;
    return tail;
}

uint64_t hg__bfs_level_parallel(const hg_csr *g, const uint8_t *blocked,
                                const uint64_t *seen_before, uint32_t L,
                                hg_node *q, uint64_t lo, uint64_t hi,
                                hg_node *parent, uint32_t *dep,
                                hg_edge *next_edges) {
    uint64_t tail = hi;
    hg_edge ne = 0;

#pragma omp parallel reduction(+ : ne) num_threads(hg_num_threads())
    {
        hg_node buf[HG__BFS_BUF];
        size_t nb = 0;
        int64_t i;

#pragma omp for schedule(dynamic, 64) nowait
        for (i = (int64_t)lo; i < (int64_t)hi; i++) {
            hg_node u = q[i];
            for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
                hg_node v = g->targets[e];
                uint32_t d;
                if ((seen_before != NULL && hg__bit_test(seen_before, v)) ||
                    is_blocked(blocked, v)) {
                    continue;
                }
                d = hg__atomic_load_u32(&dep[v]);
                if (d != UNSEEN && d != L + 1) {
                    continue; /* a source or an earlier level */
                }
                /* the one thread that moves parent[v] off HG_NONE owns v */
                if (hg__atomic_min_u32(&parent[v], u) == HG_NONE) {
                    hg__atomic_store_u32(&dep[v], L + 1);
                    buf[nb++] = v;
                    ne += out_degree(g, v);
                    if (nb == HG__BFS_BUF) {
                        flush(q, &tail, buf, nb);
                        nb = 0;
                    }
                }
            }
        }
        flush(q, &tail, buf, nb);
    }
    *next_edges = ne;
    return tail;
}

hg_status hg_bfs(const hg_csr *g, const hg_node *sources, size_t n_sources,
                 const uint8_t *blocked, uint32_t max_depth, hg_node *parent,
                 uint32_t *depth) {
    hg_status st = HG_OK;
    hg_node *q = NULL;        /* n: levels, one after the other */
    uint32_t *own_dep = NULL; /* n, when the caller passes no depth */
    uint32_t *dep;
    size_t n;
    uint64_t lo = 0, hi = 0;
    hg_edge ne = 0;
    uint32_t L = 0;
    int parallel_ok = hg_num_threads() >= HG__BFS_MIN_THREADS;

    if (!hg__csr_readable(g) || (parent == NULL && g->n_nodes > 0) ||
        hg__bad_ids(sources, n_sources, g->n_nodes)) {
        return HG_EINVAL;
    }
    n = g->n_nodes;
    if (n == 0) {
        return HG_OK;
    }
    q = hg_alloc(n * sizeof(hg_node));
    if (depth == NULL) {
        own_dep = hg_alloc(n * sizeof(uint32_t));
    }
    if (q == NULL || (depth == NULL && own_dep == NULL)) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    dep = depth != NULL ? depth : own_dep;
    memset(parent, 0xff, n * sizeof(hg_node)); /* HG_NONE */
    memset(dep, 0xff, n * sizeof(uint32_t));   /* UNSEEN */

    for (size_t i = 0; i < n_sources; i++) {
        hg_node s = sources[i];
        if (dep[s] == UNSEEN) {
            dep[s] = 0;
            q[hi++] = s;
            ne += out_degree(g, s);
        }
    }

    /* ---- one level per turn; frontier q[lo, hi) is level L ---- */
    while (lo < hi && L < max_depth) {
        uint64_t tail;
        if (parallel_ok && ne >= HG__BFS_PAR_EDGES) {
            tail = hg__bfs_level_parallel(g, blocked, NULL, L, q, lo, hi,
                                          parent, dep, &ne);
        } else {
            tail = hg__bfs_level_serial(g, blocked, NULL, L, q, lo, hi, parent,
                                        dep, &ne);
        }
        lo = hi;
        hi = tail;
        L++;
    }

cleanup:
    hg_free(q, n * sizeof(hg_node));
    hg_free(own_dep, n * sizeof(uint32_t));
    return st;
}

/* ---- hg_bfs_rekey_parents ---------------------------------------------- */

/* Each node's choice reads only its own row of rev and the depths, so the
 * nodes are split over the threads with no shared writes. */
hg_status hg_bfs_rekey_parents(const hg_csr *rev, const uint32_t *depth,
                               const uint64_t *key, hg_node *parent) {
    int64_t n;
    if (!hg__csr_readable(rev) ||
        (rev->n_nodes > 0 &&
         (depth == NULL || key == NULL || parent == NULL))) {
        return HG_EINVAL;
    }
    n = (int64_t)rev->n_nodes;
#pragma omp parallel for schedule(dynamic, 4096)                               \
    num_threads(hg_num_threads()) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) {
        hg_node v = (hg_node)i, best = HG_NONE;
        uint32_t d = depth[v];
        if (d == UNSEEN || d == 0) {
            continue;
        }
        for (hg_edge e = rev->offsets[v]; e < rev->offsets[v + 1]; e++) {
            hg_node u = rev->targets[e];
            if (depth[u] == d - 1 && (best == HG_NONE || key[u] < key[best] ||
                                      (key[u] == key[best] && u < best))) {
                best = u;
            }
        }
        if (best != HG_NONE) {
            parent[v] = best;
        }
    }
    return HG_OK;
}

/* ---- hg_reach ----------------------------------------------------------- */

/* The two reach levels are shared with bfs_diropt.c (hg_internal.h). */
uint64_t hg__reach_level_serial(const hg_csr *g, const uint8_t *blocked,
                                const uint64_t *seen_before, hg_node *q,
                                uint64_t lo, uint64_t hi, uint8_t *reached,
                                hg_edge *next_edges) {
    uint64_t tail = hi;
    hg_edge ne = 0;

    for (uint64_t i = lo; i < hi; i++) {
        hg_node u = q[i];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (seen_before != NULL && hg__bit_test(seen_before, v)) {
                continue;
            }
            if (!reached[v] && !is_blocked(blocked, v)) {
                reached[v] = 1;
                q[tail++] = v;
                ne += out_degree(g, v);
            }
        }
    }
    *next_edges = ne;
    return tail;
}

uint64_t hg__reach_level_parallel(const hg_csr *g, const uint8_t *blocked,
                                  const uint64_t *seen_before, hg_node *q,
                                  uint64_t lo, uint64_t hi, uint8_t *reached,
                                  hg_edge *next_edges) {
    uint64_t tail = hi;
    hg_edge ne = 0;

#pragma omp parallel reduction(+ : ne) num_threads(hg_num_threads())
    {
        hg_node buf[HG__BFS_BUF];
        size_t nb = 0;
        int64_t i;

#pragma omp for schedule(dynamic, 64) nowait
        for (i = (int64_t)lo; i < (int64_t)hi; i++) {
            hg_node u = q[i];
            for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
                hg_node v = g->targets[e];
                if ((seen_before != NULL && hg__bit_test(seen_before, v)) ||
                    is_blocked(blocked, v) ||
                    !hg__atomic_claim_u8(&reached[v])) {
                    continue;
                }
                buf[nb++] = v;
                ne += out_degree(g, v);
                if (nb == HG__BFS_BUF) {
                    flush(q, &tail, buf, nb);
                    nb = 0;
                }
            }
        }
        flush(q, &tail, buf, nb);
    }
    *next_edges = ne;
    return tail;
}

hg_status hg_reach(const hg_csr *g, const hg_node *sources, size_t n_sources,
                   const uint8_t *blocked, uint8_t *reached) {
    hg_node *q = NULL; /* n */
    size_t n;
    uint64_t lo = 0, hi = 0;
    hg_edge ne = 0;
    int parallel_ok = hg_num_threads() >= HG__BFS_MIN_THREADS;

    if (!hg__csr_readable(g) || (reached == NULL && g->n_nodes > 0) ||
        hg__bad_ids(sources, n_sources, g->n_nodes)) {
        return HG_EINVAL;
    }
    n = g->n_nodes;
    if (n == 0) {
        return HG_OK;
    }
    q = hg_alloc(n * sizeof(hg_node));
    if (q == NULL) {
        return HG_ENOMEM;
    }
    memset(reached, 0, n);
    for (size_t i = 0; i < n_sources; i++) {
        hg_node s = sources[i];
        if (!reached[s]) {
            reached[s] = 1;
            q[hi++] = s;
            ne += out_degree(g, s);
        }
    }
    while (lo < hi) {
        uint64_t tail;
        if (parallel_ok && ne >= HG__BFS_PAR_EDGES) {
            tail = hg__reach_level_parallel(g, blocked, NULL, q, lo, hi,
                                            reached, &ne);
        } else {
            tail = hg__reach_level_serial(g, blocked, NULL, q, lo, hi, reached,
                                          &ne);
        }
        lo = hi;
        hi = tail;
    }
    hg_free(q, n * sizeof(hg_node));
    return HG_OK;
}

/* ---- hg_bfs_step -------------------------------------------------------- */

/* Sequential by design: its output order is part of the contract.  parent
 * may be NULL (then only seen and next are written). */
hg_status hg_bfs_step(const hg_csr *g, const hg_node *frontier,
                      size_t n_frontier, const uint8_t *blocked, uint8_t *seen,
                      hg_node *parent, hg_node *next, size_t *n_next) {
    size_t count = 0;

    if (!hg__csr_readable(g) || n_next == NULL ||
        ((seen == NULL || next == NULL) && g->n_nodes > 0) ||
        hg__bad_ids(frontier, n_frontier, g->n_nodes)) {
        return HG_EINVAL;
    }
    for (size_t i = 0; i < n_frontier; i++) {
        hg_node u = frontier[i];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (seen[v] || is_blocked(blocked, v)) {
                continue;
            }
            seen[v] = 1;
            if (parent != NULL) {
                parent[v] = u;
            }
            next[count++] = v;
        }
    }
    *n_next = count;
    return HG_OK;
}

/* ---- hg_bfs_step_back ---------------------------------------------------- */

typedef struct back_hit {
    hg_node r; /* a referrer, not seen, not blocked */
    hg_node t; /* the frontier node it refers to; then its position */
} back_hit;

/* hits[] of one thread's range of sources, ascending by source. */
typedef struct back_part {
    back_hit *hits;
    size_t n, cap;
    int oom;
} back_part;

static int cmp_node(const void *a, const void *b) {
    hg_node x = *(const hg_node *)a, y = *(const hg_node *)b;
    return (x > y) - (x < y);
}

/* Position of t in the frontier, from (node, position) pairs sorted by
 * node: sorted[2k] = node, sorted[2k + 1] = its position. */
static size_t frontier_pos(const hg_node *sorted, size_t n, hg_node t) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[2 * mid] < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return sorted[2 * lo + 1];
}

/* The first source whose edges start at edge e or later. */
static hg_node first_source_from(const hg_csr *g, hg_edge e) {
    size_t a = 0, b = g->n_nodes;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (g->offsets[m] < e) {
            a = m + 1;
        } else {
            b = m;
        }
    }
    return (hg_node)a;
}

/* Sources [lo, hi) whose edges reach the frontier (bit set in inF). */
static void back_scan(const hg_csr *g, const uint64_t *inF,
                      const uint8_t *blocked, const uint8_t *seen, hg_node lo,
                      hg_node hi, back_part *bp) {
    for (hg_node r = lo; r < hi && !bp->oom; r++) {
        if (seen[r] || is_blocked(blocked, r)) {
            continue;
        }
        for (hg_edge e = g->offsets[r]; e < g->offsets[r + 1]; e++) {
            hg_node t = g->targets[e];
            if (!hg__bit_test(inF, t)) {
                continue;
            }
            if (bp->n == bp->cap) {
                size_t ncap = bp->cap ? 2 * bp->cap : 256;
                back_hit *nh = hg_realloc(bp->hits, bp->cap * sizeof(back_hit),
                                          ncap * sizeof(back_hit));
                if (nh == NULL) {
                    bp->oom = 1;
                    break;
                }
                bp->hits = nh;
                bp->cap = ncap;
            }
            bp->hits[bp->n++] = (back_hit){r, t};
        }
    }
}

/* One scan of every edge finds the frontier's referrers, each thread over
 * a range of sources, so each thread's hits come ascending by source, and
 * the threads' in order of their ranges; a counting sort by frontier
 * position (stable) then gives them exactly in the order of the reverse
 * graph's rows -- frontier order, then ascending source -- and the FIFO
 * pass over them is hg_bfs_step's. */
hg_status hg_bfs_step_back(const hg_csr *g, const hg_node *frontier,
                           size_t n_frontier, const uint8_t *blocked,
                           uint8_t *seen, hg_node *parent, hg_node *next,
                           size_t *n_next) {
    size_t n, words, total = 0, count = 0;
    uint64_t *inF = NULL;
    hg_node *sorted = NULL;
    size_t *start = NULL;
    back_part *parts = NULL;
    back_hit *order = NULL;
    int team = hg_num_threads();
    hg_status st = HG_OK;

    if (!hg__csr_readable(g) || n_next == NULL ||
        ((seen == NULL || next == NULL) && g->n_nodes > 0) ||
        hg__bad_ids(frontier, n_frontier, g->n_nodes)) {
        return HG_EINVAL;
    }
    *n_next = 0;
    n = g->n_nodes;
    if (n_frontier == 0 || n == 0) {
        return HG_OK;
    }
    words = (n + 63) / 64;
    inF = hg_calloc(words * sizeof(uint64_t));
    sorted = hg_alloc(2 * n_frontier * sizeof(hg_node));
    start = hg_calloc((n_frontier + 1) * sizeof(size_t));
    parts = hg_calloc((size_t)team * sizeof(back_part));
    if (inF == NULL || sorted == NULL || start == NULL || parts == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n_frontier; i++) {
        inF[frontier[i] / 64] |= (uint64_t)1 << (frontier[i] % 64);
        sorted[2 * i] = frontier[i];
        sorted[2 * i + 1] = (hg_node)i;
    }
    qsort(sorted, n_frontier, 2 * sizeof(hg_node), cmp_node);

#pragma omp parallel num_threads(team) if (g->offsets[n] >= HG__BFS_PAR_EDGES)
    {
        int t = omp_get_thread_num(), k = omp_get_num_threads();
        /* equal shares of edges, on source boundaries */
        hg_node lo =
            t == 0
                ? 0
                : first_source_from(g, g->offsets[n] * (hg_edge)t / (hg_edge)k);
        hg_node hi =
            t == k - 1 ? (hg_node)n
                       : first_source_from(g, g->offsets[n] * (hg_edge)(t + 1) /
                                                  (hg_edge)k);
        back_scan(g, inF, blocked, seen, lo, hi, &parts[t]);
    }
    for (int t = 0; t < team; t++) {
        if (parts[t].oom) {
            st = HG_ENOMEM;
            goto cleanup;
        }
        total += parts[t].n;
    }
    order = hg_alloc(total * sizeof(back_hit));
    if (order == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    /* counting sort by frontier position, stable; each hit's t becomes
     * its frontier position (looked up once) */
    for (int t = 0; t < team; t++) {
        for (size_t i = 0; i < parts[t].n; i++) {
            back_hit *h = &parts[t].hits[i];
            h->t = (hg_node)frontier_pos(sorted, n_frontier, h->t);
            start[h->t + 1]++;
        }
    }
    for (size_t i = 0; i < n_frontier; i++) {
        start[i + 1] += start[i];
    }
    for (int t = 0; t < team; t++) {
        for (size_t i = 0; i < parts[t].n; i++) {
            back_hit h = parts[t].hits[i];
            order[start[h.t]++] = h;
        }
    }
    for (size_t i = 0; i < total; i++) {
        hg_node r = order[i].r;
        if (seen[r]) {
            continue;
        }
        seen[r] = 1;
        if (parent != NULL) {
            parent[r] = frontier[order[i].t];
        }
        next[count++] = r;
    }
    *n_next = count;
cleanup:
    if (parts != NULL) {
        for (int t = 0; t < team; t++) {
            hg_free(parts[t].hits, parts[t].cap * sizeof(back_hit));
        }
    }
    hg_free(parts, (size_t)team * sizeof(back_part));
    hg_free(order, total * sizeof(back_hit));
    hg_free(inF, words * sizeof(uint64_t));
    hg_free(sorted, 2 * n_frontier * sizeof(hg_node));
    hg_free(start, (n_frontier + 1) * sizeof(size_t));
    return st;
}
