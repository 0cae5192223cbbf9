/*
 * immortals.c -- the walk's table of immortal objects' marks (walk.h:
 * imm_table).
 *
 * CPython 3.12 made some objects immortal (None, small ints, interned
 * strings, static types, ...): their count is fixed and never changes, and
 * CPython's own code skips writing one that looks immortal.  The walk
 * marks untracked objects in their reference counts (walk.h), so it must
 * never write an immortal object's: their marks go here, keyed by address.
 * There are few of them (thousands, the interned strings included) and
 * the walk meets each again and again (None), so the table is small, open
 * addressing with linear probing, and its slots are claimed with a
 * compare-and-swap so that the parallel walk's parts share it.
 */
#include "walk.h"

#include <string.h>

/* The fewest slots a table has. */
#define HG__IMM_MIN_SLOTS ((size_t)1 << 12)

/* See walk.h.  At most half full when the estimate holds. */
hg_status hg__imm_alloc(imm_table *t, size_t expect) {
    size_t slots = HG__IMM_MIN_SLOTS;
    unsigned bits = 12;
    memset(t, 0, sizeof(*t));
    if (expect == 0) {
        return HG_OK;
    }
    while (slots < 2 * expect) {
        slots <<= 1;
        bits++;
    }
    t->keys = hg_calloc(slots * sizeof(uint64_t));
    t->marks = hg_calloc(slots * sizeof(Py_ssize_t));
    if (t->keys == NULL || t->marks == NULL) {
        hg_free(t->keys, slots * sizeof(uint64_t));
        hg_free(t->marks, slots * sizeof(Py_ssize_t));
        memset(t, 0, sizeof(*t));
        return HG_ENOMEM;
    }
    t->mask = slots - 1;
    t->shift = 64 - bits;
    return HG_OK;
}

/* See walk.h. */
void hg__imm_free(imm_table *t) {
    if (t->keys != NULL) {
        hg_free(t->keys, (t->mask + 1) * sizeof(uint64_t));
        hg_free(t->marks, (t->mask + 1) * sizeof(Py_ssize_t));
    }
    memset(t, 0, sizeof(*t));
}

/* See walk.h.  A free key is claimed by compare-and-swap; a part that
 * loses the race to the same address finds it on its next probe. */
Py_ssize_t *hg__imm_claim(imm_table *t, PyObject *op) {
    uint64_t a = (uint64_t)(uintptr_t)op;
    if (t->keys == NULL) {
        t->full = 1;
        return NULL;
    }
    for (size_t i = hg__imm_hash(t, a), n = 0; n <= t->mask;
         i = (i + 1) & t->mask, n++) {
        uint64_t k = __atomic_load_n(&t->keys[i], __ATOMIC_RELAXED);
        if (k == 0) {
            uint64_t free_key = 0;
            if (__atomic_compare_exchange_n(&t->keys[i], &free_key, a, 0,
                                            __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
                return &t->marks[i];
            }
            k = free_key; /* another part's claim, maybe of a itself */
        }
        if (k == a) {
            return &t->marks[i];
        }
    }
    t->full = 1;
    return NULL;
}
