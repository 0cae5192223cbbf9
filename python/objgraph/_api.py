"""objgraph 3.x's module-level query functions, answered by the engine.

Each function takes a snapshot of the heap (:func:`objgraph.snapshot`),
asks it, and releases it.  Signatures, defaults, return values and printed
text are objgraph 3.7.0's.  Where objgraph 3.x forced ``gc.collect()``
before answering, these leave out instead the garbage that collection
would have freed (objects no root reaches), with neither its cost nor its
side effects; pass ``collect=True`` for objgraph 3.x's behaviour.
"""

import collections
import operator
import sys

from . import _heapgraph
from ._names import check_typename
from ._snapshot import FORK_TIMEOUT, compat_snapshot, take
from ._snapshot_base import (
    addresses_by_type,
    count_of,
    live_typestats,
    sorted_stats,
    stats_of,
    write_type_table,
)

__all__ = [
    'snapshot', 'release_memory', 'count', 'typestats', 'most_common_types',
    'show_most_common_types', 'growth', 'show_growth', 'get_new_ids',
]


def snapshot(pin=True, collect=False, sizes='c', gc_timeout=10.0,
             fork=False, fork_timeout=FORK_TIMEOUT):
    """Freeze the heap into a :class:`Snapshot` that answers queries
    instantly.

    Every object the garbage collector tracks (objects frozen with
    ``gc.freeze()`` included) and every distinct untracked object they
    refer to (str, int, ...) becomes a node; every reference found by the
    objects' ``tp_traverse`` becomes an edge.  None of the program's
    Python code runs, while the heap is read or after (except as
    ``sizes='python'`` asks, and for a class whose metaclass computes its
    name: below), and no collection is forced.  ``snap.pause_seconds``
    says how long the program was paused.

    ``pin`` (default True): hold a strong reference to each tracked object
    until ``snap.close()`` or the end of a ``with`` block, so queries return
    exactly the captured objects.  With ``pin=False`` the snapshot holds no
    reference, and queries that return objects look them up again in the
    collector's lists (objects that died since are left out).

    A pinned snapshot takes part in garbage collection: one kept on an
    object it pins (``obj.snap = objgraph.snapshot()``) is a reference
    cycle, freed with that object by the collector.  Full collections
    (``gc.collect()``) visit every reference it holds while it is open.

    ``collect``: run ``gc.collect()`` first.

    ``sizes``: how shallow sizes are measured.  ``'c'`` (the default): from
    the interpreter's own figures, running no Python code -- what
    ``sys.getsizeof`` gives for every object whose class does not define
    ``__sizeof__`` in Python.  For one that does (a function in the class
    or a base, such as ``unittest.mock.MagicMock``'s), the override is not
    called: the object gets the size the nearest ``__sizeof__`` written in
    C further along its class's MRO gives (``object.__sizeof__`` for a
    plain class, ``list.__sizeof__`` for a list subclass) plus the
    headers CPython puts before the object, i.e. ``sys.getsizeof`` without
    the override.  Calling it would run user code in the middle of the
    capture (a ``MagicMock`` records each call and creates child mocks, so
    every snapshot would grow the heap it measures).  ``'python'``: such
    ``__sizeof__`` methods are called after the heap is read, and sizes
    are exactly ``sys.getsizeof`` (one that raises gets the C size).  A
    ``__sizeof__`` written in C by an extension type is called in both
    modes, after the heap is read: only the extension knows the memory its
    objects own.  Any other value raises ValueError.

    Type names (``type(o).__name__`` and the module-qualified name) are
    read from the classes themselves.  A class whose metaclass computes
    ``__name__`` or ``__module__`` in Python has them computed after the
    heap is read; if that raises, the snapshot is still taken, and only
    the queries that need the name (``typestats``, ``count`` and
    ``by_type`` by name, ``most_common_types``, ``retained_by_type``...)
    raise that exception, as objgraph 3.7.0's ``typestats`` and ``count``
    do.

    Reference counts are stored in 32 bits: one of 2**32 - 1 or more is
    stored as 2**32 - 1, counted in :attr:`Snapshot.saturated_refcounts`
    and refused by :meth:`Snapshot.refcount_excess`.  From CPython 3.12
    on, immortal objects' fixed counts are never written by the capture;
    they are counted in :attr:`Snapshot.immortal_objects` instead, are
    roots, and are refused by :meth:`Snapshot.refcount_excess`.

    ``gc_timeout`` (seconds, default 10): the heap cannot be read while
    the garbage collector runs.  While a collection runs in another thread
    (running finalizers), the capture waits for it, the GIL released, at
    most this long, then raises RuntimeError.  Called from inside a
    collection in the same thread (a ``__del__``, a weakref callback or a
    ``gc.callbacks`` entry), it raises RuntimeError at once.

    ``fork`` (default False; Linux only): capture the heap in a child
    process made by ``fork()``, a copy-on-write copy of the program, so
    that the program is paused for the fork only -- a few milliseconds per
    gigabyte of memory, at any heap size, where a capture in the process
    holds the GIL for at least one pass over every object.  The calling
    thread then waits for the child with the GIL released, so the
    program's other threads run; ``snap.pause_seconds`` is the fork (and
    the few milliseconds of reading the result back with the GIL held),
    ``snap.capture_seconds`` the child's own time, and
    :attr:`Snapshot.fork_extra_bytes` the memory the child added (the
    pages copied on write, its tables, the graph it hands back).  The
    snapshot is the heap as it was at the fork, with the parent's
    addresses, as ``pin=False`` gives it; ``fork=True`` with ``pin=True``
    raises ValueError, and where there is no ``fork()`` (not Linux)
    NotImplementedError.  The child runs the portable capture (below),
    which writes nothing into the objects, and no Python code: it takes no
    lock another thread may have held at the fork (a ``logging``
    handler's, the import lock), and calls no ``__sizeof__`` method --
    objects whose class or extension defines one get the size without it,
    and ``sizes='python'`` raises ValueError (on CPython 3.10 it lists
    the objects through ``gc.get_objects()``, which calls the audit
    hooks).  The child hands the graph back through shared memory
    (``memfd_create``) and ends with ``_exit``; ``os.register_at_fork``
    callbacks are not called.  A child that crashes, is killed (by the kernel's
    out-of-memory killer too), runs out of memory or takes more than
    ``fork_timeout`` seconds (default 60) raises
    :class:`objgraph.SnapshotError`; it is reaped and nothing is left
    behind.

    Two captures give the same snapshot: the native one, which reads the
    interpreter's internals (built for the CPython versions it knows, 3.11,
    3.12 and 3.13, without free threading), and the portable one, which uses
    the public C API only (any CPython from 3.10; slower, one hash lookup
    per reference).  The environment variable ``OBJGRAPH_CAPTURE``, read at
    each capture, chooses: ``auto`` or unset (the native one where it was
    built), ``native`` or ``portable``; :attr:`Snapshot.capture_kind` says
    which one ran.  The portable capture sees frozen objects
    (``gc.freeze()``) only when module globals or other objects refer to
    them, and answers from a ``gc.callbacks`` entry's ``"stop"`` call, once
    the collection is over.

        >>> snap = objgraph.snapshot()
        >>> snap.count('MyClass')
        3
        >>> snap.close()
    """
    return take(pin=pin, collect=collect, sizes=sizes,
                gc_timeout=gc_timeout, fork=fork, fork_timeout=fork_timeout)


