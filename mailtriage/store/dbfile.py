"""The database file at the edge: owner-only folders, refusing an empty file, and every way of
failing to open or write it (full disk, damaged file, no permission) as one line saying what to do."""

from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from mailtriage.errors import StoreError

# What a write deep in a check can raise (a full disk, a damaged file): the edges catch it by this name
# and turn it into one line with store_error(), without importing sqlite3 themselves.
DatabaseFault = sqlite3.Error


def is_database_fault(exc: BaseException) -> bool:
    """The database failing (a full disk, an I/O error, a damaged file), as opposed to a message
    breaking a constraint (an IntegrityError: that message's fault, shunted like any other)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.IntegrityError)


def make_folder(folder: Path) -> None:
    """Create `folder` and any missing parent, each readable by its owner only (0700)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir(mode=0o700, exist_ok=True)
        os.chmod(each, 0o700)  # the umask may have taken bits away; never adds any


def refuse_empty(path: Path) -> None:
    """An existing 0-byte file is not a fresh start: a database does not shrink to nothing by
    itself, and treating it as new would silently throw away every thread's history."""
    wal = path.with_name(path.name + "-wal")
    if path.exists() and path.stat().st_size == 0 and not (wal.exists() and wal.stat().st_size > 0):
        raise StoreError(f"{path} is an empty file, not a database: was it truncated? {_move_aside(path)}")


def count_tables(path: Path) -> int:
    """How many tables the file at `path` has, read without a trace: immutable, so no lock is
    taken and no -wal or -shm file is left behind (for `doctor`)."""
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])


def _move_aside(path: Path) -> str:
    wal = path.with_name(path.name + "-wal")
    also = f" (and {wal} to {path}.broken-wal)" if wal.exists() else ""
    return (f"Move it aside with `mv {path} {path}.broken`{also} and run again: the next check starts a new "
            f"baseline, and the old history stays in {path}.broken")


def store_error(exc: BaseException, path: Path) -> StoreError:
    """One line for a database that cannot be opened or written: what is wrong, what to do."""
    if isinstance(exc, StoreError):
        return exc
    name = getattr(exc, "sqlite_errorname", "") or ""
    code = exc.errno if isinstance(exc, OSError) else None
    text = str(exc)
    if name == "SQLITE_FULL" or code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return StoreError(f"the disk holding {path} is full: free some space and run again "
                          "(nothing was half-written)")
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text or "not a database" in text:
        return StoreError(f"{path} is damaged ({text}). {_move_aside(path)}")
    if code == errno.EROFS or "readonly" in text or "read-only" in text:
        return StoreError(f"cannot write {path}: its file or file system is read-only; make it writable for "
                          "the user running mailtriage, or set database: in rules.yaml to a writable place")
    if code in (errno.EACCES, errno.EPERM) or name in ("SQLITE_CANTOPEN", "SQLITE_PERM") \
            or "unable to open" in text:
        return StoreError(f"cannot open {path} for writing ({_reason(exc)}): give the user running mailtriage "
                          f"write access to it and to {path.parent}, or set database: in rules.yaml elsewhere")
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return StoreError(f"cannot write {path}: disk I/O error; check the disk (free space, dmesg) and run again")
    if name.startswith("SQLITE_BUSY") or "locked" in text:
        return StoreError(f"{path} stayed locked by another process: is another mailtriage running? Run again later")
    return StoreError(f"database {path}: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    return (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
