"""What the ``objgraph`` subcommands share: exit statuses, the user's
mistakes (:class:`UsageError`), progress notes on stderr, text tables and
sizes, loading files, retention paths as JSON and text, and the checks of
file arguments made before any work starts."""

import os
import sys
import time

import objgraph
from objgraph._leaks_rows import path_text
from objgraph._names import human_size, plural

EXIT_OK = 0
EXIT_LEAK = 1
EXIT_ERROR = 2

_IMAGE_FORMATS = ('png', 'svg', 'pdf', 'dot')
_TOP_SORT = {'retained': 3, 'shallow': 2, 'count': 1}


class UsageError(Exception):
    """A mistake of the user's: reported as one line, exit status 2."""


class _Progress:
    """Notes on long steps, one stderr line rewritten in place; silent
    unless stderr is a terminal (so pipes and CI logs stay clean)."""

    def __init__(self):
        stream = sys.stderr
        self.enabled = stream is not None and stream.isatty()
        self.shown = False

    def step(self, text):
        if self.enabled:
            sys.stderr.write('\r\x1b[Kobjgraph: %s...' % text)
            sys.stderr.flush()
            self.shown = True

    def done(self):
        if self.shown:
            sys.stderr.write('\r\x1b[K')
            sys.stderr.flush()
            self.shown = False


# -- Text helpers -------------------------------------------------------------

def _arrow():
    """' → ' where stdout can encode it, ' -> ' otherwise."""
    try:
        '→'.encode(getattr(sys.stdout, 'encoding', None) or 'ascii')
    except (UnicodeEncodeError, LookupError):
        return ' -> '
    return ' → '


_size = human_size


def _objects(n):
    return plural(n, 'object')


def _signed_size(n):
    return '+' + _size(n) if n >= 0 else _size(n)


def _table(header, rows, align=None):
    """Lines of a table.  ``align``: '<' (left) or '>' (right) per column;
    by default the first column left, the others right."""
    if align is None:
        align = '<' + '>' * (len(header) - 1)
    cells = [list(header)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ['  '.join(c.ljust(w) if a == '<' else c.rjust(w)
                      for c, w, a in zip(row, widths, align)).rstrip()
            for row in cells]


# -- Snapshot helpers ---------------------------------------------------------

def _load(path, progress, mmap=False):
    progress.step('loading %s' % path)
    return objgraph.load(path, mmap=mmap)


def _path_nodes(snap, group):
    """The nodes of a retention path group's example on a loaded snapshot:
    one dict (``addr``, ``type``, ``label``, ``size``) each, root first."""
    nodes = []
    for addr in group.example:
        info = snap.node_at(addr)
        nodes.append({'addr': addr, 'type': info.type, 'label': info.label,
                      'size': info.size})
    return nodes


def _path_doc(snap, group):
    """A retention path group as JSON."""
    root = group.root
    return {'signature': list(group.signature), 'count': group.count,
            'retained_bytes': group.retained_bytes,
            'root': None if root is None else {
                'kind': root.kind, 'description': root.description,
                'refcount_excess': root.refcount_excess},
            'path': _path_nodes(snap, group)}


def _path_text(path_doc):
    """The path as its signature -- types, module and class names, and the
    dict keys the file records -- and what holds it (RetentionPath.text)."""
    root = path_doc.get('root')
    return path_text(path_doc['signature'],
                     root and root['description'], _arrow())


def _known_type(snap, typename):
    """Whether any object of the snapshot has this (short or qualified)
    type name."""
    names = set(snap.typestats()) | set(snap.typestats(shortnames=False))
    names.update(row[0] for row in snap.retained_by_type(None))
    return typename in names


def _paths_of(snap, path, typename, limit):
    """retention_paths(typename, limit) on a loaded file; a type the file
    does not hold is a UsageError."""
    groups = snap.retention_paths(typename, limit)
    if not groups and not _known_type(snap, typename):
        raise UsageError('%s holds no object of type %r' % (path, typename))
    return groups


# -- Checks made before any work --------------------------------------------

def _check_distinct(paths):
    """Each file once: the same file twice would make a flat line of a
    growing one."""
    seen = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError('%s is given twice (as %s too): each snapshot '
                             'file once, oldest first' % (path, seen[key]))
        seen[key] = path


def _check_in_order(paths, snaps):
    """The files in the order they were taken, by the creation times they
    record: reversed, a leak would read as shrinking."""
    for (p0, s0), (p1, s1) in zip(zip(paths, snaps), zip(paths[1:],
                                                         snaps[1:])):
        if s1.created < s0.created:
            raise UsageError(
                'the files are not in the order they were taken: %s '
                '(taken %s) is older than %s (taken %s); give them oldest '
                'first' % (p1, _when(s1.created), p0, _when(s0.created)))
        if s1.created == s0.created:
            raise UsageError('%s and %s record the same creation time: the '
                             'same snapshot twice?' % (p0, p1))


def _when(t):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t)) + \
        ('%.3f' % (t % 1))[1:]


def _check_output(path):
    """An image path must name a known format and a directory that
    exists and can be written (graphviz would say so less clearly, and
    only at the end)."""
    ext = os.path.splitext(path)[1][1:].lower()
    if ext not in _IMAGE_FORMATS:
        raise UsageError('cannot tell the image format of %r: name it '
                         '.png, .svg, .pdf or .dot' % path)
    _check_writable(path)


def _check_writable(path):
    """An output path must name a directory that exists and can be
    written, and not be a directory itself."""
    directory = os.path.dirname(path) or os.curdir
    if not os.path.isdir(directory):
        raise UsageError('cannot write %s: no directory %s'
                         % (path, directory))
    if os.path.isdir(path):
        raise UsageError('cannot write %s: it is a directory' % path)
    if not os.access(directory, os.W_OK):
        raise UsageError('cannot write %s: directory %s is not writable'
                         % (path, directory))
