"""A capture runs no user code, and what it cannot know it says.

- Sizes: a ``__sizeof__`` defined in Python is not called unless
  ``sizes='python'`` asks for it (a ``unittest.mock.MagicMock`` records
  every call and grows child mocks); the C size is used instead.
- Names: type names are read from the classes, with no Python code, for
  every class whose metaclass does not compute them; a class whose
  ``__name__`` or ``__module__`` raises (a metaclass property) does not
  make the capture fail: only the answers that need that name raise, with
  the exception objgraph 3.7.0 raises.
- Reference counts of 2**32 - 1 or more are stored saturated: the snapshot
  counts such objects, says so, and refcount_excess refuses them.

Each scenario runs in a fresh interpreter (a child process, which must
exit normally within a timeout and print the expected JSON); the fast
checks after them run in this process.
"""

import gc
import json
import subprocess
import sys
import textwrap
import unittest.mock
import weakref

import pytest

import objgraph

# -- scenarios in a child process --------------------------------------------

_TIMEOUT = 180  # seconds a child may take; each needs a few

# Helpers every child script starts with.  argv[1]: objgraph 3.7.0's path.
_PRELUDE = '''
import gc, importlib.util, io, json, os, sys, tempfile
import objgraph
from objgraph import _heapgraph


def load_ref():
    spec = importlib.util.spec_from_file_location('objgraph_ref',
                                                  sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    sys.modules['objgraph_ref'] = mod
    spec.loader.exec_module(mod)
    assert mod.__version__ == '3.7.0', mod.__version__
    return mod


def raises(func, *args, **kw):
    """The name of the exception class func raises, or None."""
    try:
        func(*args, **kw)
    except Exception as e:
        return type(e).__name__
    return None


def python_calls(func, *args, **kw):
    """Names of the Python functions that ran during func(*args, **kw)
    (its own frame excluded: call it with a C function)."""
    names = []

    def profile(frame, event, arg):
        if event == 'call':
            names.append(frame.f_code.co_name)
    sys.setprofile(profile)
    try:
        result = func(*args, **kw)
    finally:
        sys.setprofile(None)
    return names, result
'''


def _child(script, ref, tmp_path):
    """Run the scenario in a fresh interpreter; its JSON output."""
    code = _PRELUDE + textwrap.dedent(script)
    try:
        proc = subprocess.run([sys.executable, '-c', code, ref.__file__],
                              capture_output=True, text=True,
                              timeout=_TIMEOUT, cwd=str(tmp_path))
    except subprocess.TimeoutExpired:
        pytest.fail('the scenario did not finish within %d s' % _TIMEOUT)
    assert proc.returncode == 0, (
        'expected a normal exit, got status %d:\n%s'
        % (proc.returncode, proc.stderr))
    return json.loads(proc.stdout)


_NO_PYTHON_DURING_CAPTURE = '''
    import abc, ctypes, dataclasses, enum, unittest.mock

    class PythonSizeof:
        def __sizeof__(self):
            return 1000

    class Abstract(abc.ABC):
        pass

    class Color(enum.Enum):
        RED = 1

    class Point(ctypes.Structure):
        _fields_ = [('x', ctypes.c_int)]

    @dataclasses.dataclass
    class Data:
        x: int = 0

    heap = [PythonSizeof(), Abstract(), Color.RED, Point(), Data(),
            unittest.mock.MagicMock(), [unittest.mock.NonCallableMock()]]
    gc.collect()
    gc.disable()
    out = {}
    for sizes in ('c', 'python'):
        names, g = python_calls(_heapgraph.capture, sizes=sizes)
        out[sizes] = sorted(set(names))
        g.close()

    class NamingMeta(type):
        @property
        def __name__(cls):
            return 'Computed'

    heap.append(NamingMeta('Named', (), {})())
    names, g = python_calls(_heapgraph.capture)
    out['metaclass'] = sorted(set(names))
    g.close()
    print(json.dumps(out))
'''


