"""The house rules on layering (STYLE.md rule 1) and on parallel regions,
checked on the sources."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def _includes(folder, suffixes=('.c', '.h', '.cc')):
    for path in sorted((ROOT / folder).rglob('*')):
        if path.suffix in suffixes:
            for name in INCLUDE.findall(path.read_text()):
                yield path.relative_to(ROOT), name


def test_core_never_sees_python():
    bad = [(p, n) for p, n in _includes('core') if 'Python' in n
           or n.startswith('internal/pycore')]
    assert bad == [], 'core/ must not include Python headers: %s' % bad


def test_bench_and_core_tests_see_only_the_public_header():
    project_headers = {p.name for p in ROOT.rglob('*.h')
                       if 'build' not in p.parts}
    for folder in ('bench', 'tests/core'):
        bad = [(p, n) for p, n in _includes(folder)
               if n in project_headers and n != 'heapgraph.h'
               and not n.startswith('ref')
               and not (ROOT / folder / n).exists()
               and not any((ROOT / folder).rglob(n))]
        assert bad == [], '%s includes private headers: %s' % (folder, bad)


def test_only_capture_and_bindings_include_python():
    for folder in ('core', 'bench', 'tests/core'):
        for path, name in _includes(folder):
            assert name != 'Python.h', '%s includes Python.h' % path
    assert any(n == 'Python.h' for _, n in _includes('capture'))


PARALLEL = re.compile(r'#\s*pragma\s+omp\s+parallel\b((?:.*\\\n)*.*)')
NUM_THREADS = re.compile(r'num_threads\(((?:[^()]|\([^()]*\))*)\)')


def test_every_parallel_region_asks_for_the_engines_team():
    # core/src/threads.c: a region of another size would shrink or grow
    # the runtime's pool (threads created, maybe none to be had), and one
    # of the default size could wait for pool threads a forked child does
    # not have.  The team is hg_num_threads(), or a count planned from it
    # or from hg_threads_reserve().
    planned = {'hg_num_threads()', 'w->team', 'n_walkers', 'team'}
    seen = 0
    for folder in ('core', 'capture', 'python/ext'):
        for path in sorted((ROOT / folder).rglob('*.c')):
            for m in PARALLEL.finditer(path.read_text()):
                seen += 1
                asked = NUM_THREADS.findall(m.group(1))
                assert len(asked) == 1 and asked[0] in planned, (
                    '%s: expected num_threads(<one of %s>) in "%s"'
                    % (path.relative_to(ROOT), sorted(planned),
                       m.group(0)))
    assert seen > 30, 'expected the parallel regions, found %d' % seen
