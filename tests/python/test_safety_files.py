"""Files that change or are not what they seem: load, save, canary rotation.

A loaded snapshot holds a copy of its file, so truncating the file,
overwriting it in place, or rewriting it (as cp does) while another
process loads it gives the old contents or SnapshotError, never a signal;
``load(path, mmap=True)`` is the opt-in that maps instead.  ``save``
refuses a path naming a device, FIFO, socket or directory and leaves it as
it is.  A canary's ``keep`` counts every canary file of its directory,
earlier runs' included, and touches no other file.

Every scenario runs in a fresh interpreter (a child process): a crash is a
failed assertion naming the signal, not a dead test run, and a child that
blocks (a FIFO opened for writing) fails on its timeout.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# What every child starts with: a heap with 3000 Things (in __main__) and a
# way to save it, and the answers a loaded snapshot gives, to compare.
_PRELUDE = '''
import json, os, random, signal, stat, subprocess, sys, time
import objgraph

class Thing:
    pass

class Other:
    pass

things = [Thing() for _ in range(3000)]


def save_heap(path):
    snap = objgraph.snapshot(pin=False)
    snap.save(path)
    return snap


def answers(snap):
    """What a detached snapshot says: every query reads the whole graph."""
    return (len(snap), snap.num_edges, snap.count('Thing'),
            sorted(snap.typestats(shortnames=False).items()),
            snap.most_retaining(5), snap.retained_by_type(5),
            len(snap.get_leaking_ids()))
'''


def _run_child(code, *args, timeout=120):
    """Run ``code`` (after the prelude) in a fresh interpreter; its exit
    status must be 0 (negative: killed by that signal).  Returns stdout."""
    proc = subprocess.run(
        [sys.executable, '-c', _PRELUDE + textwrap.dedent(code)]
        + [str(a) for a in args],
        capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        'expected the child to exit normally, it exited with %d '
        '(negative: killed by that signal)\nstdout: %s\nstderr: %s'
        % (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:]))
    return proc.stdout


def _result(stdout):
    """The child's last line: a JSON document of what it found."""
    return json.loads(stdout.strip().splitlines()[-1])


# -- load: a file that changes while loaded, or while being loaded ----------

def test_truncating_a_loaded_file_changes_nothing(tmp_path):
    """The file shrinks to half, then to nothing, after load(): every
    query (the ones that crashed with SIGBUS) and a save give what they
    gave before; loading the truncated file raises SnapshotError."""
    out = _run_child('''
        path = sys.argv[1]
        save_heap(path)
        loaded = objgraph.load(path)
        assert not loaded.mapped
        before = answers(loaded)
        errors = []
        for size in (os.path.getsize(path) // 2, 0):
            os.truncate(path, size)
            assert answers(loaded) == before, size
            loaded.save(path + '.copy')
            assert answers(objgraph.load(path + '.copy')) == before
            try:
                objgraph.load(path)
            except objgraph.SnapshotError as e:
                errors.append(e.reason)
        print(json.dumps({'things': loaded.count('Thing'),
                          'errors': errors}))
    ''', tmp_path / 'snap.hgsnap')
    result = _result(out)
    assert result['things'] >= 3000, result
    assert len(result['errors']) == 2, result
    assert 'truncated' in result['errors'][0], result
    assert result['errors'][1] == 'empty file', result


