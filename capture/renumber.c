/*
 * renumber.c -- phase 5 of a parallel capture (no GIL): the final node
 * ids, the node table and the forward CSR, exactly as the serial walk
 * would have left them, for any number of threads.
 *
 * Input: what the parallel walk (walk_parallel.c) left in the parts and
 * blocks -- encoded ids (walk.h), each block's edges in its part's buffer,
 * phase 2b's edges per untracked GC node (srcs), and from the restore the
 * block each mark ended with (fblock) and the count of nodes new in each
 * block (counts).  Output: w's node arrays, offsets and targets in final
 * ids, n_nodes and n_edges unchanged.  Each block is numbered, then
 * written, over the threads; phase 2b's own nodes last, serially.
 * O(nodes + edges); calls into walk_state.c only.
 *
 * Encodings: fblock[l] == HG__NO_BLOCK: an unmarked node; HG__NUMBERED:
 * given its final id.
 */
#include "walk.h"

#include <string.h>

/* ---- renumbering ---------------------------------------------------------
 *
 * The serial walk numbers untracked nodes in order of first reference.  A
 * node's first reference is in the block its mark ended with (fblock):
 * the part that made it saw it first among its own blocks, and any part
 * walking an earlier block lowered the mark.  So block b's new nodes are
 * those with fblock == b, numbered after those of blocks < b, in order of
 * first reference within b -- which is the order the making part made them
 * in, unless b refers first to nodes made elsewhere (lowered_in): then b's
 * edges are read to find the order.  Unmarked nodes (fblock ==
 * HG__NO_BLOCK) have one reference: in the block that made them.
 *
 * The untracked GC nodes' edges (phase 2b) follow the tracked ones, in
 * final id order; the nodes phase 2b made are numbered last, in order of
 * first reference in those edges.
 */

/* fblock after numbering: the node has its final id */
#define HG__NUMBERED 0x7ffffffeu

static inline int new_in(uint32_t fb, size_t b) {
    return fb == (uint32_t)b || fb == HG__NO_BLOCK;
}

/* n_new of every block: the sum of the restoring threads' counts. */
static void count_new(walk *w) {
    size_t nb = w->n_blocks;
    int n_walkers = w->n_parts - 1;
    for (size_t b = 0; b < nb; b++) {
        size_t n = 0;
        for (int q = 0; q < n_walkers; q++) {
            n += w->counts[(size_t)q * nb + b];
        }
        w->blocks[b].n_new = n;
    }
}

/* Node (p, l) gets final id j: its entry in w's node table, and the count
 * of its phase 2b edges. */
static inline size_t place(walk *w, part *p, size_t l, hg_node j) {
    const untracked_src *s;
    p->final[l] = j;
    /* other blocks may be reading it (none takes it: it is not theirs) */
    __atomic_store_n(&p->fblock[l], HG__NUMBERED, __ATOMIC_RELAXED);
    w->inv[j - w->n_tracked] = p->enc_base + (hg_node)l;
    w->addr[j] = p->addr[l];
    w->size[j] = p->size[l];
    w->type[j] = p->type[l];
    w->refcnt[j] = p->refcnt[l];
    w->flags[j] = p->flags[l];
    if (!(p->flags[l] & HG_NODE_GC)) {
        return 0;
    }
    s = &w->srcs[p->srcidx[l]];
    return s->e1 - s->e0;
}

/* Final ids of block b's new nodes, from bl->first on; bl->n_src_edges:
 * their phase 2b edges. */
