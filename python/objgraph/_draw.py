"""Drawing object graphs: DOT text, and graphviz to turn it into pictures.

This module renders what the engine found; it never walks the heap itself
(no ``gc.get_referrers``/``gc.get_referents``/``gc.get_objects`` here).
Whoever calls :func:`show_graph` hands it a ``neighbours`` function that
answers from a snapshot, so a drawing costs time in the size of the drawing,
not of the heap.

Two promises shape the code:

* For the same objects and the same neighbours, the DOT text is byte for
  byte what objgraph 3.7.0 writes: node ids, labels, colours (formatted with
  ``%g`` from the same float arithmetic), edge labels, quoting, the "N more
  references" boxes and the ``__del__`` markers, in the same order.  Users
  diff these files, and our tests compare them with the original's.
* Big drawings still finish.  ``dot`` needs minutes on a cyclic graph of a
  few thousand nodes, so past :data:`LARGE_GRAPH_NODES` nodes (or with
  ``layout="sfdp"``) graphviz runs the ``sfdp`` engine with the attributes
  :func:`sfdp_args` chooses.  They go on graphviz's command line, so the DOT
  text stays the same whichever engine lays it out.  Every graphviz run has a
  timeout (:data:`LAYOUT_TIMEOUT`).

The messages printed (``Graph written to ...``, ``Image generated as ...``,
the xdot and dot not-found messages) are objgraph's, word for word.
"""

import builtins
import collections
import contextlib
import io
import math
import os
import re
import subprocess
import sys
import tempfile
import types

from ._names import plural

__all__ = [
    'LARGE_GRAPH_NODES',
    'LAYOUT_TIMEOUT',
    'SFDP_ARGS',
    'SFDP_OVERLAP_REMOVAL_NODES',
    'chain_args',
    'present_graph',
    'show_graph',
    'sfdp_args',
    'show_node_chains',
    'show_type_graph',
]

#: Drawings with more nodes than this are laid out by ``sfdp``, not ``dot``.
LARGE_GRAPH_NODES = 500

#: Seconds a graphviz run may take before it is killed.
LAYOUT_TIMEOUT = 600

#: Command-line attributes for ``sfdp`` on big graphs.  The quadtree makes
#: the force computation O(n log n) with a coarse approximation; straight
#: edges skip the spline pass; small fonts keep the labels inside the
#: smaller boxes.  Overlaps are removed (``overlap=prism``, so that every
#: box can be read) up to :data:`SFDP_OVERLAP_REMOVAL_NODES` nodes; past
#: that, removing them costs more than the layout itself (measured here:
#: 5k nodes, 12 s with it, 1.4 s without; ~4x on 20k nodes), and is left
#: out (``overlap=true``).
SFDP_ARGS = (
    '-Gquadtree=fast',
    '-Gsplines=false',
    '-Goutputorder=edgesfirst',
    '-Nfontsize=8',
    '-Efontsize=6',
    '-Earrowsize=0.5',
)

#: Up to this many nodes, sfdp removes overlaps between boxes.
SFDP_OVERLAP_REMOVAL_NODES = 2000


def sfdp_args(nodes):
    """The sfdp command-line attributes for a drawing of ``nodes``."""
    overlap = 'prism' if nodes <= SFDP_OVERLAP_REMOVAL_NODES else 'true'
    return SFDP_ARGS + ('-Goverlap=' + overlap,)

#: ``sfdp`` attributes for type graphs: a few dozen big boxes, where
#: removing overlaps is cheap and makes the labels readable.
TYPE_GRAPH_SFDP_ARGS = (
    '-Goverlap=prism',
    '-Gsep=+6',
    '-Gsplines=true',
    '-Earrowsize=0.7',
    '-Efontsize=9',
)

_LAYOUTS = (None, 'dot', 'sfdp')


def detect_interactive():
    """True inside an IPython kernel that can show graphviz output inline.

    Text-only shells (IPython's terminal, PyCharm's console) do not count.
    objgraph 3.x decides once, at import, and so does the package:
    :data:`objgraph.IS_INTERACTIVE` holds the answer.
    """
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    get_ipython = getattr(builtins, 'get_ipython', None)  # set by IPython
    if get_ipython is None:
        return False
    return 'TerminalInteractiveShell' not in type(get_ipython()).__name__


