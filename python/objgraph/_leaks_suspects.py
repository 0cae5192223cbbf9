"""Leak suspects across three or more snapshots:
:func:`leak_suspects`, the types that keep growing, each with its top
retention paths and its accumulation point (:func:`accumulation_point`: the
container on the top path that holds more and more of them)."""

from ._leaks_analysis import LeakAnalysis
from ._leaks_rows import Accumulation, LeakSuspect
from ._names import check_limit


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
    figures = [{row[0]: row for row in s.retained_by_type(None)}
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
        if grows(c) or (name not in carriers and (grows(shallow) or
                                                   grows(r))):
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
                        accumulation_point(first, last, name, new))
            for name, c, r in rows]


def accumulation_point(first, last, name, new):
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


def grows(values):
    """Never drops, and grows after the first interval (leak_suspects)."""
    return values[-1] > values[1] and all(
        a <= b for a, b in zip(values, values[1:]))