def test_a_capture_runs_no_python_code(ref, tmp_path):
    out = _child(_NO_PYTHON_DURING_CAPTURE, ref, tmp_path)
    assert out['c'] == [], (
        'expected no Python function to run during a capture, ran %r'
        % out['c'])
    # what the options that do run code run, and nothing else
    assert '__sizeof__' in out['python'], out['python']
    assert out['metaclass'] == ['__name__'], out['metaclass']


_MAGICMOCK_HEAP = '''
    import unittest.mock

    gc.collect()
    gc.disable()
    mocks = [unittest.mock.MagicMock() for _ in range(500)]
    for m in mocks[:50]:
        m.child.grandchild.return_value = 1
    children = [sorted(m._mock_children) for m in mocks]

    def n_call_objects():
        return sum(1 for o in gc.get_objects()
                   if type(o) is unittest.mock._Call)

    before = n_call_objects()
    sink = io.StringIO()
    with objgraph.snapshot() as snap:
        snap.typestats()
        snap.most_common_types(limit=None)
        snap.retained_by_type(None)
        snap.most_retaining(5)
        snap.show_most_common_types(sizes=True, file=sink)
        snap.retained_size(mocks)
    objgraph.typestats()
    objgraph.count('MagicMock')
    objgraph.by_type('MagicMock')
    objgraph.show_growth(file=sink)
    objgraph.show_most_common_types(file=sink)
    objgraph.show_most_common_types(sizes=True, file=sink)
    objgraph.get_leaking_objects()
    out = {'mock_calls': sum(len(m.mock_calls) for m in mocks),
           'children_same': [sorted(m._mock_children)
                             for m in mocks] == children,
           'new_call_objects': n_call_objects() - before}
    # what calling MagicMock.__sizeof__ does: sizes='python' asks for it
    with objgraph.snapshot(sizes='python'):
        pass
    out['mock_calls_with_python_sizes'] = sum(len(m.mock_calls)
                                              for m in mocks)
    print(json.dumps(out))
'''


def test_a_heap_of_magicmocks_is_left_as_it_was(ref, tmp_path):
    out = _child(_MAGICMOCK_HEAP, ref, tmp_path)
    assert out['mock_calls'] == 0, (
        'expected every mock_calls empty, %d calls recorded'
        % out['mock_calls'])
    assert out['children_same'], 'expected no new child mocks'
    assert out['new_call_objects'] == 0, out
    assert out['mock_calls_with_python_sizes'] >= 500, out


# The same heap of odd but valid classes for both implementations: names
# from C (plain type, ABCMeta, EnumType, ctypes' metaclasses), from
# Python (metaclasses computing them), and the class attributes objgraph
# reads in all their forms.
_ODD_CLASSES = '''
    import abc, collections, ctypes, dataclasses, decimal, enum, typing
    import unittest.mock

    class Abstract(abc.ABC):
        pass

    class Color(enum.Enum):
        RED = 1

    class Point(ctypes.Structure):
        _fields_ = [('x', ctypes.c_int)]

    Pair = collections.namedtuple('Pair', 'a b')

    @dataclasses.dataclass
    class Data:
        x: int = 0

    T = typing.TypeVar('T')

    class Box(typing.Generic[T]):
        pass

    class Renamed:
        pass
    Renamed.__name__ = 'OtherName'

    class NoModule:
        pass
    NoModule.__module__ = None

    class EmptyModule:
        pass
    EmptyModule.__module__ = ''

    class IntModule:
        pass
    IntModule.__module__ = 42

    class Qualified:
        pass
    Qualified.__qualname__ = 'Some.Qualified'

    class StrSub(str):
        pass

    class SubclassName:
        pass
    SubclassName.__name__ = StrSub('SubclassName')

    class NamingMeta(type):
        @property
        def __name__(cls):
            return 'Computed'

    class GetattrMeta(type):
        def __getattr__(cls, name):
            raise AttributeError(name)

    class MethodModuleMeta(type):
        def __module__(cls):
            return 'never called'

    scope = {'abc': abc}
    exec("NoModuleKey = type('NoModuleKey', (), {})\\n"
         "NoModuleKeyABC = abc.ABCMeta('NoModuleKeyABC', (), {})", scope)
    assert '__module__' not in scope['NoModuleKey'].__dict__

    classes = [Abstract, Point, Pair, Data, Box, Box[int], Renamed, NoModule,
               EmptyModule, IntModule, Qualified, SubclassName,
               NamingMeta('Named', (), {}), GetattrMeta('Getattr', (), {}),
               MethodModuleMeta('MethodModule', (), {}),
               scope['NoModuleKey'], scope['NoModuleKeyABC']]
    heap = [cls() for cls in classes if cls not in (Pair, Box[int])]
    heap += [Box[int](), Color.RED, Pair(1, 2), collections.OrderedDict(),
             collections.deque(), decimal.Decimal(1),
             unittest.mock.MagicMock(), [], {}, 1.5, len, iter([])]
'''

