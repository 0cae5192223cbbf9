/*
 * alloc.c -- the allocator shim every large array of the core goes through.
 *
 * Built with HG_WITH_JEMALLOC, arrays come from jemalloc's mallocx/sdallocx
 * (sized deallocation; freed extents are retained and reused, which makes
 * warm snapshots cheaper); otherwise from malloc/free.  Either way:
 *
 *   - live bytes: a process-wide atomic counter of requested bytes, so every
 *     snapshot can report what it holds and tests can check for leaks;
 *   - pages: fresh memory is populated by the kernel in one call
 *     (hg_populate: MADV_POPULATE_WRITE, Linux 5.14+), not faulted in a
 *     page at a time.  Transparent huge pages are not asked for unless
 *     OBJGRAPH_HUGE_PAGES=1 is set: with THP defrag "madvise" (Debian's
 *     default, this machine's) every advised fault compacts memory
 *     synchronously.  Measured here, the first capture of a 2M-instance
 *     heap (4M tracked objects, the process's fresh memory): prepare
 *     3.5 s with MADV_HUGEPAGE and a store per page; 1.6 s advised and
 *     populated; 1.5 s with 4 KiB pages and a store per page; 0.3 s with
 *     4 KiB pages populated.  The capture writes its arrays in order, so
 *     4 KiB pages cost it few TLB misses.  With OBJGRAPH_HUGE_PAGES=1 the
 *     2 MiB-aligned interior of every allocation of HG__HUGE_MIN bytes or
 *     more is madvise()d MADV_HUGEPAGE (advice only; errors ignored);
 *   - retained mappings (malloc builds only): blocks of HG__MAP_MIN bytes or
 *     more are mmap()ed directly and, when freed, kept in a small cache
 *     (at most HG__RETAIN_MAX bytes, each for at most HG__RETAIN_SECONDS)
 *     for the next allocation of a similar size -- what jemalloc's retained
 *     extents give the jemalloc build.  Repeated snapshots then reuse
 *     pages already faulted in instead of paying the kernel's page
 *     clearing again.  A live table maps each such block to its length,
 *     so the sized frees of the API need no header.  The memory goes back
 *     to the system by itself: a detached "trimmer" thread, started when
 *     the cache receives a block and gone when it is empty, unmaps each
 *     block HG__RETAIN_SECONDS after it was freed (jemalloc's decay, in
 *     small), so snapshots taken one after another stay warm and a
 *     service's RSS returns to where it was; hg_alloc_trim() unmaps them
 *     at once.  Fork: pthread_atfork handlers hold the lock across fork(),
 *     and the child, which has no trimmer, starts its own when needed;
 *   - zero bytes: hg_alloc(0) is a real allocation, a unique pointer that
 *     hg_free(p, 0) takes back (one byte underneath, counted as zero live
 *     bytes), so callers need no "+ 1" to tell an empty array from a
 *     failure; it can fail like any other allocation;
 *   - a testing hook, hg_alloc_fail_after(n): the n-th following allocation
 *     and every later one fail (SQLite/LAGraph "brutal" tests).  Plain
 *     allocation is never called inside an OpenMP region, so the countdown
 *     is an atomic only for safety.
 */
#define _GNU_SOURCE /* mremap */
#include "hg_internal.h"

#include <errno.h>
#include <stdlib.h>

#ifdef HG_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#if defined(__linux__)
#include <sys/mman.h>
#define HG__MAPS 1 /* retained mappings (malloc builds) */
#include <pthread.h>
#include <time.h>
#endif

#define HG__HUGE_PAGE ((uintptr_t)2 << 20)
#define HG__HUGE_MIN ((size_t)8 << 20)

static uint64_t live_bytes; /* atomic: bytes handed out, not freed */

static void advise_huge(void *p, size_t nbytes);

#if defined(HG__MAPS) && !defined(HG_WITH_JEMALLOC)
/* ---- retained mappings ---------------------------------------------------
 * live[]: blocks handed out (address, mapped length); cache[]: blocks freed
 * and kept, with the time they were freed.  Both small, scanned linearly,
 * guarded by one mutex (allocation never happens inside OpenMP regions,
 * but Python threads may allocate concurrently with the GIL released). */
