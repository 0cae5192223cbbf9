"""heap_bench.py -- objgraph's engine against gc.collect(), one tp_traverse
pass, objgraph 3.7.0, guppy3 and pympler on real heaps built in-process.

The heaps: N instances of a plain class, each holding a list of a few
values, plus 1000 planted Leak objects -- about 2N tracked objects, 4N
snapshot nodes and 8N references.  N is 1M, 3M and 10M by default
(--sizes); 1M is the main heap, the one earlier figures are quoted on.
Each size runs in a fresh child process, so its first capture really is
the process's first (cold: fresh memory, page faults) and the heap is
given back to the system before the next one is built.

For each operation the benchmark reports the median of several runs of
ours, of the peer on the same heap, and their ratio peer / ours (above 1:
we are faster):

- capture: snapshot pause (GIL held) and total, cold and warm, against
  ``gc.collect()`` and against one ``tp_traverse`` pass over the heap
  (``gc.get_referrers(object())``), the floor any heap walk pays;
- what a pinned snapshot, open, adds to every full ``gc.collect()`` (it
  takes part in collections and its traversal visits every pin);
- memory: snapshot bytes per node and per edge, process RSS;
- queries on a snapshot and objgraph's module-level functions, against
  objgraph 3.7.0 (loaded from OBJGRAPH_REF_PATH as objgraph_ref);
- type statistics against guppy3 (``hpy().heap().bytype``) and pympler
  (``summarize(muppy.get_objects())``), the shortest path from the roots
  against guppy3 (``hpy().iso(obj).sp``), and guppy3's ``domisize``.

Expensive peers (objgraph 3.7.0's get_leaking_objects, guppy3, pympler)
run at the smaller sizes only (--expensive-max), and any peer whose time,
extrapolated linearly from the previous size, would exceed --peer-limit
seconds is skipped; the generated page says which and why.

    python bench/heap_bench.py [--sizes 1000000,3000000,10000000]
        [--json build/heap_bench.json] [--markdown docs/benchmarks.md]
        [--plot docs/benchmarks.png]

The page also carries the C++ core harness tables (bench/core_report.py)
when ``make bench-core`` left build/core_bench.json and
build/core_bench_malloc.json.  Timings are wall-clock medians on a shared
2-core machine: read the ratios, not the absolute numbers.
"""

