"""draw_bench.py -- drawing object graphs: objgraph's engine against
objgraph 3.7.0 on a heap of a million instances, and graphviz on a big
drawing.

    python bench/draw_bench.py [--instances 1000000] [--repeat 5]
                               [--json build/draw_bench.json]
                               [--markdown build/draw_bench.md]

Rows:

- ``show_backrefs(max_depth=3)`` of one leaked object: on a snapshot
  (the reverse graph built on first use, "first", then warm), module-level
  (a capture included), and objgraph 3.7.0 on the same heap, which runs
  ``gc.collect()`` and one ``gc.get_referrers`` heap scan per drawn node;
- ``show_refs(root, max_depth=4, too_many=100000, filename='big.png')`` of
  a 20k-node cyclic graph, rendered by ``sfdp`` (the default above 500
  nodes), next to ``dot`` on the same DOT file, stopped after
  ``--dot-timeout`` seconds.

Timings are wall-clock medians on a shared machine: read the ratios.
"""

import argparse
import gc
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import load_reference, median_time, progress

import objgraph


class Instance:
    def __init__(self, i):
        self.index = i
        self.values = [i, None]


class Leak:
    pass


class Cache:
    """Where the leak is kept: a module-level registry of instances."""


def dot_text(fn, obj, max_depth=3, too_many=10):
    """fn's DOT text, called with plain arguments (no tuple of them, which
    would be one more referrer)."""
    out = io.StringIO()
    fn(obj, max_depth=max_depth, too_many=too_many, output=out)
    return out.getvalue()


def plant_leak(n_holders):
    """A leaked object kept from this module in ``n_holders`` ways, as
    leaks are: each holder (an instance in a registry) keeps it in a
    container of its own -- a list, a dict, a set, an attribute.  The
    drawing at max_depth=3 has about 2 * n_holders + 3 nodes."""
    target = Leak()
    registry = Cache()
    registry.holders = []
    for i in range(n_holders):
        holder = Cache()
        kind = i % 4
        if kind == 0:
            holder.items = [Leak() for _ in range(5)] + [target]
        elif kind == 1:
            holder.items = {'leak-%d' % j: Leak() for j in range(5)}
            holder.items['leak-7'] = target
        elif kind == 2:
            holder.items = {Leak() for _ in range(5)} | {target}
        else:
            holder.item = target
        registry.holders.append(holder)
    sys.modules[__name__].REGISTRY = registry  # reachable from a module
    return target


def backrefs_rows(n_instances, repeat, ref_repeat, holders=(4, 16)):
    ref = load_reference()
    progress('building %d instances...' % n_instances)
    heap = [Instance(i) for i in range(n_instances)]
    rows = []
    result = {'instances': n_instances, 'rows': rows}

    def add(name, ours, peer):
        rows.append({'operation': name, 'ours_s': ours,
                     'peer': 'objgraph 3.7.0', 'peer_s': peer,
                     'speedup': peer / ours})
        progress('  %-56s %9.5f s  objgraph 3.7.0 %8.4f s  %8.1fx'
                 % (name, ours, peer, peer / ours))

    for n_holders in holders:
        target = plant_leak(n_holders)
        gc.collect()
        # objgraph 3.7.0's first drawing creates the instance dicts it
        # reads: draw once so that every drawing sees the same heap
        dot_text(ref.show_backrefs, target, max_depth=3)
        expected = dot_text(ref.show_backrefs, target, max_depth=3)
        nodes = expected.count('[fillcolor=')
        what = 'show_backrefs(leak, max_depth=3), %d nodes' % nodes
        progress(what + '...')
        theirs = median_time(
            lambda t=target: dot_text(ref.show_backrefs, t, max_depth=3),
            ref_repeat)
        firsts, warms = [], []
        for _ in range(repeat):
            with objgraph.snapshot() as snap:
                t0 = time.perf_counter()
                got = dot_text(snap.show_backrefs, target, max_depth=3)
                firsts.append(time.perf_counter() - t0)
                warms.append(median_time(
                    lambda t=target, s=snap: dot_text(s.show_backrefs, t,
                                                      max_depth=3), repeat))
        if got != expected:
            progress("  warning: the DOT text differs from objgraph 3.7.0's")
            for name, text in (('ref', expected), ('ours', got)):
                with open('/tmp/draw_bench_%s.dot' % name, 'w') as f:
                    f.write(text)
        add('snap.' + what + ', first', statistics.median(firsts), theirs)
        add('snap.' + what + ', warm', statistics.median(warms), theirs)
        add('objgraph.' + what + ', capture included',
            median_time(lambda t=target: dot_text(objgraph.show_backrefs, t,
                                                  max_depth=3), repeat),
            theirs)
        result.setdefault('identical_dot', []).append(got == expected)
    result['tracked'] = len(gc.get_objects())
    sys.modules[__name__].REGISTRY = None
    heap.clear()
    return result


