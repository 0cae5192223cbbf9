"""objgraph's demo: a synthetic heap with a planted leak, and the objgraph
answers that find it.

Run it with ``objgraph demo`` (or ``python -m objgraph.demo``, which is
the same command).  It builds a heap of about a million objects shaped
like a web application's -- users, sessions -- plants a leak (every
handled request is kept by a forgotten registry), and hunts it the way a
production canary would: a detached snapshot after each round of
requests, saved to a file; the files loaded back and handed to
:func:`objgraph.leak_suspects`; the top suspect's retention path, drawn.

:func:`run` does the work and returns what it found; the command line
(``objgraph._cli``) prints it.
"""

import os
import shutil
import sys
import tempfile
import time
import types
from array import array

import objgraph

from ._draw import draw_chain
from ._names import plural


class User:
    def __init__(self, uid):
        self.uid = uid
        self.name = 'user-%d' % uid
        self.tags = ['t%d' % (uid % 7)]


class Session:
    def __init__(self, user):
        self.user = user
        self.data = {'visits': 0}


class Request:
    # Slots: before CPython 3.11 every instance of a plain class has a
    # __dict__ of its own, so the leaked dicts would grow exactly as the
    # Requests do and tie with them for the top suspect.  With slots the
    # heap has the same shape on every version and Request is the one
    # type that grows.
    __slots__ = ('session', 'path', 'headers')

    def __init__(self, session, path):
        self.session = session
        self.path = path
        self.headers = {'x-id': id(self)}


def build_app(n_users):
    """A module-like application with a user table and sessions."""
    app = types.ModuleType('demo_app')
    app.users = {uid: User(uid) for uid in range(n_users)}
    app.sessions = [Session(u) for u in app.users.values()]
    app._registry = []  # the forgotten registry: the planted leak
    sys.modules['demo_app'] = app
    return app


def handle(app, session, path):
    """Handle one request -- and keep it forever (the bug)."""
    request = Request(session, path)
    session.data['visits'] += 1
    app._registry.append(request)  # the bug: nobody ever removes it


def run(users=200_000, requests=20_000, snapshots=3, image='', keep=None,
        say=None):
    """Build the heap, leak ``requests`` requests before each of
    ``snapshots`` snapshots, and find the leak.

    The snapshots are detached (``pin=False``) except the last, which is
    pinned so that its retention path can name dict keys and be drawn
    with objgraph's own ``show_chain``.  Each is saved to a file (in
    ``keep``, a directory kept afterwards, or in a temporary one removed
    at the end), and :func:`objgraph.leak_suspects` runs on the files
    loaded back, as ``objgraph suspects`` does.  ``image``: where to draw
    the top suspect's retention path ('' for no drawing).  ``say(text)``
    reports each step as it happens.

    Returns a dict: ``users``, ``requests`` (per round), ``build_seconds``,
    ``snapshots`` (one dict per file: ``path``, ``requests`` handled so
    far, ``nodes``, ``edges``, ``pause_seconds``, ``file_size``),
    ``suspects`` (:class:`objgraph.LeakSuspect` rows, from the files),
    ``loaded`` (the loaded snapshots, for describing their paths),
    ``top_path`` (the top suspect's :class:`objgraph.RetentionPath` in the
    pinned snapshot, or None), ``image`` (the file drawn, or None),
    ``draw_error`` (why the drawing failed, one line; None when drawn or
    not tried), ``seconds`` (in all).
    """
    if users < 1 or requests < 1 or snapshots < 3:
        raise ValueError('users and requests must be >= 1 and snapshots '
                         '>= 3')
    if say is None:
        def say(text):
            pass
    t0 = time.perf_counter()
    directory = keep if keep else tempfile.mkdtemp(prefix='objgraph-demo-')
    if keep:
        os.makedirs(keep, exist_ok=True)
    app = build_app(users)
    report = {'users': users, 'requests': requests,
              'build_seconds': time.perf_counter() - t0, 'snapshots': []}
    say('built demo_app: %s and their sessions (%.1f s)'
        % (plural(users, 'user'), report['build_seconds']))
    pinned = None
    # the figures of each round, in arrays made before the first snapshot:
    # a row of new numbers per round would be a (small) growth of the
    # demo's own for the later snapshots to find (a float suspect)
    figures = {key: array('d', bytes(8 * snapshots)) for key in (
        'requests', 'nodes', 'edges', 'pause_seconds', 'file_size')}
    paths = [os.path.join(directory, 'round-%d.hgsnap' % (i + 1))
             for i in range(snapshots)]
    try:
        handled = 0
        for i in range(snapshots):
            for _ in range(requests):
                handle(app, app.sessions[handled % len(app.sessions)],
                       '/page/%d' % handled)
                handled += 1
            last = i == snapshots - 1
            snap = objgraph.snapshot(pin=last)
            snap.save(paths[i])
            _record(figures, i, snap, handled, paths[i])
            say('snapshot %d after %s: %s, %s, '
                'paused %.0f ms, saved to %s (%.1f MB)%s'
                % (i + 1, plural(handled, 'request'),
                   plural(len(snap), 'object'),
                   plural(snap.num_edges, 'reference'),
                   snap.pause_seconds * 1e3, paths[i],
                   figures['file_size'][i] / 1e6,
                   ' -- pinned, for the drawing' if last else ''))
            if last:
                pinned = snap
            else:
                snap.close()
            del snap  # not to be counted in the next snapshot
        report['snapshots'] = _rows(figures, paths)
        loaded = [objgraph.load(row['path']) for row in report['snapshots']]
        report['loaded'] = loaded
        report['suspects'] = objgraph.leak_suspects(loaded, limit=5, paths=1)
        report['top_path'] = report['image'] = None
        report['draw_error'] = None
        if report['suspects']:
            top = report['suspects'][0].typename
            groups = pinned.retention_paths(top, limit=1)
            if groups:
                report['top_path'] = groups[0]
                if image:
                    report['image'], report['draw_error'] = draw_chain(
                        pinned, groups[0].example, image)
    finally:
        if pinned is not None:
            pinned.close()
        del app._registry[:]
        sys.modules.pop('demo_app', None)
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
    report['seconds'] = time.perf_counter() - t0
    return report


def _record(figures, i, snap, handled, path):
    """Round i's figures, stored in the arrays (no new object kept)."""
    figures['requests'][i] = handled
    figures['nodes'][i] = len(snap)
    figures['edges'][i] = snap.num_edges
    figures['pause_seconds'][i] = snap.pause_seconds
    figures['file_size'][i] = os.path.getsize(path)


def _rows(figures, paths):
    """The rounds' figures as rows, once the snapshots are taken."""
    return [{'path': path, 'requests': int(figures['requests'][i]),
             'nodes': int(figures['nodes'][i]),
             'edges': int(figures['edges'][i]),
             'pause_seconds': figures['pause_seconds'][i],
             'file_size': int(figures['file_size'][i])}
            for i, path in enumerate(paths)]


if __name__ == '__main__':
    # ``python -m objgraph.demo [options]`` is ``objgraph demo [options]``:
    # the command line runs this module, never the reverse
    from objgraph._cli import main as cli_main
    sys.exit(cli_main(['demo'] + sys.argv[1:]))
