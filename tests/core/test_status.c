/*
 * test_status.c -- status strings and the thread-count knob.
 */
#include "check.h"

static void test_every_status_has_its_own_text(void) {
    hg_status all[] = {HG_OK,     HG_ENOMEM, HG_EINVAL,
                       HG_ERANGE, HG_EIO,    HG_EFORMAT};
    for (int i = 0; i < 6; i++) {
        const char *s = hg_status_str(all[i]);
        CHECK(s != NULL && s[0] != '\0', "status %d has no text", i);
        for (int j = 0; j < i; j++) {
            CHECK(strcmp(s, hg_status_str(all[j])) != 0,
                  "statuses %d and %d share the text \"%s\"", i, j, s);
        }
    }
    CHECK(strcmp(hg_status_str(HG_ENOMEM), "out of memory") == 0,
          "expected \"out of memory\", got \"%s\"", hg_status_str(HG_ENOMEM));
    CHECK(hg_status_str((hg_status)99) != NULL, "unknown status text");
}

static void test_set_num_threads(void) {
    int before = hg_num_threads();
    CHECK(before >= 1, "expected >= 1 thread, got %d", before);
#ifdef HG_USE_OPENMP
    hg_set_num_threads(3);
    CHECK(hg_num_threads() == 3, "expected 3 threads, got %d",
          hg_num_threads());
    hg_set_num_threads(0); /* ignored */
    CHECK(hg_num_threads() == 3, "n < 1 must be ignored, got %d",
          hg_num_threads());
#else
    hg_set_num_threads(3);
    CHECK(hg_num_threads() == 1, "without OpenMP: 1 thread, got %d",
          hg_num_threads());
#endif
    hg_set_num_threads(before);
}

int main(void) {
    test_every_status_has_its_own_text();
    test_set_num_threads();
    return check_summary("test_status");
}
