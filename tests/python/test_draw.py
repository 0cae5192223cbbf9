"""Drawing: show_refs, show_backrefs and show_chain write the same DOT text
as objgraph 3.7.0, byte for byte, and graphviz turns it into pictures.

Each differential test draws the same objects with both implementations in
this process.  objgraph 3.7.0's first drawing can change the heap it draws
(reading an instance's ``__dict__`` creates it), so the reference draws
once to settle the heap, then once to give the expected text, then ours.
"""

import contextlib
import difflib
import gc
import io
import os
import subprocess
import sys
import types

import pytest

import objgraph

# Every argument is passed by keyword: a call with **kw would build a
# tuple of the positional arguments, one more referrer of objs, which a
# snapshot taken before the call could not see.
_DEFAULTS = dict(max_depth=3, extra_ignore=(), filter=None, too_many=10,
                 highlight=None, extra_info=None, refcounts=False,
                 shortnames=True, extra_node_attrs=None)


def _draw_into(fn, objs, out, kw):
    """fn(objs, output=out, **kw); fn may name a method of a snapshot taken
    here, once every frame holding objs exists, as for a function."""
    a = dict(_DEFAULTS, **kw)
    with contextlib.ExitStack() as stack:
        if isinstance(fn, str):
            fn = getattr(stack.enter_context(objgraph.snapshot()), fn)
        return fn(objs, max_depth=a['max_depth'],
                  extra_ignore=a['extra_ignore'], filter=a['filter'],
                  too_many=a['too_many'], highlight=a['highlight'],
                  extra_info=a['extra_info'], refcounts=a['refcounts'],
                  shortnames=a['shortnames'],
                  extra_node_attrs=a['extra_node_attrs'], output=out)


def dot_of(fn, objs, **kw):
    out = io.StringIO()
    assert _draw_into(fn, objs, out, kw) is None
    return out.getvalue()


def assert_same_dot(ref, name, objs, snapshot=False, **kw):
    dot_of(getattr(ref, name), objs, **kw)  # settles the heap
    expected = dot_of(getattr(ref, name), objs, **kw)
    if snapshot:
        got = dot_of(name, objs, **kw)  # a snapshot's method
    else:
        got = dot_of(getattr(objgraph, name), objs, **kw)
    if got != expected:
        diff = difflib.unified_diff(expected.splitlines(True),
                                    got.splitlines(True), 'objgraph 3.7.0',
                                    'ours')
        pytest.fail('%s(**%r) wrote different DOT text than objgraph 3.7.0:\n'
                    '%s' % (name, kw, ''.join(diff)), pytrace=False)
    return got


# -- the shapes drawn -----------------------------------------------------


class Plain:
    def __init__(self):
        self.items = [1, 'two', 3.0]
        self.me = self

    def method(self):
        return self


class Slotted:
    __slots__ = ('a', 'b')

    def __init__(self):
        self.a = [1]
        self.b = (self.a, 'x')


class WithDel:
    def __del__(self):
        pass


class BadRepr:
    def __repr__(self):
        raise RuntimeError('no repr for you')


def make_frame():
    local_list = [1, 2]  # noqa: F841 -- a local the frame refers to
    return sys._getframe()


def generator():
    held = ['in a generator']
    yield held


def closure():
    captured = {'k': 'v'}

    def inner():
        return captured
    return inner


def all_char_keys():
    return {chr(i): [i] for i in range(256)}


def shapes():
    """name -> a fresh object graph to draw, held by the caller."""
    gen = generator()
    next(gen)
    plain = Plain()
    return {
        'nested': {'a': [1, (2, 3)], 'b': {'c': 'd'}, 'e': None},
        'instance': plain,
        'slotted': Slotted(),
        'bound_method': plain.method,
        'lambda': (lambda: plain),
        'function': closure(),
        'builtin': [len, sys, types.ModuleType('not_in_sys_modules')],
        'class_with_del': [WithDel(), WithDel],
        'bad_repr': [BadRepr()],
        'frame': make_frame(),
        'generator': gen,
        'all_chars': all_char_keys(),
        'wide': [[i] for i in range(50)],
        'self_reference': (lambda x: (x.append(x), x)[1])([]),
    }