def release_memory():
    """Give back to the system, now, the memory closed snapshots left for
    reuse; returns the bytes the engine unmapped.

    A capture's large arrays stay mapped for 5 seconds after they are
    freed, so that snapshots taken one after another do not fault their
    pages in again; then the engine returns them by itself.  Call this
    when the process's RSS must drop at once (before a fork, after a
    canary round in a memory-tight service).  glibc's free memory is
    trimmed too (``malloc_trim``).

        >>> objgraph.snapshot(pin=False).close()
        >>> objgraph.release_memory() >= 0
        True
    """
    return _heapgraph.release_memory()


def count(typename, objects=None):
    """Count objects tracked by the garbage collector with a given class name.

    The class name can optionally be fully qualified.

    Example:

        >>> count('dict')
        42
        >>> count('mymodule.MyClass')
        2

    .. note::

        The Python garbage collector does not track simple
        objects like int or str.  See
        https://docs.python.org/3/library/gc.html#gc.is_tracked
        for more information.

    Instead of looking through all objects tracked by the GC, you may
    specify your own collection, e.g.

        >>> count('MyClass', get_leaking_objects())
        3

    See also: :func:`get_leaking_objects`.
    """
    check_typename(typename)
    if objects is not None:
        return count_of(typename, objects)
    with compat_snapshot(pin=False, nodes_only=True) as snap:
        return snap.count(typename)


def typestats(objects=None, shortnames=True, filter=None):
    """Count the number of instances for each type tracked by the GC.

    Note that the GC does not track simple objects like int or str.

    Note that classes with the same name but defined in different modules
    will be lumped together if ``shortnames`` is True.

    If ``filter`` is specified, it should be a function taking one argument and
    returning a boolean. Objects for which ``filter(obj)`` returns ``False``
    will be ignored.

    Example:

        >>> typestats()
        {'list': 12041, 'tuple': 10245, ...}
        >>> typestats(get_leaking_objects())
        {'MemoryError': 1, 'tuple': 2795, 'RuntimeError': 1, 'list': 47, ...}
    """
    if objects is not None:
        return stats_of(objects, shortnames, filter)
    with compat_snapshot(pin=filter is not None, nodes_only=True) as snap:
        return snap.typestats(shortnames=shortnames, filter=filter)


