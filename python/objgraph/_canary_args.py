"""A canary's arguments, checked: what :func:`objgraph.canary.start` takes.

Each check raises TypeError or ValueError naming the argument, and
returns the value the canary keeps.
"""

import math
import numbers
import os
import signal as _signal
import tempfile
import threading

from ._names import check_type


def check_number(name, value, positive=True, optional=False):
    check_type(value, name, numbers.Real, 'a number', optional)
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0 or (
            positive and value == 0):
        raise ValueError('%s must be a finite number %s 0, not %r'
                         % (name, '>' if positive else '>=', value))
    return value


def check_int(name, value, minimum, optional=False):
    check_type(value, name, numbers.Integral, 'an int', optional)
    if value is None:
        return None
    if value < minimum:
        raise ValueError('%s must be >= %d, not %d' % (name, minimum, value))
    return int(value)


def check_directory(directory):
    if directory is None:
        directory = os.path.join(tempfile.gettempdir(),
                                 'objgraph-canary-%d' % os.getpid())
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError('directory must be a path (str or os.PathLike), '
                        'not %s' % type(directory).__name__)
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError('directory %r is not a directory' % directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise ValueError('directory %r does not exist and cannot be '
                         'created: %s' % (directory, e.strerror or e)
                         ) from None
    try:  # what os.access cannot tell: a read-only mount, root, ACLs
        fd, probe = tempfile.mkstemp(prefix='.objgraph-canary-probe-',
                                     dir=directory)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise ValueError('directory %r is not writable: %s'
                         % (directory, e.strerror or e)) from None
    return directory


def check_signal(signum):
    check_type(signum, 'signal', numbers.Integral,
               'a signal number (e.g. signal.SIGUSR2)', optional=True)
    if signum is None:
        return None
    if signum not in _signal.valid_signals():
        raise ValueError('signal=%r is not a valid signal number on this '
                         'platform' % (signum,))
    uncatchable = {getattr(_signal, name) for name in ('SIGKILL', 'SIGSTOP')
                   if hasattr(_signal, name)}
    if signum in uncatchable:
        raise ValueError('signal=%s cannot be caught: choose another, e.g. '
                         'signal.SIGUSR2' % _signal.Signals(signum).name)
    if threading.current_thread() is not threading.main_thread():
        raise ValueError(
            'signal=%r needs start() to be called from the main thread: '
            'Python installs signal handlers and runs them only there.  '
            'Call start() from the main thread, or pass signal=None and '
            'call Canary.trigger() instead' % (signum,))
    try:
        return _signal.Signals(signum)
    except ValueError:  # a real-time signal: no name
        return int(signum)


def signal_name(signum):
    return getattr(signum, 'name', 'signal %d' % signum)
