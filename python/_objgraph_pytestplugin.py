"""objgraph's pytest plugin: fail a test whose objects keep growing.

Loaded by pytest through the ``pytest11`` entry point of the objgraph
distribution.  It is a module of its own, outside the objgraph package
(as hypothesis does with ``_hypothesis_pytestplugin``), so that a pytest
run that never uses it never imports objgraph: it registers a marker and
a fixture, and does nothing else until one is used.

- ``@pytest.mark.objgraph_no_growth(warmups=1, iterations=3, types=None,
  ignore=(), filter_fn=None)``: the test's body (its function, called
  with the same fixture values) runs ``warmups + iterations`` times and
  the test fails when objects keep growing; the arguments are those of
  :func:`objgraph.assert_no_growth`.
- the ``objgraph_no_growth`` fixture: :func:`objgraph.assert_no_growth`
  itself, for any block of a test: ``for _ in objgraph_no_growth(): ...``
  or ``objgraph_no_growth(func, arg)``.

The names follow pytest-memray's leak markers (``limit_leaks``,
``limit_leaked_objects``): a marker that fails the test, ``filter_fn`` to
let known growth pass; the ``objgraph_`` prefix lets both plugins be
installed together.
"""

import inspect

import pytest

MARKER = 'objgraph_no_growth'


def pytest_configure(config):
    config.addinivalue_line(
        'markers',
        '%s(warmups=1, iterations=3, types=None, ignore=(), filter_fn=None):'
        ' run the test body warmups + iterations times and fail when '
        'objects keep growing (objgraph.assert_no_growth)' % MARKER)


@pytest.fixture
def objgraph_no_growth():
    """objgraph.assert_no_growth: ``for _ in objgraph_no_growth(): ...``
    runs the loop's block repeatedly and fails when objects keep
    growing."""
    import objgraph

    return objgraph.assert_no_growth


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs a marked test's function repeatedly inside the check; leaves
    every other test to pytest."""
    marker = pyfuncitem.get_closest_marker(MARKER)
    if marker is None:
        return None
    from objgraph._growth import GrowthCheck, GrowthError

    func = pyfuncitem.obj
    if marker.args:
        pytest.fail('@pytest.mark.%s takes keyword arguments only '
                    '(warmups, iterations, types, ignore, filter_fn), not '
                    '%r' % (MARKER, marker.args), pytrace=False)
    if inspect.iscoroutinefunction(func):
        pytest.fail('@pytest.mark.%s: an async test cannot be run '
                    'repeatedly by the marker; use the objgraph_no_growth '
                    'fixture around a block of it' % MARKER, pytrace=False)
    try:
        check = GrowthCheck(**marker.kwargs)
    except (TypeError, ValueError) as e:
        error = '@pytest.mark.%s: %s' % (MARKER, e)
    else:
        error = None
    if error is not None:
        pytest.fail(error, pytrace=False)
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    failure = None
    try:
        for _ in check:
            func(**kwargs)
    except GrowthError as e:
        failure = str(e)
    if failure is not None:  # the report alone, no traceback of ours
        pytest.fail(failure, pytrace=False)
    return True
