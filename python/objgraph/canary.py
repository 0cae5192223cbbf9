"""Leak canaries: periodic heap snapshots and leak reports inside a service.

A canary is a background thread that takes a detached snapshot of the
heap every ``interval`` seconds (and when a chosen signal arrives), keeps
the newest few as files, runs :func:`objgraph.leak_suspects` over them and
writes a JSON report of the types that keep growing, with why they are
alive (their retention paths) and, when :mod:`tracemalloc` is tracing,
where they were allocated.  Budgets keep it cheap: a snapshot whose pause
or memory is estimated above its limit is skipped, and the report says
so.

::

    import signal
    import objgraph.canary

    canary = objgraph.canary.start(
        interval=600,                    # a snapshot every 10 minutes
        directory='/var/tmp/myservice-canary',
        keep=6,                          # the last hour of snapshots
        max_pause=0.5,                   # skip when a pause would be longer
        signal=signal.SIGUSR2,           # kill -USR2 <pid>: one more now
        on_report=lambda report: log.info('leak suspects: %s',
                                          report['suspects'][:3]))
    ...
    objgraph.canary.stop()               # or canary.stop()

Each round writes ``snapshot-<UTC time>-<pid>-<sequence>.hgsnap`` (loadable
with :func:`objgraph.load` or ``python -m objgraph``), ``report-...json``
beside it and ``latest-report.json`` (replaced atomically).  The report
format, the budgets and their estimator are described in docs/canary.rst
and in :class:`Canary`.

One canary runs per process at a time.  The canary's thread holds the GIL
only while the engine reads the heap (the snapshot's ``pause_seconds``)
and while it looks up a few live objects; saving, loading and the leak
analysis run in the engine without the GIL, so the application's threads
keep running between and around captures.
"""

import atexit
import collections
import copy
import itertools
import json
import logging
import math
import numbers
import os
import queue
import re
import signal as _signal
import sys
import tempfile
import threading
import time
import tracemalloc

from ._files import CLASS_TYPES, SnapshotError, load
from ._leaks import LeakAnalysis, _accumulation, leak_suspects
from ._names import check_type, plural
from ._snapshot import OWN_HOOKS, check_fork, take
from ._snapshot import own_objects as _live_own_objects
from ._snapshot_base import id_array as _ids

__all__ = ['Canary', 'current', 'start', 'stop']

log = logging.getLogger('objgraph.canary')

REPORT_VERSION = 1
LATEST_REPORT = 'latest-report.json'
SNAPSHOT_PREFIX = 'snapshot-'
REPORT_PREFIX = 'report-'

# The names _round gives the canary's files, whichever run or process wrote
# them: prefix, UTC date and time, pid, sequence number.  Rotation deletes
# only files named so (never a temporary file of a save in progress,
# "NAME.tmp-XXXXXXXX", nor anything a user put there).
_STAMP = r'(\d{8}-\d{6})-(\d+)-(\d+)'
_SNAPSHOT_NAME = re.compile(re.escape(SNAPSHOT_PREFIX) + _STAMP
                            + re.escape('.hgsnap'))
_REPORT_NAME = re.compile(re.escape(REPORT_PREFIX) + _STAMP
                          + re.escape('.json'))

_SITE_FRAMES = 5     # most recent frames kept per allocation site
_GC_RETRIES = 10     # captures refused because a collection is running
_GC_RETRY_WAIT = 0.01

_lock = threading.Lock()   # guards _current
_current = None            # the running Canary
_sequence = itertools.count(1)  # file numbers, unique within the process


# -- the budget estimator ---------------------------------------------------

