/*
 * addr_index.c -- address -> node id hashing: the internal open-addressing
 * table (hg__addr_table, also used by build.c) and the public read-only
 * index built on it.
 *
 * Table: linear probing, keys and values in two arrays (8 + 4 bytes per
 * slot), capacity about 1.5x the keys (load <= 2/3), slot chosen by
 * "fastrange" (Lemire: (mix(key) * cap) >> 64) of a murmur3 finaliser, so
 * aligned addresses spread and cap need not be a power of two.  keys[i] == 0
 * is an empty slot; the address 0 is kept aside (has_zero, zero_val).
 *
 * Bulk build (hg__addr_table_insert_ids) is parallel: a slot is claimed by a
 * compare-and-swap on its key and the value is an atomic minimum over ids,
 * with every value preset to HG_NONE, so a repeated address keeps its
 * smallest id whatever the interleaving.  Lookups are read-only and may run
 * concurrently.  Scale: ~18 bytes per key, one or two cache misses a lookup.
 */
#include "hg_internal.h"

#define HG__MIN_CAP 16u

static inline uint64_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t home_slot(uint64_t key, uint64_t cap) {
    return (uint64_t)(((hg__u128)mix64(key) * cap) >> 64);
}

static inline uint64_t next_slot(uint64_t i, uint64_t cap) {
    return i + 1 == cap ? 0 : i + 1;
}

static uint64_t cap_for(uint64_t expected) {
    uint64_t cap = expected + expected / 2 + 1;
    return cap < HG__MIN_CAP ? HG__MIN_CAP : cap;
}

hg_status hg__addr_table_init(hg__addr_table *t, uint64_t expected) {
    uint64_t cap = cap_for(expected);

    memset(t, 0, sizeof(*t));
    t->zero_val = HG_NONE;
    if (cap > SIZE_MAX / sizeof(uint64_t)) {
        return HG_ENOMEM;
    }
    t->keys = hg_calloc(cap * sizeof(uint64_t));
    t->vals = hg_alloc(cap * sizeof(hg_node));
    if (t->keys == NULL || t->vals == NULL) {
        hg_free(t->keys, cap * sizeof(uint64_t));
        hg_free(t->vals, cap * sizeof(hg_node));
        t->keys = NULL;
        t->vals = NULL;
        return HG_ENOMEM;
    }
    memset(t->vals, 0xff, cap * sizeof(hg_node)); /* all HG_NONE */
    t->cap = cap;
    return HG_OK;
}

void hg__addr_table_destroy(hg__addr_table *t) {
    if (t == NULL) {
        return;
    }
    hg_free(t->keys, t->cap * sizeof(uint64_t));
    hg_free(t->vals, t->cap * sizeof(hg_node));
    memset(t, 0, sizeof(*t));
}

uint64_t hg__addr_table_nbytes(const hg__addr_table *t) {
    return t->cap * (sizeof(uint64_t) + sizeof(hg_node));
}

hg_node hg__addr_table_find(const hg__addr_table *t, uint64_t key) {
    uint64_t i;

    if (key == 0) {
        return t->has_zero ? t->zero_val : HG_NONE;
    }
    for (i = home_slot(key, t->cap); t->keys[i] != 0;
         i = next_slot(i, t->cap)) {
        if (t->keys[i] == key) {
            return t->vals[i];
        }
    }
    return HG_NONE;
}

/* Place key -> val in a table known to have room and not to hold key. */
static void place(hg__addr_table *t, uint64_t key, hg_node val) {
    uint64_t i = home_slot(key, t->cap);

    while (t->keys[i] != 0) {
        i = next_slot(i, t->cap);
    }
    t->keys[i] = key;
    t->vals[i] = val;
}

/* Rehash into twice the capacity; the table is unchanged on failure. */
static hg_status grow(hg__addr_table *t) {
    hg__addr_table bigger;
    hg_status st = hg__addr_table_init(&bigger, t->cap * 4 / 3 + 1);

    if (st != HG_OK) {
        return st;
    }
    for (uint64_t i = 0; i < t->cap; i++) {
        if (t->keys[i] != 0) {
            place(&bigger, t->keys[i], t->vals[i]);
        }
    }
    bigger.count = t->count;
    bigger.has_zero = t->has_zero;
    bigger.zero_val = t->zero_val;
    hg__addr_table_destroy(t);
    *t = bigger;
    return HG_OK;
}

