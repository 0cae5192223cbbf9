"""``objgraph attach`` through gdb, for CPython 3.10 to 3.13: gdb attaches
to the target, finds a thread waiting in a C call with the GIL free, and
runs the injected script in it through ``PyGILState_Ensure()`` and
``PyRun_SimpleString()``; or detaches without calling anything and tries
again until the timeout (see objgraph._attach for the whole design)."""

import os
import shutil
import signal
import subprocess
import time

from ._attach_target import AttachError, _name, _read, _state, check_process

#: The prefix of the lines the gdb script prints for attach to read.
_TAG = 'objgraph-attach:'
#: Seconds between two attempts to find the target at a safe point.
_RETRY_SECONDS = 0.2
#: Seconds given to gdb to detach and exit, once terminated.
_STOP_SECONDS = 5.0


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
