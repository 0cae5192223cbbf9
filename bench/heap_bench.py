"""heap_bench.py -- objgraph's engine against objgraph 3.7.0 and gc.collect()
on a synthetic heap built in this process.

The heap: N instances (default 1M) of a plain class, each holding a list
of a few values and a shared type -- about 2N tracked objects and 8N
references.  For each operation the benchmark reports the median of
several runs of ours, of the peer on the same heap, and their ratio.

    python bench/heap_bench.py [--instances 1000000] [--repeat 3]
                               [--markdown docs/benchmarks.md]

The reference objgraph 3.7.0 is loaded from OBJGRAPH_REF_PATH (``make
bench`` installs it) under the name objgraph_ref.  Timings are wall-clock
medians on a shared machine: read the ratios, not the absolute numbers.
"""

import argparse
import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import time

import objgraph


class Instance:
    def __init__(self, i):
        self.index = i
        self.name = 'item'
        self.values = [i, i + 1, None]


class Leak:
    pass


def load_reference():
    path = os.environ.get('OBJGRAPH_REF_PATH', 'build/ref/objgraph.py')
    spec = importlib.util.spec_from_file_location('objgraph_ref', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def run(n_instances, repeat, ref_repeat):
    ref = load_reference()
    progress('building %d instances...' % n_instances)
    heap = [Instance(i) for i in range(n_instances)]
    leak = {i: Leak() for i in range(1000)}  # noqa: F841 -- found below
    gc.collect()
    gc.disable()
    rows = []
    result = {'instances': n_instances, 'python': sys.version.split()[0],
              'machine': platform.machine(), 'cpus': os.cpu_count(),
              'allocator': objgraph._heapgraph.allocator(), 'rows': rows}

    def add(name, ours, peer_name, peer):
        rows.append({'operation': name, 'ours_s': ours, 'peer': peer_name,
                     'peer_s': peer, 'speedup': peer / ours if ours else None})
        progress('  %-44s %9.5f s  %-22s %9.4f s  %9.1fx'
                 % (name, ours, peer_name, peer, peer / ours))

    progress('gc.collect() on the same heap...')
    t_collect = median_time(gc.collect, repeat)
    pauses, totals = [], []
    for _ in range(repeat + 1):
        snap = objgraph.snapshot(pin=False)
        pauses.append(snap.pause_seconds)
        totals.append(snap.capture_seconds)
        n_nodes, n_edges, nbytes = len(snap), snap.num_edges, snap.nbytes
        snap.close()
        del snap
    result.update(nodes=n_nodes, edges=n_edges, snapshot_bytes=nbytes,
                  tracked=len(gc.get_objects()))
    # the first capture of a process pays the kernel's page faults on
    # fresh memory; later ones reuse it
    add('snapshot: GIL pause, first', pauses[0], 'gc.collect()', t_collect)
    add('snapshot: GIL pause', statistics.median(pauses[1:]), 'gc.collect()',
        t_collect)
    add('snapshot: total, first', totals[0], 'gc.collect()', t_collect)
    add('snapshot: total', statistics.median(totals[1:]), 'gc.collect()',
        t_collect)

    progress('queries on a snapshot vs objgraph 3.7.0...')
    queries = [
        ('typestats()', lambda s: s.typestats(), ref.typestats),
        ("count('Instance')", lambda s: s.count('Instance'),
         lambda: ref.count('Instance')),
        ("by_type('Leak')", lambda s: s.by_type('Leak'),
         lambda: ref.by_type('Leak')),
        ('most_common_types()', lambda s: s.most_common_types(),
         ref.most_common_types),
    ]
    for name, ours, theirs in queries:
        # first: the query on a fresh snapshot; then: asked again (the
        # snapshot keeps what it computed: it is frozen)
        firsts = []
        for _ in range(repeat):
            with objgraph.snapshot() as snap:
                t0 = time.perf_counter()
                ours(snap)
                firsts.append(time.perf_counter() - t0)
                again = median_time(lambda s=snap, q=ours: q(s), repeat)
        peer = median_time(theirs, ref_repeat)
        add('snap.%s, first' % name, statistics.median(firsts),
            'objgraph 3.7.0', peer)
        add('snap.%s, again' % name, again, 'objgraph 3.7.0', peer)
    chained = objgraph.snapshot()
    target = leak[7]
    add('snap.find_backref_chain(leak, module)',
        median_time(lambda: chained.find_backref_chain(
            target, objgraph.is_proper_module), repeat),
        'objgraph 3.7.0',
        median_time(lambda: ref.find_backref_chain(
            target, ref.is_proper_module), ref_repeat))
    chained.close()

    progress('module-level functions (capture included)...')
    for name, ours, theirs in [
        ('typestats()', objgraph.typestats, ref.typestats),
        ("count('Instance')", lambda: objgraph.count('Instance'),
         lambda: ref.count('Instance')),
        ('get_leaking_objects()', objgraph.get_leaking_objects,
         ref.get_leaking_objects),
        ('show_growth()', lambda: objgraph.growth(peak_stats={}),
         lambda: ref.growth(peak_stats={})),
    ]:
        add('objgraph.' + name, median_time(ours, repeat), 'objgraph 3.7.0',
            median_time(theirs, ref_repeat))
    gc.enable()
    del heap
    return result


def markdown(result):
    lines = [
        '# Benchmarks',
        '',
        'Generated by `make bench` (`python bench/heap_bench.py --markdown '
        'docs/benchmarks.md`); do not edit by hand.',
        '',
        '## objgraph on a 1M-instance heap, against objgraph 3.7.0 and '
        '`gc.collect()`',
        '',
        'Each row: the median wall time of our operation and of the peer on '
        'the same heap in the same process, and the ratio peer / ours '
        '(above 1: we are faster). "first" is the first capture of the '
        'process (it pays the kernel\'s page faults on fresh memory) or the '
        'first query on a fresh snapshot; the other rows are warm.',
        '',
        '| operation | ours (s) | peer | peer (s) | ratio |',
        '|---|---:|---|---:|---:|',
    ]
    for r in result['rows']:
        lines.append('| %s | %.5f | %s | %.4f | %.1fx |' % (
            r['operation'], r['ours_s'], r['peer'], r['peer_s'],
            r['speedup']))
    lines.append('')
    lines.append('Heap: %d instances, %d tracked objects; snapshot %d nodes '
                 '(tracked objects and distinct untracked referents), %d '
                 'edges, %.1f MB. Python %s, %s, %d CPUs, allocator %s.' % (
                     result['instances'], result['tracked'], result['nodes'],
                     result['edges'], result['snapshot_bytes'] / 1e6,
                     result['python'], result['machine'], result['cpus'],
                     result['allocator']))
    return '\n'.join(lines) + '\n'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--instances', type=int, default=1_000_000)
    p.add_argument('--repeat', type=int, default=5,
                   help='runs of our operations (median)')
    p.add_argument('--ref-repeat', type=int, default=3,
                   help='runs of the peer operations (median)')
    p.add_argument('--json', help='write the results here')
    p.add_argument('--markdown', help='write the table here')
    args = p.parse_args(argv)
    if args.instances < 1 or args.repeat < 1 or args.ref_repeat < 1:
        p.error('--instances, --repeat and --ref-repeat must be >= 1')
    result = run(args.instances, args.repeat, args.ref_repeat)
    table = markdown(result)
    print(table)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
