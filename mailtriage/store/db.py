"""The database file: opening and creating it (owner-only, WAL), and `Store`, the one object callers hold.

`Store` is the repositories together (marks, threads, messages, replies, reminders) over one connection;
the reports are functions in `store.reports`. What makes a check crash-safe lives in the store:
- a batch of messages, their threads, their planned replies and the folder's new high-water mark
  are written in one transaction, so the mark never runs ahead of the records;
- a reply is marked `sending` (committed) before the SMTP transaction starts (see `store.replies`).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from mailtriage.core.models import DEFAULT_ACCOUNT
from mailtriage.errors import StoreError
from mailtriage.store import migrations
from mailtriage.store.dbfile import make_folder, refuse_empty, store_error
from mailtriage.store.marks import Marks
from mailtriage.store.messages import Messages
from mailtriage.store.migrations import SCHEMA_VERSION
from mailtriage.store.privacy import Privacy
from mailtriage.store.reminders import Reminders
from mailtriage.store.replies import Replies
from mailtriage.store.rows import Mark, Reply, from_iso, iso
from mailtriage.store.threads import Threads

__all__ = ["SCHEMA_VERSION", "Mark", "Reply", "Store", "from_iso", "iso", "open_database"]


def open_database(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open the database file at `path`, creating it (and its folders) owner-only when `create`."""
    try:
        if create:
            make_folder(path.parent)
            try:
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))  # owner only, from byte one
            except FileExistsError:
                refuse_empty(path)
            os.chmod(path, 0o600)
        else:
            refuse_empty(path)
        conn = sqlite3.connect(path, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise store_error(exc, path) from None
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA secure_delete = ON")  # a deleted or shortened record's bytes are overwritten
        conn.execute("PRAGMA schema_version").fetchone()  # reads the header: a damaged file fails here
        if create:
            conn.execute("PRAGMA journal_mode = WAL")
            _owner_only(path)
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(exc, path) from None
    return conn


def _owner_only(path: Path) -> None:
    """The WAL and SHM files hold the same records as the database: owner-only too, also when an older
    version or a copy left them readable by others (SQLite gives new ones the database file's mode)."""
    for suffix in ("-wal", "-shm"):
        journal = path.with_name(path.name + suffix)
        try:
            if journal.stat().st_mode & 0o077:
                os.chmod(journal, 0o600)
        except OSError:
            pass  # not there, or not ours to change: doctor says so


class Store(Marks, Threads, Messages, Replies, Reminders, Privacy):
    """The database of one mailtriage instance."""

    def __init__(self, path: Path | str | None, *, create: bool = True, account: str = DEFAULT_ACCOUNT) -> None:
        """Open (and create: folder 0700, file 0600) the database at `path`; None gives an empty one
        in memory. A failure is one StoreError line saying what to do. The store reads and writes
        the records of `account` (reports read every account's)."""
        self.path = Path(path) if path is not None else None
        self.account = account
        if self.path is None:
            self.conn = sqlite3.connect(":memory:")
            self._prepare()
            self.migrate()
            return
        if create and not self.path.exists():
            self._create(self.path)
        self.conn = open_database(self.path, create=create)
        self._prepare()
        if create:
            try:
                self.migrate()
            except sqlite3.Error as exc:
                self.conn.close()
                raise store_error(exc, self.path) from None

    @classmethod
    def _create(cls, path: Path) -> None:
        """A new database is built under a temporary name and renamed into place when complete:
        a crash while it is made leaves no empty or half-made file where the database belongs."""
        building = path.with_name(f".{path.name}.new-{os.getpid()}")
        building.unlink(missing_ok=True)
        new = cls.__new__(cls)
        try:
            new.path, new.conn = building, open_database(building, create=True)
        except StoreError as exc:  # say it of the database, not of its temporary name
            raise StoreError(str(exc).replace(str(building), str(path))) from None
        new._prepare()
        try:
            new.migrate()
        except sqlite3.Error as exc:
            new.close()
            for leftover in (building, building.with_name(building.name + "-wal")):
                leftover.unlink(missing_ok=True)
            raise store_error(exc, path) from None
        new.close()  # the last connection to close checkpoints the WAL into the file
        os.replace(building, path)

    @classmethod
    def snapshot(cls, path: Path, account: str = DEFAULT_ACCOUNT) -> Store:
        """A private in-memory copy of the database at `path` (for --dry-run: nothing is stored)."""
        store = cls(None, account=account)
        if path.exists():
            try:
                refuse_empty(path)
                source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    source.backup(store.conn)
                finally:
                    source.close()
                store.migrate()
            except (sqlite3.Error, OSError) as exc:
                store.close()
                raise store_error(exc, path) from None
        return store

    def migrate(self) -> None:
        """Create the schema, or bring an older database up to SCHEMA_VERSION, in one transaction."""
        with self.transaction():
            migrations.apply(self.conn, self.path)
