"""The pytest plugin and objgraph.assert_no_growth.

The plugin is tested as users meet it: pytest runs on a small example
project in a subprocess (pytester's runpytest_subprocess), which finds the
plugin through the installed ``pytest11`` entry point only.  Each run
takes a few seconds: every check captures the heap four times.
"""

import pytest

import objgraph

pytest_plugins = ['pytester']

# An application with one leak, and tests of it: marked ones, the fixture
# around a block, and code that logs or warns on every call (pytest keeps
# each record and warning: its objects, never the test's).
APP = '''
import logging
import warnings

import pytest

_cache = []


class Session:
    def __init__(self, user):
        self.user = user


def open_session(user):
    session = Session(user)
    _cache.append(session)  # the leak: every session is kept
    return session


def handle(user):
    return len([Session(user) for _ in range(100)])  # allocates, frees


@pytest.mark.parametrize('run', [1, 2])
@pytest.mark.objgraph_no_growth
def test_open_session(run):
    assert open_session('ada').user == 'ada'


@pytest.mark.parametrize('run', [1, 2])
@pytest.mark.objgraph_no_growth(warmups=2, iterations=2)
def test_handle(run, tmp_path):
    assert handle('ada') == 100
    (tmp_path / 'out.txt').write_text('ada')


@pytest.mark.objgraph_no_growth
def test_handle_logs_and_warns():
    logging.getLogger('app').warning('handled %s', 'ada')
    warnings.warn('handle() is old', DeprecationWarning)
    print('handled')
    assert handle('ada') == 100


def test_fixture_leak(objgraph_no_growth):
    for _ in objgraph_no_growth():
        open_session('bob')


def test_fixture_clean(objgraph_no_growth):
    objgraph_no_growth(handle, 'bob')


@pytest.mark.objgraph_no_growth(3)
def test_positional_argument():
    pass


@pytest.mark.objgraph_no_growth(iterations=1)
def test_one_iteration():
    pass
'''


def test_a_leaking_test_fails_and_a_clean_one_passes_run_after_run(
        pytester):
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest_subprocess('-p', 'no:cacheprovider')
    result.assert_outcomes(passed=4, failed=5)
    result.stdout.fnmatch_lines([
        '*_ test_open_session?1? _*',
        # 2 types before 3.11: each Session's __dict__ is a dict of its own
        'objects kept growing over 3 iterations after 1 warm-up (* type*):',
        '  Session: objects * -> * -> * -> * (+3), retained bytes *',
        '    top path of the new ones (2 objects, * bytes):',
        "      *dict?'_cache'? -> list -> Session (held by module test_app)",
        "    accumulating in: *dict?'_cache'? -> list "
        '(+3 references to Session)',
    ])
    result.stdout.fnmatch_lines([
        '*_ test_fixture_leak _*',
        '*for _ in objgraph_no_growth():',
        'E       objgraph.GrowthError: objects kept growing over 3 '
        'iterations after 1 warm-up (* type*):',
        'E         Session: objects * -> * -> * -> * (+3), *',
    ])
    result.stdout.fnmatch_lines([
        '*_ test_positional_argument _*',
        '@pytest.mark.objgraph_no_growth takes keyword arguments only *',
        '*_ test_one_iteration _*',
        '@pytest.mark.objgraph_no_growth: iterations must be 2 or more *',
    ])
    result.stdout.fnmatch_lines([
        'FAILED test_app.py::test_open_session?1? - *',
        'FAILED test_app.py::test_open_session?2? - *',
        'FAILED test_app.py::test_fixture_leak - *',
        'FAILED test_app.py::test_positional_argument - *',
        'FAILED test_app.py::test_one_iteration - *',
    ])
    # the clean tests pass, their logging and warnings included
    result.stdout.no_fnmatch_line('*_ test_handle*')
    result.stdout.no_fnmatch_line('*_ test_fixture_clean _*')


