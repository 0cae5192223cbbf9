"""architecture.py -- draw the layers of the source tree as they are.

    python3 tools/architecture.py [--dot FILE] [--png FILE]

Reads the tree, not a description of it: the modules of python/objgraph
and what each imports from the others (lazy imports inside functions
included; a module split in parts, ``_leaks`` and ``_leaks_rows``, is
one box naming its parts), which of them call the C extension, and which
of the C
layers -- python/ext (the extension's bindings), capture/ (the heap
walk), core/ (the engine) -- include which public header.  Writes the
DOT text (--dot, or standard output) and, with --png, the picture
graphviz's ``dot`` draws from it: docs/architecture.rst shows it, and
``make docs`` redraws it (``make test`` draws it into build/).

An arrow A -> B means A imports or includes B: every arrow points down
the page, and a circle would show as an arrow pointing up.
"""

import argparse
import ast
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'python', 'objgraph')
C_LAYERS = [
    # (directory, name on the picture, its public header, what it is)
    ('python/ext', 'objgraph._heapgraph', None,
     'python/ext: the bindings\\n(arguments in, results out)'),
    ('capture', 'capture', 'capture.h',
     'capture/: the heap walk\\n(the only C that reads the interpreter)'),
    ('core', 'core', 'heapgraph.h',
     'core/: the engine, C11 + OpenMP\\n(no Python: graph, kernels, files)'),
]


def _is_main_guard(node):
    """``if __name__ == ...:`` -- a module run as a script may call what is
    above it (demo.py runs the command line that imports it)."""
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == '__name__')


def imports(tree, modules):
    """The package modules a module's source imports (anywhere but under
    a ``__main__`` guard, lazy imports inside functions included); the
    package itself counts as ``__init__``.  tests/python/test_layers.py
    checks the package's circles with it."""
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


def python_layer():
    """{module: set of sibling modules it imports}, for every module of
    python/objgraph (``_heapgraph`` is the C extension)."""
    modules = sorted(name[:-3] for name in os.listdir(PACKAGE)
                     if name.endswith('.py'))
    graph = {}
    for m in modules:
        with open(os.path.join(PACKAGE, m + '.py')) as f:
            tree = ast.parse(f.read())
        graph[m] = imports(tree, set(modules) | {'_heapgraph'}) - {m}
    return graph


def family(module):
    """The module a part belongs to: ``_leaks_rows`` -> ``_leaks``,
    ``_canary_budget`` -> ``canary``; a module is its own family."""
    if module.startswith('__'):
        return module
    head = module.lstrip('_').split('_')[0]
    for name in ('_' + head, head):
        if name != module and os.path.exists(
                os.path.join(PACKAGE, name + '.py')):
            return name
    return module


def families(graph):
    """The module graph with each family's parts folded into it:
    ({family: sorted parts}, {family: set of families it imports})."""
    parts, deps = {}, {}
    for m, imported in graph.items():
        f = family(m)
        parts.setdefault(f, [])
        if f != m:
            parts[f].append(m)
        deps.setdefault(f, set()).update(
            d if d == '_heapgraph' else family(d) for d in imported)
    for f in deps:
        deps[f].discard(f)
    return {f: sorted(p) for f, p in parts.items()}, deps


def c_includes(directory):
    """The quoted #include names of a C layer's files."""
    found = set()
    top = os.path.join(ROOT, directory)
    for dirpath, _, names in os.walk(top):
        for name in names:
            if name.endswith(('.c', '.h')):
                with open(os.path.join(dirpath, name)) as f:
                    found.update(re.findall(r'^#include\s+["<]([^">]+)[">]',
                                            f.read(), re.M))
    return found


def c_files(directory):
    top = os.path.join(ROOT, directory)
    return sum(1 for _, _, names in os.walk(top) for n in names
               if n.endswith(('.c', '.h')))


def dot_text():
    """The DOT text of the picture."""
    parts, py = families(python_layer())
    lines = ['digraph architecture {', '  rankdir=TB;',
             '  node [shape=box, fontname="Helvetica", fontsize=11];',
             '  edge [color="#555555", arrowsize=0.6];',
             '  subgraph cluster_python {',
             '    label="python/objgraph: the objgraph 3.x API, snapshots, '
             'leak analyses, drawing, files, CLI";',
             '    fontname="Helvetica"; fontsize=12; style=rounded;']
    for m in sorted(py):
        label = m
        if parts[m]:  # its parts, named by what follows the family's name
            names = [p[len(m.lstrip('_')) + 1:].lstrip('_') if
                     p.lstrip('_').startswith(m.lstrip('_')) else p
                     for p in parts[m]]
            label = '%s\\n+ %s' % (m, ', '.join(n.lstrip('_')
                                                  for n in names))
        lines.append('    "%s" [label="%s"];' % (m, label))
    lines.append('  }')
    for directory, name, _, label in C_LAYERS:
        lines.append('  "%s" [label="%s\\n%d files", style=filled, '
                     'fillcolor="#eef3fb"];' % (name, label,
                                                c_files(directory)))
    for m in sorted(py):
        for d in sorted(py[m]):
            target = 'objgraph._heapgraph' if d == '_heapgraph' else d
            lines.append('  "%s" -> "%s";' % (m, target))
    # a C layer -> a lower one whose public header it includes
    for directory, name, _, _ in C_LAYERS:
        incs = c_includes(directory)
        for _, other, header, _ in C_LAYERS:
            if other != name and header and header in incs:
                lines.append('  "%s" -> "%s" [penwidth=2];' % (name, other))
    lines.append('}')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--dot', help='write the DOT text here (default: '
                   'standard output, unless --png is given)')
    p.add_argument('--png', help='draw the picture here with graphviz')
    args = p.parse_args(argv)
    text = dot_text()
    if args.dot:
        with open(args.dot, 'w') as f:
            f.write(text)
    elif not args.png:
        sys.stdout.write(text)
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)),
                    exist_ok=True)
        run = subprocess.run(['dot', '-Tpng', '-Gdpi=80', '-o', args.png],
                             input=text, text=True, capture_output=True)
        if run.returncode != 0:
            sys.exit('architecture.py: dot failed on the picture: %s'
                     % run.stderr.strip())
    return 0


if __name__ == '__main__':
    sys.exit(main())
