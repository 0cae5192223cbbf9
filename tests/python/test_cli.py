"""The ``objgraph`` command line (objgraph._cli, ``python -m objgraph``).

Three snapshot files of this process are written once, while a planted
leak grows (a module-level registry keeps 200 more ``CliLeak`` objects
each round); every subcommand reads them, and its ``--json`` answer is
compared with the Python API's on the same files.  Exit statuses: 0 done,
1 a leak with ``--fail-on-leak``, 2 a usage or file error, reported as one
line naming the file, never a traceback.
"""

import json
import os
import shutil
import subprocess
import sys
import types

import pytest

import objgraph
from objgraph._cli import main

PER_ROUND = 200
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class CliLeak:
    def __init__(self, n):
        self.n = n


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Three snapshot files, oldest first, with CliLeak growing by
    PER_ROUND from one to the next."""
    directory = tmp_path_factory.mktemp('cli')
    app = types.ModuleType('cli_leaky_app')
    app._registry = []
    sys.modules['cli_leaky_app'] = app
    paths = []
    try:
        for i in range(3):
            app._registry.extend(CliLeak(n) for n in range(PER_ROUND))
            path = str(directory / ('round-%d.hgsnap' % (i + 1)))
            with objgraph.snapshot(pin=False) as snap:
                snap.save(path)
            paths.append(path)
    finally:
        del sys.modules['cli_leaky_app']
        del app._registry[:]
    return paths


@pytest.fixture(scope='module')
def loaded(files):
    return [objgraph.load(path) for path in files]


def run(capsys, *args):
    """main(args) -> (exit status, stdout, stderr)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *args):
    status, out, err = run(capsys, *(args + ('--json',)))
    assert status == 0, 'expected status 0, got %d: %s' % (status, err)
    return json.loads(out)


def plain(text):
    """Arrows as ' -> ' whatever stdout could encode."""
    return text.replace(' → ', ' -> ')


