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

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

#: The oldest CPython this objgraph captures.
MIN_VERSION = (3, 10)
#: The first CPython with ``sys.remote_exec`` (PEP 768).
REMOTE_EXEC_VERSION = (3, 14)
#: The prefix of the lines the gdb script prints for attach to read.
_TAG = 'objgraph-attach:'
#: Seconds between two attempts to find the target at a safe point.
_RETRY_SECONDS = 0.2
#: Seconds given to gdb to detach and exit, once terminated.
_STOP_SECONDS = 5.0


class AttachError(Exception):
    """``objgraph attach`` could not take the snapshot; the message is one
    line naming the process and the cause.  The target is left running."""


# -- The target --------------------------------------------------------------

def _read(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace')


def _state(pid):
    """The process's state letter from /proc/PID/stat (R, S, D, T, t, Z,
    ...), or None if it is gone."""
    try:
        stat = _read('/proc/%d/stat' % pid)
    except OSError:
        return None
    return stat[stat.rindex(')') + 2:].split()[0]


def _name(pid):
    try:
        return _read('/proc/%d/comm' % pid).strip()
    except OSError:
        return '?'


def check_process(pid):
    """Refuse, with an AttachError, a process that does not exist, is this
    one, is a zombie, is stopped or is traced by another debugger."""
    if pid <= 0:
        raise AttachError('no process with id %d' % pid)
    if pid == os.getpid():
        raise AttachError('process %d is this objgraph itself' % pid)
    state = _state(pid)
    if state is None:
        raise AttachError('process %d: no such process' % pid)
    label = 'process %d (%s)' % (pid, _name(pid))
    if state in ('Z', 'X'):
        raise AttachError('%s has exited (a zombie)' % label)
    if state == 'T':
        raise AttachError('%s is stopped (state T): continue it first '
                          '(kill -CONT %d)' % (label, pid))
    try:
        status = _read('/proc/%d/status' % pid)
    except OSError:
        status = ''
    tracer = re.search(r'^TracerPid:\s*(\d+)', status, re.M)
    if tracer and tracer.group(1) != '0':
        raise AttachError('%s is already traced by process %s (a debugger?)'
                          % (label, tracer.group(1)))


def target_python(pid):
    """``(major, minor, free_threaded)`` of the CPython process ``pid``
    runs, read from the ``libpython3.X`` it maps or its program's name
    (``python3.X``); AttachError if it runs no CPython."""
    label = 'process %d (%s)' % (pid, _name(pid))
    try:
        exe = os.readlink('/proc/%d/exe' % pid)
        maps = _read('/proc/%d/maps' % pid)
    except PermissionError:
        raise AttachError('%s: permission refused: cannot read /proc/%d/'
                          'maps (ptrace access; run as its user or as '
                          'root)' % (label, pid)) from None
    except OSError as e:
        raise AttachError('%s: %s' % (label, e.strerror or e)) from None
    if re.search(r'/libpypy[\w.-]*\.so', maps):
        raise AttachError('%s runs PyPy: attach needs CPython' % label)
    found = re.search(r'/libpython(\d+)\.(\d+)(t?)(?:d|m)*\.so', maps)
    if found is None:
        found = re.search(r'python(\d+)\.(\d+)(t?)$',
                          os.path.basename(exe.replace(' (deleted)', '')))
    if found is None:
        raise AttachError('%s is not a Python process (its program is %s, '
                          'no libpython is mapped)' % (label, exe))
    return int(found.group(1)), int(found.group(2)), bool(found.group(3))


def _package_site():
    """The directory that holds this ``objgraph`` package: what the
    target puts on ``sys.path`` to import it."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check_version(pid, version):
    """Refuse a target whose interpreter this objgraph cannot run in:
    too old, free-threaded, or a version its extension was not built
    for."""
    major, minor, free_threaded = version
    label = 'process %d (%s) runs CPython %d.%d%s' % (
        pid, _name(pid), major, minor, 't' if free_threaded else '')
    if (major, minor) < MIN_VERSION:
        raise AttachError('%s: objgraph captures CPython %d.%d and later'
                          % (label, *MIN_VERSION))
    if free_threaded:
        raise AttachError('%s: the free-threaded build is not supported'
                          % label)
    here = os.path.join(_package_site(), 'objgraph')
    built = glob.glob(os.path.join(here, '_heapgraph.cpython-%d%d-*'
                                   % (major, minor)))
    if not built:
        raise AttachError(
            '%s, but this objgraph (%s) is installed for CPython %d.%d: run '
            'python%d.%d -m objgraph attach with objgraph installed there'
            % (label, here, sys.version_info[0], sys.version_info[1],
               major, minor))


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


def _run_line(script):
    """One line of Python that runs ``script`` in a namespace of its own
    (the target's ``__main__`` gains no name)."""
    return 'exec(%r, {"__name__": "__objgraph_attach__"})' % script


def _c_string(text):
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


# -- gdb (CPython 3.10 to 3.13) ----------------------------------------------

# Run by gdb's own Python, attached to the target (every thread stopped).
# It prints "objgraph-attach: WORD ..." lines: busy (try again later),
# error (give up), calling (inside PyGILState_Ensure), entered (the GIL
# taken, the script running), done RC.
_GDB_SCRIPT = r'''
import re
import signal
import sys

import gdb

PID = %(pid)d
CALL = %(call)r
TAG = %(tag)r
# Frames of a thread that takes, drops or waits for the GIL, or holds a
# lock of the allocator or the dynamic loader: never call into it.
UNSAFE = ('take_gil', 'drop_gil', 'PyEval_RestoreThread',
          'PyEval_AcquireThread', 'PyEval_AcquireLock', 'PyEval_SaveThread',
          'PyGILState_Ensure', 'PyGILState_Release', '_PyThreadState_Attach',
          '_PyThreadState_Detach', 'PyThread_exit_thread')
UNSAFE_PARTS = ('malloc', 'calloc', 'realloc', 'free', 'memalign', '_dl_',
                'fork', 'PyMem_', 'PyObject_Malloc')
# libc functions that return soon: a GIL holder in one still runs Python.
ALLOCATOR = ('malloc', 'calloc', 'realloc', 'free', 'memalign', 'memcpy',
             'memmove', 'memset', 'memcmp', 'strlen', 'strcmp', 'mmap',
             'munmap', 'brk', 'madvise')


def say(*words):
    sys.stdout.write(' '.join([TAG] + [str(w) for w in words]) + '\n')
    sys.stdout.flush()


def unwrap(v):
    """The value of an ``_Py_atomic_*`` struct, or ``v``."""
    if v.type.strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        return v['_value']
    return v


def gil_locked():
    """True or False; None when the symbols do not say."""
    for expr in ('_PyRuntime.interpreters.main->ceval.gil->locked',
                 '_PyRuntime.ceval.gil.locked'):
        try:
            return int(unwrap(gdb.parse_and_eval(expr))) != 0
        except gdb.error:
            pass
    try:  # no debug symbols: 3.10 and 3.11 export the GIL's holder
        if %(holder_api)r:
            return int(gdb.parse_and_eval(
                '(long)_PyThreadState_UncheckedGet()')) != 0
    except gdb.error:
        pass
    return None


def holder(threads):
    """The thread that holds the GIL, or None if the symbols do not say."""
    try:
        tstate_type = gdb.lookup_type('PyThreadState').pointer()
        try:
            gil = gdb.parse_and_eval('_PyRuntime.interpreters.main->ceval.gil')
            tstate = unwrap(gil['last_holder'])
        except gdb.error:
            tstate = unwrap(gdb.parse_and_eval(
                '_PyRuntime.gilstate.tstate_current'))
        tstate = tstate.cast(tstate_type)
        if not int(tstate):
            return None
        fields = [f.name for f in tstate.dereference().type.fields()]
        if 'native_thread_id' in fields:
            lwp = int(tstate['native_thread_id'])
            return next((t for t in threads if t.ptid[1] == lwp), None)
        handle = int(tstate['thread_id'])
        for t in threads:
            try:
                if int.from_bytes(t.handle(), sys.byteorder) == handle:
                    return t
            except (gdb.error, TypeError, ValueError):
                pass
    except gdb.error:
        pass
    return None


def stack(thread):
    """The innermost frames of ``thread`` up to the first one of the eval
    loop: ``(name, shared object)`` each; None without an eval loop."""
    thread.switch()
    frame = gdb.newest_frame()
    frames = []
    while frame is not None and len(frames) < 64:
        name = frame.name() or ''
        frames.append((name, gdb.solib_name(frame.pc()) or ''))
        if name == '_PyEval_EvalFrameDefault':
            return frames
        frame = frame.older()
    return None


def unsafe_name(frames):
    for name, _ in frames:
        if name in UNSAFE or any(p in name for p in UNSAFE_PARTS):
            return name
    return None


def waits_in_c(thread):
    """Why ``thread`` cannot run the call, or None: it must run Python
    code and wait in a C library call (a system call: sleep, read, lock)
    with no GIL or allocator function on its stack."""
    frames = stack(thread)
    if frames is None:
        return 'runs no Python code'
    name = unsafe_name(frames)
    if name:
        return 'is in ' + name
    if not re.search(r'/lib(c|pthread)[.-]', frames[0][1]):
        return 'is not in a system call'
    return None


def runs_bytecode(thread):
    """Whether ``thread`` (the GIL's holder) runs bytecode, or code of the
    interpreter's or the allocator's called by it, and so will let the GIL
    go within the switch interval: it waits in no system call."""
    frames = stack(thread)
    if frames is None or len(frames) > 16:
        return False
    for name, so in frames:
        if so and 'libpython' not in so and not any(
                p in name for p in ALLOCATOR):
            return False  # e.g. a libc sleep or read, the GIL kept
    return True


def main():
    for setting in ('confirm off', 'pagination off',
                    'print thread-events off'):
        gdb.execute('set ' + setting, to_string=True)
    # Signals the target gets while gdb is attached go to it, as if gdb
    # were not there (Python's C handler notes them for later).
    for sig in ('all', 'SIGINT'):
        gdb.execute('handle %%s nostop noprint pass' %% sig, to_string=True)
    threads = sorted(gdb.selected_inferior().threads(),
                     key=lambda t: (t.ptid[1] != PID, t.num))
    locked = gil_locked()
    if locked is None:
        say('error', 'cannot read the GIL state: the interpreter has no '
            'debug symbols')
        return
    running = None
    if locked:
        running = holder(threads)
        if running is None:
            say('busy', 'a thread holds the GIL')
            return
        if not runs_bytecode(running):
            say('busy', 'thread %%d holds the GIL in a C call'
                %% running.ptid[1])
            return
    reasons = []
    chosen = None
    for thread in threads:
        if thread is running:
            continue
        why = waits_in_c(thread)
        if why is None:
            chosen = thread
            break
        reasons.append('thread %%d %%s' %% (thread.ptid[1], why))
    if chosen is None:
        say('busy', 'no thread waits in a C call: ' + '; '.join(reasons))
        return
    chosen.switch()
    # From here on gdb must not die: killed inside the call, it would
    # leave the thread to return to a breakpoint no one removes.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    say('calling', chosen.ptid[1])
    state = int(gdb.parse_and_eval('(int)PyGILState_Ensure()'))
    say('entered')
    rc = int(gdb.parse_and_eval('(int)PyRun_SimpleString(%%s)' %% CALL))
    gdb.parse_and_eval('(void)PyGILState_Release(%%d)' %% state)
    say('done', rc)


try:
    main()
except gdb.error as e:
    say('error', str(e).replace('\n', ' '))
finally:
    try:
        gdb.execute('detach', to_string=True)
    except gdb.error:
        pass
'''


def _gdb_error(pid, text):
    """An AttachError from gdb's complaint."""
    label = 'process %d (%s)' % (pid, _name(pid))
    if 'Operation not permitted' in text:
        scope = ''
        try:
            scope = _read('/proc/sys/kernel/yama/ptrace_scope').strip()
        except OSError:
            pass
        hint = ('kernel.yama.ptrace_scope is %s: run as root, or set it to '
                '0' % scope) if scope not in ('', '0') else \
            'run as its user or as root'
        return AttachError('%s: permission refused to attach with ptrace '
                           '(%s)' % (label, hint))
    if 'No such process' in text:
        return AttachError('process %d: no such process' % pid)
    said = [line.strip() for line in text.splitlines() if line.strip()]
    return AttachError('%s: gdb failed: %s' % (
        label, said[-1][:300] if said else 'no output'))


class _Session:
    """One gdb session on the target; its output goes to a file (never a
    pipe: a gdb left behind must not die of SIGPIPE inside its call)."""

    def __init__(self, gdb, pid, script_path, workdir):
        self.out_path = os.path.join(workdir, 'gdb.out')
        self.pid = pid
        with open(self.out_path, 'w') as out:
            self.proc = subprocess.Popen(
                [gdb, '-nx', '-q', '-batch',
                 '-iex', 'set debuginfod enabled off',
                 '-iex', 'set auto-load python-scripts off',
                 '-p', str(pid), '-x', script_path],
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True)  # a terminal's Ctrl-C stays ours
        self.phase = 'attaching'
        self.result = None
        self.text = ''

    def poll(self):
        """Read what gdb said so far; True once it has exited."""
        exited = self.proc.poll() is not None
        with open(self.out_path, errors='replace') as f:
            self.text = f.read()
        for line in self.text.splitlines():
            if not line.startswith(_TAG):
                continue
            word, _, rest = line[len(_TAG):].strip().partition(' ')
            if word in ('calling', 'entered'):
                self.phase = word
            elif word in ('busy', 'error', 'done'):
                self.result = word, rest
        return exited

    def stop(self):
        """Make gdb detach and exit unless it is inside its call: then
        it is left to finish in the background (it ignores SIGTERM there;
        the script, past its deadline, does nothing).  Returns the phase
        gdb was in."""
        if self.poll() or self.phase != 'attaching':
            return self.phase
        self.proc.terminate()  # not in a call: gdb quits and detaches
        limit = time.monotonic() + _STOP_SECONDS
        while time.monotonic() < limit:
            if self.poll() or self.phase != 'attaching':
                return self.phase
            time.sleep(0.05)
        self.proc.kill()  # hung outside any call: the kernel detaches
        self.proc.wait()
        return self.phase


def _attempt_gdb(gdb, pid, script_path, workdir, deadline):
    """One gdb session.  Returns ('busy', reason), ('error', text),
    ('done', rc) or ('timeout', phase)."""
    session = _Session(gdb, pid, script_path, workdir)
    try:
        while not session.poll():
            if session.phase != 'entered' and time.monotonic() > deadline:
                phase = session.stop()
                if phase != 'entered':
                    return 'timeout', phase
            time.sleep(0.02)
    except BaseException:  # KeyboardInterrupt: detach, or leave the call
        session.stop()
        raise
    if session.result is None:
        return 'error', session.text.strip() or 'gdb exited with %s' % (
            session.proc.returncode)
    return session.result


def _inject_gdb(pid, version, script, workdir, deadline, timeout):
    gdb = shutil.which('gdb')
    if gdb is None:
        raise AttachError('gdb is not installed: attach uses it on CPython '
                          '3.10 to 3.13 (apt-get install gdb)')
    gdb_script = _GDB_SCRIPT % {
        'pid': pid, 'tag': _TAG, 'holder_api': version[:2] < (3, 12),
        'call': _c_string(_run_line(script))}
    path = os.path.join(workdir, 'inject-gdb.py')
    with open(path, 'w') as f:
        f.write(gdb_script)
    label = 'process %d (%s)' % (pid, _name(pid))
    busy = None
    while True:
        was_stopped = _state(pid) == 'T'
        kind, detail = _attempt_gdb(gdb, pid, path, workdir, deadline)
        if not was_stopped and _state(pid) == 'T':
            os.kill(pid, signal.SIGCONT)  # gdb died holding it stopped
        if kind == 'done':
            return
        if kind == 'error':
            raise _gdb_error(pid, detail)
        if kind != 'busy':
            busy = ('the GIL was not handed to the injected call (gdb '
                    'waits for it in the background, then detaches '
                    'without a snapshot)' if detail == 'calling' else
                    busy or 'gdb did not attach in time')
        else:
            busy = detail
        if kind == 'timeout' or \
                time.monotonic() + _RETRY_SECONDS >= deadline:
            raise AttachError(
                '%s is busy past the %gs timeout: %s; it was left '
                'running' % (label, timeout, busy))
        time.sleep(_RETRY_SECONDS)
        check_process(pid)


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
