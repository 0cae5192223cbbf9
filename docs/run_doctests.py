"""Run the user guide's examples (docs/*.rst) as doctests.

    python3 docs/run_doctests.py              # every page
    python3 docs/run_doctests.py index.rst    # some pages
    python3 docs/run_doctests.py --images build/docs-images

The examples run with docs/images/ as the working directory, so the
pictures they draw (``filename='sample-graph.png'``) are the ones the guide
shows: ``make docs`` regenerates them in place.  ``make test`` runs the
same examples with ``--images`` pointing into build/, so testing leaves the
committed pictures alone.  The temporary DOT files graphviz reads go to a
scratch directory removed afterwards.

Each page runs in its own namespace, in the order of the guide, in this one
process.  Two option flags, as in objgraph 3.x's own documentation:

``NODES_VARY``
    the "(N nodes)" count of "Graph written to ..." lines is not compared
    (it depends on what else the heap holds);
``RANDOM_OUTPUT``
    the output is not compared at all (type counts, addresses).

One more, for what legitimately differs between CPython versions:

``SINCE_3_11``
    the output shown is CPython 3.11's (and later's); before 3.11 the
    example runs but its output is not compared.  The page's text says
    what 3.10 prints instead and why (an instance's attributes in a
    ``__dict__`` of its own, objgraph 3.7.0's ``[refcount]`` one higher);
    the test suite compares such output with objgraph 3.7.0's on every
    version.

``ELLIPSIS`` is on everywhere: temporary file names are written "...".

Pictures are kept small in bytes: graphviz runs through a ``dot`` wrapper
put first on PATH that adds ``-Gsize=30,30``, so a drawing larger than 30
inches (a random sample of the heap can be) is scaled down to fit; smaller
ones are drawn as they are.  The DOT text and the printed messages are
unchanged.
"""

import doctest
import gc
import os
import re
import shutil
import sys
import tempfile
import unittest

DOCS = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(DOCS, 'images')

# The guide's order: later pages may rely on nothing from earlier ones, but
# a fixed order keeps the heap each page sees the same from run to run.
PAGES = [
    'index.rst',
    'too-many.rst',
    'refcounts.rst',
    'extra-info.rst',
    'highlighting.rst',
    'generators.rst',
    'graph-searches.rst',
    'quoting.rst',
    'large-graphs.rst',
    'snapshots.rst',
    'leak-hunt.rst',
    'leak-tests.rst',
    'snapshot-format.rst',
    'cli.rst',
    'canary.rst',
    'attach.rst',
    'report.rst',
    'safety.rst',
    'differences.rst',
    'architecture.rst',
]

NODES_VARY = doctest.register_optionflag('NODES_VARY')
RANDOM_OUTPUT = doctest.register_optionflag('RANDOM_OUTPUT')
SINCE_3_11 = doctest.register_optionflag('SINCE_3_11')


class Checker(doctest.OutputChecker):
    """doctest's checker, plus NODES_VARY, RANDOM_OUTPUT and
    SINCE_3_11."""

    _nodes = re.compile(r'\(\d+ nodes\)$', re.MULTILINE)

    def check_output(self, want, got, optionflags):
        if optionflags & RANDOM_OUTPUT:
            return True
        if optionflags & SINCE_3_11 and sys.version_info < (3, 11):
            return True
        if optionflags & NODES_VARY:
            want = self._nodes.sub('(N nodes)', want)
            got = self._nodes.sub('(N nodes)', got)
        return super().check_output(want, got, optionflags)


# Largest picture, in inches (graphviz's size attribute).
MAX_SIZE = '30,30'


def _dot_wrapper(bindir):
    """A ``dot`` in ``bindir`` running the real one with MAX_SIZE."""
    real = shutil.which('dot')
    if real is None:
        return  # objgraph prints its "not found" message; the test fails
    path = os.path.join(bindir, 'dot')
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nexec "%s" -Gsize=%s "$@"\n' % (real, MAX_SIZE))
    os.chmod(path, 0o755)


def set_up(test):
    scratch = tempfile.mkdtemp(prefix='objgraph-docs-')
    test.globs['_saved'] = (os.getcwd(), tempfile.tempdir,
                            os.environ.get('PATH', os.defpath), scratch)
    _dot_wrapper(scratch)
    os.environ['PATH'] = scratch + os.pathsep + test.globs['_saved'][2]
    tempfile.tempdir = scratch
    os.chdir(IMAGES)


def tear_down(test):
    cwd, tempfile.tempdir, os.environ['PATH'], scratch = test.globs['_saved']
    os.chdir(cwd)
    shutil.rmtree(scratch, ignore_errors=True)
    test.globs.clear()
    gc.enable()  # if a page failed between gc.disable() and gc.enable()
    gc.unfreeze()


def suite(pages):
    return doctest.DocFileSuite(
        *[os.path.join(DOCS, page) for page in pages],
        module_relative=False, setUp=set_up, tearDown=tear_down,
        optionflags=doctest.ELLIPSIS, checker=Checker(), encoding='utf-8')


def main(argv):
    global IMAGES
    args = argv[1:]
    if args[:1] == ['--images']:
        if len(args) < 2:
            print('--images needs a directory', file=sys.stderr)
            return 2
        IMAGES = os.path.abspath(args[1])
        args = args[2:]
    pages = args or PAGES
    unknown = sorted(set(pages) - set(PAGES))
    on_disk = sorted(p for p in os.listdir(DOCS) if p.endswith('.rst'))
    missing = sorted(set(on_disk) - set(PAGES))
    if unknown or missing:
        print('pages not in PAGES: %s' % ', '.join(unknown + missing),
              file=sys.stderr)
        return 2
    os.makedirs(IMAGES, exist_ok=True)
    result = unittest.TextTestRunner(verbosity=1).run(suite(pages))
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