def _is_interactive():
    """objgraph 3.x's public switch, ``objgraph.IS_INTERACTIVE``, read at
    each drawing as objgraph 3.7.0 reads its global: True makes a drawing
    with neither ``filename`` nor ``output`` return a ``graphviz.Source``.
    """
    return sys.modules[__package__].IS_INTERACTIVE


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


# -- The drawing -----------------------------------------------------------

def _open_dot(filename, output):
    """Where the DOT text goes: (file, its name or None, is_interactive)."""
    if filename and output:
        raise ValueError('Cannot specify both output and filename.')
    if output:
        return output, None, False
    if filename and filename.endswith('.dot'):
        # newline='': '\n' as written on every platform, like codecs.open.
        return open(filename, 'w', encoding='utf-8', newline=''), \
            filename, False
    if _is_interactive() and not filename:
        return io.StringIO(), None, True
    fd, dot_filename = tempfile.mkstemp(prefix='objgraph-', suffix='.dot',
                                        text=True)
    return open(fd, 'w', encoding='utf-8'), dot_filename, False


def _emit(write, filename, output, engine_of=lambda nodes: 'dot',
          sfdp_args_of=None):
    """Write a drawing's DOT text -- ``write(f)`` returns its number of
    nodes -- and hand it on as objgraph does: into ``output`` and no more;
    as a ``graphviz.Source`` (returned) in an IPython kernel; else to a
    DOT file graphviz renders (:func:`present_graph`), after printing
    "Graph written to ...".  ``engine_of(nodes)`` picks the layout engine,
    ``sfdp_args_of(nodes)`` its sfdp attributes (None: the default)."""
    f, dot_filename, interactive = _open_dot(filename, output)
    try:
        nodes = write(f)
    finally:
        if f is not output and not interactive:
            f.close()
    if output:
        return None
    engine = engine_of(nodes)
    if interactive:
        import graphviz
        return graphviz.Source(f.getvalue(), engine=engine)
    print('Graph written to %s (%d nodes)' % (dot_filename, nodes))
    kw = {} if sfdp_args_of is None else {'sfdp_args': sfdp_args_of(nodes)}
    present_graph(dot_filename, filename, engine=engine, **kw)
    return None


def _write_node(f, obj, depth, max_depth, highlight, label):
    """The lines for one node: label, fill colour, __del__ marker."""
    node = _node_id(obj)
    f.write('  %s[label="%s"%s];\n' % (node, label[0], label[1]))
    h, s, v = _gradient((0, 0, 1), (0, 0, .3), depth, max_depth)
    if isinstance(obj, types.ModuleType):  # __class__ counts, as in inspect
        h, s = .3, 1
    if highlight and highlight(obj):
        h, s, v = .6, .6, 0.5 + v * 0.5
    f.write('  %s[fillcolor="%g,%g,%g"];\n' % (node, h, s, v))
    if v < 0.5:
        f.write('  %s[fontcolor=white];\n' % node)
    if hasattr(getattr(obj, '__class__', None), '__del__'):
        f.write('  %s->%s_has_a_del[color=red,style=dotted,'
                'len=0.25,weight=10];\n' % (node, node))
        f.write('  %s_has_a_del[label="__del__",shape=doublecircle,'
                'height=0.25,color=red,fillcolor="0,.5,1",fontsize=6];\n'
                % node)


def _write_too_many(f, obj, skipped, depth, max_depth, backrefs):
    """The red box standing for the ``skipped`` neighbours not drawn."""
    node = _node_id(obj)
    h, s, v = _gradient((0, 1, 1), (0, 1, .3), depth + 1, max_depth)
    if backrefs:
        label = '%d more backreferences' % skipped
        edge = 'too_many_%s->%s' % (node, node)
    else:
        label = '%d more references' % skipped
        edge = '%s->too_many_%s' % (node, node)
    f.write('  %s[color=red,style=dotted,len=0.25,weight=10];\n' % edge)
    f.write('  too_many_%s[label="%s",shape=box,height=0.25,color=red,'
            'fillcolor="%g,%g,%g",fontsize=6];\n' % (node, label, h, s, v))
    f.write('  too_many_%s[fontcolor=white];\n' % node)


