/*
 * type_graph.c -- the heap summarised by type: shallow bytes per type and
 * references between types (objgraph.show_type_graph).
 *
 * hg_type_bytes: hg_type_histogram's pass (hg__type_sums, histogram.c)
 * summing sizes instead of counting.  hg_type_edges: one pass over the forward
 * CSR; each chunk of sources counts into its own k x k row (k = the number of
 * slots the caller maps types to, a few dozen for a drawing), rows added at the
 * end. Integer sums in fixed chunks: identical results for any thread count.
 * Scale: one read of the node table, resp. of the edge array (8M edges for
 * a 2M-object heap); K * n_types resp. K * k * k * 8 bytes of rows.
 * hg_type_bytes sums the 4-byte sizes, saturated ones as UINT32_MAX, then
 * adds the rest of the few sizes of 4 GiB or more from the overflow table.
 */
#include "hg_internal.h"

hg_status hg_type_bytes(const uint32_t *type_ids, const uint32_t *size,
                        const hg_size_overflow *over, hg_node n_over, hg_node n,
                        const uint8_t *mask, uint32_t n_types,
                        uint64_t *bytes) {
    hg_status st;

    if ((size == NULL && n > 0) ||
        hg__size_overflow_bad(size, n, over, n_over)) {
        return HG_EINVAL;
    }
    st = hg__type_sums(type_ids, size, n, mask, n_types, bytes);
    if (st != HG_OK) {
        return st;
    }
    /* each overflow node was summed as UINT32_MAX: add the rest of its size
     * (type ids are checked by now).  uint64 sums wrap modulo 2^64, so the
     * totals are exactly the sums of the true sizes. */
    for (hg_node i = 0; i < n_over; i++) {
        hg_node v = over[i].node;
        if (mask == NULL || mask[v]) {
            bytes[type_ids[v]] += over[i].size - UINT32_MAX;
        }
    }
    return HG_OK;
}

/* The slot of node v, or HG_NONE when it is masked out or its type has
 * none. */
static inline uint32_t slot_of(const uint32_t *type_ids, const uint8_t *mask,
                               const uint32_t *type_slot, hg_node v) {
    if (mask != NULL && !mask[v]) {
        return HG_NONE;
    }
    return type_slot[type_ids[v]];
}

hg_status hg_type_edges(const hg_csr *g, const uint32_t *type_ids,
                        const uint8_t *mask, uint32_t n_types,
                        const uint32_t *type_slot, uint32_t k,
                        uint64_t *counts) {
    hg_status st = HG_OK;
    uint64_t *rows = NULL; /* n_chunks * k * k */
    size_t kk = (size_t)k * k;
    hg_node n;
    int n_chunks, bad = 0;
    int c;
    int64_t i;

    if (g == NULL || (counts == NULL && k > 0) ||
        ((type_ids == NULL || type_slot == NULL) && g->n_nodes > 0)) {
        return HG_EINVAL;
    }
    n = g->n_nodes;
    for (uint32_t t = 0; t < n_types; t++) {
        if (type_slot[t] != HG_NONE && type_slot[t] >= k) {
            return HG_EINVAL;
        }
    }
    if (k == 0) {
        return HG_OK;
    }
    n_chunks = hg__n_chunks(n);
    rows = hg_calloc((size_t)n_chunks * kk * sizeof(uint64_t));
    if (rows == NULL) {
        return HG_ENOMEM;
    }

    /* (clang-format 14 would split "reduction(| : bad)") */
    /* clang-format off */
#pragma omp parallel for schedule(static, 1) reduction(| : bad)                \
    num_threads(hg_num_threads())
    /* clang-format on */
    for (c = 0; c < n_chunks; c++) {
        uint64_t *row = rows + (size_t)c * kk;
        hg_node hi = (hg_node)hg__chunk_begin(n, c + 1, n_chunks);
        for (hg_node u = (hg_node)hg__chunk_begin(n, c, n_chunks); u < hi;
             u++) {
            uint32_t su;
            if (type_ids[u] >= n_types) {
                bad = 1;
                continue;
            }
            su = slot_of(type_ids, mask, type_slot, u);
            if (su == HG_NONE) {
                continue;
            }
            for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
                hg_node v = g->targets[e];
                uint32_t sv;
                if (type_ids[v] >= n_types) {
                    bad = 1;
                    continue;
                }
                sv = slot_of(type_ids, mask, type_slot, v);
                if (sv != HG_NONE) {
                    row[(size_t)su * k + sv]++;
                }
            }
        }
    }
    if (bad) {
        st = HG_EINVAL;
        goto cleanup;
    }

#pragma omp parallel for schedule(static) if (kk >= HG__MIN_PAR_WORK)          \
    num_threads(hg_num_threads())
    for (i = 0; i < (int64_t)kk; i++) {
        uint64_t s = 0;
        for (int j = 0; j < n_chunks; j++) {
            s += rows[(size_t)j * kk + (size_t)i];
        }
        counts[i] = s;
    }

cleanup:
    hg_free(rows, (size_t)n_chunks * kk * sizeof(uint64_t));
    return st;
}
