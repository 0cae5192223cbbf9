"""The ``objgraph`` command line: snapshot files examined from a shell or
a CI job, and the demo.

    objgraph demo [--users N] [--requests N] [--snapshots N]
                  [--image PATH] [--keep DIR]
    objgraph info FILE
    objgraph top FILE [--limit N] [--sort KEY]
    objgraph diff OLD NEW [--limit N]
    objgraph paths FILE TYPE [--limit N]
    objgraph suspects FILE FILE FILE... [--limit N] [--paths N]
                      [--min-growth N] [--fail-on-leak]
    objgraph render FILE --type TYPE -o OUT
    objgraph report FILE... -o OUT.html [--limit N]
    objgraph attach PID -o FILE [--timeout SECONDS]

Files are snapshots written by ``Snapshot.save``; every figure comes from
the :class:`objgraph.LoadedSnapshot` API (and :func:`objgraph.leak_suspects`)
on the files loaded back.  Every subcommand takes ``--json``: one JSON
document on stdout instead of the text.  Progress notes go to stderr, and
only when stderr is a terminal.  The commands that read files take
``--mmap``: map them instead of reading them into memory (faster for large
files; the command then crashes if a file is truncated or rewritten in
place while it runs -- see :func:`objgraph.load`).

Exit status: 0 done; 1 a leak found with ``--fail-on-leak``; 2 a usage or
file error, reported as one line on stderr naming the file and the cause
(never a traceback) -- and with ``--json``, as a JSON document on stdout
too: ``{"command", "error", "status"}``.  ``docs/cli.rst`` describes the
command line.
"""

import argparse
import datetime
import json
import os
import sys
import time

import objgraph
from objgraph._draw import draw_chain
from objgraph._leaks import path_text
from objgraph._names import human_size, plural
from objgraph._report import growth_rows, type_rows, write_report

EXIT_OK = 0
EXIT_LEAK = 1
EXIT_ERROR = 2

_IMAGE_FORMATS = ('png', 'svg', 'pdf', 'dot')
_TOP_SORT = {'retained': 3, 'shallow': 2, 'count': 1}


class UsageError(Exception):
    """A mistake of the user's: reported as one line, exit status 2."""


