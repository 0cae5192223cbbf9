/*
 * fork.c -- hg_capture_fork_run: the heap captured in a copy-on-write
 * child, the program paused for one fork() only.
 *
 * Any in-process capture holds the GIL for at least one walk of the heap
 * (one tp_traverse pass: about 0.5 s at 20M tracked objects).  fork()
 * copies the page tables, not the heap: a few milliseconds per gigabyte.
 * The child is the heap as it was at the fork, frozen for free; it walks
 * it while the parent's threads run on (Redis's BGSAVE, applied to a heap
 * snapshot).
 *
 * Algorithm:
 *   parent, GIL held: wait for another thread's collection (its lists are
 *     in flux until it ends), fetch what the child's walk would fetch on
 *     first use (hg__p_child_prepare), make the shared file
 *     (memfd_create: memory, never on disk, gone with its last
 *     descriptor), fork().  The pause is this part.
 *   child: the only thread left, holding the GIL it never releases (a
 *     thread that did not survive the fork may hold the GIL's own mutex,
 *     or a lock of logging, of the import system...).  It runs no Python
 *     code and takes no lock: the portable walk, marks in its own hash
 *     table (portable.c: hg__p_child_walk), objects listed without being
 *     written where the native layout is known (gclists.c), sizes without
 *     deferred calls.  The graph goes to the shared file: a header last,
 *     so a half-written file is never taken for a result.  Then its
 *     memory is measured (/proc/self/smaps_rollup) and it ends with
 *     _exit(), running nothing at exit.
 *   parent, GIL released: waitpid() polled, the GIL taken back every
 *     HG__FORK_SIGNAL_EVERY seconds to check signals (Ctrl-C kills the
 *     child); past the timeout the child is killed.  Every path reaps the
 *     child: no zombie.
 *   parent: the arrays copied out of the file (GIL released), the file
 *     closed; then, GIL held, the type table: a type's address is the
 *     parent's own type object if it is still alive (found among the
 *     subclasses of object, its name the same), else the child's record
 *     of its name.
 *
 * Value encodings, the shared file: a header (struct fork_header; magic
 * written last), then, each 8-byte aligned: addr[n] u64, size[n] u32,
 * type[n] u32, refcnt[n] u32, flags[n] u8, offsets[n + 1] u64, targets[e]
 * u32, size overflow[n_sover] (16 bytes each), type addresses[t] u64,
 * type node flags[t] u8, then t type names (tp_name, NUL-terminated).
 *
 * Failures: the child's exit status and the header's status say why;
 * every one is a ChildProcessError in the parent, which keeps running.
 * Linux only (memfd_create, /proc).
 */
#include "portable.h"

#include <stdio.h>
#include <string.h>

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#define HG__FORK_MAGIC 0x4b524f4648474f4full /* "OGHFORK" */
#define HG__FORK_SIGNAL_EVERY 0.05

/* The child's exit codes (besides 0). */
enum {
    HG__CHILD_FAILED = 3, /* the header says why */
    HG__CHILD_NO_HEADER = 4,
};

typedef struct fork_header {
    uint64_t magic;
    int64_t status; /* 0, or how the walk failed (hg__walk_status) */
    uint64_t n_nodes, n_tracked, n_edges, n_sover, n_types, names_bytes;
    double seconds;       /* the child's wall time */
    uint64_t extra_bytes; /* memory the child added to the parent's */
    uint64_t reserved[6];
} fork_header;

/* ---- the layout --------------------------------------------------------- */

static inline uint64_t align8(uint64_t x) {
    return (x + 7) & ~(uint64_t)7;
}

/* Offsets of the sections, from the counts; [11] is the end. */
static void layout(const fork_header *h, uint64_t off[12]) {
    uint64_t n = h->n_nodes, bytes[11] = {
                                 8 * n,
                                 4 * n,
                                 4 * n,
                                 4 * n,
                                 n,
                                 8 * (n + 1),
                                 4 * h->n_edges,
                                 sizeof(hg_size_overflow) * h->n_sover,
                                 8 * h->n_types,
                                 h->n_types,
                                 h->names_bytes,
                             };
    off[0] = sizeof(fork_header);
    for (int i = 0; i < 11; i++) {
        off[i + 1] = align8(off[i] + bytes[i]);
    }
}

#ifdef __linux__

/* ---- the child ----------------------------------------------------------- */