import argparse
import datetime
import gc
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (
    build_heap,
    fmt_s,
    human,
    load_reference,
    median_time,
    one_traverse_pass,
    progress,
    run_worker,
    sizes_arg,
    table,
    with_reverse_bytes,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORE_JSON = os.path.join(ROOT, 'build', 'core_bench.json')
CORE_MALLOC_JSON = os.path.join(ROOT, 'build', 'core_bench_malloc.json')
DRAW_MD = os.path.join(ROOT, 'build', 'draw_bench.md')
RETENTION_MD = os.path.join(ROOT, 'build', 'retention_bench.md')
FORK_MD = os.path.join(ROOT, 'build', 'fork_bench.md')
CANARY_MD = os.path.join(ROOT, 'build', 'canary_bench.md')

REF = 'objgraph 3.7.0'
COLLECT = 'gc.collect()'
FLOOR = 'one tp_traverse pass'
GUPPY = 'guppy3'
PYMPLER = 'pympler'

# peers that cost tens of seconds (and for objgraph 3.7.0's
# get_leaking_objects and guppy3, gigabytes) on the bigger heaps, and the
# option bounding the heap sizes they run at
EXPENSIVE = {'ref.get_leaking_objects': 'expensive_max',
             'guppy.heap': 'expensive_max', 'guppy.sp': 'expensive_max',
             'guppy.domisize': 'expensive_max',
             'pympler.summarize': 'pympler_max'}


# the heap under measurement, kept until the worker's os._exit(): freeing
# ten million objects one by one would take seconds for nothing
_KEEP = []


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


# -- one heap size, in a child process --------------------------------------

class Recorder:
    """Rows of one heap size: (group, operation, ours, peer, peer time)."""

    def __init__(self, plan):
        self.rows = []
        self.skip = plan['skip']

    def add(self, group, name, ours, peer_name, peer, peer_id=None,
            note=None):
        ratio = peer / ours if ours and peer else None
        self.rows.append({'group': group, 'operation': name, 'ours_s': ours,
                          'peer': peer_name, 'peer_s': peer,
                          'peer_id': peer_id, 'speedup': ratio,
                          'note': note})
        progress('  %-44s %10s  %-24s %10s  %8s' % (
            name, '-' if ours is None else '%.5f s' % ours, peer_name,
            '-' if peer is None else '%.4f s' % peer,
            '-' if ratio is None else '%.1fx' % ratio))

    def peer(self, peer_id, fn, repeat):
        """Median time of a peer, or (None, why it was skipped)."""
        if peer_id in self.skip:
            return None, self.skip[peer_id]
        return median_time(fn, repeat), None


def measure(plan):
    import objgraph

    n = plan['instances']
    repeat, ref_repeat = plan['repeat'], plan['ref_repeat']
    fresh = plan['fresh']
    ref = load_reference()
    rss0 = rss_bytes()
    progress('building %d instances...' % n)
    t0 = time.perf_counter()
    heap, leak = build_heap(n)
    build_s = time.perf_counter() - t0
    _KEEP.append((heap, leak))
    gc.collect()
    gc.disable()
    rec = Recorder(plan)
    add = rec.add
    result = {'instances': n, 'repeat': repeat, 'ref_repeat': ref_repeat,
              'build_s': build_s, 'heap_rss_bytes': rss_bytes() - rss0,
              'tracked': len(gc.get_objects()), 'rows': rec.rows,
              'fresh': fresh, 'peak_rss_after': {},
              'allocator': objgraph._heapgraph.allocator(),
              'threads': objgraph._heapgraph.num_threads()}

    # -- capture: the first capture of this process comes first ----------
    progress('captures, gc.collect() and one tp_traverse pass...')
    pauses, totals, phases, walls, saves = [], [], [], [], []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        snap = objgraph.snapshot(pin=False)
        # the whole call: the capture, and before it the thread stacks
        # read and objgraph's own objects listed
        walls.append(time.perf_counter() - t0)
        # its bytes as captured (saving computes, and keeps, what its
        # labels and notes need: the roots and the paths from them)
        n_nodes, n_edges, nbytes = len(snap), snap.num_edges, snap.nbytes
        pauses.append(snap.pause_seconds)
        totals.append(snap.capture_seconds)
        phases.append(snap._g.phase_seconds)
        snap.close()
        del snap
    # saved, after the captures: the labels and notes looked up, the file
    # written (between captures, a save of several seconds would let the
    # allocator give the last capture's memory back -- core/src/alloc.c --
    # and the next capture would no longer be a warm one)
    for _ in range(repeat):
        with objgraph.snapshot(pin=False) as snap, \
                tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            snap.save(os.path.join(tmp, 'bench.hgsnap'))
            saves.append(time.perf_counter() - t0)
    t_collect = median_time(gc.collect, repeat)
    t_floor = median_time(one_traverse_pass, repeat)
    result.update(nodes=n_nodes, edges=n_edges, snapshot_bytes=nbytes,
                  collect_s=t_collect, floor_s=t_floor,
                  pause_first_s=pauses[0],
                  pause_s=statistics.median(pauses[1:]),
                  total_first_s=totals[0],
                  total_s=statistics.median(totals[1:]),
                  call_s=statistics.median(walls[1:]),
                  save_s=statistics.median(saves),
                  phases_s={k: statistics.median(p[k] for p in phases[1:])
                            for k in phases[1]})
    for what, key in (('GIL pause', 'pause'), ('total', 'total')):
        add('capture', 'snapshot: %s, first' % what, result[key + '_first_s'],
            COLLECT, t_collect)
        add('capture', 'snapshot: %s' % what, result[key + '_s'], COLLECT,
            t_collect)
    add('capture', 'objgraph.snapshot(): whole call (thread stacks and own '
        'objects included)', result['call_s'], COLLECT, t_collect)
    add('capture', 'snap.save(): labels, notes and the file',
        result['save_s'], COLLECT, t_collect)
    add('capture', 'snapshot: GIL pause, first', result['pause_first_s'],
        FLOOR, t_floor)
    add('capture', 'snapshot: GIL pause', result['pause_s'], FLOOR, t_floor)
    collect_with_pinned(objgraph, result, repeat)
    result['peak_rss_after']['capture'] = peak_rss_bytes()

    # -- queries on a frozen snapshot ------------------------------------
    progress('queries on a snapshot vs objgraph 3.7.0...')
    queries = [
        ('typestats()', lambda s: s.typestats(), 'ref.typestats',
         ref.typestats),
        ("count('Instance')", lambda s: s.count('Instance'), 'ref.count',
         lambda: ref.count('Instance')),
        ("by_type('Leak')", lambda s: s.by_type('Leak'), 'ref.by_type',
         lambda: ref.by_type('Leak')),
        ('most_common_types()', lambda s: s.most_common_types(),
         'ref.most_common_types', ref.most_common_types),
    ]
    for name, ours, peer_id, theirs in queries:
        # first: the query on a fresh snapshot; then: asked again (the
        # snapshot keeps what it computed: it is frozen)
        firsts = []
        for _ in range(fresh):
            with objgraph.snapshot() as snap:
                t0 = time.perf_counter()
                ours(snap)
                firsts.append(time.perf_counter() - t0)
                again = median_time(lambda s=snap, q=ours: q(s), repeat)
            del snap  # before the next capture: a 10M heap's is 1.6 GB
        peer, note = rec.peer(peer_id, theirs, ref_repeat)
        add('snapshot', 'snap.%s, first' % name, statistics.median(firsts),
            REF, peer, peer_id, note)
        add('snapshot', 'snap.%s, again' % name, again, REF, peer, peer_id,
            note)
    target = leak[7]
    chained = objgraph.snapshot()
    ours = median_time(lambda: chained.find_backref_chain(
        target, objgraph.is_proper_module), repeat)
    chained.close()
    chained = None
    ref_chain, note = rec.peer(
        'ref.find_backref_chain',
        lambda: ref.find_backref_chain(target, ref.is_proper_module),
        ref_repeat)
    add('snapshot', 'snap.find_backref_chain(leak, module)', ours, REF,
        ref_chain, 'ref.find_backref_chain', note)
    # Leak analysis: every planted Leak's path from a root at once, against
    # objgraph 3.7.0's search for ONE of them; and the first retained size
    # (the whole dominator tree) on a fresh snapshot.
    paths_s, retained_s = [], []
    for _ in range(repeat):
        for times, query in ((paths_s, lambda s: s.retention_paths(
                'Leak', limit=5)), (retained_s, lambda s: s.retained_size(
                    leak))):
            analysed = objgraph.snapshot()  # each query on a fresh one
            t0 = time.perf_counter()
            answer = query(analysed)
            times.append(time.perf_counter() - t0)
            if times is paths_s:
                groups = answer
            analysed.close()
            analysed = None
    result['retention_paths'] = [(list(g.signature), g.count)
                                 for g in groups]
    add('snapshot', "snap.retention_paths('Leak'): all %d leaks"
        % sum(g.count for g in groups), statistics.median(paths_s), REF,
        ref_chain, 'ref.find_backref_chain',
        note or 'peer: find_backref_chain for one leak')
    result['retained_first_s'] = statistics.median(retained_s)
    result['peak_rss_after']['queries'] = peak_rss_bytes()

    # -- module-level functions: each takes its own capture --------------
    progress('module-level functions (capture included)...')
    module_rows = [
        ('typestats()', objgraph.typestats, 'ref.typestats', ref.typestats),
        ("count('Instance')", lambda: objgraph.count('Instance'),
         'ref.count', lambda: ref.count('Instance')),
        ('get_leaking_objects()', objgraph.get_leaking_objects,
         'ref.get_leaking_objects', ref.get_leaking_objects),
        ('show_growth()', lambda: objgraph.growth(peak_stats={}),
         'ref.growth', lambda: ref.growth(peak_stats={})),
    ]
    module_s = {}
    for name, ours, peer_id, theirs in module_rows:
        module_s[name] = median_time(ours, repeat)
        peer, note = rec.peer(peer_id, theirs, ref_repeat)
        add('module', 'objgraph.' + name, module_s[name], REF, peer,
            peer_id, note)
    chain_s = median_time(lambda: objgraph.find_backref_chain(
        target, objgraph.is_proper_module), repeat)
    add('module', 'objgraph.find_backref_chain(leak, module)', chain_s, REF,
        ref_chain, 'ref.find_backref_chain',
        rec.skip.get('ref.find_backref_chain'))
    result['peak_rss_after']['module'] = peak_rss_bytes()

    # -- guppy3 and pympler, last: guppy's heap() gives every instance a
    # real __dict__ (CPython 3.11 keeps them virtual until asked), which
    # changes the heap under any later measurement --------------------
    progress('pympler and guppy3 (one run each)...')
    peers_on_heap(rec, result, module_s['typestats()'], chain_s, target,
                  leak)
    result['peak_rss_bytes'] = result['peak_rss_after']['peers'] = (
        peak_rss_bytes())
    return result


def collect_with_pinned(objgraph, result, repeat):
    """gc.collect() on the heap as it is, and with a pinned snapshot of it
    open: the snapshot is a GC object whose traversal visits each of its
    pins, one per tracked object, in every full collection (young ones do
    not see it: it lives in the oldest generation).  ``repeat`` rounds of
    one collection without and one with a fresh pinned snapshot, back to
    back, in alternating order; medians of each and of the rounds'
    ratios (the ratio of a round is measured under one machine load)."""
    progress('gc.collect() with and without a pinned snapshot open...')
    without, with_pinned, ratios = [], [], []
    for i in range(repeat):
        if i % 2 == 0:
            without.append(median_time(gc.collect, 1))
        snap = objgraph.snapshot()
        pins = snap._g.n_tracked
        with_pinned.append(median_time(gc.collect, 1))
        snap.close()
        del snap
        if i % 2 == 1:
            without.append(median_time(gc.collect, 1))
        ratios.append(with_pinned[-1] / without[-1])
    result.update(collect_unpinned_s=statistics.median(without),
                  collect_pinned_s=statistics.median(with_pinned),
                  collect_pinned_ratio=statistics.median(ratios),
                  collect_pins=pins)
    progress('  gc.collect() %.4f s, with %d pins open %.4f s: %.2fx' % (
        result['collect_unpinned_s'], pins, result['collect_pinned_s'],
        result['collect_pinned_ratio']))


def peers_on_heap(rec, result, typestats_s, chain_s, target, leak):
    """Type statistics, a root path and a retained size from pympler and
    guppy3; one run each (guppy's first heap() changes the heap)."""
    # imported before the clocks start: an import is no part of an answer
    if 'pympler.summarize' not in rec.skip:
        from pympler import muppy, summary
    if not all(p in rec.skip for p in ('guppy.heap', 'guppy.sp',
                                       'guppy.domisize')):
        import guppy

    def pympler_summary():
        objs = muppy.get_objects()
        result['pympler_objects'] = len(objs)
        summary.summarize(objs)
        del objs

    def guppy_path():
        str(guppy.hpy().iso(target).sp)

    def guppy_domisize():
        result['guppy_domisize'] = guppy.hpy().iso(leak).domisize

    def guppy_bytype():
        h = guppy.hpy().heap()
        result['guppy_objects'] = h.count
        list(h.bytype.partition.get_rows())

    # measured in this order (guppy's heap() last), shown by question
    stats = 'type statistics (objgraph.typestats())'
    path = 'shortest path from the roots (objgraph.find_backref_chain)'
    times = {peer_id: rec.peer(peer_id, fn, 1) for peer_id, fn in (
        ('pympler.summarize', pympler_summary), ('guppy.sp', guppy_path),
        ('guppy.domisize', guppy_domisize), ('guppy.heap', guppy_bytype))}
    for name, ours, peer_name, peer_id in (
            (stats, typestats_s, GUPPY, 'guppy.heap'),
            (stats, typestats_s, PYMPLER, 'pympler.summarize'),
            (path, chain_s, GUPPY, 'guppy.sp'),
            ('retained size of a dict of 1000 objects (ours: the whole '
             'dominator tree, on a fresh snapshot)',
             result.get('retained_first_s'), GUPPY, 'guppy.domisize')):
        t, note = times[peer_id]
        rec.add('peers', name, ours, peer_name, t, peer_id, note)


def worker(plan_json, out_path):
    run_worker(measure, plan_json, out_path)


# -- the driver: one child per size ----------------------------------------

def plan_size(n, first, args, measured):
    """Repeats and skipped peers for heap size n.  measured: peer_id ->
    (instances, seconds) from the sizes already run."""
    skip = {}
    for peer_id, option in EXPENSIVE.items():
        most = getattr(args, option)
        if n > most:
            skip[peer_id] = ('expensive: run up to %s instances only '
                             '(--%s)' % (human(most),
                                         option.replace('_', '-')))
    for peer_id, (m, t) in measured.items():
        guess = t * n / m
        if peer_id not in skip and guess > args.peer_limit:
            skip[peer_id] = ('skipped: %.0f s expected (%.1f s at %s, '
                             'linear) > %g s' % (guess, t, human(m),
                                                 args.peer_limit))
    return {'instances': n, 'skip': skip,
            'repeat': args.repeat if first else args.repeat_large,
            'fresh': args.repeat if first else 1,
            'ref_repeat': args.ref_repeat if first else args.ref_repeat_large}


def run_sizes(args):
    results, measured, skipped = [], {}, {}
    for i, n in enumerate(args.sizes):
        plan = plan_size(n, i == 0, args, measured)
        # a peer skipped at a smaller size stays skipped
        for peer_id, why in skipped.items():
            plan['skip'].setdefault(peer_id, why)
        progress('== %s instances (repeat %d, peers %d) ==' % (
            human(n), plan['repeat'], plan['ref_repeat']))
        fd, out = tempfile.mkstemp(prefix='heap_bench.', suffix='.json')
        os.close(fd)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), '--worker',
                 json.dumps(plan), '--worker-out', out],
                timeout=args.size_timeout)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError('exit status %d' % proc.returncode)
            with open(out) as f:
                result = json.load(f)
        except (RuntimeError, subprocess.TimeoutExpired, OSError,
                ValueError) as e:
            progress('  %s instances failed: %s' % (human(n), e))
            results.append({'instances': n, 'error': str(e), 'plan': plan})
            continue
        finally:
            os.unlink(out)
        result['plan'] = plan
        result['wall_s'] = wall
        results.append(result)
        for row in result['rows']:
            pid = row['peer_id']
            if pid and row['peer_s'] is not None:
                measured[pid] = (n, row['peer_s'])
            elif pid and row['note']:
                skipped[pid] = row['note']
    return results


