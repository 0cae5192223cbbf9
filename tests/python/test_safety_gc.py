"""Snapshots and the cyclic garbage collector.

A pinned snapshot kept on an object it pins is a reference cycle (the
object -> the Snapshot -> its Graph -> the pins -> the object): the Graph
takes part in collections, so the cycle is freed like any other.

Each scenario runs in a fresh interpreter: a hang, a crash or a leak in
one cannot spoil the others, and each checks that its child exits
normally, within a time limit, and prints what was expected (one JSON
line, the last).
"""

import json
import os
import subprocess
import sys
import textwrap

_HERE = os.path.dirname(os.path.abspath(__file__))

# What every child starts with: objgraph, conftest's load_reference() for
# objgraph 3.7.0, and report(), which prints its last line.
_PRELUDE = '''
import gc, json, sys, threading, time, weakref
sys.path.insert(0, %r)
from conftest import load_reference
import objgraph
from objgraph import _heapgraph

def report(**result):
    print(json.dumps(result))
''' % _HERE


def _run_child(code, setup='', timeout=120):
    """Run the prelude, setup and code in a fresh interpreter; return the
    JSON object it printed last.  A crash, a hang or an error fails the
    test."""
    try:
        proc = subprocess.run(
            [sys.executable, '-c',
             _PRELUDE + setup + textwrap.dedent(code)],
            capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError('child did not end within %d s; stdout: %s'
                             % (timeout, e.stdout)) from None
    assert proc.returncode == 0, (
        'expected a normal exit, child exited with %d (negative: killed by '
        'that signal)\nstdout: %s\nstderr: %s'
        % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    lines = proc.stdout.strip().splitlines()
    assert lines, 'child printed nothing; stderr: %s' % proc.stderr[-2000:]
    return json.loads(lines[-1])


# -- a pinned snapshot in a reference cycle -----------------------------------

def test_a_snapshot_kept_on_an_object_it_pins_is_freed_with_it():
    """h.snap = objgraph.snapshot(); del h; gc.collect(): the holder, the
    snapshot and everything only its pins kept alive are freed, round
    after round, and neither objects, the engine's bytes nor the RSS
    grow."""
    out = _run_child('''
        import os

        class Holder:
            pass

        class Payload:
            pass

        def rss():
            with open('/proc/self/statm') as f:
                return int(f.read().split()[1]) * os.sysconf('SC_PAGESIZE')

        ballast = [{'i': i} for i in range(200000)]  # a big snapshot
        gc.collect()
        rounds = []
        for r in range(12):
            h = Holder()
            h.payload = [Payload() for _ in range(1000)]
            h.snap = objgraph.snapshot()
            alive = [weakref.ref(h), weakref.ref(h.payload[0])]
            del h
            freed = gc.collect()
            rounds.append({'alive': sum(w() is not None for w in alive),
                           'freed': freed,
                           'objects': len(gc.get_objects()),
                           'engine_bytes': _heapgraph.live_bytes(),
                           'rss': rss()})
        report(rounds=rounds, ballast=len(ballast))
    ''')
    rounds = out['rounds']
    assert [r['alive'] for r in rounds] == [0] * 12, rounds
    assert all(r['freed'] > 1000 for r in rounds), rounds
    later = rounds[2:]
    assert len({r['objects'] for r in later}) == 1, (
        'expected as many objects after every round, got %s'
        % [r['objects'] for r in rounds])
    assert {r['engine_bytes'] for r in rounds} == {0}, (
        'expected every snapshot freed, engine still holds %s bytes'
        % [r['engine_bytes'] for r in rounds])
    # the allocators settle in the first rounds; a snapshot that stayed
    # would add about 16 MB a round
    warm = rounds[4:]
    growth = warm[-1]['rss'] - warm[0]['rss']
    assert growth < 16 << 20, (
        'expected a flat RSS, it grew by %.1f MB over %d rounds'
        % (growth / 2**20, len(warm) - 1))


def test_a_pinned_snapshot_keeps_its_objects_through_collections():
    """Reachable from elsewhere, the cycle is not garbage: the snapshot
    keeps answering with the objects it pins.  Closing it stops its part
    in collections (it pins nothing any more), and a detached snapshot
    never takes part."""
    out = _run_child('''
        class Holder:
            pass

        h = Holder()
        h.snap = objgraph.snapshot()
        keep = h.snap
        alive = weakref.ref(h)
        del h
        gc.collect()
        gc.collect()
        found = keep.by_type('Holder')
        graph = keep._g
        tracked = gc.is_tracked(graph)
        # put straight in the oldest generation: only full collections
        # traverse what it pins
        oldest = any(o is graph for o in gc.get_objects(generation=2))
        visits = len(gc.get_referents(graph))
        keep.close()
        detached = objgraph.snapshot(pin=False)
        report(alive=alive() is not None,
               found=[o is alive() for o in found],
               tracked=tracked, oldest=oldest,
               visits=visits, n_tracked=graph.n_tracked,
               closed_tracked=gc.is_tracked(graph),
               closed_visits=len(gc.get_referents(graph)),
               detached_tracked=gc.is_tracked(detached._g))
    ''')
    assert out['alive'] and out['found'] == [True], out
    assert out['tracked'] and out['oldest'], out
    assert out['visits'] == out['n_tracked'], (
        'expected one visit per pin (%d), got %d'
        % (out['n_tracked'], out['visits']))
    assert not out['closed_tracked'] and out['closed_visits'] == 0, out
    assert not out['detached_tracked'], out


def test_a_later_capture_sees_an_earlier_pinned_snapshot_without_edges():
    """While a capture walks the heap, earlier pinned graphs show no
    references: their pins are not edges of the new graph, and the pinned
    objects stay roots there (a reference from outside)."""
    out = _run_child('''
        from array import array

        class Anchor:
            pass

        anchor = Anchor()  # pinned by the first snapshot
        first = objgraph.snapshot()
        lonely = Anchor()  # created after: not pinned by the first
        second = objgraph.snapshot()
        g = second._g
        first_graph, anchor_id, lonely_id = g.find(
            [id(first._g), id(anchor), id(lonely)])
        roots = array('I', g.roots(tracked_only=False))
        report(found=first_graph >= 0,
               edges=len(g.referents(first_graph)),
               anchor_root=anchor_id in roots,
               lonely_root=lonely_id in roots)
        first.close()
        second.close()
    ''')
    assert out['found'] and out['edges'] == 0, (
        'expected the first graph as a node without references: %s' % out)
    assert out['anchor_root'] and not out['lonely_root'], (
        'expected the first snapshot\'s pin to count as a reference from '
        'outside: %s' % out)

