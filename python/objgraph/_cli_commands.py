"""The ``objgraph`` subcommands: one function each, ``_cmd_NAME(args,
progress)``.

Each returns (JSON document, text lines, exit status, a message for stderr
or None); objgraph._cli.main() prints the document or the text, then the
message."""

import datetime
import os
import sys

import objgraph
from objgraph._cli_common import (
    _TOP_SORT,
    EXIT_ERROR,
    EXIT_LEAK,
    EXIT_OK,
    UsageError,
    _arrow,
    _check_distinct,
    _check_in_order,
    _check_output,
    _check_writable,
    _load,
    _objects,
    _path_doc,
    _path_text,
    _paths_of,
    _signed_size,
    _size,
    _table,
)
from objgraph._draw import draw_chain
from objgraph._names import plural
from objgraph._report import growth_rows, type_rows, write_report


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