SHAPES = sorted(shapes())


@pytest.fixture(scope='module')
def heap():
    objects = shapes()
    gc.collect()
    yield objects


@pytest.mark.parametrize('direction', ['show_refs', 'show_backrefs'])
@pytest.mark.parametrize('shape', SHAPES)
def test_dot_is_byte_identical(ref, heap, direction, shape):
    assert_same_dot(ref, direction, heap[shape], max_depth=3)


@pytest.mark.parametrize('direction', ['show_refs', 'show_backrefs'])
@pytest.mark.parametrize('shape', ['nested', 'instance', 'all_chars',
                                   'class_with_del', 'bound_method'])
def test_dot_from_a_snapshot_is_byte_identical(ref, heap, direction, shape):
    assert_same_dot(ref, direction, heap[shape], snapshot=True, max_depth=3)


@pytest.mark.parametrize('kw', [
    dict(too_many=3),
    dict(too_many=1, max_depth=4),
    dict(max_depth=0),
    dict(shortnames=False),
    dict(extra_info=lambda o: 'id %d' % id(o)),
    dict(extra_info=lambda o: 'quote " and \\ and \n newline'),
    dict(highlight=lambda o: isinstance(o, list)),
    dict(filter=lambda o: not isinstance(o, type)),
    dict(extra_node_attrs=lambda o: {'URL': str(id(o)), 'tooltip': 'a"b'}),
    dict(extra_node_attrs=lambda o: {}),
], ids=lambda kw: ','.join(sorted(kw)) + '=' + str(list(kw.values())[0])[:9])
@pytest.mark.parametrize('direction', ['show_refs', 'show_backrefs'])
def test_options_give_identical_dot(ref, heap, direction, kw):
    assert_same_dot(ref, direction, [heap['instance'], heap['nested']], **kw)


def test_extra_ignore_gives_identical_dot(ref, heap):
    obj = heap['nested']
    for direction in ('show_refs', 'show_backrefs'):
        assert_same_dot(ref, direction, obj,
                        extra_ignore=[id(obj['a']), id(obj['b'])])


class Peer:
    pass


def counted_shape():
    """Objects whose reference counts no drawing function's own variables
    touch.  (None, True, False and small ints are held by the drawing
    functions' local variables as well -- objgraph 3.7.0's and ours hold
    different ones -- so their counts differ by those references.)"""
    a, b = Peer(), Peer()
    a.peer, b.back = b, a
    return [a, b, {'key': a, 'other': [b, 'text']}, ('pair', a)]


@pytest.mark.parametrize('snapshot', [False, True])
@pytest.mark.parametrize('direction', ['show_refs', 'show_backrefs'])
def test_refcounts_are_the_reference_counts(ref, direction, snapshot):
    objs = counted_shape()
    for kw in (dict(refcounts=True), dict(refcounts=True, too_many=2),
               dict(refcounts=True, filter=lambda o: not isinstance(o, str))):
        kw['max_depth'] = 2  # not as deep as None, in the type's dict
        assert_same_dot(ref, direction, objs, snapshot=snapshot, **kw)
        assert_same_dot(ref, direction, objs[0], snapshot=snapshot, **kw)


def chain_dot_of(show_chain, chain, backrefs):
    out = io.StringIO()
    show_chain(chain, backrefs=backrefs, output=out)
    return out.getvalue()


def test_show_chain_gives_identical_dot(ref, heap):
    target = heap['nested']['a']
    holder = types.ModuleType('holder_module')
    holder.kept = {'here': target}
    sys.modules['holder_module'] = holder
    try:
        chain = ref.find_backref_chain(target, ref.is_proper_module)
        assert len(chain) > 1
        for backrefs in (True, False):
            if not backrefs:
                chain = chain[::-1]
            chain_dot_of(ref.show_chain, chain, backrefs)
            expected = chain_dot_of(ref.show_chain, chain, backrefs)
            assert chain_dot_of(objgraph.show_chain, chain,
                                backrefs) == expected
            with objgraph.snapshot() as snap:
                assert chain_dot_of(snap.show_chain, chain,
                                    backrefs) == expected
    finally:
        del sys.modules['holder_module']