_NAMES_AS_OBJGRAPH = _ODD_CLASSES + '''
    ref = load_ref()
    gc.collect()
    gc.disable()
    wrong = []
    with objgraph.snapshot() as snap:
        shorts = snap._type_names(True)
        longs = snap._type_names(False)
        for o in heap:
            (v,) = snap._g.find([id(o)])
            t = snap._g.node(v)[1]
            want = (ref._short_typename(o), ref._long_typename(o))
            if (shorts[t], longs[t]) != want:
                wrong.append([repr(o), shorts[t], longs[t]] + list(want))
    out = {'wrong': wrong, 'typestats': {}}
    ref.most_common_types(limit=None)
    objgraph.most_common_types(limit=None)
    for shortnames in (True, False):
        for _ in range(2):  # a first call makes a few objects
            theirs = ref.typestats(shortnames=shortnames)
            ours = objgraph.typestats(shortnames=shortnames)
        out['typestats'][str(shortnames)] = {
            str(k): [ours.get(k), theirs.get(k)]
            for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)}
    print(json.dumps(out))
'''


def test_type_names_are_objgraph_3_7_0s(ref, tmp_path):
    out = _child(_NAMES_AS_OBJGRAPH, ref, tmp_path)
    assert out['wrong'] == [], (
        'expected the names objgraph 3.7.0 gives; (object, short, long, '
        'expected short, expected long): %r' % out['wrong'])
    for shortnames, diff in out['typestats'].items():
        assert diff == {}, (
            'typestats(shortnames=%s) differs from objgraph 3.7.0\'s '
            '(name: [ours, theirs]): %r' % (shortnames, diff))


