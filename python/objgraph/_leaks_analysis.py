"""The leak-analysis methods of a snapshot (:class:`LeakAnalysis`):
roots and garbage, reference-count excess, dominators and retained sizes,
retention paths, cycles, diffs -- and :func:`write_sized_type_table`.
See objgraph._leaks for the words and the engine kernels behind them."""

import sys
from array import array

from . import _heapgraph
from ._leaks_diff import SnapshotDiff
from ._leaks_labels import path_label, path_objects
from ._leaks_rows import CycleGroup, Retainer, RetentionPath
from ._names import check_limit, typename_func
from ._roots import Namer

_SATURATED = 0xFFFFFFFF  # a reference count stored saturated


def _ids(raw):
    a = array('I')
    a.frombytes(raw)
    return a


class LeakAnalysis:
    """The leak-analysis methods of :class:`objgraph.Snapshot` (a mixin:
    it needs the snapshot's ``_g``, ``_mask`` and ``_type_names``)."""

    # -- helpers -------------------------------------------------------------

    def _analysis_mask(self, live=False):
        """Every node outside objgraph's machinery, untracked ones (str,
        int, ...) included; only those a root reaches when ``live``."""
        key = ('all', live)
        m = self._masks.get(key)
        if m is None:
            m = self._masks[key] = self._g.mask(live=live, untracked=True)
        return m

    def _is_address(self, obj):
        """Whether ``obj`` stands for the object at that address: an int
        given to a snapshot that is not pinned (detached or loaded), whose
        queries return addresses rather than objects."""
        return type(obj) is int and not self._g.pinned

    def _node_of_arg(self, obj, arg='obj'):
        """The node id of ``obj`` -- an object, or on a snapshot that is
        not pinned an address -- or ValueError naming ``arg``."""
        if self._is_address(obj):
            v = self._g.find((obj,))[0]
            if v < 0:
                raise ValueError('%s: no object of this snapshot was at '
                                 'address %#x' % (arg, obj))
            return v
        v = self._g.find((id(obj),))[0]
        if v < 0:
            raise ValueError('%s is not in this snapshot (a %s captured '
                             'neither as a tracked object nor as a '
                             'referent of one)' % (arg, type(obj).__name__))
        return v

    def _hand_back(self, ids):
        """Objects for node ids when pinned (None for those that cannot be
        reached any more), their addresses otherwise."""
        g = self._g
        if not g.pinned:
            return [g.node(v)[0] for v in ids]
        n_tracked = g.n_tracked
        objs = g.objects([v if v < n_tracked else 0 for v in ids])
        for i, v in enumerate(ids):
            if v >= n_tracked:
                objs[i] = self._untracked_object(v)
        return objs

    def _untracked_object(self, v):
        """An untracked node's object, through a tracked referrer."""
        g = self._g
        addr = g.node(v)[0]
        for u in g.referrers(v):
            if u < g.n_tracked:
                parent = g.objects([u])[0]
                if parent is not None:
                    found = _heapgraph.referent_at(parent, addr)
                    if found is not None:
                        return found
        return None

    def _chain(self, ids):
        """A path's nodes as objects (pinned: untracked ones through the
        previous object) or addresses."""
        g = self._g
        if not g.pinned:
            return [g.node(v)[0] for v in ids]
        n_tracked = g.n_tracked
        objs = g.objects([v if v < n_tracked else 0 for v in ids])
        for i, v in enumerate(ids):
            if v >= n_tracked:
                prev = objs[i - 1] if i else None
                objs[i] = (None if prev is None else
                           _heapgraph.referent_at(prev, g.node(v)[0]))
        return objs

    def _target_ids(self, typename_or_objects, arg):
        if isinstance(typename_or_objects, str):
            names = self._type_names('.' not in typename_or_objects)
            tmask = bytes(name == typename_or_objects for name in names)
            return self._g.select(self._analysis_mask(), tmask)
        try:
            objects = list(typename_or_objects)
        except TypeError:
            raise TypeError('%s must be a type name (str) or an iterable of '
                            'objects, not %s'
                            % (arg, type(typename_or_objects).__name__)
                            ) from None
        keys = [o if self._is_address(o) else id(o) for o in objects]
        return array('I', (v for v in self._g.find(keys)
                           if v >= 0)).tobytes()

    # -- roots and garbage ---------------------------------------------------

    def roots(self, named=False):
        """Objects referenced from outside the snapshot's graph.

        A root's reference count exceeds the references the graph holds
        to it: it is held by a C stack or a running frame, the
        interpreter's state, an extension's static variable -- or by a
        reference that C code leaked.  Tracked objects only, in the
        collector's list order.

            >>> with objgraph.snapshot() as snap:
            ...     roots = snap.roots()
            >>> sys.modules in roots
            True

        ``named=True``: :class:`Root` objects instead, each saying what
        holds the root -- its ``kind`` (``'module'``, ``'class'``,
        ``'thread'``, ``'interpreter'`` or ``'c'``), a ``description``
        (``'module app'``, ``'class app.Cache'``, ``"thread 'worker-1',
        run() at app.py:12, local 'jobs'"``, ``'sys.modules'``, ``'C code:
        +1 reference'``), the ``object`` (its address on a detached or
        loaded snapshot) and its ``refcount_excess``:

            >>> with objgraph.snapshot() as snap:
            ...     named = snap.roots(named=True)
            >>> [r.kind for r in named if r.object is sys.modules]
            ['interpreter']

        Thread stacks are read when the snapshot is taken, and a saved
        file records what they named (a file written before objgraph
        recorded them describes its thread roots as held from C).
        """
        ids = _ids(self._g.roots())
        if not named:
            return self._hand_back(ids)
        namer = Namer(self)
        namer.prefetch(ids)
        return [namer.root(v) for v in ids]

    def _root_keys(self):
        """What tells retention paths apart besides their types, for
        retention_groups: (node ids, ascending, as bytes; the key number of
        each, as bytes).  Every root is keyed by its :class:`Root` kind and
        description (a C root's count left out: roots alike share a key),
        and every module and class, and its __dict__, by the module or
        class.  Computed once."""
        found = self._masks.get('root keys')
        if found is None:
            namer = Namer(self)
            numbers = {}
            keyed = {v: numbers.setdefault(namer.key(v), len(numbers))
                     for v in _ids(self._g.roots(False))}
            for v, owner in namer.namespaces().items():
                if v not in keyed:
                    keyed[v] = numbers.setdefault(('node', owner),
                                                  len(numbers))
            ids = array('I', sorted(keyed))
            keys = array('I', (keyed[v] for v in ids))
            found = self._masks['root keys'] = (ids.tobytes(), keys.tobytes())
        return found

    def unreachable(self):
        """Tracked objects no root reaches: cyclic garbage awaiting the
        collector (what ``gc.collect()`` would free).

            >>> a = []; a.append(a); del a
            >>> with objgraph.snapshot() as snap:
            ...     garbage = snap.unreachable()
        """
        return self._hand_back(_ids(self._g.unreachable()))

    def refcount_excess(self, obj):
        """``obj``'s reference count at capture time minus the references
        the graph holds to it.

        Positive for roots: references from outside the graph (frames,
        C code).  An object nothing should hold from C but with a positive
        excess is the signature of a reference leaked by an extension.
        ``obj`` may be an address on a detached or loaded snapshot (what
        its queries return: see :meth:`most_retaining`).  Raises
        ValueError if ``obj`` is not in the snapshot, if it is
        immortal (CPython 3.12 on: its count is fixed and counts no
        references; see :attr:`immortal_objects`), or if its count was
        stored saturated (2**32 - 1 or more: see
        :attr:`saturated_refcounts`), whose excess is unknown.
        """
        v = self._node_of_arg(obj)
        count = self._g.node(v)[3]
        imin = self._immortal_min()
        if imin is not None and count >= imin:
            raise ValueError(
                'refcount_excess(): this %s is immortal (CPython 3.12 and '
                'later): its reference count is fixed and counts no '
                'references, so it has no excess; the interpreter holds '
                'it, a root, for its whole life'
                % self._g.type_names(True)[self._g.node(v)[1]])
        if count == _SATURATED:
            raise ValueError(
                'refcount_excess(): the reference count of this %s was '
                '2**32 - 1 or more at capture time and is stored saturated; '
                'its excess is unknown'
                % self._g.type_names(True)[self._g.node(v)[1]])
        return count - self._g.in_degree(v)

    # -- dominators and retained sizes ---------------------------------------

    def retained_size(self, obj):
        """Bytes freed if ``obj`` went away: the shallow sizes
        (``sys.getsizeof``, as :func:`objgraph.snapshot` measures them) of
        every object that only ``obj`` keeps alive, ``obj`` included.  0
        for garbage (nothing reaches it: the collector frees it anyway).
        ``obj`` may be an address on a detached or loaded snapshot.
        Raises ValueError if ``obj`` is not in the snapshot.

            >>> x = [bytearray(1000)]
            >>> with objgraph.snapshot() as snap:
            ...     snap.retained_size(x) >= 1000
            True
        """
        return self._g.retained([self._node_of_arg(obj)])[0]

    def dominator(self, obj):
        """The object that alone keeps ``obj`` alive: every path from a root
        to ``obj`` goes through it, and it is the nearest such object.

        None when no single object does (``obj`` is a root, or is reached
        from two roots by separate paths) and for garbage.  On detached
        and loaded snapshots, an address instead of an object, and ``obj``
        may be an address.  Raises ValueError if ``obj`` is not in the
        snapshot.
        """
        d = self._g.idom(self._node_of_arg(obj))
        return None if d < 0 else self._hand_back([d])[0]

    def most_retaining(self, limit=10):
        """The ``limit`` objects retaining the most bytes (None: all), as
        ``(object, type name, retained bytes)`` rows, most first: each a
        :class:`Retainer`, a tuple whose repr shows only a few items of
        the object.

        Untracked objects (str, bytes, ...) are candidates too.  On
        detached and loaded snapshots the objects are their addresses
        (``id()`` at capture time), which :meth:`retained_size`,
        :meth:`dominator`, :meth:`refcount_excess`,
        :meth:`retention_paths` and the chain searches take back.

            >>> with objgraph.snapshot() as snap:
            ...     snap.most_retaining(2)
            [Retainer(object={'__name__': 'sys', '__doc__': ..., ...},
                      typename='dict', retained_bytes=4873301),
             Retainer(object=<module 'sys' (built-in)>, typename='module',
                      retained_bytes=3151017)]
        """
        check_limit(limit)
        g = self._g
        ids = _ids(g.top_retained(self._analysis_mask(), limit or 0))
        names = self._type_names(True)
        return [Retainer(o, names[g.node(v)[1]], r)
                for v, o, r in zip(ids, self._hand_back(ids),
                                   g.retained(ids))]

    def retained_by_type(self, limit=10, shortnames=True):
        """The ``limit`` types retaining the most bytes (None: all), as
        ``(type name, count, shallow bytes, retained bytes)`` rows, most
        retained first; ``shortnames=False``: by qualified name
        (``module.Class``).

        Objects of every kind count (untracked str and int too), garbage
        is left out.  Each byte is counted once per type: an object kept
        alive only by another object of the same type adds nothing to its
        type's retained bytes (a linked list of 1000 nodes retains its
        bytes once, not 1000 times).  Types sharing a short name are
        counted together (``objgraph top`` prints them apart, qualified).

            >>> with objgraph.snapshot() as snap:
            ...     snap.retained_by_type(1)
            [('dict', 5873, 1869752, 6211480)]
        """
        check_limit(limit)
        rows = self._sizes_by_name(self._analysis_mask(live=True),
                                   shortnames)
        rows.sort(key=lambda r: (-r[3], -r[2], r[0]))
        return rows[:limit] if limit else rows

    def _sizes_by_name(self, mask, shortnames):
        """[name, count, shallow bytes, retained bytes] per type name over
        the masked nodes (types with a masked node only)."""
        g = self._g
        totals = {}
        for name, n, shallow, retained in zip(
                self._type_names(shortnames), g.type_counts(mask),
                g.type_bytes(mask), g.type_retained(mask)):
            if n:
                row = totals.get(name)
                if row is None:
                    totals[name] = [name, n, shallow, retained]
                else:
                    row[1] += n
                    row[2] += shallow
                    row[3] += retained
        return [tuple(row) for row in totals.values()]

    # -- retention paths ------------------------------------------------------

    def retention_paths(self, typename_or_objects, limit=5):
        """Why objects are alive: their shortest paths from a root, grouped.

        ``typename_or_objects``: a type name (short or fully qualified;
        untracked types such as ``bytes`` too) or an iterable of objects
        (on a detached or loaded snapshot, of addresses too).
        One breadth-first search from every root gives each object its
        shortest path; objects whose paths have the same sequence of types
        and start at roots of the same kind and description (the same
        module, class, or thread, function and local variable: see
        :meth:`roots`) form one :class:`RetentionPath` group, whose
        ``root`` says what holds it.  Returns the ``limit``
        largest groups (None: all), most objects first.  Objects no root
        reaches (garbage) are in no group.

            >>> with objgraph.snapshot() as snap:
            ...     for group in snap.retention_paths('MyBigFatObject'):
            ...         print(group.count, ' -> '.join(group.signature))
            100000 module app -> dict['_cache'] -> dict[int] -> MyBigFatObject
        """
        check_limit(limit)
        targets = self._target_ids(typename_or_objects, 'typename_or_objects')
        roots, keys = self._root_keys()
        groups, _, _ = self._g.retention_groups(targets, limit or 0, roots,
                                                keys)
        paths = [self._retention_path(count, retained, example)
                 for count, retained, example in groups]
        g = self._g
        for group, root in zip(paths, Namer(self).path_roots(
                [g.path_to_root(example) for _, _, example in groups])):
            group.root = root
        return paths

    def _retention_path(self, count, retained, example):
        path = self._g.path_to_root(example)
        return RetentionPath(self._path_parts([path])[0], count, retained,
                             self._chain(path))

    def _path_parts(self, paths):
        """The signature of each path (node ids, root first): a tuple of
        one :func:`path_label` per node, read from the live objects -- a
        pinned snapshot's own, or those a detached one finds again at
        their addresses (type names alone for objects gone since, or all
        of them once a pinned snapshot is closed).  What a saved file
        records (objgraph._files) and LoadedSnapshot reads back instead,
        so that every kind of snapshot prints the same paths."""
        g = self._g
        names = self._type_names(True)
        signatures = []
        for path, chain in zip(paths, path_objects(g, paths)):
            addrs = [g.node(v)[0] for v in path]
            signatures.append(tuple(
                path_label(o, nxt, names[g.node(v)[1]])
                for v, o, nxt in zip(path, chain, addrs[1:] + [None])))
        return signatures

    # -- cycles ---------------------------------------------------------------

    def cycles(self, limit=10):
        """Reference cycles -- strongly connected components of two objects
        or more, which only the cyclic collector can free -- grouped by the
        types they contain.  Returns the ``limit`` largest groups (None:
        all) as :class:`CycleGroup` objects, most cycles first, then most
        bytes.

            >>> with objgraph.snapshot() as snap:
            ...     snap.cycles(1)
            [<CycleGroup 812 cycles, 1624 objects, 129920 bytes: Node, dict>]
        """
        check_limit(limit)
        g = self._g
        rows = sorted(g.cycle_groups(),
                      key=lambda r: (-r[1], -r[3], r[4]))
        if limit:
            rows = rows[:limit]
        names = self._type_names(True)
        return [CycleGroup(tuple(sorted({names[t] for t in types})),
                           count, size, nbytes,
                           self._hand_back(_ids(g.component(example))))
                for types, count, size, nbytes, example in rows]

    # -- diffs ----------------------------------------------------------------

    def diff(self, old):
        """What changed since the older snapshot ``old``: a
        :class:`SnapshotDiff`.  Works on pinned and detached snapshots
        (objects are matched by address and type, never dereferenced).

            >>> before = objgraph.snapshot(pin=False)
            >>> ...
            >>> after = objgraph.snapshot(pin=False)
            >>> after.diff(before).show_growth()
            MyBigFatObject      100     +100
        """
        if not isinstance(old, LeakAnalysis):
            raise TypeError('old must be a Snapshot, not %s'
                            % type(old).__name__)
        return SnapshotDiff(self, old)


def write_sized_type_table(snap, rows, objects, shortnames, file):
    """show_most_common_types(sizes=True): the ``rows`` of
    most_common_types with shallow and retained bytes beside the counts
    (over the default view's objects, or over ``objects``)."""
    g = snap._g
    extra = {}
    if objects is None:
        mask = snap._mask()
    else:
        found = bytearray(len(g))
        for o, v in zip(objects, g.find([id(o) for o in objects])):
            if v >= 0:
                found[v] = 1
            else:  # not captured: its shallow size only
                name = typename_func(shortnames)(o)
                extra[name] = extra.get(name, 0) + sys.getsizeof(o)
        mask = bytes(found)
    sizes = {row[0]: row for row in snap._sizes_by_name(mask, shortnames)}
    table = [('type', 'count', 'shallow', 'retained')]
    for name, count in rows:
        row = sizes.get(name, (name, 0, 0, 0))
        table.append((name, str(count), str(row[2] + extra.get(name, 0)),
                      str(row[3])))
    if file is None:
        file = sys.stdout
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for r in table:
        file.write('%-*s %*s %*s %*s\n' % (widths[0], r[0], widths[1], r[1],
                                          widths[2], r[2], widths[3], r[3]))
