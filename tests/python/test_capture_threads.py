"""The capture's parallel walk gives the serial walk's graph.

With more than one thread (and a heap of 32k tracked objects or more) the
tracked objects are walked over the OpenMP threads and the untracked
referents renumbered afterwards.  The node ids must be the serial walk's
for any thread count: tracked objects in GC list order, then untracked
ones in order of first occurrence in the edge list.
"""

import gc
import sys

import pytest

from objgraph import _heapgraph as hg

THREADS = (1, 2, 4)


class Item:
    def __init__(self, i, shared):
        self.index = i
        self.label = shared[i % len(shared)]
        self.pair = (i, str(i))  # untracked after a collection
        self.table = {'k%d' % (i % 7): i}  # untracked after a collection


@pytest.fixture(scope='module')
def heap():
    """A heap big enough for the parallel walk: 60k instances, with
    strings shared across the whole heap (so that threads meet the same
    untracked objects), and untracked tuples and dicts whose referents
    only the untracked pass finds."""
    shared = ['shared-%d' % i for i in range(50)]
    items = [Item(i, shared) for i in range(60000)]
    gc.collect()
    before = hg.num_threads()
    yield items
    hg.set_num_threads(before)


def _check_numbering(g):
    """Every untracked id first appears as an edge target in the order
    the serial walk gives: node by node in id order, edge by edge."""
    n_tracked, n = g.n_tracked, len(g)
    next_id = n_tracked
    for v in range(n):
        assert v < max(next_id, n_tracked), (
            'untracked node %d precedes its first reference' % v)
        for t in g.referents(v):
            if t >= next_id:
                assert t == next_id, (
                    'node %d: expected untracked id %d next, found %d'
                    % (v, next_id, t))
                next_id += 1
    assert next_id == n, 'expected %d nodes, numbered %d' % (n, next_id)


def _referent_addresses(g, v):
    """The addresses of node v's referents, in edge order."""
    return [g.node(t)[0] for t in g.referents(v)]


@pytest.mark.parametrize('threads', THREADS)
def test_ids_are_the_serial_walks(heap, threads):
    hg.set_num_threads(threads)
    g = hg.capture(pin=True)
    try:
        _check_numbering(g)
    finally:
        g.close()


@pytest.mark.parametrize('threads', THREADS)
def test_edges_sizes_and_counts_match_the_interpreter(heap, threads):
    hg.set_num_threads(threads)
    sample = heap[::997]
    g = hg.capture(pin=True)
    try:
        for obj in sample:
            (v,) = g.find([id(obj)])
            got = _referent_addresses(g, v)
            assert got == [id(r) for r in gc.get_referents(obj)], (
                'edges of item %d differ' % obj.index)
            assert g.node(v)[2] == sys.getsizeof(obj)
            for name in ('pair', 'table', 'label'):
                (u,) = g.find([id(getattr(obj, name))])
                assert u >= 0, 'no node for item %d.%s' % (obj.index, name)
                _, _, size, refcnt = g.node(u)[:4]
                assert size == sys.getsizeof(getattr(obj, name))
                if name != 'label':  # only the instance refers to them
                    assert refcnt == 1, (
                        'item %d.%s: expected 1 reference, captured %d'
                        % (obj.index, name, refcnt))
    finally:
        g.close()


class Plain:
    """Instances keep their attributes inline (3.11's managed dict)."""

    def __init__(self, i):
        self.a = i
        self.b = str(i)
        self.c = [i]


class PlainChild(Plain):
    pass


class Slotted:
    __slots__ = ('a', 'b')

    def __init__(self, i):
        self.a = i
        self.b = [i]


class ListChild(list):
    pass


def _kinds():
    """One object of each kind the walk traverses inline, or must not."""
    with_dict = Plain(1)
    assert vars(with_dict)  # makes the dict: the inline values are dropped
    deleted = Plain(2)
    del deleted.b  # a hole in the inline values
    extra = Plain(3)
    extra.z = 'beyond the shared keys'
    return {
        'plain': Plain(0), 'with __dict__': with_dict,
        'deleted attribute': deleted, 'extra attribute': extra,
        'subclass': PlainChild(4), 'slots': Slotted(5),
        'list': [1, 'x', (2,), None], 'empty list': [],
        'list subclass': ListChild([1, 2]), 'tuple': (object(), [], 'y'),
        'dict': {'k': [1]}, 'class': Plain,
    }


@pytest.mark.parametrize('threads', (1, 2))
def test_every_kind_of_object_has_the_interpreters_referents(threads):
    """Lists, tuples and plain instances are traversed by the walk itself
    (not through tp_traverse): their edges must still be exactly what
    gc.get_referents() gives, in order, next to the kinds that are not."""
    many = [_kinds() for _ in range(4000)]  # over 32k tracked objects
    gc.collect()
    hg.set_num_threads(threads)
    g = hg.capture(pin=True)
    try:
        for kinds in (many[0], many[-1]):
            for kind, obj in kinds.items():
                found = g.find([id(obj)])
                assert found[0] >= 0, 'no node for the %s' % kind
                got = _referent_addresses(g, found[0])
                assert got == [id(r) for r in gc.get_referents(obj)], (
                    'edges of the %s differ' % kind)
    finally:
        g.close()


class Finalized:
    def __del__(self):
        pass


