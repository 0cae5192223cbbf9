"""objgraph.canary: leak canaries running inside the application.

A real service stand-in -- three worker threads answering requests, one of
them filing every session in a registry nobody cleans -- runs under a
canary taking a snapshot every 0.2 s.  The canary must name the leaking
type first, with growing counts, in a JSON report on disk; keep exactly
``keep`` snapshot files; stop in well under a second; and never stop the
workers, who keep changing the heap while it captures.  Then: a signal
asks for a round off schedule, budgets skip snapshots and say why, a
raising callback is recorded and survived, tracemalloc names the line
that allocates, and wrong arguments are refused by name.
"""

import gc
import json
import os
import signal
import threading
import time
import tracemalloc

import pytest
from workers import Workers

import objgraph
import objgraph.canary
from objgraph._canary_budget import Estimator

# -- the service --------------------------------------------------------------


class Session:
    """What the leaky worker forgets: an ordinary class (its instances
    keep their attributes in a managed dict, as most classes' do)."""

    def __init__(self, user):
        self.user = user
        self.created = time.time()


class Request:
    def __init__(self, n):
        self.n = n
        self.headers = {'n': n}
        self.body = [n] * 4


def _leak_one(registry, n):
    registry.append(Session('user%d' % n))  # the allocation reported


_LEAK_SITE = '%s:%d' % (_leak_one.__code__.co_filename,
                        _leak_one.__code__.co_firstlineno + 1)


class Service(Workers):
    """Three workers answer requests in a loop: each builds a request,
    files it in a bounded cache, makes a little cyclic garbage, and the
    first one also files a Session in ``registry``, which is never
    emptied.  ``handled`` counts requests per worker; ``errors`` collects
    what a worker raised."""

    def __init__(self, workers=3):
        self.registry = []
        self.handled = [0] * workers
        super().__init__(workers)

    def _work(self, k):
        cache = {}
        while not self._stop.is_set():
            req = Request(self.handled[k])
            cache[req.n % 50] = req
            garbage = [Request(i) for i in range(5)]
            garbage.append(garbage)
            if k == 0:
                _leak_one(self.registry, req.n)
            self.handled[k] += 1
            self._stop.wait(0.001)


