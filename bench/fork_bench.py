"""fork_bench.py -- snapshot(pin=False, fork=True) against one tp_traverse
pass and the in-process capture, on the benchmark heap (benchlib).

The heaps: N instances of a plain class holding a list (about 2N tracked
objects), N = 1M, 3M and 10M by default (--sizes), each size in a fresh
child process.  Measured in the same process, on the same heap:

- one tp_traverse pass (``gc.get_referrers(object())``, median): the
  floor of any walk of the heap, which every in-process capture pays with
  the GIL held;
- the in-process detached capture (``snapshot(pin=False)``): its pause
  (GIL held) and total;
- ``snapshot(pin=False, fork=True)``: its pause (the fork: the time the
  program's threads were stopped), the ratio pause / tp_traverse pass
  (the issue's budget: at most 0.3), the child's total (its wall time),
  the parent's wall time for the call, and the child's extra memory
  (``Snapshot.fork_extra_bytes``: pages copied on write, its tables, the
  graph it hands back), next to the process's RSS;
- a background thread incrementing a counter: its progress while the
  main thread waits for the child, as a fraction of its progress alone
  over the same time (1.0: not hindered at all).  On 2 cores the child
  and the counter share the machine with nothing else of ours.

    python bench/fork_bench.py [--sizes 1000000,3000000,10000000]
        [--repeat 3] [--repeat-large 2] [--json build/fork_bench.json]
        [--markdown build/fork_bench.md]

The Markdown is included in docs/benchmarks.md by heap_bench.py.
Wall-clock medians on a shared machine: read the ratios.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import threading
import time

from benchlib import (
    build_heap,
    fmt_s,
    human,
    median_time,
    one_traverse_pass,
    progress,
    run_in_child,
    run_worker,
    sizes_arg,
    table,
)

_KEEP = []


def rss_bytes():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


class Counter:
    """A thread that increments a counter as fast as it can (the GIL
    shared with the main thread) until stopped."""

    def __init__(self):
        self.n = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        stop = self._stop
        while not stop.is_set():
            for _ in range(1000):
                self.n += 1

    def rate_during(self, fn):
        """(fn's result, counts per second while fn ran, fn's seconds)."""
        n0, t0 = self.n, time.perf_counter()
        res = fn()
        t = time.perf_counter() - t0
        return res, (self.n - n0) / t, t

    def rate_alone(self, seconds):
        """Counts per second while the main thread sleeps."""
        n0, t0 = self.n, time.perf_counter()
        time.sleep(seconds)
        return (self.n - n0) / (time.perf_counter() - t0)

    def stop(self):
        self._stop.set()
        self._thread.join()


def measure(n, repeat):
    import objgraph

    progress('building %s instances...' % human(n))
    rss0 = rss_bytes()
    _KEEP.append(build_heap(n))
    gc.collect()
    gc.disable()
    result = {'instances': n, 'tracked': len(gc.get_objects()),
              'heap_rss_bytes': rss_bytes() - rss0}
    progress('one tp_traverse pass, in-process capture...')
    result['floor_s'] = median_time(one_traverse_pass, repeat)
    pauses, totals = [], []
    for _ in range(repeat):
        snap = objgraph.snapshot(pin=False)
        pauses.append(snap.pause_seconds)
        totals.append(snap.capture_seconds)
        nodes, edges = len(snap), snap.num_edges
        del snap
    result.update(inproc_pause_s=statistics.median(pauses),
                  inproc_total_s=statistics.median(totals),
                  nodes=nodes, edges=edges)
    progress('fork=True...')
    quiet = []
    for _ in range(repeat):
        snap = objgraph.snapshot(pin=False, fork=True)
        quiet.append(dict(pause_s=snap.pause_seconds,
                          child_s=snap.capture_seconds,
                          extra_bytes=snap.fork_extra_bytes,
                          nodes=len(snap)))
        del snap
    progress('fork=True, with a counting thread...')
    counter = Counter()
    try:
        rows = []
        for _ in range(repeat):
            snap, during, wall = counter.rate_during(
                lambda: objgraph.snapshot(pin=False, fork=True))
            alone = counter.rate_alone(wall)
            rows.append(dict(pause_s=snap.pause_seconds,
                             child_s=snap.capture_seconds, wall_s=wall,
                             progress=during / alone if alone else None))
            del snap
    finally:
        counter.stop()
    for key in ('pause_s', 'child_s', 'extra_bytes'):
        result['fork_' + key] = statistics.median(r[key] for r in quiet)
    for key in ('pause_s', 'child_s', 'wall_s', 'progress'):
        result['busy_' + key] = statistics.median(r[key] for r in rows)
    result['fork_nodes'] = quiet[-1]['nodes']
    result['rss_bytes'] = rss_bytes()
    return result


def worker(plan_json, out_path):
    run_worker(lambda plan: measure(plan['instances'], plan['repeat']),
               plan_json, out_path)


def run_sizes(args):
    results = []
    for i, n in enumerate(args.sizes):
        repeat = args.repeat if i == 0 else args.repeat_large
        progress('== %s instances (repeat %d) ==' % (human(n), repeat))
        result = run_in_child(__file__, {'instances': n, 'repeat': repeat},
                              args.size_timeout)
        results.append(result if 'error' in result
                       else dict(result, repeat=repeat))
    return results


def mb(nbytes):
    return '%.0f' % (nbytes / 2 ** 20)


def markdown(doc):
    ok = [r for r in doc['sizes'] if 'error' not in r]
    lines = [
        '## Capture in a forked child (`fork=True`)', '',
        'Generated by `make bench` (`python bench/fork_bench.py`), Python '
        '%s, %d CPUs, %s. Medians of %s runs per size, each size in a '
        'fresh process. "fork pause" is the time the program\'s threads '
        'were stopped (the fork); "/ pass" divides it by one tp_traverse '
        'pass (`gc.get_referrers(object())`) on the same heap, the floor '
        'of any in-process capture\'s pause. "child" is the child\'s '
        'wall time; "extra" the child\'s memory beyond the program\'s '
        '(`Snapshot.fork_extra_bytes`), next to the process\'s RSS.' % (
            doc['python'], doc['cpus'], doc['date'],
            '/'.join(str(r.get('repeat', '?')) for r in doc['sizes'])),
        '']
    rows = []
    for r in ok:
        rows.append([
            human(r['instances']), '%d' % r['tracked'],
            fmt_s(r['floor_s']), fmt_s(r['inproc_pause_s']),
            fmt_s(r['inproc_total_s']), fmt_s(r['fork_pause_s']),
            '%.3f' % (r['fork_pause_s'] / r['floor_s']),
            fmt_s(r['fork_child_s']), mb(r['fork_extra_bytes']),
            mb(r['rss_bytes'])])
    lines += table(
        ['instances', 'tracked', 'tp_traverse pass (s)',
         'in-process pause (s)', 'in-process total (s)', 'fork pause (s)',
         'fork pause / pass', 'child (s)', 'extra (MB)', 'RSS (MB)'],
        'lrrrrrrrrr', rows)
    lines += ['', 'The same with a thread incrementing a counter all along '
              '(the service\'s other threads): the fork\'s pause, the '
              'child\'s time (the two now share the 2 cores), the '
              'caller\'s wall time, and the counter\'s progress while '
              'the caller waited, as a fraction of its progress alone '
              'over as long.', '']
    lines += table(
        ['instances', 'fork pause (s)', 'fork pause / pass', 'child (s)',
         'caller wall (s)', 'counter progress'], 'lrrrrr',
        [[human(r['instances']), fmt_s(r['busy_pause_s']),
          '%.3f' % (r['busy_pause_s'] / r['floor_s']),
          fmt_s(r['busy_child_s']), fmt_s(r['busy_wall_s']),
          '%.2f' % r['busy_progress'] if r['busy_progress'] else '—']
         for r in ok])
    for r in doc['sizes']:
        if 'error' in r:
            lines += ['', '%s instances failed: %s' % (
                human(r['instances']), r['error'])]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', type=sizes_arg,
                   default=[1_000_000, 3_000_000, 10_000_000])
    p.add_argument('--repeat', type=int, default=3,
                   help='runs of each measurement at the first size')
    p.add_argument('--repeat-large', type=int, default=2,
                   help='runs of each measurement at the other sizes')
    p.add_argument('--size-timeout', type=float, default=1800.0)
    p.add_argument('--json')
    p.add_argument('--markdown')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    p.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.worker_out)
    doc = {'python': platform.python_version(), 'cpus': os.cpu_count(),
           'date': time.strftime('%Y-%m-%d'), 'repeat': args.repeat,
           'sizes': run_sizes(args)}
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(doc, f, indent=1)
    text = markdown(doc)
    print(text)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(text)
    return 0 if all('error' not in r for r in doc['sizes']) else 1


if __name__ == '__main__':
    sys.exit(main())
