"""assert_no_growth: run code several times and fail when objects keep
growing -- the leak check of unittest, scripts and the pytest plugin
(``_objgraph_pytestplugin``: its marker and fixture call this module).

The code runs ``warmups`` times unobserved (imports, caches filled on
first use), then a detached snapshot is taken, then the code runs
``iterations`` more times with a detached snapshot after each.  Each
snapshot follows a full collection (``gc.collect()``): garbage is never
counted anyway (only what a root reaches is), but on CPython 3.13 the
``__dict__`` an instance was given while its values were kept inline is
reported by neither the instance nor its values, so it is a root of its
own, alive in the graph while its owner waits in a garbage cycle.  The
snapshots go to :func:`objgraph.leak_suspects`, and a type fails the
check when its count of objects a full collection would keep grows by
the rule leak_suspects uses (``_leaks.grows``): never drops from one
snapshot to the next, and grows after the second -- growth in the first
measured interval is one more warm-up.  So the first failing run of a
test that leaks one object per call needs ``iterations >= 2``; the
default, 3, shows the growth twice.

Whose objects are left out: objgraph's own (every snapshot and what it
holds: ``take()`` excludes them), and the bookkeeping of the test runner
around the code -- a type whose new objects' top retention path goes
through an object of pytest's or pluggy's (``LogCaptureHandler.records``
keeps a LogRecord per logging call), or through the list a
``warnings.catch_warnings(record=True)`` around the check records
warnings in (pytest's, around every test).  The snapshots are taken
inside the loop that runs the code, so nothing pytest does between two
tests is ever between two snapshots.

Costs: one capture and one dominator tree per snapshot (a few tens of
milliseconds on the heap of a pytest run); nothing is pinned.
"""

import logging
import numbers
import warnings

from ._leaks import grows, leak_suspects
from ._names import check_callable, check_type, plural
from ._snapshot import take
from ._snapshot_base import long_type_names_at

__all__ = ['GrowthError', 'GrowthCheck', 'assert_no_growth']

# Modules whose objects are the test runner's, never the code's.
_RUNNER_MODULES = ('_pytest.', 'pytest.', 'pluggy.')


class GrowthError(AssertionError):
    """Raised by :func:`objgraph.assert_no_growth` when objects keep
    growing.  ``suspects``: the :class:`LeakSuspect` rows of the types
    that grew (``counts`` and ``retained_bytes``: one value after the
    warm-up, then one per iteration); ``paths``: for each, the top
    :class:`RetentionPath` of its new objects (None when none was
    found).  ``str()`` is the report."""

    __module__ = 'objgraph'

    def __init__(self, message, suspects, paths):
        super().__init__(message)
        self.suspects = suspects
        self.paths = paths


class GrowthCheck:
    """The rounds of :func:`objgraph.assert_no_growth` when it is given
    no function: iterate over it and run the code once per round; the
    check runs when the last round ends.  Also a context manager, for
    ``with objgraph.assert_no_growth() as rounds: for _ in rounds: ...``,
    whose exit fails if the rounds were not all run."""

    def __init__(self, warmups=1, iterations=3, types=None, ignore=(),
                 filter_fn=None):
        check_type(warmups, 'warmups', numbers.Integral, 'an int')
        check_type(iterations, 'iterations', numbers.Integral, 'an int')
        if warmups < 0:
            raise ValueError('warmups must be >= 0, not %d' % warmups)
        if iterations < 2:
            raise ValueError(
                'iterations must be 2 or more (growth in the first one '
                'counts as warm-up), not %d' % iterations)
        self.warmups = int(warmups)
        self.iterations = int(iterations)
        self.types = _names(types, 'types', optional=True)
        self.ignore = _names(ignore, 'ignore')
        check_callable(filter_fn, 'filter_fn', optional=True)
        self.filter_fn = filter_fn
        self.done = False

    def __iter__(self):
        """Yields the round number, warm-ups first; takes the snapshots
        between rounds and raises :class:`GrowthError` after the last."""
        __tracebackhide__ = True  # pytest shows the caller's line
        self.done = False
        warmups = self.warmups
        # room for every snapshot from the start: a list that grew here
        # would be one more object growing
        snaps = [None] * (self.iterations + 1)
        recorded = _recorded_warnings()
        try:
            for i in range(warmups + self.iterations):
                if i == warmups:
                    snaps[0] = take(pin=False, collect=True)
                yield i
                if i >= warmups:
                    snaps[i - warmups + 1] = take(pin=False, collect=True)
            failure = self._failure(snaps, _runner_objects(recorded))
        finally:  # also when the code raised, or the loop was left
            for s in snaps:
                if s is not None:
                    s.close()
            snaps = None
        self.done = True
        if failure is not None:
            raise failure

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None and not self.done:
            raise RuntimeError(
                'assert_no_growth(): the block must run the code once per '
                'round: "for _ in rounds: ..." (the rounds were not all run)')
        return False

    def _failure(self, snaps, runner_addrs):
        """A GrowthError naming the types that kept growing, or None."""
        suspects = [s for s in leak_suspects(snaps, limit=None, paths=0)
                    if grows(s.counts) and self._watched(s.typename)]
        if not suspects:
            return None
        # the objects that came after the first iteration, whose growth
        # is warm-up: where those that count went
        last = snaps[-1]
        new = last.diff(snaps[1]).new_ids()
        kept, paths = [], []
        for s in suspects:
            top = last.retention_paths(new.get(s.typename) or s.typename, 1)
            top = top[0] if top else None
            if top is not None and _runners(last, top, runner_addrs):
                continue
            if self.filter_fn is not None and not self.filter_fn(s):
                continue
            kept.append(s)
            paths.append(top)
        if not kept:
            return None
        return GrowthError(self._report(kept, paths), kept, paths)

    def _watched(self, typename):
        if self.types is not None and typename not in self.types:
            return False
        return typename not in self.ignore

    def _report(self, suspects, paths):
        lines = ['objects kept growing over %s after %s (%s):' % (
            plural(self.iterations, 'iteration'),
            plural(self.warmups, 'warm-up'), plural(len(suspects), 'type'))]
        for s, top in zip(suspects, paths):
            lines.append('  %s: objects %s (%+d), retained bytes %s (%+d)' % (
                s.typename, _series(s.counts), s.counts[-1] - s.counts[0],
                _series(s.retained_bytes),
                s.retained_bytes[-1] - s.retained_bytes[0]))
            if top is not None:
                lines.append('    top path of the new ones (%s, %s):' % (
                    plural(top.count, 'object'),
                    plural(top.retained_bytes, 'byte')))
                lines.append('      ' + top.text())
            if s.accumulation is not None:
                acc = s.accumulation
                lines.append('    accumulating in: %s (%s to %s)' % (
                    ' -> '.join(acc.path),
                    plural(acc.references, 'reference', signed=True),
                    acc.holds))
        lines.append('(counts: after the warm-up, then after each '
                     'iteration; objects a full collection would keep)')
        return '\n'.join(lines)


