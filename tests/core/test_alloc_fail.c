/*
 * test_alloc_fail.c -- "brutal" allocation-failure tests (LAGraph, SQLite):
 * for every allocating entry point, fail the k-th allocation for k = 0, 1,
 * ... until the call succeeds; each failure must return HG_ENOMEM and leave
 * the shim's live bytes where they started.  Run with 1 and 2 threads (the
 * parallel paths allocate different scratch arrays).
 */
#include "check.h"

typedef struct fixture {
    hg_csr g;   /* random graph, big enough for the parallel paths */
    hg_csr rev; /* its reverse */
    uint64_t *src_addrs;
    hg_raw_edge *edges;
    hg_node n_src;
    hg_edge n_edges;
    uint32_t *type_ids;
    uint64_t *sizes; /* some of 4 GiB or more */
    hg_node *idom;   /* g's dominator tree from node 0 */
    uint64_t *retained;
    hg_graph *nodes;  /* g's node table: types, addresses (no edges) */
    hg_node *parent;  /* g's BFS tree from node 0 (HG_PATH_ROOT there) */
    uint8_t *targets; /* every third node */
    hg_node *comp;    /* g's strongly connected components */
    hg_node n_comp;
    uint32_t *in_degree; /* g's, beside counts in nodes->refcnt */
} fixture;

/* Each op runs one entry point and frees what it produced on success. */
typedef hg_status (*op_fn)(const fixture *f);

static hg_status op_transpose(const fixture *f) {
    hg_csr r = {0};
    hg_status st = hg_csr_transpose(&f->g, &r);
    hg_csr_destroy(&r);
    return st;
}

static hg_status op_in_degree(const fixture *f) {
    uint32_t *deg = malloc((size_t)f->g.n_nodes * sizeof(uint32_t));
    hg_status st = hg_csr_in_degree(&f->g, NULL, deg);
    free(deg);
    return st;
}

static hg_status op_graph_new_reverse(const fixture *f) {
    hg_graph *g = NULL;
    hg_csr copy = {0};
    hg_status st = hg_graph_new(f->g.n_nodes, &g);
    if (st != HG_OK) {
        return st;
    }
    st = hg_csr_transpose(&f->g, &copy); /* reverse of reverse: a fwd CSR */
    if (st == HG_OK) {
        g->fwd = copy;
        st = hg_graph_reverse(g);
    }
    hg_graph_free(g);
    return st;
}

static hg_status op_build(const fixture *f) {
    hg_csr out = {0};
    uint64_t *addrs = NULL;
    hg_node n_nodes = 0;
    hg_status st = hg_graph_build(f->n_src, f->src_addrs, f->edges, f->n_edges,
                                  &out, &addrs, &n_nodes);
    if (st == HG_OK) {
        hg_csr_destroy(&out);
        hg_free(addrs, (size_t)n_nodes * sizeof(uint64_t));
    }
    return st;
}

static hg_status op_addr_index(const fixture *f) {
    hg_addr_index *ix = NULL;
    hg_status st = hg_addr_index_new(f->src_addrs, f->n_src, &ix);
    hg_addr_index_free(ix);
    return st;
}

static hg_status op_size_pack(const fixture *f) {
    uint32_t *size = malloc((size_t)f->g.n_nodes * sizeof(uint32_t));
    hg_size_overflow *over = NULL;
    hg_node n_over = 0;
    hg_status st = hg_size_pack(f->sizes, f->g.n_nodes, size, &over, &n_over);
    hg_free(over, (size_t)n_over * sizeof(hg_size_overflow));
    free(size);
    return st;
}

static hg_status op_histogram(const fixture *f) {
    uint64_t counts[50];
    return hg_type_histogram(f->type_ids, f->g.n_nodes, NULL, 50, counts);
}

static hg_status op_bfs(const fixture *f) {
    hg_node *parent = malloc((size_t)f->g.n_nodes * sizeof(hg_node));
    hg_node zero = 0;
    hg_status st = hg_bfs(&f->g, &zero, 1, NULL, UINT32_MAX, parent, NULL);
    free(parent);
    return st;
}

static hg_status op_bfs_diropt(const fixture *f) {
    hg_node *parent = malloc((size_t)f->g.n_nodes * sizeof(hg_node));
    hg_node zero = 0;
    hg_status st =
        hg_bfs_diropt(&f->g, &f->rev, &zero, 1, NULL, UINT32_MAX, parent, NULL);
    free(parent);
    return st;
}

static hg_status op_reach_diropt(const fixture *f) {
    uint8_t *reached = malloc(f->g.n_nodes);
    hg_node zero = 0;
    hg_status st = hg_reach_diropt(&f->g, &f->rev, &zero, 1, NULL, reached);
    free(reached);
    return st;
}

static hg_status op_reach(const fixture *f) {
    uint8_t *reached = malloc(f->g.n_nodes);
    hg_node zero = 0;
    hg_status st = hg_reach(&f->g, &zero, 1, NULL, reached);
    free(reached);
    return st;
}

