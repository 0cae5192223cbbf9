/*
 * prefix_sum.c -- the one shared parallel prefix sum, and the column scan of
 * the chunked counting sorts built on it.
 *
 * Prefix sum: the array is cut into K blocks (K from hg__n_chunks); pass 1
 * sums each block in parallel, a serial scan over the K block sums gives each
 * block's base, pass 2 scans each block from its base in parallel.  Integer
 * sums, so the result is the same for any K.  Two reads and one write of the
 * array; no allocation (block sums live on the stack), so it cannot fail.
 *
 * Column scan (the counting sort by source in build.c): chunk k of the
 * input counted counts[k][b] items for bucket b.  Items of bucket b are laid
 * out chunk 0 first, then chunk 1, ..., so a stable sort results when each
 * chunk scatters its items in input order from
 *     offsets[b] + sum_{j < k} counts[j][b].
 * The inner sum is the value left in counts[k][b] on exit.
 */
#include "hg_internal.h"

hg_edge hg__prefix_sum(hg_edge *a, size_t n) {
    hg_edge base[HG__MAX_CHUNKS + 1];
    int n_chunks = hg__n_chunks(n);
    int k;

    if (n_chunks == 1) {
        hg_edge run = 0;
        for (size_t i = 0; i < n; i++) {
            hg_edge x = a[i];
            a[i] = run;
            run += x;
        }
        return run;
    }

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        size_t lo = hg__chunk_begin(n, k, n_chunks);
        size_t hi = hg__chunk_begin(n, k + 1, n_chunks);
        hg_edge s = 0;
        for (size_t i = lo; i < hi; i++) {
            s += a[i];
        }
        base[k + 1] = s;
    }
    base[0] = 0;
    for (k = 0; k < n_chunks; k++) {
        base[k + 1] += base[k];
    }

#pragma omp parallel for schedule(static, 1) num_threads(hg_num_threads())
    for (k = 0; k < n_chunks; k++) {
        size_t lo = hg__chunk_begin(n, k, n_chunks);
        size_t hi = hg__chunk_begin(n, k + 1, n_chunks);
        hg_edge run = base[k];
        for (size_t i = lo; i < hi; i++) {
            hg_edge x = a[i];
            a[i] = run;
            run += x;
        }
    }
    return base[n_chunks];
}

void hg__chunk_columns(uint32_t *counts, int n_chunks, size_t n,
                       hg_edge *offsets) {
    int64_t b;

#pragma omp parallel for schedule(static) num_threads(hg_num_threads())
    for (b = 0; b < (int64_t)n; b++) {
        hg_edge run = 0;
        for (int k = 0; k < n_chunks; k++) {
            uint32_t c = counts[(size_t)k * n + (size_t)b];
            counts[(size_t)k * n + (size_t)b] = (uint32_t)run;
            run += c;
        }
        offsets[b] = run;
    }
    offsets[n] = 0;
    hg__prefix_sum(offsets, n + 1);
}
