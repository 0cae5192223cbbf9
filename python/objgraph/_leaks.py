"""Leak analysis on snapshots: roots, dominators, retained sizes, retention
paths in bulk, reference cycles, diffs and leak suspects.

Every whole-heap computation is an engine kernel (``_heapgraph.Graph``
methods, python/ext/analysis.c): the dominator tree with a virtual root
above every root, retained sizes, one breadth-first search from all the
roots, strongly connected components, address matching between
snapshots.  This module shapes their answers; it loops over the rows it
returns, never over the heap.

Objects handed back: live objects when the snapshot is pinned, their
``id()`` (the address at capture time) when it is detached or closed -- a
detached snapshot never dereferences an address.

Words: a *root* is an object referenced from outside the captured graph
(its reference count exceeds the references the graph holds to it: C
stacks, interpreter state, extension statics, or a reference leaked by C
code).  An object's *dominator* is the object every path from the roots to
it goes through; its *retained size* is what freeing it would free: the
shallow sizes (``sys.getsizeof`` as :func:`objgraph.snapshot` measures it:
without a ``__sizeof__`` defined in Python unless ``sizes='python'``) of
the objects it dominates, its own included.

The code is split by part: the rows the analyses return
(objgraph._leaks_rows), the snapshot methods (objgraph._leaks_analysis),
diffs (objgraph._leaks_diff), leak suspects (objgraph._leaks_suspects)
and path labels (objgraph._leaks_labels).  This module gathers their
public names, and the private ones other modules import from here.
"""

# The private names (noqa) are imported from here by modules not yet moved
# to the parts (objgraph._files, _growth, canary, the tests): kept until
# they are.
from ._leaks_analysis import LeakAnalysis, write_sized_type_table
from ._leaks_diff import SnapshotDiff
from ._leaks_labels import (  # noqa: F401
    fixed_part,
    label_of,
    path_label,
    path_objects,
    tracked_ids,
)
from ._leaks_rows import (
    Accumulation,
    CycleGroup,
    LeakSuspect,
    Retainer,
    RetentionPath,
    TypeChange,
    path_text,  # noqa: F401
)
from ._leaks_suspects import (  # noqa: F401
    accumulation_point,
    grows,
    leak_suspects,
)
from ._roots import Root

__all__ = ['Accumulation', 'LeakAnalysis', 'Retainer', 'RetentionPath',
           'Root', 'CycleGroup',
           'SnapshotDiff', 'TypeChange', 'LeakSuspect', 'leak_suspects',
           'write_sized_type_table']
