"""What every snapshot answers: the graph's queries, live or loaded.

:class:`BaseSnapshot` wraps a ``_heapgraph.Graph`` -- the heap frozen
into a compact graph by the C engine -- and answers every question that
needs no live object: sizes and figures, type counts and statistics, the
type graph, chains of addresses and (from :class:`LeakAnalysis`) the leak
analyses.  Two kinds of snapshot build on it, each adding only what it can
answer: :class:`objgraph.Snapshot` (objgraph._snapshot), a capture of
this process, hands back live objects; :class:`objgraph.LoadedSnapshot`
(objgraph._files), read from a file, hands back addresses.

The functions at the end are the package's named interface to a
snapshot's graph for the modules above it (objgraph 3.x's functions in
objgraph._api, the canary, assert_no_growth): they use them, never a
snapshot's private members.  Every query composes the engine's
primitives (masks, histograms, selections, BFS levels); no loop over the
heap runs in Python.
"""

import abc
import mmap
import operator
import sys
import time
import weakref
from array import array

from . import _draw
from ._leaks import LeakAnalysis, write_sized_type_table
from ._names import (
    check_callable,
    check_depth,
    check_limit,
    check_typename,
    plural,
    typename_func,
)

_NONE = 0xFFFFFFFF
_MAX_TYPE_SLOTS = 4096  # types a type graph can hold (k * k counts)


#: What writes a snapshot's file and its HTML report: objgraph._files and
#: objgraph._report put their writers here as they are imported (the
#: package imports both), so that they depend on this module and not the
#: reverse.
writers = {}

#: Every snapshot alive, loaded ones too: objgraph's own objects, which no
#: capture counts (objgraph._snapshot.own_objects).
LIVE_SNAPSHOTS = weakref.WeakSet()


def id_array(raw):
    """bytes of native uint32 node ids -> array('I')."""
    a = array('I')
    a.frombytes(raw)
    return a


