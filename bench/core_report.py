"""Markdown tables from core_bench's Google Benchmark JSON.

``make bench-core`` runs bench/core_bench.cc twice, built with jemalloc
(build/core_bench.json) and with malloc (build/core_bench_malloc.json).
``markdown()`` turns the two files into the tables docs/benchmarks.md
shows: transpose bandwidth next to memcpy's, searches and the dominator
tree next to igraph's C core, thread scaling, and jemalloc against
malloc.  Run it by itself with::

    python3 bench/core_report.py build/core_bench.json \\
        build/core_bench_malloc.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["load", "markdown"]

# Kernel names, as in core_bench.cc (BM_<name>), in the order tables show.
CORE_KERNELS = [
    "Transpose",
    "TransposeCold",
    "Bfs",
    "BfsCold",
    "BfsDirOpt",
    "BfsMulti",
    "Reach",
    "InDegree",
    "TypeHistogram",
    "DomTree",
    "Retained",
    "Scc",
    "Memcpy",
]
# The leak analyses: items are nodes.
LEAK_KERNELS = ["DomTree", "Retained", "Scc"]
LEAK_NAMES = {
    "DomTree": "hg_domtree_build",
    "Retained": "hg_domtree_retained",
    "Scc": "hg_scc",
}
SEARCHES = ["Bfs", "BfsDirOpt", "BfsMulti", "Reach"]

Key = tuple[str, int, int]  # (kernel, nodes, threads)


def _parse_name(run_name: str) -> Key | None:
    """``BM_Bfs/nodes:1000000/threads:2/real_time`` -> ("Bfs", 1e6, 2)."""
    parts = run_name.split("/")
    if not parts[0].startswith("BM_"):
        return None
    args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    try:
        return parts[0][3:], int(args["nodes"]), int(args["threads"])
    except (KeyError, ValueError):
        return None


_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def load(path: str | Path) -> tuple[dict, dict[Key, dict]]:
    """Read a core_bench JSON file: (context, {key: result}).

    A result is the median of the repetitions when the file has
    aggregates, else the mean of the runs; it holds ``ms`` (real time per
    iteration), ``items_per_second``, ``bytes_per_second`` and the
    benchmark's counters.  Runs that reported an error are left out.
    """
    data = json.loads(Path(path).read_text())
    medians: dict[Key, dict] = {}
    runs: dict[Key, list[dict]] = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        key = _parse_name(b.get("run_name", b["name"]))
        if key is None:
            continue
        r = dict(b)
        r["ms"] = b["real_time"] * _TO_MS.get(b.get("time_unit", "ns"), 1e-6)
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = r
        else:
            runs.setdefault(key, []).append(r)
    results = dict(medians)
    for key, rs in runs.items():
        if key in results:
            continue
        mean = dict(rs[0])
        for field in ("ms", "items_per_second", "bytes_per_second"):
            vals = [r[field] for r in rs if field in r]
            if vals:
                mean[field] = sum(vals) / len(vals)
        results[key] = mean
    return data.get("context", {}), results


# ---- formatting ------------------------------------------------------------


def _ms(r: dict | None) -> str:
    if r is None:
        return "—"
    ms = r["ms"]
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def _gbs(r: dict | None) -> str:
    if r is None or "bytes_per_second" not in r:
        return "—"
    return f"{r['bytes_per_second'] / 1e9:.2f}"


def _mnps(r: dict | None) -> str:
    """Millions of items (nodes, for the leak analyses) per second."""
    if r is None or not r.get("items_per_second"):
        return "—"
    return f"{r['items_per_second'] / 1e6:.2f}"


def _meps(r: dict | None) -> str:
    if r is None or "items_per_second" not in r:
        return "—"
    return f"{r['items_per_second'] / 1e6:.0f}"


def _ratio(num: dict | None, den: dict | None, fmt: str = "{:.2f}×") -> str:
    """num/den of the times: how many times faster den is than num."""
    if num is None or den is None or den["ms"] <= 0:
        return "—"
    return fmt.format(num["ms"] / den["ms"])


def _nodes(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---" for _ in header) + "|")
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _sizes(res: dict[Key, dict]) -> list[int]:
    return sorted({n for _, n, _ in res})


def _threads(res: dict[Key, dict], kernel: str, n: int) -> list[int]:
    return sorted({t for k, nn, t in res if k == kernel and nn == n})


# ---- the sections ---------------------------------------------------------


def _graphs(res: dict[Key, dict]) -> list[str]:
    rows = []
    for n in _sizes(res):
        any_r = next(r for (_, nn, _), r in res.items() if nn == n)
        bfs = next(
            (r for (k, nn, _), r in res.items() if k == "Bfs" and nn == n),
            None,
        )
        edges = any_r.get("edges", 0)
        rows.append(
            [
                _nodes(n),
                f"{edges / 1e6:.1f}M",
                f"{edges / n:.2f}",
                f"{bfs['levels']:.0f}" if bfs and "levels" in bfs else "—",
            ]
        )
    return _table(
        ["nodes", "edges", "edges/node", "BFS levels from the root"], rows
    )


def _transpose(res: dict[Key, dict]) -> list[str]:
    rows = []
    for n in _sizes(res):
        ig = res.get(("IgraphCreate", n, 1))
        for t in _threads(res, "Transpose", n):
            tr = res.get(("Transpose", n, t))
            mc = res.get(("Memcpy", n, t))
            share = "—"
            if tr and mc and "bytes_per_second" in tr:
                share = tr["bytes_per_second"] / mc["bytes_per_second"]
                share = f"{share:.0%}"
            rows.append(
                [
                    _nodes(n),
                    str(t),
                    _ms(tr),
                    _gbs(tr),
                    _gbs(mc),
                    share,
                    _ms(ig),
                    _ratio(ig, tr),
                ]
            )
    return _table(
        [
            "nodes",
            "threads",
            "transpose ms",
            "transpose GB/s",
            "memcpy GB/s",
            "of memcpy",
            "igraph_create ms",
            "transpose faster by",
        ],
        rows,
    )


def _searches(res: dict[Key, dict]) -> list[str]:
    rows = []
    for n in _sizes(res):
        ig = res.get(("IgraphBfs", n, 1))
        igs = res.get(("IgraphBfsSimple", n, 1))
        for kernel in SEARCHES:
            for t in _threads(res, kernel, n):
                r = res[(kernel, n, t)]
                single = kernel in ("Bfs", "BfsDirOpt")
                rows.append(
                    [
                        _nodes(n),
                        f"hg_{kernel}",
                        str(t),
                        _ms(r),
                        _meps(r),
                        _ratio(ig, r) if single else "—",
                        _ratio(igs, r) if single else "—",
                    ]
                )
        for name, r in (("igraph_bfs", ig), ("igraph_bfs_simple", igs)):
            if r is not None:
                rows.append([_nodes(n), name, "1", _ms(r), _meps(r), "", ""])
    return _table(
        [
            "nodes",
            "search",
            "threads",
            "ms",
            "M edges/s",
            "vs igraph_bfs",
            "vs igraph_bfs_simple",
        ],
        rows,
    )


def _in_degree(res: dict[Key, dict]) -> list[str]:
    rows = []
    for n in _sizes(res):
        ig = res.get(("IgraphInDegree", n, 1))
        for t in _threads(res, "InDegree", n):
            r = res[("InDegree", n, t)]
            rows.append([_nodes(n), str(t), _ms(r), _meps(r), _ms(ig)])
    return _table(
        [
            "nodes",
            "threads",
            "hg_csr_in_degree ms",
            "M edges/s",
            "igraph_degree(IN) ms",
        ],
        rows,
    )


def _dominators(res: dict[Key, dict]) -> list[str]:
    rows = []
    for n in _sizes(res):
        ig = res.get(("IgraphDomTree", n, 1))
        for kernel in LEAK_KERNELS:
            for t in _threads(res, kernel, n):
                r = res[(kernel, n, t)]
                dom = kernel == "DomTree"
                rows.append(
                    [
                        _nodes(n),
                        LEAK_NAMES[kernel],
                        str(t),
                        _ms(r),
                        _mnps(r),
                        _ratio(ig, r) if dom else "—",
                    ]
                )
        if ig is not None:
            agree = ig.get("idoms_differ")
            name = "igraph_dominator_tree"
            if agree is not None:
                name += " (same idoms)" if agree == 0 else " (DIFFERENT idoms)"
            rows.append([_nodes(n), name, "1", _ms(ig), _mnps(ig), ""])
    return _table(
        [
            "nodes",
            "kernel",
            "threads",
            "ms",
            "M nodes/s",
            "vs igraph_dominator_tree",
        ],
        rows,
    )


def _scaling(res: dict[Key, dict]) -> list[str]:
    rows = []
    max_t = 1
    for n in _sizes(res):
        for kernel in CORE_KERNELS:
            ts = _threads(res, kernel, n)
            if len(ts) < 2 or ts[0] != 1:
                continue
            one, top = res[(kernel, n, 1)], res[(kernel, n, ts[-1])]
            max_t = max(max_t, ts[-1])
            rows.append(
                [
                    _nodes(n),
                    kernel,
                    _ms(one),
                    f"{_ms(top)} ({ts[-1]})",
                    _ratio(one, top),
                ]
            )
    return _table(
        ["nodes", "kernel", "1 thread ms", "N threads ms (N)", "speed-up"],
        rows,
    )


def _allocators(
    jem: dict[Key, dict], mal: dict[Key, dict], jem_name: str
) -> list[str]:
    rows = []
    keys = [
        k
        for k in set(jem) & set(mal)
        if k[0] in CORE_KERNELS and k[0] != "Memcpy"
    ]
    order = {k: i for i, k in enumerate(CORE_KERNELS)}
    for key in sorted(keys, key=lambda k: (k[1], order[k[0]], k[2])):
        kernel, n, t = key
        rows.append(
            [
                _nodes(n),
                kernel,
                str(t),
                _ms(jem[key]),
                _ms(mal[key]),
                _ratio(mal[key], jem[key]),
            ]
        )
    return _table(
        [
            "nodes",
            "kernel",
            "threads",
            f"{jem_name} ms",
            "malloc ms",
            f"malloc time / {jem_name} time",
        ],
        rows,
    )


def markdown(core_json_path: str | Path, malloc_json_path=None) -> str:
    """The core benchmark section of docs/benchmarks.md, as markdown.

    ``core_json_path`` is core_bench's JSON (jemalloc build);
    ``malloc_json_path`` the malloc build's, or None / a missing file to
    leave the allocator table out.
    """
    ctx, res = load(core_json_path)
    mal_ctx, mal = {}, {}
    if malloc_json_path is not None and Path(malloc_json_path).exists():
        mal_ctx, mal = load(malloc_json_path)
    alloc = ctx.get("hg_allocator", "jemalloc")
    lines = [
        "## Core kernels (C, Google Benchmark)",
        "",
        f"`bench/core_bench.cc` on {ctx.get('num_cpus', '?')} CPUs "
        f"({ctx.get('date', '?')}), allocator {alloc}, "
        f"igraph {ctx.get('igraph_version', '—')}; medians of the "
        "repetitions, wall-clock time.  Synthetic heap-shaped graphs "
        "(`bench/heap_graphs.h`): power-law in-degree, long chains and "
        "rings, about 2.5 references per object.  GB/s counts the bytes a "
        "kernel must read plus those it must write (10^9 bytes); edges/s "
        "counts the out-edges of the nodes a search reaches.",
        "",
        *_graphs(res),
        "",
        "### Transpose against the memory-bandwidth ceiling and igraph",
        "",
        "memcpy copies the edge array (read + write) on the same threads; "
        "igraph_create builds igraph's out- and in-indexes from the edge "
        "list, the work capture + transpose do here.",
        "",
        *_transpose(res),
        "",
        "### Searches against igraph",
        "",
        "Single-source searches start from the same root as igraph's; "
        "`BfsMulti` and `Reach` start from every type object and module "
        "dict at once (igraph has no multi-source BFS).  'vs' columns: "
        "how many times faster than igraph.",
        "",
        *_searches(res),
        "",
        "### In-degree",
        "",
        "igraph_degree reads in-degrees off the index igraph_create built; "
        "hg_csr_in_degree counts them from the forward edges.",
        "",
        *_in_degree(res),
        "",
        "### Dominator tree, retained sizes, cycles",
        "",
        "hg_domtree_build (SEMI-NCA) and igraph_dominator_tree "
        "(Lengauer–Tarjan) answer the same question: the dominator tree "
        "below a virtual root with an edge to every root (type objects, "
        "sys.modules, module dicts); igraph gets that root as an extra "
        "vertex, added outside the timing.  Their idoms are compared "
        "once below 2M nodes.  hg_domtree_retained sums sizes up that "
        "tree; hg_scc finds the strongly connected components (reference "
        "cycles).  'vs' column: how many times faster than igraph.",
        "",
        *_dominators(res),
        "",
        "### Thread scaling",
        "",
        *_scaling(res),
        "",
    ]
    if mal:
        mal_name = mal_ctx.get("hg_allocator", "malloc")
        lines += [
            f"### {alloc} against {mal_name}",
            "",
            "The same kernels from a build with `-DHG_WITH_JEMALLOC=OFF`. "
            "Warm runs reuse what the allocator kept from the previous "
            "iteration; *Cold runs first return free pages to the system, "
            "so they pay page faults on every array they write.  Below 1: "
            "malloc is faster.  jemalloc 5 does not keep freed blocks of "
            "8 MiB or more (its oversize arena), so its warm runs fault "
            "their large arrays in again; the malloc build's shim keeps "
            "them (core/src/alloc.c).",
            "",
            *_allocators(res, mal, alloc),
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    print(markdown(argv[1], argv[2] if len(argv) == 3 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
