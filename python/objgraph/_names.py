"""Type names as objgraph 3.x spells them, and argument checks.

Names come from ``type(obj)``, never ``obj.__class__`` (which
``mock.Mock(spec=...)`` proxies).
"""

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


def check_limit(limit, arg='limit'):
    """None or 0 mean "no limit", as in objgraph 3.x."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
        raise TypeError('%s must be an int or None, not %s'
                        % (arg, type(limit).__name__))
    if limit < 0:
        raise ValueError('%s must be >= 0 or None, not %d' % (arg, limit))


def check_depth(max_depth):
    if isinstance(max_depth, bool) or not isinstance(max_depth,
                                                     numbers.Integral):
        raise TypeError('max_depth must be an int, not %s'
                        % type(max_depth).__name__)
    if max_depth < 0:
        raise ValueError('max_depth must be >= 0, not %d' % max_depth)


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
