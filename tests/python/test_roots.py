"""Roots named by kind (issue 14, item 1).

One script-like heap leaks ``Job`` objects five ways: through module
globals, a class attribute, a local variable of a thread named
'worker-1' (blocked on an Event while holding 30 Jobs), a local of the
main thread (4 Jobs), and a reference held only from C (a list of Jobs
incref'd through ctypes).  Each root must be named for what it is, and
retention paths must keep worker-1's 30 apart from main's 4, each group
saying which thread, function and variable holds it.
"""

import ctypes
import gc
import sys
import threading
import types

import pytest

import objgraph

NATIVE_LOCALS = sys.version_info >= (3, 13) or hasattr(
    objgraph._heapgraph, 'frame_locals')
needs_frames = pytest.mark.skipif(
    not NATIVE_LOCALS,
    reason='thread roots need a way to read locals in place (3.11 and '
           '3.12 with the portable capture have none)')


class Job:
    def __init__(self, n):
        self.n = n


class Cache:
    jobs = []  # the class attribute leak


def _worker(ready, release, n):
    jobs = [Job(i) for i in range(n)]  # held by this local only
    ready.set()
    release.wait(30)
    return len(jobs)


@pytest.fixture
def app():
    """The leaking script: module 'roots_app' (its globals hold 5 Jobs),
    Cache.jobs (6), thread 'worker-1' (30 in a local), 8 Jobs in a list
    held only from C; the main thread's 4 are the test's own local.
    Everything is released in the end, even on failure."""
    module = types.ModuleType('roots_app')
    module.registry = [Job(i) for i in range(5)]
    sys.modules['roots_app'] = module
    Cache.jobs = [Job(i) for i in range(6)]
    from_c = [Job(i) for i in range(8)]
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(from_c))
    c_addr = id(from_c)
    del from_c
    ready, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=_worker, args=(ready, release, 30),
                              name='worker-1', daemon=True)
    worker.start()
    try:
        assert ready.wait(10), 'worker-1 did not start'
        yield types.SimpleNamespace(module=module, c_addr=c_addr)
    finally:
        release.set()
        worker.join(10)
        Cache.jobs = []
        del sys.modules['roots_app']
        obj = _at(c_addr)
        if obj is not None:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(obj))


def _at(addr):
    for o in gc.get_objects():
        if id(o) == addr:
            return o
    return None


def _root_of(roots, obj):
    found = [r for r in roots if r.object is obj]
    assert len(found) == 1, 'expected one root for %r, got %r' % (
        type(obj).__name__, found)
    return found[0]


def _job_groups(snap):
    return {g.root.description: g
            for g in snap.retention_paths('Job', limit=None)}


def test_roots_stay_objects_by_default(app):
    with objgraph.snapshot() as snap:
        roots = snap.roots()
        assert sys.modules in roots
        assert not any(isinstance(r, objgraph.Root) for r in roots)


def test_module_class_interpreter_and_c_roots_are_named(app):
    with objgraph.snapshot() as snap:
        roots = snap.roots(named=True)
        assert all(isinstance(r, objgraph.Root) for r in roots)
        r = _root_of(roots, sys.modules)
        assert (r.kind, r.description) == ('interpreter', 'sys.modules')
        from_c = [r for r in roots if id(r.object) == app.c_addr]
        assert len(from_c) == 1, 'expected the incref\'d list as a root'
        assert from_c[0].kind == 'c'
        assert from_c[0].refcount_excess == 1
        assert from_c[0].description == 'C code: +1 reference'
        groups = _job_groups(snap)
    assert groups['module roots_app'].count == 5
    assert groups['module roots_app'].root.kind == 'module'
    assert ' -> '.join(groups['module roots_app'].signature).endswith(
        "dict['registry'] -> list -> Job")
    cls = 'class %s.Cache' % Cache.__module__
    assert cls in groups, list(groups)
    assert groups[cls].count == 6 and groups[cls].root.kind == 'class'
    # without a way to read worker-1's locals, its 30 Jobs are held from
    # C as well
    assert groups['C code: +1 reference'].count == (
        8 if NATIVE_LOCALS else 8 + 30)


