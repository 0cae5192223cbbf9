"""Snapshot files: :meth:`Snapshot.save` and :func:`objgraph.load`.

A saved snapshot holds the frozen graph -- every node's address, type,
shallow size, reference count and flags, every reference, the type table
-- plus short labels (module names, class and function qualified names)
and the capture's figures.  The format is described in
``docs/snapshot-format.rst``; the engine writes it atomically (a temporary
file renamed over the target, which must be a regular file or nothing yet)
and reads it back into memory of its own -- or maps it, when asked --
after checking every byte.

A loaded snapshot is detached from any process: it answers every question
that needs no live object (type statistics, counts, sizes, leaking objects
as node ids, the leak analyses) and refuses, with a clear ``ValueError``,
the ones that return objects.
"""

import collections
import os
import platform
import time
from array import array

from . import _draw, _heapgraph
from ._errors import SnapshotError
from ._leaks import (
    fixed_part,
    label_of,
    path_label,
    path_objects,
    tracked_ids,
)
from ._names import check_typename, plural
from ._roots import Namer
from ._snapshot import Snapshot
from ._snapshot_base import BaseSnapshot, id_array, writers

NodeInfo = collections.namedtuple(
    'NodeInfo', 'id addr type size refcnt label')
NodeInfo.__doc__ = """One node of a snapshot: its id, address (``id()`` at
capture time), type name, shallow size, reference count at capture time
and label (module, class or function name; None when not stored)."""

CLASS_TYPES = frozenset(('type', 'ABCMeta', 'EnumType', 'EnumMeta'))
_LABEL_TYPES = CLASS_TYPES | {'module', 'function',
                               'builtin_function_or_method'}
#: The first format version whose edge labels are whole signature parts
#: ("Holder.cache", "dict[int]"); versions 1 and 2 hold dict keys only.
_PARTS_VERSION = 3
_NO_EDGE = (1 << 64) - 1  # find_edges: no such reference


def _labels(snap):
    """The file's labels: ``(node ids, texts)`` -- the names of modules,
    classes and functions (:func:`label_of`) -- and ``(reference
    indices, texts)``: for references on the shortest paths from the
    roots, the signature part of their source (:func:`_leaks.path_label`:
    ``Holder.cache``, ``dict['h']``, ``dict[int]``) where it differs from
    what the reader derives from the node labels alone
    (:func:`_leaks.fixed_part`); as bytes of ascending ids and lists of
    str.

    Labelled: every reference on the example path of each retention-path
    group (the paths :meth:`Snapshot.retention_paths` prints for a type
    name, which ``objgraph paths``, ``suspects``, ``render`` and the
    canary show), so that a loaded file prints what the snapshot printed
    when saved.  (The paths of other sets of objects, given by address,
    print labels only where they meet those.)  The objects are looked up
    once, together (a detached snapshot walks the heap for them); those
    gone, or changed since the capture, give no label.
    """
    g = snap._g
    info = g.file_info()
    if info is not None:
        if info['version'] >= _PARTS_VERSION:
            return g.labels(), g.edge_labels()[:2]
        return g.labels(), _upgraded_edge_labels(snap)
    names = g.type_names(True)
    tflags = g.type_flags()
    node_ids = list(id_array(g.select(None, bytes(name in _LABEL_TYPES
                                              for name in names))))
    paths = _example_paths(snap)
    path_ids = tracked_ids(g, paths)
    try:
        objs = g.objects(node_ids + path_ids)
    except ValueError:  # a closed pinned snapshot: no objects any more
        return (b'', []), (b'', [])
    labels = {}
    for v, o in zip(node_ids, objs):
        label = None if o is None else label_of(o)
        if label is not None:
            labels[v] = label
    texts = {}
    chains = path_objects(g, paths, objs[len(node_ids):])
    del objs
    pairs, seen = {}, set()
    for path, chain in zip(paths, chains):
        for v, o in zip(path, chain):
            if v not in seen:
                seen.add(v)
                label = None if o is None else label_of(o)
                if label is not None:
                    labels.setdefault(v, label)
        for v, o, nxt in zip(path, chain, path[1:]):
            if (v, nxt) not in pairs:
                t = g.node(v)[1]
                part = path_label(o, g.node(nxt)[0], names[t])
                if part != fixed_part(names[t], labels.get(v), tflags[t]):
                    pairs[v, nxt] = part
    del chains
    if pairs:
        edges = array('Q')
        edges.frombytes(g.find_edges(array('I', [u for u, _ in pairs]),
                                     array('I', [t for _, t in pairs])))
        for e, part in zip(edges, pairs.values()):
            if e != _NO_EDGE:
                texts[e] = part
    ids = sorted(labels)
    edges = sorted(texts)
    return ((array('I', ids).tobytes(), [labels[v] for v in ids]),
            (array('Q', edges).tobytes(), [texts[e] for e in edges]))


