"""Running graphviz on DOT text: where the text goes (a file, an
``output`` stream, a ``graphviz.Source`` in a notebook), which layout
engine lays it out (``dot``, or ``sfdp`` for big drawings, with the
attributes :func:`sfdp_args` chooses), graphviz's runs with their timeout,
and the messages objgraph prints about them, word for word.
:func:`draw_chain` draws a retention path into a file for the command
line, the demo and the report, and says whether it did."""

import builtins
import contextlib
import contextvars
import io
import os
import subprocess
import sys
import tempfile

#: Drawings with more nodes than this are laid out by ``sfdp``, not ``dot``.
LARGE_GRAPH_NODES = 500

#: Seconds a graphviz run may take before it is killed.
LAYOUT_TIMEOUT = 600

#: Command-line attributes for ``sfdp`` on big graphs.  The quadtree makes
#: the force computation O(n log n) with a coarse approximation; straight
#: edges skip the spline pass; small fonts keep the labels inside the
#: smaller boxes.  Overlaps are removed (``overlap=prism``, so that every
#: box can be read) up to :data:`SFDP_OVERLAP_REMOVAL_NODES` nodes; past
#: that, removing them costs more than the layout itself (measured here:
#: 5k nodes, 12 s with it, 1.4 s without; ~4x on 20k nodes), and is left
#: out (``overlap=true``).
SFDP_ARGS = (
    '-Gquadtree=fast',
    '-Gsplines=false',
    '-Goutputorder=edgesfirst',
    '-Nfontsize=8',
    '-Efontsize=6',
    '-Earrowsize=0.5',
)

#: Up to this many nodes, sfdp removes overlaps between boxes.
SFDP_OVERLAP_REMOVAL_NODES = 2000


def sfdp_args(nodes):
    """The sfdp command-line attributes for a drawing of ``nodes``."""
    overlap = 'prism' if nodes <= SFDP_OVERLAP_REMOVAL_NODES else 'true'
    return SFDP_ARGS + ('-Goverlap=' + overlap,)

#: ``sfdp`` attributes for type graphs: a few dozen big boxes, where
#: removing overlaps is cheap and makes the labels readable.
TYPE_GRAPH_SFDP_ARGS = (
    '-Goverlap=prism',
    '-Gsep=+6',
    '-Gsplines=true',
    '-Earrowsize=0.7',
    '-Efontsize=9',
)

_LAYOUTS = (None, 'dot', 'sfdp')


def detect_interactive():
    """True inside an IPython kernel that can show graphviz output inline.

    Text-only shells (IPython's terminal, PyCharm's console) do not count.
    objgraph 3.x decides once, at import, and so does the package:
    :data:`objgraph.IS_INTERACTIVE` holds the answer.
    """
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    get_ipython = getattr(builtins, 'get_ipython', None)  # set by IPython
    if get_ipython is None:
        return False
    return 'TerminalInteractiveShell' not in type(get_ipython()).__name__


def _is_interactive():
    """objgraph 3.x's public switch, ``objgraph.IS_INTERACTIVE``, read at
    each drawing as objgraph 3.7.0 reads its global: True makes a drawing
    with neither ``filename`` nor ``output`` return a ``graphviz.Source``.
    """
    return sys.modules[__package__].IS_INTERACTIVE


# -- Where the DOT text goes ---------------------------------------------

def _open_dot(filename, output):
    """Where the DOT text goes: (file, its name or None, is_interactive)."""
    if filename and output:
        raise ValueError('Cannot specify both output and filename.')
    if output:
        return output, None, False
    if filename and filename.endswith('.dot'):
        # newline='': '\n' as written on every platform, like codecs.open.
        return open(filename, 'w', encoding='utf-8', newline=''), \
            filename, False
    if _is_interactive() and not filename:
        return io.StringIO(), None, True
    fd, dot_filename = tempfile.mkstemp(prefix='objgraph-', suffix='.dot',
                                        text=True)
    return open(fd, 'w', encoding='utf-8'), dot_filename, False


