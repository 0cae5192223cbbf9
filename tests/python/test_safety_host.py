"""The host process survives the engine (issue 12): after ``fork()``, and
when threads or address space run out.

A forked child inherits the OpenMP runtime's record of its thread pool but
not the threads, so a parallel region there waits forever for them; and
libgomp ends the process with status 1 when it cannot create a thread.
Each scenario therefore runs in a child interpreter of its own session,
under a timeout: a hang or an exit fails the test instead of taking pytest
down with it.  The child builds a heap of more than 100k GC objects and
prints what it found; the test checks every line.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(os, 'fork') or not sys.platform.startswith('linux'),
    reason='fork() and /proc are Linux features')

TIMEOUT = 120  # seconds; a scenario takes one or two

PRELUDE = '''
import gc, os, resource, sys, threading, traceback
import objgraph
from objgraph import _heapgraph as hg

class Leaf:
    def __init__(self, tag, n):
        self.tag = tag
        self.n = n

TAG = ''.join(['safety-', 'tag'])  # one str and one int every Leaf
BIG = 10 ** 40                     # refers to: marked while walked
N_LISTS = 30000
keep = [[Leaf(TAG, BIG) for _ in range(4)] for _ in range(N_LISTS)]
N_LEAF = 4 * N_LISTS
assert len(gc.get_objects()) >= 100000

def expected():
    size = sys.getsizeof(keep[0]) + 4 * sys.getsizeof(keep[0][0])
    if sys.version_info < (3, 11):  # a Leaf's attributes: a dict of its own
        size += 4 * sys.getsizeof(keep[0][0].__dict__)
    return (N_LEAF, N_LEAF, N_LEAF, size, 3)

def analyses():
    """objgraph 3.x functions, a snapshot, its kernels (transpose,
    dominator tree): True when every answer is the heap's."""
    with objgraph.snapshot() as s:
        got = (objgraph.count('Leaf'), objgraph.typestats()['Leaf'],
               s.count('Leaf'), s.retained_size(keep[0]),
               len(s.most_retaining(3)))
    if got != expected():
        print('expected', expected(), 'got', got, flush=True)
    return got == expected()

def refcounts():
    return (sys.getrefcount(TAG), sys.getrefcount(BIG),
            sys.getrefcount(keep[0]), sys.getrefcount(keep[0][0]))

def intact(before):
    """The heap as it was: counts unchanged, the collector and a later
    capture working."""
    return (refcounts() == before and gc.collect() >= 0
            and objgraph.count('Leaf') == N_LEAF)

def vm_size():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmSize:'):
                return int(line.split()[1]) * 1024

