"""``objgraph attach PID``: a detached snapshot taken inside a running
CPython process that never imported objgraph, written to a file.

The workload: a service that is leaking now and started no canary.  The
snapshot is taken by the target itself -- ``objgraph.snapshot(pin=False)``
then ``Snapshot.save(path)``, the file written atomically by the engine --
from a short script this module injects:

- CPython 3.14 and later: ``sys.remote_exec(pid, script)``; the target
  runs the script at its next safe point, in its main thread.
- CPython 3.10 to 3.13: gdb, as ``memray attach`` and pyrasite do.  gdb
  attaches (every thread stops), reads the GIL's state from the
  interpreter's debug symbols, picks a thread that waits in a C call with
  the GIL released (a sleep, a read, a lock: the heap is consistent and the
  thread holds no allocator lock), and calls ``PyGILState_Ensure()``,
  ``PyRun_SimpleString(script)`` and ``PyGILState_Release()`` in it, then
  detaches.  When the GIL is held (a thread runs Python, or waits in a C
  call that keeps the GIL) or no thread is at such a point, gdb detaches
  without calling anything and the attempt is repeated until ``timeout``:
  the target is never entered where the call could block.

The script makes this objgraph importable for its duration (the directory
that holds the ``objgraph`` package goes first on ``sys.path`` and is
removed afterwards, and ``objgraph`` leaves ``sys.modules`` again unless
the target had imported it), captures, saves, and writes its result to a
status file in a private temporary directory; nothing else of the
target's runs.  The target's interpreter must be the version this
objgraph's extension was built for, which is checked first (from the
``libpython`` it maps, or its program).

Every failure is an :class:`AttachError` with a one-line message, and the
target keeps running: it is never entered unless it can take the GIL at
once; a gdb that has not called in by the timeout is terminated, which
detaches it, and a target it left stopped is continued.  gdb is never
killed inside its call (it would leave the thread to return to a
breakpoint no one removes): one that called in and still waits for the
GIL at the timeout is left to finish in the background, and the script,
past its deadline, takes no snapshot.

``timeout`` bounds the wait for such a point; once the script runs, the
capture is waited for to its end (interrupting it would leave the
target's heap walk half done).
"""

import json
import os
import shutil
import sys
import tempfile
import time

from ._attach_gdb import _gdb_error, _inject_gdb  # noqa: F401 (_gdb_error)
from ._attach_target import (  # noqa: F401 (importable from here as before)
    MIN_VERSION,
    REMOTE_EXEC_VERSION,
    AttachError,
    _name,
    _package_site,
    _state,
    check_process,
    check_version,
    target_python,
)

# -- The script the target runs ----------------------------------------------

_SCRIPT = r'''
def _objgraph_attach(workdir, site, output, deadline):
    import json
    import os
    import sys
    import time

    def report(doc):
        try:
            tmp = os.path.join(workdir, 'status.tmp')
            with open(tmp, 'w') as f:
                json.dump(doc, f)
            os.replace(tmp, os.path.join(workdir, 'status.json'))
        except OSError:  # attach gave up and removed the directory
            pass

    started = time.perf_counter()
    try:
        if time.time() > deadline:  # a call that came too late
            report({'ok': False, 'error': 'past the timeout'})
            return
        with open(os.path.join(workdir, 'started'), 'w'):
            pass
        before = set(sys.modules)
        sys.path.insert(0, site)  # first: this objgraph, not another
        try:
            import objgraph
            found = os.path.dirname(getattr(objgraph, '__file__', '') or '')
            if os.path.dirname(found) != site:
                raise ImportError('the process imported another objgraph: '
                                  '%s' % (found or objgraph))
            snap = objgraph.snapshot(pin=False)
            snap.save(output)
            doc = {'ok': True, 'nodes': len(snap), 'edges': snap.num_edges,
                   'pause_seconds': snap.pause_seconds,
                   'capture_seconds': snap.capture_seconds,
                   'file_size': os.path.getsize(output),
                   'python': sys.version.split()[0],
                   'seconds': time.perf_counter() - started}
        finally:
            if site in sys.path:
                sys.path.remove(site)  # the first one: ours
            if 'objgraph' not in before:
                for name in [n for n in sys.modules if n not in before and (
                        n == 'objgraph' or n.startswith('objgraph.'))]:
                    del sys.modules[name]
    except BaseException as e:
        doc = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
    report(doc)
'''


