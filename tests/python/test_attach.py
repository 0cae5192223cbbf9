"""``objgraph attach PID -o FILE`` (objgraph._attach) against real child
processes of this interpreter (the same version, so the target can load
this objgraph's extension).

The children run with ``-S`` (no site-packages): they cannot import
objgraph by themselves, so a snapshot proves the injected ``sys.path``
entry, and they say at exit whether it and ``objgraph`` were left
behind.  Each child allows any process of its user to trace it
(``prctl(PR_SET_PTRACER_ANY)``), so gdb, a sibling of the child, may
attach even where ``kernel.yama.ptrace_scope`` is 1; nothing of the
system is changed.  Errors are one line on stderr, exit status 2, and the
target keeps running.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from objgraph import _attach

# The child's first lines: let gdb trace it, then say it is ready.
PRELUDE = '''
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(0x59616d61, ctypes.c_ulong(-1), 0, 0, 0)  # PR_SET_PTRACER_ANY
'''

LEAKY_SERVICE = PRELUDE + '''
import json

class PlantedLeak:
    def __init__(self, n):
        self.n = n

_registry = []  # the leak: every request handled stays here
stop = sys.argv[1]
print('ready', flush=True)
while not os.path.exists(stop):
    for n in range(20):
        _registry.append(PlantedLeak(n))
    time.sleep(0.01)
print(json.dumps({'objgraph': 'objgraph' in sys.modules,
                  'path': sys.path, 'handled': len(_registry)}))
'''

# The main thread sleeps in libc through ctypes.PyDLL, which keeps the GIL
# for the call: no thread can take it, so gdb must never call in.
HOLDS_THE_GIL = PRELUDE + '''
print('ready', flush=True)
ctypes.PyDLL(None).sleep(1000)
'''

# A worker runs Python code all the time (the GIL is almost always held)
# while the main thread waits in join(): attach calls in the main thread
# once the worker is seen running bytecode.
BUSY_IN_PYTHON = PRELUDE + '''
import threading

class Churn:
    pass

def work():
    kept = []
    while True:
        kept.append(Churn())
        sum(range(200))
        if len(kept) > 20000:
            del kept[:10000]

threading.Thread(target=work, daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
'''


def start(tmp_path, source, *args):
    script = tmp_path / 'target.py'
    script.write_text(textwrap.dedent(source))
    child = subprocess.Popen([sys.executable, '-S', str(script), *args],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == 'ready'
    return child


def attach(pid, output, *options):
    """``objgraph attach`` in a child process: (status, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, '-m', 'objgraph', 'attach', str(pid), '-o',
         str(output), *options], capture_output=True, text=True,
        timeout=120)
    return done.returncode, done.stdout, done.stderr


