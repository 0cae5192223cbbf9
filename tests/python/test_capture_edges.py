"""The captured edges are the collector's: for every object, the snapshot's
referents are the objects ``gc.get_referents`` returns, in its order, and
taking a snapshot leaves reference counts as they were.

Regression: looking up ``__sizeof__`` through the interpreter's type cache
during the walk changed the reference counts of None and of interned
names (the cache drops the name an entry held), which the walk uses to
number untracked objects: edges pointed at the wrong nodes, and the counts
were put back wrong.
"""

import gc
import sys

import objgraph


def test_referents_are_gc_get_referents_for_every_object(quiet_gc):
    objects = gc.get_objects()
    checked = 0
    with objgraph.snapshot() as snap:
        g = snap._g
        ids = g.find([id(o) for o in objects])
        for obj, v in zip(objects, ids):
            if v < 0:
                continue
            want = [id(r) for r in gc.get_referents(obj)]
            got = [g.node(u)[0] for u in g.referents(v)]
            if len(want) != len(got):
                continue  # changed since the capture (sys.modules, ...)
            assert got == want, (
                'referents of %s: the snapshot has %r, gc.get_referents %r'
                % (type(obj).__name__, got, want))
            checked += 1
    assert checked > 0.9 * len(objects)


class NewType:
    pass


def test_a_snapshot_changes_no_reference_count(quiet_gc):
    # Untracked objects are numbered by marks in their reference counts
    # during the walk; the counts must come back exactly.  (None and
    # interned names are left out: the interpreter's type cache takes and
    # drops references to them whenever attributes are looked up.)
    fresh = [type('T%d' % i, (NewType,), {})() for i in range(50)]
    text = ''.join(['not', 'interned'])
    number = 10 ** 30
    atoms = (text, number, 1.5)
    holders = [[text, number, atoms] for _ in range(7)]
    watched = [text, number, atoms, NewType]
    before = [sys.getrefcount(o) for o in watched]
    for pin in (True, False, True):
        objgraph.snapshot(pin=pin).close()
    assert [sys.getrefcount(o) for o in watched] == before
    del fresh, holders
