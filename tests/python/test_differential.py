"""objgraph's query API against objgraph 3.7.0, same process, same heap."""

import gc
import io
import sys

import pytest

import objgraph


class Leaky:
    pass


class Other:
    __slots__ = ('a', 'b')


def _populate():
    cache = {}
    for i in range(300):
        cache[i] = {'leaky': Leaky(), 'n': [i]}
    others = [Other() for _ in range(50)]
    return cache, others


@pytest.fixture(scope='module')
def heap():
    cache, others = _populate()
    yield cache, others


@pytest.fixture
def settled(ref, heap, quiet_gc):
    """Both implementations called once, so that caches they (or the
    interpreter) fill lazily on a first call do not differ between the two
    calls a test compares."""
    ref.most_common_types(limit=None)
    objgraph.most_common_types(limit=None)
    ref.get_leaking_objects()
    objgraph.get_leaking_objects()
    return heap


def _both(ref_call, our_call):
    """(reference answer, our answer), each as text or a set of ids, from
    a second call of each: a first call in a test body makes the
    interpreter create or drop a few objects of its own."""
    for _ in range(2):
        theirs = ref_call()
        ours = our_call()
    return theirs, ours


def _stats_diff(got, expected):
    """{name: (ours, reference)} where they differ."""
    got, expected = dict(got), dict(expected)
    return {k: (got.get(k), expected.get(k))
            for k in set(got) | set(expected)
            if got.get(k) != expected.get(k)}


def test_typestats_agrees(ref, settled):
    expected, got = _both(ref.typestats, objgraph.typestats)
    assert got == expected, _stats_diff(got, expected)


def test_typestats_long_names_agree(ref, settled):
    expected, got = _both(lambda: ref.typestats(shortnames=False),
                          lambda: objgraph.typestats(shortnames=False))
    assert got == expected, _stats_diff(got, expected)


def test_typestats_with_filter_agrees(ref, settled):
    def is_small(o):
        return not isinstance(o, dict) or len(o) < 3
    expected, got = _both(lambda: ref.typestats(filter=is_small),
                          lambda: objgraph.typestats(filter=is_small))
    assert got == expected, _stats_diff(got, expected)


@pytest.mark.parametrize('typename', [
    'Leaky', 'dict', 'list', 'function', 'test_differential.Leaky',
    'builtins.dict', 'NoSuchType', 'no.such.Type',
])
def test_count_agrees(ref, settled, typename):
    expected = ref.count(typename)
    assert objgraph.count(typename) == expected


def test_most_common_types_agrees(ref, settled):
    # as text: the reference's result tuples would be in our heap
    expected, got = _both(lambda: repr(ref.most_common_types(limit=15)),
                          lambda: repr(objgraph.most_common_types(limit=15)))
    assert got == expected, _stats_diff(eval(got), eval(expected))


def test_show_most_common_types_prints_the_same(ref, settled):
    def printed(show):
        out = io.StringIO()
        show(limit=12, file=out)
        return out.getvalue()
    expected, got = _both(lambda: printed(ref.show_most_common_types),
                          lambda: printed(objgraph.show_most_common_types))
    assert got == expected


@pytest.mark.parametrize('typename', ['Leaky', 'Other',
                                      'test_differential.Leaky'])
def test_by_type_agrees_in_order(ref, settled, typename):
    expected = [id(o) for o in ref.by_type(typename)]
    got = [id(o) for o in objgraph.by_type(typename)]
    assert got == expected
    assert len(got) > 0


def test_by_type_with_objects_agrees(ref, heap):
    cache, others = heap
    objs = list(cache.values()) + others
    assert objgraph.by_type('Other', objs) == ref.by_type('Other', objs)
    assert objgraph.count('dict', objs) == ref.count('dict', objs)
    assert objgraph.typestats(objs) == ref.typestats(objs)


def test_get_leaking_objects_agrees(ref, settled):
    def reference():
        # objgraph 3.7.0 reports a piece of its own machinery: the closure
        # cell of its list comprehension, holding its set of ids
        return {id(o) for o in ref.get_leaking_objects()
                if not (type(o).__name__ == 'cell'
                        and isinstance(o.cell_contents, set))}

    def ours():
        return {id(o) for o in objgraph.get_leaking_objects()}
    box = {}  # referenced answers are not leaking objects themselves
    for _ in range(2):
        box['expected'] = reference()
        box['got'] = ours()
    expected, got = box['expected'], box['got']
    assert got == expected, 'ours only: %s; reference only: %s' % (
        [objgraph.at(a) for a in got - expected],
        [objgraph.at(a) for a in expected - got])


def test_get_leaking_objects_of_a_subset_agrees(ref, settled):
    cache, others = settled
    loose = [Leaky() for _ in range(5)]
    held = [cache[i]['leaky'] for i in range(5)]
    subset = loose + held
    expected = [id(o) for o in ref.get_leaking_objects(subset)]
    got = [id(o) for o in objgraph.get_leaking_objects(subset)]
    assert got == expected
    assert len(got) == 0  # `loose` and cache hold them all