void hg__addr_table_prefetch(const hg__addr_table *t, uint64_t key) {
    uint64_t i = home_slot(key, t->cap);

    __builtin_prefetch(&t->keys[i]);
    __builtin_prefetch(&t->vals[i]);
}

hg_status hg__addr_table_insert(hg__addr_table *t, uint64_t key, hg_node val,
                                hg_node *got) {
    uint64_t i;

    if (key == 0) {
        if (!t->has_zero) {
            t->has_zero = 1;
            t->zero_val = val;
            t->count++;
        }
        *got = t->zero_val;
        return HG_OK;
    }
    if ((t->count + 1) * 3 > t->cap * 2) {
        hg_status st = grow(t); /* before probing: slots move */
        if (st != HG_OK) {
            return st;
        }
    }
    /* one probe: stop at the key or at the empty slot it would take */
    for (i = home_slot(key, t->cap); t->keys[i] != 0;
         i = next_slot(i, t->cap)) {
        if (t->keys[i] == key) {
            *got = t->vals[i];
            return HG_OK;
        }
    }
    t->keys[i] = key;
    t->vals[i] = val;
    t->count++;
    *got = val;
    return HG_OK;
}

void hg__addr_table_insert_ids(hg__addr_table *t, const uint64_t *keys,
                               hg_node n, uint64_t *n_dup) {
    uint64_t dup = 0;
    int par = hg__n_chunks(n) > 1;
    int64_t j;

    (void)par; /* unused without OpenMP */
#pragma omp parallel for schedule(static) reduction(+ : dup) if (par)         \
    num_threads(hg_num_threads())
    for (j = 0; j < (int64_t)n; j++) {
        uint64_t key = keys[j];
        uint64_t i;

        if (j + HG__PREFETCH < (int64_t)n) {
            hg__addr_table_prefetch(t, keys[j + HG__PREFETCH]);
        }
        if (key == 0) {
            dup += __atomic_exchange_n(&t->has_zero, 1, __ATOMIC_RELAXED);
            hg__atomic_min_u32(&t->zero_val, (hg_node)j);
            continue;
        }
        for (i = home_slot(key, t->cap);; i = next_slot(i, t->cap)) {
            uint64_t cur = __atomic_load_n(&t->keys[i], __ATOMIC_RELAXED);
            if (cur == 0 && __atomic_compare_exchange_n(&t->keys[i], &cur, key,
                                                        0, __ATOMIC_RELAXED,
                                                        __ATOMIC_RELAXED)) {
                break; /* claimed an empty slot */
            }
            if (cur == key) {
                dup++;
                break;
            }
        }
        hg__atomic_min_u32(&t->vals[i], (hg_node)j);
    }
    t->count += (uint64_t)n - dup;
    *n_dup = dup;
}

/* ---- the public index ------------------------------------------------------
 * A repeated address maps to its smallest id.
 */
struct hg_addr_index {
    hg__addr_table table;
};

hg_status hg_addr_index_new(const uint64_t *addrs, hg_node n,
                            hg_addr_index **out) {
    hg_addr_index *ix = NULL;
    uint64_t n_dup;
    hg_status st;

    if (out == NULL) {
        return HG_EINVAL;
    }
    *out = NULL;
    if (addrs == NULL && n > 0) {
        return HG_EINVAL;
    }
    if ((uint64_t)n > HG_MAX_NODES) {
        return HG_ERANGE;
    }
    ix = hg_calloc(sizeof(*ix));
    if (ix == NULL) {
        return HG_ENOMEM;
    }
    st = hg__addr_table_init(&ix->table, n);
    if (st != HG_OK) {
        hg_free(ix, sizeof(*ix));
        return st;
    }
    hg__addr_table_insert_ids(&ix->table, addrs, n, &n_dup);
    *out = ix;
    return HG_OK;
}

void hg_addr_index_free(hg_addr_index *ix) {
    if (ix == NULL) {
        return;
    }
    hg__addr_table_destroy(&ix->table);
    hg_free(ix, sizeof(*ix));
}

hg_node hg_addr_index_find(const hg_addr_index *ix, uint64_t addr) {
    if (ix == NULL) {
        return HG_NONE;
    }
    return hg__addr_table_find(&ix->table, addr);
}

uint64_t hg_addr_index_nbytes(const hg_addr_index *ix) {
    if (ix == NULL) {
        return 0;
    }
    return sizeof(*ix) + hg__addr_table_nbytes(&ix->table);
}
