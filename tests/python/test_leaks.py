"""Leak analysis through the public API: roots, dominators, retained sizes,
retention paths, cycles, diffs and leak suspects.

Heaps are built inside helper functions so that the test's own frame
holds only the top object (a frame's references come from outside the
graph: whatever a local variable holds is a root).  Objects inside are
fetched after the snapshot is taken, which a frozen graph does not see.
"""

import ctypes
import io
import json
import sys
import types
from sys import getsizeof

import pytest

import objgraph
from objgraph import _heapgraph


class Leak:
    pass


class Grower:
    pass


class RingNode:
    __slots__ = ('next',)


class Chain:
    __slots__ = ('next',)


class Garbage:
    pass


def sizes(*objs):
    return sum(map(getsizeof, objs))


# -- hand-built heaps ---------------------------------------------------------

def _tree():
    return [[[bytearray(100)], [bytearray(200)]]]


def _diamond():
    d = [bytearray(300)]
    return [[[d], [d]]]


def _ring():
    a, b, c = [], [], []
    a.append(b)
    b.append(c)
    c.append(a)
    return [a]


def _held_from_c():
    d = [bytearray(400)]
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(d))
    return [[d]]


def test_exclusive_tree_dominators_and_retained_sizes(quiet_gc):
    holder = _tree()
    with objgraph.snapshot() as snap:
        a = holder[0]
        b, c = a
        assert snap.dominator(holder) is None  # a root: held by this frame
        assert snap.dominator(a) is holder
        assert snap.dominator(b) is a
        assert snap.dominator(c) is a
        assert snap.dominator(b[0]) is b  # untracked: found through b
        assert snap.retained_size(b[0]) == getsizeof(b[0])
        assert snap.retained_size(b) == sizes(b, b[0])
        assert snap.retained_size(c) == sizes(c, c[0])
        assert snap.retained_size(a) == sizes(a, b, c, b[0], c[0])
        assert snap.retained_size(holder) == (getsizeof(holder)
                                              + snap.retained_size(a))


def test_diamond_is_dominated_by_its_top(quiet_gc):
    holder = _diamond()
    with objgraph.snapshot() as snap:
        a = holder[0]
        b, c = a
        d = b[0]
        assert snap.dominator(d) is a, 'two paths meet at a'
        assert snap.retained_size(b) == getsizeof(b)
        assert snap.retained_size(c) == getsizeof(c)
        assert snap.retained_size(a) == sizes(a, b, c, d, d[0])


def test_ring_is_retained_by_its_entry(quiet_gc):
    holder = _ring()
    with objgraph.snapshot() as snap:
        a = holder[0]
        b = a[0]
        c = b[0]
        assert snap.dominator(a) is holder
        assert snap.dominator(b) is a
        assert snap.dominator(c) is b
        assert snap.retained_size(a) == sizes(a, b, c)
        assert snap.retained_size(b) == sizes(b, c)
        assert snap.retained_size(c) == getsizeof(c)


def test_object_held_by_a_c_reference_is_a_root(quiet_gc):
    holder = _held_from_c()
    try:
        with objgraph.snapshot() as snap:
            a = holder[0]
            d = a[0]
            assert snap.refcount_excess(d) == 1
            assert snap.refcount_excess(a) == 0
            assert snap.dominator(d) is None
            assert snap.dominator(d[0]) is d
            assert snap.retained_size(a) == getsizeof(a), \
                'd is kept alive from C: freeing a frees only a'
            assert any(o is d for o in snap.roots())
            assert not any(o is a for o in snap.roots())
    finally:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(holder[0][0]))


def test_roots_and_unreachable(quiet_gc):
    holder = [Leak()]
    g = Garbage()
    g.me = g
    del g
    with objgraph.snapshot() as snap:
        # (no comprehension mentions holder: that would put it in a cell)
        assert id(holder) in [id(o) for o in snap.roots()]
        garbage = [o for o in snap.unreachable() if type(o) is Garbage]
        assert len(garbage) == 1 and garbage[0].me is garbage[0]
        assert id(holder) not in [id(o) for o in snap.unreachable()]
    with objgraph.snapshot(pin=False) as snap:
        roots = snap.roots()
        assert all(isinstance(r, int) for r in roots)
        assert id(holder) in roots