def most_common_types(limit=10, objects=None, shortnames=True, filter=None):
    """Count the names of types with the most instances.

    Returns a list of (type_name, count), sorted most-frequent-first.

    Limits the return value to at most ``limit`` items.  You may set ``limit``
    to None to avoid that.

    If ``filter`` is specified, it should be a function taking one argument and
    returning a boolean. Objects for which ``filter(obj)`` returns ``False``
    will be ignored.

    The caveats documented in :func:`typestats` apply.

    Example:

        >>> most_common_types(limit=2)
        [('list', 12041), ('tuple', 10245)]
    """
    return sorted_stats(typestats(objects, shortnames, filter), limit)


def show_most_common_types(limit=10, objects=None, shortnames=True, file=None,
                           filter=None, sizes=False):
    """Print the table of types of most common instances.

    If ``filter`` is specified, it should be a function taking one argument and
    returning a boolean. Objects for which ``filter(obj)`` returns ``False``
    will be ignored.

    With ``sizes=True`` the table gains a header and two columns: the
    shallow bytes (``sys.getsizeof``, without calling a ``__sizeof__``
    defined in Python: see :func:`snapshot`) of each type's objects and the
    bytes they retain (what freeing them all would free, each byte counted
    once); see :meth:`Snapshot.retained_by_type`.

    The caveats documented in :func:`typestats` apply.

    Example:

        >>> show_most_common_types(limit=5)
        tuple                      8959
        function                   2442
        wrapper_descriptor         1048
        dict                       953
        builtin_function_or_method 800
        >>> show_most_common_types(limit=2, sizes=True)
        type     count shallow retained
        function  6431  925864  1130040
        dict      3419 1171432  9017816
    """
    if not sizes:
        write_type_table(most_common_types(limit, objects, shortnames,
                                            filter), file)
        return
    exclude = () if objects is None else (objects,)
    with compat_snapshot(pin=filter is not None, exclude=exclude) as snap:
        snap.show_most_common_types(limit, objects, shortnames, file, filter,
                                    sizes=True)


def _live_stats(shortnames, filter, collect):
    with compat_snapshot(pin=filter is not None, collect=collect) as snap:
        return live_typestats(snap, shortnames, filter)