def _example_paths(snap):
    """The example path (node ids, root first) of every retention-path
    group of ``snap``: one search over every node the leak analyses look
    at, whose groups and examples are those of any type's
    :meth:`Snapshot.retention_paths` (a group holds one type; its example
    is its smallest id)."""
    g = snap._g
    targets = g.select(snap._analysis_mask(), b'\x01' * len(g.type_flags()))
    groups, _, _ = g.retention_groups(targets, 0, retained=False)
    return [g.path_to_root(example) for _, _, example in groups]


def _upgraded_edge_labels(snap):
    """A version 1 or 2 file's edge labels as version 3 writes them: the
    repr of a dict's str key, ``'h'``, becomes the whole part,
    ``dict['h']``."""
    g = snap._g
    edges, texts, sources, _ = g.edge_labels()
    names = snap._type_names(True)
    return edges, ['%s[%s]' % (names[g.node(u)[1]], key)
                   for u, key in zip(id_array(sources), texts)]


def _runtime():
    return '%s %s' % (platform.python_implementation(),
                      platform.python_version())


def save(snap, path):
    """Write ``snap`` to ``path``; see :meth:`Snapshot.save`.

    ``path`` must name a regular file (replaced atomically) or nothing
    yet; a symbolic link to a regular file is kept and the file it leads
    to replaced.  A path naming anything else -- a device such as
    ``/dev/null``, a FIFO, a socket, a directory, a link to one of those,
    a dangling link -- raises :class:`SnapshotError` and is left as it
    is."""
    from . import __version__
    path = os.fspath(path)
    g = snap._g
    info = g.file_info()
    (label_ids, labels), (edge_ids, edge_labels) = _labels(snap)
    runtime = info['runtime'] if info else _runtime()
    created = info['created'] if info else getattr(snap, '_created', None)
    if created is None:
        created = time.time()
    try:
        notes = Namer(snap).file_notes()
    except Exception:
        # a class whose name raised at capture (its error is raised where
        # names are used): the notes are optional, the file goes without
        notes = (b'', [])
    try:
        g.save(path, label_ids, labels, runtime,
               'objgraph %s' % __version__, created, edge_ids, edge_labels,
               *notes)
    except _heapgraph.FileError as e:
        reason = str(e)
        raise SnapshotError('cannot save snapshot to %r: %s' % (path, reason),
                            path, reason) from None


def load(path, mmap=False):
    """Load a snapshot file written by :meth:`Snapshot.save`.

    The file is read into memory the snapshot owns (counted in its
    ``nbytes``) and every byte is checked first (sizes, checksums,
    references); from then on the snapshot never looks at the file again,
    so deleting, truncating or rewriting it cannot harm the process.  A
    file another program changes while it is being read (rewrites in
    place, truncates) raises :class:`SnapshotError`; a load never gives a
    mix of two versions.

    ``mmap=True`` maps the file instead: no copy, so a large file opens
    faster and its pages are shared with the system's file cache.  The
    file must then stay as it is while the snapshot lives: truncated, the
    process is killed by SIGBUS at the next query; overwritten in place
    (``cp new.hgsnap old.hgsnap``, an editor), queries read the new bytes
    unchecked and may crash it (SIGSEGV).  Replacing the file by a rename
    (as :meth:`Snapshot.save` does) is safe.  Use it for files nothing
    else writes.

    Returns a detached
    :class:`Snapshot` (a :class:`LoadedSnapshot`) that answers the
    questions that need no live object: ``len``, ``num_edges``,
    ``nbytes``, :meth:`~Snapshot.count`, :meth:`~Snapshot.typestats`,
    :meth:`~Snapshot.most_common_types`,
    :meth:`~Snapshot.show_most_common_types`,
    :meth:`~LoadedSnapshot.get_leaking_ids`,
    :meth:`~LoadedSnapshot.by_type_ids`, :meth:`~LoadedSnapshot.node`,
    :meth:`~Snapshot.type_graph` and the leak analyses working on node
    ids.  Queries that return live objects raise ``ValueError``.

    Raises :class:`objgraph.SnapshotError` naming the file and the cause
    for a missing, unreadable, truncated, corrupt, foreign or
    wrong-version file, or one changed while it was read.

        >>> snap = objgraph.load('before.hgsnap')
        >>> snap.count('dict')
        4213
    """
    path = os.fspath(path)
    try:
        graph = _heapgraph.load(path, mmap=bool(mmap))
    except _heapgraph.FileError as e:
        reason = str(e)
        raise SnapshotError('cannot load snapshot %r: %s' % (path, reason),
                            path, reason) from None
    return LoadedSnapshot(graph, path)


