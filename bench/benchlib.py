"""What the Python benchmarks share: the benchmark heap, one tp_traverse
pass over it, loading objgraph 3.7.0 (the peer) under another module name,
medians of wall-clock times, progress on stderr, and the figures and
Markdown tables the pages print."""

import argparse
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Instance:
    """One object of the benchmark heap: a plain class whose instance
    holds a list of a few values (2 tracked objects, 4 snapshot nodes and
    8 references per instance, its dict kept virtual where CPython can)."""

    def __init__(self, i):
        self.index = i
        self.name = 'item'
        self.values = [i, i + 1, None]


class Leak:
    pass


def build_heap(n):
    """The benchmark heap: n Instances in a list and 1000 planted Leak
    objects in a dict, returned as (list, dict); the caller keeps them."""
    return [Instance(i) for i in range(n)], {i: Leak() for i in range(1000)}


def one_traverse_pass():
    """The floor of any heap walk: gc.get_referrers() of a fresh object
    finds nothing and so calls every tracked object's tp_traverse once."""
    gc.get_referrers(object())


def with_reverse_bytes(nbytes, nodes, edges):
    """A snapshot's bytes (``snap.nbytes``: the forward graph, 4 bytes per
    edge, and the node table) plus the reverse graph the first backward
    query adds (CSR: 8 bytes of offset per node and one more, 4 per
    edge): the figure the budget of 40 bytes per node + 8 per edge is
    checked against."""
    return nbytes + 8 * (nodes + 1) + 4 * edges


def human(n):
    """1000000 -> '1M', 300000 -> '300k'."""
    for unit, scale in (('M', 1_000_000), ('k', 1000)):
        if n >= scale and n % (scale // 10) == 0:
            text = '%g' % (n / scale)
            return text + unit
    return str(n)


def fmt_s(t, digits=4):
    """Seconds with at least ``digits`` decimals and 2 significant
    digits: 0.1234, 0.00012, 0.0000093."""
    if t is None:
        return '—'
    while digits < 9 and 0 < t < 10 ** (1 - digits):
        digits += 1
    return '%.*f' % (digits, t)


def table(header, aligns, rows):
    """A Markdown table: aligns has one letter per column, 'r' for a
    right-aligned one."""
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---:' if a == 'r' else '---' for a in aligns)
             + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines


def load_reference():
    """objgraph 3.7.0 as module ``objgraph_ref``, from $OBJGRAPH_REF_PATH or
    build/ref/objgraph.py (``make`` installs it there)."""
    path = os.environ.get('OBJGRAPH_REF_PATH',
                          os.path.join(ROOT, 'build', 'ref', 'objgraph.py'))
    spec = importlib.util.spec_from_file_location('objgraph_ref', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def median_time(fn, repeat):
    """The median wall time of ``repeat`` calls of fn(), in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_worker(measure, plan_json, out_path):
    """The child side of a benchmark that measures each cell in a fresh
    process: measure(plan) into out_path as JSON, then the process ends
    at once -- freeing millions of objects one by one would take seconds
    for nothing."""
    result = measure(json.loads(plan_json))
    with open(out_path, 'w') as f:
        json.dump(result, f)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_in_child(script, plan, timeout):
    """The parent side of run_worker: ``script --worker PLAN_JSON
    --worker-out FILE`` in a fresh process, its result read back; on any
    failure ``{'instances': plan['instances'], 'error': why}`` (said on
    stderr too)."""
    fd, out = tempfile.mkstemp(prefix=os.path.basename(script) + '.',
                               suffix='.json')
    os.close(fd)
    try:
        proc = subprocess.run(
            [sys.executable, os.path.abspath(script), '--worker',
             json.dumps(plan), '--worker-out', out], timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError('exit status %d' % proc.returncode)
        with open(out) as f:
            return json.load(f)
    except (RuntimeError, subprocess.TimeoutExpired, OSError,
            ValueError) as e:
        progress('  %s instances failed: %s' % (human(plan['instances']), e))
        return {'instances': plan['instances'], 'error': str(e)}
    finally:
        os.unlink(out)


def progress(msg):
    print(msg, file=sys.stderr, flush=True)

def sizes_arg(text):
    """argparse type: comma-separated heap sizes in instances (1e6 or
    1000000), each >= 1."""
    try:
        sizes = [int(float(s)) for s in text.split(',') if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            'not a list of sizes: %r' % text) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError('sizes must be >= 1')
    return sizes