class _Estimator:
    """Predicts the next capture's pause and memory from the heap's size.

    The size is ``sys.getallocatedblocks()``: the blocks the interpreter's
    small-object allocator has handed out, read in constant time.  Nearly
    every object (every GC-tracked one, every str and int) is one block,
    and a capture's pause and memory grow with the objects and references
    it walks, so both are taken as proportional to it: the cost per block
    is measured on every capture, and the estimate is the median cost of
    the last three captures times the current size.  The median keeps one
    slow capture (a busy machine) from skipping the following ones.

    Before the first capture there is no measurement, so prior costs
    stand in (``PRIOR_*``: 50 ns and 80 bytes per block, where captures of
    heaps of 0.1 to 5 million blocks measure 20 to 35 ns and 60 to 75
    bytes).  A prior that is too high would skip every capture, and with
    no capture there is never a measurement to correct it: it errs
    towards one capture over budget instead, which the report shows.
    When the interpreter runs without its allocator
    (``PYTHONMALLOC=malloc``: no block count) the last measured values
    are used as they are.
    """

    PRIOR_PAUSE_PER_BLOCK = 50e-9    # seconds
    PRIOR_BYTES_PER_BLOCK = 80       # capture + the analysed file
    HISTORY = 3

    def __init__(self):
        self._rows = collections.deque(maxlen=self.HISTORY)

    @staticmethod
    def size():
        """The heap's current size in allocator blocks (0: unknown)."""
        return sys.getallocatedblocks()

    def estimate(self, blocks):
        """``{'pause_seconds', 'bytes', 'blocks', 'basis'}`` for a capture
        of a heap of ``blocks`` blocks; pause and bytes are None when
        nothing can be estimated."""
        rows = list(self._rows)
        if blocks <= 0:
            if not rows:
                return dict(pause_seconds=None, bytes=None, blocks=blocks,
                            basis='none: no block count and no capture yet')
            _, pause, nbytes = rows[-1]
            return dict(pause_seconds=pause, bytes=nbytes, blocks=blocks,
                        basis='the last capture (no block count)')
        per_pause = [p / b for b, p, _ in rows if b > 0]
        per_bytes = [n / b for b, _, n in rows if b > 0 and n]
        if per_pause:
            basis = 'median of the last %d capture(s)' % len(per_pause)
        else:
            basis = 'prior costs (no capture yet)'
        pause = blocks * (_median(per_pause) if per_pause
                          else self.PRIOR_PAUSE_PER_BLOCK)
        nbytes = blocks * (_median(per_bytes) if per_bytes
                           else self.PRIOR_BYTES_PER_BLOCK)
        return dict(pause_seconds=pause, bytes=int(nbytes), blocks=blocks,
                    basis=basis)

    def record(self, blocks, pause, nbytes):
        """One capture's measurement: the size before it, its pause and
        the memory the round used (0: not known)."""
        self._rows.append((blocks, pause, nbytes))

    def update_bytes(self, nbytes):
        """The memory of the last recorded round, once known."""
        if self._rows:
            blocks, pause, _ = self._rows[-1]
            self._rows[-1] = (blocks, pause, nbytes)


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


# -- what leak_suspects needs of the older snapshots ------------------------

class _Summary(LeakAnalysis):
    """The per-type figures :func:`leak_suspects` reads from every snapshot
    but the newest: counts of live objects, shallow and retained bytes by
    type, for the file ``path``.

    Kept for each file instead of the loaded file itself, whose analysis
    arrays (dominator tree, reverse graph) take about as much memory again
    as the file: the canary's memory stays one analysed snapshot, not
    ``keep`` of them.  Mirrors the two methods leak_suspects calls
    (tests/python/test_canary.py checks that the result equals a direct
    ``leak_suspects`` over the loaded files).  The figures are dicts of
    str to int, which the collector does not track, so a summary adds one
    tracked object to the heap, and the canary excludes it from its
    captures.
    """

    def __init__(self, path, snap):
        self.path = path
        rows = snap._sizes_by_name(snap._analysis_mask(live=True), True)
        self._n = {row[0]: row[1] for row in rows}
        self._shallow = {row[0]: row[2] for row in rows}
        self._retained = {row[0]: row[3] for row in rows}

    def _analysis_mask(self, live=False):
        return None

    def _sizes_by_name(self, mask, shortnames):
        return [(name, n, self._shallow[name], self._retained[name])
                for name, n in self._n.items()]


# -- argument checks --------------------------------------------------------

def _check_number(name, value, positive=True, optional=False):
    check_type(value, name, numbers.Real, 'a number', optional)
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0 or (
            positive and value == 0):
        raise ValueError('%s must be a finite number %s 0, not %r'
                         % (name, '>' if positive else '>=', value))
    return value


def _check_int(name, value, minimum, optional=False):
    check_type(value, name, numbers.Integral, 'an int', optional)
    if value is None:
        return None
    if value < minimum:
        raise ValueError('%s must be >= %d, not %d' % (name, minimum, value))
    return int(value)


