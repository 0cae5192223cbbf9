"""Frozen heap snapshots: objgraph's questions answered from one capture.

A :class:`Snapshot` wraps a ``_heapgraph.Graph``: the heap frozen into a
compact graph by the C engine.  Every query here composes the engine's
primitives (masks, histograms, selections, BFS levels); no loop over the
heap runs in Python.
"""

import gc
import mmap
import operator
import os
import sys
import time
import weakref
from array import array

from . import _draw, _heapgraph, _roots
from ._errors import SnapshotError
from ._leaks import LeakAnalysis, write_sized_type_table
from ._names import (
    check_callable,
    check_depth,
    check_limit,
    check_sizes,
    check_typename,
    is_proper_module,
    plural,
    typename_func,
)

_NONE = 0xFFFFFFFF
_SATURATED = 0xFFFFFFFF  # a reference count of 2**32 - 1 or more
_MAX_TYPE_SLOTS = 4096  # types a type graph can hold (k * k counts)


#: What writes a snapshot's file and its HTML report: objgraph._files and
#: objgraph._report put their writers here as they are imported (the
#: package imports both), so that they depend on this module and not the
#: reverse.
_writers = {}


def _ids(raw):
    """bytes of native uint32 node ids -> array('I')."""
    a = array('I')
    a.frombytes(raw)
    return a


