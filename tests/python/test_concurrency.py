"""Snapshots from several threads at once while other threads change the
heap.

The engine holds the GIL while it reads the heap, so captures from
different threads take turns; a capture started while the collector runs
in another thread (a finalizer that let go of the GIL) waits for it to
finish.  Every capture must succeed, agree with the others on what does
not change, and saves racing on one path must leave a file that loads.
The one refusal, RuntimeError "cannot capture the heap while the garbage
collector is running in this very thread", is for a capture from a
finalizer of the collection itself (test_safety_gc.py has the rest).  A
watchdog (faulthandler) turns a deadlock into a failure with every
thread's traceback instead of a hung run.
"""

import faulthandler
import gc
import os
import threading

import pytest
from workers import Workers

import objgraph
import objgraph.canary


class Stable:
    """Created once, before the threads start: every snapshot must count
    exactly N_STABLE of them."""


class Churn:
    """Made and dropped in cycles by the mutators; its finalizer runs
    Python code during collections, where a thread switch may happen."""

    def __init__(self, n):
        self.n = n
        self.me = self

    def __del__(self):
        self.n = -1


N_STABLE = 1000
_STABLE = [Stable() for _ in range(N_STABLE)]


@pytest.fixture
def watchdog():
    """Dump every thread's stack and exit if the test hangs."""
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


class Mutators(Workers):
    """Threads that keep changing the heap: a shared dict gets and loses
    entries, lists grow and shrink, cycles with finalizers become garbage
    (so collections run, in these threads, while others capture)."""

    join_timeout = 30

    def __init__(self, n=2):
        self.shared = {}
        self.rounds = [0] * n
        super().__init__(n, name='mutator')

    def __exit__(self, *exc_info):
        super().__exit__(*exc_info)
        assert self.errors == []

    def _work(self, k):
        i = 0
        while not self._stop.is_set():
            self.shared[(k, i % 500)] = [Churn(i), {'i': i}, (i, str(i))]
            self.shared.pop((k, (i + 250) % 500), None)
            batch = [Churn(j) for j in range(20)]
            batch.append(batch)
            del batch
            i += 1
            self.rounds[k] += 1
            if i % 200 == 0:
                self._stop.wait(0.0005)


def _run_threads(target, n):
    """Run target(k) in n threads started together; re-raise the first
    error."""
    errors = []
    barrier = threading.Barrier(n)

    def run(k):
        try:
            barrier.wait(30)
            target(k)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), 'threads did not end'
    if errors:
        raise errors[0]


def _capture(pin):
    """A snapshot; collections running in other threads are waited for,
    never a reason to refuse it."""
    return objgraph.snapshot(pin=pin)


def test_four_threads_snapshot_at_once_while_others_mutate(watchdog):
    taken = []

    def snapper(k):
        for i in range(6):
            pin = (k + i) % 2 == 0
            with _capture(pin) as snap:
                stable = snap.count('Stable')
                objects = len(snap.by_type('Stable')) if pin else None
                taken.append((pin, stable, objects, len(snap),
                              snap.num_edges, snap.pause_seconds))

    with Mutators() as mutators:
        before = sum(mutators.rounds)
        _run_threads(snapper, 4)
        assert sum(mutators.rounds) > before, 'the mutators never ran'
    assert len(taken) == 24
    for pin, stable, objects, nodes, edges, pause in taken:
        assert stable == N_STABLE, (pin, stable)
        if pin:
            assert objects == N_STABLE
        assert nodes > N_STABLE and edges > 0 and pause > 0
    assert sorted(pin for pin, *_ in taken) == [False] * 12 + [True] * 12


def test_concurrent_analyses_of_one_snapshot_agree(watchdog):
    """The analysis arrays are built on first use under the graph's lock:
    four threads asking at once get the same answers."""
    held = [[Stable()] for _ in range(200)]
    snap = objgraph.snapshot(pin=False)
    late = Stable()  # not in the snapshot: leaking, as objgraph 3.x says
    # objects that stay put while the mutators run: the lists and their
    # Stable objects are referred to (by held, by the lists), late is not
    candidates = held + [inner[0] for inner in held] + [late]
    answers = [None] * 4

    def analyse(k):
        answers[k] = (snap.retained_by_type(5),
                      [(p.signature, p.count)
                       for p in snap.retention_paths('Stable', 3)],
                      snap.count('Stable'),
                      [id(o) for o in snap.get_leaking_objects(candidates)])

    with Mutators():
        _run_threads(analyse, 4)
    assert answers[0] is not None
    assert all(a == answers[0] for a in answers), answers
    assert answers[0][2] == N_STABLE + 200
    assert answers[0][3] == [id(late)], answers[0][3]


def test_threads_saving_to_one_path_leave_a_loadable_file(tmp_path,
                                                          watchdog):
    path = tmp_path / 'shared.hgsnap'
    states = []

    def saver(k):
        snap = _capture(False)
        states.append((len(snap), snap.num_edges, snap.count('Stable')))
        for _ in range(4):
            snap.save(path)

    with Mutators():
        _run_threads(saver, 4)
    loaded = objgraph.load(path)
    assert (len(loaded), loaded.num_edges, loaded.count('Stable')) in states
    assert loaded.count('Stable') == N_STABLE
    assert os.listdir(tmp_path) == ['shared.hgsnap'], os.listdir(tmp_path)


def test_the_canary_and_the_application_snapshot_at_once(tmp_path,
                                                         watchdog):
    """A canary capturing every 20 ms while three application threads
    take their own snapshots and counts, and two mutate the heap."""
    reports = []
    counts = []

    def app(k):
        for i in range(8):
            if i % 2:
                counts.append(objgraph.count('Stable'))
            else:
                with _capture(k == 0) as snap:
                    counts.append(snap.count('Stable'))

    canary = objgraph.canary.start(interval=0.02, directory=tmp_path,
                                   keep=3, on_report=reports.append)
    try:
        with Mutators():
            _run_threads(app, 3)
            while len(reports) < 4:
                threading.Event().wait(0.01)
    finally:
        assert canary.stop(timeout=5)
    assert counts and set(counts) == {N_STABLE}, set(counts)
    errors = [r['errors'] for r in reports if r['errors']]
    assert errors == []
    taken = [r for r in reports if r['snapshot']]
    assert taken, [r['skipped'] for r in reports]
    for name in os.listdir(tmp_path):
        if name.endswith('.hgsnap'):
            assert objgraph.load(tmp_path / name).count('Stable') == N_STABLE


def test_a_capture_during_a_collection_is_refused_not_corrupted():
    """A finalizer runs while the collector is at work; a capture from it
    must be refused at once with the documented error (it cannot wait for
    its own thread's collection), and the collection and later captures
    must be unharmed."""
    seen = []

    class Finalized:
        def __init__(self):
            self.me = self

        def __del__(self):
            try:
                objgraph.snapshot(pin=False)
            except RuntimeError as e:
                seen.append(str(e))
            else:
                seen.append('captured')

    gc.collect()
    Finalized()
    gc.collect()
    assert len(seen) == 1 and seen[0].startswith(
        'cannot capture the heap while the garbage collector is running in '
        'this very thread'), seen
    with objgraph.snapshot(pin=False) as snap:
        assert snap.count('Stable') == N_STABLE
