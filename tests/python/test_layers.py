"""The layers stay layers: no module of python/objgraph imports, even
lazily inside a function, a module that imports it back (directly or
through others), and no header of the C tree includes one that includes
it back.  Read from the source, so a new circle fails here before it
works by accident of import order.

``if __name__ == '__main__':`` blocks are left out: running a module as a
script (``python -m objgraph.demo``) is the command line's entry, not a
dependency of the module."""

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, 'python', 'objgraph')
C_DIRS = ('core/include', 'core/src', 'capture', 'python/ext')


def _is_main_guard(node):
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == '__name__')


def _imports(tree, modules):
    """The package modules a module's source imports (anywhere but under
    a ``__main__`` guard); the package itself counts as ``__init__``."""
    found = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if _is_main_guard(node):
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split('.')[0])
            elif node.level == 1:
                found.update(a.name for a in node.names)
            elif node.module == 'objgraph':
                found.update(a.name if a.name in modules else '__init__'
                             for a in node.names)
            elif node.module and node.module.startswith('objgraph.'):
                found.add(node.module.split('.')[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == 'objgraph':
                    found.add('__init__')
                elif a.name.startswith('objgraph.'):
                    found.add(a.name.split('.')[1])
        todo.extend(ast.iter_child_nodes(node))
    return found & modules


def _cycles(edges):
    """Strongly connected components of two nodes or more (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_circle():
    modules = {f[:-3] for f in os.listdir(PACKAGE) if f.endswith('.py')}
    edges = {}
    for m in modules:
        with open(os.path.join(PACKAGE, m + '.py')) as f:
            edges[m] = _imports(ast.parse(f.read()), modules) - {m}
    assert edges['_snapshot'], 'the import reader found nothing'
    assert _cycles(edges) == [], 'modules that import each other'


def test_the_c_tree_has_no_include_circle():
    include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    edges = {}
    for folder in C_DIRS:
        for name in os.listdir(os.path.join(ROOT, folder)):
            if name.endswith(('.c', '.h')):
                with open(os.path.join(ROOT, folder, name)) as f:
                    edges[name] = set(include.findall(f.read()))
    for name in edges:
        edges[name] = {os.path.basename(h) for h in edges[name]} & set(edges)
    assert edges['graphobj.h'], 'the include reader found nothing'
    assert _cycles(edges) == [], 'headers that include each other'


EXT = os.path.join(ROOT, 'python', 'ext')
C_COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"', re.S)
# A definition at the start of a line that is not static: a function
# (name, then its parameters and a body) or a variable (name, then = or ;).
EXPORT = re.compile(r'^(?!static\b|extern\b|typedef\b|#)[A-Za-z_][\w \t*]*?'
                    r'\b([A-Za-z_]\w*)\s*(?:\[\w*\]\s*)?(?:\(|=|;)', re.M)


def _ext_units():
    """{unit: (code of unit.c, code of unit.h)} of python/ext, comments
    and strings left out: a file and its header are one unit."""
    units = {}
    for name in sorted(os.listdir(EXT)):
        stem, ext = os.path.splitext(name)
        if ext in ('.c', '.h'):
            with open(os.path.join(EXT, name)) as f:
                code = C_COMMENT.sub(' ', f.read())
            c, h = units.get(stem, ('', ''))
            units[stem] = (code, h) if ext == '.c' else (c, code)
    return units


def test_the_bindings_files_never_call_back():
    # python/ext: each file and its header one unit; a unit depends on the
    # units whose header it includes and whose functions or tables it
    # names.  No unit may depend, through others, on one that depends on
    # it: module.c at the top puts the method tables together, the method
    # files sit on graphobj.c, which calls none of them.
    units = _ext_units()
    defined = {}
    for unit, (c, _) in units.items():
        for name in EXPORT.findall(c):
            defined.setdefault(name, unit)
    edges = {}
    for unit, (c, h) in units.items():
        code = c + h
        deps = {os.path.splitext(os.path.basename(n))[0]
                for n in re.findall(r'#\s*include\s+"([^"]+)"', code)}
        deps |= {defined[w] for w in re.findall(r'\b\w+\b', code)
                 if w in defined}
        edges[unit] = (deps & set(units)) - {unit}
    assert 'hgpy_graph_ensure' in defined, 'the definition reader failed'
    assert 'graphobj' in edges['analysis'], 'the use reader failed'
    assert _cycles(edges) == [], (
        'files of python/ext that depend on each other (a file and its '
        'header count as one): %s' % _cycles(edges))
    assert edges['graphobj'] <= {'errors'}, (
        'expected graphobj.c to depend on errors.c alone, not on %s'
        % sorted(edges['graphobj'] - {'errors'}))


def test_the_checks_find_a_circle():
    assert _cycles({'a': {'b'}, 'b': {'a'}, 'c': set()}) == [['a', 'b']]
    tree = ast.parse('def f():\n    from . import _files\n'
                     "if __name__ == '__main__':\n    from . import _cli\n")
    assert _imports(tree, {'_files', '_cli'}) == {'_files'}
