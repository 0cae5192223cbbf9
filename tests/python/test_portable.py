"""The portable capture (capture/portable.c): public C API only, the same
answers as the native one.

OBJGRAPH_CAPTURE, read at each capture, chooses: 'portable' forces it,
'native' the interpreter-internals one, 'auto' (or unset) the native one
where it was built.  Where both are built (CPython 3.11), a mixed heap is
captured by both and compared object by object -- by address, since node
ids may differ -- and a child process running objgraph's functions under
each is compared answer by answer.
"""

import collections
import gc
import json
import os
import subprocess
import sys
import textwrap

import pytest

import objgraph
from objgraph import _heapgraph as hg

both = pytest.mark.skipif(not hg.NATIVE_CAPTURE,
                          reason='the native capture is not built for '
                          'this Python: nothing to compare with')


def _capture(monkeypatch, kind, **kw):
    monkeypatch.setenv('OBJGRAPH_CAPTURE', kind)
    return hg.capture(**kw)


# -- choosing ----------------------------------------------------------------

def test_the_graph_says_which_capture_took_it(monkeypatch):
    g = _capture(monkeypatch, 'portable', pin=False)
    assert g.capture_kind == 'portable'
    monkeypatch.setenv('OBJGRAPH_CAPTURE', 'auto')
    g = hg.capture(pin=False)
    assert g.capture_kind == ('native' if hg.NATIVE_CAPTURE else 'portable')
    monkeypatch.delenv('OBJGRAPH_CAPTURE')
    assert hg.capture(pin=False).capture_kind == g.capture_kind


def test_a_snapshot_says_it_too(tmp_path, monkeypatch):
    monkeypatch.setenv('OBJGRAPH_CAPTURE', 'portable')
    with objgraph.snapshot() as snap:
        assert snap.capture_kind == 'portable'
        assert 'portable capture' in repr(snap)
        path = str(tmp_path / 'p.hgsnap')
        snap.save(path)
    assert objgraph.load(path).capture_kind is None


def test_an_unknown_choice_is_refused(monkeypatch):
    monkeypatch.setenv('OBJGRAPH_CAPTURE', 'fast')
    with pytest.raises(ValueError, match="OBJGRAPH_CAPTURE must be"):
        hg.capture(pin=False)


@pytest.mark.skipif(hg.NATIVE_CAPTURE, reason='the native capture is built')
def test_native_is_refused_where_it_was_not_built(monkeypatch):
    monkeypatch.setenv('OBJGRAPH_CAPTURE', 'native')
    with pytest.raises(RuntimeError, match='without the native capture'):
        hg.capture(pin=False)


# -- the same answers --------------------------------------------------------

class Plain:
    def __init__(self, i):
        self.i = i
        self.name = 'plain-%d' % i
        self.items = [i, (i, 'x'), {'k': i}]


class Slotted:
    __slots__ = ('a', 'b', '__weakref__')

    def __init__(self, a):
        self.a = a
        self.b = [a]


class WithDel:
    def __del__(self):
        pass


class BigSizeof:
    def __sizeof__(self):
        return 12345


class Cycle:
    def __init__(self):
        self.me = self


def _mixed_heap():
    heap = [Plain(i) for i in range(50)]
    heap += [Slotted(i) for i in range(10)]
    heap += [WithDel(), BigSizeof(), Cycle(), bytearray(300), b'b' * 77,
             'ü' * 40, 2 ** 200, 3.25, {1, 2, 3}, frozenset('ab'),
             {'untracked': 1}, ('only', 'atoms'), (Plain(99),), [[]],
             type('Dynamic', (), {})]
    return heap


def _planted(heap):
    """The planted objects and everything they refer to, by address."""
    seen = {}
    todo = list(heap)
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, type):
            continue
        seen[id(o)] = o
        if o is not heap:
            todo.extend(gc.get_referents(o))
    return seen


def _by_address(g, addrs):
    """addr -> (type name, size, refcount, flags, referent addresses)."""
    names = g.type_names(False)
    ids = g.find(list(addrs))
    out = {}
    for a, v in zip(addrs, ids):
        if v == -1 or v == 2 ** 32 - 1:
            continue
        addr, tid, size, rc, fl = g.node(v)
        targets = collections.Counter(g.node(w)[0] for w in g.referents(v))
        out[a] = (names[tid], size, rc, fl, targets)
    return out