def show_graph(objs, neighbours, backrefs, *, max_depth=3, extra_ignore=(),
               filter=None, too_many=10, highlight=None, filename=None,
               extra_info=None, refcounts=False, shortnames=True,
               output=None, extra_node_attrs=None, cull_func=None,
               layout=None, refcount_of=None, root_refs=1):
    """Draw the graph of objects around ``objs``, breadth first.

    ``neighbours(obj)`` lists what to draw next to ``obj``: its referrers
    when ``backrefs`` is true (edges drawn neighbour -> obj), its referents
    otherwise (obj -> neighbour), in the order ``gc.get_referrers`` or
    ``gc.get_referents`` would give them, without objgraph's own objects.
    It is called once per drawn node that is less than ``max_depth`` away
    and not stopped by ``cull_func``.

    For ``refcounts=True`` the figure is the live ``sys.getrefcount``, less
    what this code holds, plus what objgraph 3.7.0's own loop would hold
    (stale loop variables, queued copies, less one from CPython 3.11:
    see _REF_SURPLUS), so it matches objgraph's.
    ``refcount_of(obj)``, if given, replaces the live count: it must be the
    object's count without any reference objgraph itself holds (pins, the
    public function's own variables) but with the caller's ``objs`` list;
    the same adjustments are made to it.

    A single object given as ``objs`` (not in a list) is held by objgraph
    3.7.0's own frames: its public function's argument, the list it wraps
    the object in, and the copy of the function's locals it takes to
    ignore them (and, before CPython 3.11, the callers' copies of the
    argument).  ``root_refs`` is how many of those the count (live, or
    ``refcount_of``'s) lacks: 1 for the live count (our frames hold the
    others), ROOT_REFS_CAPTURED_BEFORE for a count captured before the
    drawing started, ROOT_REFS_CAPTURED_INSIDE for one captured inside a
    public function holding the argument.  From CPython 3.13 the copy of
    the locals holds nothing (_LOCALS_COPY), and one less is added.

    ``layout`` is None (``dot`` up to :data:`LARGE_GRAPH_NODES` nodes,
    ``sfdp`` above), ``"dot"`` or ``"sfdp"``.  It changes how graphviz is
    run, never the DOT text.

    The other arguments are those of objgraph's ``show_refs`` and
    ``show_backrefs``.  Returns a ``graphviz.Source`` in an IPython kernel
    when neither ``filename`` nor ``output`` is given, else None.
    """
    if layout not in _LAYOUTS:
        raise ValueError('layout must be None, "dot" or "sfdp", not %r'
                         % (layout,))
    wrapped = not _isinstance(objs, (list, tuple))
    if wrapped:
        objs = [objs]
    return _emit(
        lambda f: _write_graph(f, objs, neighbours, backrefs, max_depth,
                               extra_ignore, filter, too_many, highlight,
                               extra_info, refcounts, shortnames,
                               extra_node_attrs, cull_func, refcount_of,
                               root_refs - 1 + _LOCALS_COPY if wrapped
                               else 0),
        filename, output, lambda nodes: _engine(nodes, layout), sfdp_args)