class _ArgumentError(Exception):
    """argparse's complaint about the command line (``parser`` and
    ``message``), reported by main(): the usage and one line on stderr,
    exit status 2, as argparse does -- and a JSON document with
    ``--json``."""

    def __init__(self, parser, message):
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors come back to main() instead of
    exiting, so that ``--json`` can report them as JSON."""

    def error(self, message):
        raise _ArgumentError(self, message)


class _Progress:
    """Notes on long steps, one stderr line rewritten in place; silent
    unless stderr is a terminal (so pipes and CI logs stay clean)."""

    def __init__(self):
        stream = sys.stderr
        self.enabled = stream is not None and stream.isatty()
        self.shown = False

    def step(self, text):
        if self.enabled:
            sys.stderr.write('\r\x1b[Kobjgraph: %s...' % text)
            sys.stderr.flush()
            self.shown = True

    def done(self):
        if self.shown:
            sys.stderr.write('\r\x1b[K')
            sys.stderr.flush()
            self.shown = False


# -- Text helpers -------------------------------------------------------------

def _arrow():
    """' → ' where stdout can encode it, ' -> ' otherwise."""
    try:
        '→'.encode(getattr(sys.stdout, 'encoding', None) or 'ascii')
    except (UnicodeEncodeError, LookupError):
        return ' -> '
    return ' → '


_size = human_size


def _objects(n):
    return plural(n, 'object')


def _signed_size(n):
    return '+' + _size(n) if n >= 0 else _size(n)


def _table(header, rows, align=None):
    """Lines of a table.  ``align``: '<' (left) or '>' (right) per column;
    by default the first column left, the others right."""
    if align is None:
        align = '<' + '>' * (len(header) - 1)
    cells = [list(header)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ['  '.join(c.ljust(w) if a == '<' else c.rjust(w)
                      for c, w, a in zip(row, widths, align)).rstrip()
            for row in cells]


# -- Snapshot helpers ---------------------------------------------------------

def _load(path, progress, mmap=False):
    progress.step('loading %s' % path)
    return objgraph.load(path, mmap=mmap)


def _path_nodes(snap, group):
    """The nodes of a retention path group's example on a loaded snapshot:
    one dict (``addr``, ``type``, ``label``, ``size``) each, root first."""
    nodes = []
    for addr in group.example:
        info = snap.node_at(addr)
        nodes.append({'addr': addr, 'type': info.type, 'label': info.label,
                      'size': info.size})
    return nodes


def _path_doc(snap, group):
    """A retention path group as JSON."""
    root = group.root
    return {'signature': list(group.signature), 'count': group.count,
            'retained_bytes': group.retained_bytes,
            'root': None if root is None else {
                'kind': root.kind, 'description': root.description,
                'refcount_excess': root.refcount_excess},
            'path': _path_nodes(snap, group)}


def _path_text(path_doc):
    """The path as its signature -- types, module and class names, and the
    dict keys the file records -- and what holds it (RetentionPath.text)."""
    root = path_doc.get('root')
    return path_text(path_doc['signature'],
                     root and root['description'], _arrow())


def _known_type(snap, typename):
    """Whether any object of the snapshot has this (short or qualified)
    type name."""
    names = set(snap.typestats()) | set(snap.typestats(shortnames=False))
    names.update(row[0] for row in snap.retained_by_type(None))
    return typename in names


def _paths_of(snap, path, typename, limit):
    """retention_paths(typename, limit) on a loaded file; a type the file
    does not hold is a UsageError."""
    groups = snap.retention_paths(typename, limit)
    if not groups and not _known_type(snap, typename):
        raise UsageError('%s holds no object of type %r' % (path, typename))
    return groups


# -- Subcommands --------------------------------------------------------------
#
# Each returns (JSON document, text lines, exit status, a message for
# stderr or None); main() prints the document or the text, then the
# message.

def _cmd_info(args, progress):
    snap = _load(args.file, progress, args.mmap)
    progress.step('counting')
    stats = snap.typestats(shortnames=False)
    created = datetime.datetime.fromtimestamp(snap.created,
                                              datetime.timezone.utc)
    doc = {'file': args.file, 'file_size': snap.file_size,
           'created': snap.created,
           'created_iso': created.isoformat(timespec='seconds'),
           'runtime': snap.runtime, 'python_version': snap.python_version,
           'producer': snap.producer, 'nodes': len(snap),
           'edges': snap.num_edges, 'tracked': sum(stats.values()),
           'types': len(stats), 'pause_seconds': snap.pause_seconds,
           'capture_seconds': snap.capture_seconds,
           'saturated_refcounts': snap.saturated_refcounts,
           'immortal_objects': snap.immortal_objects}
    lines = [
        'file:     %s (%s)' % (args.file, _size(doc['file_size'])),
        'created:  %s by %s' % (created.strftime('%Y-%m-%d %H:%M:%S UTC'),
                                doc['producer']),
        'python:   %s' % doc['runtime'],
        'nodes:    %s, %d of them tracked by the garbage collector'
        % (_objects(doc['nodes']), doc['tracked']),
        'edges:    %s' % plural(doc['edges'], 'reference'),
        'types:    %d (of the tracked objects)' % doc['types'],
        'pause:    %.1f ms holding the GIL (the capture took %.1f ms)'
        % (doc['pause_seconds'] * 1e3, doc['capture_seconds'] * 1e3),
    ]
    if doc['immortal_objects']:
        lines.append('immortal: %s (fixed reference counts; roots)'
                     % _objects(doc['immortal_objects']))
    if doc['saturated_refcounts']:
        lines.append('refcnts:  %d saturated (2**32 - 1 or more at capture, '
                     'true count unknown)' % doc['saturated_refcounts'])
    return doc, lines, EXIT_OK, None


def _cmd_top(args, progress):
    snap = _load(args.file, progress, args.mmap)
    progress.step('computing retained sizes')
    key = _TOP_SORT[args.sort]
    rows = type_rows(snap)
    rows.sort(key=lambda r: (-r[key], -r[3], r[0]))
    if args.limit:
        rows = rows[:args.limit]
    doc = {'file': args.file, 'sort': args.sort,
           'types': [{'type': name, 'count': n, 'shallow_bytes': shallow,
                      'retained_bytes': retained}
                     for name, n, shallow, retained in rows]}
    lines = ['types in %s by %s bytes (objects a root reaches, untracked '
             'ones included)' % (args.file, args.sort)
             if args.sort != 'count' else
             'types in %s by count (objects a root reaches, untracked ones '
             'included)' % args.file]
    lines += _table(('type', 'objects', 'shallow', 'retained'),
                    [(name, n, _size(shallow), _size(retained))
                     for name, n, shallow, retained in rows])
    return doc, lines, EXIT_OK, None


def _cmd_diff(args, progress):
    old = _load(args.old, progress, args.mmap)
    new = _load(args.new, progress, args.mmap)
    progress.step('comparing')
    rows = growth_rows(old, new)
    if args.limit:
        rows = rows[:args.limit]
    doc = {'old': args.old, 'new': args.new,
           'growth': [{'type': r.type, 'count': r.count, 'delta': r.delta,
                       'bytes': r.nbytes, 'bytes_delta': r.bytes_delta,
                       'new': r.new, 'new_bytes': r.new_bytes,
                       'freed': r.freed, 'freed_bytes': r.freed_bytes}
                      for r in rows]}
    if not rows:
        return doc, ['no type grew from %s to %s' % (args.old, args.new)], \
            EXIT_OK, None
    lines = ['types that grew from %s to %s (objects a full collection '
             'would keep, untracked ones included; new and freed: by '
             'address and type)' % (args.old, args.new)]
    lines += _table(('type', 'objects', 'growth', 'new', 'freed', 'bytes',
                     'bytes growth'),
                    [(r.type, r.count, '%+d' % r.delta, r.new, r.freed,
                      _size(r.nbytes), _signed_size(r.bytes_delta))
                     for r in rows])
    return doc, lines, EXIT_OK, None


def _cmd_paths(args, progress):
    snap = _load(args.file, progress, args.mmap)
    progress.step('finding retention paths of %s' % args.type)
    groups = _paths_of(snap, args.file, args.type, args.limit)
    paths = [_path_doc(snap, group) for group in groups]
    doc = {'file': args.file, 'type': args.type, 'paths': paths}
    if not paths:
        return doc, ['no %s in %s is reachable from a root (all garbage)'
                     % (args.type, args.file)], EXIT_OK, None
    lines = ['why the %s objects in %s are alive: their shortest paths '
             'from a root, grouped' % (args.type, args.file)]
    lines += _table(('objects', 'retained', 'path'),
                    [(p['count'], _size(p['retained_bytes']), _path_text(p))
                     for p in paths], align='>><')
    return doc, lines, EXIT_OK, None


def _suspects_doc(suspects, snap):
    """leak_suspects rows as JSON; ``snap``: the last snapshot (loaded),
    whose nodes the paths go through."""
    return [{'type': s.typename, 'counts': list(s.counts),
             'growth': s.growth, 'retained_bytes': list(s.retained_bytes),
             'retained_growth': s.retained_bytes[-1] - s.retained_bytes[0],
             'paths': [_path_doc(snap, group) for group in s.paths],
             'accumulation': None if s.accumulation is None else {
                 'path': list(s.accumulation.path),
                 'references': s.accumulation.references,
                 'holds': s.accumulation.holds}}
            for s in suspects]


def _suspects_text(rows):
    if not rows:
        return ['no suspect: no type grew from each snapshot to the next']
    lines = _table(('type', 'objects per snapshot', 'growth', 'retained',
                    'retained growth'),
                   [(r['type'], ' -> '.join(map(str, r['counts'])),
                     '%+d' % r['growth'], _size(r['retained_bytes'][-1]),
                     _signed_size(r['retained_growth'])) for r in rows])
    lines += ['', 'what keeps them alive (top path in the last snapshot):']
    for r in rows:
        for p in r['paths']:
            lines.append('  %s: %s, %s: %s' % (
                r['type'], _objects(p['count']), _size(p['retained_bytes']),
                _path_text(p)))
    grown = [r for r in rows if r.get('accumulation')]
    if grown:
        lines += ['', 'where they accumulate (on the path of the new ones, '
                  'the container that grew most since the first snapshot):']
        for r in grown:
            acc = r['accumulation']
            lines.append('  %s: %s (%+d references to %s)' % (
                r['type'], _arrow().join(acc['path']), acc['references'],
                acc['holds']))
    return lines


def _cmd_suspects(args, progress):
    if len(args.files) < 3:
        raise UsageError('needs 3 or more snapshot files, in the order they '
                         'were taken, not %d' % len(args.files))
    _check_distinct(args.files)
    snaps = [_load(path, progress, args.mmap) for path in args.files]
    _check_in_order(args.files, snaps)
    progress.step('looking for types that keep growing')
    suspects = objgraph.leak_suspects(snaps, limit=args.limit,
                                      paths=args.paths)
    if args.min_growth:  # 0: every suspect, even those with fewer objects
        suspects = [s for s in suspects if s.growth >= args.min_growth]
    rows = _suspects_doc(suspects, snaps[-1])
    leak = bool(rows)
    doc = {'files': args.files, 'suspects': rows, 'leak': leak}
    lines = ['leak suspects across %d snapshots: %s'
             % (len(args.files), ', '.join(args.files))]
    lines += _suspects_text(rows)
    if leak and args.fail_on_leak:
        top = rows[0]
        return doc, lines, EXIT_LEAK, 'leak: %s grew by %s (%s)' % (
            top['type'], _objects(top['growth']),
            ' -> '.join(map(str, top['counts'])))
    return doc, lines, EXIT_OK, None


def _check_distinct(paths):
    """Each file once: the same file twice would make a flat line of a
    growing one."""
    seen = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError('%s is given twice (as %s too): each snapshot '
                             'file once, oldest first' % (path, seen[key]))
        seen[key] = path


def _check_in_order(paths, snaps):
    """The files in the order they were taken, by the creation times they
    record: reversed, a leak would read as shrinking."""
    for (p0, s0), (p1, s1) in zip(zip(paths, snaps), zip(paths[1:],
                                                         snaps[1:])):
        if s1.created < s0.created:
            raise UsageError(
                'the files are not in the order they were taken: %s '
                '(taken %s) is older than %s (taken %s); give them oldest '
                'first' % (p1, _when(s1.created), p0, _when(s0.created)))
        if s1.created == s0.created:
            raise UsageError('%s and %s record the same creation time: the '
                             'same snapshot twice?' % (p0, p1))


def _when(t):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t)) + \
        ('%.3f' % (t % 1))[1:]


def _check_output(path):
    """An image path must name a known format and a directory that
    exists and can be written (graphviz would say so less clearly, and
    only at the end)."""
    ext = os.path.splitext(path)[1][1:].lower()
    if ext not in _IMAGE_FORMATS:
        raise UsageError('cannot tell the image format of %r: name it '
                         '.png, .svg, .pdf or .dot' % path)
    _check_writable(path)


def _cmd_render(args, progress):
    _check_output(args.output)
    snap = _load(args.file, progress, args.mmap)
    progress.step('finding the retention path of %s' % args.type)
    groups = _paths_of(snap, args.file, args.type, 1)
    if not groups:
        raise UsageError('no %s in %s is reachable from a root: no path to '
                         'draw' % (args.type, args.file))
    path = _path_doc(snap, groups[0])
    progress.step('drawing %s' % args.output)
    made, failure = draw_chain(snap, groups[0].example, args.output)
    if made is None:
        raise UsageError('cannot draw %s: %s' % (args.output, failure))
    doc = {'file': args.file, 'type': args.type, 'output': args.output}
    doc.update(path)
    lines = ['drew the top retention path of %s in %s (%s, %s '
             'retained) to %s:' % (args.type, args.file,
                                   _objects(path['count']),
                                   _size(path['retained_bytes']),
                                   args.output),
             '  ' + _path_text(path)]
    return doc, lines, EXIT_OK, None


def _cmd_report(args, progress):
    _check_writable(args.output)
    _check_distinct(args.files)
    snaps = [_load(path, progress, args.mmap) for path in args.files]
    _check_in_order(args.files, snaps)
    progress.step('writing %s' % args.output)
    write_report(snaps, args.output, names=args.files, limit=args.limit)
    size = os.path.getsize(args.output)
    doc = {'files': args.files, 'output': args.output, 'bytes': size}
    lines = ['wrote the report on %s to %s (%s)'
             % (', '.join(args.files), args.output, _size(size))]
    return doc, lines, EXIT_OK, None


def _check_writable(path):
    """An output path must name a directory that exists and can be
    written, and not be a directory itself."""
    directory = os.path.dirname(path) or os.curdir
    if not os.path.isdir(directory):
        raise UsageError('cannot write %s: no directory %s'
                         % (path, directory))
    if os.path.isdir(path):
        raise UsageError('cannot write %s: it is a directory' % path)
    if not os.access(directory, os.W_OK):
        raise UsageError('cannot write %s: directory %s is not writable'
                         % (path, directory))


def _cmd_attach(args, progress):
    from . import _attach
    if args.report is not None:  # before the target is touched, not after
        _check_writable(args.report)
    progress.step('attaching to process %d' % args.pid)
    try:
        done = _attach.attach(args.pid, args.output, args.timeout)
    except _attach.AttachError as e:
        raise UsageError(str(e)) from None
    doc = {'pid': args.pid, 'output': args.output}
    doc.update(done)
    lines = ['process %d (CPython %s): wrote %s (%s): %s, %s; the target '
             'paused %.1f ms' % (
                 args.pid, done['python'], args.output,
                 _size(done['file_size']), _objects(done['nodes']),
                 plural(done['edges'], 'reference'),
                 done['pause_seconds'] * 1e3)]
    if args.report is not None:
        snap = _load(args.output, progress, False)
        progress.step('writing %s' % args.report)
        write_report([snap], args.report, names=[args.output])
        doc['report'] = args.report
        lines.append('wrote the report on %s to %s (%s)' % (
            args.output, args.report, _size(os.path.getsize(args.report))))
    return doc, lines, EXIT_OK, None


def _cmd_demo(args, progress):
    from . import demo
    if args.image:  # before the minutes of work, not after
        _check_output(args.image)
    if args.json:
        say = progress.step
    else:
        def say(text):
            print(text)
            sys.stdout.flush()
        say('objgraph demo: a web application that keeps every request '
            'it handles\n')
    report = demo.run(args.users, args.requests, args.snapshots,
                      args.image, args.keep, say)
    files = [row['path'] for row in report['snapshots']]
    rows = _suspects_doc([s for s in report['suspects'] if s.growth >= 1],
                         report['loaded'][-1])
    top = report['top_path']
    doc = {'users': args.users, 'requests': args.requests,
           'snapshots': report['snapshots'], 'kept': bool(args.keep),
           'suspects': rows,
           'top_path': None if top is None else {
               'signature': list(top.signature), 'count': top.count,
               'retained_bytes': top.retained_bytes,
               'root': None if top.root is None else top.root.description},
           'image': report['image'], 'seconds': report['seconds']}
    status, message = EXIT_OK, None
    if args.image and report['image'] is None:
        status = EXIT_ERROR
        doc['error'] = 'cannot draw %s: %s' % (
            args.image, report['draw_error'] or 'no leak path to draw')
        doc['status'] = status
        message = 'error: ' + doc['error']
    shown = files if args.keep else [os.path.basename(f) for f in files]
    lines = ['', '$ objgraph suspects --limit 5 %s' % ' '.join(shown)]
    if not args.keep:
        lines.append('(the files are in a temporary directory removed at '
                     'the end; --keep DIR keeps them)')
    lines += _suspects_text(rows)
    if rows:
        s = rows[0]
        lines += ['', 'The top suspect is %s: %s objects (%+d), retaining %s '
                  'in the last snapshot.' % (
                      s['type'], ' -> '.join(map(str, s['counts'])),
                      s['growth'], _size(s['retained_bytes'][-1]))]
    if top is not None:
        lines += ['In the pinned snapshot, the path that keeps %d of them '
                  'alive (%s retained):' % (top.count,
                                            _size(top.retained_bytes)),
                  '  ' + top.text(_arrow())]
    if report['image']:
        lines.append('Drawn to %s.' % report['image'])
    if rows and rows[0]['type'] == 'Request':
        lines += ['', "The leak: demo_app._registry keeps every Request "
                  "handled; nothing ever removes one."]
    lines.append('Done in %.1f s.' % report['seconds'])
    return doc, lines, status, message


# -- The parser ---------------------------------------------------------------

def _count(text):
    """argparse type: an int >= 0."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('not a number: %r' % text) from None
    if n < 0:
        raise argparse.ArgumentTypeError('must be >= 0, not %d' % n)
    return n


