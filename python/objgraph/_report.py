"""The HTML report: one self-contained page of what a series of snapshots
says about a heap, to attach to a bug report or a CI run.

    objgraph.report('report.html', [snap1, snap2, snap3])
    snap.report('report.html', previous=[snap1, snap2])
    objgraph report s1.hgsnap s2.hgsnap s3.hgsnap -o report.html

The page holds a summary of each snapshot, the leak suspects across them
(:func:`objgraph.leak_suspects`, three snapshots or more) with their growth
drawn as small SVG charts, retention paths with their named roots, the
dominator tree of the last snapshot (browsable), its types (sortable), the
diff between the first and the last snapshot, and the top suspect's path
drawn by graphviz (``dot -Tsvg``).  Every figure comes from the snapshot
API; nothing here computes on the graph itself.

Size: the page must stay small on heaps of millions of objects, so every
table is cut to its top rows, and the dominator tree embeds only the
``tree_nodes`` nodes retaining the most bytes (one ``top_retained`` call):
a node's dominator retains more than the node, so those nodes form the top
of the tree, and each keeps its ``_TREE_CHILDREN`` largest children; what
the others retain is one figure per node.  The tree is embedded once, as
JSON, and the page's script builds a node's children only when it is
expanded.  Three files of a 3M-node heap give a page of 100 KiB
(docs/report.rst).

Everything the heap controls -- type names, dict keys, module names, file
names -- is escaped (html.escape in the page, ``\\u003c`` in the JSON).
No network: styles and the script are inline, the drawing is inline SVG.
"""

import contextlib
import datetime
import heapq
import io
import os
import platform
import secrets
import tempfile
from array import array

from ._files import load
from ._leaks import LeakAnalysis, leak_suspects
from ._names import distinct_names, plural
from ._report_page import (
    _diff_html,
    _esc,
    _page,
    _paths_html,
    _summary_html,
    _suspects_html,
    _types_html,
)
from ._snapshot import take
from ._snapshot_base import writers

_TABLE_ROWS = 50      # rows of the type and diff tables
_SUSPECTS = 10        # suspects shown
_PATHS = 3            # retention paths per suspect
_TREE_NODES = 2000    # nodes of the dominator tree embedded
_TREE_CHILDREN = 20   # children kept per node of the tree
_TREE_TOP = 30        # top-level entries of the tree
_TREE_SAMPLED = 400   # children shown below the top nodes, in all
_SAMPLE_SCAN = 200    # referents looked at for them, per node

# -- The figures (shared with the command line) -------------------------------

def type_rows(snap):
    """Every type of ``snap`` as ``(name, objects, shallow bytes, retained
    bytes)`` rows, most retained first, over the objects a root reaches
    (untracked ones included); types sharing a short name are named apart,
    qualified (``appa.Request``)."""
    rows = snap.retained_by_type(None, shortnames=False)
    names = distinct_names(row[0] for row in rows)
    rows = [(names[row[0]], *row[1:]) for row in rows]
    rows.sort(key=lambda r: (-r[3], -r[2], r[0]))
    return rows


def growth_rows(old, new):
    """The types that grew from ``old`` to ``new`` as
    :class:`objgraph.TypeChange` rows (qualified names where short ones
    are shared), largest growth first."""
    rows = new.diff(old).growth(None, shortnames=False, sizes=True)
    names = distinct_names([*(r.type for r in rows),
                            *new.typestats(shortnames=False),
                            *old.typestats(shortnames=False)])
    rows = [r._replace(type=names[r.type]) for r in rows]
    rows.sort(key=lambda r: (-r.delta, -r.bytes_delta, r.type))
    return rows


def _heap_bytes(snap):
    """Shallow bytes of the objects a root reaches."""
    return sum(snap._g.type_bytes(snap._analysis_mask(live=True)))


def _created(snap):
    """When ``snap`` was taken, in UTC."""
    t = getattr(snap, 'created', None)
    if t is None:
        t = snap._created
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def _python(snap):
    """The Python ``snap`` was taken on: a file's runtime, or this one."""
    runtime = getattr(snap, 'runtime', None)
    if runtime:
        return runtime
    return '%s %s' % (platform.python_implementation(),
                      platform.python_version())


