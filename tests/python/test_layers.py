"""The layers stay layers: no module of python/objgraph imports, even
lazily inside a function, a module that imports it back (directly or
through others), and no header of the C tree includes one that includes
it back.  Read from the source, so a new circle fails here before it
works by accident of import order.

``if __name__ == '__main__':`` blocks are left out: running a module as a
script (``python -m objgraph.demo``) is the command line's entry, not a
dependency of the module.

Private names stay private.  The rules, checked on the source (imports
inside functions included):

1. A name with one leading underscore belongs to the module that defines
   it, and to the parts that module is split into (``_leaks`` and
   ``_leaks_rows``, ``canary`` and ``_canary_budget``: one module in
   several files, as tools/architecture.py draws them).
   ``from ._m import _name`` (or ``from objgraph._m import _name``)
   appears only within such a family, and in the package's ``__init__``; a
   module that shares a helper with other modules names it without the
   underscore (the module itself is private to the package:
   ``objgraph._snapshot_base.id_array``).
   Importing a module (``from . import _draw``) is not importing a
   private name.
2. The extension's private names (``_heapgraph._alloc_fail_after``, for
   tests) are used by no module: no ``M._name`` where ``M`` is a module of
   the package, nor the import of rule 1.
3. The modules built on snapshots -- objgraph 3.x's functions
   (``_api``, ``_api_graph``), ``_growth`` and the canary (``canary``,
   ``_canary_*``) -- read no private member of another object:
   ``x._name`` only on a module from outside the package
   (``sys._getframe``), on ``self`` or ``cls`` for a ``_name`` a class of
   the same module defines, or on another object for a ``_name`` that a
   class of the same module defines and no class of another module does
   (the module's own objects: ``canary._thread`` in canary.py; never
   ``snap._g``).  What they need of a snapshot's graph is a named
   function of objgraph._snapshot_base or objgraph._snapshot.

And sizes: no module over 600 lines, no function over 80 lines
(docstrings excluded), for the modules listed in ``SIZED``."""

import ast
import fnmatch
import importlib.util
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, 'python', 'objgraph')


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, 'tools', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_architecture = _load_tool('architecture')
#: which module a part belongs to (``_leaks_rows`` -> ``_leaks``): the
#: families tools/architecture.py draws as one box
family = _architecture.family
#: the package modules a module's source imports (tools/architecture.py's
#: reader: the picture and this test read imports alike)
_imports = _architecture.imports
C_DIRS = ('core/include', 'core/src', 'capture', 'python/ext')


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


# -- private names -----------------------------------------------------------

#: The modules rule 3 covers: those built on snapshots.
CLIENTS = ('_api', '_api_graph', '_growth', 'canary', '_canary_*')


def _is_private(name):
    return name.startswith('_') and not name.startswith('__')


def _modules():
    return sorted(f[:-3] for f in os.listdir(PACKAGE) if f.endswith('.py'))


def _parse(module):
    with open(os.path.join(PACKAGE, module + '.py')) as f:
        return ast.parse(f.read())