# Queries of the module API and objgraph 3.7.0's, for a heap holding
# instances of a class whose metaclass makes `attr` raise.
_BROKEN_CLASS = '''
    class BrokenMeta(type):
        @property
        def {attr}(cls):
            raise {error}('not today')

    Broken = BrokenMeta('Broken', (), {{}})
    objs = [Broken() for _ in range(3)]
    ref = load_ref()
    gc.collect()
    gc.disable()
    out = {{}}
    sink = io.StringIO()
    with objgraph.snapshot() as snap:
        chain = snap.find_backref_chain(objs[0], objgraph.is_proper_module)
        out['works'] = {{
            'len': len(snap) > 0,
            'num_edges': snap.num_edges > 0,
            'retained_size': snap.retained_size(objs) > 0,
            'refcount_excess': snap.refcount_excess(objs) >= 0,
            'roots': len(snap.roots()) > 0,
            'leaking': isinstance(snap.get_leaking_objects(), list),
            'chain': len(chain) > 1,
            'typestats of objects': raises(snap.typestats, [1, 'a']) is None,
        }}
        out['snapshot'] = {{
            'typestats': raises(snap.typestats),
            'typestats long': raises(snap.typestats, shortnames=False),
            'count dict': raises(snap.count, 'dict'),
            'count builtins.dict': raises(snap.count, 'builtins.dict'),
            'by_type dict': raises(snap.by_type, 'dict'),
            'most_common_types': raises(snap.most_common_types),
            'show_most_common_types': raises(snap.show_most_common_types,
                                             file=sink),
            'retained_by_type': raises(snap.retained_by_type),
            'most_retaining': raises(snap.most_retaining),
        }}
        path = os.path.join(tempfile.mkdtemp(), 'broken.hgsnap')
        snap.save(path)
    out['loaded'] = objgraph.load(path).count('Broken')
    cases = [
        ('typestats', (), {{}}),
        ('typestats', (), {{'shortnames': False}}),
        ('typestats', (objs,), {{}}),
        ('count', ('dict',), {{}}),
        ('count', ('builtins.dict',), {{}}),
        ('count', ('Broken',), {{}}),
        ('count', ('dict', objs), {{}}),
        ('by_type', ('dict',), {{}}),
        ('by_type', ('builtins.dict',), {{}}),
        ('most_common_types', (), {{}}),
        ('most_common_types', (), {{'shortnames': False}}),
        ('show_most_common_types', (), {{'file': sink}}),
        ('growth', (), {{}}),
        ('show_growth', (), {{'file': sink}}),
        ('get_new_ids', (), {{'file': sink}}),
    ]
    out['counts'] = [raises(ref.count, 'Broken') or ref.count('Broken'),
                     raises(objgraph.count, 'Broken')
                     or objgraph.count('Broken')]
    out['api'] = {{}}
    for name, args, kw in cases:
        key = ' '.join([name] + [a if isinstance(a, str) else 'objs'
                                 for a in args] + sorted(kw))
        out['api'][key] = [raises(getattr(ref, name), *args, **kw),
                           raises(getattr(objgraph, name), *args, **kw)]
    print(json.dumps(out))
'''


def _broken_class(ref, tmp_path, attr, error):
    out = _child(_BROKEN_CLASS.format(attr=attr, error=error), ref, tmp_path)
    broken = {k: ok for k, ok in out['works'].items() if not ok}
    assert broken == {}, 'expected these queries to work: %r' % broken
    assert out['loaded'] == 3, 'a saved snapshot keeps the class name'
    differ = {k: v for k, v in out['api'].items() if v[0] != v[1]}
    assert differ == {}, (
        'expected objgraph 3.7.0\'s exceptions, (call: [theirs, ours]): %r'
        % differ)
    return out


def test_a_metaclass_whose_name_raises_fails_the_names_only(ref, tmp_path):
    out = _broken_class(ref, tmp_path, '__name__', 'RuntimeError')
    assert set(out['snapshot'].values()) == {'RuntimeError'}, out['snapshot']
    theirs = {k: v[0] for k, v in out['api'].items()}
    assert set(theirs.values()) == {'RuntimeError'}, theirs


def test_a_metaclass_whose_module_raises_fails_long_names_only(ref,
                                                              tmp_path):
    out = _broken_class(ref, tmp_path, '__module__', 'LookupError')
    assert out['counts'] == [3, 3], 'count(\'Broken\'): [theirs, ours]'
    assert out['snapshot'] == {
        'typestats': None, 'typestats long': 'LookupError',
        'count dict': None, 'count builtins.dict': 'LookupError',
        'by_type dict': None, 'most_common_types': None,
        'show_most_common_types': None, 'retained_by_type': None,
        'most_retaining': None}, out['snapshot']