# -- plot -------------------------------------------------------------------

def row_time(result, operation, peer, ours=True):
    for r in result.get('rows', ()):
        if r['operation'] == operation and r['peer'] == peer:
            return r['ours_s'] if ours else r['peer_s']
    return None


PLOT_PANELS = [
    ('capture the heap', [
        ('snapshot: pause, cold', 'C0', '--', 'o',
         lambda r: r.get('pause_first_s')),
        ('snapshot: pause, warm', 'C0', '-', 'o',
         lambda r: r.get('pause_s')),
        ('snapshot: total, cold', 'C0', '-.', 's',
         lambda r: r.get('total_first_s')),
        ('snapshot: total, warm', 'C0', ':', 's',
         lambda r: r.get('total_s')),
        ('gc.collect()', 'C7', '-', 'x', lambda r: r.get('collect_s')),
        ('one tp_traverse pass', 'C7', '--', '+',
         lambda r: r.get('floor_s')),
    ]),
    ('type statistics, from scratch', [
        ('objgraph.typestats()', 'C0', '-', 'o',
         lambda r: row_time(r, 'objgraph.typestats()', REF)),
        ('objgraph 3.7.0 typestats()', 'C1', '-', 'v',
         lambda r: row_time(r, 'objgraph.typestats()', REF, False)),
        ('guppy3 heap().bytype', 'C2', '-', '^', lambda r: row_time(
            r, 'type statistics (objgraph.typestats())', GUPPY, False)),
        ('pympler summarize()', 'C3', '-', 'd', lambda r: row_time(
            r, 'type statistics (objgraph.typestats())', PYMPLER, False)),
    ]),
    ('leaks and paths, from scratch', [
        ('objgraph.get_leaking_objects()', 'C0', '-', 'o',
         lambda r: row_time(r, 'objgraph.get_leaking_objects()', REF)),
        ('objgraph 3.7.0 get_leaking_objects()', 'C1', '-', 'v',
         lambda r: row_time(r, 'objgraph.get_leaking_objects()', REF,
                            False)),
        ('objgraph.find_backref_chain()', 'C0', '--', 's', lambda r: row_time(
            r, 'objgraph.find_backref_chain(leak, module)', REF)),
        ('objgraph 3.7.0 find_backref_chain()', 'C1', '--', 'v',
         lambda r: row_time(r, 'objgraph.find_backref_chain(leak, module)',
                            REF, False)),
        ('guppy3 iso(obj).sp', 'C2', '--', '^', lambda r: row_time(
            r, 'shortest path from the roots (objgraph.find_backref_chain)',
            GUPPY, False)),
    ]),
]


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    ok = [r for r in results if 'rows' in r]
    fig, axes = plt.subplots(1, len(PLOT_PANELS), figsize=(15, 6.2),
                             sharey=True)
    for ax, (title, lines) in zip(axes, PLOT_PANELS):
        for label, color, style, marker, get in lines:
            pts = [(r['instances'], get(r)) for r in ok]
            pts = [(x, y) for x, y in pts if y]
            if pts:
                ax.plot(*zip(*pts), color=color, linestyle=style,
                        marker=marker, label=label)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(title)
        ax.set_xlabel('heap size (instances; x2 tracked objects)')
        ax.set_xticks([r['instances'] for r in ok])
        ax.set_xticklabels([human(r['instances']) for r in ok])
        ax.minorticks_off()
        ax.grid(True, which='major', alpha=0.3)
        ax.legend(fontsize=8, loc='upper center', ncol=2,
                  bbox_to_anchor=(0.5, -0.16))
    axes[0].set_ylabel('seconds (median wall time)')
    fig.suptitle('objgraph (blue) vs objgraph 3.7.0, guppy3, pympler, '
                 'gc.collect() -- missing points: peer skipped at that size',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- markdown ---------------------------------------------------------------

def fmt_ratio(r):
    if r is None:
        return '—'
    return '%.2fx' % r if r < 1 else '%.1fx' % r


def capture_tables(ok):
    lines = table(
        ['instances', 'tracked objects', 'tp_traverse pass (s)',
         'gc.collect() (s)', 'pause, cold (s)', 'pause, warm (s)',
         'total, cold (s)', 'total, warm (s)', 'pause / pass',
         'total / gc.collect()', 'whole call, warm (s)',
         'stacks and own objects (ms)', 'save (s)'],
        'lrrrrrrrrrrrr',
        [[human(r['instances']), '%d' % r['tracked'], fmt_s(r['floor_s']),
          fmt_s(r['collect_s']), fmt_s(r['pause_first_s']),
          fmt_s(r['pause_s']), fmt_s(r['total_first_s']),
          fmt_s(r['total_s']), '%.2f' % (r['pause_s'] / r['floor_s']),
          '%.2f' % (r['total_s'] / r['collect_s']),
          fmt_s(r['call_s']) if 'call_s' in r else '-',
          '%.1f' % (1e3 * (r['call_s'] - r['total_s']))
          if 'call_s' in r else '-',
          fmt_s(r['save_s']) if 'save_s' in r else '-'] for r in ok])
    lines += ['', '"whole call": `objgraph.snapshot(pin=False)` as a user '
              'times it: before the capture ("total") it reads every '
              'thread\'s stack (what names thread roots) and lists '
              'objgraph\'s own objects to leave out; the difference is '
              'that work.  "save": `snap.save()` to a temporary file, the '
              'labels and notes (what names the roots of a loaded file) '
              'included.']
    with_phases = [r for r in ok if r.get('phases_s')]
    if with_phases:
        names = list(with_phases[0]['phases_s'])
        lines += ['', 'Where a warm capture\'s time goes (median ms per '
                  'phase; `capture/capture.c` describes them): "chase" walks '
                  'the collector\'s lists, "walk" calls every tp_traverse '
                  '(over the engine\'s threads), "restore" puts the '
                  'reference counts and GC headers back; the GIL is held '
                  'from chase to calls.  "finish" (GIL released) numbers '
                  'the untracked objects and assembles the graph.', '']
        lines += table(['instances'] + names, 'l' + 'r' * len(names),
                       [[human(r['instances'])]
                        + ['%.1f' % (1e3 * r['phases_s'][k]) for k in names]
                        for r in with_phases])
    lines += collect_with_pinned_table(ok)
    lines += ['', 'Memory: the snapshot\'s own bytes (`snap.nbytes`, the '
              'forward graph and the node table, as captured), and with the '
              'reverse graph the first backward query adds (8 bytes of '
              'offset per node, 4 per edge: CSR); split into bytes per node '
              'and per edge (4 per edge forward: each reference is one '
              'uint32 target), against a budget of 40 per node + 8 per '
              'edge.  Then the process: RSS the heap added when built, peak '
              'RSS of the whole size\'s run (objgraph 3.7.0, guppy3 and '
              'pympler included where they ran).', '']

    def split(nbytes, r, per_edge):
        return '%.1f + %d' % ((nbytes - per_edge * r['edges']) / r['nodes'],
                              per_edge)

    def with_reverse(r):
        return with_reverse_bytes(r['snapshot_bytes'], r['nodes'],
                                  r['edges'])

    lines += table(
        ['instances', 'nodes', 'edges', 'snapshot (MB)',
         'bytes / node + / edge', 'with reverse (MB)',
         'bytes / node + / edge', 'of 40 / node + 8 / edge',
         'heap RSS (MB)', 'peak RSS (MB)'],
        'lrrrrrrrrr',
        [[human(r['instances']), '%d' % r['nodes'], '%d' % r['edges'],
          '%.1f' % (r['snapshot_bytes'] / 1e6),
          split(r['snapshot_bytes'], r, 4),
          '%.1f' % (with_reverse(r) / 1e6),
          split(with_reverse(r), r, 8),
          '%.0f%%' % (100 * with_reverse(r)
                      / (40 * r['nodes'] + 8 * r['edges'])),
          '%.0f' % (r['heap_rss_bytes'] / 1e6),
          '%.0f' % (r['peak_rss_bytes'] / 1e6)] for r in ok])
    return lines


def collect_with_pinned_table(ok):
    """What an open pinned snapshot adds to gc.collect(), per size (none
    for runs older than the measurement)."""
    measured = [r for r in ok if r.get('collect_pinned_s')]
    if not measured:
        return []
    lines = ['', 'A pinned snapshot takes part in garbage collection (a '
             'snapshot kept on an object it pins is freed with it): while '
             'it is open, every full `gc.collect()` also visits each of its '
             'pins, one per tracked object. Young collections do not: it '
             'is kept in the oldest generation. Each round times one '
             'collection of the same heap without and one with a fresh '
             'pinned snapshot open, back to back (in alternating order); '
             'medians over the rounds, and the median of the rounds\' '
             'ratios.', '']
    lines += table(
        ['instances', 'pins', 'gc.collect() (s)',
         'with a pinned snapshot open (s)', 'with / without'],
        'lrrrr',
        [[human(r['instances']), '%d' % r['collect_pins'],
          fmt_s(r['collect_unpinned_s']), fmt_s(r['collect_pinned_s']),
          '%.2f' % r['collect_pinned_ratio']] for r in measured])
    return lines


def main_table(r):
    rows = []
    for row in r['rows']:
        if row['group'] == 'peers':
            continue
        rows.append([row['operation'], fmt_s(row['ours_s'], 5), row['peer'],
                     fmt_s(row['peer_s']), fmt_ratio(row['speedup'])])
    return table(['operation', 'ours (s)', 'peer', 'peer (s)', 'ratio'],
                 'lrlrr', rows)


def scaling_table(ok):
    keys = []
    for r in ok:
        for row in r['rows']:
            key = (row['operation'], row['peer'])
            if key not in keys and row['group'] != 'peers':
                keys.append(key)
    rows = []
    for op, peer in keys:
        cells = [op, peer]
        for r in ok:
            found = [x for x in r['rows']
                     if (x['operation'], x['peer']) == (op, peer)]
            if not found:
                cells.append('')
                continue
            x = found[0]
            if x['peer_s'] is None:
                cells.append('%s / skipped' % fmt_s(x['ours_s']))
            else:
                cells.append('%s / %s (%s)' % (fmt_s(x['ours_s']),
                                               fmt_s(x['peer_s']),
                                               fmt_ratio(x['speedup'])))
        rows.append(cells)
    return table(['operation', 'peer'] + [human(r['instances'])
                                          for r in ok],
                 'll' + 'r' * len(ok), rows)


def peers_table(ok):
    rows = []
    for r in ok:
        for row in r['rows']:
            if row['group'] != 'peers':
                continue
            rows.append([human(r['instances']), row['operation'],
                         fmt_s(row['ours_s']), row['peer'],
                         fmt_s(row['peer_s']), fmt_ratio(row['speedup']),
                         row['note'] or ''])
    return table(['instances', 'question (ours)', 'ours (s)', 'peer',
                  'peer (s)', 'ratio', 'note'], 'llrlrrl', rows)


def plan_lines(results, args):
    """args: the run's options, as the dict kept in the JSON."""
    first = human(args['sizes'][0])
    lines = [
        '- Each size runs in its own child process: its first capture is '
        'the process\'s first (cold), and the heap is returned to the '
        'system before the next size is built.',
        '- At %s: our operations are the median of %d runs, a query\'s '
        '"first" the median over %d fresh snapshots, objgraph 3.7.0 the '
        'median of %d runs. At larger sizes, to keep within the time '
        'budget: %d runs of ours, one fresh snapshot per query, %d run(s) '
        'of objgraph 3.7.0.' % (
            first, args['repeat'], args['repeat'], args['ref_repeat'],
            args['repeat_large'], args['ref_repeat_large']),
        '- Expensive peers run once per size and only on the smaller '
        'heaps: objgraph 3.7.0\'s `get_leaking_objects` and guppy3 up to '
        '%s instances (`--expensive-max`), pympler, the slowest, up to %s '
        '(`--pympler-max`). This keeps `make bench`, the C++ core '
        'harness included, under 15 minutes on this '
        '2-core machine. Any peer whose time, extrapolated linearly from '
        'the previous size, would exceed %g s is skipped too '
        '(`--peer-limit`).' % (
            human(args['expensive_max']), human(args['pympler_max']),
            args['peer_limit']),
        '- guppy3 and pympler run after everything else: guppy3\'s '
        '`heap()` gives each instance a real `__dict__` (CPython 3.11 '
        'keeps instance dicts virtual until asked), adding a dict per '
        'instance and changing the heap under any later measurement.',
        '- guppy3 and pympler answer a broader question than objgraph\'s '
        'typestats: they count every reachable object, untracked ones '
        '(int, str) included, with their sizes.',
    ]
    for r in results:
        if 'error' in r:
            lines.append('- %s instances: **failed** (%s).'
                         % (human(r['instances']), r['error']))
            continue
        why_ids = {}
        for peer_id, why in r['plan']['skip'].items():
            why_ids.setdefault(why, []).append(peer_id)
        skipped = '; '.join('%s: %s' % (', '.join(sorted(ids)), why)
                            for why, ids in sorted(why_ids.items()))
        lines.append('- %s instances: built in %.1f s, the whole size took '
                     '%.0f s, peak RSS %.1f GB.%s' % (
                         human(r['instances']), r['build_s'], r['wall_s'],
                         r['peak_rss_bytes'] / 1e9,
                         ' Skipped: ' + skipped + '.' if skipped else ''))
    return lines


def kept_section(previous, heading, script):
    """The section of the page's previous version whose heading starts
    with ``heading`` (up to the next one), marked as kept, or None: a
    benchmark that did not run this time leaves its last tables in place
    rather than a gap."""
    lines = (previous or '').split('\n')
    for i, line in enumerate(lines):
        if line.startswith(heading):
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].startswith('## ')), len(lines))
            body = '\n'.join(
                x for x in lines[i + 1:end]
                if not x.startswith('*Kept from the previous')).strip('\n')
            return [line, '', '*Kept from the previous version of this '
                    'page: %s did not run this time.*' % script, '', body]
    return None