def _private_imports(module, tree, modules):
    """(module, source module, name) for each ``from`` import of a
    private name of a package module (rule 1)."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1 and node.module:
            source = node.module.split('.')[0]
        elif node.level == 0 and node.module and \
                node.module.startswith('objgraph.'):
            source = node.module.split('.')[1]
        else:
            continue  # from . import _m, from objgraph import ...: modules
        if source in modules:
            found.update((module, source, a.name) for a in node.names
                         if _is_private(a.name))
    return found


def _module_names(tree, modules):
    """Names a module binds to modules: (package modules, other modules)."""
    package, other = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                name = a.asname or a.name.split('.')[0]
                (package if a.name.startswith('objgraph.') and a.asname
                 else other).add(name)
        elif isinstance(node, ast.ImportFrom) and (
                (node.level == 1 and not node.module)
                or node.module == 'objgraph'):
            package.update(a.asname or a.name for a in node.names
                           if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            other.update(a.asname or a.name for a in node.names)
    return package, other


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _own_private_attributes(tree):
    """The private names a class of the module defines: its methods and
    class attributes, and what its methods assign to ``self._name``."""
    found = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for node in ast.walk(cls):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.add(node.name)
            elif isinstance(node, ast.Attribute) and \
                    isinstance(node.ctx, ast.Store):
                found.add(node.attr)
            elif isinstance(node, ast.Name) and \
                    isinstance(node.ctx, ast.Store):
                found.add(node.id)
    return {name for name in found if _is_private(name)}


def _private_reads(tree, modules, client, elsewhere=frozenset()):
    """``x._name`` attribute reads breaking rule 2 (any module) or, for a
    ``client``, rule 3 (``elsewhere``: the private names classes of the
    other modules define): as ``line: text``."""
    package, other = _module_names(tree, modules)
    own = _own_private_attributes(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
            continue
        root = _root(node.value)
        if root in package or (client and root not in other and (
                node.attr not in own if root in ('self', 'cls')
                else node.attr not in own - elsewhere)):
            found.append('%d: %s' % (node.lineno, ast.unparse(node)))
    return sorted(found, key=lambda text: int(text.split(':')[0]))


def test_no_module_imports_another_s_private_names():
    modules = set(_modules())
    found = set()
    for m in modules - {'__init__'}:
        found |= _private_imports(m, _parse(m), modules)
    assert found, 'the import reader found nothing'
    bad = sorted(t for t in found if family(t[0]) != family(t[1]))
    assert bad == [], ('(importer, module, private name) against rule 1: '
                       'name it without the underscore in its module')


def test_no_module_reads_private_members_it_does_not_own():
    modules = set(_modules())
    trees = {m: _parse(m) for m in modules}
    defined = {m: _own_private_attributes(trees[m]) for m in modules}
    bad = {}
    for m in sorted(modules):
        client = any(fnmatch.fnmatch(m, p) for p in CLIENTS)
        elsewhere = set().union(*(d for n, d in defined.items() if n != m))
        found = _private_reads(trees[m], modules, client, elsewhere)
        if found:
            bad[m] = found
    assert bad == {}, 'private members read against rules 2 and 3'


def test_the_private_name_checks_find_what_they_look_for():
    modules = {'_snapshot', '_heapgraph', 'canary'}
    tree = ast.parse('def f():\n    from ._snapshot import _own, take\n'
                     'from . import _heapgraph\n')
    assert _private_imports('canary', tree, modules) == {
        ('canary', '_snapshot', '_own')}
    tree = ast.parse('import sys\nfrom . import _heapgraph\n'
                     'class A:\n    def _mine(self):\n'
                     '        self._x = 1\n'
                     'def f(snap, a):\n    snap._g.match(a._mine())\n'
                     '    _heapgraph._alloc_fail_after(1)\n'
                     '    sys._getframe()\n    a._x\n')
    assert _private_reads(tree, modules, client=True) == [
        '7: snap._g', '8: _heapgraph._alloc_fail_after']
    # a name some other module's class defines too is that class's
    assert _private_reads(tree, modules, True, elsewhere={'_x'}) == [
        '7: snap._g', '8: _heapgraph._alloc_fail_after', '10: a._x']
    assert _private_reads(tree, modules, client=False) == [
        '8: _heapgraph._alloc_fail_after']


# -- sizes -------------------------------------------------------------------

#: The modules whose sizes are checked: every module of the package.
SIZED = ('*',)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _function_lines(node):
    """Lines of a function, decorators included, its docstring not."""
    first = node.body[0]
    doc = 0
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        doc = first.end_lineno - first.lineno + 1
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return node.end_lineno - start + 1 - doc


def test_modules_and_functions_stay_small():
    sized = [m for m in _modules()
             if any(fnmatch.fnmatch(m, p) for p in SIZED)]
    assert '_canary_budget' in sized and 'canary' in sized
    too_long, too_big = {}, {}
    for m in sized:
        with open(os.path.join(PACKAGE, m + '.py')) as f:
            source = f.read()
        n = len(source.splitlines())
        if n > MAX_MODULE_LINES:
            too_long[m] = n
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and _function_lines(node) > MAX_FUNCTION_LINES:
                too_big['%s.%s' % (m, node.name)] = _function_lines(node)
    assert too_long == {}, 'modules over %d lines' % MAX_MODULE_LINES
    assert too_big == {}, ('functions over %d lines (docstrings excluded)'
                           % MAX_FUNCTION_LINES)


#: The C tree's limits: files and functions (from the line of the
#: signature to the closing brace in column 0).
MAX_C_FILE_LINES = 900
MAX_C_FUNCTION_LINES = 120
_C_FUNCTION = re.compile(r'^[A-Za-z_][^;{}()]*\b(\w+)\s*\([^;{}]*\)\s*\{\s*$',
                         re.M)


def _c_functions(source):
    """{name: lines} of the functions defined at file scope in a C
    source written in the house style (clang-format: the opening brace
    on the signature's last line, the closing one alone in column 0)."""
    found = {}
    lines = source.split('\n')
    # signatures may span lines: join each line with those before it up
    # to the previous blank, '}' or ';' line, and look for one ending '{'
    start = None
    for i, line in enumerate(lines):
        if start is None and re.match(r'^[A-Za-z_]', line):
            start = i
        if start is not None and line.endswith('{') and \
                not line.startswith((' ', '\t')) or (
                    start is not None and line.endswith(') {')):
            head = ' '.join(lines[start:i + 1])
            m = _C_FUNCTION.match(head)
            if m and not head.startswith(('struct', 'typedef', 'enum',
                                          'static const', 'union')):
                end = next((j for j in range(i + 1, len(lines))
                            if lines[j] == '}'), len(lines) - 1)
                found[m.group(1)] = end - start + 1
            start = None
        elif start is not None and (line == '' or line.endswith((';', '}'))
                                    or line.startswith('#')):
            start = None
    return found


def test_c_files_and_functions_stay_small():
    too_long, too_big, seen = {}, {}, 0
    for folder in ('core/src', 'core/include', 'capture', 'python/ext'):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if not name.endswith(('.c', '.h')):
                continue
            with open(os.path.join(ROOT, folder, name)) as f:
                source = f.read()
            path = folder + '/' + name
            if source.count('\n') > MAX_C_FILE_LINES:
                too_long[path] = source.count('\n')
            for fn, n in _c_functions(source).items():
                seen += 1
                if n > MAX_C_FUNCTION_LINES:
                    too_big['%s: %s' % (path, fn)] = n
    assert seen > 300, 'the function reader found %d functions' % seen
    assert too_long == {}, 'C files over %d lines' % MAX_C_FILE_LINES
    assert too_big == {}, 'C functions over %d lines' % MAX_C_FUNCTION_LINES


def test_the_c_function_reader_measures_a_function():
    source = ('/* x */\nstatic int f(int a,\n          int b) {\n'
              '    return a + b;\n}\n\nint g(void) {\n    return 0;\n}\n')
    assert _c_functions(source) == {'f': 4, 'g': 3}


def test_the_checks_find_a_circle():
    assert _cycles({'a': {'b'}, 'b': {'a'}, 'c': set()}) == [['a', 'b']]
    tree = ast.parse('def f():\n    from . import _files\n'
                     "if __name__ == '__main__':\n    from . import _cli\n")
    assert _imports(tree, {'_files', '_cli'}) == {'_files'}