#define HG__MAP_MIN ((size_t)4 << 20)
/* Enough for the transient arrays of a capture of a 10M-object heap (the
 * parallel walk's parts and the graph's own arrays, about 3 GB), so that
 * snapshots taken one after another do not fault their pages in again. */
#define HG__RETAIN_MAX ((size_t)4 << 30)
/* Long enough for back-to-back snapshots (a canary's rounds, a REPL's
 * queries), short enough that RSS is back 10 s after close(). */
#define HG__RETAIN_SECONDS 5.0
#define HG__N_LIVE 256
#define HG__N_CACHE 64

typedef struct hg__map {
    void *p;
    size_t len;
    double freed_at;
} hg__map;

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t trim_cond; /* CLOCK_MONOTONIC; signals new blocks */
static pthread_once_t trim_once = PTHREAD_ONCE_INIT;
static int trim_ready;      /* trim_cond initialised, atfork set */
static int trimmer_running; /* under maps_lock */
static hg__map live_maps[HG__N_LIVE];
static size_t n_live_maps;
static hg__map cache_maps[HG__N_CACHE];
static size_t n_cache_maps, cache_bytes;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t map_length(size_t nbytes) {
    return (nbytes + HG__HUGE_PAGE - 1) & ~(size_t)(HG__HUGE_PAGE - 1);
}

/* Drop cache entry i (lock held); its length. */
static size_t cache_drop(size_t i) {
    size_t len = cache_maps[i].len;
    (void)munmap(cache_maps[i].p, len);
    cache_bytes -= len;
    cache_maps[i] = cache_maps[--n_cache_maps];
    return len;
}

/* Unmap what is too old, then what exceeds the budget (lock held); the
 * bytes unmapped. */
static uint64_t cache_trim(size_t budget) {
    double now = now_seconds();
    uint64_t dropped = 0;
    for (size_t i = 0; i < n_cache_maps;) {
        if (now - cache_maps[i].freed_at >= HG__RETAIN_SECONDS) {
            dropped += cache_drop(i);
        } else {
            i++;
        }
    }
    while (cache_bytes > budget && n_cache_maps > 0) {
        size_t oldest = 0;
        for (size_t i = 1; i < n_cache_maps; i++) {
            if (cache_maps[i].freed_at < cache_maps[oldest].freed_at) {
                oldest = i;
            }
        }
        dropped += cache_drop(oldest);
    }
    return dropped;
}

/* ---- the trimmer ----------------------------------------------------------
 * One detached thread while the cache holds blocks: it sleeps until the
 * oldest block is due, unmaps what is due, and ends when the cache is
 * empty.  It runs no Python and takes only maps_lock. */

static void atfork_prepare(void) {
    pthread_mutex_lock(&maps_lock);
}

static void atfork_parent(void) {
    pthread_mutex_unlock(&maps_lock);
}

static void atfork_child(void) {
    trimmer_running = 0; /* the parent's trimmer did not come along */
    pthread_mutex_unlock(&maps_lock);
}

static void trim_init(void) {
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return;
    }
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
        pthread_cond_init(&trim_cond, &attr) == 0) {
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) == 0) {
            trim_ready = 1;
        } else {
            pthread_cond_destroy(&trim_cond);
        }
    }
    pthread_condattr_destroy(&attr);
}

static void *trimmer(void *unused) {
    (void)unused;
    pthread_mutex_lock(&maps_lock);
    while (n_cache_maps > 0) {
        double due = cache_maps[0].freed_at;
        struct timespec ts;
        for (size_t i = 1; i < n_cache_maps; i++) {
            due = cache_maps[i].freed_at < due ? cache_maps[i].freed_at : due;
        }
        due += HG__RETAIN_SECONDS;
        ts.tv_sec = (time_t)due;
        ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
        (void)pthread_cond_timedwait(&trim_cond, &maps_lock, &ts);
        (void)cache_trim(HG__RETAIN_MAX);
    }
    trimmer_running = 0;
    pthread_mutex_unlock(&maps_lock);
    return NULL;
}

