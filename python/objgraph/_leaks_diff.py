"""Snapshot diffs: :class:`SnapshotDiff`, what ``new.diff(old)``
returns -- the types that grew, the objects new and freed, matched across
the snapshots by address and type (an engine kernel, ``Graph.match``)."""

import operator
import sys

from ._leaks_rows import TypeChange
from ._names import check_limit, plural


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
