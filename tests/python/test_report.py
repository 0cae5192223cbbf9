"""The HTML report (objgraph._report): ``objgraph report`` on the command
line, ``snap.report()`` and ``objgraph.report()`` from Python.

Three snapshot files of this process are written once while a planted leak
grows (a module-level registry keeps 200 more ``ReportLeak`` objects each
round, and a class named ``<script>alert(1)</script>`` grows under a dict
key ``</script><b>x``).  The page is checked as text -- the suspect named,
its path and root shown, everything escaped, nothing fetched from the
network -- and in a real headless Chromium (Debian ``chromium``, which
``make test`` installs): it loads with no console message, its script
builds the dominator tree and expands a node (through the ``#expand=ID``
fragment, which calls what a click calls), sorts the type table
(``#sort=COLUMN``), and a screenshot is drawn.  Chromium reports the page's
console messages on stderr as ``CONSOLE`` lines (``--enable-logging=stderr
--v=0``); a page with an error planted proves that the check sees them.
"""

import json
import re
import shutil
import subprocess
import sys
import types

import pytest

import objgraph
from objgraph import _report
from objgraph._cli import main

PER_ROUND = 200
EVIL = '<script>alert(1)</script>'
EVIL_KEY = '</script><b>x'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


class ReportLeak:
    def __init__(self, n):
        self.n = n
        self.payload = [n]


class Evil:
    """Renamed '<script>alert(1)</script>' below; each holds 10 kB, so
    that the dominator tree's top holds them."""

    def __init__(self):
        self.payload = bytearray(10_000)


Evil.__name__ = Evil.__qualname__ = EVIL


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Three snapshot files, oldest first, with ReportLeak growing by
    PER_ROUND and the <script> class by 10 from one to the next."""
    directory = tmp_path_factory.mktemp('report')
    app = types.ModuleType('report_leaky_app')
    app._registry = []
    app._evil = {EVIL_KEY: []}
    sys.modules['report_leaky_app'] = app
    paths = []
    try:
        for i in range(3):
            app._registry.extend(ReportLeak(n) for n in range(PER_ROUND))
            app._evil[EVIL_KEY].extend(Evil() for _ in range(10))
            path = str(directory / ('round-%d.hgsnap' % (i + 1)))
            with objgraph.snapshot(pin=False) as snap:
                snap.save(path)
            paths.append(path)
    finally:
        del sys.modules['report_leaky_app']
        del app._registry[:]
    return paths


@pytest.fixture(scope='module')
def page(files, tmp_path_factory):
    """The report on the three files, written by the command line: (its
    path, its text)."""
    out = tmp_path_factory.mktemp('page') / 'report.html'
    status = main(['report', *files, '-o', str(out)])
    assert status == 0, 'objgraph report exited with %d' % status
    return out, out.read_text(encoding='utf-8')


def run(capsys, *args):
    """main(args) -> (exit status, stdout, stderr)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def tree_data(text):
    """The dominator tree the page embeds (its JSON)."""
    m = re.search(r'<script type="application/json" id="tree-data">(.*?)'
                  r'</script>', text, re.S)
    assert m, 'expected the tree data in the page, found none'
    return json.loads(m.group(1))


# -- The page as text ---------------------------------------------------------

def test_cli_writes_one_page_naming_the_suspect_and_its_path(page, files):
    _, text = page
    assert text.startswith('<!DOCTYPE html>')
    assert 'ReportLeak' in text
    assert "dict[&#x27;_registry&#x27;] \u2192 list \u2192 ReportLeak" \
        in text, 'expected the path of the leak, shown escaped'
    assert 'held by module report_leaky_app' in text
    for name in files:
        assert name in text, 'expected the file %s named' % name


def test_page_holds_every_section(page):
    _, text = page
    for anchor in ('summary', 'suspects', 'paths', 'drawing', 'tree',
                   'types', 'diff'):
        assert '<section id="%s">' % anchor in text
    assert 'class="spark"' in text, 'expected growth charts'
    assert text.count('<svg') >= 3, 'expected charts and the drawing'
    assert 'class="node"' in text, 'expected the graphviz drawing (SVG)'
    assert 'CPython %d.%d' % sys.version_info[:2] in text


