"""canary_bench.py -- what a round of objgraph.canary costs, against a full
garbage collection of the same heap, on the benchmark heap (benchlib).

The figures docs/canary.rst quotes under "What it costs": per round, the
pause (``pause_seconds``: the GIL held), the round's time in all (capture,
file written, files loaded back and analysed), the file written
(``file_bytes``) and the round's memory (``memory_bytes``: the capture
plus the file loaded and analysed).

The heaps: N instances of a plain class holding a list (about 2N tracked
objects, 4N snapshot nodes), N = 750k by default (--sizes): 3M nodes, the
heap the docs describe.  Each size runs in a fresh child process.
Measured in that process, on the same heap:

- ``gc.collect()`` (median of --repeat): the peer, a full collection of
  the same heap, which the docs compare the pause with;
- a canary started on a temporary directory (``keep=3``, no budget) and
  asked for --rounds rounds with ``trigger()``, the heap unchanged
  between rounds (a leak changes the analysis little, the heap's size is
  what costs); each round's report gives ``pause_seconds``,
  ``capture_seconds``, ``analysis_seconds``, ``file_bytes`` and
  ``memory_bytes``, and an outside clock around ``trigger()`` up to the
  report gives the round's total.  The first rounds analyse fewer files
  than ``keep``; the medians are over the rounds with a full window (the
  third on), the pause's range over every round.

    python bench/canary_bench.py [--sizes 750000] [--rounds 5]
        [--repeat 3] [--json build/canary_bench.json]
        [--markdown build/canary_bench.md]

Wall-clock medians on a shared machine: read the ratios.
"""

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time

from benchlib import (
    build_heap,
    fmt_s,
    human,
    median_time,
    progress,
    run_in_child,
    run_worker,
    sizes_arg,
    table,
)

_KEEP = []  # the heap, alive until the worker exits
_WINDOW = 3  # the canary's keep: rounds from the third on analyse 3 files
_ROUND_TIMEOUT = 3600.0


def rss_bytes():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def _rounds(n_rounds):
    """Start a canary, ask it for ``n_rounds`` rounds one after the other,
    stop it: one dict per round (its report's figures and the round's
    wall time, trigger to report)."""
    import objgraph.canary

    directory = tempfile.mkdtemp(prefix='canary_bench.')
    done = threading.Semaphore(0)
    canary = objgraph.canary.start(
        interval=24 * 3600, directory=directory, keep=_WINDOW,
        max_pause=None, max_bytes=None, on_report=lambda r: done.release())
    rows = []
    try:
        for i in range(n_rounds):
            progress('  round %d of %d...' % (i + 1, n_rounds))
            t0 = time.perf_counter()
            canary.trigger()
            if not done.acquire(timeout=_ROUND_TIMEOUT):
                raise RuntimeError('round %d did not report within %g s'
                                   % (i + 1, _ROUND_TIMEOUT))
            wall = time.perf_counter() - t0
            report = canary.last_report
            if report.get('errors') or report.get('snapshot') is None:
                raise RuntimeError('round %d failed: %s' % (
                    i + 1, report.get('errors') or report.get('skipped')))
            rows.append({key: report[key] for key in (
                'nodes', 'edges', 'pause_seconds', 'capture_seconds',
                'analysis_seconds', 'bytes', 'file_bytes', 'memory_bytes')})
            rows[-1]['round_seconds'] = wall
    finally:
        objgraph.canary.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return rows


def measure(plan):
    n = plan['instances']
    progress('building %s instances...' % human(n))
    _KEEP.append(build_heap(n))
    gc.collect()
    result = {'instances': n, 'tracked': len(gc.get_objects()),
              'blocks': sys.getallocatedblocks()}
    progress('gc.collect()...')
    result['gc_collect_s'] = median_time(gc.collect, plan['repeat'])
    rss0 = rss_bytes()
    rows = _rounds(plan['rounds'])
    result['rss_growth_bytes'] = rss_bytes() - rss0
    full = rows[_WINDOW - 1:] or rows
    pauses = [r['pause_seconds'] for r in rows]
    result.update(
        rounds=len(rows), full_rounds=len(full),
        nodes=rows[-1]['nodes'], edges=rows[-1]['edges'],
        pause_min_s=min(pauses), pause_max_s=max(pauses))
    for key in ('pause_seconds', 'capture_seconds', 'analysis_seconds',
                'round_seconds', 'bytes', 'file_bytes', 'memory_bytes'):
        result[key] = statistics.median(r[key] for r in full)
    result['per_round'] = rows
    return result


