"""Immortal objects (CPython 3.12 on): the capture never writes their
reference counts, and the snapshot calls them what they are.

The native capture marks untracked objects through their reference counts
and puts the counts back afterwards; an immortal object's count must stay
exactly as it was, word for word, through every capture (serial and
parallel walk, native and portable).  Each scenario runs in a fresh
interpreter, so that the walk it asks for (one thread or two, a small or a
large heap) is the one that runs.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 12),
    reason='CPython %d.%d has no immortal objects (3.12 on)'
    % sys.version_info[:2])

_SCENARIO = textwrap.dedent('''
    import ctypes, gc, sys
    import objgraph

    def word(o):
        # the whole ob_refcnt word, both halves of 3.12's split count
        return ctypes.c_ssize_t.from_address(id(o)).value

    def immortal(o):
        # _Py_IsImmortal: the low half of the count, signed, is negative
        return ctypes.c_int32.from_address(id(o)).value < 0

    # an interned string: immortal in 3.12 (3.13's sys.intern makes
    # mortal ones; the runtime's own names stay immortal)
    interned = sys.intern('objgraph_immortal_probe_name')
    if not immortal(interned):
        interned = '__name__'
    immortals = [None, True, False, 0, 1, -5, 255, '', 'a', (), int, str,
                 type, object, interned, Ellipsis, NotImplemented]
    assert all(immortal(o) for o in immortals), \
        [o for o in immortals if not immortal(o)]
    # a heap that refers to each many times, from tracked and untracked
    # objects, so that every walk meets them again and again
    heap = [[None, True, 0, '', (), int, interned, i]
            for i in range(int(sys.argv[1]))]
    frozen = tuple((None, False, 1, 'a') for _ in range(1000))
    before = [word(o) for o in immortals]
    for _ in range(3):
        with objgraph.snapshot(pin=False) as snap:
            assert snap.capture_kind == sys.argv[2], snap.capture_kind
            after = [word(o) for o in immortals]
            assert after == before, list(zip(immortals, before, after))
            assert snap.immortal_objects >= len(immortals), \\
                snap.immortal_objects
            assert snap.saturated_refcounts == 0
            for o in (None, int, interned):
                try:
                    snap.refcount_excess(o)
                except ValueError as e:
                    assert 'immortal' in str(e), e
                else:
                    raise AssertionError('excess of immortal %r' % (o,))
            assert snap.refcount_excess(heap) >= 0  # mortal: answered
    assert [word(o) for o in immortals] == before
    gc.collect()
    print('ok', len(heap), snap.immortal_objects)
''')


@pytest.mark.parametrize('capture', ['native', 'portable'])
@pytest.mark.parametrize('threads,size', [
    (1, 1000),      # the serial walk
    (2, 100_000),   # the parallel walk (32k tracked objects or more)
])
def test_capture_leaves_immortal_counts_untouched(capture, threads, size):
    from objgraph import _heapgraph
    if capture == 'native' and not _heapgraph.NATIVE_CAPTURE:
        pytest.skip('no native capture built for CPython %d.%d'
                    % sys.version_info[:2])
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               OBJGRAPH_CAPTURE=capture)
    out = subprocess.run(
        [sys.executable, '-c', _SCENARIO, str(size), capture], env=env,
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith('ok %d ' % size), out.stdout


def test_immortal_objects_are_roots_not_garbage():
    import objgraph
    with objgraph.snapshot() as snap:
        roots = snap.roots()
        assert snap.immortal_objects > 0
        # tracked roots only; an immortal container (the empty tuple is
        # untracked) is never reported as unreachable garbage
        assert () not in snap.unreachable()
    assert sys.modules in roots
