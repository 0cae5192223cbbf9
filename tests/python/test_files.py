"""Snapshot files: Snapshot.save, objgraph.load, SnapshotError.

Round trips compare equal; a save killed with SIGKILL, a full disk (a file
size limit) or a bad path leaves the previous file intact and no temporary
file; concurrent saves and loads; 1000 random corruptions each raise
SnapshotError in a child process, so a crash fails the test instead of
killing the run.
"""

import gc
import json
import os
import random
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from array import array

import pytest

import objgraph
from objgraph import _heapgraph


class Thing:
    pass


def _run_child(code, timeout=120):
    """Run code in a fresh interpreter; a crash is a failed assertion."""
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        'child exited with %d (negative: killed by that signal)\n'
        'stdout: %s\nstderr: %s' % (proc.returncode, proc.stdout[-2000:],
                                    proc.stderr[-2000:]))
    return proc.stdout


def _leftovers(directory):
    return sorted(n for n in os.listdir(directory) if '.tmp-' in n)


def _edges(snap):
    g = snap._g
    return [g.referents(v) for v in range(len(g))]


def _nodes(snap):
    g = snap._g
    return [g.node(v) for v in range(len(g))]


# -- round trips ------------------------------------------------------------


def test_round_trip_compares_equal(tmp_path):
    keep = [Thing() for _ in range(50)]
    path = tmp_path / 'snap.hgsnap'
    with objgraph.snapshot() as snap:
        snap.save(path)
        loaded = objgraph.load(path)
        assert isinstance(loaded, objgraph.Snapshot)
        assert len(loaded) == len(snap)
        assert loaded.num_edges == snap.num_edges
        assert loaded._g.n_tracked == snap._g.n_tracked
        assert loaded.typestats() == snap.typestats()
        assert loaded.typestats(shortnames=False) == \
            snap.typestats(shortnames=False)
        assert loaded.count('Thing') == snap.count('Thing') == len(keep)
        assert loaded.most_common_types(limit=None) == \
            snap.most_common_types(limit=None)
        assert _nodes(loaded) == _nodes(snap)
        assert _edges(loaded) == _edges(snap)
        assert loaded._g.type_flags() == snap._g.type_flags()
        assert loaded.pause_seconds == snap.pause_seconds
        assert loaded.capture_seconds == snap.capture_seconds
        leaking = snap._g.find([id(o) for o in snap.get_leaking_objects()])
        assert sorted(loaded.get_leaking_ids()) == sorted(leaking)
        assert loaded.by_type_ids('Thing') == \
            sorted(snap._g.find([id(o) for o in keep]))
        assert loaded.type_graph(5) == snap.type_graph(5)
    assert loaded.python_version == '%d.%d.%d' % sys.version_info[:3]
    assert loaded.runtime.startswith('CPython ')
    assert loaded.producer == 'objgraph ' + objgraph.__version__
    assert abs(loaded.created - time.time()) < 600
    assert loaded.file_size == os.path.getsize(path)
    assert not loaded.pinned
    assert 'loaded from' in repr(loaded)