/* A trimmer for the blocks just cached, unless one runs (lock held).  If
 * no thread can be made, the blocks wait for the next allocation, free or
 * hg_alloc_trim(). */
static void trimmer_wake(void) {
    pthread_attr_t attr;
    pthread_t t;
    if (trimmer_running || !trim_ready) {
        return;
    }
    if (pthread_attr_init(&attr) != 0) {
        return;
    }
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    (void)pthread_attr_setstacksize(&attr, (size_t)64 << 10);
    if (pthread_create(&t, &attr, trimmer, NULL) == 0) {
        trimmer_running = 1;
    }
    pthread_attr_destroy(&attr);
}

/* A mapping of at least nbytes: a cached one no more than twice as big,
 * or a fresh one.  *fresh tells whether its pages are still zero.  NULL if
 * the live table is full or mmap fails (the caller falls back to
 * malloc). */
static void *map_alloc(size_t nbytes, int *fresh) {
    size_t len = map_length(nbytes), best = (size_t)-1;
    void *p = NULL;

    (void)pthread_once(&trim_once, trim_init);
    pthread_mutex_lock(&maps_lock);
    if (n_live_maps == HG__N_LIVE) {
        goto done;
    }
    cache_trim(HG__RETAIN_MAX);
    for (size_t i = 0; i < n_cache_maps; i++) {
        size_t l = cache_maps[i].len;
        if (l >= len && l <= 2 * len &&
            (best == (size_t)-1 || l < cache_maps[best].len)) {
            best = i;
        }
    }
    if (best != (size_t)-1) {
        p = cache_maps[best].p;
        len = cache_maps[best].len;
        cache_bytes -= len;
        cache_maps[best] = cache_maps[--n_cache_maps];
        *fresh = 0;
    } else {
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
        if (p == MAP_FAILED) {
            p = NULL;
            goto done;
        }
        advise_huge(p, len);
        *fresh = 1;
    }
    live_maps[n_live_maps].p = p;
    live_maps[n_live_maps].len = len;
    n_live_maps++;
done:
    pthread_mutex_unlock(&maps_lock);
    return p;
}

/* Index of p in live_maps, or -1 (lock held). */
static long live_index(const void *p) {
    for (size_t i = 0; i < n_live_maps; i++) {
        if (live_maps[i].p == p) {
            return (long)i;
        }
    }
    return -1;
}

/* Free p if it is a mapping (into the cache); 0 if it is not one. */
static int map_free(void *p) {
    long i;
    hg__map m;

    pthread_mutex_lock(&maps_lock);
    i = live_index(p);
    if (i < 0) {
        pthread_mutex_unlock(&maps_lock);
        return 0;
    }
    m = live_maps[i];
    live_maps[i] = live_maps[--n_live_maps];
    if (n_cache_maps == HG__N_CACHE || m.len > HG__RETAIN_MAX) {
        (void)munmap(m.p, m.len);
    } else {
        m.freed_at = now_seconds();
        cache_maps[n_cache_maps++] = m;
        cache_bytes += m.len;
        (void)cache_trim(HG__RETAIN_MAX);
        trimmer_wake();
    }
    pthread_mutex_unlock(&maps_lock);
    return 1;
}

/* Grow or shrink mapping p in place or by mremap: 1 done (*q set), 0 not a
 * mapping, -1 failed (p unchanged). */
static int map_realloc(void *p, size_t nbytes, void **q) {
    long i;
    int rc = 1;
    size_t len = map_length(nbytes);

    pthread_mutex_lock(&maps_lock);
    i = live_index(p);
    if (i < 0) {
        rc = 0;
    } else if (len > live_maps[i].len) {
        void *np = mremap(p, live_maps[i].len, len, MREMAP_MAYMOVE);
        if (np == MAP_FAILED) {
            rc = -1;
        } else {
            advise_huge(np, len);
            live_maps[i].p = np;
            live_maps[i].len = len;
            *q = np;
        }
    } else {
        *q = p; /* shrinking keeps the pages for reuse */
    }
    pthread_mutex_unlock(&maps_lock);
    return rc;
}