def test_overwriting_a_loaded_file_in_place_changes_nothing(tmp_path):
    """The file is overwritten in place -- by another snapshot's bytes
    (same inode, as ``cp other old`` does), then by random bytes of the
    same length: the loaded snapshot answers from its copy (most_retaining
    and save used to crash with SIGSEGV); loading the garbage raises
    SnapshotError."""
    out = _run_child('''
        path, other = sys.argv[1], sys.argv[2]
        save_heap(path)
        loaded = objgraph.load(path)
        before = answers(loaded)
        del things[:2000]
        extra = [Other() for _ in range(500)]
        save_heap(other)
        with open(other, 'rb') as f:
            replacement = f.read()
        inode = os.stat(path).st_ino
        with open(path, 'r+b') as f:  # in place: same inode, no rename
            f.write(replacement)
            f.truncate()
        assert os.stat(path).st_ino == inode
        assert answers(loaded) == before
        assert objgraph.load(path).count('Other') == 500
        n = os.path.getsize(path)
        with open(path, 'r+b') as f:
            f.write(random.Random(7).randbytes(n))
        assert answers(loaded) == before
        loaded.save(path + '.copy')
        assert answers(objgraph.load(path + '.copy')) == before
        try:
            objgraph.load(path)
            garbage = 'loaded'
        except objgraph.SnapshotError as e:
            garbage = e.reason
        print(json.dumps({'things': loaded.count('Thing'),
                          'garbage': garbage}))
    ''', tmp_path / 'snap.hgsnap', tmp_path / 'other.hgsnap')
    result = _result(out)
    assert result['things'] >= 3000, result
    assert 'bad magic' in result['garbage'], result


# The other process: rewrites `path` in place, over and over, the way cp
# does (truncate, then write in pieces) and also without changing its
# length (garbage over the file, then a snapshot's bytes back in pieces:
# torn contents in between), alternating between two snapshots; it stops
# after 60 s or when its parent is gone.
_REWRITER = '''
import os, random, sys, time
path, a, b = sys.argv[1:4]
contents = [open(a, 'rb').read(), open(b, 'rb').read()]
rnd = random.Random(5)
parent = os.getppid()
deadline = time.monotonic() + 60
print('rewriting', flush=True)
i = 0
while time.monotonic() < deadline and os.getppid() == parent:
    data = contents[i % 2]
    if i % 3 == 2:  # in place, same length: garbage, then the snapshot
        with open(path, 'r+b') as f:
            f.write(rnd.randbytes(os.fstat(f.fileno()).st_size))
            f.flush()
            f.seek(0)
            for k in range(0, len(data), 65536):  # torn contents meanwhile
                f.write(data[k:k + 65536])
                f.flush()
            f.truncate()
    else:           # cp: truncate, then write 64 KiB at a time
        with open(path, 'wb') as f:
            for k in range(0, len(data), 65536):
                f.write(data[k:k + 65536])
                f.flush()
    time.sleep(rnd.uniform(0, 0.004))
    i += 1
'''


def test_loading_a_file_another_process_rewrites_in_place(tmp_path):
    """Another process rewrites the file in place, without pause, while
    this one loads it again and again for 3 s (mapped, this used to die
    of SIGBUS within 0.3 s): every load gives one of the two snapshots
    whole -- its answers equal that snapshot's -- or raises
    SnapshotError."""
    out = _run_child('''
        path, a, b = sys.argv[1:4]
        expected = {}
        for name in (a, b):
            if name == b:
                del things[:1000]
            save_heap(name)
            snap = objgraph.load(name)
            expected[snap.count('Thing')] = answers(snap)
        assert len(expected) == 2
        with open(a, 'rb') as src, open(path, 'wb') as dst:
            dst.write(src.read())
        rewriter = subprocess.Popen(
            [sys.executable, '-c', sys.argv[4], path, a, b],
            stdout=subprocess.PIPE, text=True)
        try:
            assert rewriter.stdout.readline() == 'rewriting\\n'
            loads = errors = 0
            reasons = set()
            # 3 s, and on a busy machine until 20 loads were tried (at
            # most 60 s)
            start = time.monotonic()
            while time.monotonic() < start + 3 or (
                    loads + errors < 20 and time.monotonic() < start + 60):
                try:
                    snap = objgraph.load(path)
                except objgraph.SnapshotError as e:
                    errors += 1
                    reasons.add(e.reason.split(':')[0][:40])
                    continue
                got = answers(snap)
                assert got == expected.get(snap.count('Thing')), (
                    'a load gave neither snapshot: %r' % (got[:3],))
                loads += 1
            assert rewriter.poll() is None, 'the rewriter stopped'
        finally:
            rewriter.kill()
            rewriter.wait()
        print(json.dumps({'loads': loads, 'errors': errors,
                          'reasons': sorted(reasons)}))
    ''', tmp_path / 'snap.hgsnap', tmp_path / 'a.hgsnap',
        tmp_path / 'b.hgsnap', _REWRITER, timeout=180)
    result = _result(out)
    assert result['loads'] + result['errors'] >= 20, result
    assert result['loads'] >= 1, result