static hg_status op_class_retained(const fixture *f) {
    uint64_t out[50];
    return hg_domtree_class_retained(f->idom, f->g.n_nodes, f->retained,
                                     f->type_ids, 50, NULL, out);
}

static hg_status op_topk(const fixture *f) {
    hg_node out[100];
    size_t n_out = 0;
    return hg_topk(f->retained, f->g.n_nodes, NULL, 100, out, &n_out);
}

static hg_status op_paths_group(const fixture *f) {
    hg_path_groups pg = {0};
    hg_status st = hg_paths_group(f->nodes, f->parent, f->targets, NULL,
                                  f->idom, f->retained, &pg);
    hg_path_groups_destroy(&pg);
    return st;
}

static hg_status op_cycles_group(const fixture *f) {
    hg_cycle_groups cg = {0};
    hg_status st = hg_cycles_group(f->nodes, f->comp, f->n_comp, &cg);
    hg_cycle_groups_destroy(&cg);
    return st;
}

static hg_status op_find_roots(const fixture *f) {
    hg_node *roots = NULL;
    size_t n_roots = 0;
    hg_status st =
        hg_graph_find_roots(f->nodes, f->in_degree, &roots, &n_roots);
    if (st == HG_OK) {
        hg_free(roots, (n_roots + 1) * sizeof(hg_node));
    }
    return st;
}

/* The replay allocates nothing: it must succeed while every allocation
 * fails. */
static hg_status op_untrack_replay(const fixture *f) {
    hg_graph g = *f->nodes; /* the node table with g's edges, all tracked */
    uint32_t type_flags[50];
    uint8_t *live = malloc(f->g.n_nodes), *out = malloc(f->g.n_nodes);
    hg_status st;

    REQUIRE(live && out, "allocation");
    for (uint32_t t = 0; t < 50; t++) {
        type_flags[t] = t % 3 == 1   ? HG_TYPE_EXACT_TUPLE
                        : t % 3 == 2 ? HG_TYPE_EXACT_DICT
                                     : 0;
    }
    g.fwd = f->g;
    g.n_tracked = g.n_nodes;
    memset(live, 1, f->g.n_nodes);
    st = hg_untrack_replay(&g, type_flags, live, out);
    free(live);
    free(out);
    return st;
}

static hg_status op_paths_tree_edges(const fixture *f) {
    hg_graph g = *f->nodes; /* the node table with g's edges */
    uint8_t type_mask[50];
    hg_edge_list list = {0};
    hg_status st;
    for (int t = 0; t < 50; t++) {
        type_mask[t] = t % 2 == 0;
    }
    g.fwd = f->g;
    g.n_types = 50;
    st = hg_paths_tree_edges(&g, f->parent, type_mask, &list);
    hg_edge_list_destroy(&list);
    return st;
}

/* The search allocates nothing: it must succeed while every allocation
 * fails. */
static hg_status op_csr_find_edges(const fixture *f) {
    hg_node src[64], dst[64];
    uint64_t out[64];
    for (int i = 0; i < 64; i++) {
        src[i] = (hg_node)(i * 997 % f->g.n_nodes);
        dst[i] = (hg_node)(i * 7919 % f->g.n_nodes);
    }
    return hg_csr_find_edges(&f->g, src, dst, 64, out);
}

/* expect_alloc: the call must allocate through the shim at least once. */
static void brutal(const char *name, op_fn op, const fixture *f,
                   int expect_alloc) {
    uint64_t start = hg_alloc_live_bytes();
    long k;
    int failures_seen = 0;

    for (k = 0; k < 1000; k++) {
        hg_status st;
        hg_alloc_fail_after(k);
        st = op(f);
        hg_alloc_fail_after(-1);
        CHECK(hg_alloc_live_bytes() == start,
              "%s, allocation %ld failing: %llu bytes leaked", name, k,
              (unsigned long long)(hg_alloc_live_bytes() - start));
        if (st == HG_OK) {
            break;
        }
        failures_seen++;
        CHECK(st == HG_ENOMEM,
              "%s, allocation %ld failing: expected "
              "HG_ENOMEM, got %s",
              name, k, hg_status_str(st));
    }
    CHECK(k < 1000, "%s never succeeded", name);
    CHECK(failures_seen > 0 || !expect_alloc,
          "%s allocated nothing through the shim", name);
}

