"""The exceptions objgraph raises of its own, in a module of their own so
that every other module may raise them without importing another."""


class SnapshotError(Exception):
    """A snapshot file could not be saved or loaded.

    Raised for a missing, unreadable, truncated, corrupt, foreign or
    wrong-version file, one changed while it was being loaded, and for a
    failed save (full disk, file size limit, missing directory, a path
    that names a device, FIFO, socket or directory, ...).  ``path`` is the
    file, ``reason`` the cause; the message names both.

    Also raised by ``objgraph.snapshot(fork=True)`` when the child that
    captures the heap fails (killed, crashed, out of memory, past
    ``fork_timeout``); ``path`` is then None.
    """

    __module__ = 'objgraph'

    def __init__(self, message, path=None, reason=None):
        super().__init__(message)
        self.path = path
        self.reason = reason