def _positive(text):
    """argparse type: an int >= 1."""
    n = _count(text)
    if n < 1:
        raise argparse.ArgumentTypeError('must be >= 1, not %d' % n)
    return n


def _seconds(text):
    """argparse type: a number of seconds > 0."""
    try:
        n = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('not a number: %r' % text) from None
    if not n > 0:
        raise argparse.ArgumentTypeError('must be > 0, not %s' % text)
    return n


def _at_least_3(text):
    n = _count(text)
    if n < 3:
        raise argparse.ArgumentTypeError('must be >= 3, not %d' % n)
    return n


def build_parser():
    """The ``objgraph`` argument parser."""
    parser = _Parser(
        prog='objgraph',
        description='Examine heap snapshot files written by objgraph '
                    '(Snapshot.save): counts, sizes, growth, retention '
                    'paths, leak suspects and drawings; or run the demo.',
        epilog='Exit status: 0 done; 1 a leak found with --fail-on-leak; '
               '2 a usage or file error.  See "objgraph COMMAND --help".')
    parser.add_argument('--version', action='version',
                        version='objgraph %s' % objgraph.__version__)
    common = _Parser(add_help=False)
    common.add_argument('--json', action='store_true',
                        help='print one JSON document on stdout instead of '
                             'text')
    loading = _Parser(add_help=False)
    loading.add_argument('--mmap', action='store_true',
                         help='map the files instead of reading them into '
                              'memory: faster to open a large file, but '
                              'the command crashes (SIGBUS) if a file is '
                              'truncated or rewritten in place while it '
                              'runs')
    sub = parser.add_subparsers(dest='command', required=True,
                                metavar='COMMAND')

    def command(name, func, help, description, loads=True):
        p = sub.add_parser(name, parents=[common, loading] if loads
                           else [common], help=help,
                           description=description)
        p.set_defaults(func=func)
        return p

    def limit(p, default):
        p.add_argument('--limit', '-n', type=_count, default=default,
                       metavar='N',
                       help='show at most N rows (default %d; 0: all)'
                            % default)

    p = command('demo', _cmd_demo,
                'plant a leak in a synthetic heap and find it',
                'Build a heap shaped like a web application (users, '
                'sessions), leak every request it handles, take a snapshot '
                'after each round of requests, save them to files, find '
                'the leak with leak_suspects on the files loaded back, and '
                'draw the retention path of the top suspect.', loads=False)
    p.add_argument('--users', type=_positive, default=200_000, metavar='N',
                   help='users in the heap (each adds ~7 objects; default '
                        '200000)')
    p.add_argument('--requests', type=_positive, default=20_000,
                   metavar='N',
                   help='requests handled (and leaked) before each '
                        'snapshot (default 20000)')
    p.add_argument('--snapshots', type=_at_least_3, default=3, metavar='N',
                   help='snapshots to take, 3 or more (default 3)')
    p.add_argument('--image', default='objgraph-demo-leak.png',
                   metavar='PATH',
                   help='where to draw the leak\'s retention path (default '
                        'objgraph-demo-leak.png; "" draws nothing)')
    p.add_argument('--keep', metavar='DIR',
                   help='save the snapshot files in DIR and keep them '
                        '(default: a temporary directory, removed)')

    p = command('info', _cmd_info, 'what a snapshot file holds',
                'Print the node, edge and type counts of a snapshot file, '
                'the capture\'s pause, the Python that was captured, the '
                'file size and when the snapshot was taken; the immortal '
                'objects (CPython 3.12 on) and the reference counts stored '
                'saturated (2**32 - 1 or more), if any.')
    p.add_argument('file', metavar='FILE', help='a snapshot file')

    p = command('top', _cmd_top, 'types by count and bytes',
                'Print the types of a snapshot file with their objects, '
                'shallow bytes (sys.getsizeof) and retained bytes (what '
                'freeing them all would free, each byte counted once), '
                'over the objects a root reaches, untracked ones (str, '
                'int, ...) included.')
    p.add_argument('file', metavar='FILE', help='a snapshot file')
    limit(p, 10)
    p.add_argument('--sort', choices=sorted(_TOP_SORT), default='retained',
                   help='order of the rows (default retained)')

    p = command('diff', _cmd_diff, 'types that grew between two files',
                'Print the types with more objects (or bytes) in NEW than '
                'in OLD -- objects a full collection would keep, untracked '
                'ones included -- largest growth first, with the objects '
                'new and freed between the two (matched by address and '
                'type) and their shallow bytes.')
    p.add_argument('old', metavar='OLD', help='the older snapshot file')
    p.add_argument('new', metavar='NEW', help='the newer snapshot file')
    limit(p, 10)

    p = command('paths', _cmd_paths, 'why objects of a type are alive',
                'Print the shortest paths from a root to every object of '
                'TYPE, grouped by the types along them: per group, the '
                'objects, the bytes they retain and the path.')
    p.add_argument('file', metavar='FILE', help='a snapshot file')
    p.add_argument('type', metavar='TYPE',
                   help='a type name, short (Request) or qualified '
                        '(app.Request)')
    limit(p, 5)

    p = command('suspects', _cmd_suspects,
                'types that keep growing across 3 or more files',
                'Print the types whose objects (or the bytes they retain) '
                'never shrink from one snapshot to the next and still grow '
                'after the second (growth in the first interval alone is '
                'warm-up): objgraph.leak_suspects over the files, '
                'in the order given, with each suspect\'s top retention '
                'path in the last file.')
    p.add_argument('files', nargs='+', metavar='FILE',
                   help='3 or more snapshot files, oldest first')
    limit(p, 10)
    p.add_argument('--paths', type=_count, default=1, metavar='N',
                   help='retention paths shown per suspect (default 1)')
    p.add_argument('--min-growth', type=_count, default=1, metavar='N',
                   help='report only the types whose objects grew by N or '
                        'more (default 1; 0: every suspect, types that '
                        'only retain more bytes too)')
    p.add_argument('--fail-on-leak', action='store_true',
                   help='exit with status 1 if any suspect is reported')

    p = command('render', _cmd_render,
                'draw the retention path of a type',
                'Draw the top retention path of TYPE (the path shared by '
                'the most objects of the type) with graphviz.')
    p.add_argument('file', metavar='FILE', help='a snapshot file')
    p.add_argument('--type', '-t', required=True, metavar='TYPE',
                   help='the type whose path to draw')
    p.add_argument('--output', '-o', required=True, metavar='OUT',
                   help='the image to write; its extension names the '
                        'format: .png, .svg, .pdf or .dot')

    p = command('report', _cmd_report,
                'one HTML page of what the files say',
                'Write one self-contained HTML page (no network needed) '
                'about the snapshot files, oldest first: a summary of '
                'each, the leak suspects across them (3 files or more) '
                'with their growth charted, retention paths, the last '
                'file\'s dominator tree (browsable) and types (sortable), '
                'the diff between the first and the last file, and the top '
                'suspect\'s path drawn by graphviz.')
    p.add_argument('files', nargs='+', metavar='FILE',
                   help='1 or more snapshot files, oldest first')
    p.add_argument('--output', '-o', required=True, metavar='OUT',
                   help='the HTML file to write')
    limit(p, 10)
    p = command('attach', _cmd_attach,
                'snapshot a running Python process to a file',
                'Take a detached snapshot inside the running CPython '
                'process PID, which need not have imported objgraph, and '
                'write it to FILE; the process keeps running.  It imports '
                'this objgraph from the directory it is installed in, put '
                'on its sys.path for the duration, so it must run the '
                'same CPython version (3.10 and later).  Through gdb on '
                'CPython 3.10 to 3.13 (ptrace: run as root or as the '
                'process\'s user), sys.remote_exec from 3.14 on.  '
                'docs/attach.rst says how.', loads=False)
    p.add_argument('pid', type=_positive, metavar='PID',
                   help='the id of the process')
    p.add_argument('--output', '-o', required=True, metavar='FILE',
                   help='the snapshot file to write (written by the '
                        'process itself, atomically)')
    p.add_argument('--timeout', type=_seconds, default=30.0,
                   metavar='SECONDS',
                   help='give up if the process has not reached a point '
                        'where it can take the snapshot (its threads '
                        'waiting with the GIL free, or running bytecode) '
                        'within SECONDS (default 30); the snapshot itself, '
                        'once started, is waited for')
    p.add_argument('--report', metavar='HTML',
                   help='also write the HTML report on the file (as '
                        '"objgraph report FILE -o HTML")')
    return parser