class Reports:
    """An on_report callback that keeps the reports and lets the test wait
    for them; ``handled`` snapshots the service's counters per report."""

    def __init__(self, service=None):
        self.reports = []
        self.handled = []
        self._service = service
        self._cond = threading.Condition()

    def __call__(self, report):
        with self._cond:
            self.reports.append(report)
            if self._service is not None:
                self.handled.append(sum(self._service.handled))
            self._cond.notify_all()

    def wait(self, predicate, timeout=90.0):
        """Wait until ``predicate(reports)`` holds; fail after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.reports):
                left = deadline - time.monotonic()
                assert left > 0, 'timed out; reports so far: %s' % (
                    [(r['sequence'], r['trigger'], r['skipped'], r['errors'])
                     for r in self.reports])
                self._cond.wait(left)
            return list(self.reports)

    def wait_count(self, n, timeout=90.0):
        return self.wait(lambda reports: len(reports) >= n, timeout)


@pytest.fixture(autouse=True)
def no_canary_left():
    """Every test ends with no canary running, even when it fails, and
    with its garbage collected (tests that follow compare the heap with
    gc.get_objects(); tuples a collection would untrack make them
    differ)."""
    yield
    objgraph.canary.stop()
    assert objgraph.canary.current() is None
    gc.collect()


def _files(directory, prefix, suffix):
    return sorted(n for n in os.listdir(directory)
                  if n.startswith(prefix) and n.endswith(suffix))


def _snapshot_files(directory):
    return _files(directory, 'snapshot-', '.hgsnap')


# -- the leak in a threaded service -------------------------------------------


def test_a_threaded_service_leak_is_the_top_suspect_in_the_report(tmp_path):
    with Service() as service:
        reports = Reports(service)
        canary = objgraph.canary.start(interval=0.2, directory=tmp_path,
                                       keep=4, on_report=reports)
        got = reports.wait(lambda rs: sum(len(r['window']) == 4
                                          and bool(r['suspects'])
                                          for r in rs) >= 2)
        t0 = time.perf_counter()
        stopped = canary.stop()
        stop_seconds = time.perf_counter() - t0
        handled_at_stop = sum(service.handled)
        time.sleep(0.05)
        assert sum(service.handled) > handled_at_stop, \
            'the workers stopped when the canary did'
    assert service.errors == []
    assert stopped and stop_seconds < 0.5, (
        'stop() took %.3f s (thread ended: %s)' % (stop_seconds, stopped))
    assert not canary.running and objgraph.canary.current() is None

    full = [r for r in got if len(r['window']) == 4 and r['suspects']]
    for report in full:
        top = report['suspects'][0]
        assert top['typename'] == 'Session', (
            'expected Session first, got %s'
            % [(s['typename'], s['counts']) for s in report['suspects']])
        counts = top['counts']
        assert len(counts) == 4
        assert all(a < b for a, b in zip(counts, counts[1:])), counts
        assert top['growth'] == counts[-1] - counts[0] > 0
        assert top['paths'] and top['paths'][0]['signature'].endswith(
            'list -> Session'), top['paths']
        assert report['errors'] == [] and report['warnings'] == []
        assert report['nodes'] > 0 and report['edges'] > 0
        assert 0 < report['pause_seconds'] <= report['capture_seconds']
        assert report['bytes'] > 0 and report['file_bytes'] > 0
        assert report['estimate']['pause_seconds'] > 0

    # the workers ran between the canary's rounds, not only around them
    assert all(a < b for a, b in zip(reports.handled, reports.handled[1:])), \
        reports.handled

    # rotation: exactly keep snapshot files and keep reports, and the
    # newest report on disk is latest-report.json
    snaps = _snapshot_files(tmp_path)
    assert len(snaps) == 4, snaps
    assert canary.last_report['sequence'] >= 5
    json_reports = _files(tmp_path, 'report-', '.json')
    assert len(json_reports) == 4, json_reports
    for name in json_reports:
        with open(tmp_path / name) as f:
            assert json.load(f)['version'] == 1
    with open(tmp_path / 'latest-report.json') as f:
        latest = json.load(f)
    assert latest == canary.last_report
    assert latest['sequence'] == max(r['sequence'] for r in reports.reports)
    assert [n for n in os.listdir(tmp_path) if '.tmp-' in n] == []
    # each kept file loads and agrees with the report that analysed it
    last_full = full[-1]
    names = set(last_full['window'])
    for name in snaps:
        if name in names:
            loaded = objgraph.load(tmp_path / name)
            i = last_full['window'].index(name)
            assert loaded.count('Session') >= \
                last_full['suspects'][0]['counts'][i]


def test_reports_equal_leak_suspects_over_the_kept_files(tmp_path):
    """The canary summarises the older files instead of keeping them
    loaded; its answer must be leak_suspects' over the files."""
    registry = []
    reports = Reports()
    canary = objgraph.canary.start(interval=3600, directory=tmp_path, keep=3,
                                   on_report=reports, limit=5)
    for i in range(5):
        for n in range(100):
            _leak_one(registry, n)
        canary.trigger()
        reports.wait_count(i + 1)
    assert canary.stop()
    report = reports.reports[-1]
    assert report['trigger'] == 'manual'
    assert report['window'] == _snapshot_files(tmp_path)
    loaded = [objgraph.load(tmp_path / name) for name in report['window']]
    expected = objgraph.leak_suspects(loaded, limit=5, paths=3)
    assert [(s['typename'], s['counts'], s['growth'], s['retained_bytes'])
            for s in report['suspects']] == [
        (s.typename, list(s.counts), s.growth, list(s.retained_bytes))
        for s in expected]
    assert [[(p['signature'], p['count'], p['retained_bytes'])
             for p in s['paths']] for s in report['suspects']] == [
        [(' -> '.join(p.signature), p.count, p.retained_bytes)
         for p in s.paths] for s in expected]
    top = report['suspects'][0]
    assert top['typename'] == 'Session'
    assert top['counts'][1] - top['counts'][0] == 100


def test_the_canary_leaves_its_own_objects_out_of_its_counts(tmp_path):
    """Its summaries pile up until the window is full: they must not show
    as a growing type."""
    reports = Reports()
    canary = objgraph.canary.start(interval=3600, directory=tmp_path, keep=4,
                                   on_report=reports, limit=None)
    for i in range(4):
        canary.trigger()
        reports.wait_count(i + 1)
    canary.stop()
    names = {s['typename'] for s in reports.reports[-1]['suspects']}
    assert not names & {'Summary', 'Canary', 'Estimator', 'deque'}, names


