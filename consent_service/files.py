"""Private files on the local disk: the data directory, SQLite's files, the local vault.

Everything under the data directory is readable by the service's user alone: directories are
0700 and files 0600, whatever the process umask. Explicit modes are set at creation (the
umask can only take bits away) and tightened on anything found looser (a data directory made
by hand, a database copied in, files left by an older version).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600

log = logging.getLogger(__name__)


def private_directory(path: Path) -> Path:
    """Create `path` (and missing parents) and make the directory itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int) -> None:
    """Remove any permission bit for group and others from `path`, if it exists.

    A file or directory the service does not own cannot be changed: that is logged, not
    raised, since the service can still run (the operator is told what to fix).
    """
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077 == 0:
        return
    try:
        os.chmod(path, mode)
    except PermissionError:
        log.warning("cannot make private: %s has mode %o, chmod %o it", path, current, mode)


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600 unless it exists (its parent must exist)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def fsync_directory(path: Path) -> None:
    """Make the directory's entries (a rename, a new or removed name) survive power loss."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
