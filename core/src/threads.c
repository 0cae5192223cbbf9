/*
 * threads.c -- how many threads the parallel regions may use: the knob,
 * fork() and thread reservation.
 *
 * Every parallel region of the engine (core/ and capture/) asks for
 * exactly hg_num_threads() threads, or runs on one thread.  That count is
 * per calling thread, because the OpenMP runtime's thread pool is: GCC's
 * libgomp keeps one pool per master thread, whose idle threads serve that
 * master's next region.  The pool's size is the last team's: a smaller
 * team ends the surplus threads, a larger one creates threads.  So with
 * one team size for every region, a master's pool is created once and
 * then neither shrinks nor grows.  Two things make the runtime dangerous
 * to a host process, and this file is where both are handled:
 *
 *   fork().  The child is a copy of the one thread that forked.  Its
 *     pool's record still lists the parent's pool threads, which do not
 *     exist in the child: the next region of more than one thread waits
 *     for them forever.  A region of one thread returns before it looks at
 *     the pool, and a thread created in the child has a pool of its own,
 *     empty.  So a pthread_atfork child handler flags the forking thread
 *     (thread-local) and hg_num_threads() is 1 on it from then on; other
 *     threads the child creates use threads as before.  (libgomp has no
 *     fork handler; LLVM's libomp re-initialises itself in the child, and
 *     serial is safe there too.)
 *
 *   No threads to be had.  When pthread_create fails (RLIMIT_NPROC, a
 *     container's pids.max, RLIMIT_AS too small for another stack) libgomp
 *     prints "Thread creation failed" and calls exit(1) -- in the middle
 *     of a capture, with reference counts still marked.  So the count is
 *     proved before it is used: want - 1 threads are created, all alive at
 *     once (the kernel frees an ended thread's room at once), each with as
 *     much address space as a runtime thread's stack reserved beside it;
 *     then they are joined, and waited for until the kernel has released
 *     them; and the count is lowered to 1 + those that could be created
 *     (1: serial).  The probe runs once per calling thread and requested
 *     count (lazily, in hg_num_threads), and at every hg_threads_reserve,
 *     which the capture calls before it marks the heap -- unless the pool
 *     still holds every thread of the team the last reserve started (their
 *     kernel ids are recorded, and tgkill(0) tells whether they live):
 *     then nothing needs creating.  hg_threads_reserve then starts a team
 *     of the proved size, so that the pool holds its threads -- and the
 *     runtime has made its team structure -- before the heap is marked;
 *     the regions that run while marked, of that same size, create and
 *     allocate nothing.
 *
 * The probe is pessimistic: it does not count the threads the pool may
 * already hold (unless they are known, as above), so it needs room for
 * want - 1 more.  Under a limit that tight the engine runs on fewer
 * threads, or serially; it never fails for lack of threads.
 *
 * What the runtime could still do: give a region fewer threads than asked
 * (dynamic adjustment, OMP_DYNAMIC; a thread limit, OMP_THREAD_LIMIT, that
 * other masters use up), which shrinks the pool, so that a later region
 * creates threads again.  The engine turns dynamic adjustment off for each
 * thread that uses it (omp_set_dynamic(0): a per-thread setting), never
 * asks for more than the thread limit, and the capture's marked regions
 * never ask for more than the one before them got.  Limits lowered after
 * a probe together with another library's regions on the same thread
 * (which resize its pool) can still make a region outside the capture
 * create threads; the next capture checks the pool again.
 *
 * Without OpenMP every count is 1 and nothing here runs.
 */
#define _GNU_SOURCE /* syscall, MAP_NORESERVE */
#include "hg_internal.h"

#ifdef _OPENMP
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Pool threads whose kernel ids a thread's state records. */
#define HG__POOL_IDS 64

/* The calling thread's state.  Zero for a thread that never asked. */
typedef struct thread_state {
    int forked;  /* this thread called fork() and this is the child */
    int want;    /* the count `granted` was probed for (0: never probed) */
    int granted; /* threads proved creatable, 1 .. want */
    /* the other threads of the last team hg_threads_reserve started, by
     * kernel id; n_pool == granted - 1 when they are all recorded and no
     * probe came since, else 0 */
    int n_pool;
    pid_t pool[HG__POOL_IDS];
} thread_state;

static _Thread_local thread_state me;

/* Address space each runtime thread's stack takes (set at load time). */
static size_t stack_bytes;
/* pthread_atfork failed: fall back to comparing process ids. */
static int no_fork_handler;
static pid_t load_pid;