/* Write all of [p, p + n) at off.  0, or -1 (ENOSPC, EFBIG, ENOMEM...). */
static int put(int fd, uint64_t off, const void *p, uint64_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t k =
            pwrite(fd, c, n > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)n,
                   (off_t)off);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        c += k;
        off += (uint64_t)k;
        n -= (uint64_t)k;
    }
    return 0;
}

/* The sum of the kB figures of the lines of a /proc file that start with
 * one of the keys; 0 when it cannot be read.  System calls only. */
static uint64_t proc_kb(const char *path, const char *const *keys, int nk) {
    char buf[8192];
    uint64_t sum = 0;
    ssize_t n, len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    while (len < (ssize_t)sizeof(buf) - 1 &&
           (n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        len += n;
    }
    close(fd);
    buf[len] = '\0';
    for (char *line = buf; line != NULL && *line;) {
        char *next = strchr(line, '\n');
        for (int i = 0; i < nk; i++) {
            size_t kl = strlen(keys[i]);
            if (strncmp(line, keys[i], kl) == 0) {
                sum += strtoull(line + kl, NULL, 10);
            }
        }
        line = next != NULL ? next + 1 : NULL;
    }
    return sum;
}

/* The memory the child holds that the parent does not: its private pages
 * (the pages copied on write and its own allocations; shared pages are
 * still the parent's), plus the shared file it wrote.  Without
 * smaps_rollup (Linux < 4.14): its peak resident size beyond where it
 * started. */
static uint64_t extra_memory(uint64_t rss_start_kb, uint64_t file_bytes) {
    static const char *const priv[] = {"Private_Clean:", "Private_Dirty:"};
    static const char *const hwm[] = {"VmHWM:"};
    uint64_t kb = proc_kb("/proc/self/smaps_rollup", priv, 2);
    if (kb == 0) {
        uint64_t peak = proc_kb("/proc/self/status", hwm, 1);
        kb = peak > rss_start_kb ? peak - rss_start_kb : 0;
    }
    return kb * 1024 + file_bytes;
}

/* The graph and type table into the file, header last.  0 or -1. */
static int write_result(int fd, const hg__p_child_out *r, fork_header *h) {
    const hg_graph *g = r->graph;
    uint64_t off[12], n = g->n_nodes, at;
    h->n_nodes = n;
    h->n_tracked = g->n_tracked;
    h->n_edges = g->fwd.n_edges;
    h->n_sover = g->n_size_over;
    h->n_types = r->n_types;
    h->names_bytes = 0;
    for (size_t i = 0; i < r->n_types; i++) {
        const PyTypeObject *tp =
            (const PyTypeObject *)(uintptr_t)r->type_addr[i];
        h->names_bytes += strlen(tp->tp_name) + 1;
    }
    layout(h, off);
    if (ftruncate(fd, (off_t)off[11]) < 0 ||
        put(fd, off[0], g->addr, 8 * n) < 0 ||
        put(fd, off[1], g->size, 4 * n) < 0 ||
        put(fd, off[2], g->type_id, 4 * n) < 0 ||
        put(fd, off[3], g->refcnt, 4 * n) < 0 ||
        put(fd, off[4], g->flags, n) < 0 ||
        put(fd, off[5], g->fwd.offsets, 8 * (n + 1)) < 0 ||
        put(fd, off[6], g->fwd.targets, 4 * h->n_edges) < 0 ||
        put(fd, off[7], g->size_over, sizeof(hg_size_overflow) * h->n_sover) <
            0 ||
        put(fd, off[8], r->type_addr, 8 * r->n_types) < 0 ||
        put(fd, off[9], r->type_nflags, r->n_types) < 0) {
        return -1;
    }
    at = off[10];
    for (size_t i = 0; i < r->n_types; i++) {
        const PyTypeObject *tp =
            (const PyTypeObject *)(uintptr_t)r->type_addr[i];
        size_t len = strlen(tp->tp_name) + 1;
        if (put(fd, at, tp->tp_name, len) < 0) {
            return -1;
        }
        at += len;
    }
    return 0;
}

/* The child: walk, write, measure, _exit.  Never returns. */
static void child_main(int fd, pid_t parent, const hg_capture_opts *opts,
                       const hg_capture_fork_opts *fopts) {
    static const char *const rss[] = {"VmRSS:"};
    double t0 = hg__p_now();
    uint64_t rss_start = proc_kb("/proc/self/status", rss, 1);
    hg__p_child_out r;
    fork_header h;
    int code = 0;

    /* a parent that dies takes the child with it */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(HG__CHILD_NO_HEADER);
    }
    if (fopts != NULL && fopts->child_as_limit > 0) {
        struct rlimit lim = {(rlim_t)fopts->child_as_limit,
                             (rlim_t)fopts->child_as_limit};
        (void)setrlimit(RLIMIT_AS, &lim);
    }
    if (fopts != NULL && fopts->child_sleep > 0) {
        struct timespec ts = {
            (time_t)fopts->child_sleep,
            (long)((fopts->child_sleep - (double)(time_t)fopts->child_sleep) *
                   1e9)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
    }
    memset(&h, 0, sizeof(h));
    if (hg__p_child_walk(opts->exclude, opts->nodes_only, &r) < 0) {
        h.status = r.status;
        code = HG__CHILD_FAILED;
    } else if (write_result(fd, &r, &h) < 0) {
        h.status = HG_EIO;
        code = HG__CHILD_FAILED;
    }
    h.extra_bytes = extra_memory(rss_start, 0) + r.table_bytes;
    if (code == 0) {
        uint64_t off[12];
        layout(&h, off);
        h.extra_bytes += off[11];
    }
    h.seconds = hg__p_now() - t0;
    h.magic = HG__FORK_MAGIC;
    if (put(fd, 0, &h, sizeof(h)) < 0) {
        _exit(HG__CHILD_NO_HEADER);
    }
    _exit(code);
}

/* ---- the parent: waiting ------------------------------------------------- */

static void sleep_for(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Reap pid, blocking (it has been killed, or has exited). */
static void reap(pid_t pid, int *wstatus) {
    while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR) {
    }
}

/* Wait for the child, the GIL released, checking signals with it every
 * HG__FORK_SIGNAL_EVERY seconds; kill it past timeout.  The child is
 * reaped on every path.  0 with *wstatus, 1 when it timed out (killed),
 * or -1 with the exception a signal handler raised (killed). */
static int wait_child(pid_t pid, double timeout, int *wstatus) {
    double start = hg__p_now(), step = 50e-6;
    for (;;) {
        pid_t got;
        double checked;
        Py_BEGIN_ALLOW_THREADS
            checked = hg__p_now();
            for (;;) {
                got = waitpid(pid, wstatus, WNOHANG);
                if (got != 0 && !(got < 0 && errno == EINTR)) {
                    break;
                }
                if (hg__p_now() - start > timeout ||
                    hg__p_now() - checked > HG__FORK_SIGNAL_EVERY) {
                    break;
                }
                sleep_for(step);
                step = step < 5e-3 ? step * 2 : 5e-3;
            }
        Py_END_ALLOW_THREADS
        if (got == pid || got < 0) {
            return 0; /* got < 0: not our child any more (cannot be) */
        }
        if (hg__p_now() - start > timeout) {
            kill(pid, SIGKILL);
            reap(pid, wstatus);
            return 1;
        }
        if (PyErr_CheckSignals() < 0) {
            kill(pid, SIGKILL);
            reap(pid, wstatus);
            return -1;
        }
    }
}

/* ---- the parent: the result ---------------------------------------------- */

/* {address: type} of every live class: object and its subclasses, through
 * type.__subclasses__ (C; a metaclass's own __subclasses__ is not
 * called).  A new dict, or NULL with an exception. */
static PyObject *live_types(void) {
    PyObject *sub = NULL, *found = NULL, *todo = NULL;
    sub = PyObject_GetAttrString((PyObject *)&PyType_Type, "__subclasses__");
    found = PyDict_New();
    todo = PyList_New(0);
    if (sub == NULL || found == NULL || todo == NULL ||
        PyList_Append(todo, (PyObject *)&PyBaseObject_Type) < 0) {
        goto error;
    }
    while (PyList_GET_SIZE(todo) > 0) {
        Py_ssize_t last = PyList_GET_SIZE(todo) - 1;
        PyObject *tp = PyList_GET_ITEM(todo, last), *key, *subs;
        Py_INCREF(tp);
        if (PyList_SetSlice(todo, last, last + 1, NULL) < 0) {
            Py_DECREF(tp);
            goto error;
        }
        key = PyLong_FromUnsignedLongLong((uint64_t)(uintptr_t)tp);
        if (key == NULL) {
            Py_DECREF(tp);
            goto error;
        }
        if (PyDict_Contains(found, key)) {
            Py_DECREF(key);
            Py_DECREF(tp);
            continue;
        }
        subs = PyDict_SetItem(found, key, tp) < 0
                   ? NULL
                   : PyObject_CallOneArg(sub, tp);
        Py_DECREF(key);
        Py_DECREF(tp);
        if (subs == NULL) {
            goto error;
        }
        if (!PyList_Check(subs)) {
            Py_DECREF(subs);
            continue;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(subs); i++) {
            if (PyList_Append(todo, PyList_GET_ITEM(subs, i)) < 0) {
                Py_DECREF(subs);
                goto error;
            }
        }
        Py_DECREF(subs);
    }
    Py_DECREF(sub);
    Py_DECREF(todo);
    return found;
error:
    Py_XDECREF(sub);
    Py_XDECREF(found);
    Py_XDECREF(todo);
    return NULL;
}

/* Type i of the result for a class that died since the fork (or whose
 * address now holds another class): the name the child read.  0 or -1. */
static int dead_type(hg_capture *out, size_t i, uint64_t addr, uint8_t nflags,
                     const char *name) {
    const char *dot = strrchr(name, '.');
    PyObject *s = PyUnicode_DecodeUTF8(
        dot != NULL ? dot + 1 : name,
        (Py_ssize_t)strlen(dot != NULL ? dot + 1 : name), "replace");
    PyObject *l =
        PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "replace");
    if (s == NULL || l == NULL) {
        Py_XDECREF(s);
        Py_XDECREF(l);
        return -1;
    }
    out->type_addr[i] = addr;
    out->type_flags[i] = (nflags & HG_NODE_HAS_DEL) ? HG_TYPE_HAS_DEL : 0;
    PyList_SET_ITEM(out->short_names, (Py_ssize_t)i, s);
    PyList_SET_ITEM(out->long_names, (Py_ssize_t)i, l);
    return 0;
}

