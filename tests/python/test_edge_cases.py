"""Shapes of heaps and arguments that break naive heap tools."""

import gc
import sys
import weakref
from unittest import mock

import pytest

import objgraph


class Node:
    __slots__ = ('next', '__weakref__')


class BadRepr:
    def __repr__(self):
        raise RuntimeError('no repr for you')


def test_empty_objects_list(ref):
    assert objgraph.count('dict', []) == ref.count('dict', []) == 0
    assert objgraph.typestats([]) == ref.typestats([]) == {}
    assert objgraph.by_type('dict', []) == []
    assert objgraph.get_leaking_objects([]) == ref.get_leaking_objects([])
    assert objgraph.most_common_types(objects=[]) == []


def test_unknown_and_qualified_type_names():
    assert objgraph.count('NoSuchTypeAnywhere') == 0
    assert objgraph.by_type('no.such.Module') == []
    n = Node()
    assert objgraph.count('test_edge_cases.Node') >= 1
    assert n in objgraph.by_type('test_edge_cases.Node')


def test_type_without_module(ref, quiet_gc):
    # a class created where globals have no __name__ gets no __module__
    namespace = {}
    exec('Anon = type("Anon", (), {})', namespace)
    Anon = namespace['Anon']
    assert getattr(Anon, '__module__', None) is None
    keep = [Anon() for _ in range(3)]
    assert objgraph.count('Anon') == 3
    assert objgraph.typestats(shortnames=False).get('Anon') == 3
    assert (objgraph.typestats(shortnames=False) ==
            ref.typestats(shortnames=False))
    assert keep


def test_mock_with_spec_counts_by_type_not_class(ref, quiet_gc):
    class Spec:
        pass
    m = mock.Mock(spec=Spec)
    assert isinstance(m, Spec)  # __class__ lies...
    assert objgraph.count('Spec') == ref.count('Spec') == 0  # ...type() not
    assert m in objgraph.by_type('Mock')


def test_object_whose_repr_raises(ref):
    b = BadRepr()
    assert b in objgraph.by_type('BadRepr')
    chain = objgraph.find_backref_chain(b, objgraph.is_proper_module)
    assert chain[-1] is b


def test_five_million_item_list():
    big = [None] * 5_000_000
    holder = [big]
    with objgraph.snapshot() as snap:
        assert snap.num_edges >= 5_000_000
        chain = snap.find_ref_chain(holder, lambda x: x is big)
        assert chain == [holder, big]
    assert sys.getsizeof(big) > 40_000_000


def test_ten_thousand_deep_chain_needs_no_recursion():
    head = Node()
    node = head
    for _ in range(10_000):
        node.next = Node()
        node = node.next
    tail = node
    tail.next = None
    chain = objgraph.find_ref_chain(head, lambda x: x is tail,
                                    max_depth=20_000)
    assert len(chain) == 10_001
    back = objgraph.find_backref_chain(tail, lambda x: x is head,
                                       max_depth=20_000)
    assert len(back) == 10_001 and back[0] is head
    assert len(objgraph.find_ref_chain(head, lambda x: x is tail)) == 1


def test_self_references(ref):
    a = []
    a.append(a)
    d = {}
    d['self'] = d
    assert objgraph.find_ref_chain(a, lambda x: x is a) == [a]
    assert objgraph.get_leaking_objects([a, d]) == ref.get_leaking_objects(
        [a, d])


def test_weak_references_are_not_edges():
    n = Node()
    w = weakref.ref(n)
    holder = [w]
    chain = objgraph.find_ref_chain(holder, lambda x: x is n)
    assert chain == [holder]  # a weakref does not keep n alive
    assert w() is n


def test_suspended_generator():
    def gen(payload):
        yield 1
        yield payload

    class Payload:
        pass
    p = Payload()
    g = gen(p)
    next(g)
    del p
    chain = objgraph.find_ref_chain(g, lambda x: type(x) is Payload)
    assert len(chain) >= 2 and type(chain[-1]) is Payload
    assert objgraph.count('generator') >= 1


def test_detached_snapshot_objects_that_die_are_skipped():
    keep = [Node() for _ in range(10)]
    snap = objgraph.snapshot(pin=False)
    victim_ids = {id(o) for o in keep[5:]}
    del keep[5:]
    gc.collect()
    got = {id(o) for o in snap.by_type('Node')}
    assert {id(o) for o in keep} <= got
    assert got.isdisjoint(victim_ids)
    snap.close()


@pytest.mark.parametrize('call, exc, word', [
    (lambda: objgraph.count(42), TypeError, 'typename'),
    (lambda: objgraph.by_type(None), TypeError, 'typename'),
    (lambda: objgraph.find_ref_chain([], 'nope'), TypeError, 'predicate'),
    (lambda: objgraph.find_backref_chain([], 3), TypeError, 'predicate'),
    (lambda: objgraph.find_ref_chain([], bool, max_depth=-1), ValueError,
     'max_depth'),
    (lambda: objgraph.find_ref_chain([], bool, max_depth='x'), TypeError,
     'max_depth'),
    (lambda: objgraph.typestats(filter=5), TypeError, 'filter'),
    (lambda: objgraph.get_new_ids(sortby='size'), ValueError, 'sortby'),
])
def test_bad_arguments_name_the_argument(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


class _Marker:
    pass


def test_chain_searches_never_go_through_garbage(ref):
    """A garbage cycle referring to the object holds a match one step away;
    objgraph 3.7.0's gc.collect() frees it, and ours leaves it out without
    collecting: both find the live match two steps away."""
    gc.collect()
    gc.disable()
    try:
        target = _Marker.__new__(_Marker)
        garbage = _Marker()
        garbage.cycle = [garbage, target]
        live = _Marker()
        live.held = [target]
        del garbage

        def is_marker(o):
            return isinstance(o, _Marker) and o is not target

        ours = objgraph.find_backref_chain(target, is_marker)
        theirs = ref.find_backref_chain(target, is_marker)
    finally:
        gc.enable()
    assert ours[0] is live and theirs[0] is live
    # live -> (before CPython 3.11, live's own __dict__ ->) list -> target
    steps = 3 if sys.version_info >= (3, 11) else 4
    assert len(ours) == len(theirs) == steps