def _write_graph(f, objs, neighbours, backrefs, max_depth,
                 extra_ignore, filter, too_many, highlight, extra_info,
                 refcounts, shortnames, extra_node_attrs, cull_func,
                 refcount_of, root_refs):
    """Breadth-first walk writing DOT to ``f``; returns the nodes drawn.

    A node is drawn each time it leaves the queue, so an object given twice
    in ``objs`` is drawn twice, as objgraph does.  Neighbours past
    ``too_many`` (counted after ``extra_ignore`` and ``filter``) become one
    "N more" box.  ``root_refs`` is added to the count of objects at depth
    0 (see show_graph; 0 unless ``objs`` wraps the caller's single object).
    """
    f.write('digraph ObjectGraph {\n'
            '  node[shape=box, style=filled, fillcolor=white];\n')
    ignore = set(extra_ignore)
    ignore.add(id(objs))
    ignore.add(id(extra_ignore))
    depth = {}
    queue = collections.deque()
    for obj in objs:
        f.write('  %s[fontcolor=red];\n' % _node_id(obj))
        depth[id(obj)] = 0
        queue.append(obj)
        del obj
    # Copies of a root still queued, for refcount_of's adjustment.
    queued = collections.Counter(map(id, objs)) if refcount_of else None
    # Plain variables, not a tuple: a tuple would be a new referrer.
    edge_src = edge_dst = skipped = _UNSET
    nodes = 0
    while queue:
        target = queue.popleft()
        nodes += 1
        tdepth = depth[id(target)]
        count = None
        root = root_refs if tdepth == 0 else 0
        immortal = refcounts and _immortal(target)
        if refcounts and (refcount_of is None or immortal):
            count = _refcount(target) + (0 if immortal else root)
        elif refcounts:
            # only roots can be queued twice (given twice in objs)
            copies = queued.get(id(target), 0)
            if copies:
                copies = queued[id(target)] = copies - 1
            count = (refcount_of(target) - _REF_SURPLUS + copies
                     + (edge_src is target) + (edge_dst is target)
                     + (skipped is target) + root)
        label = (_label(target, extra_info, count, shortnames),
                 _extra_attrs(target, extra_node_attrs))
        _write_node(f, target, tdepth, max_depth, highlight, label)
        del label
        if tdepth < max_depth and not (cull_func is not None
                                       and cull_func(target)):
            edge_src, edge_dst, skipped = _write_edges(
                f, target, tdepth, max_depth, neighbours(target), backrefs,
                ignore, filter, too_many, shortnames, depth, queue,
                edge_src, edge_dst, skipped)
        del target
    f.write('}\n')
    return nodes


# objgraph 3.7.0's loop leaves three variables bound after their use: the
# two ends of the last edge it drew and the last neighbour it skipped, if
# the last one it looked at was skipped.  Each is a reference, and shows in
# the next counts with refcounts=True.  _write_graph keeps the same objects
# in edge_src, edge_dst and skipped, so that the counts come out the same;
# _UNSET stands for an unbound variable.
_UNSET = object()


def _write_edges(f, target, tdepth, max_depth, found, backrefs, ignore,
                 filter, too_many, shortnames, depth, queue,
                 edge_src, edge_dst, skipped):
    """Edges from ``target`` to the objects ``found`` next to it.

    Returns the new (edge_src, edge_dst, skipped), see above.
    """
    first_keys = None
    if not backrefs and _isinstance(target, dict) and len(target) > 8:
        first_keys = _FirstKeys(target)
    node = _node_id(target)
    drawn = n_skipped = 0
    for other in found:
        if id(other) in ignore or (filter and not filter(other)):
            skipped = other
            continue
        if drawn >= too_many:
            n_skipped += 1
            skipped = other
            continue
        if backrefs:
            label = _edge_label(other, target, shortnames)
            f.write('  %s -> %s%s;\n' % (_node_id(other), node, label))
            edge_src, edge_dst = other, target
        else:
            label = _edge_label(target, other, shortnames, first_keys)
            f.write('  %s -> %s%s;\n' % (node, _node_id(other), label))
            edge_src, edge_dst = target, other
        skipped = _UNSET
        if id(other) not in depth:
            depth[id(other)] = tdepth + 1
            queue.append(other)
        drawn += 1
    if n_skipped:
        _write_too_many(f, target, n_skipped, tdepth, max_depth, backrefs)
    return edge_src, edge_dst, skipped


# -- Running graphviz ------------------------------------------------------

def _program_in_path(program):
    """Whether a file named ``program`` is in a directory of $PATH."""
    path = os.environ.get('PATH', os.defpath).split(os.pathsep)
    return any(os.path.isfile(os.path.join(d, program))
               or os.path.isfile(os.path.join(d, program) + '.exe')
               for d in path)


def _engine(nodes, layout):
    if layout is not None:
        return layout
    return 'sfdp' if nodes > LARGE_GRAPH_NODES else 'dot'