def python_m(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'objgraph']
                          + [str(a) for a in args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def assert_one_line_error(status, err, *words):
    assert status == 2, 'expected exit status 2, got %d' % status
    assert 'Traceback' not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'error' in lines[0], err
    for word in words:
        assert word in lines[0], '%r not in %r' % (word, lines[0])


# -- info, top, diff, paths ---------------------------------------------------

def test_info_reports_the_file_as_the_api_does(capsys, files, loaded):
    doc = run_json(capsys, 'info', files[2])
    snap = loaded[2]
    assert doc['nodes'] == len(snap)
    assert doc['edges'] == snap.num_edges
    assert doc['types'] == len(snap.typestats(shortnames=False))
    assert doc['tracked'] == sum(snap.typestats().values())
    assert doc['file_size'] == snap.file_size == os.path.getsize(files[2])
    assert doc['python_version'] == '%d.%d.%d' % sys.version_info[:3]
    assert doc['pause_seconds'] == snap.pause_seconds
    assert doc['created'] == snap.created
    status, out, err = run(capsys, 'info', files[2])
    assert status == 0 and err == ''
    assert '%d objects' % len(snap) in out
    assert '%d references' % snap.num_edges in out
    assert 'CPython' in out and 'pause' in out


def test_top_lists_retained_by_type(capsys, files, loaded):
    doc = run_json(capsys, 'top', files[2], '--limit', 5)
    rows = [(r['type'], r['count'], r['shallow_bytes'], r['retained_bytes'])
            for r in doc['types']]
    assert rows == loaded[2].retained_by_type(5)
    status, out, _ = run(capsys, 'top', files[2], '-n', 3)
    assert status == 0
    lines = out.splitlines()
    assert lines[1].split() == ['type', 'objects', 'shallow', 'retained']
    assert len(lines) == 2 + 3
    assert lines[2].split()[0] == rows[0][0]


def test_top_sorts_by_count(capsys, files, loaded):
    doc = run_json(capsys, 'top', files[2], '--sort', 'count', '-n', 0)
    counts = [r['count'] for r in doc['types']]
    assert counts == sorted(counts, reverse=True)
    # a row per type, two types with one short name apart (qualified)
    assert len(counts) == len(loaded[2].retained_by_type(None,
                                                         shortnames=False))


def test_diff_shows_the_growth_of_the_api(capsys, files, loaded):
    doc = run_json(capsys, 'diff', files[0], files[2])
    growth = loaded[2].diff(loaded[0]).growth(10, sizes=True)
    # each row the API's by qualified name, printed short unless two
    # types share the short name
    full = loaded[2].diff(loaded[0]).growth(None, shortnames=False,
                                           sizes=True)
    assert len(doc['growth']) == len(growth)
    for row in doc['growth']:
        same = [r for r in full if row['type'] in (
            r.type, r.type.rsplit('.', 1)[-1])]
        assert len(same) == 1, (row, same)
        assert tuple(row.values())[1:] == tuple(same[0])[1:]
    (leak,) = [r for r in growth if r.type == 'CliLeak']
    assert (leak.count, leak.delta, leak.new, leak.freed) == (
        3 * PER_ROUND, 2 * PER_ROUND, 2 * PER_ROUND, 0)
    assert leak.nbytes == 3 * leak.bytes_delta // 2 == 3 * leak.new_bytes // 2
    status, out, _ = run(capsys, 'diff', files[0], files[2])
    assert status == 0
    assert any(line.split()[:5] == ['CliLeak', str(3 * PER_ROUND),
                                    '+%d' % (2 * PER_ROUND),
                                    str(2 * PER_ROUND), '0']
               for line in out.splitlines()), out


def test_diff_of_a_file_with_itself_shows_no_growth(capsys, files):
    assert run_json(capsys, 'diff', files[1], files[1])['growth'] == []
    status, out, _ = run(capsys, 'diff', files[1], files[1])
    assert status == 0 and 'no type grew' in out


def test_paths_groups_the_retention_paths_of_a_type(capsys, files, loaded):
    doc = run_json(capsys, 'paths', files[2], 'CliLeak')
    groups = loaded[2].retention_paths('CliLeak', 5)
    assert [(tuple(p['signature']), p['count'], p['retained_bytes'])
            for p in doc['paths']] == [
                (g.signature, g.count, g.retained_bytes) for g in groups]
    top = doc['paths'][0]
    assert top['count'] == 3 * PER_ROUND
    assert [n['addr'] for n in top['path']] == groups[0].example
    # the signature: the path's types, named (modules) and keyed (dicts)
    assert [n['type'] for n in top['path']] == [
        part.split(' ')[0].split('[')[0] for part in groups[0].signature]
    assert top['path'][-1]['type'] == 'CliLeak'
    assert {'type': 'module', 'label': 'cli_leaky_app'}.items() <= \
        top['path'][-4].items()
    status, out, _ = run(capsys, 'paths', files[2], 'CliLeak')
    assert status == 0
    assert ("module cli_leaky_app -> dict['_registry'] -> list -> CliLeak"
            in plain(out))


# -- suspects -----------------------------------------------------------------

def test_suspects_finds_the_planted_leak(capsys, files, loaded):
    api = objgraph.leak_suspects(loaded, limit=10, paths=1)

    def rows(doc):
        return [(s['type'], tuple(s['counts']), s['growth'],
                 tuple(s['retained_bytes'])) for s in doc['suspects']]

    # every suspect of the API with --min-growth 0, the types whose objects
    # grew (the default, --min-growth 1) without
    assert rows(run_json(capsys, 'suspects', *files, '--min-growth', 0)) == [
        (s.typename, s.counts, s.growth, s.retained_bytes) for s in api]
    doc = run_json(capsys, 'suspects', *files)
    assert rows(doc) == [(s.typename, s.counts, s.growth, s.retained_bytes)
                         for s in api if s.growth >= 1]
    top = doc['suspects'][0]
    assert top['type'] == 'CliLeak'
    assert top['counts'] == [PER_ROUND, 2 * PER_ROUND, 3 * PER_ROUND]
    assert top['paths'][0]['signature'] == list(api[0].paths[0].signature)
    assert doc['leak'] is True and doc['files'] == files
    status, out, err = run(capsys, 'suspects', *files)
    assert status == 0 and err == ''
    assert '200 -> 400 -> 600' in out and '+400' in out
    assert 'CliLeak: 600 objects' in out


def test_fail_on_leak_exits_1_with_a_leak(capsys, files):
    status, out, err = run(capsys, 'suspects', *files, '--fail-on-leak')
    assert status == 1, 'expected 1 (leak), got %d' % status
    assert 'CliLeak' in out
    assert 'leak: CliLeak grew by 400 objects' in err
    status, out, _ = run(capsys, 'suspects', *files, '--fail-on-leak',
                         '--json')
    assert status == 1 and json.loads(out)['leak'] is True


def test_fail_on_leak_exits_0_without_a_leak(capsys, files, tmp_path):
    quiet = [str(tmp_path / ('quiet-%d.hgsnap' % i)) for i in range(3)]
    for path in quiet:  # a heap that does not grow
        with objgraph.snapshot(pin=False) as snap:
            snap.save(path)
    status, out, err = run(capsys, 'suspects', *quiet, '--fail-on-leak')
    assert status == 0, 'expected 0 (no leak), got %d: %s' % (status, err)
    assert 'no suspect' in out and err == ''
    status, out, _ = run(capsys, 'suspects', *files, '--fail-on-leak',
                         '--min-growth', 2 * PER_ROUND + 1, '--json')
    assert status == 0
    assert json.loads(out) == {'files': files, 'suspects': [],
                               'leak': False}


# -- render -------------------------------------------------------------------

def test_render_draws_the_top_retention_path(capsys, files, loaded,
                                             tmp_path):
    png = tmp_path / 'leak.png'
    status, out, err = run(capsys, 'render', files[2], '--type', 'CliLeak',
                           '-o', png)
    assert status == 0, err
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert ("module cli_leaky_app -> dict['_registry'] -> list -> CliLeak"
            in plain(out))
    svg = tmp_path / 'leak.svg'
    doc = run_json(capsys, 'render', files[2], '-t', 'CliLeak', '-o', svg)
    assert '<svg' in svg.read_text()
    assert doc['output'] == str(svg)
    assert doc['count'] == loaded[2].retention_paths('CliLeak', 1)[0].count
    dot = tmp_path / 'leak.dot'
    assert run(capsys, 'render', files[2], '-t', 'CliLeak', '-o', dot)[0] == 0
    text = dot.read_text()
    assert text.startswith('digraph') and 'module cli_leaky_app' in text
    assert text.count(' -> ') == len(doc['path']) - 1


def test_render_without_graphviz_is_a_one_line_error(capsys, files,
                                                    tmp_path, monkeypatch):
    """What the drawing module says went wrong is the error: no dot in
    $PATH, and dot failing, both named; nothing of the drawing's own
    output reaches stdout."""
    monkeypatch.setenv('PATH', str(tmp_path))  # no dot
    png = tmp_path / 'leak.png'
    status, out, err = run(capsys, 'render', files[2], '-t', 'CliLeak',
                           '-o', png)
    assert_one_line_error(status, err, 'cannot draw %s' % png,
                          'Image renderer (dot) not found')
    assert out == '' and not png.exists()
    fake = tmp_path / 'dot'  # a dot that fails
    fake.write_text('#!/bin/sh\nexit 3\n')
    fake.chmod(0o755)
    status, out, err = run(capsys, 'render', files[2], '-t', 'CliLeak',
                           '-o', png, '--json')
    assert_one_line_error(status, err, 'cannot draw %s' % png,
                          'dot failed (exit code 3)')
    assert json.loads(out)['status'] == 2


def test_a_loaded_snapshot_draws_a_retention_path(loaded, tmp_path, capsys):
    group = loaded[2].retention_paths('CliLeak', 1)[0]
    loaded[2].show_chain(group.example, filename=str(tmp_path / 'p.png'))
    out = capsys.readouterr().out
    assert 'Image generated as' in out
    assert (tmp_path / 'p.png').read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError, match='not the address'):
        loaded[2].show_chain([1], filename=str(tmp_path / 'q.png'))
    with pytest.raises(TypeError, match='an address'):
        loaded[2].show_chain([CliLeak(0)], filename=str(tmp_path / 'q.png'))
    assert loaded[2].node_at(group.example[-1]).type == 'CliLeak'
    assert loaded[2].node_at(1) is None


