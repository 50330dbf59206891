"""SQLite (sqlite-utils): folders' high-water marks, messages, threads, and the outbox of replies.

The file is created readable by its owner only. Times are stored as UTC ISO-8601 text, which
sorts as time does. What makes a check crash-safe lives here:
- a batch of messages, their threads, their planned replies and the folder's new high-water mark
  are written in one transaction (`record_batch`), so the mark never runs ahead of the records;
- a reply is marked `sending` (committed) before the SMTP transaction starts; after a crash a
  reply still `sending` has an unknown fate and becomes `unknown`: it is never sent again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    name TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL,
    baseline_at TEXT NOT NULL, checked_at TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY, client TEXT, sender TEXT NOT NULL, sender_name TEXT, subject TEXT,
    first_received TEXT NOT NULL, last_received TEXT NOT NULL, deadline TEXT, window TEXT,
    state TEXT NOT NULL, reason TEXT, language TEXT, acknowledged_at TEXT, answered_at TEXT
);
CREATE INDEX IF NOT EXISTS threads_state_deadline ON threads (state, deadline);
CREATE INDEX IF NOT EXISTS threads_first_received ON threads (first_received);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,
    message_id TEXT NOT NULL, thread_id TEXT, sender TEXT, sender_name TEXT, reply_to TEXT,
    subject TEXT, received_at TEXT NOT NULL, date_header TEXT, size INTEGER,
    decision TEXT NOT NULL, guard TEXT, reason TEXT, client TEXT, deadline TEXT, broken TEXT,
    UNIQUE (folder, uidvalidity, uid)
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (thread_id);
CREATE INDEX IF NOT EXISTS messages_message_id ON messages (message_id);
CREATE TABLE IF NOT EXISTS refs (message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL,
    language TEXT, state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT,
    envelope_sender TEXT, smtp_response TEXT, error TEXT, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS replies_state ON replies (state);
CREATE INDEX IF NOT EXISTS replies_sender_key ON replies (sender_key, planned_at);
"""


def iso(instant: datetime) -> str:
    """UTC ISO-8601 text, to the second: the one form of time in the database."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Mark:
    """A folder's high-water mark: everything up to `last_uid` under `uidvalidity` is recorded."""

    uidvalidity: int
    last_uid: int