def _sorted_stats(stats, limit):
    rows = sorted(stats.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        rows = rows[:limit]
    return rows


def _write_type_table(rows, file):
    if file is None:
        file = sys.stdout
    width = max(len(name) for name, count in rows)
    for name, count in rows:
        file.write('%-*s %i\n' % (width, name, count))


# Every Snapshot alive (loaded ones too): objgraph's own objects, which
# no capture counts (_own_objects).
_LIVE_SNAPSHOTS = weakref.WeakSet()

# Functions giving more of objgraph's own objects for _own_objects to
# leave out, registered by the modules that make them (the canary: its
# state while one runs), so that this module imports none of them.
_OWN_HOOKS = []

# What a snapshot's state holds that objgraph made (dicts of cached masks
# and counts, type-name lists, the engine's graph), followed this deep.
_OWN_CONTAINERS = (dict, list, tuple, set, bytes, bytearray, array,
                   _heapgraph.Graph)
_OWN_DEPTH = 4


def _own_objects():
    """objgraph's own objects in the heap, for a capture to leave out of
    every count and analysis: each live snapshot, its attribute dict, the
    containers in it (cached masks, counts and type-name lists), the
    Python objects the engine's graph holds (its type-name lists), and
    the registry that finds the snapshots.  Without this a loop that keeps
    the previous snapshot while taking the next sees Snapshots, dicts and
    lists grow.

    And what the hooks in ``_OWN_HOOKS`` give: a running canary's state.

    Other values in those containers (strings, numbers) are left out only
    when nothing else holds them (the names a capture made, e.g.
    'module.Class', a creation time): a type's own ``__name__`` is the
    program's as much as objgraph's."""
    own = {id(_LIVE_SNAPSHOTS): _LIVE_SNAPSHOTS}
    held = {}  # id -> [value, references from the containers in own]
    stack = [(_LIVE_SNAPSHOTS.__dict__, 0)]
    for snap in list(_LIVE_SNAPSHOTS):
        own[id(snap)] = snap
        stack += ((snap.__dict__, 0), (snap._g.own_objects(), 0))
    while stack:
        obj, depth = stack.pop()
        if id(obj) in own:
            continue
        own[id(obj)] = obj
        if depth == _OWN_DEPTH or not isinstance(obj, (dict, list, tuple,
                                                       set, frozenset)):
            continue
        items = (item for pair in obj.items() for item in pair) \
            if isinstance(obj, dict) else obj
        for item in items:
            if isinstance(item, _OWN_CONTAINERS) or \
                    isinstance(item, weakref.ref):  # the registry's
                stack.append((item, depth + 1))
            else:
                held.setdefault(id(item), [item, 0])[1] += 1
    for value, n in held.values():
        # every reference to it is ours: n, plus held's, value's and
        # getrefcount's own
        if sys.getrefcount(value) - 3 <= n:
            own[id(value)] = value
    found = list(own.values())
    for hook in _OWN_HOOKS:
        found += hook()
    return found


class Snapshot(LeakAnalysis):
    """A frozen heap graph that answers objgraph's questions instantly.

    Create one with :func:`objgraph.snapshot`.  Its methods take the same
    arguments as the module-level functions of the same names and give the
    same answers, computed from the graph captured at creation time instead
    of a fresh scan of the heap.

    A pinned snapshot (the default) holds a strong reference to every
    object the garbage collector tracked at capture time, so the objects it
    returns are exactly the captured ones; :meth:`close` (or leaving a
    ``with`` block) releases them.  Until then it takes part in garbage
    collection: kept on an object it pins, it is freed with that object
    by the collector.  A detached snapshot (``pin=False``)
    holds no reference: objects it returns are looked up again in the
    collector's lists, and objects that died since the capture are left
    out.

    >>> import objgraph
    >>> with objgraph.snapshot() as snap:
    ...     n = snap.count('dict')
    >>> n > 0
    True
    """

    def __init__(self, graph):
        _LIVE_SNAPSHOTS.add(self)
        self._g = graph
        self._created = time.time()
        self._masks = {}
        self._names = {}
        self._drawn = {}  # id(obj) -> node id, for objects drawn
        self._saturated = None  # saturated_refcounts, counted on first use
        # {type id: (exception, exception)}: what the class of a type
        # raised at capture for its short and long names (None: nothing)
        self._name_errors = graph.pop_name_errors()

    # -- life cycle ---------------------------------------------------------

    def close(self):
        """Release the references a pinned snapshot holds (idempotent)."""
        self._drawn.clear()
        self._g.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __len__(self):
        """Number of nodes: tracked objects plus distinct untracked
        referents (str, int, ...)."""
        return len(self._g)

    def __repr__(self):
        return '<objgraph.Snapshot %s, %s, %s%s%s%s>' % (
            plural(len(self._g), 'node'), plural(self._g.num_edges, 'edge'),
            'pinned' if self._g.pinned else 'detached',
            ', closed' if self._g.closed else '',
            ', portable capture' if self.capture_kind == 'portable' else '',
            self._saturated_text())

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

    def _python_version(self):
        """(major, minor) of the Python that was captured."""
        return sys.version_info[:2]

    def _immortal_min(self):
        """The smallest stored count that marks an immortal object (CPython
        3.12 on: 2**31, _Py_IsImmortal's test), or None before 3.12."""
        return 1 << 31 if self._python_version() >= (3, 12) else None

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
        docs/snapshot-format.rst.  About 33 bytes per object plus 4 per
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
        _writers['save'](self, path)

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
        return _writers['report'](previous + [self], path, limit=limit)

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

    def _node_ids(self, objects):
        return self._g.find([id(o) for o in objects])

    def _stats(self, live, shortnames, filter):
        mask = self._mask(live)
        if filter is not None:
            check_callable(filter, 'filter')
            return _stats_of(self._objects(self._g.select(mask)),
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
            return _count_of(typename, objects)
        tmask = self._type_mask(typename)
        counts = self._type_counts(False)[0]
        return sum(n for n, hit in zip(counts, tmask) if hit)

    def typestats(self, objects=None, shortnames=True, filter=None):
        """Count instances of each type, like :func:`objgraph.typestats`."""
        if objects is not None:
            check_callable(filter, 'filter', optional=True)
            return _stats_of(objects, shortnames, filter)
        return self._stats(False, shortnames, filter)

    def most_common_types(self, limit=10, objects=None, shortnames=True,
                          filter=None):
        """The ``limit`` most common (type name, count) pairs, like
        :func:`objgraph.most_common_types`."""
        return _sorted_stats(self.typestats(objects, shortnames, filter),
                             limit)

    def show_most_common_types(self, limit=10, objects=None, shortnames=True,
                               file=None, filter=None, sizes=False):
        """Print the table of :meth:`most_common_types`; with
        ``sizes=True``, shallow and retained bytes beside the counts (see
        :func:`objgraph.show_most_common_types`)."""
        rows = self.most_common_types(limit, objects, shortnames, filter)
        if not sizes:
            return _write_type_table(rows, file)
        if filter is not None and objects is None:
            objects = [o for o in self._objects(self._g.select(self._mask()))
                       if filter(o)]
        write_sized_type_table(self, rows, objects, shortnames, file)

    def by_type(self, typename, objects=None):
        """Objects with a given class name, like :func:`objgraph.by_type`."""
        check_typename(typename)
        if objects is not None:
            return _by_type_of(typename, objects)
        return self._objects(self._g.select(None, self._type_mask(typename)))

    def at(self, addr):
        """The tracked object whose ``id()`` is ``addr``, or None."""
        found = self.at_addrs((addr,))
        return found[0] if found else None

    def at_addrs(self, address_set):
        """Tracked objects whose ``id()`` is in ``address_set``."""
        mask = self._mask()
        ids = sorted(v for v in self._g.find(list(address_set))
                     if v >= 0 and mask[v])
        return self._objects(ids)

    def get_leaking_objects(self, objects=None):
        """Objects no other object refers to, like
        :func:`objgraph.get_leaking_objects`.

        Cyclic garbage (objects no root reaches, which ``gc.collect()``
        would free) is left out, both as candidates and as referrers.
        """
        live = self._mask(live=True)
        if objects is None:
            return self._objects(self._g.zero_in_degree(live, live))
        objects = list(objects)
        ids = self._node_ids(objects)
        zero = set(_ids(self._g.zero_in_degree(_select_mask(len(self), ids),
                                               live)))
        return [o for o, v in zip(objects, ids) if v < 0 or v in zero]

    def find_ref_chain(self, obj, predicate, max_depth=20, extra_ignore=()):
        """A shortest chain of references from ``obj`` to an object
        matching ``predicate``, like :func:`objgraph.find_ref_chain`.

        On a detached or loaded snapshot ``obj`` may be an address (what
        :meth:`most_retaining` and the other analyses return there): the
        search then runs over addresses -- ``predicate`` is called with
        each candidate's address, and the chain is one of addresses.
        An address that is no node of the snapshot raises ValueError."""
        return self._find_chain(obj, predicate, False, max_depth,
                                extra_ignore)[::-1]

    def find_backref_chain(self, obj, predicate, max_depth=20,
                           extra_ignore=()):
        """A shortest chain of references to ``obj`` from an object
        matching ``predicate``, like :func:`objgraph.find_backref_chain`.

        On a detached or loaded snapshot ``obj`` may be an address: as for
        :meth:`find_ref_chain`, ``predicate`` is then called with
        addresses and the chain is one of addresses, e.g. to the first
        module::

            >>> snap = objgraph.snapshot(pin=False)
            >>> addr = snap.most_retaining(1)[0][0]
            >>> modules = set(map(id, sys.modules.values()))
            >>> chain = snap.find_backref_chain(addr, modules.__contains__)
        """
        return self._find_chain(obj, predicate, True, max_depth,
                                extra_ignore)

    def _find_chain(self, obj, predicate, reverse, max_depth, extra_ignore):
        """Breadth-first search, one level at a time in the engine; the
        predicate is called on each level's objects in queue order, so the
        chain is a shortest one.  Returns [match, ..., obj] or [obj]."""
        check_callable(predicate, 'predicate')
        check_depth(max_depth)
        by_address = self._is_address(obj)
        g = self._g
        start = self._node_of_arg(obj) if by_address else None
        if predicate(obj):
            return [obj]
        if start is None:
            start = self._node_of(obj)
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
            frontier = _ids(g.shown_filter(frontier, True) if reverse
                            else frontier)
            if not frontier:
                break
            level = ([g.node(v)[0] for v in frontier] if by_address else
                     self._materialize(frontier, parents, objmap))
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

    def _materialize(self, ids, parents, objmap):
        """Live objects for one BFS level: tracked nodes from the engine,
        untracked ones through their parent's current referents."""
        g = self._g
        n_tracked = g.n_tracked
        objs = g.objects([v if v < n_tracked else 0 for v in ids])
        for i, v in enumerate(ids):
            if v >= n_tracked:
                p = objmap.get(parents[v])
                objs[i] = (None if p is None else
                           _heapgraph.referent_at(p, g.node(v)[0]))
        return objs


    # -- drawing ------------------------------------------------------------

    def show_refs(self, objs, max_depth=3, extra_ignore=(), filter=None,
                  too_many=10, highlight=None, filename=None,
                  extra_info=None, refcounts=False, shortnames=True,
                  output=None, extra_node_attrs=None, layout=None):
        """Draw what ``objs`` refer to, as captured, like
        :func:`objgraph.show_refs`.

        Referents come from the snapshot's graph, in the order the
        collector visits them; referents that are gone since the capture
        are left out.  ``refcounts=True`` shows the counts at capture time.
        ``layout``: see :func:`objgraph.show_refs`.
        """
        return self._show(objs, False, dict(
            max_depth=max_depth, extra_ignore=extra_ignore, filter=filter,
            too_many=too_many, highlight=highlight, filename=filename,
            extra_info=extra_info, refcounts=refcounts,
            shortnames=shortnames, output=output,
            extra_node_attrs=extra_node_attrs, layout=layout))

    def show_backrefs(self, objs, max_depth=3, extra_ignore=(), filter=None,
                      too_many=10, highlight=None, filename=None,
                      extra_info=None, refcounts=False, shortnames=True,
                      output=None, extra_node_attrs=None, layout=None):
        """Draw what refers to ``objs``, as captured, like
        :func:`objgraph.show_backrefs`.

        Referrers come from the snapshot's reverse graph (built once, in
        parallel): a drawing costs time in the size of the drawing, never a
        scan of the heap per node.  Cyclic garbage is left out, as after
        objgraph's ``gc.collect()``; the walk stops at modules in
        ``sys.modules``.
        """
        return self._show(objs, True, dict(
            max_depth=max_depth, extra_ignore=extra_ignore, filter=filter,
            too_many=too_many, highlight=highlight, filename=filename,
            extra_info=extra_info, refcounts=refcounts,
            shortnames=shortnames, output=output,
            extra_node_attrs=extra_node_attrs, layout=layout))

    def show_chain(self, *chains, **kw):
        """Draw chains of references, like :func:`objgraph.show_chain`
        (``backrefs=True`` by default)."""
        return _show_chain(self.show_refs, self.show_backrefs, chains, kw)

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

    def _show(self, objs, backrefs, kw,
              root_refs=_draw.ROOT_REFS_CAPTURED_BEFORE):
        """Draw from this snapshot; ``root_refs``: see _draw.show_graph."""
        if backrefs:
            neighbours = self._referrers_of
            kw['cull_func'] = is_proper_module
        else:
            neighbours = self._referents_of
        return _draw.show_graph(objs, neighbours, backrefs,
                                refcount_of=self._refcount_of,
                                root_refs=root_refs, **kw)

    def _node_of(self, obj):
        """obj's node id, or -1; objects a drawing got from the engine are
        remembered (a pinned snapshot keeps them alive, so their ids are
        theirs), the others looked up."""
        v = self._drawn.get(id(obj))
        return self._g.find((id(obj),))[0] if v is None else v

    def _remember(self, ids, objs):
        if self._g.pinned:
            self._drawn.update(zip(map(id, objs), ids))
        return objs

    def _referrers_of(self, obj):
        """Live referrers of ``obj`` from the reverse graph, as objgraph's
        ``gc.get_referrers`` after its ``gc.collect()`` lists them: each
        once, tracked, not garbage, not objgraph's own, in the order of
        the collector's lists after a full collection."""
        v = self._node_of(obj)
        if v < 0:
            return []
        ids = self._g.draw_referrers(v)
        objs = self._g.objects(ids)
        return self._remember([u for u, o in zip(ids, objs) if o is not None],
                              [o for o in objs if o is not None])

    def _referents_of(self, obj):
        """Referents of ``obj`` in the captured order (duplicates kept, as
        ``gc.get_referents`` gives them), as the live objects with those
        addresses among ``obj``'s current referents."""
        v = self._node_of(obj)
        if v < 0:
            return []
        g = self._g
        live = {id(o): o for o in gc.get_referents(obj)}
        found = [(u, live[a]) for u, a in ((u, g.node(u)[0])
                                           for u in g.referents(v))
                 if a in live]
        return self._remember([u for u, _ in found], [o for _, o in found])

    def _refcount_of(self, obj):
        """The reference count captured for ``obj`` (the live count, less
        this function's own references, for objects captured later, and
        for counts stored saturated: the live one is the true one)."""
        v = self._node_of(obj)
        count = self._g.node(v)[3] if v >= 0 else None
        if count is None or count == _SATURATED:
            return sys.getrefcount(obj) - 2
        return count


def _show_chain(show_refs, show_backrefs, chains, kw):
    """objgraph's show_chain on top of the given drawing functions."""
    backrefs = kw.pop('backrefs', True)
    objs, max_depth, in_chains = _draw.chain_args(chains, backrefs)
    show = show_backrefs if backrefs else show_refs
    return show(objs, max_depth=max_depth, filter=in_chains, **kw)


def _select_mask(n, ids):
    m = bytearray(n)
    for v in ids:
        if v >= 0:
            m[v] = 1
    return bytes(m)


def _stats_of(objects, shortnames, filter):
    """typestats over an explicit collection, as objgraph 3.x does."""
    typename = typename_func(shortnames)
    stats = {}
    for o in objects:
        if filter and not filter(o):
            continue
        name = typename(o)
        stats[name] = stats.get(name, 0) + 1
    return stats


def _count_of(typename, objects):
    name_of = typename_func('.' not in typename)
    return sum(1 for o in objects if name_of(o) == typename)


def _by_type_of(typename, objects):
    name_of = typename_func('.' not in typename)
    return [o for o in objects if name_of(o) == typename]


def _fork_error(e):
    """The :class:`objgraph.SnapshotError` for a forked capture that
    failed (ChildProcessError from the extension)."""
    return SnapshotError(str(e), reason=str(e))


def _portable():
    """Whether the next capture is the portable one (OBJGRAPH_CAPTURE, or
    no native capture built): as _heapgraph.capture chooses."""
    return (os.environ.get('OBJGRAPH_CAPTURE') == 'portable'
            or not _heapgraph.NATIVE_CAPTURE)


#: fork=True's default fork_timeout, seconds (capture.h:
#: HG_CAPTURE_FORK_TIMEOUT).
FORK_TIMEOUT = 60.0


def check_fork(pin, fork):
    """ValueError or NotImplementedError for a ``fork=True`` that cannot
    be: a pinned snapshot, or a platform without fork() (not Linux)."""
    if not fork:
        return
    if pin:
        raise ValueError('snapshot(fork=True) needs pin=False: a pinned '
                         'snapshot holds the program\'s objects, and the '
                         'forked child that captures the heap has only '
                         'copies of them')
    if not sys.platform.startswith('linux') or not hasattr(os, 'fork'):
        raise NotImplementedError(
            'snapshot(fork=True) needs fork() and Linux (memfd_create, '
            '/proc); this platform is %r' % sys.platform)


def take(pin=True, collect=False, exclude=(), nodes_only=False, sizes='c',
         gc_timeout=10.0, own=True, fork=False, fork_timeout=FORK_TIMEOUT,
         _fork_hooks=None):
    """Capture a :class:`Snapshot`; see :func:`objgraph.snapshot`.

    ``nodes_only``: tracked objects and types without references -- for
    objgraph's type counts, which need nothing more (internal use).
    ``sizes``: 'c' or 'python' (see :func:`objgraph.snapshot`).
    ``own``: leave objgraph's own objects out (_own_objects); objgraph
    3.x's functions count them, as gc.get_objects() lists them.
    ``fork``, ``fork_timeout``: see :func:`objgraph.snapshot`; a child
    that fails raises :class:`objgraph.SnapshotError`.  ``_fork_hooks``:
    tests only, ``{'child_sleep': seconds, 'child_as_limit': bytes}``
    (the child sleeps first; its RLIMIT_AS).

    The cycle a pinned snapshot can close (an object it pins refers to the
    Snapshot, which refers to its Graph, which pins the object) is freed by
    the collector through the Graph: a pinned Graph is a GC object whose
    traversal visits its pins and whose clearing drops them.  Snapshot
    adds nothing the collector cannot see.
    """
    check_sizes(sizes)
    check_fork(pin, fork)
    if fork and sizes != 'c':
        raise ValueError("snapshot(fork=True) needs sizes='c': the forked "
                         "child calls no __sizeof__ method")
    if collect:
        gc.collect()
    if nodes_only and _portable() and gc.get_freeze_count():
        # the portable capture finds frozen objects only by walking
        # (nothing public lists them), and objgraph counts them
        nodes_only = False
    stacks = None
    if exclude:
        # the caller's container too (the canary's tuple of its own
        # objects, say): held by a frame of the caller's, it would be a
        # root of the snapshot, growing with what it lists
        exclude = (exclude, *exclude)
    if own and not nodes_only:
        # every thread's locals, read just before the heap is frozen; the
        # frame objects that reading makes are left out (_roots)
        stacks, made = _roots.thread_stacks()
        exclude = (*exclude, *made, stacks, *stacks)
        del made
    if own:
        exclude = (*exclude, *_own_objects())
    try:
        kwargs = {}
        if fork:
            kwargs = dict(fork=True, fork_timeout=fork_timeout,
                          **(_fork_hooks or {}))
        graph = _heapgraph.capture(pin=bool(pin), exclude=tuple(exclude),
                                   nodes_only=nodes_only, sizes=sizes,
                                   gc_timeout=gc_timeout, **kwargs)
    except ChildProcessError as e:
        raise _fork_error(e) from None
    finally:
        # the frame objects made above, this function's among them, are
        # dropped before it returns: one still referenced then would keep
        # this function's locals, exclude included (a cycle)
        exclude = None
    snap = Snapshot(graph)
    snap._stacks = stacks
    return snap