def _script(workdir, output, deadline):
    return _SCRIPT + '\n_objgraph_attach(%r, %r, %r, %r)\n' % (
        workdir, _package_site(), output, deadline)


# -- sys.remote_exec (CPython 3.14 and later) --------------------------------

def _inject_remote_exec(pid, version, script_path, workdir, deadline):
    if sys.version_info[:2] != version[:2] or \
            not hasattr(sys, 'remote_exec'):
        raise AttachError(
            'process %d runs CPython %d.%d: run python%d.%d -m objgraph '
            'attach (sys.remote_exec needs the same version)'
            % (pid, version[0], version[1], version[0], version[1]))
    try:
        sys.remote_exec(pid, script_path)
    except PermissionError as e:
        raise AttachError('process %d: permission refused (%s)' % (pid, e)
                          ) from None
    except (OSError, RuntimeError) as e:
        raise AttachError('process %d: sys.remote_exec failed: %s'
                          % (pid, e)) from None
    started = os.path.join(workdir, 'started')
    status = os.path.join(workdir, 'status.json')
    while not os.path.exists(status):
        if not os.path.exists(started) and time.monotonic() > deadline:
            raise AttachError(
                'process %d did not run the snapshot within the timeout '
                '(its main thread never reached the interpreter loop); it '
                'was left running and will not take it later' % pid)
        if _state(pid) in (None, 'Z', 'X'):
            raise AttachError('process %d exited' % pid)
        time.sleep(0.05)


# -- attach ------------------------------------------------------------------

def attach(pid, path, timeout=30.0):
    """Take a detached snapshot inside the running CPython process ``pid``
    and save it to ``path``; return what the target reported: a dict with
    ``nodes``, ``edges``, ``pause_seconds``, ``capture_seconds``,
    ``file_size``, ``python`` (its version) and ``seconds`` (the script's
    time in the target).

    ``timeout``: seconds to wait for the target to reach a point where it
    can run the snapshot (a thread waiting in a C call with the GIL free
    on 3.10-3.13, the eval loop's next safe point on 3.14); the capture
    itself, once started, is waited for to its end.

    The file is written by the target, so its user must be able to write
    ``path``; it is written atomically (a temporary file renamed).
    Raises :class:`AttachError` (one line) on any failure; the target is
    left running."""
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise AttachError('cannot write %s: no directory %s'
                          % (path, directory))
    if os.path.isdir(path):
        raise AttachError('cannot write %s: it is a directory' % path)
    check_process(pid)
    version = target_python(pid)
    check_version(pid, version)
    deadline = time.monotonic() + timeout
    workdir = tempfile.mkdtemp(prefix='objgraph-attach-')
    try:
        owner = os.stat('/proc/%d' % pid)
        if os.getuid() == 0 and owner.st_uid != 0:
            os.chown(workdir, owner.st_uid, owner.st_gid)
        script = _script(workdir, path, time.time() + timeout)
        if version[:2] >= REMOTE_EXEC_VERSION:
            script_path = os.path.join(workdir, 'script.py')
            with open(script_path, 'w') as f:
                f.write(script)
            os.chmod(script_path, 0o644)
            _inject_remote_exec(pid, version, script_path, workdir,
                                deadline)
        else:
            _inject_gdb(pid, version, script, workdir, deadline, timeout)
        try:
            with open(os.path.join(workdir, 'status.json')) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            raise AttachError('process %d (%s) ran the injected call but '
                              'reported nothing' % (pid, _name(pid))
                              ) from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not doc.get('ok'):
        raise AttachError('process %d (%s) could not take the snapshot: %s'
                          % (pid, _name(pid),
                             ' '.join(str(doc.get('error')).split())))
    return doc