def test_mmap_is_an_opt_in_that_gives_the_same_answers(tmp_path):
    """load(path, mmap=True) maps the file: same answers as a load, and
    replacing the file by rename (as save does) leaves it intact."""
    out = _run_child('''
        path = sys.argv[1]
        save_heap(path)
        read, mapped = objgraph.load(path), objgraph.load(path, mmap=True)
        assert not read.mapped and mapped.mapped
        assert answers(read) == answers(mapped)
        assert read.file_size == mapped.file_size == os.path.getsize(path)
        assert read.nbytes >= read.file_size
        before = answers(mapped)
        del things[:]
        save_heap(path)  # a new file renamed over the mapped one
        assert answers(mapped) == before
        print(json.dumps({'things': mapped.count('Thing'),
                          'now': objgraph.load(path).count('Thing')}))
    ''', tmp_path / 'snap.hgsnap')
    result = _result(out)
    assert result['things'] >= 3000 and result['now'] < 100, result


def test_the_cli_reads_files_into_memory_unless_told_to_map(tmp_path):
    """python -m objgraph info loads the safe way by default; --mmap maps,
    with the same figures."""
    path = tmp_path / 'snap.hgsnap'
    _run_child('save_heap(sys.argv[1])', path)
    docs = []
    for extra in ([], ['--mmap']):
        proc = subprocess.run(
            [sys.executable, '-m', 'objgraph', 'info', '--json', str(path)]
            + extra, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        docs.append(json.loads(proc.stdout))
    assert docs[0] == docs[1]
    help_text = subprocess.run(
        [sys.executable, '-m', 'objgraph', 'info', '--help'],
        capture_output=True, text=True, timeout=60).stdout
    assert '--mmap' in help_text


# -- save: a path that names something other than a regular file ------------

# Each child makes `path` one kind of node, tries to save there, and
# reports what save raised and what the path is afterwards.
_NODES = '''
import socket
kind, directory = sys.argv[1], sys.argv[2]
os.chdir(directory)  # a socket's path must be short: bind a relative one
path = os.path.join(directory, 'target')
keep = []
if kind == 'char device':
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
elif kind == 'fifo':
    os.mkfifo(path)
elif kind == 'socket':
    sock = socket.socket(socket.AF_UNIX)
    sock.bind('target')
    keep.append(sock)
elif kind == 'directory':
    os.mkdir(path)
    with open(os.path.join(path, 'inside.txt'), 'w') as f:
        f.write('keep me')
elif kind == 'link to a char device':
    os.mknod('device', 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    os.symlink('device', path)
elif kind == 'dangling link':
    os.symlink('missing', path)
before = os.lstat(path)
listing = sorted(os.listdir(directory))
try:
    save_heap(path)
    error = None
except objgraph.SnapshotError as e:
    error = {'message': str(e), 'path': e.path, 'reason': e.reason}
after = os.lstat(path)
same = (stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
        and after.st_ino == before.st_ino and after.st_rdev == before.st_rdev)
try:
    objgraph.load(path)
    loaded = 'loaded'
except objgraph.SnapshotError as e:
    loaded = e.reason
unchanged = sorted(os.listdir(directory)) == listing
print(json.dumps({'error': error, 'same': same, 'path': path,
                  'listing_unchanged': unchanged, 'load': loaded}))
'''

_NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0, reason='mknod of a character device needs root')


