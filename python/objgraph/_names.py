"""Type names as objgraph 3.x spells them, and argument checks.

Names come from ``type(obj)``, never ``obj.__class__`` (which
``mock.Mock(spec=...)`` proxies).
"""

import collections
import inspect
import numbers
import sys


def short_typename(obj):
    """``type(obj).__name__``."""
    return type(obj).__name__


def long_typename(obj):
    """``'module.Name'``, or just ``'Name'`` for types without a module."""
    objtype = type(obj)
    name = objtype.__name__
    module = getattr(objtype, '__module__', None)
    if module:
        return '%s.%s' % (module, name)
    return name


def typename_func(shortnames):
    return short_typename if shortnames else long_typename


def distinct_names(full_names):
    """{full type name: the name a table prints}: the short name (the
    type's ``__name__``), or the full one when another type among
    ``full_names`` has the same short name -- two classes named Request
    print as 'appa.Request' and 'appb.Request', never as one row."""
    full_names = set(full_names)
    shorts = collections.Counter(name.rsplit('.', 1)[-1]
                                 for name in full_names)
    return {name: name.rsplit('.', 1)[-1]
            if shorts[name.rsplit('.', 1)[-1]] == 1 else name
            for name in full_names}


def human_size(n):
    """Bytes for people: '512 B', '3.4 KiB', '18.8 MiB'."""
    if n < 0:
        return '-' + human_size(-n)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if n < 1024:
            return '%d %s' % (n, unit) if unit == 'B' else '%.1f %s' % (
                n, unit)
        n /= 1024.0
    return '%.1f TiB' % n


def plural(n, noun, signed=False):
    """``n`` and ``noun``, plural unless n is 1 or -1: '1 object',
    '2 objects', '+1 object' when ``signed``.  For the text of our own
    analyses; what must be objgraph 3.7.0's text keeps its words."""
    return '%s %s%s' % ('%+d' % n if signed else '%d' % n, noun,
                        '' if abs(n) == 1 else 's')


def check_typename(typename):
    if not isinstance(typename, str):
        raise TypeError('typename must be a str (a short or fully qualified '
                        'type name), not %s' % type(typename).__name__)


def check_callable(value, arg, optional=False):
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError('%s must be callable, not %s'
                        % (arg, type(value).__name__))


def check_type(value, arg, kind, what, optional=False):
    """TypeError naming ``arg`` unless ``value`` is an instance of
    ``kind`` (never a bool: True is no number here), or None when
    ``optional``.  ``what`` says what ``kind`` is: 'an int'."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError('%s must be %s%s, not %s'
                        % (arg, what, ' or None' if optional else '',
                           type(value).__name__))


def check_limit(limit, arg='limit'):
    """The ``limit`` of the analyses objgraph 3.x does not have: an int
    >= 0, or None; None or 0 mean "no limit", as in objgraph 3.x.

    objgraph 3.x's own functions (``most_common_types``, ``growth``,
    ``get_new_ids``...) check nothing: they slice ``rows[:limit]`` as
    objgraph 3.7.0 does, negative limits and its TypeError included."""
    check_type(limit, arg, numbers.Integral, 'an int', optional=True)
    if limit is not None and limit < 0:
        raise ValueError('%s must be >= 0 or None, not %d' % (arg, limit))


def check_depth(max_depth):
    check_type(max_depth, 'max_depth', numbers.Integral, 'an int')
    if max_depth < 0:
        raise ValueError('max_depth must be >= 0, not %d' % max_depth)


def check_sizes(sizes):
    """``sizes`` of :func:`objgraph.snapshot`: 'c' or 'python'."""
    if not isinstance(sizes, str) or sizes not in ('c', 'python'):
        raise ValueError("sizes must be 'c' or 'python', not %r" % (sizes,))


def is_proper_module(obj):
    """
    Returns ``True`` if ``obj`` can be treated like a garbage collector root.

    That is, if ``obj`` is a module that is in ``sys.modules``.

    >>> import types
    >>> is_proper_module([])
    False
    >>> is_proper_module(types)
    True
    >>> is_proper_module(types.ModuleType('foo'))
    False

    .. versionadded:: 1.8
    """
    return (
        inspect.ismodule(obj)
        and obj is sys.modules.get(getattr(obj, '__name__', None))
    )
