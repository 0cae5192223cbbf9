/*
 * histogram.c -- count nodes per type (objgraph's typestats / count).
 *
 * The nodes are cut into K contiguous chunks; each chunk counts into its own
 * row of a K x n_types array and flags any out-of-range type id, then a pass
 * over types adds the rows.  Integer sums: identical for any K.  counts is
 * written only when every id was valid, so HG_EINVAL leaves it untouched.
 * Scale: one read of type_ids (and mask); K * n_types * 8 bytes of rows.
 * hg__type_sums is the one implementation, shared with hg_type_bytes
 * (type_graph.c), which sums node sizes instead of counting.
 */
#include "hg_internal.h"

hg_status hg__type_sums(const uint32_t *type_ids, const uint32_t *weights,
                        hg_node n, const uint8_t *mask, uint32_t n_types,
                        uint64_t *out) {
    hg_status st = HG_OK;
    uint64_t *rows = NULL; /* n_chunks * n_types */
    int n_chunks = hg__n_chunks(n);
    int bad = 0;
    int k;
    int64_t t;

    if ((type_ids == NULL && n > 0) || (out == NULL && n_types > 0)) {
        return HG_EINVAL;
    }
    if (n_types == 0) {
        return n > 0 ? HG_EINVAL : HG_OK;
    }
    rows = hg_calloc((size_t)n_chunks * n_types * sizeof(uint64_t));
    if (rows == NULL) {
        return HG_ENOMEM;
    }

    /* (clang-format 14 would split "reduction(| : bad)") */
    /* clang-format off */
#pragma omp parallel for schedule(static, 1) reduction(| : bad)                \
    num_threads(hg_num_threads())
    /* clang-format on */
    for (k = 0; k < n_chunks; k++) {
        uint64_t *row = rows + (size_t)k * n_types;
        hg_node lo = (hg_node)hg__chunk_begin(n, k, n_chunks);
        hg_node hi = (hg_node)hg__chunk_begin(n, k + 1, n_chunks);
        /* two loops, so that counting reads no weight */
        if (weights == NULL) {
            for (hg_node v = lo; v < hi; v++) {
                uint32_t ty = type_ids[v];
                if (ty >= n_types) {
                    bad = 1;
                } else if (mask == NULL || mask[v]) {
                    row[ty]++;
                }
            }
        } else {
            for (hg_node v = lo; v < hi; v++) {
                uint32_t ty = type_ids[v];
                if (ty >= n_types) {
                    bad = 1;
                } else if (mask == NULL || mask[v]) {
                    row[ty] += weights[v];
                }
            }
        }
    }
    if (bad) {
        st = HG_EINVAL;
        goto cleanup;
    }

#pragma omp parallel for schedule(static) if (n_types >= HG__MIN_PAR_WORK)     \
    num_threads(hg_num_threads())
    for (t = 0; t < (int64_t)n_types; t++) {
        uint64_t s = 0;
        for (int j = 0; j < n_chunks; j++) {
            s += rows[(size_t)j * n_types + (size_t)t];
        }
        out[t] = s;
    }

cleanup:
    hg_free(rows, (size_t)n_chunks * n_types * sizeof(uint64_t));
    return st;
}

hg_status hg_type_histogram(const uint32_t *type_ids, hg_node n,
                            const uint8_t *mask, uint32_t n_types,
                            uint64_t *counts) {
    return hg__type_sums(type_ids, NULL, n, mask, n_types, counts);
}
