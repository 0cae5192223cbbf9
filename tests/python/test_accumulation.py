"""Each suspect names its accumulation point: the container on the path
of its new objects that was already there in the first snapshot and holds
the most references more.
"""

import sys
import types

import pytest

import objgraph


class AccItem:
    pass


@pytest.fixture
def app():
    module = types.ModuleType('acc_app')
    module._cache = {}
    sys.modules['acc_app'] = module
    yield module
    del sys.modules['acc_app']


def leak_round(app, round, n=500):
    for i in range(n * round, n * round + n):
        app._cache[i] = {'item': AccItem()}


@pytest.mark.parametrize('pin_last', [False, True])
def test_a_leak_into_a_module_dict_of_dicts_names_the_dict(app, pin_last):
    snaps = []
    for round in range(3):
        leak_round(app, round)
        snaps.append(objgraph.snapshot(pin=pin_last and round == 2))
    suspects = objgraph.leak_suspects(snaps, limit=None)
    (item,) = [s for s in suspects if s.typename == 'AccItem']
    acc = item.accumulation
    assert acc is not None
    # module acc_app -> its dict, holding _cache -> the _cache dict
    assert acc.path[0].startswith('module')
    assert len(acc.path) == 3 and acc.path[-1].startswith('dict')
    if pin_last:
        assert acc.path[:2] == ('module acc_app', "dict['_cache']")
    # 1000 entries more: their int keys and dict values
    assert acc.references == 2000
    assert acc.holds == 'dict'
    # the carriers of the items accumulate in the same place
    (carrier,) = [s for s in suspects if s.typename == 'dict']
    assert carrier.accumulation.path == acc.path
    for snap in snaps:
        snap.close()


def test_no_accumulation_without_a_container_that_grew():
    snaps = [objgraph.snapshot(pin=False) for _ in range(3)]
    for s in objgraph.leak_suspects(snaps, limit=None):
        assert s.accumulation is None or s.accumulation.references > 0
    for snap in snaps:
        snap.close()


def test_suspects_prints_where_they_accumulate(app, tmp_path, capsys):
    from objgraph._cli import main
    paths = [str(tmp_path / ('r%d.hgsnap' % i)) for i in range(3)]
    for round, path in enumerate(paths):
        leak_round(app, round)
        with objgraph.snapshot(pin=False) as snap:
            snap.save(path)
    assert main(['suspects', *paths]) == 0
    out = capsys.readouterr().out.replace(' → ', ' -> ')
    assert 'where they accumulate' in out
    line = [ln for ln in out.splitlines()
            if ln.startswith('  AccItem: module')]
    assert line and line[0].endswith('(+2000 references to dict)'), out