def test_the_plugin_is_registered_by_the_installed_entry_point(pytester):
    result = pytester.runpytest_subprocess('--markers')
    result.stdout.fnmatch_lines(['@pytest.mark.objgraph_no_growth(*'])
    assert result.ret == 0


def test_a_run_that_uses_no_marker_or_fixture_never_imports_objgraph(
        pytester):
    pytester.makepyfile(test_plain='''
        import sys

        def test_plain():
            assert 'objgraph' not in sys.modules
            assert '_objgraph_pytestplugin' in sys.modules
    ''')
    result = pytester.runpytest_subprocess('-p', 'no:cacheprovider')
    result.assert_outcomes(passed=1)


# -- objgraph.assert_no_growth in this process (unittest, scripts) ----------
#
# This process has run other tests, whose threads may still allocate a
# str now and then: the checks here watch the types the code allocates
# (types=...), so that only the code under test can fail them.

_kept = []


class Kept:
    __slots__ = ()  # no __dict__: Kept alone grows, on every version


class Other:
    __slots__ = ()


def _leak():
    _kept.append(Kept())


def _leak_both():
    _kept.append(Kept())
    _kept.append(Other())


def _allocate_and_free():
    return len([Kept() for _ in range(50)])


def test_assert_no_growth_raises_an_assertion_error_naming_the_leak():
    with pytest.raises(AssertionError) as info:
        objgraph.assert_no_growth(_leak, iterations=2, warmups=0,
                                  types=['Kept', 'list', 'dict'])
    error = info.value
    assert isinstance(error, objgraph.GrowthError)
    assert type(error).__module__ == 'objgraph'
    assert [s.typename for s in error.suspects] == ['Kept']
    counts = error.suspects[0].counts
    assert [b - a for a, b in zip(counts, counts[1:])] == [1, 1], counts
    path = error.paths[0]
    assert path.signature[-3:] == ("dict['_kept']", 'list', 'Kept'), \
        path.signature
    assert path.root.description == 'module %s' % __name__, path.root
    lines = str(error).splitlines()
    assert lines[0] == ('objects kept growing over 2 iterations after '
                        '0 warm-ups (1 type):'), lines
    assert lines[1].startswith('  Kept: objects %d -> %d -> %d (+2), '
                               'retained bytes ' % counts), lines
    assert lines[3].endswith("dict['_kept'] -> list -> Kept (held by "
                             'module %s)' % __name__), lines
    assert lines[-1].startswith('(counts: after the warm-up'), lines


def test_assert_no_growth_passes_code_that_allocates_and_frees():
    with objgraph.assert_no_growth(iterations=2,
                                   types=['Kept', 'list']) as rounds:
        for _ in rounds:
            _allocate_and_free()


def test_assert_no_growth_lets_ignored_and_filtered_types_pass():
    with pytest.raises(objgraph.GrowthError) as info:
        objgraph.assert_no_growth(_leak_both, iterations=2,
                                  types=['Kept', 'Other'], ignore=['Other'])
    assert [s.typename for s in info.value.suspects] == ['Kept']
    objgraph.assert_no_growth(_leak, iterations=2, warmups=0,
                              types=['Kept'],
                              filter_fn=lambda s: s.typename != 'Kept')


def test_assert_no_growth_checks_its_arguments():
    with pytest.raises(ValueError, match='iterations must be 2 or more'):
        objgraph.assert_no_growth(iterations=1)
    with pytest.raises(ValueError, match='warmups must be >= 0'):
        objgraph.assert_no_growth(warmups=-1)
    with pytest.raises(TypeError, match='types must hold type names'):
        objgraph.assert_no_growth(types=[Kept])
    with pytest.raises(TypeError, match='filter_fn must be callable'):
        objgraph.assert_no_growth(filter_fn=1)
    with pytest.raises(TypeError, match='without a function'):
        objgraph.assert_no_growth(None, 1)
    with pytest.raises(RuntimeError, match='rounds were not all run'):
        with objgraph.assert_no_growth():
            pass
    assert {'GrowthError', 'assert_no_growth'} <= set(objgraph.__all__)