def test_page_needs_no_network(page):
    _, text = page
    for fetch in ('<link', ' src=', '@import', 'url(', '<iframe'):
        assert fetch not in text, 'expected nothing fetched, found %r' % (
            fetch)


def test_type_names_and_dict_keys_are_escaped(page):
    _, text = page
    assert text.count('<script') == 2, (
        'expected the page\'s own 2 script elements, found %d'
        % text.count('<script'))
    assert '<b>x' not in text
    assert html_escaped(EVIL) in text, 'expected the class name escaped'
    assert html_escaped(EVIL_KEY) in text, 'expected the dict key escaped'


def html_escaped(s):
    return s.replace('&', '&amp;').replace('<', '&lt;').replace(
        '>', '&gt;').replace("'", '&#x27;')


def test_tree_is_cut_to_its_top(files, tmp_path):
    out = tmp_path / 'small.html'
    _report.write_report([objgraph.load(files[-1])], str(out), tree_nodes=50)
    nodes = tree_data(out.read_text(encoding='utf-8'))['nodes']
    most = 50 + _report._TREE_SAMPLED  # and some children of the leaves
    assert 0 < len(nodes) <= most, 'expected at most %d nodes, got %d' % (
        most, len(nodes))
    for node in nodes.values():
        assert len(node[5]) <= 20
        for child in node[5]:
            assert str(child) in nodes
            assert nodes[str(child)][4] <= node[4], 'a child retains more'


# -- The Python API -----------------------------------------------------------

def test_objgraph_report_takes_files_and_snapshots(files, tmp_path):
    out = tmp_path / 'api.html'
    assert objgraph.report(str(out), files) == str(out)
    text = out.read_text(encoding='utf-8')
    assert 'ReportLeak' in text and 'Leak suspects' in text
    loaded = [objgraph.load(p) for p in files]
    assert loaded[-1].report(str(out), previous=loaded[:2]) == str(out)
    assert 'ReportLeak' in out.read_text(encoding='utf-8')


def test_report_of_the_heap_now_and_of_a_pinned_snapshot(tmp_path):
    out = tmp_path / 'now.html'
    objgraph.report(str(out))
    text = out.read_text(encoding='utf-8')
    assert 'Leak suspects need 3 snapshots' in text
    with objgraph.snapshot() as snap:
        snap.report(str(out))
    assert 'Dominator tree' in out.read_text(encoding='utf-8')


def test_api_errors_name_the_file_and_the_cause(files, tmp_path):
    missing = str(tmp_path / 'missing.hgsnap')
    with pytest.raises(objgraph.SnapshotError, match='missing.hgsnap'):
        objgraph.report(str(tmp_path / 'r.html'), [missing])
    nowhere = str(tmp_path / 'no-dir' / 'r.html')
    with pytest.raises(OSError) as info:
        objgraph.report(nowhere, files[:1])
    assert info.value.filename == nowhere
    with pytest.raises(ValueError, match='no snapshot'):
        objgraph.report(str(tmp_path / 'r.html'), [])
    with pytest.raises(TypeError, match='not one str'):
        objgraph.report(str(tmp_path / 'r.html'), files[0])
    with pytest.raises(TypeError, match='Snapshot objects, not int'):
        objgraph.report(str(tmp_path / 'r.html'), [1])
    assert not list(tmp_path.glob('*.tmp-*')), 'a temporary file remained'


# -- The command line's errors ------------------------------------------------

def test_cli_errors_exit_2_naming_the_file(capsys, files, tmp_path):
    out = tmp_path / 'r.html'
    status, _, err = run(capsys, 'report', tmp_path / 'missing.hgsnap',
                         '-o', out)
    assert status == 2 and 'missing.hgsnap' in err, err
    bad = tmp_path / 'bad.hgsnap'
    bad.write_bytes(b'not a snapshot')
    status, _, err = run(capsys, 'report', bad, '-o', out)
    assert status == 2 and 'bad.hgsnap' in err, err
    assert 'Traceback' not in err
    status, _, err = run(capsys, 'report', files[0], '-o',
                         tmp_path / 'no-dir' / 'r.html')
    assert status == 2 and 'no directory' in err, err
    status, _, err = run(capsys, 'report', files[1], files[0], '-o', out)
    assert status == 2 and 'not in the order' in err, err
    status, _, err = run(capsys, 'report', files[0])
    assert status == 2 and '--output' in err, err
    assert not out.exists(), 'expected no page written after errors'