def _summary(snaps, names):
    """One dict of figures per snapshot."""
    return [{'name': name, 'python': _python(s), 'created': _created(s),
             'nodes': len(s), 'edges': s.num_edges,
             'heap_bytes': _heap_bytes(s), 'snapshot_bytes': s.nbytes,
             'pause_ms': s.pause_seconds * 1e3}
            for name, s in zip(names, snaps)]


def _paths_doc(groups):
    """RetentionPath groups as dicts: text, signature, root, count,
    retained."""
    return [{'text': g.text(' \u2192 '), 'signature': list(g.signature),
             'root': None if g.root is None else str(g.root),
             'count': g.count, 'retained': g.retained_bytes}
            for g in groups]


def _suspects(snaps, limit, paths):
    """(LeakSuspect list, JSON-like rows); none before 3 snapshots."""
    if len(snaps) < 3:
        return [], []
    found = leak_suspects(snaps, limit=limit, paths=paths)
    found = [s for s in found if s.growth >= 1] or found
    rows = [{'type': s.typename, 'counts': list(s.counts),
             'growth': s.growth, 'retained': list(s.retained_bytes),
             'paths': _paths_doc(s.paths),
             'accumulation': None if s.accumulation is None else
             '%s (%+d references to %s)' % (
                 ' \u2192 '.join(s.accumulation.path),
                 s.accumulation.references, s.accumulation.holds)}
            for s in found]
    return found, rows


# -- The dominator tree -------------------------------------------------------

def _tree(snap, n_nodes):
    """The top of ``snap``'s dominator tree as JSON-ready data: ``top``
    (ids hanging from the virtual root, most retained first) and ``nodes``
    (id -> [type, label, address, shallow, retained, child ids, bytes
    retained by the children left out]).

    The ``n_nodes`` nodes retaining the most are closed under their
    dominators (a dominator retains more, so it is there too but for ties
    of zero-sized objects, which the loop adds); each keeps its
    ``_TREE_CHILDREN`` largest children among them.  A node none of whose
    children made it (a list of a million small objects) shows some of
    them instead, the largest of its first referents that it dominates
    (:func:`_sampled_children`), for ``_TREE_SAMPLED`` such children in
    all, the nodes retaining most served first."""
    g = snap._g
    ids = list(array('I', g.top_retained(snap._analysis_mask(), n_nodes)))
    idom = {}
    todo = ids
    while todo:
        more = []
        for v in todo:
            if v not in idom:
                d = idom[v] = g.idom(v)
                if d >= 0 and d not in idom:
                    more.append(d)
        todo = more
    ids = [v for v, d in idom.items() if d != -2]
    retained = dict(zip(ids, g.retained(ids)))
    children = {}
    for v in ids:
        children.setdefault(idom[v], []).append(v)
    for kids in children.values():
        kids.sort(key=lambda v: (-retained[v], v))
    top = children.get(-1, [])[:_TREE_TOP]
    names = snap._type_names(True)
    nodes = {}
    roots = _root_texts(snap, top)
    budget = _TREE_SAMPLED
    todo = [(-retained[v], v) for v in top]
    heapq.heapify(todo)
    while todo:
        _, v = heapq.heappop(todo)
        addr, t, size, _, _ = g.node(v)
        kids = children.get(v, [])[:_TREE_CHILDREN]
        if not kids and retained[v] > size and budget > 0:
            kids = _sampled_children(g, v, retained)[:budget]
            budget -= len(kids)
        rest = retained[v] - size - sum(retained[u] for u in kids)
        nodes[v] = [names[t], roots.get(v, ''), '%#x' % addr, size,
                    retained[v], kids, max(rest, 0)]
        for u in kids:
            heapq.heappush(todo, (-retained[u], u))
    labels = _labels(snap, list(nodes))
    for v, node in nodes.items():
        node[1] = _node_text(labels.get(v), node[1])
    return {'top': top, 'nodes': nodes}


