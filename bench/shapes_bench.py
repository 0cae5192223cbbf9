"""shapes_bench.py -- the capture on heaps shaped like real programs
(bench/shapes.py: plain, ast, json, mixed), against the same heap's
``gc.collect()`` and one tp_traverse pass, with the targets of issue 15.

Each (shape, size, capture) runs in a fresh child process of this
interpreter (OBJGRAPH_CAPTURE set to the capture): it builds the heap,
collects once, disables the collector, and takes the process's first
snapshot -- cold: the memory a capture uses is fresh, as a user in a REPL
sees it -- then one untimed warm-up of each operation, then --repeat
rounds of: a detached snapshot (``pin=False``), a pinned one (the
default), one ``gc.collect()``, one tp_traverse pass
(``gc.get_referrers(object())``).  Interleaved rounds put each figure and
its peer under the same machine load.  Reported, medians of the rounds:

- pause (``snap.pause_seconds``, the GIL held) / one tp_traverse pass;
- total (``snap.capture_seconds``) / ``gc.collect()``, detached and pinned;
- the first snapshot's total / a warm one's, and / ``gc.collect()``.

Targets (issue 15): pause <= 2.5x one pass; total <= 0.5x gc.collect(),
pinned and detached; the first snapshot <= 1.5x a warm one and <= 0.7x
gc.collect().

    python bench/shapes_bench.py [--shapes plain,ast,json,mixed]
        [--sizes 1000000,3000000] [--captures native,portable]
        [--repeat 3] [--json build/shapes_bench.json]
        [--markdown build/shapes_bench.md] [--section docs/benchmarks.md]
    python bench/shapes_bench.py --from-json RUN.json [RUN.json ...]

Sizes are tracked objects the heap adds (not instances).  --from-json runs
nothing: every figure is the median of the runs' figures.  --section puts
the section "Heap shapes" into a page heap_bench.py wrote.  With the
defaults, about 4 minutes on the 2-core machine (the ast heap takes 8 s
per million objects to build).
"""

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import (  # noqa: E402
    ROOT,
    human,
    one_traverse_pass,
    progress,
    run_worker,
    sizes_arg,
    table,
)

BUILD = os.path.join(ROOT, 'build')
TARGETS = {'pause_pass': 2.5, 'detached_collect': 0.5,
           'pinned_collect': 0.5, 'cold_warm': 1.5, 'cold_collect': 0.7}
HEADER = ('heap', 'capture', 'tracked objects', 'nodes', 'pause / pass',
          'detached total / gc.collect()', 'pinned total / gc.collect()',
          'first / warm', 'first / gc.collect()', 'pause (s)',
          'detached total (s)', 'gc.collect() (s)', 'one pass (s)', 'load')

# the heap under measurement, kept until the worker's os._exit()
_KEEP = []


def _median(xs):
    return statistics.median(xs)


def measure(plan):
    import shapes

    import objgraph

    load = os.getloadavg()[0]
    gc.collect()
    before = len(gc.get_objects())
    t0 = time.perf_counter()
    _KEEP.append(shapes.build(plan['shape'], plan['size']))
    build_s = time.perf_counter() - t0
    gc.collect()
    gc.disable()
    tracked = len(gc.get_objects()) - before

    snap = objgraph.snapshot(pin=False)  # the process's first: cold
    if snap.capture_kind != plan['capture']:
        raise RuntimeError('asked for the %s capture, got %s'
                           % (plan['capture'], snap.capture_kind))
    cold = snap.capture_seconds
    snap.close()
    del snap
    gc.collect()
    one_traverse_pass()
    objgraph.snapshot().close()

    rounds = {k: [] for k in ('pause', 'detached', 'pinned', 'collect',
                              'pass')}
    for _ in range(plan['repeat']):
        snap = objgraph.snapshot(pin=False)
        rounds['pause'].append(snap.pause_seconds)
        rounds['detached'].append(snap.capture_seconds)
        nodes, edges = len(snap), snap.num_edges
        phases = dict(snap._g.phase_seconds)
        snap.close()
        del snap
        with objgraph.snapshot() as snap:
            rounds['pinned'].append(snap.capture_seconds)
        del snap
        t0 = time.perf_counter()
        gc.collect()
        rounds['collect'].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        one_traverse_pass()
        rounds['pass'].append(time.perf_counter() - t0)
    med = {k: _median(v) for k, v in rounds.items()}
    return {'shape': plan['shape'], 'size': plan['size'],
            'capture': plan['capture'], 'repeat': plan['repeat'],
            'python': sys.version.split()[0], 'build_s': build_s,
            'tracked': tracked, 'nodes': nodes, 'edges': edges,
            'cold_s': cold, 'rounds': rounds, 'phases_s': phases,
            'loadavg': [load, os.getloadavg()[0]],
            **{k + '_s': v for k, v in med.items()}}