@both
def test_native_and_portable_agree_on_a_mixed_heap(monkeypatch, quiet_gc):
    heap = _mixed_heap()
    planted = _planted(heap)
    native = _capture(monkeypatch, 'native', pin=False)
    portable = _capture(monkeypatch, 'portable', pin=False)
    assert (native.capture_kind, portable.capture_kind) == (
        'native', 'portable')
    a = _by_address(native, planted)
    b = _by_address(portable, planted)
    assert a.keys() == b.keys()
    assert len(a) > 200
    for addr in a:
        assert a[addr] == b[addr], (
            'object %r: native %r, portable %r'
            % (planted[addr], a[addr], b[addr]))
    # type counts of the planted classes over the whole heap
    for g in (native, portable):
        names = g.type_names(True)
        counts = collections.Counter(
            names[g.node(v)[1]] for v in range(g.n_tracked))
        assert [counts[n] for n in ('Plain', 'Slotted', 'WithDel',
                                    'Cycle')] == [51, 10, 1, 1]


@both
def test_native_and_portable_agree_with_python_sizes(monkeypatch, quiet_gc):
    heap = _mixed_heap()
    addrs = [id(o) for o in heap]
    a = _by_address(_capture(monkeypatch, 'native', pin=False,
                             sizes='python'), addrs)
    b = _by_address(_capture(monkeypatch, 'portable', pin=False,
                             sizes='python'), addrs)
    assert a == b
    assert a[id(heap[61])][1] == sys.getsizeof(heap[61])  # BigSizeof


def test_sizes_and_counts_are_sys_getsizeof_and_getrefcount(monkeypatch,
                                                           quiet_gc):
    heap = _mixed_heap()
    g = _capture(monkeypatch, 'portable', pin=False)
    got = _by_address(g, [id(o) for o in heap])
    for o in heap:
        name, size, rc, fl, targets = got[id(o)]
        if not isinstance(o, BigSizeof):
            assert size == sys.getsizeof(o), (o, size)
        # now also the loop variable and getrefcount's argument
        assert rc == sys.getrefcount(o) - 2, (o, rc)
        if gc.is_tracked(o):
            assert targets == collections.Counter(
                map(id, gc.get_referents(o))), o


def test_nodes_only_and_pins(monkeypatch):
    heap = _mixed_heap()
    g = _capture(monkeypatch, 'portable', nodes_only=True, pin=False)
    assert g.num_edges == 0 and len(g) == g.n_tracked
    obj = heap[0]
    before = sys.getrefcount(obj)
    g = _capture(monkeypatch, 'portable', pin=True)
    pinned = sys.getrefcount(obj)
    assert pinned == before + 1
    v = g.find([id(obj)])[0]
    assert g.objects([v]) == [obj]
    g.close()
    after = sys.getrefcount(obj)
    assert after == before


def test_a_detached_graph_finds_its_objects_again(monkeypatch):
    heap = _mixed_heap()
    g = _capture(monkeypatch, 'portable', pin=False)
    ids = g.find([id(heap[0]), id(heap[50])])
    assert g.objects(ids) == [heap[0], heap[50]]


def test_excluded_and_module_flags(monkeypatch):
    heap = _mixed_heap()
    g = _capture(monkeypatch, 'portable', pin=False, exclude=(heap,))
    v, m = g.find([id(heap), id(sys.modules[__name__])])
    assert g.node(v)[4] & hg.NODE_EXCLUDED
    assert g.node(m)[4] & hg.NODE_MODULE


FROZEN = []