def _sampled_children(g, v, retained):
    """Up to ``_TREE_CHILDREN`` children of ``v`` in the dominator tree,
    the largest among the first ``_SAMPLE_SCAN`` referents of ``v`` that
    ``v`` dominates (their retained sizes go into ``retained``)."""
    kids = [u for u in g.referents(v)[:_SAMPLE_SCAN] if g.idom(u) == v]
    kids = list(dict.fromkeys(kids))
    retained.update(zip(kids, g.retained(kids)))
    kids.sort(key=lambda u: (-retained[u], u))
    return kids[:_TREE_CHILDREN]


def _labels(snap, ids):
    """Module, class and function names of the nodes that have one (a
    loaded file's labels; a pinned snapshot's objects)."""
    node = getattr(snap, 'node', None)
    if node is not None:
        return {v: node(v).label for v in ids if node(v).label}
    g = snap._g
    if not g.pinned or g.closed:
        return {}
    from ._leaks_labels import label_of
    tracked = [v for v in ids if v < g.n_tracked]
    return {v: label for v, obj in zip(tracked, g.objects(tracked))
            for label in [label_of(obj)] if label}


def _node_text(label, root):
    """A tree node's text beside its type: its label ('app.Cache'), and
    what holds it if it is a root, unless that says the same ('module
    app' for the module app)."""
    if not root or root in ('module %s' % label, 'class %s' % label):
        return label or ''
    return '%sheld by %s' % (label + ', ' if label else '', root)


def _root_texts(snap, ids):
    """What holds each of ``ids`` that is a root: 'module app', "thread
    'worker', ...", ..."""
    from ._roots import Namer
    roots = set(array('I', snap._g.roots(False)))
    namer = Namer(snap)
    found = [v for v in ids if v in roots]
    namer.prefetch(found)
    return {v: namer.root(v).description for v in found}


# -- The drawing --------------------------------------------------------------

def _drawing(snap, group):
    """The retention path ``group`` drawn by graphviz as SVG text (no XML
    prolog), or (None, why not)."""
    from ._draw import draw_chain
    with tempfile.TemporaryDirectory(prefix='objgraph-report-') as tmp:
        svg = os.path.join(tmp, 'path.svg')
        try:
            made, failure = draw_chain(snap, group.example, svg)
        except Exception as e:  # a detached snapshot cannot draw
            return None, '%s: %s' % (type(e).__name__, e)
        if made is None:
            return None, failure
        with open(svg, encoding='utf-8') as f:
            text = f.read()
    start = text.find('<svg')
    return (text[start:], None) if start >= 0 else (None, 'no SVG')


# -- The entry point ----------------------------------------------------------

def report(path, snapshots=None, limit=_SUSPECTS):
    """Write an HTML report on the heap to ``path`` and return ``path``.

    ``snapshots``: :class:`objgraph.Snapshot` objects or snapshot file
    names (written by :meth:`~objgraph.Snapshot.save`), oldest first;
    default: one snapshot of the heap taken now (detached).  The page is
    one self-contained HTML file that needs no network: a summary of each
    snapshot (Python version, nodes, edges, bytes, pause), the leak
    suspects across them (3 snapshots or more; the ``limit`` strongest,
    see :func:`objgraph.leak_suspects`) with their growth charted, their
    retention paths and named roots, the last snapshot's dominator tree
    (click a node to see what it retains), its types (sortable by count,
    shallow and retained bytes), the diff between the first and the last
    snapshot, and the top suspect's path drawn by graphviz.

        >>> objgraph.report('leak.html', ['s1.hgsnap', 's2.hgsnap',
        ...                               's3.hgsnap'])
        'leak.html'

    Raises :class:`objgraph.SnapshotError` for a file that cannot be
    read, OSError naming ``path`` if it cannot be written (an earlier
    file there is left whole), TypeError or ValueError for bad
    arguments.  From a shell: ``objgraph report S1 S2 S3 -o
    leak.html``.
    """
    if snapshots is None:
        return write_report([take(pin=False)], path, limit=limit)
    if isinstance(snapshots, (str, os.PathLike)):
        raise TypeError('report(): snapshots must be a list of snapshots '
                        'or file names, not one %s'
                        % type(snapshots).__name__)
    try:
        given = list(snapshots)
    except TypeError:
        raise TypeError('report(): snapshots must be an iterable of '
                        'Snapshot objects or file names, not %s'
                        % type(snapshots).__name__) from None
    names = [os.fspath(s) if isinstance(s, (str, os.PathLike)) else
             'snapshot %d' % (i + 1) for i, s in enumerate(given)]
    snaps = [load(s) if isinstance(s, (str, os.PathLike)) else s
             for s in given]
    return write_report(snaps, path, names=names, limit=limit)