def figures(cell):
    return {'pause_pass': cell['pause_s'] / cell['pass_s'],
            'detached_collect': cell['detached_s'] / cell['collect_s'],
            'pinned_collect': cell['pinned_s'] / cell['collect_s'],
            'cold_warm': cell['cold_s'] / cell['detached_s'],
            'cold_collect': cell['cold_s'] / cell['collect_s']}


def worker(plan_json, out_path):
    run_worker(measure, plan_json, out_path)


def run_one(plan, timeout):
    fd, out = tempfile.mkstemp(prefix='shapes_bench.', suffix='.json')
    os.close(fd)
    env = dict(os.environ, OBJGRAPH_CAPTURE=plan['capture'])
    try:
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--worker',
             json.dumps(plan), '--worker-out', out], env=env, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError('exit status %d' % proc.returncode)
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def run(args):
    cells = []
    for shape in args.shapes:
        for size in args.sizes:
            for capture in args.captures:
                plan = {'shape': shape, 'size': size, 'capture': capture,
                        'repeat': args.repeat}
                t0 = time.perf_counter()
                try:
                    cell = run_one(plan, args.timeout)
                except (RuntimeError, OSError, ValueError,
                        subprocess.SubprocessError) as e:
                    progress('  %s %s %s: failed: %s' % (
                        shape, human(size), capture, e))
                    cells.append(dict(plan, error=str(e)))
                    continue
                cells.append(cell)
                f = figures(cell)
                progress('  %-6s %4s %-8s pause/pass %.2f  detached/collect '
                         '%.2f  pinned/collect %.2f  first/warm %.2f  '
                         'first/collect %.2f  (%.0f s)' % (
                             shape, human(size), capture, f['pause_pass'],
                             f['detached_collect'], f['pinned_collect'],
                             f['cold_warm'], f['cold_collect'],
                             time.perf_counter() - t0))
    return cells


def median_runs(runs):
    """One list of cells, each figure the median of the runs' (ratios the
    median of the runs' ratios, kept under 'figures')."""
    merged = []
    for i, cell in enumerate(runs[0]['cells']):
        same = [r['cells'][i] for r in runs if i < len(r['cells'])
                and 'error' not in r['cells'][i]]
        if not same:
            merged.append(cell)
            continue
        out = dict(same[0])
        for k in ('pause_s', 'detached_s', 'pinned_s', 'collect_s', 'pass_s',
                  'cold_s'):
            out[k] = _median([c[k] for c in same])
        figs = [figures(c) for c in same]
        out['figures'] = {k: _median([f[k] for f in figs]) for k in figs[0]}
        out['loadavg'] = [min(c['loadavg'][0] for c in same),
                          max(c['loadavg'][1] for c in same)]
        merged.append(out)
    return merged


def verdict(value, key):
    target = TARGETS[key]
    if value <= target:
        return '%.2f (meets ≤ %g)' % (value, target)
    return '%.2f (**misses** ≤ %g by %d%%)' % (
        value, target, round(100 * (value / target - 1)))


def rows(cells):
    out = []
    for c in cells:
        if 'error' in c:
            out.append([c['shape'], c['capture'], '—', '—',
                        'failed: %s' % c['error']] + ['—'] * 9)
            continue
        f = c.get('figures') or figures(c)
        out.append([c['shape'] + ' ' + human(c['size']), c['capture'],
                    str(c['tracked']), str(c['nodes']),
                    verdict(f['pause_pass'], 'pause_pass'),
                    verdict(f['detached_collect'], 'detached_collect'),
                    verdict(f['pinned_collect'], 'pinned_collect'),
                    verdict(f['cold_warm'], 'cold_warm'),
                    verdict(f['cold_collect'], 'cold_collect'),
                    '%.4f' % c['pause_s'], '%.4f' % c['detached_s'],
                    '%.4f' % c['collect_s'], '%.4f' % c['pass_s'],
                    '%.1f–%.1f' % tuple(c['loadavg'])])
    return out


def phase_rows(cells):
    out = []
    for c in cells:
        if 'error' in c:
            continue
        ph = c['phases_s']
        out.append([c['shape'] + ' ' + human(c['size']), c['capture']] +
                   ['%.1f' % (1000 * ph.get(k, 0)) for k in
                    ('prepare', 'chase', 'walk', 'restore', 'calls',
                     'finish')])
    return out