def _check_directory(directory):
    if directory is None:
        directory = os.path.join(tempfile.gettempdir(),
                                 'objgraph-canary-%d' % os.getpid())
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError('directory must be a path (str or os.PathLike), '
                        'not %s' % type(directory).__name__)
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError('directory %r is not a directory' % directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise ValueError('directory %r does not exist and cannot be '
                         'created: %s' % (directory, e.strerror or e)
                         ) from None
    try:  # what os.access cannot tell: a read-only mount, root, ACLs
        fd, probe = tempfile.mkstemp(prefix='.objgraph-canary-probe-',
                                     dir=directory)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise ValueError('directory %r is not writable: %s'
                         % (directory, e.strerror or e)) from None
    return directory


def _check_signal(signum):
    check_type(signum, 'signal', numbers.Integral,
               'a signal number (e.g. signal.SIGUSR2)', optional=True)
    if signum is None:
        return None
    if signum not in _signal.valid_signals():
        raise ValueError('signal=%r is not a valid signal number on this '
                         'platform' % (signum,))
    uncatchable = {getattr(_signal, name) for name in ('SIGKILL', 'SIGSTOP')
                   if hasattr(_signal, name)}
    if signum in uncatchable:
        raise ValueError('signal=%s cannot be caught: choose another, e.g. '
                         'signal.SIGUSR2' % _signal.Signals(signum).name)
    if threading.current_thread() is not threading.main_thread():
        raise ValueError(
            'signal=%r needs start() to be called from the main thread: '
            'Python installs signal handlers and runs them only there.  '
            'Call start() from the main thread, or pass signal=None and '
            'call Canary.trigger() instead' % (signum,))
    try:
        return _signal.Signals(signum)
    except ValueError:  # a real-time signal: no name
        return int(signum)


def _signal_name(signum):
    return getattr(signum, 'name', 'signal %d' % signum)


# -- the canary -------------------------------------------------------------

class Canary:
    """A running leak canary; create one with :func:`start`.

    Attributes (read only): ``interval``, ``directory``, ``keep``,
    ``max_pause``, ``max_bytes``, ``signal``, ``limit``, ``paths``,
    ``samples``, ``fork``; ``rounds`` (reports written so far) and
    ``last_report`` (the latest report, a dict as written to
    ``latest-report.json``, or None).

    A context manager: leaving the ``with`` block stops it.

    **Rounds.**  Each round (on schedule, on the signal, or on
    :meth:`trigger`) estimates the capture's pause and memory, skips the
    snapshot when an estimate exceeds ``max_pause`` or ``max_bytes``,
    otherwise takes a detached snapshot (``objgraph.snapshot(pin=False)``:
    it holds no object), saves it, deletes the oldest canary snapshot
    files of the directory beyond ``keep`` (see :func:`start`), loads the
    new file and, from the third file on, runs
    :func:`objgraph.leak_suspects` over the files kept.  Then it writes
    the report and calls ``on_report`` with a copy of it (unless
    :meth:`stop` cut the round short).  The canary's own objects are left
    out of its snapshots, so they are never suspects.  A failure (a
    full disk, a callback raising) is logged and recorded in the report's
    ``errors``, a capture refused while the collector runs in another
    thread in its ``skipped``; nothing stops the thread but :meth:`stop`.

    Create canaries with :func:`start`, not with this class.
    """

    def __init__(self, interval, directory, keep, max_pause, max_bytes,
                 on_report, signum, limit, paths, samples, delay,
                 fork=False):
        self.interval = interval
        self.directory = directory
        self.keep = keep
        self.max_pause = max_pause
        self.max_bytes = max_bytes
        self.signal = signum
        self.limit = limit
        self.paths = paths
        self.samples = samples
        self.fork = fork
        self.rounds = 0
        self.last_report = None
        self._on_report = on_report
        self._delay = interval if delay is None else delay
        # SimpleQueue.put is reentrant: safe in a signal handler, which
        # may interrupt the main thread anywhere (an Event's lock is not)
        self._wake = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._estimator = _Estimator()
        self._snapshots = collections.deque()  # _Summary, oldest first
        self._reports = collections.deque()    # report paths, oldest first
        self._previous_handler = None
        self._thread = threading.Thread(target=self._run,
                                        name='objgraph-canary', daemon=True)

    def __repr__(self):
        return '<objgraph.canary.Canary %s, every %gs, %s, %r>' % (
            'running' if self.running else 'stopped', self.interval,
            plural(self.rounds, 'round'), self.directory)

    # -- life cycle ----------------------------------------------------------

    def _start(self):
        if self.signal is not None:
            self._previous_handler = _signal.signal(self.signal,
                                                    self._on_signal)
        self._thread.start()

    @property
    def running(self):
        """True from :func:`start` until :meth:`stop`."""
        return self._thread.is_alive() and not self._stopping.is_set()

    def trigger(self, force=False):
        """Ask for a round now, off schedule (from any thread; returns at
        once).  Triggers that arrive during a round are merged into one
        round after it.  ``force=True`` takes the snapshot even when the
        budgets would skip it."""
        self._wake.put('force' if force else 'manual')

    def _on_signal(self, signum, frame):
        if not self._stopping.is_set():
            self._wake.put('signal')

    def stop(self, timeout=1.0):
        """Stop the canary and restore the signal handler it replaced.

        Wakes the thread and waits at most ``timeout`` seconds for it: a
        round in progress stops at its next step (a capture or a file
        being written is never cut in half) and is abandoned: it writes
        no report, so ``latest-report.json`` and :attr:`last_report` stay
        those of the last completed round.  Returns True when the thread
        has ended, False when it was still finishing a step at the
        timeout; it is a daemon thread, and starts nothing more either
        way.  Idempotent.

        The signal handler can be restored only from the main thread
        (Python's rule); called from another thread, ``stop()`` leaves it
        installed but inert, and logs a warning.
        """
        global _current
        self._stopping.set()
        self._restore_handler()
        self._wake.put('stop')
        if self._thread.ident is not None \
                and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with _lock:
            if _current is self:
                _current = None
        return not self._thread.is_alive()

    def _restore_handler(self):
        if self.signal is None or self._previous_handler is _done:
            return
        if threading.current_thread() is not threading.main_thread():
            log.warning('canary stopped outside the main thread: the '
                        'handler of %s stays installed (it now ignores the '
                        'signal)', _signal_name(self.signal))
            return
        if _signal.getsignal(self.signal) == self._on_signal:
            previous = self._previous_handler
            _signal.signal(self.signal, _signal.SIG_DFL if previous is None
                           else previous)
        self._previous_handler = _done

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # -- the thread ----------------------------------------------------------

    def _run(self):
        due = time.monotonic() + self._delay
        while not self._stopping.is_set():
            try:
                wakes = {self._wake.get(timeout=max(0.0,
                                                    due - time.monotonic()))}
            except queue.Empty:
                wakes = set()
            while True:  # merge what arrived meanwhile into one round
                try:
                    wakes.add(self._wake.get_nowait())
                except queue.Empty:
                    break
            if 'stop' in wakes or self._stopping.is_set():
                break
            now = time.monotonic()
            if now >= due:
                due += self.interval
                if due <= now:  # fell behind: no burst of rounds
                    due = now + self.interval
                if not wakes:
                    wakes.add('schedule')
            trigger = next(t for t in ('force', 'signal', 'manual',
                                       'schedule') if t in wakes)
            try:
                self._round(trigger)
            except Exception:  # never let the canary die
                log.exception('objgraph canary: round failed')

    def _round(self, trigger):
        seq = next(_sequence)
        now = time.time()
        stamp = '%s-%d-%04d' % (time.strftime('%Y%m%d-%H%M%S',
                                              time.gmtime(now)),
                                os.getpid(), seq)
        report = {
            'version': REPORT_VERSION,
            'timestamp': now,
            'time': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)),
            'pid': os.getpid(),
            'sequence': seq,
            'trigger': 'manual' if trigger == 'force' else trigger,
            'snapshot': None,
            'nodes': None,
            'edges': None,
            'pause_seconds': None,
            'capture_seconds': None,
            'bytes': None,
            'file_bytes': None,
            'memory_bytes': None,
            'estimate': None,
            'budget': {'max_pause': self.max_pause,
                       'max_bytes': self.max_bytes},
            'window': [],
            'analysis_seconds': None,
            'sampling_seconds': None,
            'tracemalloc': tracemalloc.is_tracing(),
            'suspects': [],
            'skipped': [],
            'warnings': [],
            'errors': [],
        }
        try:
            self._snapshot_and_analyse(report, stamp, trigger == 'force')
        except _CutShort as e:
            # stop() came mid-round: this round's report would have no
            # suspects, so it must not replace the last completed one
            log.info('objgraph canary: round %d abandoned (%s): the canary '
                     'is stopping', seq, e)
            return
        except Exception as e:
            log.exception('objgraph canary: round %d failed', seq)
            report['errors'].append('%s: %s' % (type(e).__name__, e))
        self._finish(report, stamp)

    def _snapshot_and_analyse(self, report, stamp, force):
        blocks = self._estimator.size()
        estimate = report['estimate'] = self._estimator.estimate(blocks)
        if not self._within_budget(report, estimate, force):
            return
        exclude = self._machinery(report)
        snap = self._capture(report, exclude)
        if snap is None:
            return
        est = self._estimator
        est.record(blocks, snap.pause_seconds, 0)
        report.update(nodes=len(snap), edges=snap.num_edges,
                      pause_seconds=snap.pause_seconds,
                      capture_seconds=snap.capture_seconds,
                      bytes=snap.nbytes)
        if self.max_pause is not None and snap.pause_seconds > self.max_pause:
            report['warnings'].append(
                'the capture paused the program %.6f s, above max_pause '
                '(%g s): the estimate was %.6f s'
                % (snap.pause_seconds, self.max_pause,
                   estimate['pause_seconds'] or 0.0))
        del exclude
        if self._stopping.is_set():
            raise _CutShort('the snapshot was not saved')
        path = os.path.join(self.directory,
                            '%s%s.hgsnap' % (SNAPSHOT_PREFIX, stamp))
        try:
            snap.save(path)
        except SnapshotError as e:
            report['errors'].append(str(e))
            log.error('objgraph canary: %s', e)
            return
        report['snapshot'] = path
        report['file_bytes'] = os.path.getsize(path)
        capture_bytes = snap.nbytes
        if not report['tracemalloc']:
            snap = None  # frees the capture before the analysis runs
        try:
            self._analyse(report, path, snap, capture_bytes)
        except BaseException:
            # a file that never made it into the window would never be
            # rotated out: delete it
            if all(summary.path != path for summary in self._snapshots):
                _remove(path)
            raise
        finally:
            if snap is not None:
                snap.close()

    def _within_budget(self, report, estimate, force):
        reasons = []
        pause = estimate['pause_seconds']
        if self.max_pause is not None and pause is not None \
                and pause > self.max_pause:
            reasons.append(('estimated pause %.6f s exceeds max_pause %g s'
                            % (pause, self.max_pause),
                            'pause_seconds', pause, self.max_pause))
        nbytes = estimate['bytes']
        if self.max_bytes is not None and nbytes is not None \
                and nbytes > self.max_bytes:
            reasons.append(('estimated memory %d bytes exceeds max_bytes %d'
                            % (nbytes, self.max_bytes),
                            'bytes', nbytes, self.max_bytes))
        for reason, key, value, limit in reasons:
            entry = {'what': 'snapshot', 'reason': reason, 'budget': key,
                     'estimate': value, 'limit': limit,
                     'basis': estimate['basis']}
            if force:
                report['warnings'].append('forced: ' + reason)
            else:
                report['skipped'].append(entry)
                log.warning('objgraph canary: snapshot skipped: %s', reason)
        return force or not reasons

    def _capture(self, report, exclude):
        """A detached snapshot, retried a few times while a collection in
        another thread (a finalizer that let go of the GIL) refuses it."""
        for attempt in range(_GC_RETRIES):
            try:
                return take(pin=False, exclude=exclude, fork=self.fork)
            except RuntimeError as e:
                if 'garbage collector' not in str(e):
                    raise
                if self._stopping.wait(_GC_RETRY_WAIT):
                    raise _CutShort('no snapshot taken: %s' % e) from None
                if attempt + 1 == _GC_RETRIES:
                    report['skipped'].append({
                        'what': 'snapshot',
                        'reason': 'refused %s: %s' % (
                            plural(attempt + 1, 'time'), e)})
                    return None
        return None

    def _machinery(self, report):
        """The canary's own objects, left out of its snapshots' counts and
        analyses: the canary, its window of summaries, its list of
        reports, its estimator, and everything they and the reports (the
        last one and ``report``, this round's) hold alone.  Without them
        the canary's own state, which grows until the window is full, and
        its reports, which grow with the suspects they list, would show
        as growing dicts, lists, str, int and float: suspects allocated
        in objgraph/canary.py."""
        est = self._estimator
        try:
            own = _own_objects((self._snapshots, self._reports, est._rows,
                                self.last_report, report,
                                *(vars(s) for s in self._snapshots)))
        except RuntimeError:  # last_report changed by another thread
            own = (self._snapshots, self._reports, est._rows)
        return (self, est, *self._snapshots, *own)

    def _analyse(self, report, path, snap, capture_bytes):
        """Load the new file, rotate, and run leak_suspects over the kept
        window (the older files as their summaries)."""
        t0 = time.perf_counter()
        loaded = load(path)
        self._snapshots.append(_Summary(path, loaded))
        self._rotate(self._snapshots, lambda summary: summary.path,
                     _SNAPSHOT_NAME, report)
        self._record_memory(report, capture_bytes + loaded.nbytes)
        window = [summary.path for summary in self._snapshots]
        report['window'] = [os.path.basename(p) for p in window]
        if len(window) < 3:
            report['skipped'].append({
                'what': 'analysis',
                'reason': 'leak_suspects needs 3 snapshots, %d kept so far'
                          % len(window)})
            return
        if self._stopping.is_set():
            raise _CutShort('%s was saved but not analysed'
                            % os.path.basename(path))
        older = list(self._snapshots)[:-1]
        suspects = leak_suspects(older + [loaded], limit=self.limit,
                                 paths=self.paths)
        report['suspects'] = [_suspect(loaded, s) for s in suspects]
        oldest = load(window[0]) if suspects else None
        if oldest is not None:
            # where each accumulates: the summaries keep no references,
            # the oldest file does
            new = loaded._g.match(oldest._g,
                                  loaded._analysis_mask(live=True), False)
            for entry, s in zip(report['suspects'], suspects):
                entry['accumulation'] = _accumulation_doc(
                    _accumulation(oldest, loaded, s.typename, new))
        self._record_memory(report, capture_bytes + loaded.nbytes + (
            0 if oldest is None else oldest.nbytes))
        report['analysis_seconds'] = time.perf_counter() - t0
        if snap is not None and report['suspects'] and self.samples:
            t0 = time.perf_counter()
            _allocation_sites(snap, oldest, report, self.samples,
                              self._machinery(report))
            report['sampling_seconds'] = time.perf_counter() - t0

    def _record_memory(self, report, nbytes):
        """The round's memory so far: the capture, the loaded file and
        the analysis arrays built on it."""
        report['memory_bytes'] = nbytes
        self._estimator.update_bytes(nbytes)

    def _rotate(self, files, path_of, pattern, report):
        """Keep at most ``keep`` canary files of one kind in the directory.

        ``files`` is this canary's window of that kind, oldest first
        (``path_of`` gives an entry's path; the newest is written, or about
        to be), ``pattern`` the names the canary gives that kind.  The
        window is trimmed to ``keep``, the files leaving it deleted; then
        the oldest other files named by ``pattern`` -- left by earlier
        runs, or by other processes -- are deleted until ``keep`` remain,
        counting the window's files still there.  A file of the window is
        never deleted for another's sake (the window is the analysis), and
        a file named otherwise is never touched.
        """
        while len(files) > self.keep:
            self._delete(path_of(files.popleft()), report)
        if not files:
            return
        mine = {os.path.basename(path_of(f)) for f in files}
        present = _canary_files(self.directory, pattern)
        others = [name for name in present if name not in mine]
        n_mine = len({name for name in present if name in mine}
                     | {os.path.basename(path_of(files[-1]))})
        for name in others[:max(0, len(others) + n_mine - self.keep)]:
            self._delete(os.path.join(self.directory, name), report)

    @staticmethod
    def _delete(path, report):
        try:
            os.remove(path)
        except FileNotFoundError:  # gone already (another canary's rotation)
            pass
        except OSError as e:
            report['errors'].append('cannot delete %r: %s'
                                    % (path, e.strerror or e))

    def _finish(self, report, stamp):
        """Write the report, publish it (``last_report``), then hand a
        copy to ``on_report``: what the callback sees is on disk.  If the
        callback raises, the error is added and the files written again."""
        for entry in report['skipped']:
            log.debug('objgraph canary: skipped %(what)s: %(reason)s', entry)
        path = os.path.join(self.directory,
                            '%s%s.json' % (REPORT_PREFIX, stamp))
        self._reports.append(path)
        self._rotate(self._reports, lambda p: p, _REPORT_NAME, report)
        self._write_report(report, path)
        self.last_report = report
        self.rounds += 1
        if self._on_report is None:
            return
        try:
            self._on_report(copy.deepcopy(report))
        except Exception as e:
            log.exception('objgraph canary: on_report raised')
            report['errors'].append('on_report raised %s: %s'
                                    % (type(e).__name__, e))
            self._write_report(report, path)

    def _write_report(self, report, path):
        try:
            _write_json(path, report)
            _write_json(os.path.join(self.directory, LATEST_REPORT), report)
        except (OSError, TypeError, ValueError) as e:
            log.error('objgraph canary: cannot write the report %r: %s',
                      path, e)
            report['errors'].append('cannot write the report: %s' % e)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _canary_files(directory, pattern):
    """The names of the regular files (not links) in ``directory`` that
    ``pattern`` matches, oldest first: by the UTC time in the name, then
    the time of the last write, pid and sequence number (two runs within
    one second)."""
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                m = pattern.fullmatch(entry.name)
                if m is None:
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    mtime = entry.stat(follow_symlinks=False).st_mtime_ns
                except OSError:  # deleted meanwhile
                    continue
                found.append((m.group(1), mtime, int(m.group(2)),
                              int(m.group(3)), entry.name))
    except OSError:  # the directory is gone: the save reports that
        return []
    found.sort()
    return [row[-1] for row in found]