# -- errors -------------------------------------------------------------------

def test_a_missing_file_is_a_one_line_error(capsys, tmp_path):
    missing = tmp_path / 'missing.hgsnap'
    status, out, err = run(capsys, 'info', missing)
    assert_one_line_error(status, err, str(missing), 'No such file')
    assert out == ''


def test_corrupt_and_foreign_files_are_one_line_errors(capsys, files,
                                                       tmp_path):
    corrupt = tmp_path / 'corrupt.hgsnap'
    shutil.copy(files[0], corrupt)
    with open(corrupt, 'r+b') as f:
        f.seek(os.path.getsize(corrupt) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    status, _, err = run(capsys, 'top', corrupt)
    assert_one_line_error(status, err, str(corrupt))
    truncated = tmp_path / 'truncated.hgsnap'
    truncated.write_bytes(open(files[0], 'rb').read()[:1000])
    status, _, err = run(capsys, 'suspects', files[0], files[1], truncated)
    assert_one_line_error(status, err, str(truncated))
    foreign = tmp_path / 'notes.txt'
    foreign.write_text('not a snapshot\n' * 100)
    status, _, err = run(capsys, 'paths', foreign, 'dict')
    assert_one_line_error(status, err, str(foreign))
    status, _, err = run(capsys, 'info', tmp_path)
    assert_one_line_error(status, err, str(tmp_path))


def test_errors_in_a_child_process_show_no_traceback(files, tmp_path):
    garbage = tmp_path / 'garbage.hgsnap'
    garbage.write_bytes(b'\0' * 4096)
    proc = python_m('diff', files[0], garbage)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert str(garbage) in proc.stderr and proc.stdout == ''


def test_an_unknown_type_is_an_error(capsys, files, tmp_path):
    status, _, err = run(capsys, 'paths', files[2], 'NoSuchType')
    assert_one_line_error(status, err, files[2], 'NoSuchType')
    status, _, err = run(capsys, 'render', files[2], '-t', 'NoSuchType',
                         '-o', tmp_path / 'x.png')
    assert_one_line_error(status, err, 'NoSuchType')
    assert not (tmp_path / 'x.png').exists()


@pytest.mark.parametrize('args', [
    [],
    ['frobnicate'],
    ['info'],
    ['top', 'FILE', '--limit', '-1'],
    ['top', 'FILE', '--limit', 'many'],
    ['top', 'FILE', '--sort', 'size'],
    ['diff', 'FILE'],
    ['paths', 'FILE'],
    ['render', 'FILE', '-o', 'x.png'],
    ['demo', '--users', '0'],
    ['demo', '--snapshots', '2'],
])
def test_wrong_arguments_exit_2_with_usage(capsys, files, args):
    status, out, err = run(capsys, *[files[0] if a == 'FILE' else a
                                     for a in args])
    assert status == 2, 'expected 2 for %r, got %d' % (args, status)
    assert 'usage: objgraph' in err and 'Traceback' not in err
    assert out == ''


def test_usage_errors_found_after_parsing_exit_2(capsys, files, tmp_path):
    status, _, err = run(capsys, 'suspects', files[0], files[1])
    assert_one_line_error(status, err, '3 or more')
    status, _, err = run(capsys, 'render', files[0], '-t', 'dict', '-o',
                         tmp_path / 'leak.jpeg')
    assert_one_line_error(status, err, 'leak.jpeg', '.png')
    out = tmp_path / 'no' / 'such' / 'dir' / 'leak.png'
    status, _, err = run(capsys, 'render', files[0], '-t', 'dict', '-o', out)
    assert_one_line_error(status, err, str(out))


@pytest.mark.parametrize('command', [
    None, 'demo', 'info', 'top', 'diff', 'paths', 'suspects', 'render'])
def test_every_command_has_help(capsys, command):
    status, out, _ = run(capsys, *([command] if command else []), '--help')
    assert status == 0
    assert out.startswith('usage: objgraph')
    assert '--json' in out or command is None
    if command is None:
        for name in ('demo', 'info', 'top', 'diff', 'paths', 'suspects',
                     'render'):
            assert name in out


# -- output streams -----------------------------------------------------------

def test_progress_goes_to_stderr_only_on_a_terminal(capsys, files,
                                                    monkeypatch):
    status, out, err = run(capsys, 'top', files[0])
    assert status == 0 and err == ''

    class Terminal:
        def __init__(self):
            self.text = ''

        def isatty(self):
            return True

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    terminal = Terminal()
    monkeypatch.setattr(sys, 'stderr', terminal)
    doc = run_json(capsys, 'top', files[0])
    assert doc['types']
    assert 'loading %s' % files[0] in terminal.text
    assert terminal.text.endswith('\r\x1b[K')  # the line is cleared


def test_python_m_objgraph_runs_the_command_line(files):
    proc = python_m('info', files[1], '--json')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)['nodes'] == len(objgraph.load(files[1]))


