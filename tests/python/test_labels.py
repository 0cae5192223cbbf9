"""One set of labels for pinned, detached and loaded snapshots.

The same heap prints the same retention paths -- attribute names
(``LabelHolder.cache``), dict keys (``dict['by_name']``) and their types
(``dict[int]``), module and class names -- whichever kind of snapshot
reads it: a pinned one, a detached one, a file saved from either and
loaded back; and so do ``objgraph paths``, ``objgraph render`` and the
canary's reports, which read files.
"""

import gc
import json
import re
import sys
import time
import types

import pytest

import objgraph
import objgraph.canary
from objgraph._cli import main

# How a path reads through an instance attribute: from 3.11 the value is
# the instance's own referent; before, the instance's __dict__ is a node
# of the path between them.
HELD_BY_ATTRIBUTE = ('LabelHolder.cache' if sys.version_info >= (3, 11)
                     else "LabelHolder  dict['cache']")


class LabelItem:
    pass


class LabelHolder:
    registry = []  # a class attribute holding a list

    def __init__(self):
        self.cache = {}  # an instance attribute: a dict of int keys


def _build(n):
    """The heap: a module global (a dict of str keys holding a list), a
    class attribute (a list), an instance attribute (a dict of int keys),
    holding ``n``, ``2 n`` and ``3 n`` LabelItems (counts that rank their
    paths the same way in every snapshot).  Only the holder is returned:
    the caller's frame holds nothing else of it."""
    app = types.ModuleType('labels_app')
    app.by_name = {'items': []}
    sys.modules['labels_app'] = app
    holder = LabelHolder()
    _grow(holder, n)
    return holder


def _grow(holder, n):
    items = sys.modules['labels_app'].by_name['items']
    for _ in range(n):
        holder.cache[len(holder.cache)] = LabelItem()
        items.extend(LabelItem() for _ in range(2))
        LabelHolder.registry.extend(LabelItem() for _ in range(3))


@pytest.fixture
def heap():
    holder = _build(5)
    try:
        yield holder
    finally:
        sys.modules.pop('labels_app', None)
        del LabelHolder.registry[:]


def _signatures(snap):
    return [g.signature for g in snap.retention_paths('LabelItem', None)]


def _snapshots(tmp_path):
    """(detached, pinned, file saved from the detached one, file saved
    from the pinned one): the detached one first, as a pinned snapshot
    holds every object and makes it a root."""
    detached = objgraph.snapshot(pin=False)
    # A collection in between reorders the collector's lists, which the
    # snapshots number their nodes by: the paths must not depend on it.
    gc.collect()
    pinned = objgraph.snapshot()
    files = tmp_path / 'detached.hgsnap', tmp_path / 'pinned.hgsnap'
    detached.save(files[0])
    pinned.save(files[1])
    return detached, pinned, files


def test_every_kind_of_snapshot_prints_the_same_paths(heap, tmp_path):
    detached, pinned, files = _snapshots(tmp_path)
    try:
        expected = _signatures(pinned)
        assert len(expected) == 3, expected
        text = ['  '.join(s) for s in expected]
        assert any(HELD_BY_ATTRIBUTE + "  dict[int]  LabelItem" in t
                   for t in text), text
        assert any("module labels_app  dict['by_name']  dict['items']  "
                   "list  LabelItem" in t for t in text), text
        assert any("class LabelHolder  dict['registry']  list  LabelItem"
                   in t for t in text), text
        assert _signatures(detached) == expected
        for path in files:
            loaded = objgraph.load(path)
            assert loaded._info['version'] == 3
            assert _signatures(loaded) == expected, path
            # saved again, the file keeps them
            again = tmp_path / 'again.hgsnap'
            loaded.save(again)
            assert _signatures(objgraph.load(again)) == expected
    finally:
        pinned.close()


def test_paths_and_render_print_the_same_labels_for_every_file(
        heap, tmp_path, capsys):
    detached, pinned, files = _snapshots(tmp_path)
    try:
        expected = _signatures(pinned)
        top = pinned.retention_paths('LabelItem', 1)[0].signature
    finally:
        pinned.close()
    texts, labels = [], []
    for path in files:
        assert main(['paths', str(path), 'LabelItem', '--json']) == 0
        doc = json.loads(capsys.readouterr().out)
        assert [tuple(p['signature']) for p in doc['paths']] == expected
        assert main(['paths', str(path), 'LabelItem']) == 0
        texts.append(capsys.readouterr().out.replace(str(path), 'FILE'))
        dot = tmp_path / ('%s.dot' % path.stem)
        assert main(['render', str(path), '--type', 'LabelItem',
                     '-o', str(dot)]) == 0
        capsys.readouterr()
        labels.append(re.findall(r'-> n\d+(?:\[label="([^"]*)"\])?;',
                                 dot.read_text()))
    assert texts[0] == texts[1]
    assert labels[0] == labels[1]
    # an edge is labelled with what the signature says its source holds
    # it by: "cache" for LabelHolder.cache, "['by_name']", "[int]"
    names = [p for p in top[:-1]]
    want = []
    for part in names:
        m = re.fullmatch(r'(?:[A-Za-z_]\w*)(?:\.(\w+)|(\[.*\]))', part)
        want.append('' if m is None or part.startswith(('module ', 'class '))
                    else m.group(1) or m.group(2))
    assert labels[0] == want, (labels[0], top)


def test_a_canary_report_prints_the_paths_of_a_pinned_snapshot(heap,
                                                                tmp_path):
    canary = objgraph.canary.start(interval=3600, directory=tmp_path, keep=3,
                                   limit=None, paths=10)
    try:
        for i in range(3):
            _grow(heap, 20)
            canary.trigger()
            deadline = time.monotonic() + 120
            while canary.rounds < i + 1:
                assert time.monotonic() < deadline, 'timed out'
                time.sleep(0.01)
    finally:
        assert canary.stop()
    report = canary.last_report
    (suspect,) = [s for s in report['suspects']
                  if s['typename'] == 'LabelItem']
    with objgraph.snapshot() as pinned:
        expected = [' -> '.join(s) for s in _signatures(pinned)]
    assert [p['signature'] for p in suspect['paths']] == expected


def test_labelling_a_path_makes_no_instance_dict(heap, tmp_path):
    """Attribute names are read from an instance's inline values: looking
    up its ``__dict__`` would make one (CPython 3.11 and 3.12), and the
    next snapshot would see a heap changed by the last one's labels."""
    def shape():  # whether the instance refers to its cache directly
        return [r is heap.cache for r in gc.get_referents(heap)]
    before = shape()
    snap = objgraph.snapshot(pin=False)
    assert any(HELD_BY_ATTRIBUTE in '  '.join(g.signature)
               for g in snap.retention_paths('LabelItem'))
    snap.save(tmp_path / 'x.hgsnap')
    with objgraph.snapshot() as pinned:
        pinned.retention_paths('LabelItem')
    assert shape() == before
