"""objgraph 3.x's functions that hand back or draw objects of the heap.

The objects themselves (:func:`by_type`, :func:`at`, :func:`at_addrs`,
:func:`get_leaking_objects`), chains of references
(:func:`find_ref_chain`, :func:`find_backref_chain`) and drawings
(:func:`show_refs`, :func:`show_backrefs`, :func:`show_chain`,
:func:`show_type_graph`).  Like objgraph._api's counts, each takes a
snapshot of the heap, asks it and releases it; signatures, defaults,
return values and printed text are objgraph 3.7.0's.
"""

import gc

from . import _draw
from ._names import check_typename
from ._snapshot import by_type_of, compat_snapshot, draw, show_chain_with

__all__ = [
    'get_leaking_objects', 'by_type', 'at', 'at_addrs', 'find_ref_chain',
    'find_backref_chain', 'show_refs', 'show_backrefs', 'show_chain',
    'show_type_graph',
]


def get_leaking_objects(objects=None, collect=False):
    """Return objects that do not have any referents.

    These could indicate reference-counting bugs in C code.  Or they could
    be legitimate.

    If you pass in a list of ``objects``, this function will return
    a subset of them that have no referents, otherwise it will look among
    all the objects tracked by the garbage collector.

    Note that the GC does not track simple objects like int or str.

    Garbage that ``gc.collect()`` would free is left out; objgraph 3.x
    ran a collection instead, which ``collect=True`` restores.

    Example:

       >>> get_leaking_objects(by_type('MyClass'))
       ...
    """
    exclude = () if objects is None else (objects,)
    with compat_snapshot(pin=True, collect=collect, exclude=exclude) as snap:
        return snap.get_leaking_objects(objects)


def by_type(typename, objects=None):
    """Return objects tracked by the garbage collector with a given class name.

    Example:

        >>> by_type('MyClass')
        [<mymodule.MyClass object at 0x...>]

    Note that the GC does not track simple objects like int or str.
    """
    check_typename(typename)
    if objects is not None:
        return by_type_of(typename, objects)
    with compat_snapshot(pin=True, nodes_only=True) as snap:
        return snap.by_type(typename)


def at(addr):
    """Return an object at a given memory address.

    The reverse of id(obj):

        >>> at(id(obj)) is obj
        True

    Note that this function does not work on objects that are not tracked by
    the GC (e.g. ints or strings).
    """
    with compat_snapshot(pin=False, nodes_only=True) as snap:
        return snap.at(addr)


def at_addrs(address_set):
    """Return a list of objects for a given set of memory addresses.

    The reverse of [id(obj1), id(obj2), ...].  Note that objects are returned
    in an arbitrary order.

    When one gets ``new_ids`` from :func:`get_new_ids`, one can use this
    function to get a list of those objects.  Then one can iterate over the new
    objects, print out what they are, and call :func:`show_backrefs` or
    :func:`show_chain` to see where they are referenced.

        >>> a = [0, 1, 2]
        >>> new_ids = get_new_ids()
        >>> new_lists = at_addrs(new_ids['list'])
        >>> a in new_lists
        True

    Note that this function does not work on objects that are not tracked
    by the GC (e.g. ints or strings).
    """
    with compat_snapshot(pin=False, nodes_only=True) as snap:
        return snap.at_addrs(address_set)


def find_ref_chain(obj, predicate, max_depth=20, extra_ignore=(),
                   collect=False):
    """Find a shortest chain of references leading from obj.

    The end of the chain will be some object that matches your predicate.

    ``predicate`` is a function taking one argument and returning a boolean.

    ``max_depth`` limits the search depth.

    ``extra_ignore`` can be a list of object IDs to exclude those objects from
    your search.

    Example:

        >>> find_ref_chain(obj, lambda x: isinstance(x, MyClass))
        [obj, ..., <MyClass object at ...>]

    Returns ``[obj]`` if such a chain could not be found.
    """
    with compat_snapshot(pin=True, collect=collect,
                         exclude=(extra_ignore,)) as snap:
        return snap.find_ref_chain(obj, predicate, max_depth, extra_ignore)