class _CutShort(Exception):
    """Raised in a round that :meth:`Canary.stop` cut short: the round is
    abandoned, and writes no report."""


_CONTAINERS = (dict, list, tuple, collections.deque)


def _extra_references(roots):
    """(containers, [(value, references to it beyond the containers')])
    of the container trees under ``roots``: the containers, and each other
    value they hold with its reference count less the references the
    containers hold to it."""
    containers, counts, values = [], collections.Counter(), {}
    stack = [r for r in roots if isinstance(r, _CONTAINERS)]
    while stack:
        o = stack.pop()
        containers.append(o)
        for x in itertools.chain(o.keys(), o.values()) \
                if isinstance(o, dict) else o:
            if isinstance(x, _CONTAINERS):
                stack.append(x)
            else:
                counts[id(x)] += 1
                values[id(x)] = x
    o = x = None  # the loop's last value: no reference of ours left
    return containers, [(x, sys.getrefcount(x) - counts[i])
                        for i, x in values.items()]


def _calibrate():
    """The references _extra_references itself adds to a value's count
    (its own variables, the call's argument): a value with that many
    extra references is held by the containers alone."""
    value = float(len(sys.argv) + 0.5)  # a new float: only this frame
    _, rows = _extra_references([[value]])
    return rows[0][1] - 1  # less this frame's own reference, `value`


