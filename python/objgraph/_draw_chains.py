"""Drawings other than show_graph's: the chains of
:func:`objgraph.show_chain` (as a show_graph call, :func:`chain_args`,
or from node descriptions alone, :func:`show_node_chains`, for a snapshot
that holds no objects), and the heap summarised by type
(:func:`show_type_graph`)."""

import math

from ._draw_graphviz import TYPE_GRAPH_SFDP_ARGS, _emit
from ._draw_text import _gradient, _quote
from ._names import plural

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