def test_show_chain_of_nothing_raises_like_the_reference(ref):
    with pytest.raises(ValueError):
        ref.show_chain([], output=io.StringIO())
    with pytest.raises(ValueError):
        objgraph.show_chain([], output=io.StringIO())


def test_backrefs_stop_at_modules_in_sys_modules(heap):
    text = dot_of(objgraph.show_backrefs, sys.modules[__name__].SHAPES,
                  max_depth=4)
    assert 'module\\n' + __name__ in text or 'module\\ntest_draw' in text


def test_output_and_filename_together_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match='Cannot specify both'):
        objgraph.show_refs([], output=io.StringIO(),
                           filename=str(tmp_path / 'x.png'))


def test_bad_layout_is_a_value_error():
    with pytest.raises(ValueError, match='layout'):
        objgraph.show_refs([], output=io.StringIO(), layout='neato')


# -- files and graphviz -----------------------------------------------------

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def png_size(path):
    data = open(path, 'rb').read()
    assert data[:8] == PNG_MAGIC, 'not a PNG: %r' % data[:8]
    width = int.from_bytes(data[16:20], 'big')
    height = int.from_bytes(data[20:24], 'big')
    return width, height


@pytest.mark.parametrize('layout', ['dot', 'sfdp'])
def test_graphviz_writes_a_valid_png(heap, tmp_path, capsys, layout):
    path = str(tmp_path / 'graph.png')
    objgraph.show_refs(heap['nested'], filename=path, layout=layout)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('Graph written to ')
    assert out[0].endswith(' nodes)')
    assert out[1] == 'Image generated as %s' % path
    width, height = png_size(path)
    assert width > 50 and height > 50


def test_dot_filename_writes_dot_only(heap, tmp_path, capsys, ref):
    path = str(tmp_path / 'graph.dot')
    objgraph.show_backrefs(heap['instance'], filename=path)
    out = capsys.readouterr().out
    assert out == 'Graph written to %s (%d nodes)\n' % (
        path, open(path).read().count('[fillcolor='))
    assert open(path).read().startswith('digraph ObjectGraph {\n')


def test_svg_and_pdf_by_extension(heap, tmp_path):
    for ext, magic in (('svg', b'<?xml'), ('pdf', b'%PDF')):
        path = str(tmp_path / ('graph.' + ext))
        objgraph.show_refs(heap['nested'], filename=path)
        assert open(path, 'rb').read(len(magic)) == magic


def test_without_graphviz_the_reference_messages_are_printed(
        ref, heap, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))  # no dot, no xdot
    path = str(tmp_path / 'graph.png')
    messages = []
    for impl in (ref, objgraph):
        impl.show_refs(heap['nested'], filename=path)
        impl.show_refs(heap['nested'])
        out = capsys.readouterr().out.splitlines()
        messages.append([line for line in out
                         if not line.startswith('Graph written to')])
    assert messages[0] == messages[1] == [
        'Image renderer (dot) not found, not doing anything else',
        'Graph viewer (xdot) and image renderer (dot) not found, not doing'
        ' anything else']
    assert not os.path.exists(path)


def test_without_xdot_a_png_is_made_beside_the_dot_file(
        heap, tmp_path, capsys, monkeypatch):
    dot = subprocess.run(['which', 'dot'], capture_output=True, text=True)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'dot').symlink_to(dot.stdout.strip())
    monkeypatch.setenv('PATH', str(bindir))
    objgraph.show_refs(heap['nested'])
    out = capsys.readouterr().out.splitlines()
    assert out[1] == ('Graph viewer (xdot) not found, generating a png '
                      'instead')
    png = out[2][len('Image generated as '):]
    assert out[0] == 'Graph written to %s.dot (%d nodes)' % (
        png[:-4], open(png[:-4] + '.dot').read().count('[fillcolor='))
    png_size(png)
    os.unlink(png)
    os.unlink(png[:-4] + '.dot')