def test_labels_name_modules_classes_and_functions(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    snap = objgraph.snapshot(pin=False)
    snap.save(path)
    loaded = objgraph.load(path)
    labels = {loaded.node(v).label for v in loaded.by_type_ids('module')}
    assert 'objgraph' in labels and 'sys' in labels
    labels = {loaded.node(v).label for v in loaded.by_type_ids('type')}
    assert 'Thing' in labels
    labels = {loaded.node(v).label for v in loaded.by_type_ids('function')}
    assert 'test_labels_name_modules_classes_and_functions' in labels
    info = loaded.node(loaded.by_type_ids('Thing')[0]
                       if loaded.count('Thing') else 0)
    assert isinstance(info, objgraph.NodeInfo)


class KeyedLeak:
    pass


def test_retention_paths_from_a_file_name_dict_keys(tmp_path):
    import types
    app = types.ModuleType('keyed_app')
    app.registry = {'_cache': [KeyedLeak() for _ in range(7)], 3: 'x'}
    sys.modules['keyed_app'] = app
    try:
        path = tmp_path / 'keys.hgsnap'
        with objgraph.snapshot(pin=False) as snap:
            live = snap.retention_paths('KeyedLeak')
            snap.save(path)
        (group,) = objgraph.load(path).retention_paths('KeyedLeak')
        assert group.count == 7
        assert group.signature[-5:] == (
            'module keyed_app', "dict['registry']", "dict['_cache']", 'list',
            'KeyedLeak'), group.signature
        # the same groups as the live snapshot's, with labels
        assert [(g.count, g.retained_bytes) for g in live] == [
            (group.count, group.retained_bytes)]
        assert len(live[0].signature) == len(group.signature)
        # a loaded snapshot saves its labels again
        again = tmp_path / 'again.hgsnap'
        objgraph.load(path).save(again)
        assert objgraph.load(again).retention_paths('KeyedLeak')[0] \
            .signature == group.signature
    finally:
        del sys.modules['keyed_app']


def test_edge_labels_are_checked_when_saving(tmp_path):
    g = objgraph.snapshot(pin=False)._g
    no_labels = (b'', [])
    bad = array('Q', [5, 3]).tobytes()  # not ascending
    with pytest.raises(_heapgraph.FileError, match='ascending'):
        g.save(str(tmp_path / 'x.hgsnap'), *no_labels, 'r', 'p', 0.0, bad,
               ['a', 'b'])
    with pytest.raises(ValueError, match='strings'):
        g.save(str(tmp_path / 'x.hgsnap'), *no_labels, 'r', 'p', 0.0, bad,
               ['a'])
    assert os.listdir(tmp_path) == []


def test_a_loaded_snapshot_saves_the_same_bytes(tmp_path):
    first, second = tmp_path / 'a.hgsnap', tmp_path / 'b.hgsnap'
    objgraph.snapshot(pin=False).save(first)
    objgraph.load(first).save(second)
    assert first.read_bytes() == second.read_bytes()


def _strings(part):
    """The strings of a string table section."""
    count = struct.unpack_from('=Q', part)[0]
    offsets = struct.unpack_from('=%dQ' % (count + 1), part, 8)
    text = part[8 * (count + 2):]
    return [text[a:b].decode() for a, b in zip(offsets, offsets[1:])]


def _string_table(strings):
    data = [s.encode() for s in strings]
    offsets = [0]
    for b in data:
        offsets.append(offsets[-1] + len(b))
    return struct.pack('=%dQ' % (len(data) + 2), len(data),
                       *offsets) + b''.join(data)


def _key_labels(body):
    """Version 3's edge labels as versions 1 and 2 wrote them: the repr of
    the str key of a dict's reference ("'h'" for "dict['h']"), and none
    for the other references (attributes, keys of other types)."""
    if 14 not in body:
        return
    edges = array('Q', body[14][1])
    kept = [(e, text[5:-1]) for e, text in zip(edges, _strings(body[15][1]))
            if text.startswith('dict[') and text[5:6] in ('"', "'")]
    del body[14], body[15]
    if kept:
        body[14] = (0, array('Q', [e for e, _ in kept]).tobytes())
        body[15] = (0, _string_table([text for _, text in kept]))


def _as_version(data, version):
    """The same snapshot file as an earlier release wrote it: format
    version 2 (edge labels: dict keys only, no notes) or 1 (that, with
    node sizes in 8 bytes each and no size overflow section)."""
    n = struct.unpack_from('=I', data, 32)[0]
    table = [struct.unpack_from('=IIQQQ', data, 256 + 32 * i)
             for i in range(n)]
    body = {kind: (flags, data[off:off + length])
            for kind, flags, off, length, _ in table}
    _key_labels(body)
    body.pop(17, None)  # no notes before version 3 (kinds 17 and 18)
    body.pop(18, None)
    if version == 1:
        sizes = array('Q', array('I', body[7][1]))
        for node, _, size in struct.iter_unpack('=IIQ',
                                                body.pop(16, (0, b''))[1]):
            sizes[node] = size
        body[7] = (body[7][0], sizes.tobytes())
    kinds = [kind for kind, *_ in table if kind in body]
    at = 256 + 32 * len(kinds)
    entries, parts = [], []
    for kind in kinds:
        pad = -at % 8
        flags, part = body[kind]
        parts += [bytes(pad), part]
        entries.append(struct.pack('=IIQQQ', kind, flags, at + pad, len(part),
                                   _heapgraph.checksum(part)))
        at += pad + len(part)
    header = bytearray(data[:256])
    struct.pack_into('=I', header, 8, version)  # format version
    struct.pack_into('=Q', header, 24, at)  # file size
    struct.pack_into('=I', header, 32, len(kinds))
    entries = b''.join(entries)
    struct.pack_into('=Q', header, 248, _heapgraph.checksum(
        bytes(header[:248]), _heapgraph.checksum(entries)))
    return bytes(header) + entries + b''.join(parts)


def test_version_1_files_still_load(tmp_path):
    keep = [Thing() for _ in range(20)]
    try:  # calloc'ed: no memory touched, but address space may be short
        keep.append(bytes(5 << 30))
    except MemoryError:
        pass
    path, old = tmp_path / 'v3.hgsnap', tmp_path / 'v1.hgsnap'
    with objgraph.snapshot() as snap:
        snap.save(path)
        data = path.read_bytes()
        assert struct.unpack_from('=I', data, 8)[0] == 3
        old.write_bytes(_as_version(data, 1))
        loaded = objgraph.load(old)
        assert _nodes(loaded) == _nodes(snap)
        assert _edges(loaded) == _edges(snap)
        assert loaded.typestats() == snap.typestats()
        assert loaded.type_graph(5) == snap.type_graph(5)
        if len(keep) > 20:
            assert snap.retained_size(keep[-1]) == sys.getsizeof(keep[-1])
    assert loaded.most_retaining(5) == objgraph.load(path).most_retaining(5)
    # saved again, a version 1 file is the version 2 file it came from,
    # saved again
    (tmp_path / 'v2.hgsnap').write_bytes(_as_version(data, 2))
    objgraph.load(tmp_path / 'v2.hgsnap').save(tmp_path / 'from-v2.hgsnap')
    loaded.save(tmp_path / 'again.hgsnap')
    assert (tmp_path / 'again.hgsnap').read_bytes() == \
        (tmp_path / 'from-v2.hgsnap').read_bytes()


class OldHolder:
    def __init__(self):
        self.cache = {}


class OldItem:
    pass


def _old_heap():
    h = OldHolder()
    h.cache.update((i, OldItem()) for i in range(3))
    return h


def test_version_2_files_still_load(tmp_path):
    """A file of the previous release (version 2, dict keys only) loads
    and prints its paths as that release did; saved again, it is a
    version 3 file printing the same paths."""
    import types
    app = types.ModuleType('old_app')
    app.held = {'h': _old_heap()}
    sys.modules['old_app'] = app
    try:
        path, old = tmp_path / 'v3.hgsnap', tmp_path / 'v2.hgsnap'
        snap = objgraph.snapshot(pin=False)
        snap.save(path)
        data = path.read_bytes()
        old.write_bytes(_as_version(data, 2))
        new, loaded = objgraph.load(path), objgraph.load(old)
        assert struct.unpack_from('=I', old.read_bytes(), 8)[0] == 2
        assert _nodes(loaded) == _nodes(snap)
        assert _edges(loaded) == _edges(snap)
        assert loaded.typestats() == new.typestats()
        assert loaded.most_retaining(5) == new.most_retaining(5)
        (group,) = new.retention_paths('OldItem')
        # (before 3.11 the instance's __dict__ is a node of the path)
        by_attribute = (('OldHolder.cache',) if sys.version_info >= (3, 11)
                        else ('OldHolder', "dict['cache']"))
        tail = ("dict['held']", "dict['h']", *by_attribute, 'dict[int]',
                'OldItem')
        assert group.signature[-len(tail):] == tail, group.signature
        (group2,) = loaded.retention_paths('OldItem')
        # version 2 recorded dict keys, module and class names only
        by_attribute = (('OldHolder',) if sys.version_info >= (3, 11)
                        else ('OldHolder', "dict['cache']"))
        tail = ("dict['held']", "dict['h']", *by_attribute, 'dict',
                'OldItem')
        assert group2.signature[-len(tail):] == tail, group2.signature
        again = tmp_path / 'again.hgsnap'
        loaded.save(again)
        assert struct.unpack_from('=I', again.read_bytes(), 8)[0] == 3
        assert objgraph.load(again).retention_paths('OldItem')[0] \
            .signature == group2.signature
    finally:
        del sys.modules['old_app']


def test_save_pins_nothing_and_works_closed_and_detached(tmp_path):
    t = Thing()
    ref = weakref.ref(t)
    detached = objgraph.snapshot(pin=False)
    detached.save(tmp_path / 'detached.hgsnap')
    assert not detached.pinned
    del t
    gc.collect()
    assert ref() is None, 'saving a detached snapshot kept an object alive'
    pinned = objgraph.snapshot()
    pinned.close()
    pinned.save(tmp_path / 'closed.hgsnap')
    assert len(objgraph.load(tmp_path / 'closed.hgsnap')) == len(pinned)


def test_loaded_snapshot_refuses_queries_that_return_objects(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    loaded = objgraph.load(path)
    for call in (lambda: loaded.by_type('Thing'),
                 lambda: loaded.at(0),
                 lambda: loaded.at_addrs({0}),
                 lambda: loaded.get_leaking_objects(),
                 lambda: loaded.find_backref_chain(object(), bool),
                 lambda: loaded.show_backrefs([object()]),
                 lambda: loaded.typestats(filter=bool),
                 lambda: loaded._g.objects([0])):
        with pytest.raises(ValueError, match='live objects'):
            call()
    assert loaded.count('dict') > 0  # still answers what needs no object


def test_a_loaded_snapshot_outlives_its_file(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    loaded = objgraph.load(path)
    stats = loaded.typestats()
    keep = [Thing() for _ in range(10)]
    objgraph.snapshot(pin=False).save(path)  # replaced by rename
    assert loaded.typestats() == stats
    assert objgraph.load(path).count('Thing') >= len(keep)
    os.remove(path)
    assert loaded.typestats() == stats
    assert len(_edges(loaded)) == len(loaded)


def test_loaded_snapshots_free_their_memory(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    before = _heapgraph.live_bytes()
    for _ in range(3):
        loaded = objgraph.load(path)
        loaded._g.referrers(0)  # builds the reverse graph
        loaded.get_leaking_ids()
        del loaded
    assert _heapgraph.live_bytes() == before


# -- errors -----------------------------------------------------------------


def _load_error(path):
    with pytest.raises(objgraph.SnapshotError) as info:
        objgraph.load(path)
    assert str(path) in str(info.value)
    assert info.value.path == os.fspath(path)
    return info.value.reason


def test_missing_file_directory_and_fifo_raise_snapshot_error(tmp_path):
    assert 'No such file' in _load_error(tmp_path / 'missing.hgsnap')
    assert 'directory' in _load_error(tmp_path)
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    assert 'regular' in _load_error(fifo)  # refused, without blocking


def test_foreign_files_raise_snapshot_error(tmp_path):
    empty = tmp_path / 'empty'
    empty.write_bytes(b'')
    assert 'empty' in _load_error(empty)
    text = tmp_path / 'text'
    text.write_text('hello, world\n' * 100)
    assert 'magic' in _load_error(text)
    png = tmp_path / 'pic.png'
    png.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(300))
    assert 'magic' in _load_error(png)


def test_wrong_version_and_wrong_magic_raise_snapshot_error(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    data = bytearray(path.read_bytes())
    newer = tmp_path / 'newer.hgsnap'
    newer.write_bytes(bytes(data[:8]) + (4).to_bytes(4, sys.byteorder)
                      + bytes(data[12:]))
    assert 'version 4' in _load_error(newer)
    data[1:4] = b'XYZ'
    magic = tmp_path / 'magic.hgsnap'
    magic.write_bytes(bytes(data))
    assert 'magic' in _load_error(magic)


def test_truncated_and_extended_files_raise_snapshot_error(tmp_path):
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    data = path.read_bytes()
    bad = tmp_path / 'bad.hgsnap'
    for n in (1, 8, 100, 255, 256, 1000, len(data) // 2, len(data) - 1):
        bad.write_bytes(data[:n])
        assert 'truncated' in _load_error(bad) or n < 8
    bad.write_bytes(data + b'\0')
    assert 'trailing' in _load_error(bad)


def test_save_errors_raise_snapshot_error_and_leave_nothing(tmp_path):
    snap = objgraph.snapshot(pin=False)
    with pytest.raises(objgraph.SnapshotError, match='No such file'):
        snap.save(tmp_path / 'no' / 'such' / 'dir.hgsnap')
    (tmp_path / 'adir').mkdir()
    with pytest.raises(objgraph.SnapshotError) as info:
        snap.save(tmp_path / 'adir')
    assert 'adir' in str(info.value)
    assert _leftovers(tmp_path) == []


# -- reliability ------------------------------------------------------------


def test_disk_full_raises_and_keeps_the_previous_file(tmp_path):
    """A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) stands in for a
    full disk: the save fails with a clear error, the previous file stays
    loadable and no partial or temporary file is left."""
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    before = objgraph.load(path).typestats()
    # far below any snapshot of an interpreter (a fresh one holds tens of
    # thousands of objects, megabytes of file), whatever this one's size
    limit = 256 * 1024
    assert os.path.getsize(path) > limit
    out = _run_child('''
        import json, resource, signal, sys
        import objgraph
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d))
        snap = objgraph.snapshot(pin=False)
        try:
            snap.save(%r)
        except objgraph.SnapshotError as e:
            print(json.dumps([str(e), e.reason]))
        else:
            print(json.dumps(None))
    ''' % (limit, limit, str(path)))
    result = json.loads(out)
    assert result is not None, 'a save past the file size limit succeeded'
    message, reason = result
    assert str(path) in message and 'File too large' in reason, message
    assert sorted(os.listdir(tmp_path)) == ['snap.hgsnap']
    assert objgraph.load(path).typestats() == before


_SAVER = '''
    import sys
    import objgraph
    path = sys.argv[1]

    class Item:
        pass

    heap = [[Item() for _ in range(50)] for _ in range(4000)]
    i = 0
    while True:
        heap.append([Item() for _ in range(i % 7 + 1)])
        snap = objgraph.snapshot(pin=False)
        print('saving %d %d %d' % (len(snap), snap.num_edges,
                                   snap.count('Item')), flush=True)
        snap.save(path)
        print('saved', flush=True)
        del snap
        i += 1
'''


def test_kill_9_during_save_leaves_a_loadable_file(tmp_path):
    """A child saves a big snapshot in a loop; SIGKILL at random moments,
    several times over the same file; each time the file loads and equals
    a state the child was saving (the last one or the one before)."""
    path = tmp_path / 'snap.hgsnap'
    rnd = random.Random(1234)
    announced = set()
    for attempt in range(5):
        child = subprocess.Popen(
            [sys.executable, '-c', textwrap.dedent(_SAVER), str(path)],
            stdout=subprocess.PIPE, text=True)
        try:
            saved = 0
            while saved < 1 + attempt % 2:
                line = child.stdout.readline()
                assert line, 'the saver died on its own'
                if line.startswith('saving'):
                    announced.add(tuple(map(int, line.split()[1:])))
                else:
                    saved += 1
            time.sleep(rnd.uniform(0, 0.15))
            child.send_signal(signal.SIGKILL)
            for line in child.stdout:  # what it announced before dying
                if line.startswith('saving'):
                    announced.add(tuple(map(int, line.split()[1:])))
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        loaded = objgraph.load(path)
        state = (len(loaded), loaded.num_edges, loaded.count('Item'))
        assert state in announced, (state, sorted(announced)[-3:])
    # a killed save may leave its temporary file; nothing else
    assert set(os.listdir(tmp_path)) - set(_leftovers(tmp_path)) == \
        {'snap.hgsnap'}


def test_threads_snapshot_and_save_at_the_same_time(tmp_path):
    errors = []
    keep = [Thing() for _ in range(100)]
    shared = objgraph.snapshot(pin=False)

    def work(k):
        try:
            for _ in range(3):
                snap = objgraph.snapshot(pin=k % 2 == 0)
                snap.save(tmp_path / ('t%d.hgsnap' % k))
                snap.close()
                shared.save(tmp_path / 'shared.hgsnap')
                assert objgraph.load(tmp_path / ('t%d.hgsnap' % k)) \
                    .count('Thing') >= len(keep)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert objgraph.load(tmp_path / 'shared.hgsnap').typestats() == \
        shared.typestats()
    assert _leftovers(tmp_path) == []


def test_1000_random_corruptions_raise_snapshot_error(tmp_path):
    """Byte flips (biased towards the header and section table),
    truncations and extensions; run in a child so a crash is a failure."""
    path = tmp_path / 'snap.hgsnap'
    objgraph.snapshot(pin=False).save(path)
    out = _run_child('''
        import os, random, sys
        import objgraph
        good = open(%r, 'rb').read()
        bad_path = %r
        rnd = random.Random(42)
        accepted, raised = [], 0
        for i in range(1000):
            data = bytearray(good)
            kind = i %% 4
            if kind == 0:    # truncation
                data = data[:rnd.randrange(len(data))]
            elif kind == 1:  # extension
                data += bytes(rnd.randrange(256) for _ in range(
                    rnd.randrange(1, 64)))
            else:            # 1 to 4 byte flips, half in the first 1 KiB
                for _ in range(rnd.randrange(1, 5)):
                    limit = 1024 if rnd.random() < 0.5 else len(data)
                    data[rnd.randrange(limit)] ^= rnd.randrange(1, 256)
            with open(bad_path, 'wb') as f:
                f.write(data)
            try:
                objgraph.load(bad_path)
            except objgraph.SnapshotError as e:
                raised += 1
                assert bad_path in str(e)
            else:
                if bytes(data) != good:
                    accepted.append(i)
        print(raised, accepted)
    ''' % (str(path), str(tmp_path / 'bad.hgsnap')))
    raised, accepted = out.split(' ', 1)
    assert accepted.strip() == '[]', 'corrupt files accepted: ' + accepted
    assert int(raised) == 1000


def test_label_ids_are_checked_when_saving(tmp_path):
    g = objgraph.snapshot(pin=False)._g
    bad = array('I', [5, 3]).tobytes()  # not ascending
    with pytest.raises(_heapgraph.FileError, match='ascending'):
        g.save(str(tmp_path / 'x.hgsnap'), bad, ['a', 'b'], 'r', 'p', 0.0)
    with pytest.raises(ValueError, match='strings'):
        g.save(str(tmp_path / 'x.hgsnap'), bad, ['a'], 'r', 'p', 0.0)
    assert os.listdir(tmp_path) == []