@pytest.mark.parametrize('kind, cause', [
    pytest.param('char device', 'a character device', marks=_NEEDS_ROOT),
    ('fifo', 'a FIFO'),
    ('socket', 'a socket'),
    ('directory', 'a directory'),
    pytest.param('link to a char device',
                 'a symbolic link to a character device', marks=_NEEDS_ROOT),
    ('dangling link', 'a symbolic link to a missing file'),
])
def test_save_refuses_a_path_that_is_not_a_regular_file(tmp_path, kind,
                                                        cause):
    """save() to a device node, FIFO (without blocking), socket, directory
    or a link to none of those raises SnapshotError naming the path and
    what it is; the node is left as it was, nothing is added beside it,
    and load() of it raises SnapshotError too (without blocking)."""
    result = _result(_run_child(_NODES, kind, tmp_path, timeout=60))
    error = result['error']
    assert error is not None, 'save replaced the %s' % kind
    assert error['path'] == result['path'], error
    assert result['path'] in error['message'], error
    assert cause in error['reason'], (cause, error)
    assert 'refusing to replace it' in error['reason'], error
    assert result['same'], 'the %s was changed' % kind
    assert result['listing_unchanged'], 'save left a file beside it'
    assert result['load'] != 'loaded', result
    if kind == 'directory':
        assert (tmp_path / 'target' / 'inside.txt').read_text() == 'keep me'


def test_save_through_a_link_to_a_regular_file_keeps_the_link(tmp_path):
    """A symbolic link to a regular file stays a link; the file it leads
    to is replaced by the snapshot."""
    result = _result(_run_child('''
        directory = sys.argv[1]
        real = os.path.join(directory, 'real.hgsnap')
        link = os.path.join(directory, 'link.hgsnap')
        with open(real, 'w') as f:
            f.write('old contents')
        os.symlink('real.hgsnap', link)
        save_heap(link)
        print(json.dumps({
            'link': os.path.islink(link),
            'things': objgraph.load(real).count('Thing'),
            'names': sorted(os.listdir(directory))}))
    ''', tmp_path))
    assert result['link'], result
    assert result['things'] >= 3000, result
    assert result['names'] == ['link.hgsnap', 'real.hgsnap'], result


# -- canary: keep= counts every canary file of the directory ----------------

def test_canary_keep_counts_files_of_earlier_runs(tmp_path):
    """30 start/stop cycles of a canary in one directory, two rounds each,
    with keep=3: 3 snapshots and 3 reports remain (the newest, the last
    run's), and files not named as the canary names them are untouched --
    even near-misses of the pattern and a save's temporary file."""
    unrelated = ['notes.txt', 'snapshot-by-hand.hgsnap', 'report-old.json',
                 'snapshot-20260101-000000-1-0001.hgsnap.bak',
                 'snapshot-20260101-000000-1-0001.hgsnap.tmp-0a1b2c3d',
                 'snapshot-20260101-000000-1-0001.json',
                 'xsnapshot-20260101-000000-1-0001.hgsnap']
    for name in unrelated:
        (tmp_path / name).write_text('keep me')
    result = _result(_run_child('''
        import threading
        import objgraph.canary
        directory = sys.argv[1]
        done = threading.Semaphore(0)
        last = None
        for cycle in range(30):
            reports = []
            def on_report(report):
                reports.append(report)
                done.release()
            canary = objgraph.canary.start(
                interval=3600, delay=3600, directory=directory, keep=3,
                on_report=on_report)
            for _ in range(2):
                canary.trigger()
                assert done.acquire(timeout=60), 'no report in 60 s'
            assert canary.stop(timeout=30)
            assert all(r['errors'] == [] for r in reports), reports
            last = reports
        print(json.dumps({
            'names': sorted(os.listdir(directory)),
            'last': [os.path.basename(r['snapshot']) for r in last]}))
    ''', tmp_path, timeout=300))
    names = result['names']
    for name in unrelated:
        assert (tmp_path / name).read_text() == 'keep me', name
    canary = [n for n in names if n not in unrelated]
    snapshots = [n for n in canary if n.endswith('.hgsnap')]
    reports = [n for n in canary if n.startswith('report-')]
    assert len(snapshots) == 3, 'expected 3 snapshots, found %s' % snapshots
    assert len(reports) == 3, 'expected 3 reports, found %s' % reports
    assert set(result['last']) <= set(snapshots), (result['last'], snapshots)
    assert sorted(canary) == sorted(snapshots + reports + [
        'latest-report.json']), canary
