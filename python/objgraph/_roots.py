"""Roots named by kind: what holds each object the heap graph cannot
explain.

A *root* is a node whose reference count exceeds the references the graph
holds to it.  This module says what holds it, as a :class:`Root`:

- ``'module'``: a module, or a module's ``__dict__`` (its globals; from
  CPython 3.11 on, the running frames that reference a module's globals
  are invisible to the collector, so a module's dict is itself a root);
- ``'class'``: a class, or a class's ``__dict__`` (its attributes);
- ``'thread'``: a local variable of a function running on a thread:
  a running function's locals are not visible to the collector (3.10
  does not track the frame of a running function; from 3.11 on its
  locals are not in an object at all), so an object held only by a local
  is a root;
- ``'interpreter'``: the interpreter's own tables (``sys.modules``,
  ``builtins``) and, from 3.12 on, immortal objects (interned strings,
  small ints, static types...);
- ``'c'``: references from C code the collector cannot see (an
  extension's static variable, a reference leaked by C), with their
  number: the refcount excess.

Thread stacks are read when the snapshot is taken, just before the heap
is frozen (:func:`thread_stacks`, called by ``take()``): every thread's
frames from ``sys._current_frames()``, each frame's bound locals read in
place (``_heapgraph.frame_locals``: on 3.11 and 3.12 ``frame.f_locals``
would make the frame keep a dict of its locals' values, which would
outlive the variables), thread names from ``threading.enumerate()``.
Reading them before the capture rather than after reads them as the
capture finds them: the capture lets other threads run once it has read
the heap, and while it waits for another thread's collection.  The frame
objects the calling thread's reading makes, and the two objects the
records go in, are left out (``take()``'s exclude): they are never
suspects, in this snapshot or the next.  Other threads' frame objects
are let go before the capture (see :func:`thread_stacks`).  The records
refer to no other object (addresses and line numbers go in an array,
names in one string).  Another thread may run between the two (the
interpreter switches threads every few milliseconds): a local rebound in
that instant names nothing, since a root is matched by address and type.
Only the addresses and names are kept, never the values.
"""

import builtins
import os
import sys
import threading
from array import array

from . import _heapgraph

__all__ = ['Root']

_CLASS_TYPES = frozenset(('type', 'ABCMeta', 'EnumType', 'EnumMeta'))
_SATURATED = 0xFFFFFFFF
_TYPE_IS_MODULE = 1 << 1  # capture.h: HG_TYPE_IS_MODULE


class Root:
    """One root of ``Snapshot.roots(named=True)``, and of a retention path
    (``RetentionPath.root``): an object referenced from outside the
    snapshot's graph, and what holds it.

    ``kind``: ``'module'``, ``'class'``, ``'thread'``, ``'interpreter'``
    or ``'c'`` (see :mod:`objgraph`'s leak-hunt guide); ``description``:
    e.g. ``'module app'``, ``'class app.Cache'``, ``"thread 'worker-1',
    run() at app.py:12, local 'jobs'"``, ``'sys.modules'``,
    ``'C code: +1 reference'``; ``object``: the root (its address on a
    detached or loaded snapshot); ``refcount_excess``: its references from
    outside the graph (None for an immortal object, or a count stored
    saturated).  Thread roots also have ``thread``, ``function``,
    ``filename``, ``lineno`` and ``variable``; they are None for the other
    kinds.

    A snapshot loaded from a file names its roots as the snapshot saved
    did: the file records the thread roots, the interpreter's tables and
    every class's module (its notes, docs/snapshot-format.rst).  A file
    written before notes existed describes a root a thread held by its
    kind only, ``'c'``, with its excess.
    """

    __slots__ = ('kind', 'description', 'object', 'refcount_excess',
                 'thread', 'function', 'filename', 'lineno', 'variable')

    def __init__(self, kind, description, obj, refcount_excess,
                 thread=None, function=None, filename=None, lineno=None,
                 variable=None):
        self.kind = kind
        self.description = description
        self.object = obj
        self.refcount_excess = refcount_excess
        self.thread = thread
        self.function = function
        self.filename = filename
        self.lineno = lineno
        self.variable = variable

    def __repr__(self):
        return '<Root %s: %s>' % (self.kind, self.description)

    def __str__(self):
        return self.description


# -- thread stacks -----------------------------------------------------------

