"""The house rules on layering (STYLE.md rule 1) and on parallel regions,
checked on the sources."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def _includes(folder, suffixes=('.c', '.h', '.cc')):
    for path in sorted((ROOT / folder).rglob('*')):
        if path.suffix in suffixes:
            for name in INCLUDE.findall(path.read_text()):
                yield path.relative_to(ROOT), name


def test_core_never_sees_python():
    bad = [(p, n) for p, n in _includes('core') if 'Python' in n
           or n.startswith('internal/pycore')]
    assert bad == [], 'core/ must not include Python headers: %s' % bad


def test_bench_and_core_tests_see_only_the_public_header():
    project_headers = {p.name for p in ROOT.rglob('*.h')
                       if 'build' not in p.parts}
    for folder in ('bench', 'tests/core'):
        bad = [(p, n) for p, n in _includes(folder)
               if n in project_headers and n != 'heapgraph.h'
               and not n.startswith('ref')
               and not (ROOT / folder / n).exists()
               and not any((ROOT / folder).rglob(n))]
        assert bad == [], '%s includes private headers: %s' % (folder, bad)


def test_only_capture_and_bindings_include_python():
    for folder in ('core', 'bench', 'tests/core'):
        for path, name in _includes(folder):
            assert name != 'Python.h', '%s includes Python.h' % path
    assert any(n == 'Python.h' for _, n in _includes('capture'))


PARALLEL = re.compile(r'#\s*pragma\s+omp\s+parallel\b((?:.*\\\n)*.*)')
NUM_THREADS = re.compile(r'num_threads\(((?:[^()]|\([^()]*\))*)\)')


def test_every_parallel_region_asks_for_the_engines_team():
    # core/src/threads.c: a region of another size would shrink or grow
    # the runtime's pool (threads created, maybe none to be had), and one
    # of the default size could wait for pool threads a forked child does
    # not have.  The team is hg_num_threads(), or a count planned from it
    # or from hg_threads_reserve().
    planned = {'hg_num_threads()', 'w->team', 'n_walkers', 'team'}
    seen = 0
    for folder in ('core', 'capture', 'python/ext'):
        for path in sorted((ROOT / folder).rglob('*.c')):
            for m in PARALLEL.finditer(path.read_text()):
                seen += 1
                asked = NUM_THREADS.findall(m.group(1))
                assert len(asked) == 1 and asked[0] in planned, (
                    '%s: expected num_threads(<one of %s>) in "%s"'
                    % (path.relative_to(ROOT), sorted(planned),
                       m.group(0)))
    assert seen > 30, 'expected the parallel regions, found %d' % seen


# ---- capture/: interpreter internals behind interp.h, no call cycles ----

CAPTURE = ROOT / 'capture'
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
# What only a version header (capture/cpythonXY.h) may name: the collector's
# lists and headers, its state, reference-count storage, managed dicts,
# and the build switch of the internal headers.
INTERNALS = re.compile(
    r'(?<!\w)(?:_PyGC_\w*|PyGC_Head|gcstate|_gc_prev|_gc_next'
    r'|_gc_runtime_state|ob_refcnt|ht_cached_keys|PyDictValues'
    r'|Py_TPFLAGS_MANAGED_DICT|NUM_GENERATIONS|Py_BUILD_CORE|pycore_\w*)')
# CPython's private API, in code (a comment may cite a CPython function).
PRIVATE_API = re.compile(r'\b_Py[A-Za-z]\w*')


def _code(text):
    """C text without comments and string literals."""
    return STRING.sub('""', COMMENT.sub(' ', text))


def _version_header(path):
    """capture/cpythonXY.h, or cpython_common.h: what several versions'
    headers share, included by each of them."""
    return re.fullmatch(r'cpython(?:\d+|_common)\.h', path.name) is not None


def _with_shared(path):
    """A version header's code with that of the shared headers it
    includes (cpython_*.h)."""
    text = path.read_text()
    code = _code(text)
    for name in re.findall(r'#\s*include\s+"(cpython_\w+\.h)"',
                           COMMENT.sub(' ', text)):
        code += _code((CAPTURE / name).read_text())
    return code


def test_interpreter_internals_only_in_the_version_headers():
    sources = sorted(CAPTURE.glob('*.[ch]')) + sorted(
        (ROOT / 'python' / 'ext').glob('*.[ch]'))
    assert any(_version_header(p) for p in sources)
    assert (CAPTURE / 'interp.h').exists()
    bad = []
    for path in sources:
        if _version_header(path):
            continue
        text = path.read_text()
        # comments may name what they avoid; their lines are kept
        code = COMMENT.sub(lambda m: '\n' * m.group(0).count('\n'), text)
        for m in INTERNALS.finditer(code):
            if (m.group(0) == 'Py_TPFLAGS_MANAGED_DICT'
                    and path.name.startswith('portable')):
                continue  # a public flag in 3.11's own headers
            line = code.count('\n', 0, m.start()) + 1
            bad.append('%s:%d: %s' % (path.relative_to(ROOT), line,
                                      m.group(0)))
        for name in sorted(set(PRIVATE_API.findall(_code(text)))):
            bad.append('%s: private API %s' % (path.relative_to(ROOT), name))
    assert bad == [], (
        'expected interpreter internals only in capture/cpythonXY.h, '
        'reached through interp.h; found:\n  ' + '\n  '.join(bad))


def test_every_version_header_provides_the_interface():
    # interp.h's opening comment lists the interface; each cpythonXY.h
    # defines every name of it (a macro, a type, an inline function or a
    # variable), so that the walk builds against any of them.
    doc = COMMENT.match((CAPTURE / 'interp.h').read_text()).group(0)
    names = sorted(set(re.findall(r'\b(?:hg__|HG__)\w+', doc)))
    assert len(names) > 30, 'expected the interface in interp.h: %s' % names
    headers = [p for p in sorted(CAPTURE.glob('cpython*.h'))
               if re.fullmatch(r'cpython\d+\.h', p.name)]
    assert len(headers) >= 3, headers
    for path in headers:
        code = _with_shared(path)
        missing = [
            n for n in names if not re.search(
                r'#\s*define\s+%s\b|\b%s\s*\(|typedef[^;]*\b%s\s*;'
                r'|extern[^;]*\b%s\s*;' % (n, n, n, n), code)]
        assert missing == [], (
            'expected %s to provide all of interp.h; it lacks %s'
            % (path.name, missing))
    # ... and the other files use no name of a version header but those
    others = [p for p in sorted(CAPTURE.glob('*.[ch]'))
              if not _version_header(p) and p.name != 'interp.h']
    for path in headers:
        own = set(re.findall(r'\b(?:hg__|HG__)\w+', _with_shared(path)))
        for other in others:
            used = own & set(re.findall(r'\b(?:hg__|HG__)\w+',
                                        _code(other.read_text())))
            extra = sorted(used - set(names))
            assert extra == [], (
                'expected %s to reach %s through interp.h\'s names only; '
                'it uses %s' % (other.name, path.name, extra))


DEFINITION = re.compile(
    r'^(static\s+)?(?:inline\s+)?[A-Za-z_][\w \t*]*?\b(hg_\w+)\s*'
    r'\(((?:[^()]|\([^()]*\))*)\)\s*\{', re.M)
CALL = re.compile(r'\b(hg_\w+)\s*\(')


def _functions(code):
    """{name: (is_static, body)} of the functions defined in code."""
    found = {}
    for m in DEFINITION.finditer(code):
        depth, i = 1, m.end()
        while depth:
            depth += {'{': 1, '}': -1}.get(code[i], 0)
            i += 1
        found[m.group(2)] = (bool(m.group(1)), code[m.end():i])
    return found


def _capture_call_graph():
    """{file: {file it calls into}} over capture/*.c.  A call to a static
    inline function of a header counts as the calls that function makes
    (it is compiled into the caller)."""
    inline = {}
    for path in CAPTURE.glob('*.h'):
        for name, (_, body) in _functions(_code(path.read_text())).items():
            inline[name] = set(CALL.findall(body)) - {name}
    defined, calls = {}, {}
    for path in sorted(CAPTURE.glob('*.c')):
        code = _code(path.read_text())
        for name, (static, _) in _functions(code).items():
            if not static:
                defined[name] = path.name
        todo, seen = list(CALL.findall(code)), set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(inline.get(name, ()))
        calls[path.name] = seen
    return {f: {defined[n] for n in names if defined.get(n, f) != f}
            for f, names in calls.items()}


def _cycle(graph):
    """A cycle of graph as a list of nodes, or None."""
    state = {}

    def visit(node, path):
        state[node] = 'open'
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_capture_files_call_each_other_without_cycles():
    graph = _capture_call_graph()
    assert graph.get('capture.c'), 'capture.c calls nothing: parse failed'
    cycle = _cycle(graph)
    assert cycle is None, (
        'expected the files of capture/ to call each other as a DAG '
        '(walk_state.c <- walk_serial.c, walk_parallel.c, renumber.c <- '
        'capture.c); found the cycle %s' % ' -> '.join(cycle))
    callers = sorted(f for f, callees in graph.items()
                     if 'capture.c' in callees)
    assert callers == [], (
        'expected capture.c (the phases) at the top, called by no file of '
        'capture/; called by %s' % callers)
    walks = {'walk_serial.c', 'walk_parallel.c', 'renumber.c'}
    for name in sorted(walks):
        assert name in graph, 'expected capture/%s' % name
        assert not graph[name] & walks, (
            'expected %s to call none of %s; it calls %s'
            % (name, sorted(walks - {name}), sorted(graph[name] & walks)))


def test_capture_headers_include_each_other_without_cycles():
    graph = {p.name: {n for n in INCLUDE.findall(p.read_text())
                      if (CAPTURE / n).exists()}
             for p in CAPTURE.glob('*.[ch]')}
    cycle = _cycle(graph)
    assert cycle is None, 'include cycle in capture/: %s' % ' -> '.join(cycle)
    public = graph['capture.h']
    assert public == set(), (
        'expected capture.h, the public header, to include no other header '
        'of capture/; it includes %s' % sorted(public))
    seen = {n for _, n in _includes('python/ext')
            if (CAPTURE / n).exists()}
    assert seen == {'capture.h'}, (
        'expected the bindings to include capture.h only of capture/; '
        'they include %s' % sorted(seen))