def _wait_rounds(canary, n, timeout=90.0):
    """Wait until the canary has written n reports (no on_report: the
    test keeps no report objects that would grow the heap)."""
    deadline = time.monotonic() + timeout
    while canary.rounds < n:
        assert time.monotonic() < deadline, (
            'timed out: %d rounds of %d' % (canary.rounds, n))
        time.sleep(0.01)


def _reports_on_disk(directory):
    reports = []
    for name in _files(directory, 'report-', '.json'):
        with open(directory / name) as f:
            reports.append(json.load(f))
    return reports


def test_the_canary_s_own_allocations_are_never_suspects(tmp_path):
    """In a process where nothing grows but the canary's own state -- its
    window of summaries filling up, its reports listing suspects -- no
    report names a type the canary allocated (tracemalloc would place
    such a suspect in objgraph/canary.py or one of its parts,
    _canary_*.py), and no type gains objects after the warm-up (what
    pytest keeps for the test may still retain a few bytes more)."""
    # the scheduler and its parts: objgraph/canary.py, _canary_*.py
    canary_files = tuple(
        os.path.join(os.path.dirname(objgraph.canary.__file__), name) + ':'
        for name in os.listdir(os.path.dirname(objgraph.canary.__file__))
        if name == 'canary.py' or name.startswith('_canary_'))
    assert len(canary_files) > 1, canary_files
    tracemalloc.start(10)
    try:
        canary = objgraph.canary.start(interval=3600, directory=tmp_path,
                                       keep=3, limit=None)
        for i in range(5):
            canary.trigger()
            _wait_rounds(canary, i + 1)
        assert canary.stop()
    finally:
        tracemalloc.stop()
    reports = _reports_on_disk(tmp_path)
    assert len(reports) == 3 and all(len(r['window']) >= 3
                                     for r in reports)
    for report in reports:
        for s in report['suspects']:
            frames = [frame for site in s['allocation_sites']
                      for frame in site['frames']]
            assert not any(f.startswith(canary_files)
                           for f in frames), (s['typename'], frames)
            # no type keeps gaining objects after the warm-up (the first
            # interval, which leak_suspects does not count as growth): a
            # canary allocating per round would gain one or more in each
            # later interval; one stray object (a str some C code interned
            # once, now that untracked objects count) is not that
            assert s['counts'][-1] - s['counts'][1] <= 1, (
                s['typename'], s['counts'], s['paths'])


class _SlowFinalizer:
    """Garbage whose __del__ holds the collection that frees it (in another
    thread) until ``release`` is set: a capture waits for a collection."""

    def __init__(self, started, release):
        self.me = self
        self.started = started
        self.release = release

    def __del__(self):
        self.started.set()
        self.release.wait(10)


def test_a_round_cut_short_by_stop_keeps_the_last_report(tmp_path):
    """stop() arriving in the middle of a round (here: while its capture
    waits for a collection running in another thread) abandons it:
    latest-report.json, last_report and the report files stay those of
    the last completed round, suspects and all."""
    registry = []
    canary = objgraph.canary.start(interval=3600, directory=tmp_path, keep=3,
                                   limit=5)
    for i in range(3):
        for n in range(100):
            _leak_one(registry, n)
        canary.trigger()
        _wait_rounds(canary, i + 1)
    with open(tmp_path / 'latest-report.json') as f:
        completed = json.load(f)
    assert completed['suspects'][0]['typename'] == 'Session'
    assert canary.last_report == completed
    report_files = _files(tmp_path, 'report-', '.json')

    started, release = threading.Event(), threading.Event()
    _SlowFinalizer(started, release)  # garbage: a cycle
    collector = threading.Thread(target=gc.collect)
    collector.start()
    try:
        assert started.wait(10), 'the collection did not start'
        for n in range(100):
            _leak_one(registry, n)
        canary.trigger()
        time.sleep(1.0)  # the round is waiting for the collection
        assert canary.stop(timeout=0) is False, 'the round is not running'
    finally:
        release.set()
        collector.join(10)
    assert canary.stop(timeout=10)
    assert canary.rounds == 3
    assert canary.last_report == completed
    with open(tmp_path / 'latest-report.json') as f:
        assert json.load(f) == completed
    assert _files(tmp_path, 'report-', '.json') == report_files