# -- demo ---------------------------------------------------------------------

def test_demo_finds_the_leak_and_draws_it(tmp_path):
    image = tmp_path / 'demo.png'
    proc = python_m('demo', '--users', 2000, '--requests', 500, '--image',
                    image, '--keep', tmp_path / 'snaps')
    assert proc.returncode == 0, proc.stderr
    assert image.read_bytes()[:8] == PNG_SIGNATURE
    out = plain(proc.stdout)
    assert 'The top suspect is Request: 500 -> 1000 -> 1500 objects' in out
    assert "module demo_app -> dict['_registry'] -> list -> Request" in out
    kept = sorted(os.listdir(tmp_path / 'snaps'))
    assert kept == ['round-1.hgsnap', 'round-2.hgsnap', 'round-3.hgsnap']
    # the files it kept tell the same story to the command line
    proc = python_m('suspects', *kept, '--fail-on-leak', '--json',
                    cwd=tmp_path / 'snaps')
    assert proc.returncode == 1
    assert json.loads(proc.stdout)['suspects'][0]['type'] == 'Request'


def test_demo_json_and_python_m_objgraph_demo(tmp_path):
    proc = subprocess.run(
        [sys.executable, '-m', 'objgraph.demo', '--users', '500',
         '--requests', '100', '--snapshots', '4', '--image', '', '--json'],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [row['requests'] for row in doc['snapshots']] == [100, 200, 300,
                                                             400]
    assert doc['suspects'][0]['type'] == 'Request'
    assert doc['suspects'][0]['counts'] == [100, 200, 300, 400]
    assert doc['top_path']['signature'][-1] == 'Request'
    assert doc['image'] is None and os.listdir(tmp_path) == []


@pytest.mark.parametrize('image, words', [
    ('no/such/dir/leak.png', ['no/such/dir/leak.png', 'no directory']),
    ('leak.jpeg', ['leak.jpeg', '.png']),
    ('a-directory.png', ['a-directory.png', 'is a directory']),
])
def test_demo_checks_its_image_path_before_it_starts(capsys, tmp_path,
                                                     monkeypatch, image,
                                                     words):
    monkeypatch.chdir(tmp_path)
    os.mkdir('a-directory.png')
    status, out, err = run(capsys, 'demo', '--users', 2000, '--image', image)
    assert_one_line_error(status, err, 'objgraph demo: error', *words)
    assert out == '', 'the demo started: %r' % out
    assert os.listdir(tmp_path) == ['a-directory.png']


# -- errors with --json -----------------------------------------------------

def _json_error(capsys, *args):
    """(JSON document on stdout, stderr) of a command that fails."""
    status, out, err = run(capsys, *args, '--json')
    assert status == 2, 'expected exit status 2, got %d' % status
    assert 'Traceback' not in err, err
    return json.loads(out), err


def test_with_json_a_file_error_is_json_on_stdout_too(capsys, tmp_path):
    missing = tmp_path / 'missing.hgsnap'
    doc, err = _json_error(capsys, 'info', missing)
    assert doc == {'command': 'info', 'status': 2,
                   'error': err.strip()[len('objgraph info: error: '):]}
    assert_one_line_error(2, err, str(missing), 'No such file')


def test_with_json_a_usage_error_is_json_on_stdout_too(capsys, files,
                                                       tmp_path):
    doc, err = _json_error(capsys, 'suspects', files[0], files[1])
    assert doc['command'] == 'suspects' and '3 or more' in doc['error']
    assert_one_line_error(2, err, doc['error'])
    doc, err = _json_error(capsys, 'demo', '--image', tmp_path / 'x' / 'y.png')
    assert doc['command'] == 'demo' and str(tmp_path / 'x') in doc['error']


@pytest.mark.parametrize('args, command', [
    (['frobnicate'], None),
    (['top'], 'top'),
    (['top', 'FILE', '--limit', '-1'], 'top'),
])
def test_with_json_a_bad_argument_is_json_on_stdout_too(capsys, files, args,
                                                        command):
    doc, err = _json_error(capsys, *[files[0] if a == 'FILE' else a
                                     for a in args])
    assert doc['command'] == command and doc['status'] == 2
    assert err.startswith('usage: objgraph')
    assert err.strip().splitlines()[-1].endswith('error: ' + doc['error'])


def test_suspects_refuses_files_out_of_order(capsys, files):
    status, _, err = run(capsys, 'suspects', files[2], files[1], files[0])
    assert_one_line_error(status, err, 'not in the order they were taken',
                          files[1], files[2])


def test_suspects_refuses_a_file_given_twice(capsys, files):
    status, _, err = run(capsys, 'suspects', files[0], files[1], files[1])
    assert_one_line_error(status, err, 'given twice', files[1])


def test_suspects_refuses_a_copy_of_a_file(capsys, files, tmp_path):
    copy = str(tmp_path / 'copy.hgsnap')
    shutil.copyfile(files[1], copy)
    status, _, err = run(capsys, 'suspects', files[0], files[1], copy)
    assert_one_line_error(status, err, 'same creation time', copy)