def test_most_retaining_ranks_the_big_holder_first(quiet_gc):
    big = [bytearray(32 << 20)]
    with objgraph.snapshot() as snap:
        rows = snap.most_retaining(2)
        assert rows[0] == (big, 'list', sizes(big, big[0]))
        assert rows[0][0] is big
        assert rows[1][0] is big[0] and rows[1][1] == 'bytearray'
        assert len(snap.most_retaining(None)) == len(snap.most_retaining(0))
    del rows  # it holds big and big[0] too
    with objgraph.snapshot(pin=False) as snap:
        assert snap.most_retaining(1)[0][0] == id(big)


def _chain(n):
    head = None
    for _ in range(n):
        node = Chain()
        node.next = head
        head = node
    return [head]


def test_retained_by_type_counts_each_byte_once(quiet_gc):
    holder = _chain(1000)
    with objgraph.snapshot() as snap:
        rows = {row[0]: row for row in snap.retained_by_type(None)}
        name, count, shallow, retained = rows['Chain']
        assert count == 1000
        assert shallow == 1000 * getsizeof(holder[0])
        assert retained == shallow, 'a chain retains its bytes once'
        top = snap.retained_by_type(3)
        assert len(top) == 3
        assert [r[3] for r in top] == sorted((r[3] for r in top),
                                             reverse=True)
    del holder


def test_a_long_chain_needs_no_recursion(quiet_gc):
    n = 200_000
    holder = _chain(n)
    with objgraph.snapshot() as snap:
        size = getsizeof(holder[0])
        assert snap.retained_size(holder[0]) == n * size
        tail = holder[0]
        while tail.next is not None:
            tail = tail.next
        assert snap.retained_size(tail) == size
        # one group per path length (limit=None would build n paths of up
        # to n objects each: ask for the first few)
        groups = snap.retention_paths('Chain', limit=2)
        assert [g.count for g in groups] == [1, 1]
        assert groups[0].signature == ('list', 'Chain')
        assert groups[0].example[-1] is holder[0]
        assert groups[0].retained_bytes == n * size
        assert groups[1].signature == ('list', 'Chain.next', 'Chain')
        (deepest,) = snap.retention_paths([tail])
        assert len(deepest.example) == n + 1  # holder first
        assert deepest.example[-1] is tail
        assert deepest.signature[-2:] == ('Chain.next', 'Chain')
        rows = {r[0]: r for r in snap.retained_by_type(None)}
        assert rows['Chain'][1:] == (n, n * size, n * size)


def test_show_most_common_types_with_sizes(quiet_gc):
    keep = [Leak() for _ in range(7)]
    with objgraph.snapshot() as snap:
        out = io.StringIO()
        snap.show_most_common_types(limit=None, file=out, sizes=True)
        lines = out.getvalue().splitlines()
        assert lines[0].split() == ['type', 'count', 'shallow', 'retained']
        row = [line.split() for line in lines if line.split()[0] == 'Leak']
        assert row == [['Leak', '7', str(7 * getsizeof(keep[0])),
                        str(7 * getsizeof(keep[0]))]]
        plain = io.StringIO()
        snap.show_most_common_types(limit=3, file=plain)
        assert 'retained' not in plain.getvalue()
    out = io.StringIO()
    objgraph.show_most_common_types(limit=None, objects=keep, file=out,
                                    sizes=True)
    assert out.getvalue().splitlines()[1].split() == [
        'Leak', '7', str(7 * getsizeof(keep[0])),
        str(7 * getsizeof(keep[0]))]


