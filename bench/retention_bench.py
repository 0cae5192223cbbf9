"""retention_bench.py -- retention paths for every instance of a leaking
type at once, on a heap of about 2M tracked objects with 100k leaked
instances, against objgraph 3.7.0's find_backref_chain for one of them.

    python bench/retention_bench.py [--instances 1000000] [--leaks 100000]
                                    [--repeat 3] [--json PATH]
                                    [--markdown PATH]

Rows (wall-clock medians; the machine is shared, read the ratios):

- ``snapshot()``: the capture the analysis runs on;
- ``snap.retention_paths('Leak')``, first: on a fresh snapshot, so it
  includes the reverse graph, the roots and the multi-source BFS; then
  "again" on the same snapshot;
- objgraph 3.7.0's ``find_backref_chain(leak, is_proper_module)`` for
  one instance, and that time times the number of instances: what asking
  it for every instance would cost;
- the snapshot saved to a file (``snap.save``) and loaded back
  (``objgraph.load``): time and bytes per node.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import types

from benchlib import load_reference, median_time, progress

import objgraph


class Instance:
    def __init__(self, i):
        self.index = i
        self.values = [i, None]


class Leak:
    def __init__(self, i):
        self.payload = 'x%d' % i


def build(n_instances, n_leaks):
    heap = [Instance(i) for i in range(n_instances)]
    app = types.ModuleType('retention_bench_app')
    # two ways in, as leaks have: a cache dict of lists, and a registry
    app._cache = {'k%d' % (i % 100): [] for i in range(100)}
    app._registry = []
    for i in range(n_leaks):
        leak = Leak(i)
        if i % 2:
            app._cache['k%d' % (i % 100)].append(leak)
        else:
            app._registry.append(leak)
    sys.modules[app.__name__] = app
    return heap, app


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--instances', type=int, default=1_000_000)
    p.add_argument('--leaks', type=int, default=100_000)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--json', help='write the results here')
    p.add_argument('--markdown', help='write the tables here')
    args = p.parse_args(argv)
    ref = load_reference()
    progress('building %d instances and %d leaks...'
             % (args.instances, args.leaks))
    heap, app = build(args.instances, args.leaks)
    gc.collect()
    gc.disable()
    tracked = len(gc.get_objects())

    captures, firsts, agains = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        snap = objgraph.snapshot(pin=False)
        captures.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        groups = snap.retention_paths('Leak', limit=None)
        firsts.append(time.perf_counter() - t0)
        agains.append(median_time(
            lambda s=snap: s.retention_paths('Leak', limit=None), 3))
        snap.close()
    progress('saving and loading a snapshot file...')
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'heap.hgsnap')
        with objgraph.snapshot(pin=False) as snap:
            t0 = time.perf_counter()
            snap.save(path)
            save_s = time.perf_counter() - t0
            n_nodes, n_edges = len(snap), snap.num_edges
        file_bytes = os.path.getsize(path)
        t0 = time.perf_counter()
        loaded = objgraph.load(path)
        load_s = time.perf_counter() - t0
        del loaded
    covered = sum(g.count for g in groups)
    leak = app._registry[-1]
    progress('objgraph 3.7.0 find_backref_chain for one instance...')
    chain_s = median_time(
        lambda: ref.find_backref_chain(leak, ref.is_proper_module), 1)
    result = {
        'instances': args.instances, 'leaks': args.leaks,
        'repeat': args.repeat,
        'tracked': tracked,
        'snapshot_s': statistics.median(captures),
        'retention_paths_first_s': statistics.median(firsts),
        'retention_paths_again_s': statistics.median(agains),
        'groups': [(' -> '.join(g.signature), g.count) for g in groups],
        'instances_with_a_path': covered,
        'ref_find_backref_chain_one_s': chain_s,
        'ref_every_instance_s': chain_s * args.leaks,
        'nodes': n_nodes, 'edges': n_edges, 'file_bytes': file_bytes,
        'save_s': save_s, 'load_s': load_s,
    }
    gc.enable()
    print('%d tracked objects, %d Leak instances' % (tracked, args.leaks))
    print('snapshot():                                  %8.3f s'
          % result['snapshot_s'])
    print("snap.retention_paths('Leak'), first:         %8.3f s  "
          '(%d instances in %d groups)'
          % (result['retention_paths_first_s'], covered, len(groups)))
    print("snap.retention_paths('Leak'), again:         %8.3f s"
          % result['retention_paths_again_s'])
    for sig, count in result['groups']:
        print('    %7d  %s' % (count, sig))
    print('objgraph 3.7.0 find_backref_chain, one:      %8.3f s'
          % chain_s)
    print('  ... for each of the %d instances:      %8.0f s (%.1f h), '
          '%.0fx the first retention_paths'
          % (args.leaks, result['ref_every_instance_s'],
             result['ref_every_instance_s'] / 3600,
             result['ref_every_instance_s']
             / result['retention_paths_first_s']))
    print('snapshot file: %d bytes for %d nodes and %d edges: %.1f bytes '
          'per node (%.1f per node + 4 per edge); saved in %.2f s, loaded '
          'in %.3f s' % (file_bytes, n_nodes, n_edges, file_bytes / n_nodes,
                         (file_bytes - 4 * n_edges) / n_nodes, save_s,
                         load_s))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(result))
    return 0


def markdown(r):
    every = r['ref_every_instance_s']
    lines = [
        '## Retention paths in bulk, and snapshot files '
        '(`bench/retention_bench.py`)',
        '',
        '%d instances of a plain class and %d leaked `Leak` objects, half '
        'in a module-level list, half in lists in a module-level dict: %d '
        'tracked objects.  `retention_paths` gives every leaked object its '
        'shortest path from a root in one multi-source BFS and groups the '
        'paths; objgraph 3.7.0 answers for one object at a time '
        '(`find_backref_chain`), so every instance would cost its time '
        '%d times.  Medians of %d runs; "first" on a fresh snapshot '
        '(reverse graph, roots and BFS included).'
        % (r['instances'], r['leaks'], r['tracked'], r['leaks'],
           r['repeat']),
        '',
        '| operation | seconds |',
        '|---|---:|',
        '| `snapshot(pin=False)` | %.3f |' % r['snapshot_s'],
        "| `snap.retention_paths('Leak')`, first: %d objects in %d groups "
        '| %.3f |' % (r['instances_with_a_path'], len(r['groups']),
                      r['retention_paths_first_s']),
        "| `snap.retention_paths('Leak')`, again | %.3f |"
        % r['retention_paths_again_s'],
        '| objgraph 3.7.0 `find_backref_chain(leak, is_proper_module)`, '
        'one object | %.3f |' % r['ref_find_backref_chain_one_s'],
        '| ... for every one of the %d objects (%.1f h): %.0fx the first '
        '`retention_paths` | %.0f |'
        % (r['leaks'], every / 3600, every / r['retention_paths_first_s'],
           every),
        '',
        'The groups: ' + '; '.join('%d `%s`' % (count, sig)
                                   for sig, count in r['groups']) + '.',
        '',
        'The same heap saved with `snap.save()`: %d bytes for %d nodes and '
        '%d edges, %.1f bytes per node (%.1f per node plus 4 per edge), '
        'written in %.2f s; `objgraph.load()` maps it back in %.3f s.'
        % (r['file_bytes'], r['nodes'], r['edges'],
           r['file_bytes'] / r['nodes'],
           (r['file_bytes'] - 4 * r['edges']) / r['nodes'], r['save_s'],
           r['load_s']),
        '',
    ]
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