def _own_objects(roots):
    """Every container (dict, list, tuple, deque) of the trees under
    ``roots``, and every other value only they hold (its reference count
    is the references the trees hold to it): a float, a count, a type
    name the canary made.  Values the program shares -- interned strings,
    small ints, None, CPython 3.12's immortal objects -- have more
    references, and stay in the snapshots."""
    containers, rows = _extra_references(roots)
    return containers + [x for x, extra in rows if extra == _HELD_ALONE]


class _Done:
    """Marks a signal handler already restored."""


_done = _Done()
_HELD_ALONE = _calibrate()


# -- report pieces ----------------------------------------------------------

def _accumulation_doc(acc):
    """An :class:`objgraph.Accumulation` as JSON (None: None)."""
    return None if acc is None else {
        'path': list(acc.path), 'references': acc.references,
        'holds': acc.holds}


def _suspect(loaded, s):
    return {
        'typename': s.typename,
        'counts': list(s.counts),
        'growth': s.growth,
        'retained_bytes': list(s.retained_bytes),
        'paths': [{'signature': ' -> '.join(p.signature),
                   'root': None if p.root is None else {
                       'kind': p.root.kind,
                       'description': p.root.description},
                   'text': p.text(),
                   'example': _example(loaded, p),
                   'count': p.count,
                   'retained_bytes': p.retained_bytes} for p in s.paths],
    }


