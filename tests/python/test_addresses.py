"""Addresses accepted wherever objects are: on a detached or a loaded
snapshot the analyses return addresses (``id()`` at capture time), and
every method that takes an object takes such an address back, giving the
answer it gives for the object itself.
"""

import sys

import pytest

import objgraph


class Held:
    pass


def build():
    """A holder dict keeping a list of Held objects, each with a payload:
    returned as (holder, items); the caller's frame keeps only holder."""
    items = [Held() for _ in range(20)]
    for item in items:
        item.payload = bytearray(500)
    holder = {'items': items}
    return holder


@pytest.fixture
def detached():
    holder = build()
    snap = objgraph.snapshot(pin=False)
    yield snap, holder
    snap.close()


def test_retained_size_dominator_refcount_excess_take_addresses(detached):
    snap, holder = detached
    items = holder['items']
    for obj in (items, items[0], items[0].payload):
        assert snap.retained_size(id(obj)) == snap.retained_size(obj)
        assert snap.dominator(id(obj)) == snap.dominator(obj)
        assert snap.refcount_excess(id(obj)) == snap.refcount_excess(obj)
    # the dominator comes back as an address, which is taken back
    assert snap.dominator(id(items[0])) == id(items)
    assert snap.dominator(snap.dominator(id(items[0]))) == id(holder)


def test_most_retaining_rows_round_trip(detached):
    snap, _ = detached
    for addr, _name, retained in snap.most_retaining(5):
        assert type(addr) is int
        assert snap.retained_size(addr) == retained


def test_retention_paths_take_addresses(detached):
    snap, holder = detached
    items = holder['items']
    by_object = snap.retention_paths(items)
    by_address = snap.retention_paths([id(o) for o in items])
    assert [(g.signature, g.count, g.retained_bytes) for g in by_address] \
        == [(g.signature, g.count, g.retained_bytes) for g in by_object]
    assert sum(g.count for g in by_address) == len(items)


def test_chain_searches_run_over_addresses(detached):
    snap, holder = detached
    item = holder['items'][3]
    chain = snap.find_backref_chain(id(item), lambda a: a == id(holder))
    assert chain == [id(holder), id(holder['items']), id(item)]
    forward = snap.find_ref_chain(id(holder),
                                  lambda a: a == id(item.payload))
    # (before 3.11 the instance's __dict__ is a node between it and its
    # payload)
    assert forward[:2] == [id(holder), id(holder['items'])]
    assert forward[-1] == id(item.payload)
    assert len(forward) == (4 if sys.version_info >= (3, 11) else 5)


def test_an_unknown_address_is_refused_by_name(detached):
    snap, _ = detached
    missing = 8  # no object lives at address 8
    for method in (snap.retained_size, snap.dominator, snap.refcount_excess):
        with pytest.raises(ValueError, match='obj: no object .* 0x8'):
            method(missing)
    with pytest.raises(ValueError, match='0x8'):
        snap.find_backref_chain(missing, lambda a: False)


def test_a_loaded_snapshot_takes_addresses(detached, tmp_path):
    snap, holder = detached
    path = str(tmp_path / 'heap.hgsnap')
    snap.save(path)
    loaded = objgraph.load(path)
    items = holder['items']
    addr = id(items[0])
    assert loaded.retained_size(addr) == snap.retained_size(addr)
    assert loaded.dominator(addr) == id(items)
    assert loaded.refcount_excess(addr) == snap.refcount_excess(addr)
    assert sum(g.count for g in loaded.retention_paths(
        [id(o) for o in items])) == len(items)
    chain = loaded.find_backref_chain(
        addr, lambda a: loaded.node_at(a).type == 'dict')
    assert chain == [id(holder), id(items), addr]
    with pytest.raises(ValueError, match='takes an address'):
        loaded.find_backref_chain(items[0], lambda a: True)


def test_a_pinned_snapshot_reads_an_int_as_an_object():
    holder = [int('7' * 40)]  # an int object only the list holds
    with objgraph.snapshot() as snap:
        assert snap.retained_size(holder[0]) == sys.getsizeof(holder[0])
        assert snap.dominator(holder[0]) is holder
