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


# -- limit: objgraph 3.7.0 slices ``rows[:limit]`` --------------------------
#
# growth and most_common_types slice when ``limit`` is true (None, 0 and
# False keep every row), get_new_ids when it is not None (0 prints no row);
# a negative limit drops rows from the end, and one that cannot slice
# raises Python's TypeError -- after growth and get_new_ids have updated
# their state.

_LIMITS = [None, 0, 1, 3, -1, -3, -100000, True, False, 2.5, 'x', '', 0.0]


def _outcome(call):
    """What a call gives: its result (as text: see _both), or the class and
    message of the exception it raised."""
    try:
        return 'returned %r' % (call(),)
    except Exception as e:
        return 'raised %s: %s' % (type(e).__name__, e)


@pytest.mark.parametrize('limit', _LIMITS, ids=repr)
def test_most_common_types_limit_agrees(ref, settled, limit):
    expected, got = _both(
        lambda: _outcome(lambda: ref.most_common_types(limit=limit)),
        lambda: _outcome(lambda: objgraph.most_common_types(limit=limit)))
    assert got == expected


@pytest.mark.parametrize('limit', _LIMITS, ids=repr)
def test_show_most_common_types_limit_agrees(ref, settled, limit):
    def printed(show):
        out = io.StringIO()
        said = _outcome(lambda: show(limit=limit, file=out))
        return said + '\n' + out.getvalue()
    expected, got = _both(lambda: printed(ref.show_most_common_types),
                          lambda: printed(objgraph.show_most_common_types))
    assert got == expected


@pytest.mark.parametrize('limit', _LIMITS, ids=repr)
def test_most_common_types_of_objects_limit_agrees(ref, heap, limit):
    cache, others = heap
    objs = list(cache.values()) + others + [[i] for i in range(20)]
    expected = _outcome(lambda: ref.most_common_types(limit, objs))
    assert _outcome(lambda: objgraph.most_common_types(limit, objs)) \
        == expected
    with objgraph.snapshot() as snap:
        assert _outcome(lambda: snap.most_common_types(limit, objs)) \
            == expected


@pytest.mark.parametrize('limit', _LIMITS, ids=repr)
def test_growth_limit_agrees(ref, settled, limit):
    peak_ref, peak_ours = {}, {}
    ours = _outcome(lambda: objgraph.growth(limit=limit,
                                            peak_stats=peak_ours))
    theirs = _outcome(lambda: ref.growth(limit=limit, peak_stats=peak_ref))
    assert ours == theirs
    # the peaks are recorded whatever the limit, even when slicing fails
    assert peak_ours['Leaky'] == peak_ref['Leaky'] == 300


@pytest.mark.parametrize('limit', _LIMITS, ids=repr)
def test_show_growth_limit_agrees(ref, settled, limit):
    peak_ref, peak_ours = {}, {}
    ref.growth(limit=None, peak_stats=peak_ref)
    objgraph.growth(limit=None, peak_stats=peak_ours)
    new = [Leaky() for _ in range(7)]  # noqa: F841 -- the growth to see
    new_others = [Other() for _ in range(4)]  # noqa: F841
    want, got = io.StringIO(), io.StringIO()
    theirs = _outcome(lambda: ref.show_growth(limit=limit,
                                              peak_stats=peak_ref, file=want))
    ours = _outcome(lambda: objgraph.show_growth(
        limit=limit, peak_stats=peak_ours, file=got))
    assert ours == theirs
    assert got.getvalue() == want.getvalue()


@pytest.mark.parametrize('limit', _LIMITS, ids=repr)
def test_get_new_ids_limit_agrees(ref, settled, limit):
    state_ref, state_ours = {}, {}
    sink = io.StringIO()
    for _ in range(2):
        ref.get_new_ids(file=sink, _state=state_ref)
        objgraph.get_new_ids(file=sink, _state=state_ours)
    a = [Leaky() for _ in range(3)]
    b = [Other() for _ in range(2)]  # noqa: F841
    want, got = io.StringIO(), io.StringIO()
    theirs = _outcome(lambda: sorted(ref.get_new_ids(
        limit=limit, file=want, _state=state_ref)['Leaky']))
    ours = _outcome(lambda: sorted(objgraph.get_new_ids(
        limit=limit, file=got, _state=state_ours)['Leaky']))
    assert ours == theirs
    assert got.getvalue() == want.getvalue()
    # the new ids are recorded whatever the limit, even when slicing fails
    assert state_ours['new']['Leaky'] == state_ref['new']['Leaky'] \
        == {id(x) for x in a}


# -- state built up over several calls ----------------------------------------

class Rising:
    pass


class Fleeting:
    pass