def sorted_stats(stats, limit):
    """The ``limit`` largest (name, count) pairs of ``stats`` (None or 0:
    all), largest first."""
    rows = sorted(stats.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        rows = rows[:limit]
    return rows


def write_type_table(rows, file):
    """objgraph's table of (name, count) rows, to ``file`` (stdout)."""
    if file is None:
        file = sys.stdout
    width = max(len(name) for name, count in rows)
    for name, count in rows:
        file.write('%-*s %i\n' % (width, name, count))


def stats_of(objects, shortnames, filter):
    """typestats over an explicit collection, as objgraph 3.x does."""
    typename = typename_func(shortnames)
    stats = {}
    for o in objects:
        if filter and not filter(o):
            continue
        name = typename(o)
        stats[name] = stats.get(name, 0) + 1
    return stats


def count_of(typename, objects):
    """objgraph 3.x's count over an explicit collection."""
    name_of = typename_func('.' not in typename)
    return sum(1 for o in objects if name_of(o) == typename)


def python_version(runtime):
    """(major, minor) of the Python a runtime string names ('CPython
    3.11.2'); this interpreter's for None, or for a string this version
    does not know."""
    try:
        major, minor = runtime.rpartition(' ')[2].split('.')[:2]
        return int(major), int(minor)
    except (AttributeError, ValueError):
        return sys.version_info[:2]


class BaseSnapshot(LeakAnalysis, metaclass=abc.ABCMeta):
    """The queries every snapshot answers, live or loaded from a file:
    see the module's docstring.  Not created directly."""

    def __init__(self, graph, runtime=None):
        LIVE_SNAPSHOTS.add(self)
        self._g = graph
        self._created = time.time()
        self._masks = {}
        self._names = {}
        self._saturated = None  # saturated_refcounts, counted on first use
        # what the captured program ran on ('CPython 3.11.2'); None: this
        # interpreter
        self._runtime = runtime
        # {type id: (exception, exception)}: what the class of a type
        # raised at capture for its short and long names (None: nothing)
        self._name_errors = graph.pop_name_errors()

    # -- life cycle ---------------------------------------------------------

    def close(self):
        """Release the references a pinned snapshot holds (idempotent)."""
        self._g.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __len__(self):
        """Number of nodes: tracked objects plus distinct untracked
        referents (str, int, ...)."""
        return len(self._g)

    def _saturated_text(self):
        n = self.saturated_refcounts
        return ', %s' % plural(n, 'saturated refcount') if n else ''

    @property
    def num_edges(self):
        """Number of references (edges) in the graph."""
        return self._g.num_edges

    @property
    def nbytes(self):
        """Bytes of memory the snapshot itself uses."""
        return self._g.nbytes

    @property
    def pause_seconds(self):
        """Seconds the capture held the GIL (the program's pause)."""
        return self._g.pause_seconds

    @property
    def capture_seconds(self):
        """Seconds the whole capture took."""
        return self._g.capture_seconds

    @property
    def fork_extra_bytes(self):
        """For a snapshot taken with ``fork=True``: the bytes of memory its
        capture added, at its end, beyond the program's own -- the child's
        private pages (those copied on write, because the program or the
        child changed them, and the child's own tables) and the graph it
        handed back through shared memory.  ``None`` for any other
        snapshot."""
        return self._g.fork_extra_bytes

    @property
    def capture_kind(self):
        """Which capture took the snapshot: ``'native'`` (it reads the
        interpreter's internals) or ``'portable'`` (public C API only);
        ``None`` for a snapshot loaded from a file.  The environment
        variable ``OBJGRAPH_CAPTURE`` chooses (see
        :func:`objgraph.snapshot`)."""
        return self._g.capture_kind

    def _immortal_min(self):
        """The smallest stored count that marks an immortal object (CPython
        3.12 on: 2**31, _Py_IsImmortal's test), or None before 3.12."""
        return 1 << 31 if python_version(self._runtime) >= (3, 12) else None

    @property
    def saturated_refcounts(self):
        """Number of mortal objects whose reference count was 2**32 - 1 or
        more at capture time: counts are stored in 32 bits, so theirs is
        stored as 2**32 - 1 and the true one is unknown.  Usually 0 (such a
        count means 4 billion references, or a corrupted count), and
        always 0 from CPython 3.12 on, where a count that high marks an
        immortal object instead (:attr:`immortal_objects`).
        :meth:`refcount_excess` refuses these objects rather than report a
        leak that may not exist.  Such objects are roots."""
        if self._saturated is None:
            self._saturated = (0 if self._immortal_min() is not None
                               else self._g.saturated_refcounts)
        return self._saturated

    @property
    def immortal_objects(self):
        """Number of immortal objects in the snapshot (CPython 3.12 on; 0
        before): None, True, False, small ints, interned strings, static
        types... Their reference count is fixed (2**32 - 1 when they were
        made; CPython treats any count of 2**31 or more alike) and never
        changes, so it says nothing about who holds them.  They are roots:
        the interpreter holds them for its whole life, so nothing they
        reference is ever garbage or a leak of the program's; and
        :meth:`refcount_excess` refuses them rather than report their
        fixed count as references from outside the graph.

            >>> with objgraph.snapshot() as snap:
            ...     ok = snap.immortal_objects >= 0
        """
        imin = self._immortal_min()
        return 0 if imin is None else self._g.count_refcounts_from(imin)

    @property
    def pinned(self):
        """True while the snapshot holds references to its objects."""
        return self._g.pinned

    def save(self, path):
        """Write the snapshot to the file ``path``, replacing it
        atomically (a temporary file beside it, renamed over it once
        written and synced: a reader, or a crash, never sees half a file).

        Works for pinned, closed and detached snapshots alike and pins
        nothing.  The file holds the graph (addresses, types, sizes,
        reference counts, references), the type table, the names of the
        modules, classes and functions still alive, and the capture's
        figures; :func:`objgraph.load` reads it back.  Format:
        docs/snapshot-format.rst.  About 29 bytes per object plus 4 per
        reference.

        ``path`` must name a regular file or nothing yet (a symbolic link
        to a regular file is kept, the file it leads to replaced): a path
        naming a device (``/dev/null``), a FIFO, a socket or a directory
        is refused, never replaced.

        Raises :class:`objgraph.SnapshotError` naming the file and the
        cause (full disk, file size limit, missing directory, a path that
        is not a regular file, ...); the previous file, if any, is left as
        it was and no temporary file remains.
        """
        writers['save'](self, path)

    def report(self, path, previous=(), limit=10):
        """Write an HTML report on this snapshot to ``path`` and return
        ``path``: one self-contained page (no network needed) with a
        summary, retention paths, the dominator tree (browsable), the
        types (sortable) and the top path drawn by graphviz.
        ``previous``: earlier snapshots of the same program, oldest
        first; with them the page shows the diff from the first to this
        one and, from 3 snapshots on, the leak suspects (the ``limit``
        strongest, see :func:`objgraph.leak_suspects`) with their growth
        charted.  Works for pinned, detached and loaded snapshots.  See
        :func:`objgraph.report`.

            >>> before = objgraph.snapshot(pin=False)
            >>> middle = objgraph.snapshot(pin=False)
            >>> after = objgraph.snapshot(pin=False)
            >>> after.report('heap.html', previous=[before, middle])
            'heap.html'
        """
        try:
            previous = list(previous)
        except TypeError:
            raise TypeError('previous must be an iterable of Snapshot, '
                            'not %s' % type(previous).__name__) from None
        return writers['report'](previous + [self], path, limit=limit)

    # -- building blocks ----------------------------------------------------

    def _mask(self, live=False):
        """Tracked nodes outside objgraph's machinery; without cyclic
        garbage (nodes no root reaches) when ``live``."""
        m = self._masks.get(live)
        if m is None:
            m = self._masks[live] = self._g.mask(live=live)
        return m

    def _type_names(self, shortnames):
        """The name of each type id; raises what objgraph 3.x would if
        the class of a tracked object failed to give its name."""
        names = self._names.get(shortnames)
        if names is None:
            self._check_names(shortnames)
            names = self._names[shortnames] = self._g.type_names(shortnames)
        return names

    def _check_names(self, shortnames):
        """Raise the exception a tracked object's class raised at capture
        for its name (a metaclass property computing ``__name__`` or
        ``__module__``), as objgraph 3.x's typestats and count raise it
        for each query: the first such class in the collector's order."""
        errors = self._name_errors
        if not errors:
            return
        counts = self._type_counts(False)[0]
        for t in sorted(errors):
            error = errors[t][0 if shortnames else 1]
            if error is not None and counts[t]:
                raise error.with_traceback(None)

    def _type_counts(self, live):
        """(count per type id, type ids in first-seen order) over the
        tracked nodes: the order objgraph 3.x's dicts of counts keep,
        built from gc.get_objects() (after its collection when live).
        Computed once per snapshot: the graph is frozen."""
        key = ('counts', live)
        found = self._masks.get(key)
        if found is None:
            # the default view (None) was summarised at capture time
            mask = self._mask(live) if live else None
            found = self._masks[key] = (self._g.type_counts(mask),
                                        self._g.type_order(mask, live))
        return found

    def _type_mask(self, typename):
        check_typename(typename)
        names = self._type_names('.' not in typename)
        return bytes(name == typename for name in names)

    def _objects(self, ids):
        """Live objects for tracked node ids, dropping those gone."""
        return [o for o in self._g.objects(ids) if o is not None]

    def _stats(self, live, shortnames, filter):
        mask = self._mask(live)
        if filter is not None:
            check_callable(filter, 'filter')
            return stats_of(self._objects(self._g.select(mask)),
                            shortnames, filter)
        names = self._type_names(shortnames)
        counts, order = self._type_counts(live)
        stats = {}
        for t in order:
            stats[names[t]] = stats.get(names[t], 0) + counts[t]
        return stats

    # -- objgraph's questions ----------------------------------------------

    def count(self, typename, objects=None):
        """Count objects with a given class name (optionally fully
        qualified), like :func:`objgraph.count`."""
        check_typename(typename)
        if objects is not None:
            return count_of(typename, objects)
        tmask = self._type_mask(typename)
        counts = self._type_counts(False)[0]
        return sum(n for n, hit in zip(counts, tmask) if hit)

    def typestats(self, objects=None, shortnames=True, filter=None):
        """Count instances of each type, like :func:`objgraph.typestats`."""
        if objects is not None:
            check_callable(filter, 'filter', optional=True)
            return stats_of(objects, shortnames, filter)
        return self._stats(False, shortnames, filter)

    def most_common_types(self, limit=10, objects=None, shortnames=True,
                          filter=None):
        """The ``limit`` most common (type name, count) pairs, like
        :func:`objgraph.most_common_types`."""
        return sorted_stats(self.typestats(objects, shortnames, filter),
                             limit)

    def show_most_common_types(self, limit=10, objects=None, shortnames=True,
                               file=None, filter=None, sizes=False):
        """Print the table of :meth:`most_common_types`; with
        ``sizes=True``, shallow and retained bytes beside the counts (see
        :func:`objgraph.show_most_common_types`)."""
        rows = self.most_common_types(limit, objects, shortnames, filter)
        if not sizes:
            return write_type_table(rows, file)
        if filter is not None and objects is None:
            objects = [o for o in self._objects(self._g.select(self._mask()))
                       if filter(o)]
        write_sized_type_table(self, rows, objects, shortnames, file)


    def show_type_graph(self, limit=50, filename=None, output=None,
                        layout='sfdp'):
        """Draw the heap summarised by type, like
        :func:`objgraph.show_type_graph`."""
        stats, edges = self.type_graph(limit)
        return _draw.show_type_graph(stats, edges, limit=len(stats),
                                     filename=filename, output=output,
                                     layout=layout)

    def type_graph(self, limit=50):
        """The heap summarised by type: ``(types, references)``.

        ``types`` lists ``(type name, objects, shallow bytes)`` for the
        ``limit`` types with the most bytes (None: every type, up to
        4096), untracked objects (str, int, ...) included and garbage left
        out; ``references`` lists ``(from type name, to type name, n)``:
        ``n`` references from objects of one to objects of the other.
        Types with the same short name are counted together.
        """
        check_limit(limit)
        limit = min(limit or _MAX_TYPE_SLOTS, _MAX_TYPE_SLOTS)
        g = self._g
        mask = g.mask(live=True, untracked=True)
        names = self._type_names(True)
        totals = {}
        for name, n, nbytes in zip(names, g.type_counts(mask),
                                   g.type_bytes(mask)):
            if n:
                total = totals.setdefault(name, [0, 0])
                total[0] += n
                total[1] += nbytes
        chosen = sorted(totals, key=lambda name: (-totals[name][1],
                                                  -totals[name][0],
                                                  name))[:limit]
        slot_of = {name: i for i, name in enumerate(chosen)}
        slots = array('I', (slot_of.get(name, _NONE) for name in names))
        k = len(chosen)
        counts = g.type_edges(mask, slots.tobytes(), k)
        types = [(name, totals[name][0], totals[name][1]) for name in chosen]
        references = [(chosen[i // k], chosen[i % k], n)
                      for i, n in enumerate(counts) if n]
        return types, references

    def _find_chain(self, obj, predicate, reverse, max_depth, extra_ignore,
                    node_of=None, materialize=None):
        """Breadth-first search, one level at a time in the engine; the
        predicate is called on each level's objects in queue order, so the
        chain is a shortest one.  Returns [match, ..., obj] or [obj].

        Over addresses (``obj`` and the chain) by default; over live
        objects with ``node_of`` (an object's node id, or -1) and
        ``materialize`` (a level's node ids -> objects, see
        Snapshot._materialize), which objgraph.Snapshot passes."""
        check_callable(predicate, 'predicate')
        check_depth(max_depth)
        g = self._g
        start = self._node_of_arg(obj) if node_of is None else None
        if predicate(obj):
            return [obj]
        if start is None:
            start = node_of(obj)
        if start < 0 or max_depth == 0:
            return [obj]
        n = len(g)
        # Never enter objgraph's own machinery.  Referents of a live object
        # are live, and may be untracked (str, int, ...); referrers are
        # tracked, and each level's are checked node by node for garbage
        # and for what a collection would untrack (shown_filter), rather
        # than by reachability over the whole heap.
        key = ('chain blocked', reverse)
        blocked = self._masks.get(key)
        if blocked is None:
            blocked = self._masks[key] = g.mask(untracked=not reverse,
                                                    invert=True)
        ignored = [v for v in g.find([int(a) for a in extra_ignore]) if v >= 0]
        if ignored:
            blocked = bytearray(blocked)
            for v in ignored:
                blocked[v] = 1
        # zero-filled pages the kernel maps as the search touches them:
        # no O(heap) clearing for a search that visits a few nodes
        seen = mmap.mmap(-1, n or 1)
        seen[start] = 1
        parent = mmap.mmap(-1, 4 * n or 4)
        parents = memoryview(parent).cast('I')
        objmap = {start: obj}
        frontier = array('I', [start])
        for _ in range(max_depth):
            frontier = g.bfs_step(frontier, reverse, blocked, seen, parent)
            # backward: referrers as gc.get_referrers after a collection,
            # but for the garbage test, which needs the reverse graph: a
            # garbage referrer only leads to garbage, so it is asked of
            # the one node the predicate matches
            frontier = id_array(g.shown_filter(frontier, True) if reverse
                            else frontier)
            if not frontier:
                break
            level = ([g.node(v)[0] for v in frontier] if materialize is None
                     else materialize(frontier, parents, objmap))
            for v, o in zip(frontier, level):
                if o is None:
                    continue
                objmap[v] = o
                if predicate(o) and (not reverse or g.shown(v)):
                    chain = [o]
                    while v != start:
                        v = parents[v]
                        chain.append(objmap[v])
                    return chain
        return [obj]


# -- the package's interface to a snapshot's graph ---------------------------
#
# For the modules above this one that need more of a snapshot than its
# public methods give, and must not read its private members.


def live_typestats(snap, shortnames=True, filter=None):
    """objgraph 3.x's typestats after ``gc.collect()``: the tracked
    objects of ``snap`` outside objgraph's machinery, cyclic garbage (what
    a collection would free) left out.  ``filter`` needs live objects."""
    return snap._stats(True, shortnames, filter)


def addresses_by_type(snap, shortnames=True):
    """``(names, addresses)``: each type's name and the addresses of its
    tracked objects (outside objgraph's machinery, cyclic garbage left
    out), one list per type id."""
    return (snap._type_names(shortnames),
            snap._g.addrs_by_type(snap._mask(live=True)))


def newcomers(snap, old):
    """A mask of the nodes of ``snap`` that ``old`` (an earlier snapshot
    of the same process) did not have, matched by address and type, among
    every node the leak analyses look at (untracked ones included, cyclic
    garbage left out)."""
    return snap._g.match(old._g, snap._analysis_mask(live=True), False)


def long_type_names_at(snap, addrs):
    """The fully qualified type name of each node of ``snap`` at one of
    ``addrs`` (addresses that are no node are skipped)."""
    g = snap._g
    long_names = snap._type_names(False)
    return [long_names[g.node(v)[1]] for v in g.find(addrs) if v >= 0]
