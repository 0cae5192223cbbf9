"""Frames, generators and coroutines on every CPython version.

Since 3.11 a running function's frame lives on the interpreter's own stack,
not in a frame object; a suspended generator or coroutine embeds its frame,
and a frame object made for a traceback keeps the frame's data once the
call has returned.  The collector follows all of these through each type's
tp_traverse, and so must the snapshot: its edges from each are exactly
``gc.get_referents()``, and a local variable of a suspended generator is
found holding what it refers to.
"""

import gc
import sys

import objgraph


class Marker:
    pass


def _suspended():
    held = Marker()
    other = [held]
    yield 1
    return held, other


async def _coroutine(event):
    held = Marker()
    await event
    return held


class _Awaitable:
    def __await__(self):
        yield 'waiting'


def _raises():
    held = Marker()  # noqa: F841 -- kept by the traceback's frame
    raise ValueError('kept')


def _frame_of_a_returned_call():
    try:
        _raises()
    except ValueError as e:
        return e.__traceback__.tb_next.tb_frame


def _edges(snap, obj):
    g = snap._g
    (v,) = g.find([id(obj)])
    assert v >= 0, 'expected a node for %s' % type(obj).__name__
    return [g.node(u)[0] for u in g.referents(v)]


def test_generator_coroutine_and_frame_edges_are_gc_get_referents():
    gen = _suspended()
    next(gen)
    coro = _coroutine(_Awaitable())
    assert coro.send(None) == 'waiting'
    frame = _frame_of_a_returned_call()
    try:
        with objgraph.snapshot() as snap:
            for obj in (gen, coro, frame):
                assert _edges(snap, obj) == [
                    id(r) for r in gc.get_referents(obj)], (
                    'edges of %s on %s' % (type(obj).__name__,
                                           sys.version.split()[0]))
    finally:
        coro.close()


def test_a_suspended_generators_local_is_found_holding_its_object():
    gen = _suspended()
    next(gen)
    marker = gen.gi_frame.f_locals['held']
    with objgraph.snapshot() as snap:
        chain = snap.find_backref_chain(marker, lambda o: o is gen)
    assert chain[0] is gen and chain[-1] is marker, chain
    assert len(chain) <= 3, [type(o).__name__ for o in chain]