class Store:
    """The database of one mailtriage instance."""

    def __init__(self, path: Path | str | None, *, create: bool = True) -> None:
        """Open (and create, mode 0600) the database at `path`; None gives an empty one in memory."""
        self.path = Path(path) if path is not None else None
        if self.path is None:
            self.db = sqlite_utils.Database(memory=True)
            self.db.conn.executescript(SCHEMA)
            return
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # owner only, from the first byte
            os.close(fd)
            os.chmod(self.path, 0o600)
        self.db = sqlite_utils.Database(self.path)
        self.db.conn.execute("PRAGMA busy_timeout = 10000")
        if create:
            self.db.conn.execute("PRAGMA journal_mode = WAL")
            self.db.conn.executescript(SCHEMA)
            self.db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def snapshot(cls, path: Path) -> Store:
        """A private in-memory copy of the database at `path` (for --dry-run: nothing is stored)."""
        store = cls(None)
        if path.exists():
            import sqlite3

            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                source.backup(store.db.conn)
            finally:
                source.close()
            store.db.conn.executescript(SCHEMA)
        return store

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.conn:
            yield

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    # --- folders ----------------------------------------------------------------------------

    def mark(self, folder: str) -> Mark | None:
        row = self.one("SELECT uidvalidity, last_uid FROM folders WHERE name = ?", [folder])
        return Mark(row["uidvalidity"], row["last_uid"]) if row else None

    def set_mark(self, folder: str, mark: Mark, now: datetime, *, baseline: bool = False) -> None:
        """Move a folder's mark; call inside the transaction that recorded its messages."""
        if baseline:
            self.db.conn.execute(
                "INSERT INTO folders (name, uidvalidity, last_uid, baseline_at, checked_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
                " last_uid = excluded.last_uid, baseline_at = excluded.baseline_at, checked_at = excluded.checked_at",
                [folder, mark.uidvalidity, mark.last_uid, iso(now), iso(now)])
        else:
            self.db.conn.execute("UPDATE folders SET last_uid = ?, checked_at = ? WHERE name = ? AND uidvalidity = ?",
                                 [mark.last_uid, iso(now), folder, mark.uidvalidity])

    # --- threads and messages -----------------------------------------------------------------

    def thread_of(self, message_ids: tuple[str, ...]) -> str | None:
        """The thread any of these Message-IDs belongs to (the nearest parent first)."""
        for message_id in message_ids:
            row = self.one("SELECT thread_id FROM refs WHERE message_id = ?", [message_id])
            if row:
                return str(row["thread_id"])
        return None

    def thread(self, thread_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM threads WHERE id = ?", [thread_id])

    def seen_message_id(self, message_id: str) -> bool:
        return self.one("SELECT 1 AS x FROM messages WHERE message_id = ? LIMIT 1", [message_id]) is not None

    def insert_thread(self, row: dict[str, Any]) -> None:
        self.db.table("threads").insert(row)
        self.add_ref(row["id"], row["id"])

    def touch_thread(self, thread_id: str, received: datetime) -> None:
        self.db.conn.execute("UPDATE threads SET last_received = max(last_received, ?) WHERE id = ?",
                             [iso(received), thread_id])

    def add_ref(self, message_id: str, thread_id: str) -> None:
        self.db.conn.execute("INSERT OR IGNORE INTO refs (message_id, thread_id) VALUES (?, ?)",
                             [message_id, thread_id])

    def insert_message(self, row: dict[str, Any]) -> None:
        self.db.table("messages").insert(row)

    # --- the outbox ---------------------------------------------------------------------------

    def plan_reply(self, row: dict[str, Any]) -> None:
        """Write a reply as planned; same transaction as its message. The thread is acknowledged."""
        self.db.table("replies").insert({**row, "state": "planned"})
        self.add_ref(row["message_id"], row["thread_id"])
        self.db.conn.execute("UPDATE threads SET acknowledged_at = ? WHERE id = ?",
                             [row["planned_at"], row["thread_id"]])

    def recent_reply_to(self, sender_key: str, since: datetime, limit: int = 1) -> bool:
        """True when `limit` replies to this sender were planned since `since`."""
        row = self.one("SELECT count(*) AS n FROM replies WHERE sender_key = ? AND planned_at >= ?",
                       [sender_key, iso(since)])
        return bool(row and row["n"] >= limit)

    def give_up_unknown(self) -> int:
        """Replies left `sending` by a crash may have gone out: never send them again."""
        with self.transaction():
            cursor = self.db.conn.execute(
                "UPDATE replies SET state = 'unknown', error = 'fate unknown after an interrupted send'"
                " WHERE state = 'sending'")
        return cursor.rowcount

    def pending_replies(self, now: datetime, retry_for: timedelta) -> list[dict[str, Any]]:
        """Planned replies still worth sending: their thread is open and they are not stale."""
        with self.transaction():
            self.db.conn.execute(
                "UPDATE replies SET state = 'expired' WHERE state = 'planned' AND (planned_at < ? OR thread_id IN"
                " (SELECT id FROM threads WHERE state NOT IN ('open', 'overdue')))", [iso(now - retry_for)])
        return list(self.db.query("SELECT * FROM replies WHERE state = 'planned' ORDER BY id"))

    def reply_state(self, reply_id: int, state: str, now: datetime, **fields: Any) -> None:
        stamp = {"sending": "attempted_at", "sent": "sent_at"}.get(state)
        values = {"state": state, **fields, **({stamp: iso(now)} if stamp else {})}
        with self.transaction():
            self.db.table("replies").update(reply_id, values)