@pytest.mark.parametrize('threads', THREADS)
def test_has_del_flags_follow_the_type(heap, threads):
    """HG_NODE_HAS_DEL is set on instances of classes with __del__, and
    only there, whichever thread recorded the node."""
    finalized = [Finalized() for _ in range(100)]
    hg.set_num_threads(threads)
    g = hg.capture(pin=True)
    try:
        for obj in finalized[::9] + heap[::4999]:
            (v,) = g.find([id(obj)])
            has_del = bool(g.node(v)[4] & hg.NODE_HAS_DEL)
            assert has_del == isinstance(obj, Finalized), obj
            for t in g.referents(v):  # ints, strs, lists, the class
                assert not g.node(t)[4] & hg.NODE_HAS_DEL
    finally:
        g.close()


def test_thread_counts_agree_on_the_heap(heap):
    """Node and edge counts and type statistics are the same whatever the
    thread count (nothing else runs between the captures but the loop)."""
    results = []
    for threads in THREADS:
        hg.set_num_threads(threads)
        g = hg.capture(pin=False)
        results.append((g.n_tracked, len(g) - g.n_tracked, g.num_edges))
        g.close()
        del g
    first = results[0]
    for threads, got in zip(THREADS, results):
        # each capture leaves at most a few objects behind (the loop's
        # own): the counts may differ by those only
        assert abs(got[1] - first[1]) <= 10, (threads, got, first)
        assert abs(got[2] - first[2]) <= 50, (threads, got, first)


def test_reference_counts_are_restored(heap):
    hg.set_num_threads(4)
    probes = [heap[0].label, heap[1].pair, heap[2].table, None, 12345678]
    before = [sys.getrefcount(p) for p in probes]
    g = hg.capture(pin=False)
    g.close()
    del g
    assert [sys.getrefcount(p) for p in probes] == before


def _tracked_order_matches_gc(g):
    """The tracked ids, frozen ones aside, are gc.get_objects() order
    (generation 0, 1, then 2, each list from its head): the objects both
    hold appear in the same order, and they are nearly all of either."""
    frozen = hg.NODE_FROZEN
    captured = [g.node(i)[0] for i in range(g.n_tracked)
                if not g.node(i)[4] & frozen]
    live = [id(o) for o in gc.get_objects()]
    common = set(captured) & set(live)
    got = [a for a in captured if a in common]
    want = [a for a in live if a in common]
    assert len(common) > len(captured) - 100, (
        'expected the capture and gc.get_objects() to share nearly every '
        'object: %d of %d captured' % (len(common), len(captured)))
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                 None)
    assert first is None, (
        'tracked ids differ from gc list order at the %d-th shared object'
        % first)


def _capture_in_list_order():
    """A pinned capture whose tracked ids are GC list order; its number of
    tracked objects."""
    g = hg.capture(pin=True)
    try:
        _tracked_order_matches_gc(g)
        return g.n_tracked
    finally:
        g.close()


@pytest.mark.parametrize('threads', (2, 4))
def test_tracked_ids_are_gc_list_order(heap, threads):
    """With two threads or more the walk is parallel; the tracked ids
    stay those of the list order."""
    hg.set_num_threads(threads)
    gc.disable()
    try:
        _capture_in_list_order()
    finally:
        gc.enable()


def test_tracked_ids_are_gc_list_order_when_the_heap_outgrew_the_plan(heap):
    """A capture sizes its arrays from the previous one: on a heap that
    has since grown several times over, they grow during the capture, and
    the ids stay those of the list order."""
    hg.set_num_threads(2)
    g = hg.capture(pin=False)
    g.close()
    del g
    grown = [[] for _ in range(400000)]
    gc.collect()
    gc.disable()
    try:
        assert _capture_in_list_order() > len(grown)
    finally:
        gc.enable()
        del grown


@pytest.mark.parametrize('threads, grown', [(2, 0), (4, 0), (2, 600000)])
def test_every_allocation_failure_leaves_the_heap_intact(heap, threads,
                                                         grown):
    """Each allocation of a parallel capture fails in turn (with a grown
    heap, those of arrays growing during the walk among them): every
    failure leaves the reference counts, the GC lists and the allocator as
    they were."""
    hg.set_num_threads(threads)
    g = hg.capture(pin=False)  # plan the next capture for this heap
    g.close()
    del g
    extra = [[] for _ in range(grown)]
    obj, last = heap[5], extra[-1] if extra else heap[-1]
    gc.collect()
    gc.disable()
    try:
        before = [sys.getrefcount(o) for o in (obj, obj.label, last)]
        n_objects = len(gc.get_objects())
        live = hg.live_bytes()
        failed = 0
        for k in range(400):
            hg._alloc_fail_after(k)
            try:
                g = hg.capture(pin=bool(k % 2))
            except MemoryError:
                hg._alloc_fail_after(-1)
                failed += 1
                counts = [sys.getrefcount(o) for o in (obj, obj.label, last)]
                assert counts == before, (
                    'allocation %d failed: counts %s, expected %s'
                    % (k, counts, before))
                assert hg.live_bytes() == live, (
                    'allocation %d failed: memory leaked' % k)
                continue
            hg._alloc_fail_after(-1)
            g.close()
            del g
            break
        hg._alloc_fail_after(-1)
        assert failed > 10, 'expected failures, got %d' % failed
        # the loop's own objects aside, the lists hold what they held
        assert abs(len(gc.get_objects()) - n_objects) <= 10, (
            'GC lists changed: %d objects, expected %d'
            % (len(gc.get_objects()), n_objects))
        _capture_in_list_order()
    finally:
        hg._alloc_fail_after(-1)
        gc.enable()