def worker(plan_json, out_path):
    run_worker(measure, plan_json, out_path)


def run_sizes(args):
    results = []
    for n in args.sizes:
        progress('== %s instances (%d rounds) ==' % (human(n), args.rounds))
        results.append(run_in_child(
            __file__, {'instances': n, 'rounds': args.rounds,
                       'repeat': args.repeat}, args.size_timeout))
    return results


def mb(nbytes):
    return '%.0f' % (nbytes / 1e6)


def markdown(doc):
    ok = [r for r in doc['sizes'] if 'error' not in r]
    lines = [
        '## What a canary round costs', '',
        'Generated by `make bench` (`python bench/canary_bench.py`), Python '
        '%s, %d CPUs, %s. One canary (`keep=%d`, no budget) asked for %d '
        'rounds on an unchanged heap, each size in a fresh process; '
        'medians over the rounds that analyse a full window (the third '
        'on). "pause" is `pause_seconds` (the GIL held; its range over '
        'every round beside it), "/ gc.collect()" divides it by a full '
        'collection of the same heap (median of %d); "round" is the '
        'wall time from `trigger()` to the report (capture, file '
        'written, files loaded back and analysed); "file" is '
        '`file_bytes`, "memory" `memory_bytes` (the capture plus the '
        'file loaded and analysed). MB: 10^6 bytes.' % (
            doc['python'], doc['cpus'], doc['date'], _WINDOW,
            doc['rounds'], doc['repeat']),
        '']
    rows = []
    for r in ok:
        rows.append([
            human(r['instances']), '%d' % r['nodes'], '%d' % r['edges'],
            '%d' % r['blocks'], fmt_s(r['gc_collect_s']),
            fmt_s(r['pause_seconds']),
            '%s–%s' % (fmt_s(r['pause_min_s'], 3),
                       fmt_s(r['pause_max_s'], 3)),
            '%.2f' % (r['pause_seconds'] / r['gc_collect_s']),
            fmt_s(r['round_seconds'], 2), mb(r['file_bytes']),
            '%.1f' % (r['file_bytes'] / r['nodes']),
            mb(r['memory_bytes'])])
    lines += table(
        ['instances', 'nodes', 'edges', 'blocks', 'gc.collect() (s)',
         'pause (s)', 'pause range (s)', 'pause / gc.collect()',
         'round (s)', 'file (MB)', 'file bytes / node', 'memory (MB)'],
        'lrrrrrrrrrrr', rows)
    for r in doc['sizes']:
        if 'error' in r:
            lines += ['', '%s instances failed: %s' % (
                human(r['instances']), r['error'])]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', type=sizes_arg, default=[750_000],
                   help='heap sizes in instances (default 750000: 3M '
                        'snapshot nodes)')
    p.add_argument('--rounds', type=int, default=5,
                   help='canary rounds per size, %d or more (default 5)'
                        % _WINDOW)
    p.add_argument('--repeat', type=int, default=3,
                   help='runs of gc.collect() per size (default 3)')
    p.add_argument('--size-timeout', type=float, default=3600.0)
    p.add_argument('--json')
    p.add_argument('--markdown')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    p.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.worker_out)
    if args.rounds < _WINDOW:
        p.error('--rounds must be %d or more' % _WINDOW)
    doc = {'python': platform.python_version(), 'cpus': os.cpu_count(),
           'date': time.strftime('%Y-%m-%d'), 'rounds': args.rounds,
           'repeat': args.repeat, 'sizes': run_sizes(args)}
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
