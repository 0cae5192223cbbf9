"""The Python suite and the guide's doctests on every CPython >= 3.10 found.

    python3 tools/test_versions.py --ref build/ref/objgraph.py

``make test`` runs this.  It finds the interpreters (tools/pythons.py:
pyenv's versions, then ``python3.X`` on PATH), keeps one per minor version
(the first found), and for each makes a virtual environment of its own,
build/venv-3.X, with the test dependencies, installs the package there
(``pip install --no-build-isolation .``: the build directory is per
interpreter, build/cp3X-...), then runs tests/python (the differential
tests against objgraph 3.7.0, at ``--ref``, included) and
docs/run_doctests.py with it.  3.11 runs a second time with the portable
capture forced (OBJGRAPH_CAPTURE=portable).

One line per run says what ran and how it ended, e.g.::

    == suite on CPython 3.12.1 (capture: portable): passed (...)

and the lines are repeated at the end.  Every run goes ahead whatever
the others gave; the exit status is 1 if any failed (or if no CPython
>= 3.10 was found), else 0.
"""

import argparse
import os
import subprocess
import sys
import time

import pythons  # tools/, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPS = ['scikit-build-core', 'cmake', 'ninja', 'pytest', 'hypothesis',
        'graphviz']
PORTABLE_ON = (3, 11)  # the one version also run with the portable capture
CAPTURE_PROBE = ('import objgraph\n'
                 'with objgraph.snapshot() as s:\n'
                 '    print(s.capture_kind)')


def interpreters():
    """{(3, minor): (path, 'X.Y.Z')}: one CPython per minor version, with
    the GIL, as tools/pythons.py finds them."""
    chosen = {}
    for info in pythons.find():
        key = tuple(info['version'][:2])
        chosen.setdefault(key, (info['executable'],
                                '.'.join(map(str, info['version']))))
    return dict(sorted(chosen.items()))


def run(cmd, env=None, cwd=ROOT):
    """Run cmd, its output going to ours; (ok, its last non-empty
    line)."""
    print('$', ' '.join(cmd), flush=True)
    last = ''
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            if line.strip():
                last = line.strip()
        sys.stdout.flush()
    return proc.returncode == 0, last


def setup(path, version, key):
    """build/venv-3.X with the dependencies and the package installed:
    its python, or None after saying what failed.  The environment is
    made again when the interpreter it was made from changed."""
    venv = os.path.join(ROOT, 'build', 'venv-%d.%d' % key)
    python = os.path.join(venv, 'bin', 'python')
    stamp = os.path.join(venv, '.made-from')
    made_from = '%s %s\n' % (os.path.realpath(path), version)
    pip = [python, '-m', 'pip', 'install', '-q',
           '--disable-pip-version-check']
    try:
        with open(stamp) as f:
            fresh = f.read() == made_from
    except OSError:
        fresh = False
    if not fresh:
        ok, _ = run([path, '-m', 'venv', '--clear', venv])
        ok = ok and run(pip + DEPS)[0]
        if not ok:
            return None
        with open(stamp, 'w') as f:
            f.write(made_from)
    ok, _ = run(pip + ['--no-build-isolation', '.'])
    return python if ok else None


def capture_kind(python, env):
    out = subprocess.run([python, '-c', CAPTURE_PROBE], env=env,
                         capture_output=True, text=True, cwd='/')
    return out.stdout.strip() if out.returncode == 0 else 'unknown'


def test(python, version, env, ref, images):
    """The suite and the doctests with python under env: the lines that
    say how each ended."""
    env = dict(env, OBJGRAPH_REF_PATH=ref)
    kind = capture_kind(python, env)
    lines = []
    for what, cmd, cwd in (
            ('suite', [python, '-m', 'pytest', '-q', '-p',
                       'no:cacheprovider', '.'],
             os.path.join(ROOT, 'tests', 'python')),
            ('doctests', [python, os.path.join('docs', 'run_doctests.py'),
                          '--images', images], ROOT)):
        t0 = time.monotonic()
        ok, last = run(cmd, env=env, cwd=cwd)
        line = '== %s on CPython %s (capture: %s): %s' % (
            what, version, kind, 'passed' if ok else 'FAILED')
        if what == 'suite':  # pytest's summary: "394 passed, ... in 219s"
            line += ' (%s)' % last.strip('= ')
        else:  # unittest's: "OK" or "FAILED (failures=1)"
            outcome = last[len('FAILED ('):-1] + '; ' if (
                last.startswith('FAILED (')) else ''
            line += ' (%s%.0f s)' % (outcome, time.monotonic() - t0)
        print(line, flush=True)
        lines.append((ok, line))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ref', required=True,
                        help='objgraph 3.7.0 (objgraph.py), the reference')
    args = parser.parse_args(argv)
    ref = os.path.abspath(args.ref)
    t0 = time.monotonic()
    found = interpreters()
    results = []
    if not found:
        results.append((False, '== no CPython >= 3.10 found'))
    for key, (path, version) in found.items():
        print('== CPython %s: %s' % (version, path), flush=True)
        python = setup(path, version, key)
        if python is None:
            results.append((False, '== setup of CPython %s (build/venv-'
                            '%d.%d): FAILED' % (version, *key)))
            continue
        env = dict(os.environ)
        env.pop('OBJGRAPH_CAPTURE', None)
        images = os.path.join(ROOT, 'build', 'docs-images-%d.%d' % key)
        results += test(python, version, env, ref, images)
        if key == PORTABLE_ON:
            env['OBJGRAPH_CAPTURE'] = 'portable'
            results += test(python, version, env, ref, images + '-portable')
    print('\n== %d runs in %.0f s:' % (len(results), time.monotonic() - t0))
    for _, line in results:
        print(line)
    failed = [line for ok, line in results if not ok]
    if failed:
        print('== %d FAILED' % len(failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