def _rows_of(rows, name):
    return [row for row in rows if row[0] == name]


def test_growth_over_several_calls_agrees(ref, settled):
    """A type rising to 10 objects, falling to 5, rising again to 8: its
    peak stays 10, and it grows again only past 10."""
    peak_ref, peak_ours = {}, {}
    held = []
    seen = []
    for n in (10, 5, 8, 12, 0, 3):
        del held[n:]
        held.extend(Rising() for _ in range(n - len(held)))
        ours = repr(_rows_of(objgraph.growth(None, peak_ours), 'Rising'))
        theirs = repr(_rows_of(ref.growth(None, peak_ref), 'Rising'))
        assert ours == theirs, 'with %d objects' % n
        assert peak_ours.get('Rising') == peak_ref.get('Rising')
        seen.append((ours, peak_ours.get('Rising')))
    assert seen == [("[('Rising', 10, 10)]", 10), ('[]', 10), ('[]', 10),
                    ("[('Rising', 12, 2)]", 12), ('[]', 12), ('[]', 12)]


def test_show_growth_over_several_calls_agrees(ref, settled):
    peak_ref, peak_ours = {}, {}
    held = []
    for n in (10, 5, 8, 11):
        del held[n:]
        held.extend(Rising() for _ in range(n - len(held)))
        want, got = io.StringIO(), io.StringIO()
        ref.show_growth(None, peak_ref, file=want)
        objgraph.show_growth(None, peak_ours, file=got)
        theirs = [line for line in want.getvalue().splitlines()
                  if line.split()[0] == 'Rising']
        ours = [line for line in got.getvalue().splitlines()
                if line.split()[0] == 'Rising']
        assert ours == theirs, 'with %d objects' % n
        assert peak_ours['Rising'] == peak_ref['Rising'] == max(10, n)
    assert [line.split() for line in ours] == [['Rising', '11', '+1']]


def _printed_row(out, name):
    return [line.split() for line in out.getvalue().splitlines()
            if line.split()[:1] == [name]]


def test_get_new_ids_over_several_calls_agrees(ref, settled):
    """New ids, the old and current counts and the rows printed, call
    after call; a type whose objects are all gone leaves the state."""
    state_ref, state_ours = {}, {}
    held = []
    steps = [(4, 'add 4'), (6, 'add 2'), (3, 'drop 3'), (5, 'drop 1 add 3'),
             (0, 'drop all'), (0, 'none left')]
    for n, what in steps:
        if what == 'drop 1 add 3':
            del held[0]
        del held[n:]
        held.extend(Fleeting() for _ in range(n - len(held)))
        want, got = io.StringIO(), io.StringIO()
        new_ref = ref.get_new_ids(limit=None, file=want, _state=state_ref)
        new_ours = objgraph.get_new_ids(limit=None, file=got,
                                        _state=state_ours)
        assert _printed_row(got, 'Fleeting') == \
            _printed_row(want, 'Fleeting'), what
        assert ('Fleeting' in new_ours) == ('Fleeting' in new_ref), what
        assert new_ours.get('Fleeting') == new_ref.get('Fleeting'), what
        for key in ('old', 'current'):
            assert state_ours[key].get('Fleeting') == \
                state_ref[key].get('Fleeting'), (what, key)
        if n:
            assert new_ours['Fleeting'] <= {id(x) for x in held}
    assert 'Fleeting' not in state_ours['current']
    skipped = objgraph.get_new_ids(skip_update=True, _state=state_ours)
    assert skipped is state_ours['new']


def test_get_new_ids_remembers_shortnames_like_the_reference(ref, settled):
    state_ref, state_ours = {}, {}
    sink = io.StringIO()
    ref.get_new_ids(shortnames=False, file=sink, _state=state_ref)
    objgraph.get_new_ids(shortnames=False, file=sink, _state=state_ours)
    keep = [Fleeting() for _ in range(2)]
    new_ref = ref.get_new_ids(file=sink, _state=state_ref)
    new_ours = objgraph.get_new_ids(file=sink, _state=state_ours)
    assert state_ours['shortnames'] is state_ref['shortnames'] is False
    assert new_ours['test_differential.Fleeting'] == \
        new_ref['test_differential.Fleeting'] == {id(x) for x in keep}


def test_weak_references_are_no_edges_in_the_reference_either(ref, heap):
    """docs/graph-searches.rst: a weak reference is no edge, in objgraph
    3.7.0 as here (so docs/differences.rst does not list it)."""
    import weakref
    target = Rising()
    w = weakref.ref(target)

    def is_target(obj):
        return isinstance(obj, Rising)
    assert objgraph.find_ref_chain(w, is_target) == [w]
    assert ref.find_ref_chain(w, is_target) == [w]