def test_cli_json_names_the_output(capsys, files, tmp_path):
    out = tmp_path / 'j.html'
    status, stdout, _ = run(capsys, 'report', *files, '-o', out, '--json')
    assert status == 0
    doc = json.loads(stdout)
    assert doc['output'] == str(out) and doc['bytes'] == out.stat().st_size


# -- In a real browser --------------------------------------------------------

def chromium(url, *flags, tmp_path):
    """Run headless Chromium on ``url``: (stdout, the console lines it
    logged)."""
    assert CHROMIUM, ('expected chromium on PATH (Debian package '
                      '"chromium"; make test installs it)')
    proc = subprocess.run(
        [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu',
         '--no-first-run', '--enable-logging=stderr', '--v=0',
         '--user-data-dir=%s' % (tmp_path / 'chromium-profile'), *flags,
         url], capture_output=True, text=True, timeout=60)
    console = [line for line in proc.stderr.splitlines()
               if ':CONSOLE' in line]
    return proc.stdout, console


def test_chromium_check_sees_a_console_error(page, tmp_path):
    path, text = page
    i = text.rindex('<script>')
    bad = tmp_path / 'bad.html'
    bad.write_text(text[:i] + '<script>undefinedFunction();</script>'
                   + text[i:], encoding='utf-8')
    _, console = chromium(bad.as_uri(), '--dump-dom', tmp_path=tmp_path)
    assert any('undefinedFunction' in line for line in console), (
        'expected the planted error among the console lines, got %r'
        % console)


def test_page_loads_in_chromium_and_expands_a_tree_node(page, tmp_path):
    path, text = page
    tree = tree_data(text)
    top = next(v for v in tree['top'] if tree['nodes'][str(v)][5])
    child = tree['nodes'][str(top)][5][0]
    dom, console = chromium(path.as_uri() + '#expand=%d' % top,
                            '--dump-dom', tmp_path=tmp_path)
    assert not console, 'expected no console message, got %r' % console
    assert 'data-ready="1"' in dom, 'expected the script to have run'
    assert 'id="node-%d"' % top in dom, 'expected the top of the tree'
    assert 'id="node-%d"' % child in dom, (
        'expected node %d expanded, showing its child %d' % (top, child))
    assert '<b>x' not in dom and dom.count('<script') == 2


def test_tree_shows_the_escaped_class_when_expanded(page, tmp_path):
    path, text = page
    tree = tree_data(text)
    evil = [v for v, n in tree['nodes'].items() if n[0] == EVIL]
    assert evil, 'expected the <script> class\'s objects in the tree'
    parents = {str(c): v for v, n in tree['nodes'].items() for c in n[5]}
    chain = []
    v = evil[0]
    while v in parents:
        v = parents[v]
        chain.append(v)
    dom, console = chromium(path.as_uri() + '#expand=' + ','.join(
        reversed(chain)), '--dump-dom', tmp_path=tmp_path)
    assert not console, 'expected no console message, got %r' % console
    assert 'id="node-%s"' % evil[0] in dom
    assert html_escaped(EVIL).replace('&#x27;', "'") in dom
    assert dom.count('<script') == 2


def test_type_table_sorts_by_count_in_chromium(page, tmp_path):
    path, _ = page
    dom, console = chromium(path.as_uri() + '#sort=1', '--dump-dom',
                            tmp_path=tmp_path)
    assert not console, 'expected no console message, got %r' % console
    table = dom[dom.index('<table class="types sortable">'):]
    table = table[:table.index('</table>')]
    counts = [int(k) for k in re.findall(
        r'<td class="num" data-key="(\d+)">[\d,]+</td><td class="num" '
        r'data-key="\d+">', table)]
    assert counts and counts == sorted(counts, reverse=True), (
        'expected rows by count, most first, got %r' % counts[:10])


def test_chromium_draws_a_screenshot(page, tmp_path):
    path, _ = page
    shot = tmp_path / 'report.png'
    _, console = chromium(path.as_uri(), '--screenshot=%s' % shot,
                          '--window-size=1280,1600', tmp_path=tmp_path)
    assert not console, 'expected no console message, got %r' % console
    assert shot.read_bytes()[:8] == PNG_SIGNATURE