def present_graph(dot_filename, filename=None, *, engine='dot',
                  sfdp_args=SFDP_ARGS + ('-Goverlap=true',)):
    """Show the DOT file ``dot_filename`` as the user asked.

    With ``filename``, graphviz writes it in the format its extension names
    (nothing to do if it is the DOT file itself).  Without, ``xdot`` is
    spawned on the DOT file, or if there is no xdot a PNG is made beside
    it.  ``engine`` is the graphviz layout, ``"dot"`` or ``"sfdp"``; sfdp
    runs as ``dot -Ksfdp`` plus ``sfdp_args`` (see :func:`sfdp_args`), so
    only ``dot`` needs to be installed, as with objgraph.
    """
    if filename == dot_filename:
        return
    if not filename and _program_in_path('xdot'):
        print('Spawning graph viewer (xdot)')
        cmd = ['xdot', dot_filename]
        if engine != 'dot':
            cmd[1:1] = ['-f', engine]
        subprocess.Popen(cmd, close_fds=True)
    elif _program_in_path('dot'):
        if not filename:
            print('Graph viewer (xdot) not found, generating a png instead')
            filename = dot_filename[:-4] + '.png'
        ext = os.path.splitext(filename)[1]
        cmd = ['dot', '-T' + ext[1:], '-o' + filename, dot_filename]
        if engine != 'dot':
            cmd[1:1] = ['-K' + engine] + list(sfdp_args)
        _run_graphviz(cmd, filename)
    elif not filename:
        print('Graph viewer (xdot) and image renderer (dot) not found,'
              ' not doing anything else')
    else:
        print('Image renderer (dot) not found, not doing anything else')