def test_at_agrees(ref, heap):
    cache, others = heap
    target = cache[7]['leaky']
    assert objgraph.at(id(target)) is ref.at(id(target)) is target
    assert objgraph.at(id(1234567)) is None  # ints are not tracked
    assert objgraph.at(12345) is ref.at(12345) is None


def test_at_addrs_agrees(ref, heap):
    cache, others = heap
    objs = [cache[i]['leaky'] for i in range(10)] + others[:3]
    addrs = {id(o) for o in objs} | {1, 2}
    expected = {id(o) for o in ref.at_addrs(addrs)}
    got = {id(o) for o in objgraph.at_addrs(addrs)}
    assert got == expected == {id(o) for o in objs}


def _is_real_chain(chain):
    """Each element refers to the next (gc.get_referents)."""
    return all(any(r is b for r in gc.get_referents(a))
               for a, b in zip(chain, chain[1:]))


def test_find_backref_chain_is_as_short_as_the_reference(ref, heap):
    cache, others = heap
    target = cache[42]['leaky']
    expected = ref.find_backref_chain(target, objgraph.is_proper_module)
    got = objgraph.find_backref_chain(target, objgraph.is_proper_module)
    assert len(got) == len(expected) > 1
    assert got[-1] is target
    assert objgraph.is_proper_module(got[0])
    assert _is_real_chain(got)


def test_find_ref_chain_is_as_short_as_the_reference(ref, heap):
    cache, others = heap

    def pred(x):
        return isinstance(x, Leaky)
    expected = ref.find_ref_chain(cache, pred)
    got = objgraph.find_ref_chain(cache, pred)
    assert len(got) == len(expected) == 3
    assert got[0] is cache and isinstance(got[-1], Leaky)
    assert _is_real_chain(got)


def test_find_ref_chain_reaches_untracked_objects(ref, heap):
    cache, others = heap
    holder = [[('x', 'needle-%d' % 5)]]

    def pred(x):
        return isinstance(x, str) and x.startswith('needle')
    expected = ref.find_ref_chain(holder, pred)
    got = objgraph.find_ref_chain(holder, pred)
    assert len(got) == len(expected)
    assert got[-1] == 'needle-5'


def test_find_chain_not_found_returns_obj(ref, heap):
    lonely = Leaky()
    assert objgraph.find_backref_chain(lonely, lambda x: False,
                                       max_depth=3) == [lonely]
    assert objgraph.find_ref_chain(lonely, lambda x: False) == [lonely]
    assert ref.find_ref_chain(lonely, lambda x: False) == [lonely]


def test_extra_ignore_is_honoured(ref, heap):
    cache, others = heap
    target = cache[3]['leaky']
    holder = cache[3]
    got = objgraph.find_backref_chain(target, objgraph.is_proper_module,
                                      extra_ignore=[id(holder)])
    assert all(o is not holder for o in got)
    assert got == [target]  # the only path runs through holder


def test_show_growth_prints_the_same(ref, settled):
    peak_ref, peak_ours = {}, {}
    ref.growth(limit=None, peak_stats=peak_ref)
    objgraph.growth(limit=None, peak_stats=peak_ours)
    new = [Leaky() for _ in range(7)]  # noqa: F841 -- the growth to see
    want, got = io.StringIO(), io.StringIO()
    ref.show_growth(peak_stats=peak_ref, file=want)
    objgraph.show_growth(peak_stats=peak_ours, file=got)
    assert got.getvalue() == want.getvalue()
    assert 'Leaky' in got.getvalue()


def test_growth_agrees(ref, settled):
    peak_ref, peak_ours = {}, {}
    # as text: a result list alive during the other call would be counted
    ours = repr(objgraph.growth(limit=None, peak_stats=peak_ours))
    theirs = repr(ref.growth(limit=None, peak_stats=peak_ref))
    assert ours == theirs, _stats_diff([r[:2] for r in eval(ours)],
                                       [r[:2] for r in eval(theirs)])


def test_get_new_ids_prints_the_same(ref, settled):
    state_ref, state_ours = {}, {}
    sink = io.StringIO()
    ref.get_new_ids(file=sink, _state=state_ref)
    objgraph.get_new_ids(file=sink, _state=state_ours)
    ref.get_new_ids(file=sink, _state=state_ref)
    objgraph.get_new_ids(file=sink, _state=state_ours)
    a = [Leaky() for _ in range(3)]  # noqa: F841
    want, got = io.StringIO(), io.StringIO()
    new_ref = ref.get_new_ids(limit=5, file=want, _state=state_ref)
    new_ours = objgraph.get_new_ids(limit=5, file=got, _state=state_ours)
    assert got.getvalue() == want.getvalue()
    assert new_ours['Leaky'] == new_ref['Leaky'] == {id(x) for x in a}


def test_is_proper_module_is_the_reference_one(ref):
    import types
    for obj in ([], types, types.ModuleType('foo'), sys, None):
        assert objgraph.is_proper_module(obj) == ref.is_proper_module(obj)
