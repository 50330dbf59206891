"""SQLite (sqlite-utils): folders' high-water marks, messages, threads, and the outbox of replies.

The file is created readable by its owner only. Times are stored as UTC ISO-8601 text, which
sorts as time does. What makes a check crash-safe lives here:
- a batch of messages, their threads, their planned replies and the folder's new high-water mark
  are written in one transaction (`record_batch`), so the mark never runs ahead of the records;
- a reply is marked `sending` (committed) before the SMTP transaction starts; after a crash a
  reply still `sending` has an unknown fate and becomes `unknown`: it is never sent again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mailtriage.errors import StoreError
from mailtriage.store.dbfile import make_folder, refuse_empty, store_error
from mailtriage.store.rows import MessageRecord, ReplyRecord, ThreadRecord

# sqlite-utils imports numpy when it is installed, only to map numpy values we never store; that
# would add 15 MB and 0.1 s to every check. Keep numpy out of this import unless already loaded.
_numpy_was_loaded = "numpy" in sys.modules
if not _numpy_was_loaded:
    sys.modules["numpy"] = None  # type: ignore[assignment]
try:
    import sqlite_utils
finally:
    if not _numpy_was_loaded:
        del sys.modules["numpy"]

SCHEMA_VERSION = 3
# What each version adds to the one before; a new database is made from SCHEMA at once.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE messages ADD COLUMN hits TEXT",
        # replies: attempts counted, and one reply per message *within its thread* (SQLite changes a
        # constraint only by copying the table)
        "ALTER TABLE replies RENAME TO replies_v1",
        "CREATE TABLE replies (id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL,"
        " message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL, language TEXT,"
        " state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT, envelope_sender TEXT,"
        " smtp_response TEXT, error TEXT, data BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (thread_id, in_reply_to))",
        "INSERT INTO replies (id, thread_id, in_reply_to, message_id, recipient, sender_key, language, state,"
        " planned_at, attempted_at, sent_at, envelope_sender, smtp_response, error, data) SELECT id, thread_id,"
        " in_reply_to, message_id, recipient, sender_key, language, state, planned_at, attempted_at, sent_at,"
        " envelope_sender, smtp_response, error, data FROM replies_v1",
        "DROP TABLE replies_v1",
        "CREATE INDEX replies_state ON replies (state)",
        "CREATE INDEX replies_sender_key ON replies (sender_key, planned_at)"),
    # `mailtriage explain`: the window a message was judged by, and why its reply went where it went.
    3: ("ALTER TABLE messages ADD COLUMN window TEXT",
        "ALTER TABLE replies ADD COLUMN reply_via TEXT",
        "ALTER TABLE replies ADD COLUMN recipient_reason TEXT"),
}
UTC_ZONE = ZoneInfo("UTC")

SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    name TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL,
    baseline_at TEXT NOT NULL, checked_at TEXT, highestmodseq INTEGER
);
-- A thread's current period runs from opened_at (its first message, or the message that reopened
-- it) to answered_at; every answered period is kept in `answers` for the statistics.
CREATE TABLE IF NOT EXISTS threads (
    number INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, client TEXT, sender TEXT NOT NULL,
    sender_name TEXT, subject TEXT, first_received TEXT NOT NULL, last_received TEXT NOT NULL,
    opened_at TEXT NOT NULL, deadline TEXT, window TEXT, state TEXT NOT NULL, reason TEXT, language TEXT,
    acknowledged_at TEXT, answered_at TEXT, answered_via TEXT, response_seconds REAL,
    response_business_seconds REAL, overdue_at TEXT, snoozed_from TEXT, closed_at TEXT
);
CREATE INDEX IF NOT EXISTS threads_state_deadline ON threads (state, deadline);
CREATE INDEX IF NOT EXISTS threads_first_received ON threads (first_received);
CREATE INDEX IF NOT EXISTS threads_client_opened ON threads (client, opened_at);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, client TEXT, opened_at TEXT NOT NULL, deadline TEXT,
    answered_at TEXT NOT NULL, via TEXT NOT NULL, response_seconds REAL NOT NULL,
    business_seconds REAL NOT NULL, within_window INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_answered_at ON answers (answered_at);
CREATE INDEX IF NOT EXISTS answers_client_opened ON answers (client, opened_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,
    message_id TEXT NOT NULL, thread_id TEXT, sender TEXT, sender_name TEXT, reply_to TEXT,
    subject TEXT, received_at TEXT NOT NULL, date_header TEXT, size INTEGER,
    decision TEXT NOT NULL, guard TEXT, reason TEXT, client TEXT, deadline TEXT, broken TEXT,
    flagged_by_us INTEGER NOT NULL DEFAULT 0, hits TEXT, window TEXT,
    UNIQUE (folder, uidvalidity, uid)
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (thread_id);
CREATE INDEX IF NOT EXISTS messages_message_id ON messages (message_id);
CREATE TABLE IF NOT EXISTS refs (message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL);
-- One reply per message: a message is its Message-ID within its thread (the same id from two
-- senders is two messages, in two threads).
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL,
    language TEXT, state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT,
    envelope_sender TEXT, smtp_response TEXT, error TEXT, data BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, reply_via TEXT, recipient_reason TEXT, UNIQUE (thread_id, in_reply_to)
);
CREATE INDEX IF NOT EXISTS replies_state ON replies (state);
CREATE INDEX IF NOT EXISTS replies_sender_key ON replies (sender_key, planned_at);
"""