def test_large_drawings_are_laid_out_by_sfdp(tmp_path, monkeypatch):
    calls = []
    real_popen = subprocess.Popen

    def spy(cmd, *args, **kw):
        calls.append(cmd)
        return real_popen(cmd, *args, **kw)

    monkeypatch.setattr(subprocess, 'Popen', spy)
    wide = [[i] for i in range(600)]
    objgraph.show_refs(wide, filename=str(tmp_path / 'wide.png'),
                       too_many=1000, max_depth=1)
    assert '-Ksfdp' in calls[-1]
    assert '-Goverlap=prism' in calls[-1]  # 601 nodes: boxes kept apart
    objgraph.show_refs(wide[:10], filename=str(tmp_path / 'small.png'))
    assert not any(arg.startswith('-K') for arg in calls[-1])


# -- the heap by type -------------------------------------------------------


class Bulky:
    def __init__(self):
        self.payload = [bytes(100 + k) for k in range(3)]


def test_type_graph_counts_objects_bytes_and_references(quiet_gc):
    bulk = [Bulky() for _ in range(2000)]
    with objgraph.snapshot() as snap:
        types, refs = snap.type_graph(limit=10)
    assert len(types) == 10
    assert [t[2] for t in types] == sorted((t[2] for t in types),
                                           reverse=True)
    stats = {name: (n, nbytes) for name, n, nbytes in types}
    assert stats['bytes'][0] >= 6000
    assert stats['bytes'][1] >= 6000 * sys.getsizeof(bytes(100))
    edges = {(a, b): n for a, b, n in refs}
    assert edges[('list', 'bytes')] >= 6000
    del bulk


