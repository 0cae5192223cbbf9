"""The rows the leak analyses return: :class:`Retainer`,
:class:`RetentionPath` (and :func:`path_text`, the text every report
prints for one), :class:`CycleGroup`, :class:`LeakSuspect`,
:class:`Accumulation` and :class:`TypeChange`.  Plain values: they hold
what the analyses computed, and compute nothing themselves."""

import collections
import reprlib

from ._names import plural

__all__ = ['Accumulation', 'CycleGroup', 'LeakSuspect', 'Retainer',
           'RetentionPath', 'TypeChange', 'path_text']

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


TypeChange = collections.namedtuple('TypeChange', (
    'type', 'count', 'delta', 'nbytes', 'bytes_delta',
    'new', 'new_bytes', 'freed', 'freed_bytes'))
TypeChange.__doc__ = """One type's row of ``SnapshotDiff.growth(sizes=True)``:
its objects in the new snapshot (``count``, taking ``nbytes`` shallow
bytes) and the change since the old one (``delta``, ``bytes_delta``);
``new``/``new_bytes``: objects only the new snapshot has (by address and
type), ``freed``/``freed_bytes``: objects only the old one had."""
