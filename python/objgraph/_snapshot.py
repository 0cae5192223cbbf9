"""Snapshots of this process: objgraph's questions answered from one capture.

:func:`take` captures the heap into a :class:`Snapshot`: a
:class:`~objgraph._snapshot_base.BaseSnapshot` (every query that needs no
live object) that also hands back the captured objects -- ``by_type``,
``at``, ``get_leaking_objects``, chains of objects, drawings.  A snapshot
loaded from a file (objgraph._files) builds on the same base and hands
back addresses instead; it counts as a Snapshot (``isinstance``) all the
same.
"""

import gc
import os
import sys
import weakref
from array import array

from . import _draw, _heapgraph, _roots
from ._errors import SnapshotError
from ._names import (
    check_sizes,
    check_typename,
    is_proper_module,
    plural,
    typename_func,
)
from ._snapshot_base import (
    LIVE_SNAPSHOTS,
    BaseSnapshot,
    id_array,
)

_SATURATED = 0xFFFFFFFF  # a reference count of 2**32 - 1 or more

# Functions giving more of objgraph's own objects for own_objects to
# leave out, registered by the modules that make them (the canary: its
# state while one runs), so that this module imports none of them.
OWN_HOOKS = []

# What a snapshot's state holds that objgraph made (dicts of cached masks
# and counts, type-name lists, the engine's graph), followed this deep.
_OWN_CONTAINERS = (dict, list, tuple, set, bytes, bytearray, array,
                   _heapgraph.Graph)
_OWN_DEPTH = 4


def own_objects():
    """objgraph's own objects in the heap, for a capture to leave out of
    every count and analysis: each live snapshot, its attribute dict, the
    containers in it (cached masks, counts and type-name lists), the
    Python objects the engine's graph holds (its type-name lists), and
    the registry that finds the snapshots.  Without this a loop that keeps
    the previous snapshot while taking the next sees Snapshots, dicts and
    lists grow.

    And what the hooks in ``OWN_HOOKS`` give: a running canary's state.

    Other values in those containers (strings, numbers) are left out only
    when nothing else holds them (the names a capture made, e.g.
    'module.Class', a creation time): a type's own ``__name__`` is the
    program's as much as objgraph's."""
    own = {id(LIVE_SNAPSHOTS): LIVE_SNAPSHOTS}
    held = {}  # id -> [value, references from the containers in own]
    stack = [(LIVE_SNAPSHOTS.__dict__, 0)]
    for snap in list(LIVE_SNAPSHOTS):
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
    for hook in OWN_HOOKS:
        found += hook()
    return found



class Snapshot(BaseSnapshot):
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
        super().__init__(graph)
        self._drawn = {}  # id(obj) -> node id, for objects drawn

    def close(self):
        """Release the references a pinned snapshot holds (idempotent)."""
        self._drawn.clear()
        super().close()

    def __repr__(self):
        return '<objgraph.Snapshot %s, %s, %s%s%s%s>' % (
            plural(len(self._g), 'node'), plural(self._g.num_edges, 'edge'),
            'pinned' if self._g.pinned else 'detached',
            ', closed' if self._g.closed else '',
            ', portable capture' if self.capture_kind == 'portable' else '',
            self._saturated_text())

    def _node_ids(self, objects):
        return self._g.find([id(o) for o in objects])

    # -- objgraph's questions that return objects ---------------------------

    def by_type(self, typename, objects=None):
        """Objects with a given class name, like :func:`objgraph.by_type`."""
        check_typename(typename)
        if objects is not None:
            return by_type_of(typename, objects)
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
        nodes = self._node_ids(objects)
        zero = set(id_array(self._g.zero_in_degree(
            _select_mask(len(self), nodes), live)))
        return [o for o, v in zip(objects, nodes) if v < 0 or v in zero]

    def find_ref_chain(self, obj, predicate, max_depth=20, extra_ignore=()):
        """A shortest chain of references from ``obj`` to an object
        matching ``predicate``, like :func:`objgraph.find_ref_chain`.

        On a detached or loaded snapshot ``obj`` may be an address (what
        :meth:`most_retaining` and the other analyses return there): the
        search then runs over addresses -- ``predicate`` is called with
        each candidate's address, and the chain is one of addresses.
        An address that is no node of the snapshot raises ValueError."""
        return self._search(obj, predicate, False, max_depth,
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
        return self._search(obj, predicate, True, max_depth, extra_ignore)

    def _search(self, obj, predicate, reverse, max_depth, extra_ignore):
        """The chain search, over addresses when ``obj`` is one (see
        :meth:`find_ref_chain`), else over live objects."""
        if self._is_address(obj):
            return self._find_chain(obj, predicate, reverse, max_depth,
                                    extra_ignore)
        return self._find_chain(obj, predicate, reverse, max_depth,
                                extra_ignore, node_of=self._node_of,
                                materialize=self._materialize)

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
        return show_chain_with(self.show_refs, self.show_backrefs, chains, kw)

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


def show_chain_with(show_refs, show_backrefs, chains, kw):
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


def by_type_of(typename, objects):
    name_of = typename_func('.' not in typename)
    return [o for o in objects if name_of(o) == typename]


def compat_snapshot(pin, collect=False, exclude=(), nodes_only=False):
    """A snapshot for one of objgraph 3.x's functions (objgraph._api,
    objgraph._api_graph): objgraph's own objects counted, as objgraph 3.x
    counts its own."""
    return take(pin=pin, collect=collect, exclude=exclude,
                nodes_only=nodes_only, own=False)


def draw(snap, objs, backrefs, kw, root_refs):
    """:meth:`Snapshot.show_backrefs` (``backrefs``) or
    :meth:`Snapshot.show_refs` with the keyword arguments ``kw``, for the
    module-level functions, which say where ``snap`` was captured
    (``root_refs``: see _draw.show_graph)."""
    return snap._show(objs, backrefs, kw, root_refs=root_refs)


def sample_instances(snap, old, typenames, samples):
    """Up to ``samples`` tracked instances of each type name, evenly
    spaced in id order, as live objects (None for one gone since the
    capture): ``[(objects, new)]``, one pair per name.  Sampled among the
    instances new since ``old`` (an earlier snapshot of the process,
    matched by address and type) when there are (``new`` True), else
    among all.  The objects are looked up together: a detached snapshot
    walks the collector's lists once, GIL held, and never dereferences an
    address."""
    g = snap._g
    new_mask = g.match(old._g, snap._mask(), False)
    picks, new = [], []
    for name in typenames:
        try:
            tmask = snap._type_mask(name)
        except ValueError:
            tmask = None
        found = id_array(g.select(new_mask, tmask)) if tmask else []
        new.append(True)
        if not found and tmask:
            found = id_array(g.select(None, tmask))
            new[-1] = False
        step = max(1, len(found) // samples)
        picks.append(list(found[::step][:samples]))
    flat = [v for found in picks for v in found]
    objs = g.objects(flat) if flat else []
    out, at = [], 0
    for found, is_new in zip(picks, new):
        out.append((objs[at:at + len(found)], is_new))
        at += len(found)
    del objs
    return out


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
    ``own``: leave objgraph's own objects out (own_objects); objgraph
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
        exclude = (*exclude, *own_objects())
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
