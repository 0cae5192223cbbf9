"""The canary's own objects, which its snapshots leave out.

A canary's state -- its window of summaries, its reports, its estimator's
measurements -- grows until the window is full, and its reports grow with
the suspects they list.  Left in its snapshots, they would show as
growing dicts, lists, str, int and float: suspects allocated by the
canary itself.  :func:`objects_under` finds them: the containers under
the canary's roots, and the values only they hold.
"""

import collections
import itertools
import sys

_CONTAINERS = (dict, list, tuple, collections.deque)


def _extra_references(roots):
    """(containers, [(value, references to it beyond the containers')])
    of the container trees under ``roots``: the containers, and each other
    value they hold with its reference count less the references the
    containers hold to it."""
    containers, counts, values = [], collections.Counter(), {}
    stack = [r for r in roots if isinstance(r, _CONTAINERS)]
    while stack:
        o = stack.pop()
        containers.append(o)
        for x in itertools.chain(o.keys(), o.values()) \
                if isinstance(o, dict) else o:
            if isinstance(x, _CONTAINERS):
                stack.append(x)
            else:
                counts[id(x)] += 1
                values[id(x)] = x
    o = x = None  # the loop's last value: no reference of ours left
    return containers, [(x, sys.getrefcount(x) - counts[i])
                        for i, x in values.items()]


def _calibrate():
    """The references _extra_references itself adds to a value's count
    (its own variables, the call's argument): a value with that many
    extra references is held by the containers alone."""
    value = float(len(sys.argv) + 0.5)  # a new float: only this frame
    _, rows = _extra_references([[value]])
    return rows[0][1] - 1  # less this frame's own reference, `value`


def objects_under(roots):
    """Every container (dict, list, tuple, deque) of the trees under
    ``roots``, and every other value only they hold (its reference count
    is the references the trees hold to it): a float, a count, a type
    name the canary made.  Values the program shares -- interned strings,
    small ints, None, CPython 3.12's immortal objects -- have more
    references, and stay in the snapshots."""
    containers, rows = _extra_references(roots)
    return containers + [x for x, extra in rows if extra == _HELD_ALONE]




_HELD_ALONE = _calibrate()