_SATURATED = '''
    tracked = [object()]
    untracked = 'an untracked str ' + str(id(tracked))
    holder = [tracked, untracked]
    out = {}
    cells = [ctypes.c_ssize_t.from_address(id(o))
             for o in (tracked, untracked)]
    with objgraph.snapshot(pin=False) as plain:
        out['before'] = plain.saturated_refcounts
        out['repr_before'] = repr(plain)
        out['immortal_before'] = plain.immortal_objects
    for c in cells:
        c.value += 2 ** 32
    try:
        with objgraph.snapshot() as snap:
            out['after'] = snap.saturated_refcounts
            out['repr'] = repr(snap)
            out['immortal_after'] = snap.immortal_objects
            out['excess'] = raises(snap.refcount_excess, tracked)
            try:
                snap.refcount_excess(tracked)
            except ValueError as e:
                out['excess_text'] = str(e)
            out['other_excess'] = snap.refcount_excess(holder)
            out['root'] = any(r is tracked for r in snap.roots())
            path = os.path.join(tempfile.mkdtemp(), 's.hgsnap')
            snap.save(path)
        loaded = objgraph.load(path)
        out['loaded'] = loaded.saturated_refcounts
        out['loaded_repr'] = repr(loaded)
        out['loaded_immortal'] = loaded.immortal_objects
    finally:
        for c in cells:
            c.value -= 2 ** 32
    out['refcounts'] = [sys.getrefcount(tracked), sys.getrefcount(untracked)]
    info = subprocess.run([sys.executable, '-m', 'objgraph', 'info', path],
                          capture_output=True, text=True, timeout=120)
    out['info'] = info.stdout
    info = subprocess.run([sys.executable, '-m', 'objgraph', 'info', path,
                           '--json'], capture_output=True, text=True,
                          timeout=120)
    doc = json.loads(info.stdout)
    out['info_json'] = doc['saturated_refcounts']
    out['info_json_immortal'] = doc['immortal_objects']
    print(json.dumps(out))
'''


def test_saturated_refcounts_are_counted_and_reported(ref, tmp_path):
    out = _child('import ctypes, subprocess\n' + textwrap.dedent(_SATURATED),
                 ref, tmp_path)
    assert out['before'] == 0
    assert 'saturated' not in out['repr_before'], out['repr_before']
    assert out['other_excess'] >= 0
    assert out['root'], 'a saturated count is more than any in-degree'
    assert max(out['refcounts']) < 10, 'the counts were restored'
    if sys.version_info < (3, 12):
        assert out['after'] == 2, out
        assert '2 saturated refcounts' in out['repr'], out['repr']
        assert out['excess'] == 'ValueError'
        assert 'saturated' in out['excess_text'], out['excess_text']
        assert out['loaded'] == 2 and 'saturated' in out['loaded_repr'], out
        assert 'saturated' in out['info'] and ' 2 ' in out['info'], \
            out['info']
        assert out['info_json'] == 2
        assert out['immortal_after'] == out['loaded_immortal'] == 0
        return
    # 3.12 on: a stored count of 2**31 or more is an immortal object's (a
    # mortal count never gets there through Py_INCREF, which stops at
    # 2**32 - 1, the immortal count), so these two are counted as immortal
    assert out['after'] == out['loaded'] == out['info_json'] == 0, out
    assert out['immortal_after'] - out['immortal_before'] >= 2, out
    assert out['loaded_immortal'] == out['immortal_after'], out
    assert out['info_json_immortal'] == out['immortal_after'], out
    assert out['excess'] == 'ValueError'
    assert 'immortal' in out['excess_text'], out['excess_text']
    assert 'immortal' in out['info'], out['info']


# -- fast checks, in this process ---------------------------------------------


def _size_of(snap, obj):
    g = snap._g
    (v,) = g.find([id(obj)])
    assert v >= 0, 'expected a node for %r' % (obj,)
    return g.node(v)[2]


class PlainSizeof:
    pass


class PythonSizeof:
    def __sizeof__(self):
        return 12345


class RaisingSizeof:
    def __sizeof__(self):
        raise RuntimeError('no size today')


class PlainList(list):
    pass


class PythonSizeofList(list):
    def __sizeof__(self):
        return 7


def test_magicmock_sizeof_is_not_called():
    mocks = [unittest.mock.MagicMock() for _ in range(50)]
    with objgraph.snapshot() as snap:
        assert _size_of(snap, mocks[0]) > 0
    calls = [len(m.mock_calls) for m in mocks]
    assert calls == [0] * len(mocks), (
        'expected no call recorded on any mock, got %r' % calls)


