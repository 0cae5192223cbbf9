"""Shared fixtures: the reference implementation and a quiet collector.

objgraph 3.7.0 is loaded under the name ``objgraph_ref`` from the directory
``make test`` installs it into (OBJGRAPH_REF_PATH), never as ``objgraph``.
"""

import gc
import importlib.util
import os
import pathlib
import sys

import pytest

from objgraph import _heapgraph

_DEFAULT_REF = (pathlib.Path(__file__).resolve().parents[2]
                / 'build' / 'ref' / 'objgraph.py')


# The capture this process runs (OBJGRAPH_CAPTURE, read at each capture;
# the portable one where the native one was not built).  A few tests
# assert what only the native capture does -- it reads the collector's
# own lists, the portable one what the public API shows -- and are
# skipped for the portable one, each with the reason.
PORTABLE = (os.environ.get('OBJGRAPH_CAPTURE') == 'portable'
            or not _heapgraph.NATIVE_CAPTURE)


def native_only(reason):
    """Skip the test under the portable capture, saying why."""
    return pytest.mark.skipif(PORTABLE, reason='native capture only: '
                              + reason)


def load_reference():
    path = os.environ.get('OBJGRAPH_REF_PATH') or str(_DEFAULT_REF)
    if not os.path.exists(path):
        raise RuntimeError(
            'objgraph 3.7.0 (the reference) is not installed at %s; run '
            '"make test", which installs it' % path)
    if 'objgraph_ref' in sys.modules:
        return sys.modules['objgraph_ref']
    spec = importlib.util.spec_from_file_location('objgraph_ref', path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules['objgraph_ref'] = mod
    spec.loader.exec_module(mod)
    assert mod.__version__ == '3.7.0', mod.__version__
    return mod


@pytest.fixture(scope='session')
def ref():
    """objgraph 3.7.0, the reference implementation."""
    return load_reference()


@pytest.fixture
def quiet_gc():
    """A heap without garbage and no automatic collection during the test,
    so that two implementations see the same heap."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