def _random_heap(rng, n):
    """n lists, each with its own bytearray and up to 3 references to the
    others; the holder refers to the first two.  Returns the holder, the
    lists' ids and the references between them, by index (ints only: the
    caller must hold no list, or the list would be a root)."""
    nodes = [[bytearray(rng.randrange(1, 300))] for _ in range(n)]
    edges = []
    for i in range(n):
        out = [rng.randrange(n) for _ in range(rng.randrange(4))]
        nodes[i].extend(nodes[j] for j in out)
        edges.append(set(out))
    return [nodes[0], nodes[1]], [id(x) for x in nodes], edges


def _reached(edges, entries, removed):
    seen, todo = set(), [e for e in entries if e != removed]
    while todo:
        u = todo.pop()
        if u not in seen:
            seen.add(u)
            todo.extend(v for v in edges[u] if v != removed)
    return seen


def test_random_heaps_match_a_brute_force_reference(quiet_gc):
    """Dominators and retained sizes against their definitions: u
    dominates v when v cannot be reached from the holder without u."""
    import random
    for seed in range(8):
        rng = random.Random(seed)
        holder, ids, edges = _random_heap(rng, 25)
        n = len(ids)
        with objgraph.snapshot() as snap:
            nodes = [snap.at(a) for a in ids]
            live = _reached(edges, (0, 1), None)
            # doms[v]: the nodes whose removal cuts v off (v included)
            doms = {v: {u for u in live
                        if u == v or v not in _reached(edges, (0, 1), u)}
                    for v in live}
            for v in range(n):
                node = nodes[v]
                if v not in live:  # freed, or cyclic garbage
                    if node is None:
                        continue
                    assert snap.dominator(node) is None
                    assert snap.retained_size(node) == 0
                    continue
                strict = doms[v] - {v}
                want = (max(strict, key=lambda u: len(doms[u]))
                        if strict else None)
                got = snap.dominator(node)
                assert (got is holder if want is None
                        else got is nodes[want]), (seed, v, want)
                kept = [w for w in live if v in doms[w]]
                assert snap.retained_size(node) == sum(
                    sizes(nodes[w], nodes[w][0]) for w in kept), (seed, v)
        del nodes, node, got


# -- retention paths ----------------------------------------------------------

def _plant(name, n):
    app = types.ModuleType(name)
    app._cache = {i: {'foo': Leak()} for i in range(n)}
    sys.modules[name] = app


def test_retention_paths_find_a_planted_leak(quiet_gc):
    _plant('leaky_app', 40)
    try:
        with objgraph.snapshot() as snap:
            groups = snap.retention_paths('Leak')
            assert len(groups) == 1, groups
            (group,) = groups
            assert group.signature == (
                "dict['leaky_app']", 'module leaky_app', "dict['_cache']",
                'dict[int]', "dict['foo']", 'Leak'), group.signature
            assert group.count == 40
            leak = group.example[-1]
            assert type(leak) is Leak
            assert group.example[0] is sys.modules
            assert group.example[1] is sys.modules['leaky_app']
            assert group.retained_bytes == 40 * getsizeof(leak)
            objs = objgraph.by_type('Leak')
            assert snap.retention_paths(objs[:3])[0].count == 3
            assert 'RetentionPath 40 objects' in repr(group)
        del groups, group, leak, objs  # other paths to some Leaks
        with objgraph.snapshot(pin=False) as snap:
            (group,) = snap.retention_paths('test_leaks.Leak')
            # detached: labelled as the pinned snapshot is, from the
            # objects found again at their addresses
            assert group.signature == (
                "dict['leaky_app']", 'module leaky_app', "dict['_cache']",
                'dict[int]', "dict['foo']", 'Leak'), group.signature
            assert group.count == 40
            assert group.example[0] == id(sys.modules)
            assert all(isinstance(a, int) for a in group.example)
    finally:
        del sys.modules['leaky_app']


