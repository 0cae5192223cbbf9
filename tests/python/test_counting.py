"""One counting rule for the leak analyses: diff, leak_suspects,
retained_by_type (objgraph top) and retention_paths (objgraph paths)
count every object a full collection would keep, untracked ones included,
and their tables agree; diffs give bytes, and the objects new and freed.
objgraph 3.x's own functions keep objgraph's rule (tracked objects only):
tests/python/test_differential.py checks those against objgraph 3.7.0.
"""

import objgraph


class Kept:
    pass


def atomic_dicts(n):
    """n dicts of atomic values: the collector does not track them."""
    return [{'a': i, 'b': 'x'} for i in range(n)]


def test_a_diff_counts_untracked_objects():
    held = []
    before = objgraph.snapshot(pin=False)
    held.extend(atomic_dicts(300))
    after = objgraph.snapshot(pin=False)
    rows = {r.type: r for r in after.diff(before).growth(None, sizes=True)}
    assert rows['dict'].delta >= 300
    assert rows['dict'].new >= 300
    assert rows['dict'].new_bytes >= 300 * 64
    plain = dict((name, delta) for name, _, delta in
                 after.diff(before).growth(None))
    assert plain['dict'] == rows['dict'].delta
    for snap in (before, after):
        snap.close()


def test_new_and_freed_objects_by_address_and_type():
    held = [Kept() for _ in range(100)]
    before = objgraph.snapshot(pin=False)
    held.extend(Kept() for _ in range(70))  # made first: no address reused
    del held[:40]
    after = objgraph.snapshot(pin=False)
    (row,) = [r for r in after.diff(before).growth(None, sizes=True)
              if r.type == 'Kept']
    assert (row.count, row.delta, row.new, row.freed) == (130, 30, 70, 40)
    assert row.nbytes == 130 * row.new_bytes // 70
    assert row.freed_bytes == 40 * row.new_bytes // 70
    assert row.bytes_delta == row.new_bytes - row.freed_bytes
    for snap in (before, after):
        snap.close()


def test_suspects_top_and_paths_count_the_same_objects():
    held = []
    snaps = []
    for _ in range(3):
        held.extend(atomic_dicts(200))
        held.extend(Kept() for _ in range(50))
        snaps.append(objgraph.snapshot(pin=False))
    suspects = {s.typename: s for s in objgraph.leak_suspects(snaps, None)}
    last = snaps[-1]
    top = {row[0]: row for row in last.retained_by_type(None)}
    for name in ('dict', 'Kept'):
        assert suspects[name].counts[-1] == top[name][1]
        assert sum(g.count for g in last.retention_paths(name, None)) \
            == top[name][1]
    # the program's own type ranks ahead of the builtin one carrying it
    ranked = [s.typename for s in objgraph.leak_suspects(snaps, None)]
    assert ranked.index('Kept') < ranked.index('dict')
    for snap in snaps:
        snap.close()
