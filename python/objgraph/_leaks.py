"""Leak analysis on snapshots: roots, dominators, retained sizes, retention
paths in bulk, reference cycles, diffs and leak suspects.

Every whole-heap computation is an engine kernel (``_heapgraph.Graph``
methods, python/ext/analysis.c): the dominator tree with a virtual root
above every root, retained sizes, one breadth-first search from all the
roots, strongly connected components, address matching between
snapshots.  This module shapes their answers; it loops over the rows it
returns, never over the heap.

Objects handed back: live objects when the snapshot is pinned, their
``id()`` (the address at capture time) when it is detached or closed -- a
detached snapshot never dereferences an address.

Words: a *root* is an object referenced from outside the captured graph
(its reference count exceeds the references the graph holds to it: C
stacks, interpreter state, extension statics, or a reference leaked by C
code).  An object's *dominator* is the object every path from the roots to
it goes through; its *retained size* is what freeing it would free: the
shallow sizes (``sys.getsizeof`` as :func:`objgraph.snapshot` measures it:
without a ``__sizeof__`` defined in Python unless ``sizes='python'``) of
the objects it dominates, its own included.
"""

import collections
import operator
import reprlib
import sys
from array import array

from . import _heapgraph
from ._names import check_limit, plural, typename_func
from ._roots import Namer, Root

__all__ = ['Accumulation', 'LeakAnalysis', 'Retainer', 'RetentionPath',
           'Root', 'CycleGroup',
           'SnapshotDiff', 'TypeChange', 'LeakSuspect', 'leak_suspects',
           'write_sized_type_table']

_NONE = 0xFFFFFFFF
_SATURATED = 0xFFFFFFFF  # a reference count stored saturated
_MAX_KEY_LABEL = 40  # longest dict key shown in a path signature


def _ids(raw):
    a = array('I')
    a.frombytes(raw)
    return a


def _key_repr(key, limit=_MAX_KEY_LABEL):
    """``repr(key)`` of a str key, at most ``limit`` characters: a longer
    one keeps its start and its closing quote, "'/usr/lib/python3...'"."""
    text = repr(key)
    if len(text) <= limit:
        return text
    return text[:limit - 4] + '...' + text[-1]


# An object in a row's repr: a few items of a container, a few dozen
# characters of anything else (a module's __dict__ would fill the screen).
_short = reprlib.Repr()
_short.maxlevel = 2
_short.maxdict = _short.maxlist = _short.maxtuple = _short.maxset = 3
_short.maxstring = _short.maxother = 30


class Retainer(collections.namedtuple('Retainer',
                                      'object typename retained_bytes')):
    """One row of :meth:`Snapshot.most_retaining`: a tuple ``(object,
    type name, retained bytes)`` (the object is its id on a detached
    snapshot).  Its repr shows a few items of the object, not all of them:
    the objects that retain the most are often whole module dicts."""

    __slots__ = ()

    def __repr__(self):
        return 'Retainer(object=%s, typename=%r, retained_bytes=%d)' % (
            _short.repr(self.object), self.typename, self.retained_bytes)


class RetentionPath:
    """One group of :meth:`Snapshot.retention_paths`: objects whose
    shortest paths from a root have the same sequence of types.

    ``signature``: a tuple of str, one per object on the path from the
    root to the target, e.g. ``('module app', "dict['_cache']",
    'dict[int]', 'MyBigFatObject')`` -- type names, with the attribute
    or key through which each object holds the next (``Holder.cache``,
    ``dict['h']``, ``dict[int]``), and module and class names, taken from
    ``example``: the same text on pinned, detached and loaded snapshots
    (a file records it when saved); ``count``: the objects in the group;
    ``retained_bytes``: what freeing all of them would free, each byte
    counted once; ``example``: one path, root first (objects when the
    snapshot is pinned, ids when detached).  Draw it with
    ``snap.show_chain(group.example)``.  ``root``: the :class:`Root` that
    holds the group's objects -- every path of a group starts at a root
    of the same kind and description (``"thread 'worker-1', run() at
    app.py:12, local 'jobs'"``, ``'module app'``...); the example's root
    for the figures (``root.object``, ``root.refcount_excess``).
    """

    __slots__ = ('signature', 'count', 'retained_bytes', 'example', 'root')

    def __init__(self, signature, count, retained_bytes, example,
                 root=None):
        self.signature = signature
        self.count = count
        self.retained_bytes = retained_bytes
        self.example = example
        self.root = root

    def __repr__(self):
        return '<RetentionPath %s, %s: %s>' % (
            plural(self.count, 'object'),
            plural(self.retained_bytes, 'byte'), self.text())

    def text(self, arrow=' -> '):
        """The path and what holds it, the text every report prints:
        ``"dict['_registry'] -> list -> Request (held by module app)"``
        (no parenthesis when the group has no root)."""
        return path_text(self.signature, self.root, arrow)