def cli(*args):
    done = subprocess.run([sys.executable, '-m', 'objgraph', *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def state(pid):
    with open('/proc/%d/stat' % pid) as f:
        stat = f.read()
    return stat[stat.rindex(')') + 2]


def assert_one_line_error(status, out, err, *words):
    assert status == 2, 'expected exit status 2, got %d: %s' % (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'objgraph attach: error: '), 'expected one error line, got %r' % err
    for word in words:
        assert word in lines[0], 'expected %r in %r' % (word, lines[0])
    assert out == ''


def assert_still_running(child):
    assert child.poll() is None, 'the target exited (%s)' % child.returncode
    assert state(child.pid) in 'RSD', 'the target is left in state %s' % (
        state(child.pid))


def stop_and_wait(child):
    child.kill()
    child.wait(10)


def test_attach_snapshots_a_leaking_service_that_keeps_running(tmp_path):
    stop = tmp_path / 'stop'
    child = start(tmp_path, LEAKY_SERVICE, str(stop))
    try:
        files = []
        for i in range(3):
            path = tmp_path / ('service-%d.hgsnap' % i)
            status, out, err = attach(child.pid, path)
            assert status == 0, err
            assert out.startswith('process %d (CPython %s): wrote %s ('
                                  % (child.pid, sys.version.split()[0],
                                     path)), out
            assert 'the target paused' in out and err == ''
            files.append(path)
            assert_still_running(child)
            time.sleep(0.2)
        suspects = cli('suspects', '--limit', 3, *files)
        assert 'PlantedLeak' in suspects, suspects
        top = [line for line in suspects.splitlines()
               if line.strip().startswith('PlantedLeak:')]
        assert top and "dict['_registry']" in top[0] and \
            'held by module __main__' in top[0], suspects
        paths = cli('paths', files[-1], 'PlantedLeak')
        assert "dict['_registry'] → list → PlantedLeak" in paths or \
            "dict['_registry'] -> list -> PlantedLeak" in paths, paths
        stop.touch()
        out, _ = child.communicate(timeout=10)
        assert child.returncode == 0
        after = json.loads(out)
        assert after['handled'] > 0
        assert not after['objgraph'], 'objgraph left in sys.modules'
        site = os.path.dirname(os.path.dirname(_attach.__file__))
        assert site not in after['path'], 'sys.path keeps %s' % site
    finally:
        if child.poll() is None:
            stop_and_wait(child)


def test_attach_reaches_a_process_whose_worker_runs_python(tmp_path):
    child = start(tmp_path, BUSY_IN_PYTHON)
    try:
        path = tmp_path / 'busy.hgsnap'
        report = tmp_path / 'busy.html'
        status, out, err = attach(child.pid, path, '--timeout', '20',
                                  '--report', report)
        assert status == 0, err
        assert 'Churn' in cli('top', '--sort', 'count', '--limit', 0, path)
        # --report: the HTML report on the file, written after it
        assert out.splitlines()[-1].startswith(
            'wrote the report on %s to %s (' % (path, report)), out
        assert 'Churn' in report.read_text()
        assert_still_running(child)
    finally:
        stop_and_wait(child)


def test_attach_to_a_process_holding_the_gil_in_c_times_out(tmp_path):
    child = start(tmp_path, HOLDS_THE_GIL)
    try:
        path = tmp_path / 'blocked.hgsnap'
        began = time.monotonic()
        status, out, err = attach(child.pid, path, '--timeout', '2')
        assert time.monotonic() - began < 15
        assert_one_line_error(status, out, err, 'process %d' % child.pid,
                              'busy past the 2s timeout', 'holds the GIL',
                              'left running')
        assert not path.exists()
        assert not [p for p in os.listdir(tmp_path) if 'hgsnap' in p]
        assert_still_running(child)
    finally:
        stop_and_wait(child)


def test_attach_to_no_such_process_fails_in_one_line(tmp_path):
    gone = subprocess.Popen(['true'])
    gone.wait()
    status, out, err = attach(gone.pid, tmp_path / 'x.hgsnap')
    assert_one_line_error(status, out, err,
                          'process %d: no such process' % gone.pid)


def test_attach_to_a_program_that_is_not_python_fails_in_one_line(tmp_path):
    child = subprocess.Popen(['sleep', '100'])
    try:
        status, out, err = attach(child.pid, tmp_path / 'x.hgsnap')
        assert_one_line_error(status, out, err, 'process %d (sleep)'
                              % child.pid, 'is not a Python process')
        assert_still_running(child)
    finally:
        stop_and_wait(child)


def test_attach_to_a_stopped_process_fails_and_leaves_it_stopped(tmp_path):
    child = start(tmp_path, HOLDS_THE_GIL)
    try:
        os.kill(child.pid, signal.SIGSTOP)
        for _ in range(100):
            if state(child.pid) == 'T':
                break
            time.sleep(0.01)
        status, out, err = attach(child.pid, tmp_path / 'x.hgsnap')
        assert_one_line_error(status, out, err, 'is stopped',
                              'kill -CONT %d' % child.pid)
        assert state(child.pid) == 'T'
        os.kill(child.pid, signal.SIGCONT)
    finally:
        stop_and_wait(child)


def test_attach_refuses_interpreters_it_cannot_run_in():
    pid = os.getpid()
    with pytest.raises(_attach.AttachError,
                       match='captures CPython 3.10 and later'):
        _attach.check_version(pid, (3, 9, False))
    with pytest.raises(_attach.AttachError, match='free-threaded'):
        _attach.check_version(pid, (3, 13, True))
    with pytest.raises(_attach.AttachError,
                       match=r'installed for CPython %d\.%d: run '
                             r'python3\.99 -m objgraph attach'
                       % sys.version_info[:2]):
        _attach.check_version(pid, (3, 99, False))
    _attach.check_version(pid, tuple(sys.version_info[:2]) + (False,))
    with pytest.raises(_attach.AttachError, match='this objgraph itself'):
        _attach.check_process(pid)


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which('setpriv'),
                    reason='needs root to run attach as another user')
def test_attach_without_permission_fails_in_one_line(tmp_path):
    nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    if subprocess.run([*nobody, sys.executable, '-c', 'import objgraph'],
                      capture_output=True).returncode != 0:
        pytest.skip('user nobody cannot run this Python and objgraph')
    child = start(tmp_path, LEAKY_SERVICE, str(tmp_path / 'stop'))
    try:
        done = subprocess.run(
            [*nobody, sys.executable, '-m', 'objgraph', 'attach',
             str(child.pid), '-o', '/tmp/objgraph-nobody.hgsnap'],
            capture_output=True, text=True, timeout=60)
        assert_one_line_error(done.returncode, done.stdout, done.stderr,
                              'process %d' % child.pid,
                              'permission refused')
        assert_still_running(child)
    finally:
        stop_and_wait(child)


def test_gdb_permission_refusal_is_one_line_naming_ptrace():
    error = _attach._gdb_error(
        os.getpid(), 'ptrace: Operation not permitted.\nmore text')
    assert 'permission refused to attach with ptrace' in str(error)
    assert '\n' not in str(error)


def test_attach_options_are_checked(tmp_path):
    status, out, err = attach(os.getpid(), tmp_path / 'x.hgsnap',
                              '--timeout', '0')
    assert status == 2 and 'must be > 0' in err
    status, out, err = attach(os.getpid(), tmp_path / 'no' / 'x.hgsnap')
    assert_one_line_error(status, out, err, 'no directory')
