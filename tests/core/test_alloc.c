/*
 * test_alloc.c -- the allocator shim: live-byte accounting, zeroing,
 * realloc, huge allocations, and the fail-after hook.
 */
#include "check.h"

static void test_live_bytes_follow_alloc_and_free(void) {
    uint64_t start = hg_alloc_live_bytes();
    void *a = hg_alloc(100);
    void *b = hg_alloc(1000);

    CHECK(a && b, "expected two allocations");
    CHECK(hg_alloc_live_bytes() == start + 1100,
          "expected %" PRIu64 " live bytes, got %" PRIu64, start + 1100,
          hg_alloc_live_bytes());
    hg_free(a, 100);
    hg_free(b, 1000);
    hg_free(NULL, 123);
    CHECK(hg_alloc_live_bytes() == start,
          "expected live bytes back at %" PRIu64 ", got %" PRIu64, start,
          hg_alloc_live_bytes());
}

static void test_zero_bytes_gives_a_valid_pointer(void) {
    uint64_t start = hg_alloc_live_bytes();
    void *a = hg_alloc(0);
    void *b = hg_calloc(0);
    void *c;

    CHECK(a != NULL, "hg_alloc(0) should be a valid pointer, got NULL");
    CHECK(b != NULL, "hg_calloc(0) should be a valid pointer, got NULL");
    CHECK(a != b, "two zero-byte allocations should differ, both %p", a);
    CHECK(hg_alloc_live_bytes() == start,
          "expected zero-byte blocks to count 0 live bytes, got %" PRIu64,
          hg_alloc_live_bytes() - start);
    c = hg_realloc(a, 0, 64);
    REQUIRE(c != NULL, "a zero-byte block grows by hg_realloc");
    memset(c, 0xab, 64);
    a = hg_realloc(c, 64, 0);
    CHECK(a != NULL, "hg_realloc to 0 should leave a valid pointer");
    hg_free(a, 0);
    hg_free(b, 0);
    CHECK(hg_alloc_live_bytes() == start,
          "expected live bytes back at %" PRIu64 ", got %" PRIu64, start,
          hg_alloc_live_bytes());
    hg_alloc_fail_after(0);
    CHECK(hg_alloc(0) == NULL, "a zero-byte allocation can fail too");
    hg_alloc_fail_after(-1);
}

static void test_calloc_zeroes_and_realloc_keeps_contents(void) {
    uint64_t start = hg_alloc_live_bytes();
    size_t n = (size_t)20 << 20; /* 20 MiB: takes the huge-page path */
    unsigned char *p = hg_calloc(n);
    size_t nonzero = 0;

    REQUIRE(p != NULL, "20 MiB calloc");
    for (size_t i = 0; i < n; i += 4096) {
        nonzero += p[i] != 0;
    }
    CHECK(nonzero == 0, "expected zeroed memory, %zu nonzero pages", nonzero);
    for (size_t i = 0; i < 4096; i++) {
        p[i] = (unsigned char)i;
    }
    p = hg_realloc(p, n, 2 * n);
    REQUIRE(p != NULL, "realloc to 40 MiB");
    CHECK(hg_alloc_live_bytes() == start + 2 * n,
          "expected %" PRIu64 " live bytes after realloc, got %" PRIu64,
          start + 2 * n, hg_alloc_live_bytes());
    for (size_t i = 0; i < 4096; i++) {
        if (p[i] != (unsigned char)i) {
            CHECK(0, "byte %zu changed by realloc", i);
            break;
        }
    }
    p = hg_realloc(p, 2 * n, 0);
    CHECK(p != NULL, "realloc to 0 leaves a zero-byte block");
    CHECK(hg_alloc_live_bytes() == start, "expected no live bytes left");
    hg_free(p, 0);
    p = hg_realloc(NULL, 0, 64);
    CHECK(p != NULL, "realloc(NULL) allocates");
    hg_free(p, 64);
}

static void test_fail_after_counts_allocations(void) {
    uint64_t start = hg_alloc_live_bytes();
    void *a, *b, *c, *d;

    hg_alloc_fail_after(2);
    a = hg_alloc(8);
    b = hg_calloc(8);
    c = hg_alloc(8);
    d = hg_realloc(a, 8, 16);
    CHECK(a != NULL && b != NULL, "the first two allocations succeed");
    CHECK(c == NULL, "the third allocation fails");
    CHECK(d == NULL, "later allocations (realloc too) fail");
    hg_alloc_fail_after(-1);
    c = hg_alloc(8);
    CHECK(c != NULL, "allocations succeed again after fail_after(-1)");
    hg_free(a, 8);
    hg_free(b, 8);
    hg_free(c, 8);
    hg_alloc_fail_after(0);
    CHECK(hg_alloc(1) == NULL, "fail_after(0) fails the next allocation");
    hg_alloc_fail_after(-1);
    CHECK(hg_alloc_live_bytes() == start, "no leak");
}

static void test_allocator_name(void) {
    const char *name = hg_alloc_name();
    CHECK(strcmp(name, "jemalloc") == 0 || strcmp(name, "malloc") == 0,
          "expected \"jemalloc\" or \"malloc\", got \"%s\"", name);
    printf("allocator: %s\n", name);
}

int main(void) {
    test_live_bytes_follow_alloc_and_free();
    test_zero_bytes_gives_a_valid_pointer();
    test_calloc_zeroes_and_realloc_keeps_contents();
    test_fail_after_counts_allocations();
    test_allocator_name();
    return check_summary("test_alloc");
}