def path_text(signature, root, arrow=' -> '):
    """A retention path's signature and what holds it, as
    :meth:`RetentionPath.text` prints them; ``root``: a :class:`Root`, its
    description, or None."""
    text = arrow.join(signature)
    return text if root is None else '%s (held by %s)' % (text, root)


class CycleGroup:
    """One group of :meth:`Snapshot.cycles`: reference cycles (strongly
    connected components of two objects or more) made of the same types.

    ``types``: the sorted type names found in each cycle; ``count``: the
    cycles; ``size``: the objects in them; ``nbytes``: their shallow
    bytes; ``example``: the objects of one cycle (ids when detached).
    """

    __slots__ = ('types', 'count', 'size', 'nbytes', 'example')

    def __init__(self, types, count, size, nbytes, example):
        self.types = types
        self.count = count
        self.size = size
        self.nbytes = nbytes
        self.example = example

    def __repr__(self):
        return '<CycleGroup %s, %s, %s: %s>' % (
            plural(self.count, 'cycle'), plural(self.size, 'object'),
            plural(self.nbytes, 'byte'), ', '.join(self.types))


class LeakSuspect:
    """One row of :func:`objgraph.leak_suspects`.

    ``typename``; ``counts`` and ``retained_bytes``: one value per
    snapshot (objects of the type that a full collection would keep, and
    the bytes they retain, each byte counted once); ``growth``: the count
    in the last snapshot less the count in the first; ``paths``: the
    type's top :class:`RetentionPath` groups in the last snapshot;
    ``accumulation``: an :class:`Accumulation`, the container on the
    top path that keeps growing, or None when no container on it grew.
    """

    __slots__ = ('typename', 'counts', 'growth', 'retained_bytes', 'paths',
                 'accumulation')

    def __init__(self, typename, counts, retained_bytes, paths,
                 accumulation=None):
        self.typename = typename
        self.counts = counts
        self.growth = counts[-1] - counts[0]
        self.retained_bytes = retained_bytes
        self.paths = paths
        self.accumulation = accumulation

    def __repr__(self):
        return '<LeakSuspect %s %s (%s), %s>' % (
            self.typename, plural(self.growth, 'object', signed=True),
            ' -> '.join(map(str, self.counts)),
            plural(self.retained_bytes[-1] - self.retained_bytes[0],
                   'retained byte', signed=True))