def _statements(script: str) -> list[str]:
    """A script split into complete statements (semicolons inside comments are not ends)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _text(value: Any) -> Any:
    """Text SQLite can store: a surrogate escape (a raw 8-bit header byte) becomes U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def iso(instant: datetime) -> str:
    """UTC ISO-8601 text, to the second: the one form of time in the database."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def open_database(path: Path, *, create: bool = True) -> sqlite_utils.Database:
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
        db = sqlite_utils.Database(path)
    except (sqlite3.Error, OSError) as exc:
        raise store_error(exc, path) from None
    try:
        db.conn.execute("PRAGMA busy_timeout = 10000")
        db.conn.execute("PRAGMA schema_version").fetchone()  # reads the header: a damaged file fails here
        if create:
            db.conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as exc:
        db.conn.close()
        raise store_error(exc, path) from None
    return db


@dataclass(frozen=True)
class Reply:
    """A holding reply taken from the outbox for sending."""

    id: int
    recipient: str
    data: bytes
    attempts: int


@dataclass(frozen=True)
class Mark:
    """A folder's high-water mark: everything up to `last_uid` under `uidvalidity` is recorded."""

    uidvalidity: int
    last_uid: int


class Store:
    """The database of one mailtriage instance."""

    def __init__(self, path: Path | str | None, *, create: bool = True) -> None:
        """Open (and create: folder 0700, file 0600) the database at `path`; None gives an empty one
        in memory. Any failure is one StoreError line saying what to do."""
        self.path = Path(path) if path is not None else None
        if self.path is None:
            self.db = sqlite_utils.Database(memory=True)
            self._prepare()
            self.migrate()
            return
        if create and not self.path.exists():
            self._create(self.path)
        self.db = open_database(self.path, create=create)
        self._prepare()
        if create:
            try:
                self.migrate()
            except sqlite3.Error as exc:
                self.db.conn.close()
                raise store_error(exc, self.path) from None

    @staticmethod
    def _create(path: Path) -> None:
        """A new database is built under a temporary name and renamed into place when complete:
        a crash while it is made leaves no empty or half-made file where the database belongs."""
        building = path.with_name(f".{path.name}.new-{os.getpid()}")
        building.unlink(missing_ok=True)
        new = Store.__new__(Store)
        try:
            new.path, new.db = building, open_database(building, create=True)
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
    def snapshot(cls, path: Path) -> Store:
        """A private in-memory copy of the database at `path` (for --dry-run: nothing is stored)."""
        store = cls(None)
        if path.exists():
            try:
                refuse_empty(path)
                source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    source.backup(store.db.conn)
                finally:
                    source.close()
                store.migrate()
            except (sqlite3.Error, OSError) as exc:
                store.close()
                raise store_error(exc, path) from None
        return store

    def close(self) -> None:
        self.db.conn.close()

    def _prepare(self) -> None:
        # Transactions are ours alone: no implicit BEGIN from the sqlite3 module, and no library
        # call that commits on its own (sqlite-utils' insert/update do) is used for writing.
        self.db.conn.isolation_level = None
        self._depth = 0

    def migrate(self) -> None:
        """Create the schema, or bring an older database up to SCHEMA_VERSION, in one transaction."""
        with self.transaction():
            found = self.db.conn.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                from mailtriage.errors import MailtriageError

                raise MailtriageError(f"{self.path}: made by a newer mailtriage (schema {found}); upgrade "
                                      "mailtriage or use another database file")
            if found == 0:
                for statement in _statements(SCHEMA):  # executescript would COMMIT first: not inside ours
                    self.db.conn.execute(statement)
            else:
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[version]:
                        self.db.conn.execute(statement)
            self.db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: BEGIN IMMEDIATE (the write lock is taken at once, so two processes queue
        instead of failing half-way), or a savepoint when already inside a transaction."""
        if self._depth:
            with self.savepoint():
                yield
            return
        self.db.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self.db.conn.execute("COMMIT")
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the current transaction that can fail alone (one message of a batch)."""
        name = f"sp{self._depth}"
        self.db.conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
            self.db.conn.execute(f"RELEASE {name}")
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute(f"ROLLBACK TO {name}")
                self.db.conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """Every write goes through here (one place to see them, and to inject faults in tests)."""
        return self.db.conn.execute(sql, params)

    def insert(self, table: str, row: dict[str, Any], *, or_ignore: bool = False) -> int:
        names = ", ".join(row)
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        cursor = self.execute(f"{verb} INTO {table} ({names}) VALUES ({', '.join('?' * len(row))})",
                              [_text(v) for v in row.values()])
        return int(cursor.lastrowid or 0)

    def update(self, table: str, key: int, fields: dict[str, Any]) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        self.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*(_text(v) for v in fields.values()), key])

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, [_text(v) for v in params]))
        return rows[0] if rows else None

    # --- folders ----------------------------------------------------------------------------

    def mark(self, folder: str) -> Mark | None:
        row = self.one("SELECT uidvalidity, last_uid FROM folders WHERE name = ?", [folder])
        return Mark(row["uidvalidity"], row["last_uid"]) if row else None

    def set_mark(self, folder: str, mark: Mark, now: datetime, *, baseline: bool = False) -> None:
        """Move a folder's mark; call inside the transaction that recorded its messages."""
        if baseline:
            self.execute(
                "INSERT INTO folders (name, uidvalidity, last_uid, baseline_at, checked_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
                " last_uid = excluded.last_uid, baseline_at = excluded.baseline_at, checked_at = excluded.checked_at",
                [folder, mark.uidvalidity, mark.last_uid, iso(now), iso(now)])
        else:
            self.execute("UPDATE folders SET last_uid = ?, checked_at = ? WHERE name = ? AND uidvalidity = ?",
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

    def seen_message(self, message_id: str, sender: str) -> bool:
        """This message was recorded before: the same Message-ID from the same sender. The same id
        from another sender is a collision (or a forgery), not a copy: it gets its own record."""
        return self.one("SELECT 1 AS x FROM messages WHERE message_id = ? AND coalesce(sender, '') = ? LIMIT 1",
                        [message_id, sender]) is not None

    def takes_part(self, thread_id: str, sender: str, client: str | None) -> bool:
        """The sender (or the sender's client) is already part of this thread."""
        row = self.one(
            "SELECT 1 AS x FROM threads WHERE id = ? AND (sender = ? OR (? IS NOT NULL AND client = ?)"
            " OR EXISTS (SELECT 1 FROM messages WHERE thread_id = ? AND sender = ?))",
            [thread_id, sender, client, client, thread_id, sender])
        return row is not None

    def insert_thread(self, row: dict[str, Any]) -> None:
        self.insert("threads", row)
        self.add_ref(row["id"], row["id"])

    def touch_thread(self, thread_id: str, received: datetime) -> None:
        self.execute("UPDATE threads SET last_received = max(last_received, ?) WHERE id = ?",
                             [iso(received), thread_id])

    def add_ref(self, message_id: str, thread_id: str) -> None:
        self.execute("INSERT OR IGNORE INTO refs (message_id, thread_id) VALUES (?, ?)",
                             [message_id, thread_id])

    def insert_message(self, row: dict[str, Any]) -> None:
        self.insert("messages", row)

    # --- the outbox ---------------------------------------------------------------------------

    def plan_reply(self, row: dict[str, Any]) -> None:
        """Write a reply as planned; same transaction as its message. The thread is acknowledged."""
        self.insert("replies", {**row, "state": "planned"})
        self.add_ref(row["message_id"], row["thread_id"])
        self.execute("UPDATE threads SET acknowledged_at = ? WHERE id = ?",
                             [row["planned_at"], row["thread_id"]])

    def recent_reply_to(self, sender_key: str, since: datetime, limit: int = 1) -> bool:
        """True when `limit` replies to this sender were planned since `since`."""
        row = self.one("SELECT count(*) AS n FROM replies WHERE sender_key = ? AND planned_at >= ?",
                       [sender_key, iso(since)])
        return bool(row and row["n"] >= limit)

    def give_up_unknown(self) -> int:
        """Replies left `sending` by a crash may have gone out: never send them again."""
        with self.transaction():
            cursor = self.execute(
                "UPDATE replies SET state = 'unknown', error = 'fate unknown after an interrupted send'"
                " WHERE state = 'sending'")
        return cursor.rowcount

    def expire_replies(self, now: datetime, retry_for: timedelta) -> int:
        """Plans too old to be worth sending, or whose thread was settled, expire; returns how
        many replies are still planned."""
        with self.transaction():
            self.execute(
                "UPDATE replies SET state = 'expired' WHERE state = 'planned' AND (planned_at < ? OR thread_id IN"
                " (SELECT id FROM threads WHERE state NOT IN ('open', 'overdue')))", [iso(now - retry_for)])
        return self.count_replies("planned")

    def claim_next(self, after: int = 0) -> Reply | None:
        """Take the next planned reply (id above `after`) for sending: `planned -> sending`,
        committed before its SMTP transaction starts, so no reply can be sent twice and a crash
        leaves at most this one of unknown fate."""
        with self.transaction():
            row = self.execute(
                "UPDATE replies SET state = 'sending', attempted_at = ?, attempts = attempts + 1 WHERE id ="
                " (SELECT min(id) FROM replies WHERE state = 'planned' AND id > ?)"
                " RETURNING id, recipient, data, attempts", [iso(datetime.now(UTC)), after]).fetchone()
        return Reply(row[0], row[1], row[2], row[3]) if row else None

    def finish_reply(self, reply_id: int, state: str, envelope_sender: str, response: str) -> None:
        """What the SMTP server said: sent, failed (5xx), planned again (4xx) or unknown."""
        fields: dict[str, Any] = {"state": state, "envelope_sender": envelope_sender, "smtp_response": response}
        if state == "sent":
            fields["sent_at"] = iso(datetime.now(UTC))
        else:
            fields["error"] = response
        with self.transaction():
            self.update("replies", reply_id, fields)

    def fail_reply(self, reply_id: int, reason: str) -> None:
        """A reply that cannot be sent at all (no server for its address): failed, with why."""
        with self.transaction():
            self.update("replies", reply_id, {"state": "failed", "error": reason})

    def undelivered_replies(self, since: str, limit: int) -> list[dict[str, Any]]:
        """Holding replies planned since `since` that did not reach their recipient (failed) or may
        not have (unknown), with their thread's number: the summary names each."""
        return list(self.db.query(
            "SELECT t.number, t.client, t.subject, r.recipient, r.state, r.error FROM replies r"
            " JOIN threads t ON t.id = r.thread_id WHERE r.state IN ('failed', 'unknown') AND r.planned_at > ?"
            " ORDER BY r.id LIMIT ?", [since, limit]))

    def count_replies(self, state: str) -> int:
        row = self.one("SELECT count(*) AS n FROM replies WHERE state = ?", [state])
        return int(row["n"]) if row else 0

    # --- follow-up: answers, overdue, flags ---------------------------------------------------

    def set_modseq(self, folder: str, modseq: int | None) -> None:
        self.execute("UPDATE folders SET highestmodseq = ? WHERE name = ?", [modseq, folder])

    def modseq(self, folder: str) -> int | None:
        row = self.one("SELECT highestmodseq FROM folders WHERE name = ?", [folder])
        return row["highestmodseq"] if row else None

    def open_messages(self, folder: str, uidvalidity: int, uids: list[int] | None = None) -> dict[int, str]:
        """uid -> thread id, for recorded messages of open or overdue threads in this folder."""
        sql = ("SELECT m.uid, m.thread_id FROM messages m JOIN threads t ON t.id = m.thread_id"
               " WHERE m.folder = ? AND m.uidvalidity = ? AND t.state IN ('open', 'overdue')")
        params: list[Any] = [folder, uidvalidity]
        if uids is not None:
            if not uids:
                return {}
            sql += f" AND m.uid IN ({','.join('?' * len(uids))})"
            params += uids
        return {row["uid"]: row["thread_id"] for row in self.db.query(sql, params)}

    def record_answer(self, thread: dict[str, Any], at: datetime, via: str, business_seconds: float) -> None:
        """The thread's current period is answered at `at`; keep the period for the statistics."""
        opened = from_iso(thread["opened_at"])
        assert opened is not None
        wall = max(0.0, (at - opened).total_seconds())
        deadline = thread["deadline"]
        within = int(deadline is None or iso(at) <= deadline)
        self.execute(
            "UPDATE threads SET state = 'answered', answered_at = ?, answered_via = ?, response_seconds = ?,"
            " response_business_seconds = ? WHERE id = ?", [iso(at), via, wall, business_seconds, thread["id"]])
        self.insert("answers", {
            "thread_id": thread["id"], "client": thread["client"], "opened_at": thread["opened_at"],
            "deadline": deadline, "answered_at": iso(at), "via": via, "response_seconds": wall,
            "business_seconds": business_seconds, "within_window": within})

    def reopen(self, thread_id: str, received: datetime, deadline: datetime | None, window: str | None) -> None:
        """A client wrote again in an answered thread: a new period with a new deadline."""
        self.execute(
            "UPDATE threads SET state = 'open', opened_at = ?, deadline = ?, window = ?, answered_at = NULL,"
            " answered_via = NULL, response_seconds = NULL, response_business_seconds = NULL, overdue_at = NULL,"
            " snoozed_from = NULL, closed_at = NULL WHERE id = ?",
            [iso(received), iso(deadline) if deadline else None, window, thread_id])

    def newly_overdue(self, now: datetime) -> list[dict[str, Any]]:
        """Open threads past their deadline become overdue; returned once, when it happens."""
        with self.transaction():
            rows = self.execute(
                "UPDATE threads SET state = 'overdue', overdue_at = ? WHERE state = 'open' AND deadline < ?"
                " RETURNING number, id, client, sender, subject, deadline", [iso(now), iso(now)]).fetchall()
        keys = ("number", "id", "client", "sender", "subject", "deadline")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def set_flagged(self, folder: str, uidvalidity: int, uids: list[int], flagged: bool) -> None:
        if uids:
            self.execute(
                f"UPDATE messages SET flagged_by_us = ? WHERE folder = ? AND uidvalidity = ?"
                f" AND uid IN ({','.join('?' * len(uids))})", [int(flagged), folder, uidvalidity, *uids])

    def flagged_but_settled(self, folder: str, uidvalidity: int) -> list[int]:
        """Messages we flagged whose thread is no longer overdue (answered, closed or snoozed)."""
        rows = self.db.query(
            "SELECT m.uid FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.flagged_by_us = 1"
            " AND m.folder = ? AND m.uidvalidity = ? AND t.state != 'overdue'", [folder, uidvalidity])
        return [row["uid"] for row in rows]

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                                 " SET value = excluded.value", [key, value])

    def unflagged_overdue(self, folder: str, uidvalidity: int) -> list[int]:
        """The newest client message of each overdue thread in this folder, where we have not flagged it."""
        rows = self.db.query(
            "SELECT m.uid FROM messages m JOIN threads t ON t.id = m.thread_id WHERE t.state = 'overdue'"
            " AND m.folder = ? AND m.uidvalidity = ? AND m.decision != 'skip' AND m.flagged_by_us = 0"
            " AND m.received_at = (SELECT max(received_at) FROM messages n WHERE n.thread_id = t.id"
            " AND n.decision != 'skip')", [folder, uidvalidity])
        return [row["uid"] for row in rows]

    def public_holidays(self, country: str, subdivision: str | None, year: int) -> dict[date, str]:
        """A year's public holidays, computed once and then read from the database: the holidays
        package costs a check 0.1 s and 10 MB to load. Not to be called inside a transaction."""
        key = f"holidays:{country}:{subdivision or ''}:{year}"
        cached = self.get_meta(key)
        if cached is not None:
            return {date.fromisoformat(day): name for day, name in json.loads(cached).items()}
        from mailtriage.core.businessdays import BusinessCalendar

        found = BusinessCalendar(UTC_ZONE, country=country, subdivision=subdivision).public_holidays(year)
        self.set_meta(key, json.dumps({day.isoformat(): name for day, name in found.items()}))
        return found

    # --- explain: what was recorded about one message ------------------------------------------

    def messages_by_id(self, message_id: str) -> list[MessageRecord]:
        """Every recorded message with this Message-ID (a copy in two folders, a collision)."""
        return self._messages("WHERE message_id = ?", [message_id])

    def messages_at(self, folder: str, uid: int) -> list[MessageRecord]:
        """The message at this UID of a folder, under each UIDVALIDITY it was seen with, newest first."""
        return self._messages("WHERE folder = ? AND uid = ?", [folder, uid], "uidvalidity DESC")

    def messages_of_thread(self, number: int) -> list[MessageRecord]:
        """Every recorded message of thread `number`, in order of arrival."""
        return self._messages("WHERE thread_id = (SELECT id FROM threads WHERE number = ?)", [number])

    def _messages(self, where: str, params: list[Any], order: str = "received_at, id") -> list[MessageRecord]:
        return [MessageRecord.from_row(row) for row in self.db.query(
            f"SELECT * FROM messages {where} ORDER BY {order}", [_text(v) for v in params])]

    def reply_for(self, thread_id: str, message_id: str) -> ReplyRecord | None:
        """The holding reply planned for this message of this thread, if one was."""
        row = self.one("SELECT * FROM replies WHERE thread_id = ? AND in_reply_to = ?", [thread_id, message_id])
        return ReplyRecord.from_row(row) if row else None

    def reply_by_id(self, message_id: str) -> ReplyRecord | None:
        """One of our holding replies, by its own Message-ID."""
        row = self.one("SELECT * FROM replies WHERE message_id = ?", [message_id])
        return ReplyRecord.from_row(row) if row else None

    def thread_record(self, thread_id: str) -> ThreadRecord | None:
        row = self.thread(thread_id)
        return ThreadRecord.from_row(row) if row else None