def test_python_sizeof_gets_the_c_size_by_default():
    objs = [PythonSizeof(), PlainSizeof()]
    with objgraph.snapshot() as snap:
        got = _size_of(snap, objs[0])
    assert got == sys.getsizeof(objs[1]), (
        'expected the C size %d (a class without the override), got %d'
        % (sys.getsizeof(objs[1]), got))
    assert got != sys.getsizeof(objs[0])


def test_python_sizeof_is_called_with_sizes_python():
    obj = PythonSizeof()
    with objgraph.snapshot(sizes='python') as snap:
        got = _size_of(snap, obj)
    assert got == sys.getsizeof(obj), (
        'expected sys.getsizeof = %d, got %d' % (sys.getsizeof(obj), got))
    assert got >= 12345


def test_python_sizeof_that_raises_falls_back_with_sizes_python():
    objs = [RaisingSizeof(), PlainSizeof()]
    with objgraph.snapshot(sizes='python') as snap:
        got = _size_of(snap, objs[0])
    assert got == sys.getsizeof(objs[1])


def test_python_sizeof_of_a_list_subclass_gets_list_size():
    items = list(range(100))
    objs = [PythonSizeofList(items), PlainList(items)]
    with objgraph.snapshot() as snap:
        got = _size_of(snap, objs[0])
    assert got == sys.getsizeof(objs[1]), (
        'expected list.__sizeof__ + pre-header = %d, got %d'
        % (sys.getsizeof(objs[1]), got))


@pytest.mark.parametrize('bad', ['C', 'py', '', None, 1])
def test_bad_sizes_argument_is_refused(bad):
    with pytest.raises((ValueError, TypeError)) as info:
        objgraph.snapshot(sizes=bad)
    text = str(info.value)
    assert 'sizes' in text and "'c'" in text and "'python'" in text, text


class BrokenNameMeta(type):
    @property
    def __name__(cls):
        raise RuntimeError('no name for you')


@pytest.fixture
def broken_name(quiet_gc):
    cls = BrokenNameMeta('BrokenName', (), {})
    objs = [cls() for _ in range(3)]
    yield objs
    del objs[:]
    del cls
    gc.collect()


def _raises(func, *args, **kw):
    """The type of the exception func raises, or None."""
    try:
        func(*args, **kw)
    except Exception as e:  # noqa: BLE001 -- compared with the reference
        return type(e)
    return None


def test_broken_name_is_recorded_not_raised(broken_name):
    with objgraph.snapshot() as snap:
        errors = snap._name_errors
        assert [type(e) for pair in errors.values() for e in pair] == [
            RuntimeError, RuntimeError], errors
        (pair,) = errors.values()
        assert pair[0].__traceback__ is None, 'no frames kept alive'
        assert _raises(snap.count, 'BrokenName') is RuntimeError
        assert _raises(snap.typestats) is RuntimeError
        assert snap.retained_size(broken_name) >= sys.getsizeof(broken_name)


def test_a_snapshot_that_raised_a_name_error_can_be_freed(broken_name):
    snap = objgraph.snapshot()
    assert _raises(snap.typestats) is RuntimeError
    assert _raises(snap.count, 'dict') is RuntimeError
    alive = weakref.ref(snap)
    snap.close()
    del snap
    gc.collect()
    assert alive() is None, 'expected the snapshot freed, it is alive'


def test_no_name_errors_on_an_ordinary_heap():
    with objgraph.snapshot(pin=False) as snap:
        assert snap._name_errors == {}
        assert snap.saturated_refcounts == 0
        assert 'saturated' not in repr(snap)


class Interrupt(BaseException):
    pass


@pytest.mark.parametrize('error', [Interrupt, MemoryError])
def test_a_name_that_raises_more_than_an_error_fails_the_capture(quiet_gc,
                                                                 error):
    class Meta(type):
        @property
        def __name__(cls):
            raise error('stop')

    objs = [Meta('Stopping', (), {})()]
    with pytest.raises(error):
        objgraph.snapshot()
    del objs[:]
    with objgraph.snapshot() as snap:  # nothing left pinned or broken
        assert snap._name_errors == {}
        assert len(snap) > 0
