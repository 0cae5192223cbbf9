"""Benchmark heaps shaped like real programs (issue 15), beside the plain
one of benchlib.py.  Each builder takes a target number of tracked objects
and returns what keeps the heap alive; it grows the heap in steps until
the collector tracks at least that many objects more than before.

- ``plain``: benchlib's heap -- instances of one plain class, each with a
  list (2 tracked objects per instance).
- ``ast``: the standard library parsed with ``ast.parse``, module after
  module (again from the first when they run out): nodes with ``__dict__``
  of fields, lists of statements, strings and ints -- a compiler's heap.
- ``json``: a document of service records loaded with ``json.loads``:
  dicts of str keys holding strs, ints, floats, bools, None, nested dicts
  and lists -- a web service's heap.
- ``mixed``: the kinds a long-running service holds, in one heap: dicts of
  every size (empty to 200 entries), sets and frozensets, ``__slots__``
  classes with and without ``__weakref__``, instances whose ``__dict__``
  was materialized, dataclasses, closures, bound methods, deques,
  defaultdicts, tuples (atomic and not), strings, floats and big ints.
"""

import ast
import collections
import dataclasses
import functools
import gc
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import build_heap  # noqa: E402

SHAPES = ('plain', 'ast', 'json', 'mixed')


def _tracked():
    return len(gc.get_objects())


def _grow(target, step, check_every):
    """Call step(i) for i = 0, 1, ... until the collector tracks target
    more objects than at the start (checked every check_every steps);
    returns the list of step results."""
    start = _tracked()
    kept = []
    i = 0
    while True:
        kept.append(step(i))
        i += 1
        if i % check_every == 0 and _tracked() - start >= target:
            return kept


def plain(target):
    return build_heap(max(1, target // 2))


def _stdlib_sources():
    """The text of every readable .py file of the standard library (not
    site-packages, not test suites), sorted by path."""
    root = os.path.dirname(os.__file__)
    texts = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (
            'site-packages', 'test', 'tests', 'idlelib', 'lib2to3',
            '__pycache__'))
        for name in sorted(filenames):
            if name.endswith('.py'):
                try:
                    with open(os.path.join(dirpath, name),
                              encoding='utf-8') as f:
                        text = f.read()
                    compile(text, name, 'exec', ast.PyCF_ONLY_AST)
                except (OSError, UnicodeDecodeError, SyntaxError,
                        ValueError):
                    continue
                texts.append(text)
    return texts


def ast_heap(target):
    texts = _stdlib_sources()
    return _grow(target, lambda i: ast.parse(texts[i % len(texts)]), 20)


def _record(i):
    return {
        'id': i,
        'uuid': '%08x-%04x-4%03x' % (i * 2654435761 % 2**32, i % 65536,
                                     i % 4096),
        'name': 'user%d' % i,
        'email': 'user%d@example.com' % i,
        'active': i % 3 != 0,
        'score': i * 0.25,
        'tags': ['tag%d' % (i % 97), 'group%d' % (i % 13)],
        'address': {'street': '%d Main St' % (i % 1000),
                    'city': 'City%d' % (i % 50), 'zip': '%05d' % (i % 99999)},
        'history': [{'t': i + k, 'v': k * 1.5} for k in range(i % 3)],
        'parent': None,
    }


def json_heap(target):
    # 3 tracked objects per record: the record, its tags and its history;
    # dicts of atomic values (the address, history entries) are untracked
    # by the first collection
    n = max(1, target // 3)
    chunks = []
    for lo in range(0, n, 50000):
        text = json.dumps([_record(i) for i in range(lo, min(n, lo + 50000))])
        chunks.append(json.loads(text))
        del text
    return chunks


class Customer:
    __slots__ = ('id', 'name', 'orders', '__weakref__')

    def __init__(self, i):
        self.id = i
        self.name = 'customer%d' % i
        self.orders = []


class OrderLine:
    __slots__ = ('sku', 'qty', 'price')

    def __init__(self, i):
        self.sku = 'sku-%d' % (i % 5000)
        self.qty = i % 7
        self.price = 9.99 + i % 100


class Session:
    def __init__(self, i):
        self.user = i
        self.token = 'tok%x' % (i * 7919)
        self.seen = {i, i + 1}


@dataclasses.dataclass
class Event:
    kind: str
    at: float
    payload: dict


def _unit(i):
    """One customer's worth of service state."""
    customer = Customer(i)
    for k in range(i % 4):
        customer.orders.append((OrderLine(i + k), i * 1000 + k, 'open'))
    session = Session(i)
    vars(session)  # materialized: no longer kept inline
    size = (0, 1, 3, 8, 20)[i % 5] if i % 500 else 200
    counts = collections.defaultdict(int)
    counts['visits'] += i % 10
    unit = {
        'customer': customer,
        'session': session,
        'event': Event('login', i * 0.5, {'ip': '10.0.%d.%d' % (i % 256,
                                                              i % 100)}),
        'attrs': {'k%d' % k: k * i for k in range(size)},
        'roles': {'reader', 'role%d' % (i % 20)},
        'flags': frozenset(('a', 'b%d' % (i % 7))),
        'recent': collections.deque((i, i + 1.5, 'x'), maxlen=8),
        'counts': counts,
        'callback': functools.partial(divmod, i),
        'closure': (lambda base: lambda x: x + base)(i),
        'method': session.__init__,
        'key': ('tenant', i % 100, i),
        'point': (i * 1.0, i * 2.0),
        'balance': 10**30 + i,
        'ratio': i / 7,
    }
    return unit


def mixed_heap(target):
    return _grow(target, _unit, 1000)


BUILDERS = {'plain': plain, 'ast': ast_heap, 'json': json_heap,
            'mixed': mixed_heap}


def build(shape, target):
    """The heap of the given shape with about target tracked objects (at
    least that many more than before)."""
    if shape not in BUILDERS:
        raise ValueError('unknown heap shape %r (one of %s)'
                         % (shape, ', '.join(SHAPES)))
    return BUILDERS[shape](target)