# -- signals ------------------------------------------------------------------


def test_a_signal_asks_for_a_round_and_stop_restores_the_handler(tmp_path):
    def previous(signum, frame):
        pass

    original = signal.signal(signal.SIGUSR2, previous)
    try:
        reports = Reports()
        canary = objgraph.canary.start(interval=3600, directory=tmp_path,
                                       signal=signal.SIGUSR2,
                                       on_report=reports)
        assert signal.getsignal(signal.SIGUSR2) == canary._on_signal
        os.kill(os.getpid(), signal.SIGUSR2)
        report = reports.wait_count(1)[0]
        assert report['trigger'] == 'signal'
        assert report['snapshot'] is not None
        assert os.path.exists(report['snapshot'])
        assert canary.stop()
        assert signal.getsignal(signal.SIGUSR2) is previous
        os.kill(os.getpid(), signal.SIGUSR2)  # the previous handler runs
        time.sleep(0.05)
        assert len(reports.reports) == 1
    finally:
        signal.signal(signal.SIGUSR2, original)


def test_signals_during_a_round_are_merged_into_one(tmp_path):
    original = signal.getsignal(signal.SIGUSR2)
    try:
        reports = Reports()
        canary = objgraph.canary.start(interval=3600, directory=tmp_path,
                                       signal=signal.SIGUSR2,
                                       on_report=reports)
        for _ in range(5):
            os.kill(os.getpid(), signal.SIGUSR2)
        reports.wait_count(1)
        time.sleep(0.3)
        canary.stop()
        assert 1 <= len(reports.reports) <= 2, len(reports.reports)
        assert signal.getsignal(signal.SIGUSR2) == original
    finally:
        signal.signal(signal.SIGUSR2, original)


def test_a_signal_handler_needs_the_main_thread(tmp_path):
    raised = []

    def start_in_a_thread():
        try:
            objgraph.canary.start(directory=tmp_path, signal=signal.SIGUSR2)
        except Exception as e:
            raised.append(e)

    t = threading.Thread(target=start_in_a_thread)
    t.start()
    t.join()
    assert len(raised) == 1 and isinstance(raised[0], ValueError)
    assert 'main thread' in str(raised[0])
    assert objgraph.canary.current() is None


# -- budgets ------------------------------------------------------------------


def test_a_tiny_max_pause_skips_snapshots_and_says_why(tmp_path):
    reports = Reports()
    objgraph.canary.start(interval=0.05, directory=tmp_path,
                          max_pause=1e-9, on_report=reports)
    got = reports.wait_count(3)
    objgraph.canary.stop()
    for report in got:
        assert report['snapshot'] is None and report['nodes'] is None
        (skip,) = report['skipped']
        assert skip['what'] == 'snapshot' and skip['budget'] == \
            'pause_seconds'
        assert 'max_pause' in skip['reason']
        assert skip['estimate'] > skip['limit'] == 1e-9
        assert skip['basis']
    assert _snapshot_files(tmp_path) == []
    with open(tmp_path / 'latest-report.json') as f:
        assert json.load(f)['skipped'][0]['budget'] == 'pause_seconds'


def test_a_tiny_max_bytes_skips_snapshots(tmp_path):
    reports = Reports()
    objgraph.canary.start(interval=0.05, directory=tmp_path, max_bytes=1000,
                          on_report=reports)
    report = reports.wait_count(1)[0]
    objgraph.canary.stop()
    (skip,) = report['skipped']
    assert skip['budget'] == 'bytes' and 'max_bytes' in skip['reason']
    assert skip['estimate'] > 1000
    assert _snapshot_files(tmp_path) == []


def test_a_forced_trigger_ignores_the_budget_and_warns(tmp_path):
    reports = Reports()
    canary = objgraph.canary.start(interval=3600, directory=tmp_path,
                                   max_pause=1e-9, on_report=reports)
    canary.trigger(force=True)
    report = reports.wait_count(1)[0]
    canary.stop()
    assert report['snapshot'] is not None
    assert not [s for s in report['skipped'] if s['what'] == 'snapshot']
    assert any(w.startswith('forced: estimated pause')
               for w in report['warnings']), report['warnings']
    # the measured pause is above max_pause too, and reported
    assert any('above max_pause' in w for w in report['warnings'])