def cyclic_graph(n_nodes, degree, seed=1):
    """A root list holding n_nodes lists, each referring to ``degree``
    random others: a cyclic graph like a heap's, n_nodes + 1 drawn nodes
    at max_depth >= 1."""
    rnd = random.Random(seed)
    nodes = [[] for _ in range(n_nodes)]
    for node in nodes:
        node.extend(rnd.choice(nodes) for _ in range(degree))
    return nodes


def render_rows(n_nodes, dot_timeout):
    root = cyclic_graph(n_nodes, 2)
    workdir = tempfile.mkdtemp(prefix='draw_bench-')
    png = os.path.join(workdir, 'big.png')
    progress('show_refs of a %d-node cyclic graph, sfdp...' % (n_nodes + 1))
    t0 = time.perf_counter()
    objgraph.show_refs(root, max_depth=4, too_many=100000, filename=png)
    t_total = time.perf_counter() - t0
    t0 = time.perf_counter()
    text = dot_text(objgraph.show_refs, root, max_depth=4, too_many=100000)
    t_dot_text = time.perf_counter() - t0
    dot_file = os.path.join(workdir, 'big.dot')
    with open(dot_file, 'w') as f:
        f.write(text)
    progress('  the same DOT file with dot (stopped after %g s)...'
             % dot_timeout)
    t0 = time.perf_counter()
    try:
        subprocess.run(['dot', '-Tpng', '-o', os.path.join(workdir, 'd.png'),
                        dot_file], timeout=dot_timeout, check=True,
                       capture_output=True)
        t_dot = time.perf_counter() - t0
        dot_done = True
    except subprocess.TimeoutExpired:
        t_dot = dot_timeout
        dot_done = False
    result = {'nodes': text.count('[fillcolor='),
              'edges': text.count(' -> '),
              'show_refs_sfdp_png_s': t_total,
              'dot_text_s': t_dot_text,
              'png_bytes': os.path.getsize(png),
              'dot_png_s': t_dot, 'dot_finished': dot_done}
    progress('  %(nodes)d nodes, %(edges)d edges: show_refs to PNG with sfdp '
             '%(show_refs_sfdp_png_s).1f s (DOT text %(dot_text_s).1f s); '
             'dot %(dot_png_s).0f s' % result
             + ('' if dot_done else ' and not finished'))
    return result


def markdown(backrefs, render):
    lines = [
        '## Drawing (`bench/draw_bench.py`)',
        '',
        'show_backrefs of one leaked object among %d instances (%d tracked '
        'objects), kept in 4 and in 16 places, against objgraph 3.7.0 on '
        'the same heap (its `gc.collect()` and one `gc.get_referrers` heap '
        'scan per drawn node). "first": on a fresh snapshot (it builds the '
        'reverse graph); "warm": asked again. Medians; ratio = objgraph '
        '3.7.0 / ours. The DOT text was identical to objgraph 3.7.0\'s: %s.'
        % (backrefs['instances'], backrefs['tracked'],
           ', '.join(map(str, backrefs['identical_dot']))),
        '',
        '| operation | ours (s) | objgraph 3.7.0 (s) | ratio |',
        '|---|---:|---:|---:|',
    ]
    for row in backrefs['rows']:
        lines.append('| %s | %.5f | %.4f | %.1fx |'
                     % (row['operation'], row['ours_s'], row['peer_s'],
                        row['speedup']))
    lines += [
        '',
        '`show_refs(root, max_depth=4, too_many=100000, filename="big.png")` '
        'of a cyclic graph of %d nodes and %d edges: %.1f s in all with '
        '`sfdp` (the default above 500 nodes), of which %.1f s writing the '
        'DOT text; `dot` on the same file: %s.'
        % (render['nodes'], render['edges'], render['show_refs_sfdp_png_s'],
           render['dot_text_s'],
           ('%.0f s' % render['dot_png_s']) if render['dot_finished']
           else 'not finished after %.0f s' % render['dot_png_s']),
        '',
    ]
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--instances', type=int, default=1_000_000)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--ref-repeat', type=int, default=3)
    p.add_argument('--render-nodes', type=int, default=20_000)
    p.add_argument('--dot-timeout', type=float, default=120)
    p.add_argument('--json', help='write the results here')
    p.add_argument('--markdown', help='write the tables here')
    args = p.parse_args()
    backrefs = backrefs_rows(args.instances, args.repeat, args.ref_repeat)
    render = render_rows(args.render_nodes, args.dot_timeout)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'backrefs': backrefs, 'render': render}, f, indent=1)
    text = markdown(backrefs, render)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(text)
    print(text)


if __name__ == '__main__':
    main()
