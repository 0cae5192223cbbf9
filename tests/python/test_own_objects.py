"""objgraph's own objects are never counted or reported: the snapshots a
program keeps, their cached masks and type-name lists, the engine's graph
and the registry that finds them are left out of every capture, so a
leak-free loop that keeps its snapshots reports no suspect.
"""

import subprocess
import sys

import objgraph


def run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'objgraph', *args],
                          capture_output=True, text=True, timeout=300)


def test_a_leak_free_loop_of_saved_snapshots_has_no_suspect(tmp_path):
    # as docs/cli.rst shows it, the previous snapshot still alive (and its
    # type names computed by save) while the next one is taken
    paths = [str(tmp_path / ('round-%03d.hgsnap' % round))
             for round in range(5)]  # made first: a growing list leaks
    for path in paths:
        snap = objgraph.snapshot(pin=False)
        snap.save(path)
        snap.most_common_types()  # cached masks and names
    del snap
    proc = run_cli('suspects', *paths, '--fail-on-leak')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'no suspect' in proc.stdout


def test_kept_snapshots_are_not_suspects():
    snaps = []
    for _ in range(4):
        snaps.append(objgraph.snapshot(pin=False))
        snaps[-1].retained_by_type(3)
    assert objgraph.leak_suspects(snaps) == []
    for snap in snaps:
        snap.close()


def test_a_snapshot_never_counts_another():
    with objgraph.snapshot(pin=False) as first:
        first.most_common_types()
        with objgraph.snapshot() as second:
            assert second.count('Snapshot') == 0
            assert second.by_type('Snapshot') == []
            assert first not in second.by_type('Snapshot')
            assert second.count('Graph') == 0
