"""Migrations: a database made by an older schema is brought up to the newest at open, data kept.

tests/data/schema_v3.sql is the schema mailtriage wrote before schema 4 (the one where the Sent
folder's mark was a folder row named "sent:<folder>"); the version-1 test is in test_hostile.py.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailtriage.core.models import FolderKind, ReplyKind, ReplyState, ThreadState
from mailtriage.errors import MailtriageError
from mailtriage.store import migrations
from mailtriage.store.db import SCHEMA_VERSION, Store
from mailtriage.store.rows import Mark

V3 = Path(__file__).resolve().parent / "data" / "schema_v3.sql"
V5 = Path(__file__).resolve().parent / "data" / "schema_v5.sql"


def version_3(path: Path) -> None:
    """A database as mailtriage wrote it at schema 3, with a little of everything in it."""
    conn = sqlite3.connect(path)
    conn.executescript(V3.read_text(encoding="utf-8"))
    conn.executescript("""
        INSERT INTO folders VALUES ('INBOX', 7, 120, '2026-11-01T08:00:00+00:00', '2026-11-23T11:00:00+00:00', 55);
        INSERT INTO folders VALUES ('sent:Sent', 3, 40, '2026-11-01T08:00:00+00:00', '2026-11-23T11:00:00+00:00',
                                    NULL);
        INSERT INTO threads (id, client, sender, subject, first_received, last_received, opened_at, deadline,
                             state) VALUES ('<t1@acme.pl>', 'Acme', 'jan@acme.pl', 'Invoice',
                             '2026-11-23T09:00:00+00:00', '2026-11-23T09:00:00+00:00', '2026-11-23T09:00:00+00:00',
                             '2026-11-23T15:00:00+00:00', 'open');
        INSERT INTO messages (folder, uidvalidity, uid, message_id, thread_id, sender, received_at, decision, reason,
                              hits, window) VALUES ('INBOX', 7, 120, '<t1@acme.pl>', '<t1@acme.pl>', 'jan@acme.pl',
                              '2026-11-23T09:00:00+00:00', 'reply', 'client Acme', NULL, '6 hours');
        INSERT INTO refs VALUES ('<t1@acme.pl>', '<t1@acme.pl>');
        INSERT INTO replies (thread_id, in_reply_to, message_id, recipient, sender_key, state, planned_at, data,
                             attempts, reply_via) VALUES ('<t1@acme.pl>', '<t1@acme.pl>', '<mt-1@example.com>',
                             'jan@acme.pl', 'jan@acme.pl', 'sent', '2026-11-23T09:01:00+00:00', x'00', 1, 'from');
        INSERT INTO meta VALUES ('last_check', '{}');
    """)
    conn.close()


def test_a_version_3_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "mailtriage.db"
    version_3(path)
    store = Store(path)
    try:
        assert migrations.version(store.conn) == SCHEMA_VERSION == 8
        assert store.mark("INBOX") == Mark(7, 120) and store.modseq("INBOX") == 55
        assert store.mark("Sent", FolderKind.SENT) == Mark(3, 40)  # no longer under a "sent:" name
        assert store.mark("sent:Sent") is None and store.mark("Sent") is None
        assert [(m.name, m.kind) for m in store.folder_marks()] == [("INBOX", "incoming"), ("Sent", "sent")]
        thread = store.thread("<t1@acme.pl>")
        assert thread is not None and thread.state is ThreadState.OPEN and thread.client == "Acme"
        assert [m.window for m in store.messages_of_thread(thread.number)] == ["6 hours"]
        reply = store.reply_by_id("<mt-1@example.com>")
        assert reply is not None and reply.state is ReplyState.SENT and reply.attempts == 1
        assert (reply.kind, reply.about) == (ReplyKind.HOLDING, "")  # schema 5: every older reply is a holding one
        assert store.reply_for("<t1@acme.pl>", "<t1@acme.pl>") == reply
        assert thread.waiting_since is None and thread.waiting_until is None
        assert store.get_meta("last_check") == "{}"
        with store.transaction():  # and it is written as a new database is
            store.set_mark("Sent", Mark(3, 41), datetime(2026, 11, 24, tzinfo=UTC), kind=FolderKind.SENT)
        assert store.mark("Sent", FolderKind.SENT) == Mark(3, 41)
    finally:
        store.close()


def version_5(path: Path) -> None:
    """A database as mailtriage wrote it at schema 5, the last one before accounts."""
    conn = sqlite3.connect(path)
    conn.executescript(V5.read_text(encoding="utf-8"))
    conn.executescript("""
        INSERT INTO folders VALUES ('INBOX', 'incoming', 7, 120, '2026-11-01T08:00:00+00:00', NULL, 55);
        INSERT INTO threads (id, client, sender, subject, first_received, last_received, opened_at, deadline,
                             state, waiting_since) VALUES ('<t1@acme.pl>', 'Acme', 'jan@acme.pl', 'Invoice',
                             '2026-11-23T09:00:00+00:00', '2026-11-23T09:00:00+00:00', '2026-11-23T09:00:00+00:00',
                             '2026-11-23T15:00:00+00:00', 'open', NULL);
        INSERT INTO answers (thread_id, client, opened_at, answered_at, via, response_seconds, business_seconds,
                             within_window) VALUES ('<t1@acme.pl>', 'Acme', '2026-11-20T09:00:00+00:00',
                             '2026-11-20T10:00:00+00:00', 'sent', 3600, 3600, 1);
        INSERT INTO messages (folder, uidvalidity, uid, message_id, thread_id, sender, received_at, decision, reason)
                      VALUES ('INBOX', 7, 120, '<t1@acme.pl>', '<t1@acme.pl>', 'jan@acme.pl',
                              '2026-11-23T09:00:00+00:00', 'reply', 'client Acme');
        INSERT INTO refs VALUES ('<t1@acme.pl>', '<t1@acme.pl>');
        INSERT INTO replies (thread_id, in_reply_to, message_id, recipient, sender_key, state, planned_at, data,
                             kind, about) VALUES ('<t1@acme.pl>', '<t1@acme.pl>', '<mt-1@example.com>',
                             'jan@acme.pl', 'jan@acme.pl', 'planned', '2026-11-23T09:01:00+00:00', x'00',
                             'holding', '');
        INSERT INTO reminders VALUES ('<t1@acme.pl>', '2026-11-23T15:00:00+00:00', '2026-11-23T13:00:00+00:00');
    """)
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()


def test_a_version_5_database_becomes_the_default_account(tmp_path: Path) -> None:
    path = tmp_path / "mailtriage.db"
    version_5(path)
    store = Store(path)
    try:
        assert migrations.version(store.conn) == SCHEMA_VERSION
        assert store.mark("INBOX") == Mark(7, 120) and store.modseq("INBOX") == 55
        thread = store.thread("<t1@acme.pl>")
        assert thread is not None and thread.account == "default" and thread.number == 1
        assert store.thread_of(("<t1@acme.pl>",)) == "<t1@acme.pl>"
        assert [m.account for m in store.messages_of_thread(1)] == ["default"]
        reply = store.reply_for("<t1@acme.pl>", "<t1@acme.pl>")
        assert reply is not None and reply.account == "default" and store.count_replies(ReplyState.PLANNED) == 1
        tables = ("folders", "threads", "answers", "messages", "refs", "replies", "reminders")
        assert {t: store.conn.execute(f"SELECT DISTINCT account FROM {t}").fetchall()[0][0] for t in tables} == \
            dict.fromkeys(tables, "default")
    finally:
        store.close()
    other = Store(path, account="biuro")  # another account sees none of it
    try:
        assert other.mark("INBOX") is None and other.thread("<t1@acme.pl>") is None
        assert other.thread_of(("<t1@acme.pl>",)) is None and other.reply_for("<t1@acme.pl>", "<t1@acme.pl>") is None
        assert other.count_replies(ReplyState.PLANNED) == 0 and other.claim_next() is None
    finally:
        other.close()


def test_a_migrated_database_has_the_schema_of_a_new_one(tmp_path: Path) -> None:
    version_3(tmp_path / "old.db")
    Store(tmp_path / "old.db").close()
    Store(tmp_path / "new.db").close()
    version_5(tmp_path / "five.db")
    Store(tmp_path / "five.db").close()

    def columns(path: Path) -> dict[str, list[tuple[str, str, int, int]]]:
        conn = sqlite3.connect(path)
        try:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {table: sorted((r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({table})"))
                    for table in sorted(tables)}
        finally:
            conn.close()

    assert columns(tmp_path / "old.db") == columns(tmp_path / "new.db") == columns(tmp_path / "five.db")

    def indexes(path: Path) -> list[tuple[str, str, list[tuple[str, ...]]]]:
        """Every index with its table and columns (the ones UNIQUE and PRIMARY KEY make included)."""
        conn = sqlite3.connect(path)
        try:
            found = []
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for index in conn.execute(f"PRAGMA index_list({table})"):
                    cols = [r[2] for r in conn.execute(f"PRAGMA index_info('{index[1]}')")]
                    # an index SQLite names itself (sqlite_autoindex_<table>_N) is known by its columns
                    name = "auto" if index[1].startswith("sqlite_autoindex") else index[1]
                    found.append((table, name, [tuple(cols), (index[2],)]))
            return sorted(found)
        finally:
            conn.close()

    assert indexes(tmp_path / "old.db") == indexes(tmp_path / "new.db") == indexes(tmp_path / "five.db")

    def threads_table(path: Path) -> str:
        conn = sqlite3.connect(path)
        try:
            return str(conn.execute("SELECT sql FROM sqlite_master WHERE name = 'threads'").fetchone()[0])
        finally:
            conn.close()

    assert all("number INTEGER PRIMARY KEY AUTOINCREMENT" in threads_table(tmp_path / name)
               for name in ("old.db", "new.db", "five.db"))


def test_a_version_6_database_gets_an_empty_erasure_log(tmp_path: Path) -> None:
    """Schema 7: the log of erasures (forget, purge, retention) is added, the records stay as they were."""
    path = tmp_path / "mailtriage.db"
    version_5(path)
    conn = sqlite3.connect(path)
    for statement in migrations.MIGRATIONS[6]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert migrations.version(store.conn) == SCHEMA_VERSION
        assert store.count("SELECT count(*) FROM erasures") == 0
        assert store.thread("<t1@acme.pl>") is not None
        store.log_erasure("forget", datetime(2026, 11, 29, tzinfo=UTC), "REQ-1", threads=1, messages=2, replies=1)
        assert [tuple(r) for r in store.rows("SELECT kind, reference, threads, messages, replies, rows"
                                             " FROM erasures")] == [("forget", "REQ-1", 1, 2, 1, 4)]
    finally:
        store.close()


def test_a_version_7_database_keeps_its_thread_numbers_and_never_gives_one_twice(tmp_path: Path) -> None:
    """Schema 8: `number` AUTOINCREMENT. The numbers there are stay; a new thread gets one above the
    highest ever given, even after the highest thread was erased."""
    from mailtriage.store.privacy import Selection

    path = tmp_path / "mailtriage.db"
    version_5(path)
    conn = sqlite3.connect(path)
    for step in (6, 7):
        for statement in migrations.MIGRATIONS[step]:
            conn.execute(statement)
    conn.execute("UPDATE threads SET number = 5")  # 1 to 4 erased before (the file cannot know)
    conn.execute("INSERT INTO threads (account, id, sender, first_received, last_received, opened_at, state)"
                 " VALUES ('biuro', '<t2@x.pl>', 'a@x.pl', '2026-11-23', '2026-11-23', '2026-11-23', 'open')")
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert migrations.version(store.conn) == SCHEMA_VERSION
        assert [tuple(r) for r in store.rows("SELECT number, account, id FROM threads ORDER BY number")] == [
            (5, "default", "<t1@acme.pl>"), (6, "biuro", "<t2@x.pl>")]
        assert store.thread_numbered(5) is not None and store.messages_of_thread(5) != []
        store.erase(Selection(threads=[6]), "forget", datetime(2026, 11, 29, tzinfo=UTC), None)
        store.compact()  # VACUUM keeps the highest number given
        with store.transaction():
            store.execute("INSERT INTO threads (id, sender, first_received, last_received, opened_at, state)"
                          " VALUES ('<t3@x.pl>', 'b@x.pl', '2026-11-29', '2026-11-29', '2026-11-29', 'open')")
        assert store.count("SELECT max(number) FROM threads") == 7
    finally:
        store.close()


def test_every_version_has_its_migration() -> None:
    assert sorted(migrations.MIGRATIONS) == list(range(2, SCHEMA_VERSION + 1))


def test_a_database_from_a_newer_mailtriage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mailtriage.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(MailtriageError, match="made by a newer mailtriage"):
        Store(path)


def test_the_files_pragmas_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "mailtriage.db"
    store = Store(path)
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        store.close()