static void number_block(walk *w, size_t b) {
    block *bl = &w->blocks[b];
    part *p = &w->parts[bl->part];
    hg_node nt = w->n_tracked, next = (hg_node)bl->first;
    size_t n_src = 0;

    if (!bl->lowered_in) {
        /* the common case, with everything in locals: the stores to the
         * flags (bytes) could alias w's and p's fields otherwise, and the
         * compiler would reload them for every node */
        uint64_t *restrict addr = w->addr;
        uint32_t *restrict size = w->size, *restrict type = w->type;
        uint32_t *restrict refcnt = w->refcnt;
        uint8_t *restrict flags = w->flags;
        hg_node *restrict inv = w->inv, *restrict final = p->final;
        const uint32_t *fblock = p->fblock; /* read by other blocks' scans */
        const uint64_t *restrict p_addr = p->addr;
        const uint32_t *restrict p_size = p->size, *restrict p_type = p->type;
        const uint32_t *restrict p_refcnt = p->refcnt;
        const uint8_t *restrict p_flags = p->flags;
        const uint32_t *restrict srcidx = p->srcidx;
        const untracked_src *restrict srcs = w->srcs;
        hg_node enc_base = p->enc_base;
        for (size_t l = bl->l0; l < bl->l1; l++) {
            hg_node j = next;
            if (!new_in(__atomic_load_n(&fblock[l], __ATOMIC_RELAXED), b)) {
                continue;
            }
            /* fblock stays: only this block takes nodes with fblock == b
             * (or unmarked ones, which only it refers to), once each */
            next++;
            final[l] = j;
            addr[j] = p_addr[l];
            size[j] = p_size[l];
            type[j] = p_type[l];
            refcnt[j] = p_refcnt[l];
            flags[j] = p_flags[l];
            if (p_flags[l] & HG_NODE_GC) {
                inv[j - nt] = enc_base + (hg_node)l; /* (write_block's) */
                n_src += srcs[srcidx[l]].e1 - srcs[srcidx[l]].e0;
            }
        }
    } else {
        for (size_t e = bl->e0; e < bl->e1; e++) {
            hg_node x = p->targets[e];
            size_t l;
            part *a;
            if (x < nt) {
                continue;
            }
            a = hg__enc_part(w, x, &l);
            if (new_in(__atomic_load_n(&a->fblock[l], __ATOMIC_RELAXED), b)) {
                n_src += place(w, a, l, next++);
            }
        }
    }
    bl->n_src_edges = n_src;
}

/* The final id of walk id x, a tracked or phase 2 node. */
static inline hg_node final_of(const walk *w, hg_node x) {
    size_t l;
    const part *p;
    if (x < w->n_tracked) {
        return x;
    }
    p = hg__enc_part(w, x, &l);
    return p->final[l];
}

/* Block b's edges in final ids (the ids of nodes phase 2b made stay
 * encoded: untracked_pass numbers them), with the offsets of its tracked
 * ids and of its new nodes. */
static void write_block(walk *w, size_t b, hg_node u_base) {
    const block *bl = &w->blocks[b];
    const part *p = &w->parts[bl->part];
    const part *u = &w->parts[w->n_parts - 1];
    hg_node nt = w->n_tracked;
    hg_node id0 = (hg_node)(b * HG__BLOCK);
    hg_node id1 = nt - id0 > HG__BLOCK ? id0 + HG__BLOCK : nt;
    hg_node *restrict out = w->targets + bl->base;
    const hg_node *restrict in = p->targets + bl->e0;
    hg_edge *restrict offsets = w->offsets;
    const part *parts = w->parts;
    unsigned shift = w->shift;
    hg_node mask = (hg_node)(((size_t)1 << shift) - 1);
    size_t n = bl->e1 - bl->e0, pos = bl->src_base;

    /* the decoding of walk.h's hg__enc_part, with its parameters in
     * registers */
    for (size_t e = 0; e < n; e++) {
        hg_node x = in[e];
        if (x >= nt) {
            x -= nt;
            x = parts[x >> shift].final[x & mask];
        }
        out[e] = x;
    }
    for (hg_node id = id0; id < id1; id++) {
        offsets[id] = bl->base + (offsets[id] - bl->e0);
    }
    for (size_t j = bl->first; j < bl->first + bl->n_new; j++) {
        w->offsets[j] = pos;
        if (w->flags[j] & HG_NODE_GC) {
            size_t l;
            const part *a = hg__enc_part(w, w->inv[j - nt], &l);
            const untracked_src *s = &w->srcs[a->srcidx[l]];
            for (size_t e = s->e0; e < s->e1; e++) {
                hg_node x = u->targets[e];
                w->targets[pos++] = x >= u_base ? x : final_of(w, x);
            }
        }
    }
}

/* The final id of walk id x, numbering phase 2b's nodes (in u) on first
 * sight, from *next on. */
static inline hg_node final_u(walk *w, part *u, hg_node x, hg_node *next) {
    size_t l;
    if (x < u->enc_base) {
        return final_of(w, x);
    }
    l = x - u->enc_base;
    if (u->final[l] == HG_NONE) {
        u->final[l] = *next;
        w->inv[*next - w->n_tracked] = x;
        (*next)++;
    }
    return u->final[l];
}

/* The edges phase 2b recorded for the untracked GC node enc. */
static const untracked_src *find_src(const walk *w, hg_node enc) {
    size_t lo = 0, hi = w->n_srcs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->srcs[mid].enc < enc) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < w->n_srcs && w->srcs[lo].enc == enc ? &w->srcs[lo] : NULL;
}

