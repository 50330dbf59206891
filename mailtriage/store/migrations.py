"""The schema and its versions: a new database is made from SCHEMA at once; an older one is
brought up to SCHEMA_VERSION by MIGRATIONS, in order, at open (PRAGMA user_version says where it is).

To change the schema: change SCHEMA, add the statements that turn version N-1 into N under
MIGRATIONS[N], raise SCHEMA_VERSION, and test it from the previous schema (tests/test_store_migrations.py).
"""

from __future__ import annotations

import sqlite3

from mailtriage.errors import MailtriageError

SCHEMA_VERSION = 8
# The columns schema 5 had, copied as they are into the tables of schema 6.
_THREAD_COLUMNS = ("number, id, client, sender, sender_name, subject, first_received, last_received, opened_at,"
                   " deadline, window, state, reason, language, acknowledged_at, answered_at, answered_via,"
                   " response_seconds, response_business_seconds, overdue_at, snoozed_from, closed_at,"
                   " waiting_since, waiting_until")
_MESSAGE_COLUMNS = ("id, folder, uidvalidity, uid, message_id, thread_id, sender, sender_name, reply_to, subject,"
                    " received_at, date_header, size, decision, guard, reason, client, deadline, broken,"
                    " flagged_by_us, hits, window")
_REPLY_COLUMNS = ("id, thread_id, in_reply_to, message_id, recipient, sender_key, language, state, planned_at,"
                  " attempted_at, sent_at, envelope_sender, smtp_response, error, data, attempts, reply_via,"
                  " recipient_reason, kind, about")
_ERASURES = ("CREATE TABLE IF NOT EXISTS erasures (id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL,"
             " reference TEXT, threads INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0,"
             " replies INTEGER NOT NULL DEFAULT 0, rows INTEGER NOT NULL DEFAULT 0)")
# The threads table since schema 8 (`number` AUTOINCREMENT); {name}: its name, or "IF NOT EXISTS threads".
_THREADS_TABLE = (
    "CREATE TABLE {name} (number INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL DEFAULT 'default',"
    " id TEXT NOT NULL, client TEXT, sender TEXT NOT NULL, sender_name TEXT, subject TEXT,"
    " first_received TEXT NOT NULL, last_received TEXT NOT NULL, opened_at TEXT NOT NULL, deadline TEXT,"
    " window TEXT, state TEXT NOT NULL, reason TEXT, language TEXT, acknowledged_at TEXT, answered_at TEXT,"
    " answered_via TEXT, response_seconds REAL, response_business_seconds REAL, overdue_at TEXT,"
    " snoozed_from TEXT, closed_at TEXT, waiting_since TEXT, waiting_until TEXT, UNIQUE (account, id))")