def thread_stacks():
    """``(stacks, made)``.  ``stacks``: ``(numbers, text)``, what every
    running function's local variables hold on every thread, innermost
    frames first: local i holds the object at address ``numbers[3 * i]``,
    at line ``numbers[3 * i + 1]`` of a function running on the thread
    whose ident is ``numbers[3 * i + 2]``; ``text``, split at NUL
    characters, gives five fields per local: the object's short type name,
    the thread's name, the function's, its file's and the variable's.
    Two new objects and no reference to any other: an object the records
    referred to would become a node of the snapshots that keep them (code
    objects and their names are no nodes otherwise).  ``made``: the frame
    objects of the calling thread made to read them, for the capture to
    leave out (with the two containers); the caller drops it before it
    returns (a frame object still referenced when its function returns
    keeps the function's locals).

    Other threads' frame objects are dropped here, before the capture:
    the capture lets other threads run (while it waits for another
    thread's collection, and once the heap is read), and a function that
    returned while its frame object was held would leave its locals to the
    frame object -- alive until dropped, and past a collection that was
    finalizing them.  They stay attached to their running frames, ordinary
    objects of the heap (roots that refer to nothing), freed when their
    functions return.

    Read in place by ``_heapgraph.frame_locals`` (native captures, and
    3.10, where a running function's frame object is not tracked by the
    collector either: what its locals hold are roots too), else by 3.13's
    ``frame.f_locals``, which changes nothing; empty on 3.11 and 3.12
    builds without the native capture (no way to read a frame's locals
    without changing it)."""
    numbers, fields = array('Q'), []
    read = getattr(_heapgraph, 'frame_locals', None)
    if read is None:
        if sys.version_info < (3, 13):
            return (numbers, ''), ()

        def read(frame):
            return list(frame.f_locals.items())
    names = {t.ident: t.name for t in threading.enumerate()}
    made = []
    # from 3.11 on, frame objects are made when asked for (and are left
    # out); 3.10's are the running frames themselves, which hold the
    # locals: left out, they would hide what the locals hold
    made_here = sys.version_info >= (3, 11)
    own = os.path.dirname(__file__)
    me = threading.get_ident()
    for ident, frame in sys._current_frames().items():
        thread = names.get(ident, 'thread %d' % ident)
        if ident == me:
            # not this function's own frame: made would keep it, and it
            # would keep made (its frame object owns its locals once it
            # returns)
            frame = frame.f_back
        while frame is not None:
            if ident == me and made_here:
                made.append(frame)
            code = frame.f_code
            if os.path.dirname(code.co_filename) != own:  # never objgraph's
                _record(numbers, fields, read, frame, ident, thread)
            frame = frame.f_back
    text = '\0'.join(str(f).replace('\0', ' ') for f in fields)
    return (numbers, text), made


def _record(numbers, fields, read, frame, ident, thread):
    """Add frame's locals (a function of its own: the values it meets are
    released when it returns, before the capture)."""
    try:
        pairs = read(frame)
    except Exception:  # a frame that went away, a proxy that failed
        return
    code = frame.f_code
    line = frame.f_lineno or 0
    for name, value in pairs:
        numbers.extend((id(value), line, ident))
        fields.extend((_short_name(type(value)), thread, code.co_name,
                       code.co_filename, name))