def assert_no_growth(func=None, /, *args, warmups=1, iterations=3,
                     types=None, ignore=(), filter_fn=None):
    """Run code repeatedly and raise :class:`GrowthError` (an
    AssertionError) when objects keep growing.

    With ``func``: call ``func(*args)`` ``warmups + iterations`` times,
    then check.  Without: return a :class:`GrowthCheck` to loop over,
    running the code once per round::

        objgraph.assert_no_growth(handle_request, request)

        for _ in objgraph.assert_no_growth(iterations=5):
            handle_request(request)

    ``warmups`` (default 1): rounds run before the first snapshot;
    ``iterations`` (default 3, at least 2): rounds each followed by a
    snapshot.  A type fails when its count of objects (those a full
    collection would keep, untracked ones such as str included) never
    drops and grows after the first iteration, the rule of
    :func:`objgraph.leak_suspects`.  ``types``: short type names, the
    only ones checked (None: every type); ``ignore``: short type names
    never checked; ``filter_fn``: called with each failing
    :class:`LeakSuspect`, returns False to let it pass (as in
    pytest-memray's markers).  objgraph's own objects and the test
    runner's bookkeeping (pytest's captured log records and recorded
    warnings) are never counted.

    The message names, for each type: its counts and retained bytes
    after the warm-up and after each iteration, the top retention path
    of its new objects with the root that holds it, and the container
    they accumulate in when one grew.
    """
    check = GrowthCheck(warmups, iterations, types, ignore, filter_fn)
    if func is None:
        if args:
            raise TypeError('assert_no_growth(): arguments given without '
                            'a function to call with them')
        return check
    check_callable(func, 'func')
    for _ in check:
        func(*args)
    return None


def _names(value, arg, optional=False):
    """A frozenset of type names from a str or an iterable of str."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    try:
        names = frozenset(value)
    except TypeError:
        raise TypeError('%s must be a type name or an iterable of type '
                        'names, not %s' % (arg, type(value).__name__)) \
            from None
    for name in names:
        if not isinstance(name, str):
            raise TypeError('%s must hold type names (str), not %s'
                            % (arg, type(name).__name__))
    return names


def _recorded_warnings():
    """The list a ``warnings.catch_warnings(record=True)`` around the
    check records into (pytest's, around every test), or None: the
    warnings the code emits each round accumulate there."""
    impl = getattr(warnings, '_showwarnmsg_impl', None)
    log = getattr(impl, '__self__', None)
    return log if type(log) is list else None


def _runner_objects(recorded):
    """The addresses of the runner's bookkeeping objects that no type
    tells apart: the recorded warnings' list, and the ``__dict__`` of
    each log record pytest's handlers keep (on CPython 3.13 a record's
    ``__dict__``, made when it is formatted while its values are kept
    inline, is reported neither by the record nor as its referent: a
    root of its own, held by C code)."""
    found = set()
    if recorded is not None:
        found.add(id(recorded))
    for handler in logging.getLogger().handlers:
        if not type(handler).__module__.startswith(_RUNNER_MODULES):
            continue
        records = getattr(handler, 'records', None)
        if type(records) is not list:
            continue
        for record in records:
            try:
                # pytest's handler formatted it: the dict exists already
                found.add(id(object.__getattribute__(record, '__dict__')))
            except (AttributeError, TypeError):
                continue
    return found


def _runners(snap, path, runner_addrs):
    """Whether the retention path goes through the test runner's
    bookkeeping: an object of pytest's or pluggy's, or one of
    ``runner_addrs`` (:func:`_runner_objects`)."""
    addrs = path.example
    if not all(type(a) is int for a in addrs):  # a pinned snapshot's
        addrs = [id(o) for o in addrs]
    if not runner_addrs.isdisjoint(addrs):
        return True
    return any(name.startswith(_RUNNER_MODULES)
               for name in long_type_names_at(snap, addrs))


def _series(values):
    return ' -> '.join(map(str, values))