# What each version adds to the one before.
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
    # The Sent folder's mark was a folder row named "sent:<folder>": now a kind of its own.
    4: ("CREATE TABLE folders_v4 (name TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'incoming',"
        " uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL, baseline_at TEXT NOT NULL, checked_at TEXT,"
        " highestmodseq INTEGER, PRIMARY KEY (kind, name))",
        "INSERT INTO folders_v4 (name, kind, uidvalidity, last_uid, baseline_at, checked_at, highestmodseq)"
        " SELECT CASE WHEN substr(name, 1, 5) = 'sent:' THEN substr(name, 6) ELSE name END,"
        " CASE WHEN substr(name, 1, 5) = 'sent:' THEN 'sent' ELSE 'incoming' END,"
        " uidvalidity, last_uid, baseline_at, checked_at, highestmodseq FROM folders",
        "DROP TABLE folders",
        "ALTER TABLE folders_v4 RENAME TO folders"),
    # Waiting for the client; the outbox carries notices of a moved deadline besides holding replies
    # (one per kind and new deadline: `about`); reminders before a deadline, once per deadline.
    5: ("ALTER TABLE threads ADD COLUMN waiting_since TEXT",
        "ALTER TABLE threads ADD COLUMN waiting_until TEXT",
        "CREATE TABLE replies_v5 (id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL,"
        " message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL, language TEXT,"
        " state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT, envelope_sender TEXT,"
        " smtp_response TEXT, error TEXT, data BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, reply_via TEXT,"
        " recipient_reason TEXT, kind TEXT NOT NULL DEFAULT 'holding', about TEXT NOT NULL DEFAULT '',"
        " UNIQUE (thread_id, in_reply_to, kind, about))",
        "INSERT INTO replies_v5 (id, thread_id, in_reply_to, message_id, recipient, sender_key, language, state,"
        " planned_at, attempted_at, sent_at, envelope_sender, smtp_response, error, data, attempts, reply_via,"
        " recipient_reason) SELECT id, thread_id, in_reply_to, message_id, recipient, sender_key, language, state,"
        " planned_at, attempted_at, sent_at, envelope_sender, smtp_response, error, data, attempts, reply_via,"
        " recipient_reason FROM replies",
        "DROP TABLE replies",
        "ALTER TABLE replies_v5 RENAME TO replies",
        "CREATE INDEX IF NOT EXISTS replies_state ON replies (state)",
        "CREATE INDEX IF NOT EXISTS replies_sender_key ON replies (sender_key, planned_at)",
        "CREATE TABLE IF NOT EXISTS reminders (thread_id TEXT NOT NULL, deadline TEXT NOT NULL,"
        " sent_at TEXT NOT NULL, PRIMARY KEY (thread_id, deadline))"),
    # Several accounts in one database (docs/accounts.md): every record knows its account, and the keys
    # of folders, threads, messages, refs, replies and reminders include it; older records are 'default'.
    6: (
        "CREATE TABLE folders_v6 (account TEXT NOT NULL DEFAULT 'default', name TEXT NOT NULL,"
        " kind TEXT NOT NULL DEFAULT 'incoming', uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL,"
        " baseline_at TEXT NOT NULL, checked_at TEXT, highestmodseq INTEGER, PRIMARY KEY (account, kind, name))",
        "INSERT INTO folders_v6 (name, kind, uidvalidity, last_uid, baseline_at, checked_at, highestmodseq)"
        " SELECT name, kind, uidvalidity, last_uid, baseline_at, checked_at, highestmodseq FROM folders",
        "DROP TABLE folders",
        "ALTER TABLE folders_v6 RENAME TO folders",
        "CREATE TABLE threads_v6 (number INTEGER PRIMARY KEY, account TEXT NOT NULL DEFAULT 'default',"
        " id TEXT NOT NULL, client TEXT, sender TEXT NOT NULL, sender_name TEXT, subject TEXT,"
        " first_received TEXT NOT NULL, last_received TEXT NOT NULL, opened_at TEXT NOT NULL, deadline TEXT,"
        " window TEXT, state TEXT NOT NULL, reason TEXT, language TEXT, acknowledged_at TEXT, answered_at TEXT,"
        " answered_via TEXT, response_seconds REAL, response_business_seconds REAL, overdue_at TEXT,"
        " snoozed_from TEXT, closed_at TEXT, waiting_since TEXT, waiting_until TEXT, UNIQUE (account, id))",
        f"INSERT INTO threads_v6 ({_THREAD_COLUMNS}) SELECT {_THREAD_COLUMNS} FROM threads",
        "DROP TABLE threads",
        "ALTER TABLE threads_v6 RENAME TO threads",
        "CREATE INDEX threads_state_deadline ON threads (state, deadline)",
        "CREATE INDEX threads_first_received ON threads (first_received)",
        "CREATE INDEX threads_client_opened ON threads (client, opened_at)",
        "ALTER TABLE answers ADD COLUMN account TEXT NOT NULL DEFAULT 'default'",
        "CREATE TABLE messages_v6 (id INTEGER PRIMARY KEY, account TEXT NOT NULL DEFAULT 'default',"
        " folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, message_id TEXT NOT NULL,"
        " thread_id TEXT, sender TEXT, sender_name TEXT, reply_to TEXT, subject TEXT, received_at TEXT NOT NULL,"
        " date_header TEXT, size INTEGER, decision TEXT NOT NULL, guard TEXT, reason TEXT, client TEXT,"
        " deadline TEXT, broken TEXT, flagged_by_us INTEGER NOT NULL DEFAULT 0, hits TEXT, window TEXT,"
        " UNIQUE (account, folder, uidvalidity, uid))",
        f"INSERT INTO messages_v6 ({_MESSAGE_COLUMNS}) SELECT {_MESSAGE_COLUMNS} FROM messages",
        "DROP TABLE messages",
        "ALTER TABLE messages_v6 RENAME TO messages",
        "CREATE INDEX messages_thread ON messages (thread_id)",
        "CREATE INDEX messages_message_id ON messages (message_id)",
        "CREATE TABLE refs_v6 (account TEXT NOT NULL DEFAULT 'default', message_id TEXT NOT NULL,"
        " thread_id TEXT NOT NULL, PRIMARY KEY (account, message_id))",
        "INSERT INTO refs_v6 (message_id, thread_id) SELECT message_id, thread_id FROM refs",
        "DROP TABLE refs",
        "ALTER TABLE refs_v6 RENAME TO refs",
        "CREATE TABLE replies_v6 (id INTEGER PRIMARY KEY, account TEXT NOT NULL DEFAULT 'default',"
        " thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,"
        " recipient TEXT NOT NULL, sender_key TEXT NOT NULL, language TEXT, state TEXT NOT NULL,"
        " planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT, envelope_sender TEXT, smtp_response TEXT,"
        " error TEXT, data BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, reply_via TEXT,"
        " recipient_reason TEXT, kind TEXT NOT NULL DEFAULT 'holding', about TEXT NOT NULL DEFAULT '',"
        " UNIQUE (account, thread_id, in_reply_to, kind, about))",
        f"INSERT INTO replies_v6 ({_REPLY_COLUMNS}) SELECT {_REPLY_COLUMNS} FROM replies",
        "DROP TABLE replies",
        "ALTER TABLE replies_v6 RENAME TO replies",
        "CREATE INDEX replies_state ON replies (state)",
        "CREATE INDEX replies_sender_key ON replies (sender_key, planned_at)",
        "CREATE TABLE reminders_v6 (account TEXT NOT NULL DEFAULT 'default', thread_id TEXT NOT NULL,"
        " deadline TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (account, thread_id, deadline))",
        "INSERT INTO reminders_v6 (thread_id, deadline, sent_at) SELECT thread_id, deadline, sent_at FROM reminders",
        "DROP TABLE reminders",
        "ALTER TABLE reminders_v6 RENAME TO reminders",
    ),
    # GDPR erasures (mailtriage forget / purge, retention): when, what kind, how many rows, the reference.
    7: (_ERASURES,),
    # A thread's number is never given twice: after an erasure, "#8" in an earlier export, purge output or
    # note must not come to mean another person's thread (AUTOINCREMENT keeps the highest ever given in
    # sqlite_sequence; the copy sets it to the highest number there is now, and every number stays).
    8: (
        _THREADS_TABLE.format(name="threads_v8"),
        f"INSERT INTO threads_v8 (account, {_THREAD_COLUMNS}) SELECT account, {_THREAD_COLUMNS} FROM threads",
        "DROP TABLE threads",
        "ALTER TABLE threads_v8 RENAME TO threads",
        "CREATE INDEX threads_state_deadline ON threads (state, deadline)",
        "CREATE INDEX threads_first_received ON threads (first_received)",
        "CREATE INDEX threads_client_opened ON threads (client, opened_at)",
    ),
}
SCHEMA = """
-- Every record knows its account (rules.yaml `accounts:`; 'default' without it), and the keys include it.
-- A folder's high-water mark; `kind` tells a triaged folder from the Sent folder read for answers.
CREATE TABLE IF NOT EXISTS folders (
    account TEXT NOT NULL DEFAULT 'default', name TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'incoming',
    uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL, baseline_at TEXT NOT NULL, checked_at TEXT,
    highestmodseq INTEGER, PRIMARY KEY (account, kind, name)
);
-- A thread's current period runs from opened_at (its first message, or the message that reopened
-- it) to answered_at; every answered period is kept in `answers` for the statistics. `number` is
-- the one handle of a thread across accounts; `id` (its first Message-ID) is unique within one.
-- A number is never given twice (AUTOINCREMENT), not even after its thread was erased.
""" + _THREADS_TABLE.format(name="IF NOT EXISTS threads") + """;
CREATE INDEX IF NOT EXISTS threads_state_deadline ON threads (state, deadline);
CREATE INDEX IF NOT EXISTS threads_first_received ON threads (first_received);
CREATE INDEX IF NOT EXISTS threads_client_opened ON threads (client, opened_at);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, client TEXT, opened_at TEXT NOT NULL, deadline TEXT,
    answered_at TEXT NOT NULL, via TEXT NOT NULL, response_seconds REAL NOT NULL,
    business_seconds REAL NOT NULL, within_window INTEGER NOT NULL, account TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX IF NOT EXISTS answers_answered_at ON answers (answered_at);
CREATE INDEX IF NOT EXISTS answers_client_opened ON answers (client, opened_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL DEFAULT 'default', folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, message_id TEXT NOT NULL, thread_id TEXT, sender TEXT,
    sender_name TEXT, reply_to TEXT, subject TEXT, received_at TEXT NOT NULL, date_header TEXT, size INTEGER,
    decision TEXT NOT NULL, guard TEXT, reason TEXT, client TEXT, deadline TEXT, broken TEXT,
    flagged_by_us INTEGER NOT NULL DEFAULT 0, hits TEXT, window TEXT,
    UNIQUE (account, folder, uidvalidity, uid)
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (thread_id);
CREATE INDEX IF NOT EXISTS messages_message_id ON messages (message_id);
CREATE TABLE IF NOT EXISTS refs (
    account TEXT NOT NULL DEFAULT 'default', message_id TEXT NOT NULL, thread_id TEXT NOT NULL,
    PRIMARY KEY (account, message_id)
);
-- One holding reply per message: a message is its Message-ID within its thread (the same id from
-- two senders is two messages, in two threads); a notice of a moved deadline (kind) once per new
-- deadline (about). message_id is the reply's own, made by us: unique across accounts.
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL DEFAULT 'default', thread_id TEXT NOT NULL,
    in_reply_to TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL,
    language TEXT, state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT,
    envelope_sender TEXT, smtp_response TEXT, error TEXT, data BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, reply_via TEXT, recipient_reason TEXT,
    kind TEXT NOT NULL DEFAULT 'holding', about TEXT NOT NULL DEFAULT '',
    UNIQUE (account, thread_id, in_reply_to, kind, about)
);
CREATE INDEX IF NOT EXISTS replies_state ON replies (state);
CREATE INDEX IF NOT EXISTS replies_sender_key ON replies (sender_key, planned_at);
-- A reminder before a deadline went to the user: once per thread and deadline.
CREATE TABLE IF NOT EXISTS reminders (
    account TEXT NOT NULL DEFAULT 'default', thread_id TEXT NOT NULL, deadline TEXT NOT NULL,
    sent_at TEXT NOT NULL, PRIMARY KEY (account, thread_id, deadline)
);
-- Each erasure (forget, purge, retention), without personal data: when, what, how many rows, a reference.
""" + _ERASURES + ";\n"




def statements(script: str) -> list[str]:
    """A script split into complete statements (semicolons inside comments are not ends)."""
    found, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    return found


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply(conn: sqlite3.Connection, where: object) -> None:
    """Create the schema, or migrate, inside the caller's transaction (executescript would COMMIT first)."""
    found = version(conn)
    if found > SCHEMA_VERSION:
        raise MailtriageError(f"{where}: made by a newer mailtriage (schema {found}); upgrade "
                              "mailtriage or use another database file")
    if found == 0:
        for statement in statements(SCHEMA):
            conn.execute(statement)
    else:
        for step in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