def find_backref_chain(obj, predicate, max_depth=20, extra_ignore=(),
                       collect=False):
    """Find a shortest chain of references leading to obj.

    The start of the chain will be some object that matches your predicate.

    ``predicate`` is a function taking one argument and returning a boolean.

    ``max_depth`` limits the search depth.

    ``extra_ignore`` can be a list of object IDs to exclude those objects from
    your search.

    Example:

        >>> find_backref_chain(obj, is_proper_module)
        [<module ...>, ..., obj]

    Returns ``[obj]`` if such a chain could not be found.
    """
    with compat_snapshot(pin=True, collect=collect,
                         exclude=(extra_ignore,)) as snap:
        return snap.find_backref_chain(obj, predicate, max_depth,
                                       extra_ignore)


_GRAPH_DOC = """
    ``objs`` can be a single object, or it can be a list of objects.  If
    unsure, wrap the single object in a new list.

    ``filename`` if specified, can be the name of a .dot or a image
    file, whose extension indicates the desired output format; note
    that output to a specific format is entirely handled by GraphViz:
    if the desired format is not supported, you just get the .dot
    file.  If ``filename`` and ``output`` are not specified, the graph is
    shown inline if you're using IPython (a ``graphviz.Source`` is
    returned: ``objgraph.IS_INTERACTIVE``, set at import, says whether,
    and can be set), otherwise a .dot file is written and a viewer (xdot)
    spawned.  If xdot is not available, the .dot file is converted to a
    .png and its name printed.

    ``output`` if specified, the GraphViz output will be written to this
    file object. ``output`` and ``filename`` should not both be specified.

    Use ``max_depth`` and ``too_many`` to limit the depth and breadth of the
    graph.

    Use ``filter`` (a predicate) and ``extra_ignore`` (a list of object IDs) to
    remove undesired objects from the graph.

    Use ``highlight`` (a predicate) to highlight certain graph nodes in blue.

    Use ``extra_info`` (a function taking one argument and returning a
    string) to report extra information for objects.

    Use ``extra_node_attrs`` (a function taking the current object as argument,
    returning a dict of strings) to add extra attributes to the nodes. See
    https://www.graphviz.org/doc/info/attrs.html for a list of possible node
    attributes.

    Specify ``refcounts=True`` if you want to see reference counts.

    Specify ``shortnames=False`` if you want to see fully-qualified type
    names ('package.module.ClassName').  By default you get to see only the
    class name part.

    ``layout`` picks graphviz's layout engine: None (the default) uses
    ``dot`` up to 500 nodes and ``sfdp`` above, ``"dot"`` or ``"sfdp"``
    force one.  The DOT text is the same either way.
"""


def show_backrefs(objs, max_depth=3, extra_ignore=(), filter=None,
                  too_many=10, highlight=None, filename=None, extra_info=None,
                  refcounts=False, shortnames=True, output=None,
                  extra_node_attrs=None, layout=None):
    with compat_snapshot(pin=True) as snap:
        # captured here, where this frame holds objs: see root_refs
        return draw(snap, objs, True, dict(
            max_depth=max_depth, extra_ignore=extra_ignore, filter=filter,
            too_many=too_many, highlight=highlight, filename=filename,
            extra_info=extra_info, refcounts=refcounts,
            shortnames=shortnames, output=output,
            extra_node_attrs=extra_node_attrs, layout=layout),
            _draw.ROOT_REFS_CAPTURED_INSIDE)


