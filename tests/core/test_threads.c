/*
 * test_threads.c -- hg_threads_reserve, and kernels where the OpenMP
 * runtime cannot serve a team: in a forked child (whose runtime lists the
 * parent's pool threads, which do not exist there) and in a process whose
 * address space has no room for another thread stack.  Each such case
 * runs in a child process with an alarm: a hang or an exit fails the test
 * instead of ending it.
 */
#define _GNU_SOURCE /* pthread_getattr_default_np */
#include "check.h"
#include "ref/ref.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Nodes of the test graph: more than one bin of the blocked transpose, so
 * that its parallel regions run. */
#define N_NODES 100000u
#define N_EDGES 400000u

/* What asking for n threads gives where threads can be had. */
static int asked(int n) {
#ifdef HG_USE_OPENMP
    return n;
#else
    (void)n;
    return 1;
#endif
}

static hg_csr graph;
static hg_edge *ref_off;
static hg_node *ref_tgt;

/* Transpose the test graph; 0 if right, 1 if wrong, -1 on HG_ENOMEM. */
static int transpose_ok(void) {
    hg_csr r = {0};
    hg_status st = hg_csr_transpose(&graph, &r);
    int bad;

    if (st == HG_ENOMEM) {
        return -1;
    }
    if (st != HG_OK) {
        return 1;
    }
    bad = memcmp(r.offsets, ref_off, (N_NODES + 1) * sizeof(hg_edge)) != 0 ||
          memcmp(r.targets, ref_tgt, N_EDGES * sizeof(hg_node)) != 0;
    hg_csr_destroy(&r);
    return bad;
}

/* Run body in a child process under an alarm; its exit status (the
 * child's failed checks), or a failure if it hung or ended otherwise. */
static void in_child(const char *what, void (*body)(void)) {
    pid_t pid;
    int status;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        check_failures = 0; /* the child's own */
        alarm(60);
        body();
        fflush(stderr);
        _exit(check_failures > 0 ? 1 : 0);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: expected the child to exit with 0, got %s %d", what,
          WIFSIGNALED(status) ? "signal" : "status",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void test_reserve_proves_and_keeps_the_count(void) {
    int r;

    hg_set_num_threads(4);
    r = hg_threads_reserve();
    CHECK(r == asked(4), "expected a team of %d reserved, got %d", asked(4), r);
    CHECK(hg_num_threads() == r, "expected hg_num_threads() == %d, got %d", r,
          hg_num_threads());
    CHECK(hg_threads_reserve() == r, "expected the same team again, got %d",
          hg_threads_reserve());
    CHECK(transpose_ok() == 0, "transpose after the reserve");
    hg_set_num_threads(2);
    CHECK(hg_num_threads() == asked(2), "expected %d threads, got %d", asked(2),
          hg_num_threads());
    CHECK(hg_threads_reserve() == asked(2), "expected a team of %d, got %d",
          asked(2), hg_threads_reserve());
}

static void *child_thread(void *arg) {
    int *got = arg;
    hg_set_num_threads(4);
    got[0] = hg_num_threads();
    got[1] = transpose_ok();
    return NULL;
}

/* In the child of a parent whose pool holds 3 threads. */
static void forked_child_body(void) {
    pthread_t t;
    int got[2] = {0, 0};

    CHECK(hg_num_threads() == 1, "forked: expected 1 thread, got %d",
          hg_num_threads());
    hg_set_num_threads(4);
    CHECK(hg_num_threads() == 1, "forked, 4 asked: expected 1, got %d",
          hg_num_threads());
    CHECK(hg_threads_reserve() == 1, "forked: expected a team of 1, got %d",
          hg_threads_reserve());
    CHECK(transpose_ok() == 0, "forked: transpose");
    /* a thread born in the child has a pool of its own */
    REQUIRE(pthread_create(&t, NULL, child_thread, got) == 0, "thread");
    pthread_join(t, NULL);
    CHECK(got[0] == asked(4), "a thread of the child: expected %d, got %d",
          asked(4), got[0]);
    CHECK(got[1] == 0, "a thread of the child: transpose");
}

static void test_a_forked_child_runs_the_kernels(void) {
    hg_set_num_threads(4);
    REQUIRE(hg_threads_reserve() == asked(4), "a team of 4 in the parent");
    REQUIRE(transpose_ok() == 0, "transpose in the parent");
    in_child("fork after a team of 4", forked_child_body);
    CHECK(transpose_ok() == 0, "the parent after the fork");
}

static void *no_room_thread(void *arg) {
    int *got = arg;
    pthread_attr_t attr;
    size_t stack = 0;
    struct rlimit lim;
    long vm = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    REQUIRE(f != NULL, "/proc/self/status");
    while (fgets(line, sizeof(line), f) != NULL) {
        sscanf(line, "VmSize: %ld kB", &vm);
    }
    fclose(f);
    REQUIRE(pthread_getattr_default_np(&attr) == 0 &&
                pthread_attr_getstacksize(&attr, &stack) == 0,
            "default stack size");
    pthread_attr_destroy(&attr);
    /* room for the kernel's arrays, not for another thread's stack */
    lim.rlim_cur = lim.rlim_max = (rlim_t)vm * 1024 + stack / 2;
    REQUIRE(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit");
    hg_set_num_threads(4);
    got[0] = hg_threads_reserve();
    got[1] = transpose_ok();
    return NULL;
}

/* A thread of the child (not the forking one: that one runs serially
 * anyway) that limits the address space, then asks for 4 threads. */
static void no_room_body(void) {
    pthread_t t;
    int got[2] = {0, 1};

    REQUIRE(pthread_create(&t, NULL, no_room_thread, got) == 0, "thread");
    pthread_join(t, NULL);
    CHECK(got[0] == 1, "no room for a stack: expected a team of 1, got %d",
          got[0]);
    CHECK(got[1] != 1, "no room for a stack: transpose wrong");
}

static void test_no_room_for_a_thread_gives_one_thread(void) {
    in_child("RLIMIT_AS below a thread stack", no_room_body);
}

int main(void) {
    csr_random(&graph, 12, N_NODES, N_EDGES);
    ref_transpose(&graph, &ref_off, &ref_tgt);
    test_reserve_proves_and_keeps_the_count();
    test_a_forked_child_runs_the_kernels();
    test_no_room_for_a_thread_gives_one_thread();
    free(ref_off);
    free(ref_tgt);
    hg_csr_destroy(&graph);
    return check_summary("test_threads");
}