def write_report(snapshots, path, names=None, limit=_SUSPECTS,
                 tree_nodes=_TREE_NODES):
    """Write the HTML report of ``snapshots`` (oldest first; the last one
    is the one described) to ``path``; return ``path``.  ``names``: what
    to call each snapshot (file names), default 'snapshot 1', ...  Raises
    TypeError or ValueError for bad arguments, OSError if ``path`` cannot
    be written (naming it); an existing file is replaced only once the
    page is complete."""
    try:
        snaps = list(snapshots)
    except TypeError:
        raise TypeError('snapshots must be an iterable of Snapshot, not %s'
                        % type(snapshots).__name__) from None
    if not snaps:
        raise ValueError('report(): no snapshot to report on')
    for s in snaps:
        if not isinstance(s, LeakAnalysis):
            raise TypeError('report(): snapshots must hold Snapshot '
                            'objects, not %s' % type(s).__name__)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError('report(): path must be a file name, not %s'
                        % type(path).__name__)
    path = os.fspath(path)
    names = list(names) if names is not None else [
        'snapshot %d' % (i + 1) for i in range(len(snaps))]
    last = snaps[-1]
    suspects, suspect_rows = _suspects(snaps, limit, _PATHS)
    paths = [(r['type'], p) for r in suspect_rows for p in r['paths']]
    types = type_rows(last)
    top_group = suspects[0].paths[0] if suspects and \
        suspects[0].paths else None
    if not paths:  # no suspect: why the largest types are alive
        for name, _, _, _ in types[:3]:
            groups = last.retention_paths(name, 1)
            paths += [(name, p) for p in _paths_doc(groups)]
            if top_group is None and groups:
                top_group = groups[0]
    diff = growth_rows(snaps[0], last)[:_TABLE_ROWS] if len(snaps) > 1 \
        else None
    tree = _tree(last, tree_nodes)
    if top_group is not None:
        svg, why = _drawing(last, top_group)
        drawing = ('<p>%s</p><div class="drawing">%s</div>' % (
            '<code>%s</code>' % _esc(top_group.text(' \u2192 ')), svg)
            if svg else '<p class="note">Not drawn: %s</p>' % _esc(why))
    else:
        drawing = '<p class="note">No retention path to draw.</p>'
    parts = [
        ('summary', 'Summary', _summary_html(_summary(snaps, names))),
        ('suspects', 'Leak suspects', _suspects_html(suspect_rows,
                                                     len(snaps))),
        ('paths', 'Retention paths', _paths_html(paths)),
        ('drawing', 'Top path, drawn', drawing),
        ('tree', 'Dominator tree',
         '<p class="note">What each object keeps alive alone (its '
         'dominator tree, from the roots down), in %s: the %s retaining '
         'the most.  Expand a node to see what it retains.</p>'
         '<div class="tree" id="domtree"></div>'
         % (_esc(names[-1]), plural(len(tree['nodes']), 'node'))),
        ('types', 'Types', _types_html(types[:_TABLE_ROWS])),
        ('diff', 'Diff, first to last', _diff_html(diff, names)),
    ]
    title = 'objgraph report: %s' % (names[-1] if len(names) == 1 else
                                     '%s \u2192 %s' % (names[0], names[-1]))
    text = _page(title, parts, tree)
    _write(path, text)
    return path


def _write(path, text):
    """Write ``text`` to ``path`` through a temporary file beside it, so
    that a failure leaves an earlier file whole; OSError names ``path``."""
    tmp = None
    try:
        # mode 0666 less the umask, as any file the user writes
        name = '%s.tmp-%s' % (path, secrets.token_hex(4))
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        tmp = name
        with io.open(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise OSError(e.errno, 'cannot write the report: %s'
                      % (e.strerror or e), path) from e


writers['report'] = write_report  # Snapshot.report writes through it
