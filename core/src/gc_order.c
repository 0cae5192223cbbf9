/*
 * gc_order.c -- the order CPython's cyclic collector leaves its list in,
 * and what it finds unreachable, computed on a captured graph.
 *
 * objgraph 3.x runs gc.collect() and then lists referrers with
 * gc.get_referrers(), which walks the collector's lists: the order of the
 * objects it draws is the order a full collection left.  That order is not
 * the allocation order: CPython 3.11 (Modules/gcmodule.c) merges the young
 * generations after the old one, then move_unreachable() walks the list:
 *
 *   - an object whose gc_refs (reference count minus the references from
 *     objects in the list) is above 0 stays where it is, and each object it
 *     refers to that was not reached yet gets gc_refs = 1 (it will stay
 *     too), while one already set aside as unreachable is moved back, to
 *     the tail of the list, with gc_refs = 1;
 *   - an object whose gc_refs is 0 when the walk reaches it is set aside
 *     (tentatively unreachable).
 *
 * The walk goes on through the objects moved back to the tail, so the
 * final list is: the objects that stayed, in their order, then the objects
 * moved back, in the order they were moved.  What is still set aside at
 * the end is unreachable: garbage.  This file replays that walk on the
 * graph: O(list + its edges), serial (the walk is inherently sequential),
 * the cost of the collector's own pass minus its pointer chasing.
 *
 * Encodings: state[v] is NOT_LISTED for nodes outside the list, then
 * WAITING (in the list, not reached), REACHED (gc_refs set to 1 ahead of
 * the walk), SET_ASIDE, DONE (walked as reachable).  pos[v] = the rank of
 * v in the final list, HG_NONE for unreachable and unlisted nodes.
 */
#include "hg_internal.h"

enum { NOT_LISTED = 0, WAITING, REACHED, SET_ASIDE, DONE };

hg_status hg_gc_order(const hg_csr *g, const uint32_t *refcnt,
                      const hg_node *list, hg_node n_list, hg_node *pos) {
    hg_node n;
    int64_t *refs = NULL;  /* gc_refs of listed nodes */
    uint8_t *state = NULL; /* see the encodings above */
    hg_node *walk = NULL;  /* the list as the walk sees it, tail included */
    size_t n_walk, rank = 0;
    hg_status st = HG_OK;

    if (g == NULL || pos == NULL ||
        (n_list > 0 && (list == NULL || refcnt == NULL))) {
        return HG_EINVAL;
    }
    n = g->n_nodes;
    if (n_list > n) {
        return HG_EINVAL;
    }
    refs = hg_alloc((size_t)n * sizeof(int64_t));
    state = hg_calloc((size_t)n);
    walk = hg_alloc(2 * (size_t)n_list * sizeof(hg_node));
    if (refs == NULL || state == NULL || walk == NULL) {
        st = HG_ENOMEM;
        goto cleanup;
    }

    /* ---- update_refs: gc_refs = refcnt, for listed nodes ---- */
    for (hg_node i = 0; i < n_list; i++) {
        hg_node v = list[i];
        if (v >= n || state[v] != NOT_LISTED) {
            st = HG_EINVAL; /* out of range, or listed twice */
            goto cleanup;
        }
        state[v] = WAITING;
        refs[v] = refcnt[v];
        walk[i] = v;
    }
    /* ---- subtract_refs: minus the references from listed nodes ---- */
    for (hg_node i = 0; i < n_list; i++) {
        hg_node u = list[i];
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (state[v] != NOT_LISTED) {
                refs[v]--;
            }
        }
    }
    /* ---- move_unreachable ---- */
    n_walk = n_list;
    for (size_t i = 0; i < n_walk; i++) {
        hg_node u = walk[i];
        if (state[u] == DONE || state[u] == SET_ASIDE) {
            continue; /* an earlier copy: it was moved back to the tail */
        }
        if (refs[u] <= 0 && state[u] != REACHED) {
            state[u] = SET_ASIDE;
            continue;
        }
        state[u] = DONE;
        pos[u] = (hg_node)rank++;
        for (hg_edge e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            hg_node v = g->targets[e];
            if (state[v] == SET_ASIDE) {
                state[v] = REACHED;
                walk[n_walk++] = v; /* moved back, to the tail */
            } else if (state[v] == WAITING && refs[v] <= 0) {
                state[v] = REACHED;
            }
        }
    }
    /* ---- everything else: not in the final list ---- */
    for (hg_node v = 0; v < n; v++) {
        if (state[v] != DONE) {
            pos[v] = HG_NONE;
        }
    }

cleanup:
    hg_free(refs, (size_t)n * sizeof(int64_t));
    hg_free(state, (size_t)n);
    hg_free(walk, 2 * (size_t)n_list * sizeof(hg_node));
    return st;
}
