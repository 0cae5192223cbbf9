"""The ``objgraph`` argument parser: :func:`build_parser`, one small
function per group of subcommands, and the argument types they check."""

import argparse

import objgraph
from objgraph._cli_commands import (
    _cmd_attach,
    _cmd_demo,
    _cmd_diff,
    _cmd_info,
    _cmd_paths,
    _cmd_render,
    _cmd_report,
    _cmd_suspects,
    _cmd_top,
)
from objgraph._cli_common import _TOP_SORT


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
    command = _Commands(parser)
    _add_demo(command)
    _add_file_commands(command)
    _add_leak_commands(command)
    _add_output_commands(command)
    _add_attach(command)
    return parser


class _Commands:
    """Adds the subcommands to a parser: ``command(name, func, help,
    description, loads=True)`` adds one, with ``--json`` and (``loads``:
    for the commands that read files) ``--mmap``, and returns its
    parser."""

    def __init__(self, parser):
        self.common = _Parser(add_help=False)
        self.common.add_argument('--json', action='store_true',
                                 help='print one JSON document on stdout '
                                      'instead of text')
        self.loading = _Parser(add_help=False)
        self.loading.add_argument(
            '--mmap', action='store_true',
            help='map the files instead of reading them into memory: '
                 'faster to open a large file, but the command crashes '
                 '(SIGBUS) if a file is truncated or rewritten in place '
                 'while it runs')
        self.sub = parser.add_subparsers(dest='command', required=True,
                                         metavar='COMMAND')

    def __call__(self, name, func, help, description, loads=True):
        p = self.sub.add_parser(name, parents=[self.common, self.loading]
                                if loads else [self.common], help=help,
                                description=description)
        p.set_defaults(func=func)
        return p


def _limit(p, default):
    p.add_argument('--limit', '-n', type=_count, default=default,
                   metavar='N',
                   help='show at most N rows (default %d; 0: all)' % default)


def _add_demo(command):
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


def _add_file_commands(command):
    """info, top, diff and paths: what one or two files hold."""
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
    _limit(p, 10)
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
    _limit(p, 10)

    p = command('paths', _cmd_paths, 'why objects of a type are alive',
                'Print the shortest paths from a root to every object of '
                'TYPE, grouped by the types along them: per group, the '
                'objects, the bytes they retain and the path.')
    p.add_argument('file', metavar='FILE', help='a snapshot file')
    p.add_argument('type', metavar='TYPE',
                   help='a type name, short (Request) or qualified '
                        '(app.Request)')
    _limit(p, 5)


def _add_leak_commands(command):
    """suspects: what keeps growing across the files."""
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
    _limit(p, 10)
    p.add_argument('--paths', type=_count, default=1, metavar='N',
                   help='retention paths shown per suspect (default 1)')
    p.add_argument('--min-growth', type=_count, default=1, metavar='N',
                   help='report only the types whose objects grew by N or '
                        'more (default 1; 0: every suspect, types that '
                        'only retain more bytes too)')
    p.add_argument('--fail-on-leak', action='store_true',
                   help='exit with status 1 if any suspect is reported')


def _add_output_commands(command):
    """render and report: a drawing, an HTML page."""
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
    _limit(p, 10)


def _add_attach(command):
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
