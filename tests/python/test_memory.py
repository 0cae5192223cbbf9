"""Memory that goes back: a closed snapshot's memory returns to the system
by itself a few seconds later, and at once with objgraph.release_memory().

Each case runs in a fresh interpreter, whose resident set size (VmRSS)
nothing else moves: a heap of a few hundred thousand objects, its RSS
read, a detached snapshot taken and closed, the RSS read again.
"""

import json
import subprocess
import sys
import textwrap

import objgraph

SCRIPT = textwrap.dedent('''
    import gc, json, sys, time
    import objgraph

    def rss():
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024

    class Item:
        def __init__(self, i):
            self.values = [i, str(i)]

    heap = [Item(i) for i in range(400000)]
    gc.collect()
    before = rss()
    snap = objgraph.snapshot(pin=False)
    nbytes = snap.nbytes
    during = rss()
    snap.close()
    del snap
    gc.collect()
    out = {'before': before, 'during': during, 'nbytes': nbytes}
    if sys.argv[1] == 'release':
        out['released'] = objgraph.release_memory()
        out['after'] = rss()
    else:
        out['closed'] = rss()
        time.sleep(float(sys.argv[2]))
        out['after'] = rss()
    print(json.dumps(out))
''')


def _run(*args):
    out = subprocess.run([sys.executable, '-c', SCRIPT, *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _back(m):
    """RSS after is within 5% (or 32 MB) of RSS before the snapshot."""
    slack = max(0.05 * m['before'], 32 << 20)
    return m['after'] <= m['before'] + slack


def test_release_memory_gives_it_back_at_once():
    m = _run('release')
    assert m['during'] > m['before'] + m['nbytes'] // 2, m  # it was held
    assert m['released'] > 0, m
    assert _back(m), m


def test_memory_goes_back_by_itself_after_a_few_seconds():
    m = _run('wait', '8')
    assert m['closed'] > m['before'] + m['nbytes'] // 2, m  # kept a while
    assert _back(m), m


def test_release_memory_with_nothing_kept_returns_zero():
    objgraph.release_memory()
    assert objgraph.release_memory() == 0


def test_a_forked_child_allocates_while_the_parent_keeps_memory(tmp_path):
    # the trimmer's lock is held across fork(): the child of a process
    # whose trimmer is running takes snapshots without deadlocking
    script = textwrap.dedent('''
        import os, sys
        import objgraph
        objgraph.snapshot(pin=False).close()   # a block kept, a trimmer
        pid = os.fork()
        if pid == 0:
            objgraph.snapshot(pin=False).close()
            objgraph.release_memory()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    ''')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '0'