/* Phase 2b's own nodes: numbered in order of first reference in the
 * phase 2 nodes' edges [from, *pos), then in their own edges in final id
 * order (appended from *pos on), their node table entries and offsets. */
static hg_status untracked_pass(walk *w, size_t from, size_t *pos) {
    part *u = &w->parts[w->n_parts - 1];
    hg_node nt = w->n_tracked;
    hg_node first = (hg_node)(w->n_nodes - u->n), next = first;

    for (size_t e = from; e < *pos; e++) {
        if (w->targets[e] >= u->enc_base) {
            w->targets[e] = final_u(w, u, w->targets[e], &next);
        }
    }
    for (size_t j = first; j < next; j++) {
        hg_node enc = w->inv[j - nt];
        size_t l = enc - u->enc_base;
        const untracked_src *s =
            u->flags[l] & HG_NODE_GC ? find_src(w, enc) : NULL;
        w->offsets[j] = *pos;
        w->addr[j] = u->addr[l];
        w->size[j] = u->size[l];
        w->type[j] = u->type[l];
        w->refcnt[j] = u->refcnt[l];
        w->flags[j] = u->flags[l];
        if (s != NULL) {
            for (size_t e = s->e0; e < s->e1; e++) {
                w->targets[(*pos)++] = final_u(w, u, u->targets[e], &next);
            }
        }
    }
    if (next != w->n_nodes) {
        return HG_EINVAL; /* a node no edge reaches: cannot happen */
    }
    return HG_OK;
}

/* Make w's node arrays hold n nodes, its offsets n + 1 and its targets
 * n_edges (the estimates of phase 0 may have been short). */
static hg_status reserve_final(walk *w, size_t n) {
    if (hg__walk_reserve(w, n) < 0) {
        return HG_ENOMEM;
    }
    if (n + 1 > w->n_offsets &&
        hg__walk_grow((void **)&w->offsets, &w->n_offsets, sizeof(hg_edge),
                      n + 1) < 0) {
        return HG_ENOMEM;
    }
    if (w->n_edges > w->cap_edges &&
        hg__walk_grow((void **)&w->targets, &w->cap_edges, sizeof(hg_node),
                      w->n_edges) < 0) {
        return HG_ENOMEM;
    }
    return HG_OK;
}

/* See walk.h. */
hg_status hg__renumber(walk *w) {
    hg_node nt = w->n_tracked;
    size_t n = w->n_nodes, pos = 0, src_pos;
    long nb = (long)w->n_blocks;
    part *u = &w->parts[w->n_parts - 1];
    hg_status st = reserve_final(w, n);

    if (st != HG_OK) {
        return st;
    }
    if (n - nt > w->cap_inv && hg__walk_grow((void **)&w->inv, &w->cap_inv,
                                             sizeof(hg_node), n - nt) < 0) {
        return HG_ENOMEM;
    }
    memset(u->final, 0xff, u->n * sizeof(hg_node)); /* HG_NONE */

    /* phase 2 nodes: block by block, each block's from its first id */
    count_new(w);
    for (long b = 0; b < nb; b++) {
        w->blocks[b].first = nt + pos;
        pos += w->blocks[b].n_new;
    }
#pragma omp parallel for schedule(dynamic, 16) num_threads(hg_num_threads())
    for (long b = 0; b < nb; b++) {
        number_block(w, (size_t)b);
    }

    /* the edges: the tracked nodes', then the phase 2 nodes' */
    pos = 0;
    for (long b = 0; b < nb; b++) {
        w->blocks[b].base = pos;
        pos += w->blocks[b].e1 - w->blocks[b].e0;
    }
    src_pos = pos;
    for (long b = 0; b < nb; b++) {
        w->blocks[b].src_base = pos;
        pos += w->blocks[b].n_src_edges;
    }
#pragma omp parallel for schedule(dynamic, 16) num_threads(hg_num_threads())
    for (long b = 0; b < nb; b++) {
        write_block(w, (size_t)b, u->enc_base);
    }

    /* phase 2b's nodes, and the end */
    st = untracked_pass(w, src_pos, &pos);
    if (st != HG_OK) {
        return st;
    }
    if (pos != w->n_edges) {
        return HG_EINVAL;
    }
    w->offsets[n] = pos;
    for (size_t k = 0; k < w->n_sover; k++) {
        w->sover[k].node = w->sover[k].node >= u->enc_base
                               ? u->final[w->sover[k].node - u->enc_base]
                               : final_of(w, w->sover[k].node);
    }
    return HG_OK;
}
