/*
 * build.c -- the forward CSR from raw (source id, target address) edges.
 *
 * The capturer knows its tracked objects (the sources, ids 0..n_src-1) and
 * records each referent as an address.  This file turns addresses into node
 * ids and the edge list into a CSR:
 *
 *   1. sources go into an address table (hg__addr_table, parallel bulk
 *      insert); a repeated source address is an error;
 *   2. every edge's target is looked up among the sources, in parallel
 *      (read-only table); heap edges mostly point at tracked objects;
 *   3. the remaining targets are numbered n_src, n_src+1, ... in order of
 *      first appearance by one serial pass that inserts them into the same
 *      (growing) table.  First-appearance order is inherently sequential;
 *      only edges that missed in step 2 take part;
 *   4. the new nodes' addresses are written out;
 *   5. a stable counting sort by source (per-chunk uint32 counts over
 *      contiguous edge ranges, the shared column scan / prefix sum,
 *      per-chunk cursors) keeps each source's edges in input order, for any
 *      number of chunks.
 *
 * Encodings: mapped[i] is edge i's target id, HG_NONE between steps 2 and
 * 3 for a target that is not a source.  Memory while running: the table
 * (~18 bytes per distinct address), mapped (4 bytes per edge), the outputs,
 * and K*n_src*4 bytes of cursors when K > 1 (K <= 1 + m/n_src).
 */
#include "hg_internal.h"

/* Step 5, one chunk: count into off, use off as cursors, shift back. */
static void sort_serial(const hg_raw_edge *edges, size_t m,
                        const hg_node *mapped, size_t n_nodes, hg_edge *off,
                        hg_node *tgt) {
    memset(off, 0, (n_nodes + 1) * sizeof(hg_edge));
    for (size_t i = 0; i < m; i++) {
        off[edges[i].source]++;
    }
    hg__prefix_sum(off, n_nodes + 1);
    for (size_t i = 0; i < m; i++) {
        tgt[off[edges[i].source]++] = mapped[i];
    }
    memmove(off + 1, off, n_nodes * sizeof(hg_edge));
    off[0] = 0;
}

/* Step 5, K chunks of contiguous edge ranges, cur holding K * n_src zeroed
 * counters. */
static void sort_chunked(const hg_raw_edge *edges, size_t m,
                         const hg_node *mapped, size_t n_src, size_t n_nodes,
                         int n_chunks, uint32_t *cur, hg_edge *off,
                         hg_node *tgt) {
    int k;

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        uint32_t *cnt = cur + (size_t)k * n_src;
        size_t hi = hg__chunk_begin(m, k + 1, n_chunks);
        for (size_t i = hg__chunk_begin(m, k, n_chunks); i < hi; i++) {
            cnt[edges[i].source]++;
        }
    }

    hg__chunk_columns(cur, n_chunks, n_src, off);
    for (size_t v = n_src + 1; v <= n_nodes; v++) {
        off[v] = m; /* nodes that are not sources have no out-edges */
    }

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        uint32_t *c = cur + (size_t)k * n_src;
        size_t hi = hg__chunk_begin(m, k + 1, n_chunks);
        for (size_t i = hg__chunk_begin(m, k, n_chunks); i < hi; i++) {
            hg_node s = edges[i].source;
            tgt[off[s] + c[s]++] = mapped[i];
        }
    }
}

/* Step 2: mapped[i] = the id of edge i's target if it is a source, else
 * HG_NONE, in parallel (the table is read-only here).  HG_EINVAL for a
 * source id out of range. */
static hg_status map_to_sources(const hg__addr_table *table,
                                const hg_raw_edge *edges, size_t m,
                                hg_node n_src, hg_node *mapped) {
    int bad = 0;
    int n_chunks = hg__n_chunks(m);
    int64_t j;

    (void)n_chunks; /* without OpenMP */
    /* (clang-format 14 would split "reduction(| : bad)") */
    /* clang-format off */
#pragma omp parallel for schedule(static) reduction(| : bad) if (n_chunks > 1) \
    num_threads(hg_num_threads())
    /* clang-format on */
    for (j = 0; j < (int64_t)m; j++) {
        if (j + HG__PREFETCH < (int64_t)m) {
            hg__addr_table_prefetch(table, edges[j + HG__PREFETCH].target_addr);
        }
        bad |= edges[j].source >= n_src;
        mapped[j] = hg__addr_table_find(table, edges[j].target_addr);
    }
    return bad ? HG_EINVAL : HG_OK;
}

/* Step 3: the targets left at HG_NONE numbered *n_nodes, *n_nodes + 1, ...
 * in order of first appearance (one serial pass, inserting them into the
 * table); *n_nodes grows.  HG_ERANGE past HG_MAX_NODES nodes. */