def test_frozen_objects_that_globals_lead_to_are_tracked_nodes(monkeypatch):
    FROZEN[:] = [Plain(1), Plain(2)]
    gc.collect()
    gc.freeze()
    try:
        g = _capture(monkeypatch, 'portable', pin=False)
        v = g.find([id(FROZEN[0])])[0]
        assert v < g.n_tracked
        assert g.node(v)[4] & hg.NODE_FROZEN
        assert g.node(v)[4] & hg.NODE_TRACKED
        # tracked nodes first, whatever order the walk found them in
        flags = [g.node(i)[4] for i in range(len(g))]
        assert all(f & hg.NODE_TRACKED for f in flags[:g.n_tracked])
        assert not any(f & hg.NODE_TRACKED for f in flags[g.n_tracked:])
        frozen = sum(1 for f in flags if f & hg.NODE_FROZEN)
        assert 0 < frozen <= gc.get_freeze_count()
    finally:
        gc.unfreeze()
        FROZEN.clear()


def test_allocation_failures_with_frozen_objects_leave_counts_intact(
        monkeypatch):
    """Each allocation fails in turn, those of the renumbering that puts
    frozen nodes before the untracked ones among them: the pins are
    dropped from the same table they were taken from."""
    FROZEN[:] = [Plain(i) for i in range(3)]
    gc.collect()
    gc.freeze()
    monkeypatch.setenv('OBJGRAPH_CAPTURE', 'portable')
    obj, unfrozen = FROZEN[0], _mixed_heap()
    gc.disable()
    try:
        before = [sys.getrefcount(o) for o in (obj, obj.name, unfrozen[0])]
        for k in range(400):
            hg._alloc_fail_after(k)
            try:
                g = hg.capture(pin=bool(k % 2))
            except MemoryError:
                hg._alloc_fail_after(-1)
                counts = [sys.getrefcount(o)
                          for o in (obj, obj.name, unfrozen[0])]
                assert counts == before, k
                continue
            hg._alloc_fail_after(-1)
            g.close()
            break
        else:
            pytest.fail('the capture never succeeded')
        assert k > 20
    finally:
        hg._alloc_fail_after(-1)
        gc.enable()
        gc.unfreeze()
        FROZEN.clear()


@pytest.mark.skipif(sys.version_info < (3, 12), reason='no immortal objects')
def test_immortal_objects_are_saturated_roots(monkeypatch):
    g = _capture(monkeypatch, 'portable', pin=False)
    holder = [None]
    v = g.find([id(None)])[0]
    assert g.node(v)[3] == 2 ** 32 - 1
    del holder


# -- objgraph's answers, in a child process under each capture ---------------

_CHILD = '''
import gc, json, sys
import objgraph

class Leaf:
    pass

class Node:
    def __init__(self, i):
        self.i = i
        self.leaves = [Leaf() for _ in range(i % 3)]
        self.meta = {'i': i, 'tag': 't%d' % (i % 5)}

registry = [Node(i) for i in range(300)]
lost = [Node(-1)]
lost.append(lost)
del lost
gc.disable()
with objgraph.snapshot() as snap:
    kind = snap.capture_kind
    leaking = sorted(type(o).__name__ for o in snap.get_leaking_objects()
                     if type(o).__name__ in ('Node', 'Leaf', 'list'))
    chain = snap.find_backref_chain(registry[7].leaves[0],
                                    objgraph.is_proper_module)
print(json.dumps({
    'kind': kind,
    'count': [objgraph.count(n) for n in ('Node', 'Leaf', 'dict')],
    'typestats': {k: v for k, v in objgraph.typestats().items()
                  if k in ('Node', 'Leaf')},
    'chain': [type(o).__name__ for o in chain],
    'leaking': leaking,
    'by_type': len(objgraph.by_type('Leaf')),
}))
'''


def _child(kind):
    env = dict(os.environ, OBJGRAPH_CAPTURE=kind)
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(_CHILD)],
                         capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


@both
def test_objgraph_answers_the_same_under_both_captures():
    native, portable = _child('native'), _child('portable')
    assert (native.pop('kind'), portable.pop('kind')) == (
        'native', 'portable')
    assert native == portable
    assert native['count'][:2] == [301, 302]
    assert native['chain'][-1] == 'Leaf'


def test_objgraph_answers_under_the_portable_capture():
    out = _child('portable')
    assert out['kind'] == 'portable'
    assert out['count'][:2] == [301, 302]
    assert out['typestats'] == {'Node': 301, 'Leaf': 302}
    assert out['chain'][0] == 'module' and out['chain'][-1] == 'Leaf'
    assert out['by_type'] == 302
