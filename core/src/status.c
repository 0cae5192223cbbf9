/*
 * status.c -- status strings and the chunking rule.
 *
 * Kernels size their work split from hg_num_threads() (threads.c: 1 without
 * OpenMP) but loop over chunks, not thread ids, so a smaller team than asked
 * for changes speed, never results.
 */
#include "hg_internal.h"

const char *hg_status_str(hg_status st) {
    switch (st) {
    case HG_OK:
        return "success";
    case HG_ENOMEM:
        return "out of memory";
    case HG_EINVAL:
        return "invalid argument";
    case HG_ERANGE:
        return "count out of range for node ids";
    case HG_EIO:
        return "input/output error";
    case HG_EFORMAT:
        return "not a valid snapshot file";
    }
    return "unknown status";
}

int hg__n_chunks(uint64_t work) {
    int k = hg_num_threads();

    if (k <= 1 || work < HG__MIN_PAR_WORK) {
        return 1;
    }
    return k < HG__MAX_CHUNKS ? k : HG__MAX_CHUNKS;
}