def _edge_text(typename, part):
    """The label of the reference a path signature's ``part`` describes:
    ``cache`` for ``Holder.cache``, ``['h']`` for ``dict['h']``, ``[int]``,
    ``key``; None for a bare type name, a module or a class."""
    if part == typename or not part.startswith(typename):
        return None
    return part[len(typename):].lstrip('. ') or None


class LoadedSnapshot(BaseSnapshot):
    """A snapshot read back from a file by :func:`objgraph.load`.

    Detached from any process: it holds no objects, so the queries that
    return objects (``by_type``, ``at``, ``at_addrs``,
    ``get_leaking_objects``, ``show_refs``, ``show_backrefs``, and
    ``typestats`` with a ``filter``) raise ``ValueError``; the chain
    searches and the leak analyses take and return addresses.  Their
    id-returning variants are :meth:`get_leaking_ids` and
    :meth:`by_type_ids`; :meth:`node` and
    :meth:`node_at` describe one node; :meth:`show_chain` draws chains of
    addresses, such as a retention path's ``example``.
    """

    def __init__(self, graph, path):
        info = graph.file_info()
        super().__init__(graph, info['runtime'])
        self.path = path
        self._info = info
        self._labels = None
        self._keys = None

    def __repr__(self):
        return '<objgraph.Snapshot %s, %s, loaded from %r%s>' % (
            plural(len(self._g), 'node'), plural(self._g.num_edges, 'edge'),
            self.path,
            self._saturated_text())

    @property
    def runtime(self):
        """What the captured program ran on, e.g. ``'CPython 3.11.2'``."""
        return self._info['runtime']

    @property
    def python_version(self):
        """The captured program's Python version, e.g. ``'3.11.2'``."""
        return self._info['runtime'].rpartition(' ')[2]

    @property
    def producer(self):
        """The objgraph that wrote the file, e.g. ``'objgraph 4.0.0'``."""
        return self._info['producer']

    @property
    def created(self):
        """When the snapshot was taken (Unix time)."""
        return self._info['created']

    @property
    def file_size(self):
        """Bytes of the file (held in memory: read, or mapped)."""
        return self._info['nbytes']

    @property
    def mapped(self):
        """True when loaded with ``mmap=True``: the snapshot maps its
        file instead of holding a copy (see :func:`objgraph.load`)."""
        return self._info['mapped']

    def get_leaking_ids(self):
        """Node ids of the objects no other object refers to: what
        :meth:`Snapshot.get_leaking_objects` returns as objects, as ids
        (cyclic garbage left out).  Describe them with :meth:`node`."""
        live = self._mask(live=True)
        return list(id_array(self._g.zero_in_degree(live, live)))

    def by_type_ids(self, typename):
        """Node ids of the tracked objects with a given class name
        (optionally fully qualified), in id order."""
        check_typename(typename)
        return list(id_array(self._g.select(None, self._type_mask(typename))))

    def _path_parts(self, paths):
        """The paths' signatures from the labels the file records: what
        the snapshot printed when it was saved (format version 3; files
        of versions 1 and 2 record dict keys, module and class names
        only)."""
        g = self._g
        if self._keys is None:
            _, texts, sources, targets = g.edge_labels()
            self._keys = {}
            for u, t, text in zip(id_array(sources), id_array(targets), texts):
                self._keys.setdefault((u, t), text)
        names = self._type_names(True)
        tflags = g.type_flags()
        parts_version = self._info['version'] >= _PARTS_VERSION
        signatures = []
        for path in paths:
            signature = []
            for v, nxt in zip(path, path[1:] + [None]):
                info = self.node(v)
                t = g.node(v)[1]
                text = self._keys.get((v, nxt))
                if parts_version:
                    signature.append(text if text is not None else
                                     fixed_part(names[t], info.label,
                                                 tflags[t]))
                elif info.label and info.type == 'module':
                    signature.append('module %s' % info.label)
                elif info.label and info.type in CLASS_TYPES:
                    signature.append('class %s' % info.label)
                elif text is not None:
                    signature.append('%s[%s]' % (info.type, text))
                else:
                    signature.append(info.type)
            signatures.append(tuple(signature))
        return signatures

    def node(self, v):
        """A :class:`NodeInfo` for node id ``v``."""
        addr, t, size, refcnt, _flags = self._g.node(v)
        if self._labels is None:
            ids, texts = self._g.labels()
            self._labels = dict(zip(id_array(ids), texts))
        return NodeInfo(v, addr, self._type_names(True)[t], size, refcnt,
                        self._labels.get(v))

    def node_at(self, addr):
        """A :class:`NodeInfo` for the node whose address (``id()`` at
        capture time) is ``addr``, or None if there is none.  The
        ``example`` of a :meth:`~Snapshot.retention_paths` group lists
        such addresses."""
        if not isinstance(addr, int):
            raise TypeError('addr must be an int (an address: id() at '
                            'capture time), not %s' % type(addr).__name__)
        v = self._g.find((addr,))[0]
        return None if v < 0 else self.node(v)

    def show_chain(self, *chains, filename=None, output=None):
        """Draw chains of addresses of this snapshot's nodes, root first:
        the ``example`` of a :meth:`~Snapshot.retention_paths` group.

        Each node is a box giving its type, label (module, class or
        function name) and shallow size; each reference between
        consecutive nodes an arrow, labelled with the attribute or dict
        key its path signature names (``cache``, ``['h']``, ``[int]``,
        as :meth:`~Snapshot.retention_paths` prints them).  ``filename``
        and ``output`` work as
        for :func:`objgraph.show_chain`.  An address that is not a node of
        this snapshot raises ValueError.

            >>> group = snap.retention_paths('Request', limit=1)[0]
            >>> snap.show_chain(group.example, filename='leak.svg')
            Graph written to ....dot (5 nodes)
            Image generated as leak.svg
        """
        described = []
        for chain in chains:
            infos = []
            for addr in chain:
                info = self.node_at(addr)
                if info is None:
                    raise ValueError('%r is not the address of a node of '
                                     'the snapshot loaded from %r'
                                     % (addr, self.path))
                infos.append(info)
            parts = self._path_parts([[info.id for info in infos]])[0]
            nodes = []
            for info, part in zip(infos, parts):
                label = '%s %s' % (info.type, info.label) \
                    if info.label else info.type
                nodes.append((info.addr, '%s\n%d bytes' % (label, info.size),
                              info.type == 'module',
                              _edge_text(info.type, part)))
            described.append(nodes)
        return _draw.show_node_chains(described, filename=filename,
                                      output=output)

    def find_ref_chain(self, obj, predicate, max_depth=20, extra_ignore=()):
        """As :meth:`Snapshot.find_ref_chain`, from an address (a loaded
        snapshot has no objects): ``predicate`` is called with addresses,
        and :meth:`node_at` describes one."""
        self._check_address(obj, 'find_ref_chain')
        return self._find_chain(obj, predicate, False, max_depth,
                                extra_ignore)[::-1]

    def find_backref_chain(self, obj, predicate, max_depth=20,
                           extra_ignore=()):
        """As :meth:`Snapshot.find_backref_chain`, from an address:
        ``predicate`` is called with addresses, e.g. ``lambda a:
        loaded.node_at(a).type == 'module'``."""
        self._check_address(obj, 'find_backref_chain')
        return self._find_chain(obj, predicate, True, max_depth,
                                extra_ignore)

    def _check_address(self, obj, method):
        if type(obj) is not int:
            raise ValueError(
                '%s() on a snapshot loaded from %r takes an address (an '
                'int: id() at capture time), not a %s: it has no live '
                'objects' % (method, self.path, type(obj).__name__))

    # -- what returns objects on a live snapshot ---------------------------
    #
    # Public on every Snapshot; a loaded one has no objects, so each says
    # so and names the queries that answer with node ids instead.

    def _no_objects(self, method):
        return ValueError(
            '%s() returns live objects, and this snapshot was loaded from '
            '%r: it has none.  Use the id-returning queries '
            '(get_leaking_ids, by_type_ids, node) instead.'
            % (method, self.path))

    def by_type(self, typename, objects=None):
        """Not available on a loaded snapshot (raises ValueError): it has
        no live objects.  :meth:`by_type_ids` gives their node ids."""
        raise self._no_objects('by_type')

    def at(self, addr):
        """Not available on a loaded snapshot (raises ValueError): it has
        no live objects.  :meth:`node_at` describes the node at ``addr``."""
        raise self._no_objects('at')

    def at_addrs(self, address_set):
        """Not available on a loaded snapshot (raises ValueError): it has
        no live objects.  :meth:`node_at` describes the node at an
        address."""
        raise self._no_objects('at_addrs')

    def get_leaking_objects(self, objects=None):
        """Not available on a loaded snapshot (raises ValueError): it has
        no live objects.  :meth:`get_leaking_ids` gives their node ids."""
        raise self._no_objects('get_leaking_objects')

    def show_refs(self, objs, *args, **kw):
        """Not available on a loaded snapshot (raises ValueError): it has
        no live objects.  :meth:`show_chain` draws chains of addresses."""
        raise self._no_objects('show_refs')

    def show_backrefs(self, objs, *args, **kw):
        """Not available on a loaded snapshot (raises ValueError): it has
        no live objects.  :meth:`show_chain` draws chains of addresses."""
        raise self._no_objects('show_backrefs')


# A loaded snapshot is a Snapshot to its users (isinstance, the docs): it
# answers every Snapshot method, handing back addresses where a live one
# hands back objects.  It shares Snapshot's base, not its code.
Snapshot.register(LoadedSnapshot)
writers['save'] = save  # Snapshot.save writes through it
