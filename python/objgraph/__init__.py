"""
Tools for drawing and querying Python object reference graphs.

objgraph keeps the interface of objgraph 3.x -- :func:`count`,
:func:`typestats`, :func:`show_growth`, :func:`find_backref_chain`, ... --
and answers from a parallel C engine that freezes the heap into a compact
graph (:func:`snapshot`), so the same questions work on heaps of tens of
millions of objects.

The engine walks every object the garbage collector tracks and follows
references the way the collector does (each type's ``tp_traverse``).  Weak
references are not references there, so weak edges never appear; objects a
type does not traverse (e.g. a type's ``__subclasses__``) are not edges
either.
"""

from ._api import (
                   count,
                   get_new_ids,
                   growth,
                   most_common_types,
                   release_memory,
                   show_growth,
                   show_most_common_types,
                   snapshot,
                   typestats,
)
from ._api_graph import (
                         at,
                         at_addrs,
                         by_type,
                         find_backref_chain,
                         find_ref_chain,
                         get_leaking_objects,
                         show_backrefs,
                         show_chain,
                         show_refs,
                         show_type_graph,
)
from ._draw import detect_interactive as _detect_interactive
from ._files import LoadedSnapshot, NodeInfo, SnapshotError, load
from ._growth import GrowthError, assert_no_growth
from ._leaks import (
                     Accumulation,
                     CycleGroup,
                     LeakSuspect,
                     Retainer,
                     RetentionPath,
                     Root,
                     SnapshotDiff,
                     TypeChange,
                     leak_suspects,
)
from ._names import is_proper_module
from ._report import report
from ._snapshot import Snapshot

__version__ = '4.0.0.dev0'

#: True inside an IPython kernel that shows graphics (a notebook), decided
#: at import as in objgraph 3.x: then :func:`show_refs`,
#: :func:`show_backrefs`, :func:`show_chain` and :func:`show_type_graph`,
#: given neither ``filename`` nor ``output``, return a ``graphviz.Source``
#: to display inline instead of writing a file and running graphviz.  Set
#: it to choose either way; each drawing reads it.
IS_INTERACTIVE = _detect_interactive()

__license__ = 'MIT'

__all__ = [
    'IS_INTERACTIVE', 'Accumulation', 'CycleGroup', 'GrowthError',
    'LeakSuspect', 'LoadedSnapshot', 'NodeInfo', 'Retainer', 'RetentionPath',
    'Root', 'Snapshot', 'SnapshotDiff', 'SnapshotError', 'TypeChange',
    'assert_no_growth', 'at', 'at_addrs', 'by_type', 'count',
    'find_backref_chain', 'find_ref_chain', 'get_leaking_objects',
    'get_new_ids', 'growth', 'is_proper_module', 'leak_suspects', 'load',
    'most_common_types', 'release_memory', 'report', 'show_backrefs',
    'show_chain', 'show_growth', 'show_most_common_types', 'show_refs',
    'show_type_graph', 'snapshot', 'typestats'
]