def core_section(previous=None):
    lines = ['## Core harness (C++, Google Benchmark)', '']
    if not os.path.exists(CORE_JSON):
        kept = kept_section(previous, '## Core ', '`make bench-core`')
        if kept:
            return kept
        return lines + [
            'The core harness did not run: no build/core_bench.json (`make '
            'bench-core` writes it, and build/core_bench_malloc.json).']
    try:
        spec = importlib.util.spec_from_file_location(
            'core_report', os.path.join(HERE, 'core_report.py'))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        text = mod.markdown(CORE_JSON, CORE_MALLOC_JSON
                            if os.path.exists(CORE_MALLOC_JSON) else None)
    except Exception as e:  # noqa: BLE001 -- report, keep the page
        return lines + ['The core harness ran, but bench/core_report.py '
                        'failed on its output: `%s: %s`.'
                        % (type(e).__name__, e)]
    when = datetime.datetime.fromtimestamp(
        os.path.getmtime(CORE_JSON), datetime.timezone.utc)
    note = ('Results of `make bench-core` (build/core_bench.json, written '
            '%s UTC).' % when.strftime('%Y-%m-%d %H:%M'))
    text = text.strip('\n')
    if text.startswith('## '):  # its own heading replaces ours
        heading, _, rest = text.partition('\n')
        return [heading, '', note, rest.rstrip('\n')]
    return lines + [note, '', text]


