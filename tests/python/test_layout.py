"""The house rules on layering (STYLE.md rule 1), checked on the sources."""

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