def test_retention_paths_group_by_path_and_rank_by_count(quiet_gc):
    _plant('leaky_a', 5)
    holder = [[Leak() for _ in range(9)]]
    try:
        with objgraph.snapshot() as snap:
            groups = snap.retention_paths('Leak', limit=None)
            assert [g.count for g in groups] == [9, 5]
            assert groups[0].signature == ('list', 'list', 'Leak')
            assert groups[0].example[0] is holder
            assert len(snap.retention_paths('Leak', limit=1)) == 1
            assert snap.retention_paths('NoSuchType') == []
    finally:
        del sys.modules['leaky_a']


# -- cycles -------------------------------------------------------------------

def _rings(n_rings, size):
    rings = []
    for _ in range(n_rings):
        nodes = [RingNode() for _ in range(size)]
        for a, b in zip(nodes, nodes[1:] + nodes[:1]):
            a.next = b
        rings.append(nodes[0])
    return rings


def test_cycles_are_grouped_by_types(quiet_gc):
    holder = _rings(5, 3)
    with objgraph.snapshot() as snap:
        groups = [g for g in snap.cycles(None) if 'RingNode' in g.types]
        assert len(groups) == 1, groups
        (group,) = groups
        assert group.types == ('RingNode',)
        assert group.count == 5
        assert group.size == 15
        assert group.nbytes == 15 * getsizeof(holder[0])
        assert len(group.example) == 3
        assert all(type(o) is RingNode for o in group.example)
        assert any(o is group.example[0].next for o in group.example)
        assert len(snap.cycles(2)) <= 2


# -- diffs and suspects -------------------------------------------------------

def test_diff_growth_new_ids_and_survivors(quiet_gc):
    keep = [Grower() for _ in range(30)]
    for pin in (True, False):
        old = objgraph.snapshot(pin=pin)
        added = [Grower() for _ in range(20)]
        keep.extend(added)
        new = objgraph.snapshot(pin=pin)
        d = new.diff(old)
        rows = {name: (n, delta) for name, n, delta in d.growth(None)}
        assert rows['Grower'][1] == 20
        assert rows['Grower'][0] == len(keep)
        assert d.new_ids()['Grower'] == {id(o) for o in added}
        assert d.survivors()['Grower'] == {id(o) for o in keep[:-20]}
        out = io.StringIO()
        d.show_growth(limit=None, file=out)
        assert any(line.split() == ['Grower', str(len(keep)), '+20']
                   for line in out.getvalue().splitlines())
        old.close()
        new.close()


def test_leak_suspects_find_the_growing_type(quiet_gc):
    _plant('leaky_b', 0)
    cache = sys.modules['leaky_b']._cache
    snaps = []
    try:
        for step in range(4):
            for i in range(300):
                cache[step * 1000 + i] = Grower()
            snaps.append(objgraph.snapshot(pin=False))
        suspects = objgraph.leak_suspects(snaps)
        top = suspects[0]
        assert top.typename == 'Grower'
        counts = top.counts
        assert [b - a for a, b in zip(counts, counts[1:])] == [300] * 3
        assert top.growth == 900
        assert list(top.retained_bytes) == sorted(top.retained_bytes)
        assert top.paths[0].count == counts[-1]
        # the shortest path starts at `cache`, a root (this frame's local)
        assert top.paths[0].signature == ('dict[int]', 'Grower')
        assert 'LeakSuspect Grower +900' in repr(top)
        assert len(objgraph.leak_suspects(snaps, limit=1)) == 1
        assert objgraph.leak_suspects(snaps, paths=0)[0].paths == []
    finally:
        del sys.modules['leaky_b']
        for s in snaps:
            s.close()


# -- types sharing a short name ---------------------------------------------

_DUP_SOURCE = """
class Dup:
    __slots__ = ('payload',)

    def __init__(self, n):
        self.payload = bytearray(n)

kept = []
"""


def _dup_modules():
    """Two modules, each with a class named Dup (dup_home_a.Dup and
    dup_home_b.Dup) and a list ``kept`` of its instances."""
    mods = []
    for name in ('dup_home_a', 'dup_home_b'):
        mod = types.ModuleType(name)
        exec(_DUP_SOURCE, mod.__dict__)
        sys.modules[name] = mod
        mods.append(mod)
    return mods


