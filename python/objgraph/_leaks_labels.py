"""Path labels: how each object of a retention path appears in its
signature (``module app``, ``dict['_cache']``, ``Holder.cache``, ``list``).
Read from live objects, for pinned and detached snapshots; a saved file
records what they gave (objgraph._files), which a loaded snapshot reads
back through :func:`fixed_part`."""

import sys

from . import _heapgraph

_MAX_KEY_LABEL = 40  # longest dict key shown in a path signature


def _key_repr(key, limit=_MAX_KEY_LABEL):
    """``repr(key)`` of a str key, at most ``limit`` characters: a longer
    one keeps its start and its closing quote, "'/usr/lib/python3...'"."""
    text = repr(key)
    if len(text) <= limit:
        return text
    return text[:limit - 4] + '...' + text[-1]


# -- path labels ------------------------------------------------------------
#
# One labelling for every kind of snapshot.  A path's signature names each
# node by path_label(object, address of the next node, type name): pinned and
# detached snapshots compute it from live objects (LeakAnalysis._path_parts),
# a saved file records what it gave (objgraph._files._labels: node labels
# from label_of, and the text of every reference whose path_label differs from
# fixed_part), and a loaded snapshot reads that back through fixed_part.

_ModuleType = type(sys)
_TYPE_IS_MODULE = 2  # type flag: a subclass of ModuleType (snapshot-format)
_FUNCTION_TYPES = frozenset(('function', 'builtin_function_or_method'))


def label_of(obj):
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


def fixed_part(typename, label, type_flags):
    """How a node that names itself whatever it holds next appears in a
    path: ``module app`` for a module, ``class app.Cache`` for a class,
    from its label (:func:`label_of`) and its type's flags; its type
    name for anything else."""
    if label is None or typename in _FUNCTION_TYPES:
        return typename
    if type_flags & _TYPE_IS_MODULE:
        return 'module %s' % label
    return 'class %s' % label


def path_objects(g, paths, found=None):
    """The objects of each path's nodes (node ids, root first), None for
    those gone: tracked ones by id (a detached snapshot finds them again
    in the collector's lists, checking their types), untracked ones
    through the previous object's referents.  ``found``: the objects of
    :func:`tracked_ids` already looked up.  No objects at all (a closed
    pinned snapshot, a loaded one): Nones."""
    n_tracked = g.n_tracked
    if found is None:
        try:
            found = g.objects(tracked_ids(g, paths))
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


def tracked_ids(g, paths):
    """The node ids of the paths, one after the other, untracked ones
    replaced by 0 (looked up through their referrer instead)."""
    n_tracked = g.n_tracked
    return [v if v < n_tracked else 0 for path in paths for v in path]


def path_label(obj, nxt, typename):
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
        label = label_of(obj)
        if label is not None:
            return fixed_part(typename, label,
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