static hg_status number_the_others(hg__addr_table *table,
                                   const hg_raw_edge *edges, size_t m,
                                   hg_node *mapped, uint64_t *n_nodes) {
    for (size_t i = 0; i < m; i++) {
        hg_node got;
        hg_status st;
        if (i + HG__PREFETCH < m && mapped[i + HG__PREFETCH] == HG_NONE) {
            hg__addr_table_prefetch(table, edges[i + HG__PREFETCH].target_addr);
        }
        if (mapped[i] != HG_NONE) {
            continue;
        }
        st = hg__addr_table_insert(table, edges[i].target_addr,
                                   (hg_node)*n_nodes, &got);
        if (st != HG_OK) {
            return st;
        }
        if (got == *n_nodes) {
            if (*n_nodes >= HG_MAX_NODES) {
                return HG_ERANGE; /* this new node would be one too many */
            }
            (*n_nodes)++;
        }
        mapped[i] = got;
    }
    return HG_OK;
}

hg_status hg_graph_build(hg_node n_src, const uint64_t *src_addrs,
                         const hg_raw_edge *edges, hg_edge n_edges, hg_csr *out,
                         uint64_t **out_addrs, hg_node *out_n_nodes) {
    hg_status st = HG_OK;
    hg__addr_table table = {0};
    hg_node *mapped = NULL; /* m: target id of each edge */
    uint32_t *cur = NULL;   /* K * n_src cursors when K > 1 */
    hg_edge *off = NULL;    /* n_nodes + 1 */
    hg_node *tgt = NULL;    /* m */
    uint64_t *addrs = NULL; /* n_nodes */
    size_t m = n_edges;
    uint64_t n_nodes = n_src; /* grows in step 3 */
    uint64_t n_dup = 0;
    int n_chunks = 1;

    if (out == NULL || out_addrs == NULL || out_n_nodes == NULL ||
        (src_addrs == NULL && n_src > 0) || (edges == NULL && n_edges > 0)) {
        return HG_EINVAL;
    }
    if ((uint64_t)n_src > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    if (n_edges > SIZE_MAX / sizeof(hg_raw_edge)) {
        return HG_ENOMEM;
    }

    /* ---- 1. sources into the table ---- */
    st = hg__addr_table_init(&table, n_src);
    if (st != HG_OK) {
        goto cleanup;
    }
    hg__addr_table_insert_ids(&table, src_addrs, n_src, &n_dup);
    if (n_dup != 0) {
        st = HG_EINVAL;
        goto cleanup;
    }

    /* ---- 2. targets that are sources, in parallel ---- */
    mapped = hg_alloc(m * sizeof(hg_node));
    if (mapped == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    st = map_to_sources(&table, edges, m, n_src, mapped);
    if (st != HG_OK) {
        goto cleanup;
    }

    /* ---- 3. number the other targets by first appearance ---- */
    st = number_the_others(&table, edges, m, mapped, &n_nodes);
    if (st != HG_OK) {
        goto cleanup;
    }
    hg__addr_table_destroy(&table);

    /* ---- 4. node addresses ---- */
    addrs = hg_alloc(n_nodes * sizeof(uint64_t));
    off = hg_alloc((n_nodes + 1) * sizeof(hg_edge));
    tgt = hg_alloc(m * sizeof(hg_node));
    n_chunks = m > UINT32_MAX ? 1 : hg__n_chunks_counted(m, n_src);
    if (n_chunks > 1) {
        cur = hg_calloc((size_t)n_chunks * n_src * sizeof(uint32_t));
    }
    if (addrs == NULL || off == NULL || tgt == NULL ||
        (n_chunks > 1 && cur == NULL)) {
        st = HG_ENOMEM;
        goto cleanup;
    }
    if (n_src > 0) {
        memcpy(addrs, src_addrs, (size_t)n_src * sizeof(uint64_t));
    }
    for (size_t i = 0; i < m; i++) {
        if (mapped[i] >= n_src) {
            addrs[mapped[i]] = edges[i].target_addr;
        }
    }

    /* ---- 5. stable counting sort by source ---- */
    if (n_chunks > 1) {
        sort_chunked(edges, m, mapped, n_src, n_nodes, n_chunks, cur, off, tgt);
    } else {
        sort_serial(edges, m, mapped, n_nodes, off, tgt);
    }

    out->n_nodes = (hg_node)n_nodes;
    out->n_edges = n_edges;
    out->offsets = off;
    out->targets = tgt;
    *out_addrs = addrs;
    *out_n_nodes = (hg_node)n_nodes;
    off = NULL;
    tgt = NULL;
    addrs = NULL;

cleanup:
    hg__addr_table_destroy(&table);
    hg_free(mapped, m * sizeof(hg_node));
    hg_free(cur, (size_t)n_chunks * n_src * sizeof(uint32_t));
    hg_free(off, (n_nodes + 1) * sizeof(hg_edge));
    hg_free(tgt, m * sizeof(hg_node));
    hg_free(addrs, n_nodes * sizeof(uint64_t));
    return st;
}
