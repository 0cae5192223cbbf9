"""What the Python benchmarks share: loading objgraph 3.7.0 (the peer) under
another module name, medians of wall-clock times, progress on stderr."""

import importlib.util
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def progress(msg):
    print(msg, file=sys.stderr, flush=True)
