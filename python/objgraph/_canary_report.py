"""The canary's report: the JSON document each round writes.

:func:`new_report` starts a round's document, :func:`suspect_doc` turns
each :class:`objgraph.LeakSuspect` into its entry, :func:`write_json`
writes it atomically; :class:`Summary` keeps what
:func:`objgraph.leak_suspects` needs of each older snapshot of the
window.  The format is described in docs/canary.rst.
"""

import json
import os
import threading
import time
import tracemalloc

from ._canary_files import remove
from ._files import CLASS_TYPES
from ._leaks import LeakAnalysis
from ._names import check_limit

REPORT_VERSION = 1


def new_report(now, seq, trigger, max_pause, max_bytes):
    """A round's report as it starts: taken at ``now`` (Unix time), the
    process's round ``seq``, started by ``trigger`` ('schedule',
    'signal', 'manual' or 'force'), under the budgets ``max_pause`` and
    ``max_bytes``; the round fills it in."""
    return {
        'version': REPORT_VERSION,
        'timestamp': now,
        'time': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)),
        'pid': os.getpid(),
        'sequence': seq,
        'trigger': 'manual' if trigger == 'force' else trigger,
        'snapshot': None,
        'nodes': None,
        'edges': None,
        'pause_seconds': None,
        'capture_seconds': None,
        'bytes': None,
        'file_bytes': None,
        'memory_bytes': None,
        'estimate': None,
        'budget': {'max_pause': max_pause, 'max_bytes': max_bytes},
        'window': [],
        'analysis_seconds': None,
        'sampling_seconds': None,
        'tracemalloc': tracemalloc.is_tracing(),
        'suspects': [],
        'skipped': [],
        'warnings': [],
        'errors': [],
    }


class Summary(LeakAnalysis):
    """The per-type figures :func:`leak_suspects` reads from every snapshot
    but the newest: counts of live objects, shallow and retained bytes by
    type, for the file ``path``.

    Kept for each file instead of the loaded file itself, whose analysis
    arrays (dominator tree, reverse graph) take about as much memory again
    as the file: the canary's memory stays one analysed snapshot, not
    ``keep`` of them.  Built from the loaded file's public
    :meth:`~objgraph.Snapshot.retained_by_type`, and answers that method
    again: what leak_suspects reads of every snapshot but the newest.
    tests/python/test_canary.py checks that the result equals a direct
    ``leak_suspects`` over the loaded files.  The figures are dicts of
    str to int, which the collector does not track, so a summary adds one
    tracked object to the heap, and the canary excludes it from its
    captures.
    """

    def __init__(self, path, snap):
        self.path = path
        rows = snap.retained_by_type(None)
        self._n = {row[0]: row[1] for row in rows}
        self._shallow = {row[0]: row[2] for row in rows}
        self._retained = {row[0]: row[3] for row in rows}

    def retained_by_type(self, limit=10, shortnames=True):
        """:meth:`objgraph.Snapshot.retained_by_type` of the file, from the
        figures kept (short names: what the summary was built with)."""
        check_limit(limit)
        if not shortnames:
            raise ValueError('a canary summary keeps short type names only')
        rows = [(name, n, self._shallow[name], self._retained[name])
                for name, n in self._n.items()]
        rows.sort(key=lambda r: (-r[3], -r[2], r[0]))
        return rows[:limit] if limit else rows


def accumulation_doc(acc):
    """An :class:`objgraph.Accumulation` as JSON (None: None)."""
    return None if acc is None else {
        'path': list(acc.path), 'references': acc.references,
        'holds': acc.holds}


def suspect_doc(loaded, s):
    """A :class:`objgraph.LeakSuspect` of the snapshot ``loaded`` as the
    report's JSON."""
    return {
        'typename': s.typename,
        'counts': list(s.counts),
        'growth': s.growth,
        'retained_bytes': list(s.retained_bytes),
        'paths': [{'signature': ' -> '.join(p.signature),
                   'root': None if p.root is None else {
                       'kind': p.root.kind,
                       'description': p.root.description},
                   'text': p.text(),
                   'example': _example(loaded, p),
                   'count': p.count,
                   'retained_bytes': p.retained_bytes} for p in s.paths],
    }


def _example(loaded, path):
    """A group's example path as text, with the labels the file stores
    (module, class and function names): 'dict -> module app -> dict ->
    list -> Session'.  The group's other objects have paths of the same
    types, possibly through other modules or classes."""
    parts = list(path.signature)
    try:
        nodes = [loaded.node_at(int(a)) for a in path.example]
        for i, node in enumerate(nodes):
            if node is not None and i < len(parts):
                label = node.label
                if label and ' ' not in parts[i]:
                    kind = 'class' if parts[i] in CLASS_TYPES else parts[i]
                    parts[i] = '%s %s' % (kind, label)
    except (TypeError, ValueError):  # no labels: the type names alone
        parts = list(path.signature)
    return ' -> '.join(parts)


def write_json(path, obj):
    """Write ``obj`` as JSON to ``path`` atomically: a temporary file
    beside it, synced, renamed over it."""
    tmp = '%s.tmp-%d-%d' % (path, os.getpid(), threading.get_ident())
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise
