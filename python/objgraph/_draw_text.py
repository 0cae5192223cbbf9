"""The text of one node or edge of an object drawing, byte for byte what
objgraph 3.7.0 writes: node ids, labels (type, short repr, reference
count, extra info), colours, edge labels (attribute names, dict keys), and
the quoting of all of them; and the reference counts objgraph 3.7.0's own
frames add to the objects it draws (see objgraph._draw.show_graph)."""

import os
import re
import sys
import types

# -- Text of one node or edge ----------------------------------------------

def _isinstance(obj, classinfo):
    """isinstance() that ignores ``__class__`` (which mocks may fake)."""
    return issubclass(type(obj), classinfo)


def _quote(text):
    """Escape ``text`` for a double-quoted DOT string.

    A NUL becomes a literal backslash, backslash, zero, as in objgraph.
    """
    text = text.replace('\\', '\\\\').replace('"', '\\"')
    return text.replace('\n', '\\n').replace('\0', '\\\\0')


def _node_id(obj):
    return 'o%d' % id(obj) if id(obj) >= 0 else 'o_%d' % -id(obj)


def _type_name(obj, shortnames):
    cls = type(obj)
    if shortnames:
        return cls.__name__
    module = getattr(cls, '__module__', None)
    return '%s.%s' % (module, cls.__name__) if module else cls.__name__


def _name_or_repr(value):
    try:
        name = value.__name__
    except AttributeError:
        name = None
    return name if _isinstance(name, str) else repr(value)[:40]


_NAMED = (type, types.ModuleType, types.BuiltinFunctionType,
          types.BuiltinMethodType)
_COUNTED = (tuple, list, dict, set)


def _short_repr(obj):
    """The second line of a node label: short, and never the whole object.

    Types, modules and builtins show their name, methods their function's
    name, lambdas where they were written, frames where they stopped,
    containers their length; anything else the first 40 characters of its
    repr.
    """
    if _isinstance(obj, _NAMED):
        return _name_or_repr(obj)
    if _isinstance(obj, types.MethodType):
        name = _name_or_repr(obj.__func__)
        return name + ' (bound)' if obj.__self__ else name
    if _isinstance(obj, types.FunctionType) and obj.__name__ == '<lambda>':
        code = obj.__code__
        return 'lambda: %s:%s' % (os.path.basename(code.co_filename),
                                  code.co_firstlineno)
    if _isinstance(obj, types.FrameType):
        return '%s:%s' % (obj.f_code.co_filename, obj.f_lineno)
    if _isinstance(obj, _COUNTED):
        return '%d items' % len(obj)
    return repr(obj)[:40]


def _safe_repr(obj):
    try:
        return _short_repr(obj)
    except Exception:
        return '(unrepresentable)'


# How many references objgraph 3.7.0's frames hold depends on the CPython
# version; the figures below follow it on each.
#
# Before CPython 3.11 a caller keeps its own reference to each argument on
# its evaluation stack for the length of a call; from 3.11 the called
# function takes that reference over.
_CALLER_KEEPS_ARGS = 1 if sys.version_info < (3, 11) else 0

# objgraph 3.7.0 subtracts 4 from sys.getrefcount(): its loop variable,
# its label function's argument, getrefcount's argument and the caller's
# copy of that argument.  From 3.11 there is no such copy, so objgraph
# prints one less than the references its frames do not hold.  A count
# captured by the engine holds none of our frames' references, so it is
# shown less this surplus.
_REF_SURPLUS = 1 - _CALLER_KEEPS_ARGS

# objgraph 3.7.0 reads its public function's frame.f_locals, to ignore it.
# Before CPython 3.13 that is a dict the frame keeps, holding the function's
# arguments: one more reference to a single object passed as ``objs``.
# From 3.13 (PEP 667) it is a proxy that holds none.
_LOCALS_COPY = 1 if sys.version_info < (3, 13) else 0

# show_graph's root_refs for a count captured before the drawing started
# (the caller's copy of the argument for the public call and the public
# function's for its inner call are missing from it too, before 3.11) and
# for one captured inside the public function (the inner call's only).
ROOT_REFS_CAPTURED_BEFORE = 3 + 2 * _CALLER_KEEPS_ARGS
ROOT_REFS_CAPTURED_INSIDE = 2 + _CALLER_KEEPS_ARGS


def _refcount(obj):
    """What objgraph prints for ``refcounts=True`` without an engine.

    objgraph subtracts 4 from sys.getrefcount(), while its own frames hold
    3 references (the loop variable, the label function's argument and
    getrefcount's); this code holds the same 3 (the loop's ``target``, this
    function's argument, getrefcount's), so the same 4 gives the same figure.
    """
    return sys.getrefcount(obj) - 4


# From CPython 3.12 on, a count of 2**31 or more is an immortal object's
# (_Py_IsImmortal): fixed, whatever references come and go.
_IMMORTAL_MIN = 1 << 31 if sys.version_info >= (3, 12) else None


def _immortal(obj):
    """Whether obj is immortal (CPython 3.12 on): its count never changes,
    so objgraph's figure for it is getrefcount - 4, with no reference of
    ours or the caller's to account for."""
    return (_IMMORTAL_MIN is not None
            and sys.getrefcount(obj) >= _IMMORTAL_MIN)


def _label(obj, extra_info, refcount, shortnames):
    """Quoted node label: type name [refcount], short repr, extra info."""
    first = _type_name(obj, shortnames)
    if refcount is not None:
        first += ' [%d]' % refcount
    lines = [first, _safe_repr(obj)]
    if extra_info:
        lines.append(str(extra_info(obj)))
    return _quote('\n'.join(lines))


def _extra_attrs(obj, extra_node_attrs):
    """', name="value", ...' from the user's callback, sorted by name.

    An empty dict still gives the leading ', ' (objgraph writes it too).
    """
    if extra_node_attrs is None:
        return ''
    attrs = sorted(extra_node_attrs(obj).items())
    return ', ' + ', '.join('%s="%s"' % (name, _quote(value))
                            for name, value in attrs if value is not None)


def _gradient(start, end, depth, max_depth):
    """The colour ``depth/max_depth`` of the way from start to end (HSV)."""
    if max_depth == 0:
        return start
    f = float(depth) / max_depth
    return tuple(a * (1 - f) + b * f for a, b in zip(start, end))


# ASCII identifiers; '$' (not \Z) also accepts one trailing newline, as
# objgraph's pattern does, and the label must come out the same.
_is_identifier = re.compile('[a-zA-Z_][a-zA-Z_0-9]*$').match


def _key_label(key, shortnames):
    """Edge label naming the dict key ``key`` that holds the edge's target."""
    if _isinstance(key, str) and _is_identifier(key):
        return ' [label="%s",weight=2]' % _quote(key)
    return ' [label="%s"]' % _quote(_type_name(key, shortnames) + '\n'
                                    + _safe_repr(key))


class _FirstKeys:
    """For one dict: the first key (in iteration order) holding each value.

    Drawing a dict with many referents asks "which key holds this?" once per
    edge; this answers in O(1) instead of scanning the dict each time.
    """

    def __init__(self, d):
        self.keys = {}
        for key, value in d.items():
            self.keys.setdefault(id(value), key)

    def label(self, target, shortnames):
        try:
            key = self.keys[id(target)]
        except KeyError:
            return ''
        return _key_label(key, shortnames)


def _edge_label(source, target, shortnames, first_keys=None):
    """Why ``source`` refers to ``target``, as DOT edge attributes.

    The attribute names of instances (``__dict__``), frames, methods and
    functions, and dict keys.  The checks run in objgraph's order, through
    the same attribute reads: some of those reads create what they read
    (an instance's ``__dict__``, a frame's ``f_locals``), and the live heap
    after a drawing must be the same as after objgraph's.  ``first_keys``
    (a _FirstKeys of ``source``) replaces the scan of a dict's items.
    """
    if (_isinstance(target, dict)
            and target is getattr(source, '__dict__', None)):
        return ' [label="__dict__",weight=10]'
    if _isinstance(source, types.FrameType):
        if target is source.f_locals:
            return ' [label="f_locals",weight=10]'
        if target is source.f_globals:
            return ' [label="f_globals",weight=10]'
    if _isinstance(source, types.MethodType):
        if target is source.__self__:
            return ' [label="__self__",weight=10]'
        if target is source.__func__:
            return ' [label="__func__",weight=10]'
    if _isinstance(source, types.FunctionType):
        for name in dir(source):
            if target is getattr(source, name):
                return ' [label="%s",weight=10]' % _quote(name)
    if _isinstance(source, dict):
        if first_keys is not None:
            return first_keys.label(target, shortnames)
        for key, value in source.items():
            if value is target:
                return _key_label(key, shortnames)
    return ''