def test_show_type_graph_writes_dot_and_png(quiet_gc, tmp_path, capsys):
    bulk = [Bulky() for _ in range(500)]
    out = io.StringIO()
    objgraph.show_type_graph(limit=5, output=out)
    text = out.getvalue()
    assert text.startswith('digraph TypeGraph {\n')
    assert text.count('objects\\n') == 5
    path = str(tmp_path / 'types.png')
    with objgraph.snapshot(pin=False) as snap:
        objgraph.show_type_graph(snap, limit=12, filename=path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith('(12 nodes)')
    assert lines[1] == 'Image generated as %s' % path
    png_size(path)
    del bulk


def test_show_type_graph_bad_arguments():
    with pytest.raises(ValueError, match='limit'):
        objgraph.show_type_graph(limit=-1, output=io.StringIO())
    with pytest.raises(TypeError, match='limit'):
        objgraph.show_type_graph(limit='5', output=io.StringIO())
    with pytest.raises(ValueError, match='layout'):
        objgraph.show_type_graph(layout='circo', output=io.StringIO())


def test_backrefs_leave_out_garbage_and_what_a_collection_untracks(ref):
    """Drawn first on a heap with garbage and an untrackable tuple (which
    objgraph 3.7.0's gc.collect() then frees and untracks), our drawing is
    already the one objgraph 3.7.0 makes after its collection."""
    gc.collect()
    gc.disable()
    try:
        target = Peer()
        cycle = [target]
        cycle.append(cycle)  # garbage once dropped: refers to target
        text = ''.join(['not', ' interned'])
        atoms = (text, 12345)  # a collection would untrack this tuple
        holder = [atoms, target]
        garbage, untrackable = 'o%d' % id(cycle), 'o%d' % id(atoms)
        del cycle
        objs = [target, text]
        ours = dot_of(objgraph.show_backrefs, objs, max_depth=2)
        with objgraph.snapshot() as snap:
            ours_snap = io.StringIO()
            snap.show_backrefs(objs, max_depth=2, output=ours_snap)
        theirs = dot_of(ref.show_backrefs, objs, max_depth=2)
    finally:
        gc.enable()
    assert ours == theirs
    assert ours_snap.getvalue() == theirs
    assert garbage not in ours and untrackable not in ours
    assert 'o%d' % id(holder) in ours
    del holder


@pytest.mark.parametrize('snapshot', [False, True])
def test_one_referrer_moved_by_the_collection_comes_last(ref, snapshot):
    """One container built before what holds it (the collection moves it
    to the end of its list), made before two that stay in place: drawn
    last, as objgraph 3.7.0 lists it after its gc.collect() -- settled
    without replaying the whole collection."""
    gc.collect()
    gc.disable()
    try:
        target = Peer()
        inner = [target]  # made first ...
        holder = Peer()  # ... then what holds it
        holder.keep = inner
        del inner
        near = [target]  # held by variables: they stay where they are
        near_dict = {'t': target}
        objs = [target]
        ours = dot_of('show_backrefs' if snapshot  # a snapshot's method
                      else objgraph.show_backrefs, objs, max_depth=1)
        theirs = dot_of(ref.show_backrefs, objs, max_depth=1)
    finally:
        gc.enable()
    assert ours == theirs
    edges = [line for line in theirs.splitlines() if ' -> ' in line]
    assert len(edges) == 3 and edges[-1].startswith(
        '  o%d ->' % id(holder.keep)), edges
    del near, near_dict


def test_backrefs_are_in_the_order_a_collection_leaves(ref):
    """Containers built before what holds them (constructor arguments) are
    moved to the end of the collector's list by objgraph 3.7.0's
    gc.collect(); drawn first, before any collection, ours lists the
    referrers in that final order too."""
    gc.collect()
    gc.disable()
    try:
        target = Peer()
        kept = []
        for i in range(4):
            inner = [target] if i % 2 else {'t': target}  # made first
            holder = Peer()  # then what holds it
            holder.keep = inner
            kept.append(holder)
        near = [target]  # held by a variable: stays where it is
        del inner, holder
        objs = [target]
        ours = dot_of(objgraph.show_backrefs, objs, max_depth=1)
        theirs = dot_of(ref.show_backrefs, objs, max_depth=1)
    finally:
        gc.enable()
    assert ours == theirs
    edges = [line for line in theirs.splitlines() if ' -> ' in line]
    assert edges[0].startswith('  o%d ->' % id(near)), (
        'the containers set aside by the collection come after the list '
        'held by a variable')
    del kept


def test_in_an_ipython_kernel_a_graphviz_source_is_returned(
        ref, heap, monkeypatch, capsys):
    """Like objgraph 3.7.0 in a notebook: no file, no viewer, the graph
    as a graphviz.Source to display inline (sfdp for big drawings)."""
    import graphviz  # the Python package; make test installs it

    monkeypatch.setattr(objgraph, 'IS_INTERACTIVE', True)
    monkeypatch.setattr(ref, 'IS_INTERACTIVE', True)
    monkeypatch.setattr(ref, 'graphviz', graphviz, raising=False)
    obj = heap['nested']
    ours = objgraph.show_refs(obj)
    theirs = ref.show_refs(obj)
    assert isinstance(ours, graphviz.Source)
    assert ours.source == theirs.source
    assert ours.engine == 'dot'
    big = objgraph.show_refs([[i] for i in range(600)], too_many=1000)
    assert big.engine == 'sfdp'
    assert capsys.readouterr().out == ''


def test_is_interactive_is_objgraph_3s_public_switch(ref, heap, monkeypatch,
                                                      tmp_path, capsys):
    """objgraph.IS_INTERACTIVE exists, is False outside a notebook as in
    objgraph 3.7.0, and is read at each drawing: objgraph 3.7.0's own
    tests patch it (mock.patch('objgraph.IS_INTERACTIVE', True))."""
    import graphviz

    assert objgraph.IS_INTERACTIVE is ref.IS_INTERACTIVE is False
    obj = heap['nested']
    monkeypatch.setattr(objgraph, 'IS_INTERACTIVE', True)
    for draw in (objgraph.show_refs, objgraph.show_backrefs,
                 lambda o: objgraph.show_chain([o]),
                 lambda o: objgraph.show_type_graph(limit=3)):
        assert isinstance(draw(obj), graphviz.Source)
    assert capsys.readouterr().out == ''
    # a filename or an output still wins, as in objgraph 3.7.0
    target = tmp_path / 'graph.dot'
    assert objgraph.show_refs(obj, filename=str(target)) is None
    assert target.read_text().startswith('digraph ObjectGraph {')
    out = io.StringIO()
    assert objgraph.show_refs(obj, output=out) is None
    assert out.getvalue().startswith('digraph ObjectGraph {')
    monkeypatch.setattr(objgraph, 'IS_INTERACTIVE', False)
    assert objgraph.show_refs(obj, filename=str(target)) is None
    assert 'Graph written to' in capsys.readouterr().out