@needs_frames
def test_thread_locals_are_roots_named_by_thread_function_and_variable(app):
    jobs = [Job(i) for i in range(4)]  # the main thread's local
    with objgraph.snapshot() as snap:
        roots = snap.roots(named=True)
        mine = _root_of(roots, jobs)
        assert mine.kind == 'thread'
        assert mine.thread == threading.main_thread().name
        assert mine.function == sys._getframe().f_code.co_name
        assert mine.variable == 'jobs'
        assert mine.filename == __file__
        assert mine.refcount_excess >= 1
        worker = [r for r in roots if r.kind == 'thread'
                  and r.thread == 'worker-1' and r.variable == 'jobs']
        assert len(worker) == 1, [r for r in roots if r.kind == 'thread']
        assert worker[0].function == '_worker'
        assert len(worker[0].object) == 30
        assert worker[0].description.startswith(
            "thread 'worker-1', _worker() at test_roots.py:")
        assert worker[0].description.endswith(", local 'jobs'")
        groups = _job_groups(snap)
    del roots, mine, worker
    by_thread = {g.root.thread: g for g in groups.values()
                 if g.root.kind == 'thread'}
    assert set(by_thread) == {'worker-1', threading.main_thread().name}, \
        'expected two groups of Jobs held by locals, got %r' % list(groups)
    w, m = by_thread['worker-1'], by_thread[threading.main_thread().name]
    assert (w.count, m.count) == (30, 4)
    assert (w.root.function, w.root.variable) == ('_worker', 'jobs')
    assert m.root.variable == 'jobs'
    assert m.root.function == \
        'test_thread_locals_are_roots_named_by_thread_function_and_variable'
    assert w.signature == m.signature == ('list', 'Job')
    assert len(jobs) == 4


@needs_frames
@pytest.mark.skipif(sys.version_info < (3, 11),
                    reason="3.10's frame objects are the running frames "
                           'themselves: reading a stack makes none')
def test_the_frames_read_on_the_calling_thread_are_left_out(app):
    with objgraph.snapshot() as snap:
        here = sys._getframe()
        (v,) = snap._g.find([id(here)])
        assert v >= 0, 'expected the frame of this test in the snapshot'
        assert snap._g.node(v)[4] & objgraph._heapgraph.NODE_EXCLUDED, \
            'expected the frames read to be left out'


@needs_frames
def test_detached_snapshots_name_thread_roots_too(app):
    jobs = [Job(i) for i in range(4)]
    snap = objgraph.snapshot(pin=False)
    groups = _job_groups(snap)
    threads = {g.root.thread: g.count for g in groups.values()
               if g.root.kind == 'thread'}
    assert threads == {'worker-1': 30, threading.main_thread().name: 4}
    assert groups['module roots_app'].root.object == id(app.module)
    assert len(jobs) == 4


def test_loaded_snapshots_give_a_root_of_some_kind(app, tmp_path):
    snap = objgraph.snapshot(pin=False)
    snap.save(tmp_path / 's.hgsnap')
    loaded = objgraph.load(tmp_path / 's.hgsnap')
    groups = loaded.retention_paths('Job', limit=None)
    assert sum(g.count for g in groups) >= 5 + 6 + 8 + 30
    assert all(g.root is not None and g.root.kind in
               ('module', 'class', 'thread', 'interpreter', 'c')
               for g in groups)


@needs_frames
def test_reading_the_stacks_leaves_no_garbage_and_no_new_object(app):
    # the frame objects read are dropped before take() returns: one kept
    # then would own take()'s locals, a cycle; and the records make no
    # object that a later snapshot would count
    gc.collect()
    gc.disable()
    try:
        snaps = [objgraph.snapshot(pin=False) for _ in range(4)]
        assert gc.collect() == 0, 'expected no garbage from a snapshot'
    finally:
        gc.enable()
    assert objgraph.leak_suspects(snaps) == []


def test_the_same_path_through_two_modules_is_two_groups():
    a, b = types.ModuleType('roots_a'), types.ModuleType('roots_b')
    a.registry = [Job(i) for i in range(3)]
    b.registry = [Job(i) for i in range(2)]
    sys.modules.update(roots_a=a, roots_b=b)
    try:
        with objgraph.snapshot() as snap:
            groups = {g.root.description: g.count for g in
                      snap.retention_paths(a.registry + b.registry)}
        assert groups == {'module roots_a': 3, 'module roots_b': 2}
    finally:
        del sys.modules['roots_a'], sys.modules['roots_b']


def test_retention_groups_checks_its_keys():
    with objgraph.snapshot(pin=False) as snap:
        g = snap._g
        with pytest.raises(TypeError, match='go together'):
            g.retention_groups(b'', 0, b'')
        with pytest.raises(ValueError, match='one key per'):
            g.retention_groups(b'', 0, [0, 1], bytes(4))
        with pytest.raises(ValueError, match='ascending'):
            g.retention_groups(b'', 0, [1, 0], bytes(8))
        with pytest.raises(ValueError, match='2\\*\\*31'):
            g.retention_groups(b'', 0, [0], b'\xff' * 4)