class Accumulation:
    """Where a :class:`LeakSuspect` accumulates: on the top retention path
    of its new objects (those the first snapshot did not have) in the
    last snapshot, the container that was already there in the first
    (same address and type) and holds the most references more.

    ``path``: the path's signature from the root down to the container,
    e.g. ``('module app', "dict['_cache']", 'dict')``, the container
    last; ``references``: how many more references it holds than in the
    first snapshot (a list's items; a dict's values, and its keys unless
    they are all str); ``holds``: the type of what it holds on the path
    (the next object's).
    """

    __slots__ = ('path', 'references', 'holds')

    def __init__(self, path, references, holds):
        self.path = path
        self.references = references
        self.holds = holds

    def __repr__(self):
        return '<Accumulation %s: %s (%s)>' % (
            ' -> '.join(self.path),
            plural(self.references, 'reference', signed=True), self.holds)


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
        one :func:`_label` per node, read from the live objects -- a
        pinned snapshot's own, or those a detached one finds again at
        their addresses (type names alone for objects gone since, or all
        of them once a pinned snapshot is closed).  What a saved file
        records (objgraph._files) and LoadedSnapshot reads back instead,
        so that every kind of snapshot prints the same paths."""
        g = self._g
        names = self._type_names(True)
        signatures = []
        for path, chain in zip(paths, _path_objects(g, paths)):
            addrs = [g.node(v)[0] for v in path]
            signatures.append(tuple(
                _label(o, nxt, names[g.node(v)[1]])
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


TypeChange = collections.namedtuple('TypeChange', (
    'type', 'count', 'delta', 'nbytes', 'bytes_delta',
    'new', 'new_bytes', 'freed', 'freed_bytes'))
TypeChange.__doc__ = """One type's row of ``SnapshotDiff.growth(sizes=True)``:
its objects in the new snapshot (``count``, taking ``nbytes`` shallow
bytes) and the change since the old one (``delta``, ``bytes_delta``);
``new``/``new_bytes``: objects only the new snapshot has (by address and
type), ``freed``/``freed_bytes``: objects only the old one had."""


class SnapshotDiff:
    """The difference between two snapshots, ``new.diff(old)``.

    Counts and bytes are those of every object a full collection would
    keep, untracked ones (str, int, ...) included: the rule of every leak
    analysis (:func:`leak_suspects`, ``retained_by_type``,
    ``retention_paths``), whereas objgraph 3.x's own functions
    (:func:`objgraph.growth` and the rest) count the objects the collector
    tracks, as objgraph 3.x does.  Objects are matched across the
    snapshots by address and type.
    """

    def __init__(self, new, old):
        self.new = new
        self.old = old

    def __repr__(self):
        new, old = self.new, self.old
        return '<SnapshotDiff %s, %s: %s -> %s>' % (
            plural(len(new) - len(old), 'node', signed=True),
            plural(new.num_edges - old.num_edges, 'edge', signed=True),
            _snapshot_name(old), _snapshot_name(new))

    def growth(self, limit=10, shortnames=True, sizes=False):
        """Types with more objects in the new snapshot, as
        ``(type name, count, delta)`` rows, largest delta first, like
        :func:`objgraph.growth`.  ``limit`` None: every such type.

        ``sizes=True``: :class:`TypeChange` rows instead, with shallow
        bytes, and the objects new and freed between the snapshots, for
        the types whose objects grew in number or in bytes; largest
        delta first, then largest growth in bytes.

            >>> before = objgraph.snapshot(pin=False)
            >>> cache.extend(bytearray(100) for _ in range(50))
            >>> after = objgraph.snapshot(pin=False)
            >>> after.diff(before).growth(1, sizes=True)
            [TypeChange(type='bytearray', count=50, delta=50, nbytes=7900,
             bytes_delta=7900, new=50, new_bytes=7900, freed=0,
             freed_bytes=0)]
        """
        check_limit(limit)
        now = _figures(self.new, shortnames)
        before = _figures(self.old, shortnames)
        if not sizes:
            rows = [(name, n, n - before.get(name, (0, 0))[0])
                    for name, (n, _) in now.items()
                    if n > before.get(name, (0, 0))[0]]
            rows.sort(key=operator.itemgetter(2), reverse=True)
            return rows[:limit] if limit else rows
        new = _newcomers(self.new, self.old, shortnames)
        freed = _newcomers(self.old, self.new, shortnames)
        rows = []
        for name, (n, nbytes) in now.items():
            n0, b0 = before.get(name, (0, 0))
            if n > n0 or nbytes > b0:
                rows.append(TypeChange(name, n, n - n0, nbytes, nbytes - b0,
                                       *new.get(name, (0, 0)),
                                       *freed.get(name, (0, 0))))
        rows.sort(key=lambda r: (-r.delta, -r.bytes_delta, r.type))
        return rows[:limit] if limit else rows

    def show_growth(self, limit=10, shortnames=True, file=None, sizes=False):
        """Print :meth:`growth` as :func:`objgraph.show_growth` does; with
        ``sizes=True``, a table of the :class:`TypeChange` rows."""
        rows = self.growth(limit, shortnames, sizes)
        if not rows:
            return
        if file is None:
            file = sys.stdout
        width = max(len(row[0]) for row in rows)
        if not sizes:
            for name, n, delta in rows:
                file.write('%-*s%9d %+9d\n' % (width, name, n, delta))
            return
        file.write('%-*s %9s %9s %9s %9s %11s %11s\n' % (
            width, 'type', 'objects', 'growth', 'new', 'freed', 'bytes',
            'growth'))
        for r in rows:
            file.write('%-*s %9d %+9d %9d %9d %11d %+11d\n' % (
                width, r.type, r.count, r.delta, r.new, r.freed, r.nbytes,
                r.bytes_delta))

    def new_ids(self, shortnames=True):
        """Type name -> set of ids of the new snapshot's objects that the
        old one did not have (as :func:`objgraph.get_new_ids` returns)."""
        return self._ids_by_type(False, shortnames)

    def survivors(self, shortnames=True):
        """Type name -> set of ids of the objects found in both snapshots:
        same address and same type."""
        return self._ids_by_type(True, shortnames)

    def _ids_by_type(self, survivors, shortnames):
        new = self.new
        mask = new._g.match(self.old._g, new._analysis_mask(live=True),
                            survivors)
        result = {}
        for name, addrs in zip(new._type_names(shortnames),
                               new._g.addrs_by_type(mask)):
            if addrs:
                result.setdefault(name, set()).update(addrs)
        return result


def _snapshot_name(snap):
    """'before.hgsnap' (1523 nodes), or a detached snapshot (1523
    nodes)."""
    path = getattr(snap, 'path', None)
    if path is not None:
        what = repr(str(path))
    else:
        what = 'a %s snapshot' % ('pinned' if snap.pinned else 'detached')
    return '%s (%s)' % (what, plural(len(snap), 'node'))


def _figures(snap, shortnames):
    """{type name: (objects, shallow bytes)} over every object of ``snap``
    a full collection would keep."""
    return {name: (n, shallow) for name, n, shallow, _ in
            snap._sizes_by_name(snap._analysis_mask(live=True), shortnames)}


def _newcomers(snap, other, shortnames):
    """{type name: (objects, shallow bytes)} of the objects of ``snap``
    (every one a full collection would keep) that ``other`` has not: no
    node of it with the same address and type."""
    g = snap._g
    mask = g.match(other._g, snap._analysis_mask(live=True), False)
    totals = {}
    for name, n, nbytes in zip(snap._type_names(shortnames),
                               g.type_counts(mask), g.type_bytes(mask)):
        if n:
            n0, b0 = totals.get(name, (0, 0))
            totals[name] = (n0 + n, b0 + nbytes)
    return totals


def leak_suspects(snapshots, limit=10, paths=3):
    """Types that keep growing across snapshots, most growth first.

    ``snapshots``: three or more snapshots (pinned or detached) taken in
    order while the suspect code runs.  A type is a suspect when its count
    of objects a full collection would keep (untracked ones included, as
    in every leak analysis) or -- for the program's own types, not builtin
    ones -- their own bytes or the bytes they retain,
    never drops from one snapshot to the next and still grows after the
    second snapshot: growth confined to the first interval is warm-up --
    the first run of a code path importing modules and filling caches --
    not a leak.  objgraph's own objects (snapshots and what they hold)
    are never counted.  Returns the ``limit`` strongest suspects (None: all) as
    :class:`LeakSuspect` objects: the program's own types first, then the
    builtin ones (dict, list, str, int...: mostly the carriers of the
    program's objects), each ranked by growth in objects, then in
    retained bytes; each carries its top ``paths`` retention paths in the
    last snapshot.

        >>> snaps = []
        >>> for i in range(3):
        ...     run_the_suspect_code()
        ...     snaps.append(objgraph.snapshot(pin=False))
        >>> objgraph.leak_suspects(snaps)[0]
        <LeakSuspect MyBigFatObject +200 objects (100 -> 200 -> 300), ...>
    """
    try:
        snapshots = list(snapshots)
    except TypeError:
        raise TypeError('snapshots must be an iterable of Snapshot, not %s'
                        % type(snapshots).__name__) from None
    for s in snapshots:
        if not isinstance(s, LeakAnalysis):
            raise TypeError('snapshots must hold Snapshot objects, not %s'
                            % type(s).__name__)
    if len(snapshots) < 3:
        raise ValueError('snapshots must hold 3 or more snapshots, not %d'
                         % len(snapshots))
    check_limit(limit)
    check_limit(paths, 'paths')
    figures = [{row[0]: row for row in
                s._sizes_by_name(s._analysis_mask(live=True), True)}
               for s in snapshots]
    rows = []
    last = snapshots[-1]
    carriers = _builtin_names(last)
    for name in figures[-1]:
        c, shallow, r = (tuple(d[name][i] if name in d else 0
                               for d in figures) for i in (1, 2, 3))
        # a builtin type whose objects only grow in place or retain more
        # -- the lists and dicts that carry the growing objects, the
        # modules and classes above them, code objects filling their
        # caches -- is no suspect of its own: the growing objects are,
        # and the accumulation point names the container
        if _grows(c) or (name not in carriers and (_grows(shallow) or
                                                   _grows(r))):
            rows.append((name, c, r))
    rows.sort(key=lambda row: (row[0] in carriers, row[1][0] - row[1][-1],
                               row[2][0] - row[2][-1], row[0]))
    if limit:
        rows = rows[:limit]
    first = snapshots[0]
    # the objects of last that first did not have, once for every suspect
    new = None if getattr(first, '_g', None) is None else \
        last._g.match(first._g, last._analysis_mask(live=True), False)
    return [LeakSuspect(name, c, r, last.retention_paths(name, paths)
                        if paths != 0 else [],
                        _accumulation(first, last, name, new))
            for name, c, r in rows]


def _accumulation(first, last, name, new):
    """The :class:`Accumulation` of type ``name``: on the top retention
    path, in ``last``, of its objects that ``first`` did not have, the
    node that ``first`` had too
    (same address, same type) whose references grew the most, the one
    nearest the objects on a tie; None if none grew, or when ``first``
    is no snapshot (the canary's summaries keep no references: ``new``,
    the mask of last's objects first did not have, is None)."""
    if new is None:
        return None
    g, og = last._g, first._g
    # the objects of the type that first did not have: where the new ones
    # went (the top path of them all may be that of old ones)
    tmask = bytes(n == name for n in last._type_names('.' not in name))
    groups, _, _ = g.retention_groups(g.select(new, tmask), 1)
    if not groups:
        return None
    count, retained, example = groups[0]
    ids = g.path_to_root(example)
    long_now, long_then = last._type_names(False), first._type_names(False)
    best = None
    for i, (v, u) in enumerate(zip(ids[:-1], og.find([g.node(v)[0]
                                                       for v in ids[:-1]]))):
        if u < 0 or long_now[g.node(v)[1]] != long_then[og.node(u)[1]]:
            continue
        grew = len(g.referents(v)) - len(og.referents(u))
        if grew > 0 and (best is None or grew >= best[1]):
            best = (i, grew)
    if best is None:
        return None
    i, grew = best
    signature = last._retention_path(count, retained, example).signature
    return Accumulation(signature[:i + 1], grew,
                        last._type_names(True)[g.node(ids[i + 1])[1]])


def _builtin_names(snap):
    """The short type names of ``snap`` that name builtin types only
    (dict, list, str, int, ...): the carriers of a program's objects, which
    leak_suspects ranks after the program's own types."""
    own, builtin = set(), set()
    for short, full in zip(snap._type_names(True), snap._type_names(False)):
        if full.startswith('builtins.') or '.' not in full:
            builtin.add(short)
        else:
            own.add(short)
    return builtin - own


def _grows(values):
    """Never drops, and grows after the first interval (leak_suspects)."""
    return values[-1] > values[1] and all(
        a <= b for a, b in zip(values, values[1:]))


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


# -- path labels ------------------------------------------------------------
#
# One labelling for every kind of snapshot.  A path's signature names each
# node by _label(object, address of the next node, type name): pinned and
# detached snapshots compute it from live objects (LeakAnalysis._path_parts),
# a saved file records what it gave (objgraph._files._labels: node labels
# from _label_of, and the text of every reference whose _label differs from
# _fixed_part), and a loaded snapshot reads that back through _fixed_part.

_ModuleType = type(sys)
_TYPE_IS_MODULE = 2  # type flag: a subclass of ModuleType (snapshot-format)
_FUNCTION_TYPES = frozenset(('function', 'builtin_function_or_method'))


def _label_of(obj):
    """The short label of a module (its ``__name__``), a class or a
    function (its qualified name), or None.  Reads what the interpreter
    stores itself, never user properties."""
    try:
        kind = type(obj)
        if issubclass(kind, type):
            return type.__dict__['__qualname__'].__get__(obj)
        if issubclass(kind, _ModuleType):
            name = _ModuleType.__dict__['__dict__'].__get__(obj).get(
                '__name__')
            return name if isinstance(name, str) else None
        if getattr(kind, '__qualname__', None) in _FUNCTION_TYPES:
            qualname = obj.__qualname__
            return qualname if isinstance(qualname, str) else None
    except Exception:
        return None
    return None


def _fixed_part(typename, label, type_flags):
    """How a node that names itself whatever it holds next appears in a
    path: ``module app`` for a module, ``class app.Cache`` for a class,
    from its label (:func:`_label_of`) and its type's flags; its type
    name for anything else."""
    if label is None or typename in _FUNCTION_TYPES:
        return typename
    if type_flags & _TYPE_IS_MODULE:
        return 'module %s' % label
    return 'class %s' % label


def _path_objects(g, paths, found=None):
    """The objects of each path's nodes (node ids, root first), None for
    those gone: tracked ones by id (a detached snapshot finds them again
    in the collector's lists, checking their types), untracked ones
    through the previous object's referents.  ``found``: the objects of
    :func:`_tracked_ids` already looked up.  No objects at all (a closed
    pinned snapshot, a loaded one): Nones."""
    n_tracked = g.n_tracked
    if found is None:
        try:
            found = g.objects(_tracked_ids(g, paths))
        except ValueError:  # no objects any more
            found = [None] * sum(map(len, paths))
    chains, i = [], 0
    for path in paths:
        chain = found[i:i + len(path)]
        i += len(path)
        for j, v in enumerate(path):
            if v >= n_tracked:
                prev = chain[j - 1] if j else None
                chain[j] = (None if prev is None else
                            _heapgraph.referent_at(prev, g.node(v)[0]))
        chains.append(chain)
    return chains


def _tracked_ids(g, paths):
    """The node ids of the paths, one after the other, untracked ones
    replaced by 0 (looked up through their referrer instead)."""
    n_tracked = g.n_tracked
    return [v if v < n_tracked else 0 for path in paths for v in path]


def _label(obj, nxt, typename):
    """How ``obj`` appears in a path signature, given the address of the
    next node on the path (None for the last): its type name, the key or
    attribute through which it holds the next node when that can be told,
    or its module or class name."""
    try:
        return _describe(obj, nxt, typename)
    except Exception:  # a hostile __eq__, __getattr__, __dict__...
        return typename


def _describe(obj, nxt, typename):
    if obj is None:
        return typename
    kind = type(obj)
    if issubclass(kind, (_ModuleType, type)):
        label = _label_of(obj)
        if label is not None:
            return _fixed_part(typename, label,
                               _TYPE_IS_MODULE
                               if issubclass(kind, _ModuleType) else 0)
    if nxt is None:
        return typename
    if isinstance(obj, dict):
        return _dict_label(obj, nxt, typename)
    name = _attribute_of(obj, nxt)
    if name is not None:
        return '%s.%s' % (typename, name)
    return typename


def _dict_part(typename, key, is_key):
    """A dict's label when it holds the next node as ``key``'s value
    (``dict['name']``, or ``dict[int]`` for a key not a str), or as the
    key itself (``dict key``)."""
    if is_key:
        return '%s key' % typename
    if isinstance(key, str):
        return '%s[%s]' % (typename, _key_repr(key))
    return '%s[%s]' % (typename, type(key).__name__)


def _dict_label(d, nxt, typename):
    """The first entry of ``d`` holding the object at address ``nxt``,
    as :func:`_dict_part`; the type name when none does."""
    try:
        for k, v in d.items():
            if id(v) == nxt:
                return _dict_part(typename, k, False)
            if id(k) == nxt:
                return _dict_part(typename, k, True)
    except RuntimeError:  # changed size during iteration
        pass
    return typename


def _attribute_of(obj, nxt):
    """The name of an attribute (instance dict or slot) of obj holding
    the object at address ``nxt``, or None.  Instances with a managed
    ``__dict__`` are read by the engine, which never makes them one (a
    lookup of ``__dict__`` would, in CPython 3.11 and 3.12)."""
    attrs = None
    try:
        name = _heapgraph.attribute_at(obj, nxt)
    except NotImplementedError:
        name = None
        try:
            attrs = object.__getattribute__(obj, '__dict__')
        except (AttributeError, TypeError):
            pass
    if name is not None:
        return name
    if isinstance(attrs, dict):
        for k, v in attrs.items():
            if id(v) == nxt and isinstance(k, str):
                return k
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get('__slots__', ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ('__dict__', '__weakref__'):
                continue  # looked up, a __dict__ would be made
            try:
                if id(object.__getattribute__(obj, name)) == nxt:
                    return name
            except (AttributeError, TypeError):
                continue
    return None