uint64_t hg_alloc_trim(void) {
    uint64_t dropped;
    pthread_mutex_lock(&maps_lock);
    dropped = cache_trim(0);
    if (trim_ready) {
        pthread_cond_signal(&trim_cond); /* the trimmer sees it empty */
    }
    pthread_mutex_unlock(&maps_lock);
    return dropped;
}
#else
uint64_t hg_alloc_trim(void) {
    return 0;
}
#endif
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

/* OBJGRAPH_HUGE_PAGES=1 in the environment (read once). */
static int huge_pages_wanted(void) {
    static int wanted = -1; /* a benign race: every reader computes 0 or 1 */
    if (wanted < 0) {
        const char *v = getenv("OBJGRAPH_HUGE_PAGES");
        wanted = v != NULL && v[0] == '1' && v[1] == '\0';
    }
    return wanted;
}

static void advise_huge(void *p, size_t nbytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (nbytes >= HG__HUGE_MIN && huge_pages_wanted()) {
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
#ifdef HG__MAPS
    if (nbytes >= HG__MAP_MIN) {
        int fresh = 0;
        void *p = map_alloc(nbytes, &fresh);
        if (p != NULL) {
            if (zero && !fresh) {
                memset(p, 0, nbytes);
            }
            return p;
        }
    }
#endif
    return zero ? calloc(1, nbytes) : malloc(nbytes);
#endif
}

/* What the underlying allocator is asked for: a zero-byte block is one
 * byte there (malloc(0) may be NULL, mallocx(0) is undefined). */
static size_t raw_size(size_t nbytes) {
    return nbytes > 0 ? nbytes : 1;
}

static void *shim_alloc(size_t nbytes, int zero) {
    void *p;

    if (should_fail()) {
        return NULL;
    }
    p = raw_alloc(raw_size(nbytes), zero);
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

/* p == NULL allocates; new_nbytes == 0 leaves a zero-byte block (a valid
 * pointer, like hg_alloc(0)); on failure p is left as it was and NULL is
 * returned. */
void *hg_realloc(void *p, size_t old_nbytes, size_t new_nbytes) {
    void *q;

    if (p == NULL) {
        return hg_alloc(new_nbytes);
    }
    if (should_fail()) {
        return NULL;
    }
#ifdef HG_WITH_JEMALLOC
    q = rallocx(p, raw_size(new_nbytes), 0);
#else
#ifdef HG__MAPS
    switch (map_realloc(p, new_nbytes, &q)) {
    case 1:
        hg__atomic_fetch_add_u64(&live_bytes, new_nbytes - old_nbytes);
        return q;
    case -1:
        return NULL;
    default:
        break;
    }
    if (new_nbytes >= HG__MAP_MIN && new_nbytes > old_nbytes) {
        /* a malloc block growing big: move it to a mapping */
        int fresh = 0;
        q = map_alloc(new_nbytes, &fresh);
        if (q != NULL) {
            memcpy(q, p, old_nbytes);
            free(p);
            hg__atomic_fetch_add_u64(&live_bytes, new_nbytes - old_nbytes);
            return q;
        }
    }
#endif
    q = realloc(p, raw_size(new_nbytes));
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
    sdallocx(p, raw_size(nbytes), 0);
#else
#ifdef HG__MAPS
    if (!map_free(p))
#endif
    {
        free(p);
    }
#endif
    hg__atomic_fetch_add_u64(&live_bytes, (uint64_t)0 - nbytes);
}

#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

int hg_populate(void *p, size_t nbytes) {
#if defined(__linux__)
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)p + nbytes + 4095) & ~(uintptr_t)4095;
    static int unsupported; /* EINVAL once: an older kernel */
    if (nbytes == 0) {
        return 0;
    }
    if (!unsupported) {
        if (madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) == 0) {
            return 0;
        }
        if (errno == EINVAL) {
            unsupported = 1;
        }
    }
#else
    (void)p;
    (void)nbytes;
#endif
    return -1;
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