def test_the_estimator_scales_the_measured_cost_by_the_heap_size():
    est = Estimator()
    prior = est.estimate(1000)
    assert prior['pause_seconds'] == pytest.approx(
        1000 * Estimator.PRIOR_PAUSE_PER_BLOCK)
    assert 'prior' in prior['basis']
    est.record(1000, 0.010, 50000)
    est.record(1000, 0.500, 50000)   # one slow capture: the median ignores
    est.record(1000, 0.012, 60000)
    e = est.estimate(2000)
    assert e['pause_seconds'] == pytest.approx(0.024)
    assert e['bytes'] == 100000
    assert est.estimate(0)['pause_seconds'] == 0.012  # no block count


# -- failures inside the canary -----------------------------------------------


def test_on_report_raising_is_recorded_and_survived(tmp_path):
    calls = []

    def on_report(report):
        calls.append(report['sequence'])
        raise ValueError('boom %d' % len(calls))

    canary = objgraph.canary.start(interval=0.05, directory=tmp_path,
                                   on_report=on_report)
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert canary.stop()
    assert len(calls) >= 3
    assert canary.last_report['errors'] == [
        'on_report raised ValueError: boom %d' % len(calls)]
    for name in _files(tmp_path, 'report-', '.json'):
        with open(tmp_path / name) as f:
            errors = json.load(f)['errors']
        assert len(errors) == 1 and 'boom' in errors[0], errors


def test_a_vanished_directory_is_reported_and_survived(tmp_path):
    """The snapshot cannot be saved, nor the report written: both are in
    the report handed to on_report; once the directory is back, the
    canary carries on."""
    directory = tmp_path / 'canary'
    reports = Reports()
    canary = objgraph.canary.start(interval=3600, directory=directory,
                                   on_report=reports)
    os.rmdir(directory)
    canary.trigger()
    failed = reports.wait_count(1)[0]
    assert failed['snapshot'] is None
    assert any('cannot save snapshot' in e for e in failed['errors'])
    assert any('cannot write the report' in e for e in failed['errors'])
    os.mkdir(directory)
    canary.trigger()
    ok = reports.wait_count(2)[1]
    canary.stop()
    assert ok['errors'] == [] and os.path.exists(ok['snapshot'])
    assert _snapshot_files(directory) == [os.path.basename(ok['snapshot'])]


def test_rotation_never_touches_other_files(tmp_path):
    mine = ['notes.txt', 'snapshot-by-hand.hgsnap', 'report-old.json']
    for name in mine:
        (tmp_path / name).write_text('keep me')
    reports = Reports()
    objgraph.canary.start(interval=0.02, directory=tmp_path, keep=3,
                          on_report=reports)
    reports.wait_count(5)
    objgraph.canary.stop()
    for name in mine:
        assert (tmp_path / name).read_text() == 'keep me'
    written = [n for n in _snapshot_files(tmp_path) if n not in mine]
    assert len(written) == 3, written


def test_stop_is_prompt_with_a_long_interval(tmp_path):
    canary = objgraph.canary.start(interval=3600, directory=tmp_path)
    assert canary.running
    t0 = time.perf_counter()
    assert objgraph.canary.stop() is canary
    assert time.perf_counter() - t0 < 0.2
    assert not canary.running
    assert canary.stop()  # idempotent
    assert objgraph.canary.stop() is None


# -- tracemalloc --------------------------------------------------------------


def test_tracemalloc_names_the_line_that_allocates_the_suspect(tmp_path):
    tracemalloc.start()
    try:
        with Service():
            reports = Reports()
            objgraph.canary.start(interval=0.15, directory=tmp_path,
                                  keep=3, on_report=reports, samples=10)
            got = reports.wait(lambda rs: any(
                s['typename'] == 'Session' for r in rs
                for s in r['suspects']))
            objgraph.canary.stop()
    finally:
        tracemalloc.stop()
    report = next(r for r in got if r['suspects'])
    assert report['tracemalloc'] is True
    (session,) = [s for s in report['suspects'] if s['typename'] == 'Session']
    assert session['sampled'] == 10
    sites = session['allocation_sites']
    assert sites and sites[0]['frames'][0] == _LEAK_SITE, (
        'expected %s, got %s' % (_LEAK_SITE, sites))
    assert sites[0]['count'] + session['untraced'] + session['gone'] <= 10