int main(void) {
    fixture f;
    rng r = {11};

    /* > 65536 nodes: the transpose takes its blocked path */
    csr_random(&f.g, 11, 100000, 300000);
    f.n_src = 100000;
    f.n_edges = 300000;
    f.src_addrs = malloc(f.n_src * sizeof(uint64_t));
    f.edges = malloc(f.n_edges * sizeof(hg_raw_edge));
    f.type_ids = malloc(f.g.n_nodes * sizeof(uint32_t));
    f.sizes = malloc(f.g.n_nodes * sizeof(uint64_t));
    REQUIRE(f.src_addrs && f.edges && f.type_ids && f.sizes, "allocation");
    for (hg_node v = 0; v < f.n_src; v++) {
        f.src_addrs[v] = 0x1000 + 16 * (uint64_t)v;
        f.type_ids[v] = (uint32_t)rng_below(&r, 50);
        f.sizes[v] = rng_size(&r);
    }
    for (hg_edge i = 0; i < f.n_edges; i++) {
        f.edges[i].source = (hg_node)rng_below(&r, f.n_src);
        /* half the targets are new addresses: forces table growth */
        f.edges[i].target_addr = 0x1000 + 8 * rng_below(&r, 4 * f.n_src);
    }
    f.rev = (hg_csr){0};
    REQUIRE(hg_csr_transpose(&f.g, &f.rev) == HG_OK, "transpose");
    f.idom = malloc(f.g.n_nodes * sizeof(hg_node));
    f.retained = malloc(f.g.n_nodes * sizeof(uint64_t));
    REQUIRE(f.idom && f.retained, "allocation");
    for (hg_node v = 0; v < f.g.n_nodes; v++) {
        f.retained[v] = 24; /* the allocations do not depend on sizes */
    }
    REQUIRE(hg_domtree_build(&f.g, &f.rev, &(hg_node){0}, 1, f.idom) == HG_OK,
            "dominator tree");
    f.parent = malloc(f.g.n_nodes * sizeof(hg_node));
    f.targets = malloc(f.g.n_nodes);
    REQUIRE(f.parent && f.targets &&
                hg_graph_new(f.g.n_nodes, &f.nodes) == HG_OK,
            "allocation");
    REQUIRE(hg_bfs(&f.g, &(hg_node){0}, 1, NULL, UINT32_MAX, f.parent, NULL) ==
                HG_OK,
            "bfs");
    f.parent[0] = HG_PATH_ROOT;
    f.comp = malloc(f.g.n_nodes * sizeof(hg_node));
    REQUIRE(f.comp && hg_scc(&f.g, NULL, f.comp, &f.n_comp) == HG_OK, "scc");
    f.in_degree = malloc(f.g.n_nodes * sizeof(uint32_t));
    REQUIRE(f.in_degree && hg_csr_in_degree(&f.g, NULL, f.in_degree) == HG_OK,
            "in-degree");
    for (hg_node v = 0; v < f.g.n_nodes; v++) {
        f.nodes->addr[v] = f.src_addrs[v];
        f.nodes->type_id[v] = f.type_ids[v];
        f.nodes->size[v] = (uint32_t)f.sizes[v] == UINT32_MAX
                               ? 24 /* no overflow table here */
                               : (uint32_t)f.sizes[v];
        f.targets[v] = v % 3 == 0;
        f.nodes->refcnt[v] = f.in_degree[v] + (v % 5 == 0); /* some roots */
    }
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        hg_set_num_threads(test_thread_counts[t]);
        int parallel = hg_num_threads() > 1;
        brutal("hg_csr_transpose", op_transpose, &f, 1);
        /* serial in-degree counts straight into the output */
        brutal("hg_csr_in_degree", op_in_degree, &f, parallel);
        brutal("hg_graph_new + hg_graph_reverse", op_graph_new_reverse, &f, 1);
        brutal("hg_graph_build", op_build, &f, 1);
        brutal("hg_addr_index_new", op_addr_index, &f, 1);
        brutal("hg_type_histogram", op_histogram, &f, 1);
        brutal("hg_size_pack", op_size_pack, &f, 1);
        brutal("hg_bfs", op_bfs, &f, 1);
        brutal("hg_bfs_diropt", op_bfs_diropt, &f, 1);
        brutal("hg_reach", op_reach, &f, 1);
        brutal("hg_reach_diropt", op_reach_diropt, &f, 1);
        brutal("hg_domtree_class_retained", op_class_retained, &f, 1);
        brutal("hg_topk", op_topk, &f, 1);
        brutal("hg_paths_group", op_paths_group, &f, 1);
        brutal("hg_cycles_group", op_cycles_group, &f, 1);
        brutal("hg_graph_find_roots", op_find_roots, &f, 1);
        brutal("hg_untrack_replay", op_untrack_replay, &f, 0);
        brutal("hg_paths_tree_edges", op_paths_tree_edges, &f, 1);
        brutal("hg_csr_find_edges", op_csr_find_edges, &f, 0);
    }
    hg_csr_destroy(&f.g);
    hg_csr_destroy(&f.rev);
    free(f.src_addrs);
    free(f.edges);
    free(f.type_ids);
    free(f.sizes);
    free(f.idom);
    free(f.retained);
    free(f.parent);
    free(f.targets);
    free(f.comp);
    free(f.in_degree);
    hg_graph_free(f.nodes);
    return check_summary("test_alloc_fail");
}
