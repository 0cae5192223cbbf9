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

The parts: the text of nodes and edges (objgraph._draw_text), running
graphviz (objgraph._draw_graphviz), chains and the type graph
(objgraph._draw_chains).  This module draws show_graph's graphs and
gathers the parts' public names.
"""

import collections
import types

from ._draw_chains import chain_args, show_node_chains, show_type_graph
from ._draw_graphviz import (
    _LAYOUTS,
    LARGE_GRAPH_NODES,
    LAYOUT_TIMEOUT,
    SFDP_ARGS,
    SFDP_OVERLAP_REMOVAL_NODES,
    _emit,
    _engine,
    detect_interactive,  # noqa: F401 (objgraph.IS_INTERACTIVE's)
    draw_chain,  # noqa: F401 (the command line's, demo's and report's)
    present_graph,
    sfdp_args,
)
from ._draw_text import (
    _LOCALS_COPY,
    _REF_SURPLUS,
    ROOT_REFS_CAPTURED_BEFORE,  # noqa: F401 (Snapshot's drawings)
    ROOT_REFS_CAPTURED_INSIDE,  # noqa: F401 (objgraph 3.x's)
    _edge_label,
    _extra_attrs,
    _FirstKeys,
    _gradient,
    _immortal,
    _isinstance,
    _label,
    _node_id,
    _refcount,
)

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


# -- show_graph's drawing --------------------------------------------------

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
