/*
 * alloc.c -- the allocator shim every large array of the core goes through.
 *
 * Built with HG_WITH_JEMALLOC, arrays come from jemalloc's mallocx/sdallocx
 * (sized deallocation; freed extents are retained and reused, which makes
 * warm snapshots cheaper); otherwise from malloc/free.  Either way:
 *
 *   - live bytes: a process-wide atomic counter of requested bytes, so every
 *     snapshot can report what it holds and tests can check for leaks;
 *   - huge pages: first touch of fresh memory costs more than most kernels
 *     (ANCHORS.md: 0.27 GB/s), and the kernel here only gives transparent
 *     huge pages on request (THP "madvise"), so the 2 MiB-aligned interior
 *     of every allocation of HG__HUGE_MIN bytes or more is madvise()d
 *     MADV_HUGEPAGE: 512x fewer page faults.  Advice only; errors ignored;
 *   - a testing hook, hg_alloc_fail_after(n): the n-th following allocation
 *     and every later one fail (SQLite/LAGraph "brutal" tests).  Plain
 *     allocation is never called inside an OpenMP region, so the countdown
 *     is an atomic only for safety.
 */
#include "hg_internal.h"

#include <stdlib.h>

#ifdef HG_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HG__HUGE_PAGE ((uintptr_t)2 << 20)
#define HG__HUGE_MIN ((size_t)8 << 20)

static uint64_t live_bytes;      /* atomic: bytes handed out, not freed */
static long fail_countdown = -1; /* atomic: < 0 off, 0 fail, > 0 count down */

/* Consume one allocation from the fail-after countdown; nonzero = fail. */
static int should_fail(void) {
    long cur = __atomic_load_n(&fail_countdown, __ATOMIC_RELAXED);
    for (;;) {
        if (cur < 0) {
            return 0;
        }
        if (cur == 0) {
            return 1;
        }
        if (__atomic_compare_exchange_n(&fail_countdown, &cur, cur - 1, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            return 0;
        }
    }
}

static void advise_huge(void *p, size_t nbytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (nbytes >= HG__HUGE_MIN) {
        uintptr_t lo =
            ((uintptr_t)p + HG__HUGE_PAGE - 1) & ~(HG__HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)p + nbytes) & ~(HG__HUGE_PAGE - 1);
        if (hi > lo) {
            (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
        }
    }
#else
    (void)p;
    (void)nbytes;
#endif
}

static void *raw_alloc(size_t nbytes, int zero) {
#ifdef HG_WITH_JEMALLOC
    return mallocx(nbytes, zero ? MALLOCX_ZERO : 0);
#else
    return zero ? calloc(1, nbytes) : malloc(nbytes);
#endif
}

static void *shim_alloc(size_t nbytes, int zero) {
    void *p;

    if (nbytes == 0 || should_fail()) {
        return NULL;
    }
    p = raw_alloc(nbytes, zero);
    if (p == NULL) {
        return NULL;
    }
    advise_huge(p, nbytes);
    hg__atomic_fetch_add_u64(&live_bytes, nbytes);
    return p;
}

void *hg_alloc(size_t nbytes) {
    return shim_alloc(nbytes, 0);
}

void *hg_calloc(size_t nbytes) {
    return shim_alloc(nbytes, 1);
}

/* p == NULL allocates; new_nbytes == 0 frees p and returns NULL; on failure
 * p is left as it was and NULL is returned. */
void *hg_realloc(void *p, size_t old_nbytes, size_t new_nbytes) {
    void *q;

    if (p == NULL) {
        return hg_alloc(new_nbytes);
    }
    if (new_nbytes == 0) {
        hg_free(p, old_nbytes);
        return NULL;
    }
    if (should_fail()) {
        return NULL;
    }
#ifdef HG_WITH_JEMALLOC
    q = rallocx(p, new_nbytes, 0);
#else
    q = realloc(p, new_nbytes);
#endif
    if (q == NULL) {
        return NULL;
    }
    advise_huge(q, new_nbytes);
    hg__atomic_fetch_add_u64(&live_bytes, new_nbytes - old_nbytes);
    return q;
}

void hg_free(void *p, size_t nbytes) {
    if (p == NULL) {
        return;
    }
#ifdef HG_WITH_JEMALLOC
    sdallocx(p, nbytes, 0);
#else
    free(p);
#endif
    hg__atomic_fetch_add_u64(&live_bytes, (uint64_t)0 - nbytes);
}

uint64_t hg_alloc_live_bytes(void) {
    return hg__atomic_load_u64(&live_bytes);
}

const char *hg_alloc_name(void) {
#ifdef HG_WITH_JEMALLOC
    return "jemalloc";
#else
    return "malloc";
#endif
}

void hg_alloc_fail_after(long n) {
    __atomic_store_n(&fail_countdown, n < 0 ? -1 : n, __ATOMIC_RELAXED);
}
