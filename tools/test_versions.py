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

The environments are set up one after the other; the runs then go
``--jobs`` at a time (default: 2, or 1 on a one-core machine), each in a
temporary directory of its own (pytest's ``--basetemp``), its output
kept in build/test-logs/ and printed whole when it ends, so that two
runs' lines never mix.

One line per run says what ran and how it ended, e.g.::

    == suite on CPython 3.12.1 (capture: portable): passed (...)

and the lines are repeated at the end.  Every run goes ahead whatever
the others gave; the exit status is 1 if any failed (or if no CPython
>= 3.10 was found), else 0.
"""

import argparse
import concurrent.futures
import os
import subprocess
import sys
import time

import pythons  # tools/, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPS = ['scikit-build-core', 'cmake', 'ninja', 'pytest', 'hypothesis',
        'graphviz', 'mypy']  # mypy: stubtest (tests/python/test_stubs.py)
LOGS = os.path.join(ROOT, 'build', 'test-logs')
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


def run(cmd, env=None, cwd=ROOT, out=None):
    """Run cmd, its output going to ``out`` (default: ours); (ok, its
    last non-empty line)."""
    out = out or sys.stdout
    print('$', ' '.join(cmd), file=out, flush=True)
    last = ''
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            out.write(line)
            if line.strip():
                last = line.strip()
        out.flush()
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


def test(python, version, env, ref, name):
    """The suite and the doctests with python under env, the run called
    ``name`` (its log, pictures and temporary files are build/*-name):
    (the lines that say how each ended, the run's whole output)."""
    env = dict(env, OBJGRAPH_REF_PATH=ref)
    kind = capture_kind(python, env)
    images = os.path.join(ROOT, 'build', 'docs-images-' + name)
    basetemp = os.path.join(ROOT, 'build', 'pytest-tmp-' + name)
    os.makedirs(LOGS, exist_ok=True)
    log_path = os.path.join(LOGS, name + '.log')
    lines = []
    with open(log_path, 'w') as out:
        _test(python, version, env, kind, images, basetemp, out, lines)
    with open(log_path) as f:
        return lines, f.read()


def _test(python, version, env, kind, images, basetemp, out, lines):
    for what, cmd, cwd in (
            ('suite', [python, '-m', 'pytest', '-q', '-p',
                       'no:cacheprovider', '--basetemp', basetemp, '.'],
             os.path.join(ROOT, 'tests', 'python')),
            ('doctests', [python, os.path.join('docs', 'run_doctests.py'),
                          '--images', images], ROOT)):
        t0 = time.monotonic()
        ok, last = run(cmd, env=env, cwd=cwd, out=out)
        line = '== %s on CPython %s (capture: %s): %s' % (
            what, version, kind, 'passed' if ok else 'FAILED')
        if what == 'suite':  # pytest's summary: "394 passed, ... in 219s"
            line += ' (%s)' % last.strip('= ')
        else:  # unittest's: "OK" or "FAILED (failures=1)"
            outcome = last[len('FAILED ('):-1] + '; ' if (
                last.startswith('FAILED (')) else ''
            line += ' (%s%.0f s)' % (outcome, time.monotonic() - t0)
        print(line, file=out, flush=True)
        lines.append((ok, line))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ref', required=True,
                        help='objgraph 3.7.0 (objgraph.py), the reference')
    parser.add_argument('--jobs', type=int,
                        default=min(2, os.cpu_count() or 1),
                        help='runs at a time (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error('--jobs must be at least 1, not %d' % args.jobs)
    ref = os.path.abspath(args.ref)
    t0 = time.monotonic()
    found = interpreters()
    results = []
    if not found:
        results.append((False, '== no CPython >= 3.10 found'))
    runs = []  # (python, version, env, name)
    for key, (path, version) in found.items():
        print('== CPython %s: %s' % (version, path), flush=True)
        python = setup(path, version, key)
        if python is None:
            results.append((False, '== setup of CPython %s (build/venv-'
                            '%d.%d): FAILED' % (version, *key)))
            continue
        env = dict(os.environ)
        env.pop('OBJGRAPH_CAPTURE', None)
        name = '%d.%d' % key
        runs.append((python, version, env, name))
        if key == PORTABLE_ON:
            runs.append((python, version,
                         dict(env, OBJGRAPH_CAPTURE='portable'),
                         name + '-portable'))
    print('== %d runs, %d at a time; logs in %s' % (
        len(runs), args.jobs, os.path.relpath(LOGS, ROOT)), flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(test, python, version, env, ref, name)
                   for python, version, env, name in runs]
        for future in concurrent.futures.as_completed(futures):
            sys.stdout.write(future.result()[1])
            sys.stdout.flush()
        for future in futures:  # the summary in the order of the runs
            results += future.result()[0]
    print('\n== %d runs in %.0f s:' % (len(results), time.monotonic() - t0))
    for _, line in results:
        print(line)
    failed = [line for ok, line in results if not ok]
    if failed:
        print('== %d FAILED' % len(failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