def _grow_dups(mods, n_a, n_b):
    a, b = mods
    a.kept.extend(a.Dup(1000) for _ in range(n_a - len(a.kept)))
    b.kept.extend(b.Dup(3000) for _ in range(n_b - len(b.kept)))


def _dup_totals(snap):
    """(count, shallow bytes, retained bytes) of both Dup classes, object
    by object: what a row for the short name 'Dup' must sum."""
    dups = snap.by_type('Dup')
    return (len(dups), sizes(*dups),
            sum(snap.retained_size(d) for d in dups))


def test_types_sharing_a_short_name_are_summed(quiet_gc, tmp_path, capsys):
    """retained_by_type and leak_suspects add up the objects, shallow and
    retained bytes of every type with the short name (3 + 5 objects of
    two classes named Dup are 8 Dup, not 5); ``objgraph top`` and
    ``objgraph diff`` print the two apart, qualified."""
    from objgraph._cli import main
    mods = _dup_modules()
    snaps = []
    try:
        for n_a, n_b in ((3, 5), (4, 7), (6, 8)):
            _grow_dups(mods, n_a, n_b)
            snaps.append(objgraph.snapshot(pin=False))
        snap = snaps[-1]
        count, shallow, retained = _dup_totals(snap)
        assert count == 6 + 8
        assert retained == shallow + 6 * getsizeof(bytearray(1000)) \
            + 8 * getsizeof(bytearray(3000))
        rows = {row[0]: row for row in snap.retained_by_type(None)}
        assert rows['Dup'] == ('Dup', count, shallow, retained)
        assert snap.typestats(shortnames=False)['dup_home_b.Dup'] == 8

        path = str(tmp_path / 'dups.hgsnap')
        snap.save(path)
        assert main(['top', path, '--limit', '0', '--json']) == 0
        doc = json.loads(capsys.readouterr().out)
        top = {row['type']: row for row in doc['types']}
        assert 'Dup' not in top
        rows = {row[0]: row for row in snap.retained_by_type(
            None, shortnames=False)}
        for name, n in (('dup_home_a.Dup', 6), ('dup_home_b.Dup', 8)):
            assert top[name] == {'type': name, 'count': n,
                                 'shallow_bytes': rows[name][2],
                                 'retained_bytes': rows[name][3]}
        assert top['dup_home_a.Dup']['retained_bytes'] + top[
            'dup_home_b.Dup']['retained_bytes'] == retained
        first = str(tmp_path / 'first.hgsnap')
        snaps[0].save(first)
        assert main(['diff', first, path, '--limit', '0', '--json']) == 0
        grown = {row['type']: row['delta'] for row in json.loads(
            capsys.readouterr().out)['growth']}
        assert grown['dup_home_a.Dup'] == 6 - 3
        assert grown['dup_home_b.Dup'] == 8 - 5
        assert 'Dup' not in grown

        suspect, = [s for s in objgraph.leak_suspects(snaps, limit=None)
                    if s.typename == 'Dup']
        assert suspect.counts == (3 + 5, 4 + 7, 6 + 8)
        assert suspect.retained_bytes == tuple(_dup_totals(s)[2]
                                               for s in snaps)
    finally:
        for mod in mods:
            del sys.modules[mod.__name__]
        for s in snaps:
            s.close()


def test_long_dict_keys_are_cut_short_inside_their_quotes(quiet_gc,
                                                          tmp_path):
    key = 'a_rather_long_key_' * 5  # 90 characters
    app = types.ModuleType('long_key_app')
    app._cache = {key: [Leak() for _ in range(3)]}
    sys.modules['long_key_app'] = app
    try:
        with objgraph.snapshot() as snap:
            pinned, = snap.retention_paths(app._cache[key])
            path = tmp_path / 'keys.hgsnap'
            snap.save(path)
        loaded, = objgraph.load(path).retention_paths('Leak')
    finally:
        del sys.modules['long_key_app']
    shortened = "dict['a_rather_long_key_a_rather_long_key...']"
    assert len(shortened) == len('dict[]') + 40  # the longest key shown
    assert pinned.signature[-3:] == (shortened, 'list', 'Leak')
    assert loaded.signature[-3:] == (shortened, 'list', 'Leak')