def _error_text(e):
    """One line for an error: the file and the cause."""
    if isinstance(e, OSError) and e.filename is not None:
        return '%s: %s' % (e.filename, e.strerror or e)
    return str(e)


def _report_error(command, text, as_json):
    """An error: one line on stderr; with ``--json`` a JSON document on
    stdout too, so that a script reading stdout learns it as well."""
    if as_json:
        try:
            json.dump({'command': command, 'error': text,
                       'status': EXIT_ERROR}, sys.stdout, indent=2)
            sys.stdout.write('\n')
            sys.stdout.flush()
        except BrokenPipeError:
            pass
    print('objgraph %s: error: %s' % (command, text)
          if command else 'objgraph: error: %s' % text, file=sys.stderr)
    return EXIT_ERROR


def main(argv=None):
    """Run the ``objgraph`` command with ``argv`` (default
    ``sys.argv[1:]``); returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help or --version
        return e.code if isinstance(e.code, int) else EXIT_ERROR
    except _ArgumentError as e:
        e.parser.print_usage(sys.stderr)
        command = e.parser.prog[len('objgraph '):] or None
        return _report_error(command, str(e), '--json' in argv)
    progress = _Progress()
    try:
        doc, lines, status, message = args.func(args, progress)
    except (UsageError, objgraph.SnapshotError, OSError, ValueError) as e:
        progress.done()
        return _report_error(args.command, _error_text(e), args.json)
    except KeyboardInterrupt:
        progress.done()
        return 130
    progress.done()
    try:
        if args.json:
            json.dump(doc, sys.stdout, indent=2)
            sys.stdout.write('\n')
        else:
            sys.stdout.write(''.join(line + '\n' for line in lines))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if message:
        print('objgraph %s: %s' % (args.command, message), file=sys.stderr)
    return status