def _emit(write, filename, output, engine_of=lambda nodes: 'dot',
          sfdp_args_of=None):
    """Write a drawing's DOT text -- ``write(f)`` returns its number of
    nodes -- and hand it on as objgraph does: into ``output`` and no more;
    as a ``graphviz.Source`` (returned) in an IPython kernel; else to a
    DOT file graphviz renders (:func:`present_graph`), after printing
    "Graph written to ...".  ``engine_of(nodes)`` picks the layout engine,
    ``sfdp_args_of(nodes)`` its sfdp attributes (None: the default)."""
    f, dot_filename, interactive = _open_dot(filename, output)
    try:
        nodes = write(f)
    finally:
        if f is not output and not interactive:
            f.close()
    if output:
        return None
    engine = engine_of(nodes)
    if interactive:
        import graphviz
        return graphviz.Source(f.getvalue(), engine=engine)
    print('Graph written to %s (%d nodes)' % (dot_filename, nodes))
    kw = {} if sfdp_args_of is None else {'sfdp_args': sfdp_args_of(nodes)}
    failure = present_graph(dot_filename, filename, engine=engine, **kw)
    outcomes = _outcomes.get()
    if outcomes is not None:
        outcomes.append(failure)
    return None


# What present_graph said for each drawing made inside draw_chain (None:
# done): the public show_* functions return what objgraph's return, so the
# outcome cannot travel back to draw_chain as their value.
_outcomes = contextvars.ContextVar('objgraph_draw_outcomes', default=None)


# -- Running graphviz ------------------------------------------------------

def _program_in_path(program):
    """Whether a file named ``program`` is in a directory of $PATH."""
    path = os.environ.get('PATH', os.defpath).split(os.pathsep)
    return any(os.path.isfile(os.path.join(d, program))
               or os.path.isfile(os.path.join(d, program) + '.exe')
               for d in path)


def _engine(nodes, layout):
    if layout is not None:
        return layout
    return 'sfdp' if nodes > LARGE_GRAPH_NODES else 'dot'


def present_graph(dot_filename, filename=None, *, engine='dot',
                  sfdp_args=SFDP_ARGS + ('-Goverlap=true',)):
    """Show the DOT file ``dot_filename`` as the user asked.

    With ``filename``, graphviz writes it in the format its extension names
    (nothing to do if it is the DOT file itself).  Without, ``xdot`` is
    spawned on the DOT file, or if there is no xdot a PNG is made beside
    it.  ``engine`` is the graphviz layout, ``"dot"`` or ``"sfdp"``; sfdp
    runs as ``dot -Ksfdp`` plus ``sfdp_args`` (see :func:`sfdp_args`), so
    only ``dot`` needs to be installed, as with objgraph.

    Prints what it does, as objgraph does, and returns None when done
    (the image written, or the viewer spawned), else the line it printed
    saying why not.
    """
    if filename == dot_filename:
        return None
    if not filename and _program_in_path('xdot'):
        print('Spawning graph viewer (xdot)')
        cmd = ['xdot', dot_filename]
        if engine != 'dot':
            cmd[1:1] = ['-f', engine]
        subprocess.Popen(cmd, close_fds=True)
        return None
    if _program_in_path('dot'):
        if not filename:
            print('Graph viewer (xdot) not found, generating a png instead')
            filename = dot_filename[:-4] + '.png'
        ext = os.path.splitext(filename)[1]
        cmd = ['dot', '-T' + ext[1:], '-o' + filename, dot_filename]
        if engine != 'dot':
            cmd[1:1] = ['-K' + engine] + list(sfdp_args)
        return _run_graphviz(cmd, filename)
    if not filename:
        return _say('Graph viewer (xdot) and image renderer (dot) not '
                    'found, not doing anything else')
    return _say('Image renderer (dot) not found, not doing anything else')


def _say(text):
    """Print ``text`` and return it: a failure present_graph reports."""
    print(text)
    return text


def _run_graphviz(cmd, filename):
    """Run graphviz's ``cmd`` writing ``filename``: None when it did,
    else the line printed saying why not."""
    proc = subprocess.Popen(cmd, close_fds=False)
    try:
        returncode = proc.wait(timeout=LAYOUT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return _say('dot timed out after %g seconds while executing "%s"'
                    % (LAYOUT_TIMEOUT, ' '.join(cmd)))
    if returncode != 0:
        return _say('dot failed (exit code %d) while executing "%s"'
                    % (returncode, ' '.join(cmd)))
    print('Image generated as %s' % filename)
    return None


# -- A retention path, into a file ----------------------------------------

def draw_chain(snap, chain, image):
    """Draw ``chain`` with ``snap.show_chain`` into the file ``image``
    (its extension names the format; ``.dot``: the DOT text itself), for
    the command line, the demo and the report.  Returns ``(image, None)``
    once drawn, else ``(None, why not)``: the one line graphviz's runner
    said (:func:`present_graph`).  What the drawing prints is not shown."""
    outcomes = []
    token = _outcomes.set(outcomes)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            snap.show_chain(chain, filename=image)
    finally:
        _outcomes.reset(token)
    failure = outcomes[-1] if outcomes else 'graphviz failed'
    return (image, None) if failure is None else (None, failure)
