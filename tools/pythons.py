"""pythons.py -- the CPython interpreters this machine has, found once for
every script that runs something on each: tools/test_versions.py (make
test), tools/build_wheels.py (make wheels) and bench/version_bench.py
(make bench).

Where they are looked for, in order of preference: pyenv's versions
($PYENV_ROOT, default ~/.pyenv), the newest release first, then
``python3.X`` and ``python3.Xt`` on PATH, pyenv's own directories (its
shims, which run only the versions pyenv has selected) left out.  Each is
asked what it is (a child process); the first of each ABI tag (cp312,
cp313t, ...) that is CPython 3.10 or later with the GIL is kept.
"""

import glob
import json
import os
import shutil
import subprocess

# Run by each interpreter: what it is, as one JSON line.
_ABOUT = r'''
import json, sys, sysconfig
ft = 't' if sysconfig.get_config_var('Py_GIL_DISABLED') else ''
print(json.dumps({'impl': sys.implementation.name,
                  'version': list(sys.version_info[:3]),
                  'tag': 'cp%d%d%s' % (sys.version_info[:2] + (ft,)),
                  'executable': sys.executable}))
'''


def pyenv_root():
    """pyenv's directory ($PYENV_ROOT, default ~/.pyenv)."""
    return os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')


def path_without_pyenv():
    """PATH's directories, pyenv's own (its shims, its bin) left out."""
    pyenv = os.path.join(pyenv_root(), '')
    return [d for d in os.environ.get('PATH', '/usr/bin:/bin').split(
        os.pathsep) if not os.path.join(os.path.abspath(d), '').startswith(
            pyenv)]


def _newest_first(path):
    """Sort key of .../versions/3.X.Y/bin/python3: the newest release
    first; other names (3.13t, 3.12-dev, a virtualenv) after them."""
    name = os.path.basename(os.path.dirname(os.path.dirname(path)))
    parts = name.split('.')
    if all(p.isdigit() for p in parts):
        return (0, [-int(p) for p in parts])
    return (1, [name])


def candidates():
    """Interpreter paths worth asking, in order of preference."""
    found = sorted(glob.glob(os.path.join(pyenv_root(), 'versions', '*',
                                          'bin', 'python3')),
                   key=_newest_first)
    path = os.pathsep.join(path_without_pyenv())
    for minor in range(10, 30):
        for suffix in ('', 't'):
            python = shutil.which('python3.%d%s' % (minor, suffix),
                                  path=path)
            if python:
                found.append(python)
    return found


def about(python):
    """What ``python`` is -- a dict: impl, version ([major, minor, micro]),
    tag ('cp312', 'cp313t'), executable -- or None if it does not run."""
    try:
        out = subprocess.run([python, '-c', _ABOUT], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def find(named=(), report=print):
    """One interpreter per ABI tag, CPython >= 3.10 with the GIL, sorted
    by version: the ``about`` dicts of those named, or of the candidates.
    A named one that does not run, is not such a CPython or is a
    free-threaded build raises SystemExit; a candidate that is not is
    skipped (``report`` says so when it does not run, is free-threaded, or
    when another of its tag was chosen first)."""
    chosen = {}
    for python in named or candidates():
        info = about(python)
        if info is None:
            if named:
                raise SystemExit('%s does not run' % python)
            report('-- %s does not run; skipped' % python)
            continue
        if info['impl'] != 'cpython' or info['version'][:2] < [3, 10]:
            if named:
                raise SystemExit('%s is not CPython >= 3.10' % python)
            continue
        if info['tag'].endswith('t'):
            # capture/CMakeLists.txt refuses free-threaded builds for now
            if named:
                raise SystemExit('%s is a free-threaded build, which '
                                 'objgraph does not support yet' % python)
            report('-- %s is free-threaded (not supported yet); skipped'
                   % python)
            continue
        first = chosen.setdefault(info['tag'], info)
        if first is not info and (os.path.realpath(first['executable'])
                                  != os.path.realpath(info['executable'])):
            report('-- CPython %s at %s not used: %s is, for %s'
                   % ('.'.join(map(str, info['version'])), python,
                      first['executable'], info['tag']))
    return sorted(chosen.values(), key=lambda i: (i['version'], i['tag']))
