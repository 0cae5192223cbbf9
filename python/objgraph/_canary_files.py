"""The canary's files: their names, and the rotation that keeps ``keep``.

Each round writes ``snapshot-<UTC time>-<pid>-<sequence>.hgsnap`` and
``report-...json`` into the canary's directory, and replaces
``latest-report.json``; :func:`rotate` deletes the oldest files of each
kind beyond ``keep``, never a file named otherwise.
"""

import os
import re

LATEST_REPORT = 'latest-report.json'
SNAPSHOT_PREFIX = 'snapshot-'
REPORT_PREFIX = 'report-'

# The names a round gives the canary's files, whichever run or process wrote
# them: prefix, UTC date and time, pid, sequence number.  Rotation deletes
# only files named so (never a temporary file of a save in progress,
# "NAME.tmp-XXXXXXXX", nor anything a user put there).
_STAMP = r'(\d{8}-\d{6})-(\d+)-(\d+)'
SNAPSHOT_NAME = re.compile(re.escape(SNAPSHOT_PREFIX) + _STAMP
                           + re.escape('.hgsnap'))
REPORT_NAME = re.compile(re.escape(REPORT_PREFIX) + _STAMP
                         + re.escape('.json'))


def rotate(files, path_of, pattern, keep, directory, report):
    """Keep at most ``keep`` canary files of one kind in ``directory``.

    ``files`` is this canary's window of that kind, oldest first
    (``path_of`` gives an entry's path; the newest is written, or about
    to be), ``pattern`` the names the canary gives that kind.  The
    window is trimmed to ``keep``, the files leaving it deleted; then
    the oldest other files named by ``pattern`` -- left by earlier
    runs, or by other processes -- are deleted until ``keep`` remain,
    counting the window's files still there.  A file of the window is
    never deleted for another's sake (the window is the analysis), and
    a file named otherwise is never touched.
    """
    while len(files) > keep:
        _delete(path_of(files.popleft()), report)
    if not files:
        return
    mine = {os.path.basename(path_of(f)) for f in files}
    present = canary_files(directory, pattern)
    others = [name for name in present if name not in mine]
    n_mine = len({name for name in present if name in mine}
                 | {os.path.basename(path_of(files[-1]))})
    for name in others[:max(0, len(others) + n_mine - keep)]:
        _delete(os.path.join(directory, name), report)


def _delete(path, report):
    try:
        os.remove(path)
    except FileNotFoundError:  # gone already (another canary's rotation)
        pass
    except OSError as e:
        report['errors'].append('cannot delete %r: %s'
                                % (path, e.strerror or e))


def remove(path):
    """Delete ``path`` if it can be (errors ignored)."""
    try:
        os.remove(path)
    except OSError:
        pass


def canary_files(directory, pattern):
    """The names of the regular files (not links) in ``directory`` that
    ``pattern`` matches, oldest first: by the UTC time in the name, then
    the time of the last write, pid and sequence number (two runs within
    one second)."""
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                m = pattern.fullmatch(entry.name)
                if m is None:
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    mtime = entry.stat(follow_symlinks=False).st_mtime_ns
                except OSError:  # deleted meanwhile
                    continue
                found.append((m.group(1), mtime, int(m.group(2)),
                              int(m.group(3)), entry.name))
    except OSError:  # the directory is gone: the save reports that
        return []
    found.sort()
    return [row[-1] for row in found]
