/*
 * topk.c -- the k nodes with the largest key (the biggest retainers of a
 * heap: top_retained), most first.
 *
 * Order: key descending, then node id ascending.  Ids are distinct, so the
 * order is total and the answer unique: any split of the work gives it.
 *
 * Algorithm: a bounded binary heap of the best k entries seen, the worst
 * on top, so that a new entry is compared with the top only (O(n log k),
 * and O(n) when few entries beat the k-th).  With several threads the
 * nodes are split into contiguous chunks, each keeping its own heap of k;
 * the chunks' heaps are then offered to one heap, which is sorted.  The
 * split is used only when the chunks' heaps together take no more than
 * the nodes do (k * chunks <= n_nodes): asking for all of a big heap
 * (k == 0) stays one heap of n_nodes entries.
 *
 * Encodings: an entry is (key, node); mask[v] == 0 leaves v out.
 *
 * Memory: 16 bytes per heap entry, k entries per chunk.  Scale: 1M-50M
 * nodes, k from 10 (a report) to n_nodes (a sort of everything).
 */
#include "hg_internal.h"

#include <stdlib.h>

typedef struct entry {
    uint64_t key; /* larger first */
    hg_node v;    /* then smaller first */
} entry;

/* -1 when a ranks before b. */
static int cmp_entry(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->key != b->key) {
        return a->key > b->key ? -1 : 1;
    }
    return (a->v > b->v) - (a->v < b->v);
}

/* Sift entry i down a heap of `used` (worst on top). */
static void heap_down(entry *h, size_t used, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < used && cmp_entry(&h[l], &h[w]) > 0) {
            w = l;
        }
        if (r < used && cmp_entry(&h[r], &h[w]) > 0) {
            w = r;
        }
        if (w == i) {
            return;
        }
        entry t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void heap_up(entry *h, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (cmp_entry(&h[i], &h[p]) <= 0) {
            return;
        }
        entry t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Offer x to a heap h of the best k entries seen holding `used` entries;
 * returns the new count. */
static size_t heap_offer(entry *h, size_t used, size_t k, entry x) {
    if (used < k) {
        h[used] = x;
        heap_up(h, used);
        return used + 1;
    }
    if (cmp_entry(&x, &h[0]) < 0) {
        h[0] = x;
        heap_down(h, k, 0);
    }
    return used;
}

/* The best k of the masked nodes in [lo, hi) into h; returns the count. */
static size_t select_range(const uint64_t *key, const uint8_t *mask, hg_node lo,
                           hg_node hi, size_t k, entry *h) {
    size_t used = 0;
    for (hg_node v = lo; v < hi; v++) {
        if (mask == NULL || mask[v]) {
            entry x = {key[v], v};
            used = heap_offer(h, used, k, x);
        }
    }
    return used;
}

hg_status hg_topk(const uint64_t *key, hg_node n_nodes, const uint8_t *mask,
                  size_t k, hg_node *out, size_t *n_out) {
    int n_chunks;
    size_t hb, used = 0, *chunk_used = NULL;
    entry *h = NULL;

    if (n_out == NULL || (n_nodes > 0 && (key == NULL || out == NULL))) {
        return HG_EINVAL;
    }
    if ((uint64_t)n_nodes > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    k = k == 0 || k > n_nodes ? n_nodes : k;
    n_chunks = hg__n_chunks(n_nodes);
    if ((uint64_t)k * (uint64_t)n_chunks > n_nodes) {
        n_chunks = 1;
    }
    hb = (size_t)n_chunks * k * sizeof(entry);
    h = hg_alloc(hb);
    chunk_used = hg_alloc((size_t)n_chunks * sizeof(size_t));
    if (h == NULL || chunk_used == NULL) {
        hg_free(h, hb);
        hg_free(chunk_used, (size_t)n_chunks * sizeof(size_t));
        return HG_ENOMEM;
    }

    /* ---- each chunk's best k, in its own heap h[c * k ..) ---- */
#pragma omp parallel for schedule(static) if (n_chunks > 1)                    \
    num_threads(hg_num_threads())
    for (int c = 0; c < n_chunks; c++) {
        hg_node lo = (hg_node)hg__chunk_begin(n_nodes, c, n_chunks);
        hg_node hi = (hg_node)hg__chunk_begin(n_nodes, c + 1, n_chunks);
        chunk_used[c] = select_range(key, mask, lo, hi, k, h + (size_t)c * k);
    }

    /* ---- the chunks' heaps offered to the first, then sorted ---- */
    used = chunk_used[0];
    for (int c = 1; c < n_chunks; c++) {
        for (size_t i = 0; i < chunk_used[c]; i++) {
            used = heap_offer(h, used, k, h[(size_t)c * k + i]);
        }
    }
    qsort(h, used, sizeof(entry), cmp_entry);
    for (size_t i = 0; i < used; i++) {
        out[i] = h[i].v;
    }
    *n_out = used;
    hg_free(h, hb);
    hg_free(chunk_used, (size_t)n_chunks * sizeof(size_t));
    return HG_OK;
}