def test_without_tracemalloc_there_are_no_allocation_sites(tmp_path):
    assert not tracemalloc.is_tracing()
    registry = []
    reports = Reports()
    canary = objgraph.canary.start(interval=3600, directory=tmp_path, keep=3,
                                   on_report=reports)
    for i in range(3):
        for n in range(50):
            _leak_one(registry, n)
        canary.trigger()
        reports.wait_count(i + 1)
    canary.stop()
    report = reports.reports[-1]
    assert report['tracemalloc'] is False and report['suspects']
    assert all('allocation_sites' not in s for s in report['suspects'])


# -- one canary, arguments ----------------------------------------------------


def test_one_canary_per_process(tmp_path):
    with objgraph.canary.start(interval=3600, directory=tmp_path) as canary:
        assert objgraph.canary.current() is canary
        with pytest.raises(RuntimeError, match='already running'):
            objgraph.canary.start(directory=tmp_path / 'other')
        assert not (tmp_path / 'other').exists()
    assert not canary.running and objgraph.canary.current() is None
    again = objgraph.canary.start(interval=3600, directory=tmp_path)
    assert again.running and again is not canary
    again.stop()


def test_the_directory_is_created(tmp_path):
    target = tmp_path / 'a' / 'b'
    canary = objgraph.canary.start(interval=3600, directory=target)
    canary.stop()
    assert target.is_dir() and canary.directory == str(target)
    assert os.listdir(target) == []  # the writability probe is gone


@pytest.mark.parametrize('kwargs, error, words', [
    (dict(interval=0), ValueError, 'interval'),
    (dict(interval=-5), ValueError, 'interval'),
    (dict(interval=float('nan')), ValueError, 'interval'),
    (dict(interval='600'), TypeError, 'interval'),
    (dict(interval=True), TypeError, 'interval'),
    (dict(keep=2), ValueError, 'keep must be >= 3'),
    (dict(keep=4.0), TypeError, 'keep'),
    (dict(max_pause=0), ValueError, 'max_pause'),
    (dict(max_pause='1'), TypeError, 'max_pause'),
    (dict(max_bytes=0), ValueError, 'max_bytes'),
    (dict(max_bytes=1.5), TypeError, 'max_bytes'),
    (dict(limit=0), ValueError, 'limit'),
    (dict(paths=-1), ValueError, 'paths'),
    (dict(samples=-1), ValueError, 'samples'),
    (dict(delay=-1), ValueError, 'delay'),
    (dict(on_report='print'), TypeError, 'on_report'),
    (dict(signal='SIGUSR2'), TypeError, 'signal'),
    (dict(signal=10000), ValueError, 'signal'),
    (dict(signal=signal.SIGKILL), ValueError, 'cannot be caught'),
    (dict(directory=42), TypeError, 'directory'),
])
def test_bad_arguments_are_refused_by_name(tmp_path, kwargs, error, words):
    kwargs.setdefault('directory', tmp_path)
    with pytest.raises(error, match=words):
        objgraph.canary.start(**kwargs)
    assert objgraph.canary.current() is None


def test_a_directory_that_cannot_be_used_is_refused(tmp_path):
    a_file = tmp_path / 'file'
    a_file.write_text('')
    with pytest.raises(ValueError, match='cannot be created'):
        objgraph.canary.start(directory=a_file / 'sub')
    with pytest.raises(ValueError, match='not a directory'):
        objgraph.canary.start(directory=a_file)
    if os.path.isdir('/proc/self'):  # not writable, even by root
        with pytest.raises(ValueError, match='not writable'):
            objgraph.canary.start(directory='/proc/self')
    assert objgraph.canary.current() is None


def test_import_alone_works():
    import subprocess
    import sys
    out = subprocess.run(
        [sys.executable, '-c', 'import objgraph.canary as c; '
         'print(c.start.__name__, c.current())'],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['start', 'None']
    assert objgraph.canary.Canary.__doc__
