"""Where a canary's suspects were allocated: samples, and tracemalloc.

When :mod:`tracemalloc` is tracing, a round looks up a sample of each
suspect's instances in the live heap and asks tracemalloc where each was
allocated (:func:`allocation_sites`); the report lists the sites with
their counts.
"""

import collections
import itertools
import os
import sys
import tracemalloc

from ._snapshot import own_objects, sample_instances

SITE_FRAMES = 5     # most recent frames kept per allocation site


def allocation_sites(snap, oldest, report, samples, machinery):
    """Where a sample of each suspect's instances were allocated, from
    tracemalloc.

    The sample is taken among the instances that are new since the
    window's oldest snapshot ``oldest`` (matched by address and type):
    the growth the report is about, not the instances the program made
    at start-up; among all instances when none is new.  Instances are
    looked up in the collector's lists by the addresses and types the
    detached snapshot recorded (one walk for every suspect, GIL held, no
    capture), never by dereferencing an address; an instance freed since
    is counted as ``gone``, and so is an object at its address that is
    objgraph's own now (``machinery``, the canary's objects, or a live
    snapshot's): the instance was freed and the canary's work since
    reused its memory, so that object's allocation site is not the
    suspect's.
    """
    names = [entry['typename'] for entry in report['suspects']]
    found = sample_instances(snap, oldest, names, samples)
    since = 'new since %s' % os.path.basename(oldest.path)
    ours = {id(o) for o in itertools.chain(machinery, own_objects())}
    for entry, (objs, new) in zip(report['suspects'], found):
        sites = collections.Counter()
        untraced = gone = 0
        for obj in objs:
            if obj is None or id(obj) in ours:
                gone += 1
                continue
            frames = _traceback_of(obj)
            if frames is None:
                untraced += 1
                continue
            sites[frames[:SITE_FRAMES]] += 1
        entry['allocation_sites'] = [
            {'frames': list(frames), 'count': n}
            for frames, n in sorted(sites.items(),
                                    key=lambda kv: (-kv[1], kv[0]))]
        entry['sampled'] = len(objs)
        entry['sampled_from'] = ((since if new else 'all instances')
                                 if objs else None)
        entry['untraced'] = untraced
        entry['gone'] = gone
        if not objs:
            report['skipped'].append({
                'what': 'allocation sites of %s' % entry['typename'],
                'reason': 'no tracked instance to sample (an untracked type '
                          'such as str, or all freed)'})
    del found, objs



def _traceback_of(obj):
    """Where ``obj`` was allocated, most recent frame first, as
    'file:line' strings; None when tracemalloc did not see it."""
    tb = tracemalloc.get_object_traceback(obj)
    if tb is not None:
        return tuple('%s:%d' % (f.filename, f.lineno) for f in reversed(tb))
    raw = _managed_dict_traceback(obj)
    if raw is None:
        return None
    return tuple('%s:%d' % (filename, lineno) for filename, lineno in raw)


_Py_TPFLAGS_MANAGED_DICT = 1 << 4
_Py_TPFLAGS_HAVE_GC = 1 << 14
_get_traceback = None


def _managed_dict_traceback(obj):
    """CPython 3.11's tracemalloc.get_object_traceback() misses instances
    of ordinary classes -- the most common leak suspects: their memory
    block starts two pointers before the GC header (the managed
    ``__dict__``), and 3.11 looks the block up at the GC header (fixed in
    3.12, gh-101430).  Ask tracemalloc for the block's true start through
    its C function; the address is a lookup key in tracemalloc's table,
    never dereferenced.  None on other versions or when not traced."""
    flags = type(obj).__flags__
    if not flags & _Py_TPFLAGS_MANAGED_DICT \
            or not flags & _Py_TPFLAGS_HAVE_GC:
        return None
    fn, presize = _get_traceback or prepare_tracebacks()
    if fn is None:
        return None
    try:
        return fn(0, id(obj) - presize)
    except Exception:
        return None


def prepare_tracebacks():
    """Find the C function _managed_dict_traceback needs, once; done by
    start(), so that importing ctypes never shows in a canary's
    snapshots."""
    global _get_traceback
    if _get_traceback is None:
        _get_traceback = (None, 0)
        if sys.implementation.name == 'cpython' \
                and sys.version_info[:2] == (3, 11):
            try:
                import ctypes
                fn = ctypes.pythonapi._PyTraceMalloc_GetTraceback
                fn.restype = ctypes.py_object
                fn.argtypes = [ctypes.c_uint, ctypes.c_size_t]
                word = ctypes.sizeof(ctypes.c_void_p)
                _get_traceback = (fn, 4 * word)  # GC header, dict, values
            except (ImportError, AttributeError, OSError):
                pass
    return _get_traceback