def growth(limit=10, peak_stats={}, shortnames=True, filter=None,
           collect=False):
    """Count the increase in peak object since last call.

    Returns a list of (type_name, total_count, increase_delta),
    descending order by increase_delta.

    Limits the output to ``limit`` largest deltas.  You may set ``limit`` to
    None to see all of them.

    Uses and updates ``peak_stats``, a dictionary from type names to previously
    seen peak object counts.  Usually you don't need to pay attention to this
    argument.

    If ``filter`` is specified, it should be a function taking one argument and
    returning a boolean. Objects for which ``filter(obj)`` returns ``False``
    will be ignored.

    Garbage that ``gc.collect()`` would free is not counted; objgraph 3.x
    ran a collection instead, which ``collect=True`` restores.

    The caveats documented in :func:`typestats` apply.

    Example:

        >>> growth(2)
        [(tuple, 12282, 10), (dict, 1922, 7)]
    """
    stats = _live_stats(shortnames, filter, collect)
    deltas = {}
    for name, n in stats.items():
        old = peak_stats.get(name, 0)
        if n > old:
            deltas[name] = n - old
            peak_stats[name] = n
    deltas = sorted(deltas.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        deltas = deltas[:limit]
    return [(name, stats[name], delta) for name, delta in deltas]


def show_growth(limit=10, peak_stats=None, shortnames=True, file=None,
                filter=None, collect=False):
    """Show the increase in peak object counts since last call.

    if ``peak_stats`` is None, peak object counts will recorded in
    func `growth`, and your can record the counts by yourself with set
    ``peak_stats`` to a dictionary.

    The caveats documented in :func:`growth` apply.

    Example:

        >>> show_growth()
        wrapper_descriptor       970       +14
        tuple                  12282       +10
        dict                    1922        +7
        ...
    """
    if peak_stats is None:
        result = growth(limit, shortnames=shortnames, filter=filter,
                        collect=collect)
    else:
        result = growth(limit, peak_stats, shortnames, filter,
                        collect=collect)
    if result:
        if file is None:
            file = sys.stdout
        width = max(len(name) for name, _, _ in result)
        for name, n, delta in result:
            file.write('%-*s%9d %+9d\n' % (width, name, n, delta))


_SORT_COLUMNS = {'old': 1, 'current': 2, 'new': 3, 'deltas': 4}


def get_new_ids(skip_update=False, limit=10, sortby='deltas',
                shortnames=None, file=None, _state={}, collect=False):
    """Find and display new objects allocated since last call.

    Shows the increase in object counts since last call to this
    function and returns the memory address ids for new objects.

    Returns a dictionary mapping object type names to sets of object IDs
    that have been created since the last time this function was called.

    ``skip_update`` (bool): If True, returns the same dictionary that
    was returned during the previous call without updating the internal
    state or examining the objects currently in memory.

    ``limit`` (int): The maximum number of rows that you want to print
    data for.  Use 0 to suppress the printing.  Use None to print everything.

    ``sortby`` (str): This is the column that you want to sort by in
    descending order.  Possible values are: 'old', 'current', 'new',
    'deltas'

    ``shortnames`` (bool): If True, classes with the same name but
    defined in different modules will be lumped together.  If False,
    all type names will be qualified with the module name.  If None (default),
    ``get_new_ids`` will remember the value from previous calls, so it's
    enough to prime this once.  By default the primed value is True.

    ``_state`` (dict): Stores old, current, and new_ids in memory.
    It is used by the function to store the internal state between calls.
    Never pass in this argument unless you know what you're doing.

    The caveats documented in :func:`growth` apply.

    Example:

        >>> _ = get_new_ids() # store current objects in _state
        >>> _ = get_new_ids() # current_ids become old_ids in _state
        >>> a = [0, 1, 2] # list we don't know about
        >>> b = [3, 4, 5] # list we don't know about
        >>> new_ids = get_new_ids(limit=3) # we see new lists
        ======================================================================
        Type                    Old_ids  Current_ids      New_ids Count_Deltas
        ======================================================================
        list                        324          326           +3           +2
        dict                       1125         1125           +0           +0
        wrapper_descriptor         1001         1001           +0           +0
        ======================================================================
        >>> new_lists = at_addrs(new_ids['list'])
        >>> a in new_lists
        True
        >>> b in new_lists
        True
    """
    if sortby not in _SORT_COLUMNS:
        raise ValueError('sortby must be one of %s, not %r'
                         % (', '.join(map(repr, _SORT_COLUMNS)), sortby))
    if not _state:
        _state['old'] = collections.defaultdict(set)
        _state['current'] = collections.defaultdict(set)
        _state['new'] = collections.defaultdict(set)
        _state['shortnames'] = True
    new_ids = _state['new']
    if skip_update:
        return new_ids
    old_ids = _state['old']
    current_ids = _state['current']
    if shortnames is None:
        shortnames = _state['shortnames']
    else:
        _state['shortnames'] = shortnames
    with compat_snapshot(pin=False, collect=collect) as snap:
        names, by_type = addresses_by_type(snap, shortnames)
    for class_name in old_ids:
        old_ids[class_name].clear()
    for class_name, ids_set in current_ids.items():
        old_ids[class_name].update(ids_set)
    for class_name in current_ids:
        current_ids[class_name].clear()
    for name, addrs in zip(names, by_type):
        if addrs:
            current_ids[name].update(addrs)
    for class_name in new_ids:
        new_ids[class_name].clear()
    rows = []
    keys_to_remove = []
    for class_name in current_ids:
        num_old = len(old_ids[class_name])
        num_current = len(current_ids[class_name])
        if num_old == 0 and num_current == 0:
            keys_to_remove.append(class_name)
            continue
        new_ids_set = current_ids[class_name] - old_ids[class_name]
        new_ids[class_name].update(new_ids_set)
        rows.append((class_name, num_old, num_current, len(new_ids_set),
                     num_current - num_old))
    for key in keys_to_remove:
        del old_ids[key]
        del current_ids[key]
        del new_ids[key]
    rows.sort(key=operator.itemgetter(_SORT_COLUMNS[sortby], 0),
              reverse=True)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return new_ids
    if file is None:
        file = sys.stdout
    width = max(len(row[0]) for row in rows)
    print('=' * (width + 13 * 4), file=file)
    print('%-*s%13s%13s%13s%13s' %
          (width, 'Type', 'Old_ids', 'Current_ids', 'New_ids', 'Count_Deltas'),
          file=file)
    print('=' * (width + 13 * 4), file=file)
    for row_class, old, current, new, delta in rows:
        print('%-*s%13d%13d%+13d%+13d' %
              (width, row_class, old, current, new, delta), file=file)
    print('=' * (width + 13 * 4), file=file)
    return new_ids