def _run_graphviz(cmd, filename):
    proc = subprocess.Popen(cmd, close_fds=False)
    try:
        returncode = proc.wait(timeout=LAYOUT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print('dot timed out after %g seconds while executing "%s"'
              % (LAYOUT_TIMEOUT, ' '.join(cmd)))
        return
    if returncode != 0:
        print('dot failed (exit code %d) while executing "%s"'
              % (returncode, ' '.join(cmd)))
    else:
        print('Image generated as %s' % filename)


# -- show_chain ------------------------------------------------------------

def chain_args(chains, backrefs=True):
    """show_chain() as a show_graph() call: (objs, max_depth, filter).

    Empty chains are dropped.  The walk starts at the end of each chain
    for backrefs (the start otherwise), goes as deep as the longest chain,
    and draws only objects on some chain.  No chain at all raises
    ValueError, as objgraph's show_chain does.
    """
    chains = [chain for chain in chains if chain]
    on_chains = {id(obj) for chain in chains for obj in chain}
    max_depth = max(map(len, chains)) - 1

    def in_chains(obj):
        return id(obj) in on_chains

    ends = [chain[-1] if backrefs else chain[0] for chain in chains]
    return ends, max_depth, in_chains


def show_node_chains(chains, *, filename=None, output=None):
    """Draw chains of nodes known only by their descriptions: the paths of
    a snapshot that holds no objects (one loaded from a file).

    Each chain lists ``(key, label, is_module, edge_label)`` root first;
    ``key`` (an int, e.g. the node's address) identifies a node, so a node
    on several chains is drawn once; ``edge_label`` (None: none) labels
    the edge to the chain's next node (an attribute name, a dict key).
    Edges join consecutive nodes, referrer to referent.  Colours follow
    :func:`show_graph`'s backrefs drawings: white at the chain's end (red
    text), greyer towards the root, modules green.  ``filename`` and
    ``output`` work as for :func:`show_graph`; no chain at all raises
    ValueError.
    """
    chains = [chain for chain in chains if chain]
    if not chains:
        raise ValueError('no chain to draw')
    max_depth = max(map(len, chains)) - 1
    nodes = {}  # key -> [label, is_module, depth from the chain's end]
    edges = {}  # (referrer key, referent key) -> label, in drawing order
    for chain in chains:
        for i, (key, label, is_module, _) in enumerate(chain):
            depth = len(chain) - 1 - i
            node = nodes.setdefault(key, [label, is_module, depth])
            node[2] = min(node[2], depth)
            if i:
                edges.setdefault((chain[i - 1][0], key), chain[i - 1][3])

    def write(f):
        f.write('digraph ObjectGraph {\n'
                '  node[shape=box, style=filled, fillcolor=white];\n')
        for key, (label, is_module, depth) in nodes.items():
            h, s, v = _gradient((0, 0, 1), (0, 0, .3), depth, max_depth)
            if is_module:
                h, s = .3, 1
            font = ('red' if depth == 0 else 'white' if v < 0.5
                    else None)  # red: a chain's end, as show_chain draws
            f.write('  n%d[label="%s", fillcolor="%g,%g,%g"%s];\n'
                    % (key, _quote(label), h, s, v,
                       ', fontcolor=%s' % font if font else ''))
        for (src, dst), label in edges.items():
            f.write('  n%d -> n%d%s;\n' % (
                src, dst, '' if label is None else
                '[label="%s"]' % _quote(label)))
        f.write('}\n')
        return len(nodes)

    return _emit(write, filename, output)


# -- The heap by type ------------------------------------------------------

def draw_chain(snap, chain, image):
    """Draw ``chain`` with ``snap.show_chain`` into ``image``: (the file
    drawn or None, what the drawing printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        snap.show_chain(chain, filename=image)
    made = (image.endswith('.dot') or
            'Image generated as' in printed.getvalue())
    return (image if made else None), printed.getvalue()


def _human_bytes(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if n < 1024 or unit == 'GiB':
            return ('%d %s' % (n, unit) if unit == 'B'
                    else '%.1f %s' % (n, unit))
        n /= 1024.0


def show_type_graph(type_stats, type_edges, *, limit=50, filename=None,
                    output=None, layout='sfdp'):
    """Draw the heap summarised by type.

    ``type_stats`` lists ``(typename, count, nbytes)``; ``type_edges`` lists
    ``(src_typename, dst_typename, n_refs)``: ``n_refs`` references from
    objects of one type to objects of the other.  The ``limit`` types with
    the most bytes are drawn (ties: more objects, then name), each a box
    whose area grows with its bytes and whose label gives count and bytes;
    edges between drawn types are labelled with their reference counts and
    drawn thicker for more.  A type's references to itself are a loop.

    ``filename`` and ``output`` work as for :func:`show_graph`; the layout
    defaults to ``sfdp``.
    """
    if layout not in ('dot', 'sfdp'):
        raise ValueError('layout must be "dot" or "sfdp", not %r' % (layout,))
    chosen = sorted(type_stats, key=lambda t: (-t[2], -t[1], t[0]))[:limit]
    index = {name: i for i, (name, _, _) in enumerate(chosen)}

    def write(f):
        _write_type_graph(f, chosen, index, type_edges)
        return len(chosen)

    return _emit(write, filename, output, lambda nodes: layout,
                 lambda nodes: TYPE_GRAPH_SFDP_ARGS)


def _write_type_graph(f, chosen, index, edges):
    f.write('digraph TypeGraph {\n'
            '  node[shape=box, style=filled, fillcolor="0,0,1"];\n')
    top_bytes = max([nbytes for _, _, nbytes in chosen] + [1])
    for i, (name, count, nbytes) in enumerate(chosen):
        share = nbytes / top_bytes
        # Box area proportional to bytes: 0.25 to 2.5 inches across.
        width = 0.25 + 2.25 * math.sqrt(share)
        fontsize = 8 + 16 * math.sqrt(share)
        value = 1 - 0.6 * share
        f.write('  t%d[label="%s\\n%s\\n%s", width=%.2f, '
                'height=%.2f, fontsize=%.1f, fillcolor="0.6,%.2f,%.2f"%s];\n'
                % (i, _quote(name), plural(count, 'object'),
                   _human_bytes(nbytes), width,
                   width * 0.6, fontsize, 0.6 * share, value,
                   ', fontcolor=white' if value < 0.5 else ''))
    top_refs = max([n for src, dst, n in edges
                    if src in index and dst in index] + [1])
    for src, dst, n in edges:
        if src not in index or dst not in index:
            continue
        penwidth = 0.5 + 4 * math.log1p(n) / math.log1p(top_refs)
        f.write('  t%d -> t%d[label="%d", penwidth=%.2f];\n'
                % (index[src], index[dst], n, penwidth))
    f.write('}\n')
