"""objgraph's demo: a synthetic heap with a planted leak, and the objgraph
answers that find it.

Run it with ``python -m objgraph.demo`` (``make demo``).  It builds a heap
of about a million objects shaped like a web application's -- sessions,
users, caches -- plants a leak (every handled request is kept by a
forgotten registry), and then hunts the leak the objgraph way: growth
between two calls, the new objects, and the chain of references from a
module that keeps them alive.
"""

import argparse
import sys
import time
import types

import objgraph


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
    request = Request(session, path)
    session.data['visits'] += 1
    app._registry.append(request)  # the bug: nobody ever removes it


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m objgraph.demo',
        description='Plant a leak in a synthetic heap and find it.')
    parser.add_argument('--users', type=int, default=200_000,
                        help='users (each adds ~5 objects; default 200000)')
    parser.add_argument('--requests', type=int, default=20_000,
                        help='requests handled between the two looks')
    parser.add_argument('--image', default='objgraph-demo-leak.png',
                        help='where to draw the chain (default '
                             'objgraph-demo-leak.png; "" to skip)')
    args = parser.parse_args(argv)
    if args.users < 1 or args.requests < 1:
        parser.error('--users and --requests must be >= 1')

    t0 = time.perf_counter()
    app = build_app(args.users)
    print('built a heap of %d tracked objects in %.1f s'
          % (_tracked(), time.perf_counter() - t0))

    print('\n$ objgraph.show_growth(limit=3)   # before: the baseline')
    objgraph.show_growth(limit=3)

    for i in range(args.requests):
        handle(app, app.sessions[i % len(app.sessions)], '/page/%d' % i)

    print('\n$ objgraph.show_growth()   # after handling %d requests'
          % args.requests)
    objgraph.show_growth()

    with objgraph.snapshot() as snap:
        print('\nsnapshot: %d nodes, %d edges, %.1f MB, GIL pause %.0f ms'
              % (len(snap), snap.num_edges, snap.nbytes / 1e6,
                 snap.pause_seconds * 1e3))
        leaked = snap.by_type('Request')
        print('\n$ snap.count("Request")\n%d' % len(leaked))
        chain = snap.find_backref_chain(leaked[-1],
                                        objgraph.is_proper_module)
        print('\n$ objgraph.find_backref_chain(request, '
              'objgraph.is_proper_module)')
        for depth, obj in enumerate(chain):
            print('%s%s' % ('  ' * depth, _describe(obj)))
        if args.image:
            print('\n$ objgraph.show_chain(chain, filename=%r)'
                  % args.image)
            snap.show_chain(chain, filename=args.image)
    print('\nThe chain ends in demo_app._registry: every Request is kept '
          'alive there -- the leak.')
    del app._registry[:]
    del sys.modules['demo_app']
    return 0


def _tracked():
    with objgraph.snapshot(pin=False) as snap:
        return sum(snap.typestats().values())


def _describe(obj):
    if isinstance(obj, types.ModuleType):
        return 'module %s' % obj.__name__
    if isinstance(obj, dict):
        return 'dict with %d items' % len(obj)
    if isinstance(obj, list):
        return 'list with %d items' % len(obj)
    return '%s object at %#x' % (type(obj).__name__, id(obj))


if __name__ == '__main__':
    sys.exit(main())
