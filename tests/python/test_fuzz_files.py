"""Fuzzing the snapshot file reader from Python, with hypothesis.

Mutations of a real snapshot file -- bytes rewritten inside a section, or
a count in the header -- with every checksum recomputed afterwards, so
that the checks behind the checksums (section lengths, the CSR, type ids,
string tables, labels) are what meets them.  Each mutated file either
raises ``objgraph.SnapshotError`` naming it, or loads and then answers
queries (type statistics, leak analyses, retention paths) without
crashing.  Bounded: a fixed number of examples, derandomized, so CI runs
the same cases every time.  (libFuzzer runs on the C reader in
``make fuzz``; this drives the same reader through the Python API.)
"""

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import objgraph
from objgraph import _heapgraph

HEADER = 256  # bytes of the fixed header
ENTRY = 32  # bytes of a section table entry
SUM_AT = 248  # the header checksum's offset
COUNTS = (36, 40, 44, 56)  # nodes, tracked, types, labelled nodes (u32)
N_SECTIONS_AT = 32


def reseal(data):
    """Recompute every section's checksum and the header's, in place."""
    n = struct.unpack_from('=I', data, N_SECTIONS_AT)[0]
    if n > 64 or HEADER + ENTRY * n > len(data):
        return
    for i in range(n):
        at = HEADER + ENTRY * i
        _, _, off, length, _ = struct.unpack_from('=IIQQQ', data, at)
        if off + length <= len(data):
            struct.pack_into('=Q', data, at + 24, _heapgraph.checksum(
                bytes(data[off:off + length])))
    seed = _heapgraph.checksum(bytes(data[HEADER:HEADER + ENTRY * n]))
    struct.pack_into('=Q', data, SUM_AT,
                     _heapgraph.checksum(bytes(data[:SUM_AT]), seed))


def sections(data):
    n = struct.unpack_from('=I', data, N_SECTIONS_AT)[0]
    return [struct.unpack_from('=IIQQQ', data, HEADER + ENTRY * i)
            for i in range(n)]


def answer_everything(snap):
    """Queries that read every part of a loaded file."""
    len(snap)
    stats = snap.typestats()
    snap.most_common_types(5)
    snap.get_leaking_ids()
    snap.retained_by_type(5)
    snap.most_retaining(3)
    snap.cycles(3)
    for name in list(stats)[:2]:
        for group in snap.retention_paths(name, 2):
            snap.node_at(group.example[-1])
    snap.type_graph(10)


def test_resealed_mutations_load_or_raise_snapshot_error(tmp_path):
    good_path = tmp_path / 'good.hgsnap'
    with objgraph.snapshot(pin=False) as snap:
        snap.save(good_path)
    good = good_path.read_bytes()
    table = sections(good)
    bad_path = tmp_path / 'bad.hgsnap'
    outcomes = {'loaded': 0, 'refused': 0}

    @settings(max_examples=400, deadline=None, database=None,
              derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def mutate_and_load(data):
        buf = bytearray(good)
        for _ in range(data.draw(st.integers(1, 3), label='mutations')):
            if data.draw(st.booleans(), label='in header'):
                at = data.draw(st.sampled_from(COUNTS), label='count')
                value = data.draw(st.integers(0, 2 ** 32 - 1), label='value')
                struct.pack_into('=I', buf, at, value)
            else:
                _, _, off, length, _ = data.draw(st.sampled_from(table),
                                                 label='section')
                if length == 0:
                    continue
                at = off + data.draw(st.integers(0, length - 1), label='at')
                new = data.draw(st.binary(min_size=1, max_size=8),
                                label='bytes')
                buf[at:at + len(new)] = new[:len(buf) - at]
        reseal(buf)
        bad_path.write_bytes(bytes(buf))
        try:
            loaded = objgraph.load(bad_path)
        except objgraph.SnapshotError as e:
            assert str(bad_path) in str(e)
            outcomes['refused'] += 1
            return
        outcomes['loaded'] += 1
        answer_everything(loaded)

    mutate_and_load()
    # both outcomes happen: the mutations reach past the checksums
    assert outcomes['refused'] > 0 and outcomes['loaded'] > 0, outcomes


def test_reseal_keeps_a_good_file_good(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    with objgraph.snapshot(pin=False) as snap:
        snap.save(path)
    data = bytearray(path.read_bytes())
    reseal(data)
    assert bytes(data) == path.read_bytes()
    answer_everything(objgraph.load(path))