def _example(loaded, path):
    """A group's example path as text, with the labels the file stores
    (module, class and function names): 'dict -> module app -> dict ->
    list -> Session'.  The group's other objects have paths of the same
    types, possibly through other modules or classes."""
    parts = list(path.signature)
    try:
        ids = loaded._g.find([int(a) for a in path.example])
        for i, v in enumerate(ids):
            if v >= 0 and i < len(parts):
                label = loaded.node(v).label
                if label and ' ' not in parts[i]:
                    kind = 'class' if parts[i] in CLASS_TYPES else parts[i]
                    parts[i] = '%s %s' % (kind, label)
    except (TypeError, ValueError):  # no labels: the type names alone
        parts = list(path.signature)
    return ' -> '.join(parts)


def _allocation_sites(snap, oldest, report, samples, machinery):
    """Where a sample of each suspect's instances were allocated, from
    tracemalloc.

    The sample is taken among the instances that are new since the
    window's oldest snapshot ``oldest`` (matched by address and type):
    the growth the report is about, not the instances the program made
    at start-up; among all instances when none is new.  Instances are
    looked up in the collector's lists by the addresses and types the
    detached snapshot recorded (one walk for every suspect, GIL held, no
    capture), never by dereferencing an address; an instance freed since
    is counted as ``gone``, and so is an object at its address that is
    objgraph's own now (``machinery``, the canary's objects, or a live
    snapshot's): the instance was freed and the canary's work since
    reused its memory, so that object's allocation site is not the
    suspect's.
    """
    g = snap._g
    newcomers = g.match(oldest._g, snap._mask(), False)
    picks, origins = [], []
    for entry in report['suspects']:
        try:
            tmask = snap._type_mask(entry['typename'])
        except ValueError:
            tmask = None
        ids = _ids(g.select(newcomers, tmask)) if tmask else []
        origins.append('new since %s' % os.path.basename(oldest.path))
        if not ids and tmask:
            ids = _ids(g.select(None, tmask))
            origins[-1] = 'all instances'
        step = max(1, len(ids) // samples)
        picks.append(list(ids[::step][:samples]))
    flat = [v for ids in picks for v in ids]
    objs = g.objects(flat) if flat else []
    ours = {id(o) for o in itertools.chain(machinery, _live_own_objects())}
    at = 0
    for entry, ids, origin in zip(report['suspects'], picks, origins):
        sites = collections.Counter()
        untraced = gone = 0
        for obj in objs[at:at + len(ids)]:
            if obj is None or id(obj) in ours:
                gone += 1
                continue
            frames = _traceback_of(obj)
            if frames is None:
                untraced += 1
                continue
            sites[frames[:_SITE_FRAMES]] += 1
        at += len(ids)
        entry['allocation_sites'] = [
            {'frames': list(frames), 'count': n}
            for frames, n in sorted(sites.items(),
                                    key=lambda kv: (-kv[1], kv[0]))]
        entry['sampled'] = len(ids)
        entry['sampled_from'] = origin if ids else None
        entry['untraced'] = untraced
        entry['gone'] = gone
        if not ids:
            report['skipped'].append({
                'what': 'allocation sites of %s' % entry['typename'],
                'reason': 'no tracked instance to sample (an untracked type '
                          'such as str, or all freed)'})
    del objs


def _traceback_of(obj):
    """Where ``obj`` was allocated, most recent frame first, as
    'file:line' strings; None when tracemalloc did not see it."""
    tb = tracemalloc.get_object_traceback(obj)
    if tb is not None:
        return tuple('%s:%d' % (f.filename, f.lineno) for f in reversed(tb))
    raw = _managed_dict_traceback(obj)
    if raw is None:
        return None
    return tuple('%s:%d' % (filename, lineno) for filename, lineno in raw)


_Py_TPFLAGS_MANAGED_DICT = 1 << 4
_Py_TPFLAGS_HAVE_GC = 1 << 14
_get_traceback = None


def _managed_dict_traceback(obj):
    """CPython 3.11's tracemalloc.get_object_traceback() misses instances
    of ordinary classes -- the most common leak suspects: their memory
    block starts two pointers before the GC header (the managed
    ``__dict__``), and 3.11 looks the block up at the GC header (fixed in
    3.12, gh-101430).  Ask tracemalloc for the block's true start through
    its C function; the address is a lookup key in tracemalloc's table,
    never dereferenced.  None on other versions or when not traced."""
    flags = type(obj).__flags__
    if not flags & _Py_TPFLAGS_MANAGED_DICT \
            or not flags & _Py_TPFLAGS_HAVE_GC:
        return None
    fn, presize = _get_traceback or _prepare_tracebacks()
    if fn is None:
        return None
    try:
        return fn(0, id(obj) - presize)
    except Exception:
        return None


def _prepare_tracebacks():
    """Find the C function _managed_dict_traceback needs, once; done by
    start(), so that importing ctypes never shows in a canary's
    snapshots."""
    global _get_traceback
    if _get_traceback is None:
        _get_traceback = (None, 0)
        if sys.implementation.name == 'cpython' \
                and sys.version_info[:2] == (3, 11):
            try:
                import ctypes
                fn = ctypes.pythonapi._PyTraceMalloc_GetTraceback
                fn.restype = ctypes.py_object
                fn.argtypes = [ctypes.c_uint, ctypes.c_size_t]
                word = ctypes.sizeof(ctypes.c_void_p)
                _get_traceback = (fn, 4 * word)  # GC header, dict, values
            except (ImportError, AttributeError, OSError):
                pass
    return _get_traceback


def _write_json(path, obj):
    """Write ``obj`` as JSON to ``path`` atomically: a temporary file
    beside it, synced, renamed over it."""
    tmp = '%s.tmp-%d-%d' % (path, os.getpid(), threading.get_ident())
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


# -- module interface -------------------------------------------------------

def start(interval=600, directory=None, keep=6, max_pause=0.5,
          on_report=None, signal=None, max_bytes=None, limit=10, paths=3,
          samples=10, delay=None, fork=False):
    """Start the process's leak canary; returns its :class:`Canary`.

    ``interval``: seconds between rounds (> 0); the first comes after
    ``delay`` seconds (default: ``interval``, so that start-up is over).
    ``directory``: where snapshots and reports go; created if missing
    (default: ``<tempdir>/objgraph-canary-<pid>``); it must be writable.
    ``keep``: snapshot files kept in ``directory``, newest first (>= 3,
    what :func:`objgraph.leak_suspects` needs).  It counts every canary
    snapshot there (``snapshot-<UTC time>-<pid>-<sequence>.hgsnap``),
    whichever run or process wrote it: after each save the oldest are
    deleted until ``keep`` remain, files of earlier runs included, but
    never one of this canary's own newest ``keep``.  Canaries running at
    once in one directory therefore delete each other's files: give each
    process its own directory.  Files named otherwise are never touched.
    The reports (``report-...json``) rotate the same way.  A snapshot
    file takes about 33 bytes per object and 4 per reference.
    ``max_pause``: seconds; a capture estimated to pause the program
    longer is skipped (None: no limit).  ``max_bytes``: a capture whose
    round is estimated to need more memory (the capture plus the newest
    file loaded and analysed) is skipped (None: no limit).
    ``on_report``: called in the canary's thread with each report (a
    dict: see docs/canary.rst); what it raises is logged and recorded in
    the report.  ``signal``: a signal number (e.g. ``signal.SIGUSR2``)
    that asks for a round off schedule; its handler is installed now and
    the previous one restored by :func:`stop`, so ``start()`` must then be
    called from the main thread.  ``limit``: suspects reported (None:
    all); ``paths``: retention paths per suspect; ``samples``: instances
    per suspect whose allocation site is looked up when :mod:`tracemalloc`
    is tracing (0: none).  ``fork``: take each snapshot in a forked child
    (``objgraph.snapshot(pin=False, fork=True)``, Linux only): the program
    is paused for the fork only, so ``max_pause`` and the estimate then
    measure the fork; a child that fails is an error of its round.

    Raises RuntimeError if a canary is already running, TypeError or
    ValueError naming the argument when one is wrong.

        >>> canary = objgraph.canary.start(interval=60, directory='/tmp/c')
        >>> canary.stop()
        True
    """
    _check_none_running()
    interval = _check_number('interval', interval)
    delay = _check_number('delay', delay, positive=False, optional=True)
    keep = _check_int('keep', keep, 3)
    max_pause = _check_number('max_pause', max_pause, optional=True)
    max_bytes = _check_int('max_bytes', max_bytes, 1, optional=True)
    limit = _check_int('limit', limit, 1, optional=True)
    paths = _check_int('paths', paths, 0)
    samples = _check_int('samples', samples, 0)
    check_fork(False, fork)
    if on_report is not None and not callable(on_report):
        raise TypeError('on_report must be callable or None, not %s'
                        % type(on_report).__name__)
    signum = _check_signal(signal)
    directory = _check_directory(directory)
    _prepare_tracebacks()
    # the logger's cache of enabled levels, filled now: filled by the
    # first rounds, it would grow the heap their snapshots compare
    for level in (logging.DEBUG, logging.INFO, logging.WARNING,
                  logging.ERROR):
        log.isEnabledFor(level)
    global _current
    with _lock:
        _check_none_running()
        canary = Canary(interval, directory, keep, max_pause, max_bytes,
                        on_report, signum, limit, paths, samples, delay,
                        bool(fork))
        canary._start()
        _current = canary
    return canary


def _check_none_running():
    running = _current
    if running is not None and running.running:
        raise RuntimeError(
            'a canary is already running in this process (writing to %r); '
            'call objgraph.canary.stop() before starting another'
            % running.directory)


def stop(timeout=1.0):
    """Stop the running canary, if any (see :meth:`Canary.stop`); returns
    it, or None when none was running."""
    canary = current()
    if canary is not None:
        canary.stop(timeout)
    return canary


def _running_machinery():
    """The running canary's own objects (Canary._machinery), for every
    snapshot to leave out: a program's snapshots taken while its canary
    runs do not see the canary's window and reports grow.  None from the
    canary's own thread: its rounds list them already (with the round's
    report), as the exclude of their captures and of their sampling."""
    canary = current()
    if canary is None or threading.current_thread() is canary._thread:
        return []
    return list(canary._machinery({}))


OWN_HOOKS.append(_running_machinery)


def current():
    """The running :class:`Canary`, or None."""
    with _lock:
        return _current


def _stop_at_exit():
    stop(timeout=5.0)


def _forget_in_child():
    """After fork(): the child has no canary thread; let it start one."""
    global _current, _lock
    _lock = threading.Lock()
    _current = None


atexit.register(_stop_at_exit)
if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_forget_in_child)