def _stack_index(stacks):
    """{address: [short type name, thread, function, file, line,
    variable, locals holding it]} from thread_stacks' stacks, the
    innermost frame's for an object several locals hold."""
    index = {}
    if stacks and stacks[1]:
        numbers, fields = stacks[0], stacks[1].split('\0')
        for i in range(len(numbers) // 3):
            rec = index.get(numbers[3 * i])
            if rec is None:
                cls, thread, function, filename, variable = \
                    fields[5 * i:5 * i + 5]
                index[numbers[3 * i]] = [cls, thread, function, filename,
                                         numbers[3 * i + 1], variable, 1]
            else:
                rec[6] += 1
    return index


# -- naming roots ------------------------------------------------------------

def _short_name(cls):
    """type(o).__name__ as the capture records it, never raising."""
    try:
        return type.__dict__['__name__'].__get__(cls)
    except Exception:
        return None


def _interpreter_tables():
    """{address: name} of the interpreter's own tables."""
    return {id(sys.modules): 'sys.modules', id(builtins.__dict__): 'builtins'}


def _thread_text(thread, function, filename, line, variable):
    return "thread %r, %s() at %s:%d, local %r" % (
        thread, function, os.path.basename(filename), line, variable)


def _read_notes(g):
    """{node: fields} of a loaded file's notes (none: {})."""
    ids, texts = g.notes()
    nodes = array('I')
    nodes.frombytes(ids)
    return {v: text.split('\0') for v, text in zip(nodes, texts)}


class Namer:
    """Names the roots of one snapshot: ``root(v)`` gives node ``v``'s
    :class:`Root`, ``key(v)`` what tells roots apart in retention paths
    (kind and description, less a C root's count), each computed once.
    Objects are looked up only for tracked roots and their owners, in
    batches (a detached snapshot walks the collector's lists per batch)."""

    def __init__(self, snap):
        self.snap = snap
        self.g = snap._g
        self.live = snap.capture_kind is not None  # not loaded from a file
        self.stacks = getattr(snap, '_stacks', None)
        self.stack_index = _stack_index(self.stacks)
        self.tables = _interpreter_tables() if self.live else {}
        self.short = snap._type_names(True)
        try:
            flags = self.g.type_flags()
        except Exception:  # a graph that records none
            flags = [0] * len(self.short)
        self.module_type = [bool(f & _TYPE_IS_MODULE) or name == 'module'
                            for f, name in zip(flags, self.short)]
        self.imin = snap._immortal_min()
        # a loaded file's notes: what the capture knew of its roots
        self.notes = {} if self.live else _read_notes(self.g)
        self._objects = {}
        self._names = {}
        self._roots = {}

    def _fetch(self, ids):
        """Live objects of tracked nodes into the cache (None when gone)."""
        ids = [v for v in ids if v not in self._objects
               and v < self.g.n_tracked]
        if ids and self.live and not self.g.closed:
            try:
                objs = self.g.objects(ids)
            except Exception:
                objs = [None] * len(ids)
        else:
            objs = [None] * len(ids)
        self._objects.update(zip(ids, objs))

    def prefetch(self, ids):
        """Look up at once the objects naming roots ids will need: the
        modules and classes among them, and those whose __dict__ they
        are."""
        self._fetch([u for u in map(self.namespace, ids) if u is not None])

    def _object(self, v):
        self._fetch([v])
        return self._objects.get(v)

    def _label(self, v):
        """A module's or class's name recorded in a loaded file, or None."""
        node = getattr(self.snap, 'node', None)
        try:
            return None if node is None else node(v).label
        except Exception:
            return None

    def _name(self, v, kind):
        """'app' for a module node, 'app.Cache' for a class node."""
        obj = self._object(v)
        try:
            if kind == 'module' and isinstance(obj, type(sys)):
                return str(object.__getattribute__(obj, '__dict__')
                           .get('__name__', '?'))
            if kind == 'class' and isinstance(obj, type):
                module = type.__dict__['__dict__'].__get__(obj).get(
                    '__module__')
                qual = type.__dict__['__qualname__'].__get__(obj)
                return qual if module in (None, 'builtins') else \
                    '%s.%s' % (module, qual)
        except Exception:  # a hostile __dict__: the kind only
            return '?'
        note = self.notes.get(v)
        if note is not None and note[0] == kind:
            return note[1]
        return self._label(v) or '?'

    def _immortal(self, refcnt):
        return self.imin is not None and refcnt >= self.imin

    def _is_namespace_type(self, t):
        return self.module_type[t] or self.short[t] in _CLASS_TYPES

    def _dict_of(self, u):
        """The node of module or class u's __dict__, or None: a module's
        traversal visits its __dict__ last (after its C state's), a
        class's visits no other dict."""
        g = self.g
        dicts = [w for w in g.referents(u)
                 if self.short[g.node(w)[1]] == 'dict']
        if not dicts:
            return None
        return dicts[-1] if self.module_type[g.node(u)[1]] else dicts[0]

    def _owner(self, v):
        """(kind, owner node) when dict node v is a module's or a class's
        __dict__, else None."""
        g = self.g
        for u in g.referrers(v):
            t = g.node(u)[1]
            if self._is_namespace_type(t) and self._dict_of(u) == v:
                return ('module' if self.module_type[t] else 'class'), u
        return None

    def namespace(self, v):
        """Node v itself when it is a module or a class, its owner when it
        is a module's or a class's __dict__, else None."""
        t = self.g.node(v)[1]
        if self._is_namespace_type(t):
            return v
        if self.short[t] == 'dict':
            owner = self._owner(v)
            return None if owner is None else owner[1]
        return None

    def _classify(self, v):
        """(kind, description, thread details or None) of root v."""
        g = self.g
        addr, t, _size, refcnt, _flags = g.node(v)
        short = self.short[t]
        table = self.tables.get(addr)
        if table is not None:
            return 'interpreter', table, None
        note = self.notes.get(v)
        if note is not None and note[0] == 'interpreter':
            return 'interpreter', note[1], None
        if note is not None and note[0] == 'thread' and len(note) == 6:
            thread, function, filename, line, variable = note[1:]
            return 'thread', _thread_text(thread, function, filename,
                                          int(line), variable), \
                (thread, function, filename, int(line), variable)
        rec = self.stack_index.get(addr)
        if rec is not None and rec[0] == short and not self._immortal(
                refcnt) and refcnt - g.in_degree(v) <= rec[6]:
            # every reference from outside the graph can be a local's:
            # None or a str that C code holds too is no thread's root
            _, thread, function, filename, line, variable, _ = rec
            return 'thread', _thread_text(thread, function, filename, line,
                                          variable), tuple(rec[1:6])
        if self.module_type[t]:
            return 'module', 'module %s' % self._name(v, 'module'), None
        if short in _CLASS_TYPES:
            return 'class', 'class %s' % self._name(v, 'class'), None
        if short == 'dict':
            owner = self._owner(v)
            if owner is not None:
                kind, u = owner
                return kind, '%s %s' % (kind, self._name(u, kind)), None
        if self._immortal(refcnt):
            return 'interpreter', 'immortal %s' % short, None
        if refcnt == _SATURATED:
            return 'c', 'C code: references uncounted (saturated)', None
        excess = refcnt - g.in_degree(v)
        return 'c', 'C code: +%d reference%s' % (
            excess, '' if excess == 1 else 's'), None

    def _named(self, v):
        found = self._names.get(v)
        if found is None:
            found = self._names[v] = self._classify(v)
        return found

    def key(self, v):
        """What tells root v apart in retention paths: the module or
        class it is or whose __dict__ it is, else its kind and description
        (a C root's count left out).  Names no module or class: no object
        is looked up."""
        owner = self.namespace(v)
        if owner is not None:
            return ('node', owner)
        kind, text, _ = self._named(v)
        return (kind,) if kind == 'c' else (kind, text)

    def file_notes(self):
        """What a file saved from this snapshot records of its roots, that
        a reader cannot tell from the graph (docs/snapshot-format.rst,
        "notes"): ``(node ids as uint32 bytes, texts)`` -- the roots
        thread locals and the interpreter's tables hold, and the module
        of every class.  A loaded snapshot's own notes, saved again."""
        if not self.live:
            return self.g.notes()
        g = self.g
        notes = {}
        addrs = list(self.stack_index) + list(self.tables)
        roots = array('I')
        roots.frombytes(g.roots(False))
        roots = set(roots)
        for v in g.find(addrs) if addrs else ():
            if v >= 0 and v in roots and v not in notes:
                kind, text, details = self._named(v)
                if kind == 'thread':
                    thread, function, filename, line, variable = details
                    notes[v] = '\0'.join(('thread', thread, function,
                                          filename, str(line), variable))
                elif kind == 'interpreter' and self.tables.get(
                        g.node(v)[0]) == text:
                    notes[v] = 'interpreter\0' + text
        classes = [u for u, owner in self.namespaces().items()
                   if u == owner and not self.module_type[g.node(u)[1]]]
        self._fetch(classes)
        for u in classes:
            name = self._name(u, 'class')
            if name != '?':
                notes[u] = 'class\0' + name
        ids = sorted(notes)
        return array('I', ids).tobytes(), [notes[v] for v in ids]

    def namespaces(self):
        """{node: owner} for every module and class (its own owner) and
        their __dict__s (owned by them)."""
        g = self.g
        tmask = bytes(map(self._is_namespace_type, range(len(self.short))))
        found = {}
        ids = array('I')
        ids.frombytes(g.select(None, tmask))
        for u in ids:
            found[u] = u
            d = self._dict_of(u)
            if d is not None:
                found.setdefault(d, u)
        return found

    def path_roots(self, paths):
        """The :class:`Root` each retention path (node ids, root first)
        names: the module or class whose globals or attributes hold the
        rest -- the last on the path, through its __dict__ or itself (the
        modules in ``sys.modules`` are the roots objgraph users know), named
        as such even when a thread's local holds it too -- or else the
        path's root: a thread's local variable, the interpreter, C code.
        The objects needed are looked up at once (one walk of the
        collector's lists on a detached snapshot)."""
        holders = []
        for path in paths:
            holder = (path[0], False)
            for v in reversed(path):
                owner = self.namespace(v)
                if owner is not None:
                    holder = (owner, True)
                    break
            holders.append(holder)
        self._fetch([v for v, _ in holders])
        return [self.root(v, namespace) for v, namespace in holders]

    def root(self, v, namespace=False):
        """Root v's :class:`Root`; with ``namespace``, v being a module or
        a class, named as one whatever holds it."""
        found = self._roots.get((v, namespace))
        if found is None:
            if namespace:
                kind = 'module' if self.module_type[
                    self.g.node(v)[1]] else 'class'
                kind, text, details = kind, '%s %s' % (
                    kind, self._name(v, kind)), None
            else:
                kind, text, details = self._named(v)
            _, _, _, refcnt, _ = self.g.node(v)
            immortal = self.imin is not None and refcnt >= self.imin
            excess = None if immortal or refcnt == _SATURATED else \
                refcnt - self.g.in_degree(v)
            found = self._roots[v, namespace] = Root(
                kind, text, self.snap._hand_back([v])[0], excess,
                *(details or ()))
        return found
