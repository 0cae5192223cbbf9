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

This module is the scheduler -- :class:`Canary`'s thread and its rounds,
and :func:`start`, :func:`stop`, :func:`current` -- over the canary's
parts: its budgets (objgraph._canary_budget), reports
(objgraph._canary_report), allocation sites (objgraph._canary_sites),
files (objgraph._canary_files), own objects (objgraph._canary_own) and
argument checks (objgraph._canary_args).  Each part uses snapshots
through their public methods and the package's named interface to their
graph (objgraph._snapshot_base, objgraph._snapshot).

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
import logging
import os
import queue
import signal as _signal
import threading
import time

from ._canary_args import (
    check_directory,
    check_int,
    check_number,
    check_signal,
    signal_name,
)
from ._canary_budget import Estimator, within_budget
from ._canary_files import LATEST_REPORT as LATEST_REPORT
from ._canary_files import REPORT_NAME, SNAPSHOT_NAME, remove, rotate
from ._canary_files import REPORT_PREFIX as REPORT_PREFIX
from ._canary_files import SNAPSHOT_PREFIX as SNAPSHOT_PREFIX
from ._canary_own import objects_under
from ._canary_report import REPORT_VERSION as REPORT_VERSION
from ._canary_report import (
    Summary,
    accumulation_doc,
    new_report,
    suspect_doc,
    write_json,
)
from ._canary_sites import allocation_sites, prepare_tracebacks
from ._files import SnapshotError, load
from ._leaks import accumulation_point, leak_suspects
from ._names import plural
from ._snapshot import OWN_HOOKS, check_fork, take
from ._snapshot_base import newcomers

__all__ = ['Canary', 'current', 'start', 'stop']

log = logging.getLogger('objgraph.canary')

_GC_RETRIES = 10     # captures refused because a collection is running
_GC_RETRY_WAIT = 0.01

_lock = threading.Lock()   # guards _current
_current = None            # the running Canary
_sequence = itertools.count(1)  # file numbers, unique within the process


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
        self._estimator = Estimator()
        self._snapshots = collections.deque()  # Summary, oldest first
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
                        'signal)', signal_name(self.signal))
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
        report = new_report(now, seq, trigger, self.max_pause,
                            self.max_bytes)
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
        if not within_budget(report, estimate, self.max_pause,
                             self.max_bytes, force):
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
                remove(path)
            raise
        finally:
            if snap is not None:
                snap.close()

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
        by the canary (objgraph/canary.py and its parts)."""
        est = self._estimator
        try:
            own = objects_under((self._snapshots, self._reports,
                                 *est.containers(), self.last_report,
                                 report, *(vars(s) for s in self._snapshots)))
        except RuntimeError:  # last_report changed by another thread
            own = (self._snapshots, self._reports, *est.containers())
        return (self, est, *self._snapshots, *own)

    def _analyse(self, report, path, snap, capture_bytes):
        """Load the new file, rotate, and run leak_suspects over the kept
        window (the older files as their summaries)."""
        t0 = time.perf_counter()
        loaded = load(path)
        self._snapshots.append(Summary(path, loaded))
        rotate(self._snapshots, lambda summary: summary.path, SNAPSHOT_NAME,
               self.keep, self.directory, report)
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
        report['suspects'] = [suspect_doc(loaded, s) for s in suspects]
        oldest = load(window[0]) if suspects else None
        if oldest is not None:
            # where each accumulates: the summaries keep no references,
            # the oldest file does
            new = newcomers(loaded, oldest)
            for entry, s in zip(report['suspects'], suspects):
                entry['accumulation'] = accumulation_doc(
                    accumulation_point(oldest, loaded, s.typename, new))
        self._record_memory(report, capture_bytes + loaded.nbytes + (
            0 if oldest is None else oldest.nbytes))
        report['analysis_seconds'] = time.perf_counter() - t0
        if snap is not None and report['suspects'] and self.samples:
            t0 = time.perf_counter()
            allocation_sites(snap, oldest, report, self.samples,
                             self._machinery(report))
            report['sampling_seconds'] = time.perf_counter() - t0

    def _record_memory(self, report, nbytes):
        """The round's memory so far: the capture, the loaded file and
        the analysis arrays built on it."""
        report['memory_bytes'] = nbytes
        self._estimator.update_bytes(nbytes)

    def _finish(self, report, stamp):
        """Write the report, publish it (``last_report``), then hand a
        copy to ``on_report``: what the callback sees is on disk.  If the
        callback raises, the error is added and the files written again."""
        for entry in report['skipped']:
            log.debug('objgraph canary: skipped %(what)s: %(reason)s', entry)
        path = os.path.join(self.directory,
                            '%s%s.json' % (REPORT_PREFIX, stamp))
        self._reports.append(path)
        rotate(self._reports, lambda p: p, REPORT_NAME, self.keep,
               self.directory, report)
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
            write_json(path, report)
            write_json(os.path.join(self.directory, LATEST_REPORT), report)
        except (OSError, TypeError, ValueError) as e:
            log.error('objgraph canary: cannot write the report %r: %s',
                      path, e)
            report['errors'].append('cannot write the report: %s' % e)


class _CutShort(Exception):
    """Raised in a round that :meth:`Canary.stop` cut short: the round is
    abandoned, and writes no report."""


class _Done:
    """Marks a signal handler already restored."""


_done = _Done()


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
    file takes about 29 bytes per object and 4 per reference.
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
    interval = check_number('interval', interval)
    delay = check_number('delay', delay, positive=False, optional=True)
    keep = check_int('keep', keep, 3)
    max_pause = check_number('max_pause', max_pause, optional=True)
    max_bytes = check_int('max_bytes', max_bytes, 1, optional=True)
    limit = check_int('limit', limit, 1, optional=True)
    paths = check_int('paths', paths, 0)
    samples = check_int('samples', samples, 0)
    check_fork(False, fork)
    if on_report is not None and not callable(on_report):
        raise TypeError('on_report must be callable or None, not %s'
                        % type(on_report).__name__)
    signum = check_signal(signal)
    directory = check_directory(directory)
    prepare_tracebacks()
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
