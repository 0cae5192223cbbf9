"""The target of ``objgraph attach``: that the process exists and is
not stopped, which CPython it runs (from the ``libpython`` it maps, or its
program), and that this objgraph's extension was built for it.  Every
failure is an :class:`AttachError`, one line naming the process."""

import glob
import os
import re
import sys

#: The oldest CPython this objgraph captures.
MIN_VERSION = (3, 10)
#: The first CPython with ``sys.remote_exec`` (PEP 768).
REMOTE_EXEC_VERSION = (3, 14)


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