/* The stack of a probe thread: it only waits, so a small one does (the
 * address space of the runtime's stack is reserved beside it).  Stacks of
 * joined threads go to the C library's cache; small ones keep it small. */
#define HG__PROBE_STACK ((size_t)64 << 10)

/* pthread_atfork child handler: runs in the child, on the thread that
 * forked -- the only thread there is. */
static void forked_child(void) {
    me.forked = 1;
}

/* libgomp's parse_stacksize: a number, optionally followed by B, K, M or
 * G (K when none); 0 when the variable is unset or invalid. */
static size_t env_stacksize(const char *name) {
    const char *s = getenv(name);
    char *end;
    unsigned long long v;
    unsigned shift = 10;

    if (s == NULL) {
        return 0;
    }
    while (isspace((unsigned char)*s)) {
        s++;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s) {
        return 0;
    }
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (*end != '\0') {
        switch (tolower((unsigned char)*end)) {
        case 'b':
            shift = 0;
            break;
        case 'k':
            break;
        case 'm':
            shift = 20;
            break;
        case 'g':
            shift = 30;
            break;
        default:
            return 0;
        }
        end++;
        while (isspace((unsigned char)*end)) {
            end++;
        }
        if (*end != '\0') {
            return 0;
        }
    }
    if (((v << shift) >> shift) != v) {
        return 0;
    }
    return (size_t)(v << shift);
}

/* At load time, as libgomp reads its environment at its own: the stack
 * size its threads get (OMP_STACKSIZE, GOMP_STACKSIZE, else the C
 * library's default) plus a guard page; and the fork handler. */
__attribute__((constructor)) static void threads_init(void) {
    size_t s = env_stacksize("OMP_STACKSIZE");
    long page = sysconf(_SC_PAGESIZE);

    if (s == 0) {
        s = env_stacksize("GOMP_STACKSIZE");
    }
    if (s == 0) {
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) == 0) {
            if (pthread_attr_getstacksize(&attr, &s) != 0) {
                s = 0;
            }
            pthread_attr_destroy(&attr);
        }
    }
    stack_bytes = s + (page > 0 ? (size_t)page : 4096);
    load_pid = getpid();
    no_fork_handler = pthread_atfork(NULL, NULL, forked_child) != 0;
}

/* Nonzero when the calling thread's OpenMP pool may be the parent's. */
static int in_forked_thread(void) {
    return me.forked || (no_fork_handler && getpid() != load_pid);
}

/* The count the user asked for: OpenMP's (OMP_NUM_THREADS,
 * hg_set_num_threads) within the thread limit. */
static int wanted(void) {
    int want = omp_get_max_threads(), limit = omp_get_thread_limit();
    want = limit < want ? limit : want;
    return want > 1 ? want : 1;
}

/* One probe thread, its kernel thread id and the address space of one
 * runtime stack. */
typedef struct probe_slot {
    pthread_t thread;
    pid_t tid;
    void *stack;
    pthread_mutex_t *gate; /* the prober holds it while it creates */
} probe_slot;

static void *probe_main(void *arg) {
    probe_slot *slot = arg;
    slot->tid = (pid_t)syscall(SYS_gettid); /* read after the join */
    /* live until every probe thread is made: the kernel frees a thread's
     * room when it ends, joined or not, and the next would take it */
    pthread_mutex_lock(slot->gate);
    pthread_mutex_unlock(slot->gate);
    return NULL;
}

/* Give up waiting for a joined probe thread to be gone after this long. */
#define HG__GONE_NS 50000000L

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Wait until the kernel has released thread tid of this process; nonzero
 * if it still exists at deadline.  pthread_join returns once the thread
 * has cleared its id, which is before the kernel releases the task: until
 * then it still counts against RLIMIT_NPROC and pids.max, and the
 * runtime's pthread_create right after the probe would fail.  The kernel
 * takes the task off both counts before the id stops naming it
 * (release_task), so tgkill(pid, tid, 0) failing with ESRCH means the
 * room is free again. */
static int still_there(pid_t pid, pid_t tid, long long deadline) {
    while (syscall(SYS_tgkill, pid, tid, 0) == 0 || errno != ESRCH) {
        if (now_ns() > deadline) {
            return 1;
        }
        sched_yield();
    }
    return 0;
}

/* 1 + the number of threads, up to want - 1, that could be created and
 * exist at once, each with a runtime stack's address space.  Everything
 * it takes is given back before it returns. */