def included_section(path, title, script, previous=None):
    """The tables another benchmark script wrote, if `make bench` ran it
    first (else those of the page's previous version, if it had them)."""
    if not os.path.exists(path):
        kept = kept_section(previous, '## ' + title, script)
        if kept:
            return kept
        return ['## ' + title, '', '%s did not run: no %s (`make bench` '
                'writes it).' % (script, os.path.relpath(path, ROOT))]
    with open(path) as f:
        return [f.read().strip('\n')]


def draw_section(previous=None):
    """bench/draw_bench.py's tables."""
    return included_section(DRAW_MD, 'Drawing', 'bench/draw_bench.py',
                            previous)


def markdown(doc, plot_name=None, previous=None):
    results = doc['sizes']
    ok = [r for r in results if 'rows' in r]
    lines = [
        '# Benchmarks',
        '',
        'Generated by `make bench` (`python bench/heap_bench.py --json '
        'build/heap_bench.json --markdown docs/benchmarks.md`); do not edit '
        'by hand. Python %s, %s, %d CPUs, allocator %s, %s engine '
        'thread(s); run of %s, %.0f s for the heaps below. Wall-clock '
        'medians on a shared machine: read the ratios.' % (
            doc['python'], doc['machine'], doc['cpus'],
            ok[0]['allocator'] if ok else '?',
            ok[0]['threads'] if ok else '?', doc['date'], doc['wall_s']),
        '',
        'The heaps: N instances of a plain class, each holding a list of a '
        'few values, and 1000 planted `Leak` objects: about 2N tracked '
        'objects, 4N snapshot nodes (tracked objects and distinct untracked '
        'referents) and 8N edges. Ratios are peer / ours: above 1, we are '
        'faster.',
        '',
    ]
    if not ok:
        return '\n'.join(lines + ['No heap size completed.', ''])
    lines += ['## Capture against `gc.collect()` and one tp_traverse pass',
              '',
              '"pause" is the time the GIL is held, "total" the whole '
              'capture. "cold" is the first capture of the process (fresh '
              'memory: page faults); "warm" the median of the next ones. '
              'One tp_traverse pass (`gc.get_referrers(object())`, median) '
              'is the floor of any walk of the heap.', '']
    lines += capture_tables(ok)
    if plot_name:
        lines += ['', '![time vs heap size, log scales](%s)' % plot_name]
    main = ok[0]
    lines += ['', '## objgraph on a %s-instance heap, against objgraph '
              '3.7.0, `gc.collect()` and one tp_traverse pass'
              % human(main['instances']), '',
              'Each row: the median wall time of our operation and of the '
              'peer on the same heap in the same process, and the ratio. '
              '"first" is the first capture of the process or the first '
              'query on a fresh snapshot; "again" asks the same snapshot '
              'again (it is frozen and keeps what it computed). '
              '`objgraph.*` rows take their own capture each time.', '']
    lines += main_table(main)
    if len(ok) > 1:
        lines += ['', '## Scaling', '',
                  'Every row at every size: ours / peer in seconds (ratio '
                  'peer / ours).', '']
        lines += scaling_table(ok)
    lines += ['', '## Type statistics and root paths: guppy3 and pympler',
              '',
              'Each answered from scratch: ours is the module-level '
              'function (its capture included), guppy3 `hpy().heap()` then '
              '`.bytype`, `hpy().iso(obj).sp` and `hpy().iso(obj).domisize`'
              ', pympler `summary.summarize(muppy.get_objects())`. One run '
              'each.', '']
    lines += peers_table(ok)
    extra = []
    for r in ok:
        if 'guppy_objects' in r or 'pympler_objects' in r:
            extra.append('%s instances: guppy3 saw %s objects, pympler %s, '
                         'our snapshot %d nodes (%d tracked).' % (
                             human(r['instances']),
                             r.get('guppy_objects', '—'),
                             r.get('pympler_objects', '—'), r['nodes'],
                             r['tracked']))
    if extra:
        lines += [''] + [' '.join(extra)]
    lines += ['', '## How this run was planned', '']
    lines += plan_lines(results, doc['args'])
    lines += [''] + draw_section(previous)
    lines += [''] + included_section(RETENTION_MD, 'Retention paths',
                                     'bench/retention_bench.py', previous)
    lines += [''] + included_section(
        FORK_MD, 'Capture in a forked child (`fork=True`)',
        'bench/fork_bench.py', previous)
    lines += [''] + included_section(
        CANARY_MD, 'What a canary round costs', 'bench/canary_bench.py',
        previous)
    lines += [''] + core_section(previous)
    return '\n'.join(lines) + '\n'


