"""The canary's budgets: the estimate of a capture's cost, and the check.

A canary round first estimates what its capture would cost -- the
program's pause and the round's memory -- from the heap's size
(:class:`Estimator`), then skips the snapshot when an estimate exceeds
the canary's ``max_pause`` or ``max_bytes`` (:func:`within_budget`),
writing why into the round's report.
"""

import collections
import logging
import sys

log = logging.getLogger('objgraph.canary')


class Estimator:
    """Predicts the next capture's pause and memory from the heap's size.

    The size is ``sys.getallocatedblocks()``: the blocks the interpreter's
    small-object allocator has handed out, read in constant time.  Nearly
    every object (every GC-tracked one, every str and int) is one block,
    and a capture's pause and memory grow with the objects and references
    it walks, so both are taken as proportional to it: the cost per block
    is measured on every capture, and the estimate is the median cost of
    the last three captures times the current size.  The median keeps one
    slow capture (a busy machine) from skipping the following ones.

    Before the first capture there is no measurement, so prior costs
    stand in (``PRIOR_*``: 50 ns and 80 bytes per block, where captures of
    heaps of 0.1 to 5 million blocks measure 20 to 35 ns and 60 to 75
    bytes).  A prior that is too high would skip every capture, and with
    no capture there is never a measurement to correct it: it errs
    towards one capture over budget instead, which the report shows.
    When the interpreter runs without its allocator
    (``PYTHONMALLOC=malloc``: no block count) the last measured values
    are used as they are.
    """

    PRIOR_PAUSE_PER_BLOCK = 50e-9    # seconds
    PRIOR_BYTES_PER_BLOCK = 80       # capture + the analysed file
    HISTORY = 3

    def __init__(self):
        self._rows = collections.deque(maxlen=self.HISTORY)

    @staticmethod
    def size():
        """The heap's current size in allocator blocks (0: unknown)."""
        return sys.getallocatedblocks()

    def estimate(self, blocks):
        """``{'pause_seconds', 'bytes', 'blocks', 'basis'}`` for a capture
        of a heap of ``blocks`` blocks; pause and bytes are None when
        nothing can be estimated."""
        rows = list(self._rows)
        if blocks <= 0:
            if not rows:
                return dict(pause_seconds=None, bytes=None, blocks=blocks,
                            basis='none: no block count and no capture yet')
            _, pause, nbytes = rows[-1]
            return dict(pause_seconds=pause, bytes=nbytes, blocks=blocks,
                        basis='the last capture (no block count)')
        per_pause = [p / b for b, p, _ in rows if b > 0]
        per_bytes = [n / b for b, _, n in rows if b > 0 and n]
        if per_pause:
            basis = 'median of the last %d capture(s)' % len(per_pause)
        else:
            basis = 'prior costs (no capture yet)'
        pause = blocks * (_median(per_pause) if per_pause
                          else self.PRIOR_PAUSE_PER_BLOCK)
        nbytes = blocks * (_median(per_bytes) if per_bytes
                           else self.PRIOR_BYTES_PER_BLOCK)
        return dict(pause_seconds=pause, bytes=int(nbytes), blocks=blocks,
                    basis=basis)

    def record(self, blocks, pause, nbytes):
        """One capture's measurement: the size before it, its pause and
        the memory the round used (0: not known)."""
        self._rows.append((blocks, pause, nbytes))

    def update_bytes(self, nbytes):
        """The memory of the last recorded round, once known."""
        if self._rows:
            blocks, pause, _ = self._rows[-1]
            self._rows[-1] = (blocks, pause, nbytes)

    def containers(self):
        """The containers the estimator holds (its measurements): the
        canary's own objects, which its captures leave out."""
        return (self._rows,)


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def within_budget(report, estimate, max_pause, max_bytes, force):
    """Whether the round may take its snapshot: no estimate in
    ``estimate`` (:meth:`Estimator.estimate`) above ``max_pause`` or
    ``max_bytes`` (None: no limit), or ``force``.  Each estimate over its
    limit is recorded in ``report``: as a skipped snapshot, or as a
    warning when forced."""
    reasons = []
    pause = estimate['pause_seconds']
    if max_pause is not None and pause is not None and pause > max_pause:
        reasons.append(('estimated pause %.6f s exceeds max_pause %g s'
                        % (pause, max_pause),
                        'pause_seconds', pause, max_pause))
    nbytes = estimate['bytes']
    if max_bytes is not None and nbytes is not None and nbytes > max_bytes:
        reasons.append(('estimated memory %d bytes exceeds max_bytes %d'
                        % (nbytes, max_bytes),
                        'bytes', nbytes, max_bytes))
    for reason, key, value, limit in reasons:
        entry = {'what': 'snapshot', 'reason': reason, 'budget': key,
                 'estimate': value, 'limit': limit,
                 'basis': estimate['basis']}
        if force:
            report['warnings'].append('forced: ' + reason)
        else:
            report['skipped'].append(entry)
            log.warning('objgraph canary: snapshot skipped: %s', reason)
    return force or not reasons