def page(doc):
    cells = doc['cells']
    lines = ['## Heap shapes', '',
             'Generated by `python bench/shapes_bench.py` (run by `make '
             'bench`); do not edit by hand. %s CPython %s, %s, %d CPUs. '
             'Each (heap, size, capture) in a fresh child process; '
             'medians of %d rounds after a warm-up; "first" is the '
             "process's first snapshot (cold memory). Heaps "
             '(bench/shapes.py): plain (instances of one class, each with '
             'a list), ast (the standard library parsed), json (service '
             'records loaded with json.loads), mixed (dicts of every size, '
             'sets, `__slots__` classes, materialized `__dict__`s, '
             'dataclasses, closures, bound methods, deques, defaultdicts, '
             'tuples, strings, floats, big ints). Sizes are tracked objects '
             'the heap adds.' % (doc['provenance'], doc['python'],
                                 doc['machine'], doc['cpus'],
                                 doc['repeat']),
             '',
             'Targets (issue 15): pause ≤ 2.5× one tp_traverse pass; total '
             '≤ 0.5× `gc.collect()`, detached and pinned; the first '
             'snapshot ≤ 1.5× a warm one and ≤ 0.7× `gc.collect()`.', '']
    lines += table(HEADER, 'llrrrrrrrrrrrr', rows(cells))
    lines += ['', 'Milliseconds per phase of a warm detached capture '
              '(`snap._g.phase_seconds`):', '']
    lines += table(('heap', 'capture', 'prepare', 'chase', 'walk', 'restore',
                    'calls', 'finish'), 'llrrrrrr', phase_rows(cells))
    return '\n'.join(lines) + '\n'


def splice(path, text):
    """Replace the section '## Heap shapes' of the page at path (up to the
    next '## ' heading) with text, or append it."""
    with open(path) as f:
        old = f.read()
    start = old.find('\n## Heap shapes\n')
    if start < 0:
        new = old.rstrip('\n') + '\n\n' + text
    else:
        end = old.find('\n## ', start + 1)
        new = old[:start + 1] + text + (old[end:] if end >= 0 else '')
    with open(path, 'w') as f:
        f.write(new)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--shapes', default='plain,ast,json,mixed',
                    help='heap shapes, comma-separated')
    ap.add_argument('--sizes', type=sizes_arg, default=[1000000, 3000000],
                    help='tracked objects per heap, comma-separated')
    ap.add_argument('--captures', default='native,portable',
                    help='captures to measure (the native one is left out '
                         'where it was not built)')
    ap.add_argument('--repeat', type=int, default=3,
                    help='timed rounds per cell after the warm-up')
    ap.add_argument('--timeout', type=float, default=900,
                    help='give up on a cell after this long (seconds)')
    ap.add_argument('--json', help='write the results here')
    ap.add_argument('--markdown', help='write the section here')
    ap.add_argument('--section', metavar='PAGE',
                    help='put the section "Heap shapes" into this page')
    ap.add_argument('--note', default='', help='a sentence on the run')
    ap.add_argument('--from-json', nargs='+', metavar='PATH')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.worker_out)
        return 0
    if args.repeat < 1:
        ap.error('--repeat must be >= 1')
    if args.from_json:
        runs = []
        for path in args.from_json:
            with open(path) as f:
                runs.append(json.load(f))
        doc = dict(runs[0], cells=median_runs(runs))
        doc['provenance'] = ('Medians of %d runs (%s).' % (
            len(runs), ', '.join(r['date'] for r in runs))
            if len(runs) > 1 else 'One run (%s).' % runs[0]['date'])
    else:
        args.shapes = [s.strip() for s in args.shapes.split(',') if s.strip()]
        import shapes
        bad = [s for s in args.shapes if s not in shapes.SHAPES]
        if bad:
            ap.error('--shapes: unknown %s (known: %s)' % (
                ', '.join(bad), ', '.join(shapes.SHAPES)))
        args.captures = [c.strip() for c in args.captures.split(',')]
        if 'native' in args.captures and not _native_built():
            progress('native capture not built for this Python: portable '
                     'only')
            args.captures = [c for c in args.captures if c != 'native']
        doc = {'date': datetime.datetime.now(datetime.timezone.utc).strftime(
                   '%Y-%m-%d %H:%M UTC'),
               'python': sys.version.split()[0],
               'machine': platform.machine(), 'cpus': os.cpu_count(),
               'repeat': args.repeat, 'cells': run(args)}
        doc['provenance'] = 'One run (%s).' % doc['date']
    if args.note:
        doc['provenance'] += ' ' + args.note
    if args.json and not args.from_json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)),
                    exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(doc, f, indent=1)
    text = page(doc)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(text)
    if args.section:
        splice(args.section, text)
    if not (args.markdown or args.section):
        sys.stdout.write(text)
    return 0


def _native_built():
    env = {k: v for k, v in os.environ.items() if k != 'OBJGRAPH_CAPTURE'}
    out = subprocess.run(
        [sys.executable, '-c', 'import objgraph; '
         'print(objgraph.snapshot(pin=False).capture_kind)'],
        capture_output=True, text=True, env=env, cwd=BUILD)
    return out.stdout.strip() == 'native'


if __name__ == '__main__':
    sys.exit(main())