def fork_and_report(body):
    """Run body() in a forked child, which prints its own lines; then
    print the child's exit status."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            body()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print('child status', status, flush=True)
'''


def run(body, threads=None, timeout=TIMEOUT):
    """Run PRELUDE + body in a fresh interpreter (OMP_NUM_THREADS=threads,
    unset when None); its stdout lines.  Fails on a hang or on any exit
    status but 0."""
    env = dict(os.environ)
    env.pop('OMP_NUM_THREADS', None)
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    code = PRELUDE + textwrap.dedent(body)
    proc = subprocess.Popen([sys.executable, '-c', code], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the session: forked children
        out, err = proc.communicate()
        pytest.fail('hung for %d s (a child waiting for threads that do '
                    'not exist?)\nstdout:\n%s\nstderr:\n%s'
                    % (timeout, out, err[-3000:]))
    assert proc.returncode == 0, (
        'expected exit status 0, got %d\nstdout:\n%s\nstderr:\n%s'
        % (proc.returncode, out, err[-3000:]))
    return out.splitlines()


# ---- fork ------------------------------------------------------------------

@pytest.mark.parametrize('threads', [None, 1, 4])
def test_a_forked_child_captures_and_analyses_after_the_parent_did(threads):
    lines = run('''
        print('parent', analyses(), flush=True)
        def child():
            print('child', hg.num_threads(), analyses(), flush=True)
            hg.set_num_threads(4)
            print('child asks 4', hg.num_threads(), analyses(), flush=True)
        fork_and_report(child)
        print('parent again', analyses(), flush=True)
    ''', threads)
    assert lines == ['parent True', 'child 1 True', 'child asks 4 1 True',
                     'child status 0', 'parent again True']


def test_a_child_forked_from_a_forked_child_works_too():
    lines = run('''
        analyses()
        def grandchild():
            print('grandchild', analyses(), flush=True)
        def child():
            print('child', analyses(), flush=True)
            fork_and_report(grandchild)
        fork_and_report(child)
    ''', 4)
    assert lines == ['child True', 'grandchild True', 'child status 0',
                     'child status 0']


def test_fork_pool_workers_answer():
    lines = run('''
        import multiprocessing
        def work(i):
            return objgraph.count('Leaf'), hg.num_threads()
        print('parent', analyses(), flush=True)
        with multiprocessing.get_context('fork').Pool(2) as pool:
            print('pool', pool.map(work, range(4), chunksize=1), flush=True)
    ''', 4)
    assert lines == ['parent True',
                     'pool %s' % ([(120000, 1)] * 4,)]


@pytest.mark.parametrize('who_warmed', ['forking thread', 'main thread'])
def test_a_child_forked_from_another_thread_works(who_warmed):
    lines = run('''
        def child():
            print('child', hg.num_threads(), analyses(), flush=True)
        def forker():
            if WARM_HERE:
                analyses()
            fork_and_report(child)
        if not WARM_HERE:
            analyses()
        t = threading.Thread(target=forker)
        t.start()
        t.join()
        print('parent', analyses(), flush=True)
    '''.replace('WARM_HERE', str(who_warmed == 'forking thread')), 4)
    assert lines == ['child 1 True', 'child status 0', 'parent True']


def test_a_thread_the_forked_child_starts_uses_threads_again():
    # the stale pool belongs to the thread that forked; a thread born in
    # the child starts with a fresh runtime state
    lines = run('''
        analyses()
        def child():
            got = []
            t = threading.Thread(
                target=lambda: got.append((hg.num_threads(), analyses())))
            t.start()
            t.join()
            print('child thread', *got[0], flush=True)
            print('child main', hg.num_threads(), analyses(), flush=True)
        fork_and_report(child)
    ''', 4)
    assert lines == ['child thread 4 True', 'child main 1 True',
                     'child status 0']


# ---- limits ----------------------------------------------------------------

LIMITED = '''
    if WARM:
        analyses()
        objgraph.count('Leaf')  # a capture of another shape after it
    before = refcounts()
    LIMIT()
    try:
        print('result', analyses(), flush=True)
    except MemoryError:
        print('raised MemoryError', flush=True)
    except Exception as e:
        print('raised', type(e).__name__, e, flush=True)
    UNLIMIT()
    print('intact', intact(before), flush=True)
    print('later', analyses(), flush=True)
'''


def check_limited(lines):
    """The right result or MemoryError, then the heap as it was."""
    assert len(lines) == 3 and lines[0] in ('result True',
                                            'raised MemoryError'), (
        'expected the result or MemoryError, got %r' % (lines,))
    assert lines[1:] == ['intact True', 'later True'], (
        'expected the heap intact and a later capture right, got %r'
        % (lines,))


@pytest.mark.parametrize('threads', [None, 8])
@pytest.mark.parametrize('warm', [False, True])
@pytest.mark.parametrize('margin_mb', [30, 60, 120])
def test_an_address_space_limit_gives_a_result_or_an_exception(margin_mb,
                                                                warm,
                                                                threads):
    body = (LIMITED.replace('WARM', str(warm))
            .replace('UNLIMIT()', 'resource.setrlimit(resource.RLIMIT_AS, '
                     '(resource.RLIM_INFINITY, resource.RLIM_INFINITY))')
            .replace('LIMIT()', 'resource.setrlimit(resource.RLIMIT_AS, '
                     '(vm_size() + (%d << 20), resource.RLIM_INFINITY))'
                     % margin_mb))
    check_limited(run(body, threads))


NPROC = '''
    def tasks_of(uid):
        """Threads of every process of uid: what RLIMIT_NPROC counts."""
        n = 0
        for pid in os.listdir('/proc'):
            if not pid.isdigit():  # self, thread-self: counted already
                continue
            try:
                with open('/proc/%s/status' % pid) as f:
                    st = dict(line.split(':', 1) for line in f)
            except (OSError, ValueError):
                continue
            if int(st['Uid'].split()[0]) == uid:
                n += int(st['Threads'])
        return n

    def limit():
        if os.geteuid() == 0:  # root ignores RLIMIT_NPROC: become nobody
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            except OSError as e:
                print('skip', e, flush=True)
                os._exit(0)
        n = tasks_of(os.getuid()) + HEADROOM
        resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
        # it bites: HEADROOM threads can live at once, one more cannot
        gate = threading.Event()
        started = []
        try:
            for _ in range(HEADROOM + 1):
                t = threading.Thread(target=gate.wait)
                t.start()
                started.append(t)
        except RuntimeError:
            pass
        gate.set()
        for t in started:
            t.join()
        print('bites', len(started) == HEADROOM, flush=True)
'''


@pytest.mark.parametrize('threads', [None, 8])
@pytest.mark.parametrize('warm', [False, True])
@pytest.mark.parametrize('headroom', [0, 2])
def test_a_process_limit_gives_a_result_or_an_exception(headroom, warm,
                                                        threads):
    # headroom 2: the probe makes some threads, not all it wants
    body = (NPROC.replace('HEADROOM', str(headroom))
            + LIMITED.replace('WARM', str(warm))
            .replace('UNLIMIT()', 'pass  # nobody cannot raise it back')
            .replace('LIMIT()', 'limit()'))
    lines = run(body, threads)
    if lines and lines[0].startswith('skip'):
        pytest.skip('cannot drop privileges: %s' % lines[0])
    assert lines[0] == 'bites True', (
        'the limit must let %d threads start and stop one more, got %r'
        % (headroom, lines))
    check_limited(lines[1:])