# -- our own text: 1 object, 2 objects ---------------------------------------

class Single:
    __slots__ = ('other',)  # no __dict__ in a cycle on any version


def test_one_of_a_thing_is_singular_in_our_own_text(quiet_gc):
    """'1 object', never '1 objects', in the text of the analyses objgraph
    3.x does not have (its own functions keep its words)."""
    _plant('single_app', 0)
    app = sys.modules['single_app']
    snaps = []
    try:
        app._cache = [Single()]
        a, b = Single(), Single()
        a.other, b.other = b, a  # one cycle of two Single
        app._cycle = [a]
        del a, b
        for n in (1, 1, 2):
            app._cache[n:] = [Single()]
            snaps.append(objgraph.snapshot(pin=False))
        snap = snaps[-1]
        group, = snap.retention_paths(app._cache[:1])
        assert repr(group).startswith('<RetentionPath 1 object, ')
        cycles = [c for c in snap.cycles(None) if c.types == ('Single',)]
        assert repr(cycles[0]).startswith('<CycleGroup 1 cycle, 2 objects, ')
        suspect, = [s for s in objgraph.leak_suspects(snaps, limit=None)
                    if s.typename == 'Single']
        assert repr(suspect).startswith(
            '<LeakSuspect Single +1 object (4 -> 4 -> 5), ')
        out = io.StringIO()
        snap.show_type_graph(limit=None, output=out)
        dot = out.getvalue()
        assert '\\n1 object\\n' in dot and '\\n1 objects\\n' not in dot
    finally:
        del sys.modules['single_app']
        for s in snaps:
            s.close()


def test_most_retaining_rows_print_a_few_items_of_big_objects(quiet_gc):
    """The REPL shows most_retaining() without whole module dicts: each
    row is a tuple whose repr shortens the object."""
    big = {'key%d' % i: ['value %d' % i] * 3 for i in range(5000)}
    with objgraph.snapshot() as snap:
        rows = snap.most_retaining(None)
    row, = [r for r in rows if r.object is big]
    obj, typename, retained = row
    assert (obj, typename) == (big, 'dict') and retained > getsizeof(big)
    assert row == (big, 'dict', retained) and isinstance(row, tuple)
    assert (row.object, row.typename, row.retained_bytes) == tuple(row)
    text = repr(rows[:3])
    assert len(text) < 1000, text
    assert repr(row).startswith("Retainer(object={'key0': ['value 0', ")
    assert repr(row).endswith("...}, typename='dict', retained_bytes=%d)"
                              % retained)
    with objgraph.snapshot(pin=False) as snap:
        top = snap.most_retaining(1)[0]
    assert repr(top) == ('Retainer(object=%d, typename=%r, retained_bytes=%d)'
                         % top)
    del big


def test_a_diff_says_what_it_compares(quiet_gc, tmp_path):
    old = objgraph.snapshot(pin=False)
    grown = [[i] for i in range(100)]
    new = objgraph.snapshot()
    try:
        text = repr(new.diff(old))
        assert text == '<SnapshotDiff %+d nodes, %+d edges: a detached ' \
            'snapshot (%d nodes) -> a pinned snapshot (%d nodes)>' % (
                len(new) - len(old), new.num_edges - old.num_edges,
                len(old), len(new))
        assert len(new) - len(old) >= 200
        path = tmp_path / 'new.hgsnap'
        new.save(path)
        loaded = objgraph.load(path)
        assert repr(loaded.diff(old)).endswith(
            ' -> %r (%d nodes)>' % (str(path), len(new)))
    finally:
        new.close()
        old.close()
    del grown


# -- threads ------------------------------------------------------------------