show_backrefs.__doc__ = """\
Generate an object reference graph ending at ``objs``.

    The graph will show you what objects refer to ``objs``, directly and
    indirectly.  The walk stops at modules in ``sys.modules``.

    Referrers come from one snapshot of the heap (its reverse graph), not
    from a heap scan per drawn object as in objgraph 3.x; garbage that
    ``gc.collect()`` would free is left out.
""" + _GRAPH_DOC + """
    Examples:

        >>> show_backrefs(obj)
        >>> show_backrefs([obj1, obj2])
        >>> show_backrefs(obj, max_depth=5)
        >>> show_backrefs(obj, filter=lambda x: not inspect.isclass(x))
        >>> show_backrefs(obj, highlight=inspect.isclass)
        >>> show_backrefs(obj, extra_ignore=[id(locals())])
        >>> show_backrefs(obj, extra_node_attrs=lambda x: dict(URL=str(id(x))))
"""


def show_refs(objs, max_depth=3, extra_ignore=(), filter=None, too_many=10,
              highlight=None, filename=None, extra_info=None,
              refcounts=False, shortnames=True, output=None,
              extra_node_attrs=None, layout=None):
    return _draw.show_graph(
        objs, gc.get_referents, False, max_depth=max_depth,
        extra_ignore=extra_ignore, filter=filter, too_many=too_many,
        highlight=highlight, filename=filename, extra_info=extra_info,
        refcounts=refcounts, shortnames=shortnames, output=output,
        extra_node_attrs=extra_node_attrs, layout=layout)


show_refs.__doc__ = """\
Generate an object reference graph starting at ``objs``.

    The graph will show you what objects are reachable from ``objs``,
    directly and indirectly.

    Referents are asked of each drawn object alone (its ``tp_traverse``),
    so drawing costs time in the size of the drawing, not of the heap.
""" + _GRAPH_DOC + """
    Examples:

        >>> show_refs(obj)
        >>> show_refs([obj1, obj2])
        >>> show_refs(obj, max_depth=5)
        >>> show_refs(obj, filter=lambda x: not inspect.isclass(x))
        >>> show_refs(obj, highlight=inspect.isclass)
        >>> show_refs(obj, extra_ignore=[id(locals())])
        >>> show_refs(obj, extra_node_attrs=lambda x: dict(URL=str(id(x))))
"""


def show_chain(*chains, **kw):
    """Show a chain (or several chains) of object references.

    Useful in combination with :func:`find_ref_chain` or
    :func:`find_backref_chain`, e.g.

        >>> show_chain(find_backref_chain(obj, is_proper_module))

    You can specify if you want that chain traced backwards or forwards
    by passing a ``backrefs`` keyword argument, e.g.

        >>> show_chain(find_ref_chain(obj, is_proper_module),
        ...            backrefs=False)

    Ideally this shouldn't matter, but for some objects
    :func:`gc.get_referrers` and :func:`gc.get_referents` are not perfectly
    symmetrical.

    You can specify ``highlight``, ``extra_info``, ``refcounts``,
    ``shortnames``, ``filename``, ``output`` or ``layout`` arguments like
    for :func:`show_backrefs` or :func:`show_refs`.
    """
    return show_chain_with(show_refs, show_backrefs, chains, kw)


def show_type_graph(snapshot=None, limit=50, filename=None, output=None,
                    layout='sfdp'):
    """Draw the heap summarised by type.

    Each of the ``limit`` types holding the most bytes is one box, its area
    growing with its shallow bytes, labelled with its name, its number of
    objects and their bytes (untracked objects such as str and int
    included).  An edge from one type to another is labelled with the
    number of references from objects of the first to objects of the
    second, and drawn thicker for more.  The whole heap of millions of
    objects becomes a picture of a few dozen boxes, laid out by graphviz's
    ``sfdp`` (``layout="dot"`` for a layered drawing).

    ``snapshot``: a :class:`Snapshot` to draw; None takes one now.
    ``filename`` and ``output`` work as for :func:`show_refs`.

    Example:

        >>> show_type_graph(limit=20, filename='types.png')
        Graph written to ....dot (20 nodes)
        Image generated as types.png
    """
    if snapshot is not None:
        return snapshot.show_type_graph(limit, filename, output, layout)
    with compat_snapshot(pin=False) as snap:
        return snap.show_type_graph(limit, filename, output, layout)