static int probe(int want) {
    probe_slot *slot;
    pthread_attr_t attr;
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    int made = 0, lingering = 0, small_stack;

    if (want <= 1) {
        return 1;
    }
    /* plain malloc: transient, and outside the shim's failure hook */
    slot = malloc((size_t)(want - 1) * sizeof(*slot));
    if (slot == NULL || pthread_attr_init(&attr) != 0) {
        free(slot);
        return 1;
    }
    small_stack = pthread_attr_setstacksize(&attr, HG__PROBE_STACK) == 0;
    pthread_mutex_lock(&gate);
    while (made < want - 1) {
        int err;
        slot[made].stack =
            mmap(NULL, stack_bytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (slot[made].stack == MAP_FAILED) {
            break;
        }
        slot[made].tid = 0;
        slot[made].gate = &gate;
        err = pthread_create(&slot[made].thread, small_stack ? &attr : NULL,
                             probe_main, &slot[made]);
        if (err == EINVAL && small_stack) {
            /* the C library wants more room for thread-local storage */
            small_stack = 0;
            err = pthread_create(&slot[made].thread, NULL, probe_main,
                                 &slot[made]);
        }
        if (err != 0) {
            munmap(slot[made].stack, stack_bytes);
            break;
        }
        made++;
    }
    pthread_mutex_unlock(&gate);
    for (int i = 0; i < made; i++) {
        pthread_join(slot[i].thread, NULL);
        munmap(slot[i].stack, stack_bytes);
    }
    {
        pid_t pid = getpid();
        long long deadline = now_ns() + HG__GONE_NS;
        for (int i = 0; i < made; i++) {
            /* one that lingers is a thread fewer to count on */
            lingering += still_there(pid, slot[i].tid, deadline);
        }
    }
    pthread_attr_destroy(&attr);
    free(slot);
    return 1 + made - lingering;
}

/* Probe for the count asked for now, and remember it for this thread. */
static int grant(int want) {
    omp_set_dynamic(0); /* see the file header */
    me.want = want;
    me.granted = probe(want);
    me.n_pool = 0;
    return me.granted;
}

/* The team size the calling thread's pool holds the threads for, as far as
 * can be known: granted when the last reserve's team is recorded whole and
 * every one of its threads is still alive (libgomp's pool threads only end
 * when a smaller team, or another library's region, shrinks the pool),
 * else 1.  A team of that size creates no thread. */
static int pool_holds(int want) {
    pid_t pid = getpid();

    if (me.want != want || me.n_pool != me.granted - 1 || me.n_pool == 0) {
        return 1;
    }
    for (int i = 0; i < me.n_pool; i++) {
        if (syscall(SYS_tgkill, pid, me.pool[i], 0) != 0) {
            return 1;
        }
    }
    return me.granted;
}
#endif /* _OPENMP */

int hg_num_threads(void) {
#ifdef _OPENMP
    int want;

    /* inside a region (a nested call) regions run on one thread anyway,
     * and a worker thread must not probe */
    if (in_forked_thread() || omp_get_level() > 0) {
        return 1;
    }
    want = wanted();
    return want == me.want ? me.granted : grant(want);
#else
    return 1;
#endif
}

void hg_set_num_threads(int n) {
#ifdef _OPENMP
    if (n >= 1) {
        omp_set_num_threads(n);
    }
#else
    (void)n;
#endif
}

int hg_threads_reserve(void) {
#ifdef _OPENMP
    thread_state *st = &me; /* the workers' own `me` are other ones */
    int want, held, team, got = 1;

    if (in_forked_thread() || omp_get_level() > 0) {
        return 1;
    }
    /* Probe again unless the pool holds every thread already: limits may
     * have changed since the last probe.  A pool that holds more than the
     * probe can add to is used as it is. */
    want = wanted();
    held = pool_holds(want);
    team = held == want ? want : grant(want);
    if (team < held) {
        team = st->granted = held;
    }
    if (team > 1) {
#pragma omp parallel num_threads(team)
        {
            int i = omp_get_thread_num();
            if (i == 0) {
                got = omp_get_num_threads();
            } else if (i <= HG__POOL_IDS) {
                st->pool[i - 1] = (pid_t)syscall(SYS_gettid);
            }
        }
        st->granted = got; /* fewer only under a thread limit */
        st->n_pool = got - 1 <= HG__POOL_IDS ? got - 1 : 0;
    }
    return st->granted;
#else
    return 1;
#endif
}
