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

This module runs the command (:func:`main`); the parser is
objgraph._cli_parser, the subcommands objgraph._cli_commands, what they
share objgraph._cli_common; drawings go through objgraph._draw.
"""

import json
import os
import sys

import objgraph
from objgraph._cli_common import (  # noqa: F401 (importable from here)
    EXIT_ERROR,
    EXIT_LEAK,
    EXIT_OK,
    UsageError,
    _Progress,
)
from objgraph._cli_parser import _ArgumentError, build_parser


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