# -- command line -----------------------------------------------------------



def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sizes', type=sizes_arg,
                   default=[1_000_000, 3_000_000, 10_000_000],
                   help='heap sizes in instances, comma-separated; the '
                   'first is the main one (default 1M,3M,10M)')
    p.add_argument('--repeat', type=int, default=5,
                   help='runs of our operations at the first size (median)')
    p.add_argument('--repeat-large', type=int, default=2,
                   help='runs of our operations at the other sizes')
    p.add_argument('--ref-repeat', type=int, default=3,
                   help='runs of objgraph 3.7.0 at the first size')
    p.add_argument('--ref-repeat-large', type=int, default=1,
                   help='runs of objgraph 3.7.0 at the other sizes')
    p.add_argument('--expensive-max', type=int, default=3_000_000,
                   help='largest heap (instances) that runs the expensive '
                   'peers: objgraph 3.7.0 get_leaking_objects, guppy3')
    p.add_argument('--pympler-max', type=int, default=1_000_000,
                   help='largest heap (instances) that runs pympler, the '
                   'slowest peer')
    p.add_argument('--peer-limit', type=float, default=60.0,
                   help='skip a peer expected to take longer (seconds)')
    p.add_argument('--size-timeout', type=float, default=1800.0,
                   help='give up on a heap size after this long (seconds)')
    p.add_argument('--json', help='write the results here')
    p.add_argument('--markdown', help='write the page here')
    p.add_argument('--plot', help='write the PNG plot here (default: '
                   'benchmarks.png beside --markdown)')
    p.add_argument('--from-json', metavar='PATH',
                   help='run nothing: rebuild the page and the plot from '
                   'the JSON of an earlier run')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    p.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.worker_out)
    if min(args.repeat, args.repeat_large, args.ref_repeat,
           args.ref_repeat_large) < 1:
        p.error('repeats must be >= 1')
    if args.from_json:
        with open(args.from_json) as f:
            doc = json.load(f)
    else:
        t0 = time.perf_counter()
        results = run_sizes(args)
        doc = {'python': sys.version.split()[0],
               'machine': platform.machine(), 'cpus': os.cpu_count(),
               'date': datetime.datetime.now(datetime.timezone.utc).strftime(
                   '%Y-%m-%d %H:%M UTC'),
               'wall_s': time.perf_counter() - t0,
               'args': {k: v for k, v in vars(args).items()
                        if k not in ('worker', 'worker_out', 'from_json')},
               'sizes': results}
    results = doc['sizes']
    plot_path = args.plot
    if plot_path is None and args.markdown:
        plot_path = os.path.join(os.path.dirname(args.markdown) or '.',
                                 'benchmarks.png')
    plot_name = None
    if plot_path and any('rows' in r for r in results):
        plot(results, plot_path)
        if args.markdown:
            plot_name = os.path.relpath(
                plot_path, os.path.dirname(args.markdown) or '.')
    previous = None
    if args.markdown and os.path.exists(args.markdown):
        with open(args.markdown) as f:
            previous = f.read()
    page = markdown(doc, plot_name, previous)
    print(page)
    if args.json and not args.from_json:
        with open(args.json, 'w') as f:
            json.dump(doc, f, indent=2)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(page)
    return 0 if all('rows' in r for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