/* The type table from the file's, GIL held.  0 or -1. */
static int build_types(hg_capture *out, const fork_header *h,
                       const uint64_t *taddr, const uint8_t *tfl,
                       const char *names, const char *end) {
    PyObject *live = live_types();
    int rc = -1;
    if (live == NULL || hg__result_types_begin(out, h->n_types) < 0) {
        goto cleanup;
    }
    for (size_t i = 0; i < h->n_types; i++) {
        const char *name = names;
        PyObject *key, *tp; /* tp borrowed from live */
        size_t len = strnlen(names, (size_t)(end - names));
        if (names + len >= end) {
            PyErr_SetString(PyExc_ChildProcessError,
                            "heap snapshot (fork): the child's type names "
                            "are truncated");
            goto cleanup;
        }
        names += len + 1;
        key = PyLong_FromUnsignedLongLong(taddr[i]);
        if (key == NULL) {
            goto cleanup;
        }
        tp = PyDict_GetItemWithError(live, key);
        Py_DECREF(key);
        if (tp == NULL && PyErr_Occurred()) {
            goto cleanup;
        }
        if (tp != NULL && strcmp(((PyTypeObject *)tp)->tp_name, name) == 0
                ? hg__result_type_set(out, i, (PyTypeObject *)tp, tfl[i]) < 0
                : dead_type(out, i, taddr[i], tfl[i], name) < 0) {
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    Py_XDECREF(live);
    return rc;
}

/* Copy section [off, off + n) of the file into a new hg_alloc'd array. */
static void *copy_out(const char *base, uint64_t off, uint64_t n) {
    void *p = hg_alloc(n);
    if (p != NULL && n > 0) {
        memcpy(p, base + off, n);
    }
    return p;
}

/* The graph from the mapped file, GIL released.  HG_OK, HG_ENOMEM or
 * HG_EFORMAT (sizes that do not add up). */
static hg_status read_graph(const char *base, uint64_t size,
                            const fork_header *h, hg_graph **out) {
    uint64_t off[12], n = h->n_nodes;
    hg_graph *g = NULL;
    hg_edge *offsets = NULL;
    hg_node *targets = NULL;
    hg_status st;

    layout(h, off);
    if (off[11] > size || n > HG_MAX_NODES || h->n_tracked > n) {
        return HG_EFORMAT;
    }
    if ((st = hg_graph_new(0, &g)) != HG_OK) {
        return st;
    }
    g->addr = copy_out(base, off[0], 8 * n);
    g->size = copy_out(base, off[1], 4 * n);
    g->type_id = copy_out(base, off[2], 4 * n);
    g->refcnt = copy_out(base, off[3], 4 * n);
    g->flags = copy_out(base, off[4], n);
    offsets = copy_out(base, off[5], 8 * (n + 1));
    targets = copy_out(base, off[6], 4 * h->n_edges);
    g->size_over =
        h->n_sover > 0
            ? copy_out(base, off[7], sizeof(hg_size_overflow) * h->n_sover)
            : NULL;
    g->n_nodes = (hg_node)n;
    g->n_tracked = (hg_node)h->n_tracked;
    g->n_types = (uint32_t)h->n_types;
    g->n_size_over = (hg_node)h->n_sover;
    if (g->addr == NULL || g->size == NULL || g->type_id == NULL ||
        g->refcnt == NULL || g->flags == NULL || offsets == NULL ||
        targets == NULL || (h->n_sover > 0 && g->size_over == NULL)) {
        st = HG_ENOMEM;
        goto fail;
    }
    st = hg_csr_adopt_unchecked(&g->fwd, (hg_node)n, h->n_edges, &offsets,
                                &targets);
    if (st != HG_OK) {
        goto fail;
    }
    *out = g;
    return HG_OK;
fail:
    hg_free(offsets, 8 * (n + 1));
    hg_free(targets, 4 * h->n_edges);
    hg_graph_free(g);
    return st;
}

/* Why the child failed, as a ChildProcessError. */
static void child_error(int wstatus, int timed_out, double timeout,
                        const fork_header *h) {
    if (timed_out) {
        char text[160];
        snprintf(text, sizeof(text),
                 "heap snapshot (fork): the capture child took more than "
                 "fork_timeout=%g seconds and was killed",
                 timeout);
        PyErr_SetString(PyExc_ChildProcessError, text);
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        PyErr_Format(PyExc_ChildProcessError,
                     "heap snapshot (fork): the capture child was killed by "
                     "signal %d (%s)%s",
                     sig, strsignal(sig),
                     sig == SIGKILL ? ": by another process or the kernel's "
                                      "out-of-memory killer"
                                    : "");
    } else if (h != NULL && h->status == HG_ENOMEM) {
        PyErr_SetString(PyExc_ChildProcessError,
                        "heap snapshot (fork): the capture child ran out of "
                        "memory");
    } else if (h != NULL && h->status == HG__WALK_TRAVERSE_FAILED) {
        PyErr_SetString(PyExc_ChildProcessError,
                        "heap snapshot (fork): a tp_traverse function failed "
                        "in the capture child");
    } else if (h != NULL && h->status == HG_EIO) {
        PyErr_SetString(PyExc_ChildProcessError,
                        "heap snapshot (fork): the capture child could not "
                        "write the graph to shared memory (out of memory?)");
    } else if (h != NULL) {
        PyErr_Format(PyExc_ChildProcessError,
                     "heap snapshot (fork): the capture child failed: %s",
                     hg_status_str((hg_status)h->status));
    } else {
        PyErr_Format(PyExc_ChildProcessError,
                     "heap snapshot (fork): the capture child exited with "
                     "status %d and no result",
                     WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    }
}

/* The options a forked capture refuses.  0, or -1 with an exception. */
static int check_opts(const hg_capture_opts *opts) {
    if (opts->pin) {
        PyErr_SetString(PyExc_ValueError,
                        "heap snapshot (fork): pin must be False: a pinned "
                        "snapshot holds the parent's objects, the child has "
                        "only copies");
        return -1;
    }
    if (opts->exclude != NULL && !PyTuple_Check(opts->exclude)) {
        PyErr_SetString(PyExc_TypeError, "exclude must be a tuple");
        return -1;
    }
    return 0;
}

/* The child's shared file mapped (*base, *mapped bytes; MAP_FAILED when it
 * could not be), and its header, or NULL when the file is too short or
 * holds no header (a child that died before writing one). */
static const fork_header *map_result(int fd, const char **base,
                                     size_t *mapped) {
    struct stat stbuf;
    const fork_header *h;
    if (fstat(fd, &stbuf) < 0 ||
        (uint64_t)stbuf.st_size < sizeof(fork_header)) {
        return NULL;
    }
    *mapped = (size_t)stbuf.st_size;
    *base = mmap(NULL, *mapped, PROT_READ, MAP_SHARED, fd, 0);
    if (*base == MAP_FAILED) {
        return NULL;
    }
    h = (const fork_header *)*base;
    return h->magic == HG__FORK_MAGIC ? h : NULL;
}

/* See capture.h. */
int hg_capture_fork_run(const hg_capture_opts *opts,
                        const hg_capture_fork_opts *fopts, hg_capture *out) {
    double t0, t_fork, t_forked, t_back, t_locked, waited = 0;
    double timeout = fopts->timeout;
    int fd = -1, wstatus = 0, timed_out, rc = -1;
    pid_t pid, self = getpid();
    const char *base = MAP_FAILED;
    size_t mapped = 0;
    const fork_header *h = NULL;
    hg_graph *g = NULL;
    hg_status st = HG_OK;

    memset(out, 0, sizeof(*out));
    if (check_opts(opts) < 0) {
        return -1;
    }
    /* Freed arrays the allocator keeps mapped (core/src/alloc.c: an earlier
     * snapshot's, say) would be page tables for fork() to copy, and the
     * child needs none of them: unmapped first, the GIL released. */
    Py_BEGIN_ALLOW_THREADS
        hg_alloc_trim();
    Py_END_ALLOW_THREADS
    t0 = hg__p_now();
    if (hg__p_fork_wait_collector(opts->gc_timeout, &waited) < 0 ||
        hg__p_child_prepare() < 0) {
        return -1;
    }
    fd = memfd_create("objgraph-snapshot", MFD_CLOEXEC);
    if (fd < 0) {
        PyErr_SetFromErrno(PyExc_ChildProcessError);
        return -1;
    }
    /* ---- the pause: the fork ------------------------------------------- */
    t_fork = hg__p_now();
    pid = fork();
    if (pid == 0) {
        child_main(fd, self, opts, fopts);
    }
    t_forked = hg__p_now();
    if (pid < 0) {
        PyErr_SetFromErrno(PyExc_ChildProcessError);
        close(fd);
        return -1;
    }
    /* ---- the child's walk, the GIL released ----------------------------- */
    timed_out = wait_child(pid, timeout, &wstatus);
    if (timed_out < 0) {
        close(fd);
        return -1;
    }
    t_back = hg__p_now();
    h = map_result(fd, &base, &mapped);
    if (timed_out || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 ||
        h == NULL || h->status != 0) {
        child_error(wstatus, timed_out, timeout, h);
        goto cleanup;
    }
    Py_BEGIN_ALLOW_THREADS
        st = read_graph(base, mapped, h, &g);
    Py_END_ALLOW_THREADS
    t_locked = hg__p_now();
    if (st != HG_OK) {
        if (st == HG_ENOMEM) {
            PyErr_NoMemory();
        } else {
            PyErr_SetString(PyExc_ChildProcessError,
                            "heap snapshot (fork): the child's result does "
                            "not add up");
        }
        goto cleanup;
    }
    {
        uint64_t off[12];
        layout(h, off);
        if (build_types(out, h, (const uint64_t *)(base + off[8]),
                        (const uint8_t *)(base + off[9]), base + off[10],
                        base + mapped) < 0) {
            goto cleanup;
        }
    }
    if (!opts->nodes_only) {
        hg__p_fork_hint(g->n_nodes, g->fwd.n_edges);
    }
    out->graph = g;
    g = NULL;
    out->kind = HG_CAPTURE_PORTABLE;
    out->forked = 1;
    out->fork_extra_bytes = h->extra_bytes;
    out->capture_seconds = h->seconds;
    out->pause_seconds = (t_forked - t0 - waited) + (hg__p_now() - t_locked);
    out->phase_seconds[HG_PHASE_PREPARE] = t_fork - t0;
    out->phase_seconds[HG_PHASE_CHASE] = t_forked - t_fork;
    out->phase_seconds[HG_PHASE_WALK] = t_back - t_forked;
    out->phase_seconds[HG_PHASE_FINISH] = hg__p_now() - t_back;
    rc = 0;
cleanup:
    if (base != MAP_FAILED) {
        munmap((void *)base, mapped);
    }
    close(fd);
    hg_graph_free(g);
    if (rc < 0) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        hg_capture_release(out);
        PyErr_Restore(et, ev, tb);
    }
    return rc;
}

#else /* !__linux__ */

/* See capture.h. */
int hg_capture_fork_run(const hg_capture_opts *opts,
                        const hg_capture_fork_opts *fopts, hg_capture *out) {
    (void)opts;
    (void)fopts;
    memset(out, 0, sizeof(*out));
    PyErr_Format(PyExc_NotImplementedError,
                 "heap snapshot (fork): fork=True needs Linux (fork, "
                 "memfd_create); this is %s",
                 Py_GetPlatform());
    return -1;
}

#endif
