/*
 * untrack.c -- which tracked objects of a capture would a full gc.collect()
 * untrack?  core's hg_untrack_replay (core/src/untrack.c) on the capture's
 * graph and per-type flags; see there for the rule and its order.
 */
#include "capture.h"

hg_status hg_capture_untrackable(const hg_capture *c, const uint8_t *live,
                                 uint8_t *out) {
    if (c == NULL || c->graph == NULL || live == NULL || out == NULL) {
        return HG_EINVAL;
    }
    return hg_untrack_replay(c->graph, c->type_flags, live, out);
}