def _answers(holder):
    with objgraph.snapshot() as snap:
        tree, ring = holder[0][0], holder[1][0]
        paths = [(g.signature, g.count, g.retained_bytes)
                 for g in snap.retention_paths('Leak', limit=None)]
        cycles = [(g.types, g.count, g.size, g.nbytes)
                  for g in snap.cycles(None) if 'RingNode' in g.types]
        return (snap.retained_size(tree), snap.retained_size(tree[0]),
                snap.dominator(tree[1]) is tree,
                snap.retained_size(ring), snap.dominator(ring[0]) is ring,
                paths, cycles,
                {r[0]: r[1:] for r in snap.retained_by_type(None)}['Chain'])


def test_same_answers_for_1_2_and_4_threads(quiet_gc):
    _plant('leaky_c', 25)
    holder = [_tree(), _ring(), _rings(4, 5), _chain(200)]
    before = _heapgraph.num_threads()
    try:
        answers = []
        for n in (1, 2, 4):
            _heapgraph.set_num_threads(n)
            answers.append(_answers(holder))
        assert answers[0] == answers[1] == answers[2]
        assert answers[0][5][0][1] == 25
    finally:
        _heapgraph.set_num_threads(before)
        del sys.modules['leaky_c']


# -- bad input ----------------------------------------------------------------

def test_bad_arguments_name_the_argument(quiet_gc):
    with objgraph.snapshot() as snap:
        with pytest.raises(TypeError, match='typename_or_objects'):
            snap.retention_paths(42)
        with pytest.raises(ValueError, match='limit'):
            snap.retention_paths('Leak', limit=-1)
        with pytest.raises(TypeError, match='limit'):
            snap.most_retaining('10')
        with pytest.raises(TypeError, match='limit'):
            snap.retained_by_type(1.5)
        with pytest.raises(ValueError, match='limit'):
            snap.cycles(-2)
        with pytest.raises(TypeError, match='old'):
            snap.diff(42)
        later = [Leak()]
        with pytest.raises(ValueError, match='obj is not in this snapshot'):
            snap.retained_size(later)
        with pytest.raises(ValueError, match='obj'):
            snap.dominator(later)
        with pytest.raises(ValueError, match='obj'):
            snap.refcount_excess(later)
        with pytest.raises(ValueError, match='3 or more'):
            objgraph.leak_suspects([snap, snap])
        with pytest.raises(TypeError, match='snapshots'):
            objgraph.leak_suspects([1, 2, 3])
        with pytest.raises(TypeError, match='snapshots'):
            objgraph.leak_suspects(7)
        with pytest.raises(ValueError, match='paths'):
            objgraph.leak_suspects([snap] * 3, paths=-1)


def test_closed_snapshot_answers_with_ids(quiet_gc):
    holder = _tree()
    snap = objgraph.snapshot()
    a = holder[0]
    snap.close()
    assert snap.dominator(a) == id(holder)
    assert snap.retained_size(a) > 0
    assert snap.nbytes > 0


def test_allocation_failures_raise_memory_error_and_leak_nothing(quiet_gc):
    _plant('leaky_d', 10)
    holder = [_rings(2, 3)]
    try:
        for k in range(0, 40, 3):
            snap = objgraph.snapshot(pin=False)
            live = _heapgraph.live_bytes()
            nbytes = snap.nbytes
            _heapgraph._alloc_fail_after(k)
            try:
                snap.retention_paths('Leak')
                snap.cycles()
                snap.retained_by_type()
                snap.most_retaining()
            except MemoryError:
                pass
            finally:
                _heapgraph._alloc_fail_after(-1)
            grown = _heapgraph.live_bytes() - live
            cached = snap.nbytes - nbytes  # (arrays get 1 spare byte each)
            assert 0 <= grown - cached < 16, \
                'only the cached arrays stay allocated'

            (group,) = snap.retention_paths('Leak')
            assert group.count == 10
            snap.close()
            del snap
    finally:
        _heapgraph._alloc_fail_after(-1)
        del sys.modules['leaky_d']
    assert holder
