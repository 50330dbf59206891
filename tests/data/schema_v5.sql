-- The schema mailtriage wrote at schema version 5 (user_version 5), kept to test migrations from it.
-- A folder's high-water mark; `kind` tells a triaged folder from the Sent folder read for answers.
CREATE TABLE IF NOT EXISTS folders (
    name TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'incoming', uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL, baseline_at TEXT NOT NULL, checked_at TEXT, highestmodseq INTEGER,
    PRIMARY KEY (kind, name)
);
-- A thread's current period runs from opened_at (its first message, or the message that reopened
-- it) to answered_at; every answered period is kept in `answers` for the statistics.
CREATE TABLE IF NOT EXISTS threads (
    number INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, client TEXT, sender TEXT NOT NULL,
    sender_name TEXT, subject TEXT, first_received TEXT NOT NULL, last_received TEXT NOT NULL,
    opened_at TEXT NOT NULL, deadline TEXT, window TEXT, state TEXT NOT NULL, reason TEXT, language TEXT,
    acknowledged_at TEXT, answered_at TEXT, answered_via TEXT, response_seconds REAL,
    response_business_seconds REAL, overdue_at TEXT, snoozed_from TEXT, closed_at TEXT,
    waiting_since TEXT, waiting_until TEXT
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
-- One holding reply per message: a message is its Message-ID within its thread (the same id from
-- two senders is two messages, in two threads); a notice of a moved deadline (kind) once per new
-- deadline (about).
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL,
    language TEXT, state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT,
    envelope_sender TEXT, smtp_response TEXT, error TEXT, data BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, reply_via TEXT, recipient_reason TEXT,
    kind TEXT NOT NULL DEFAULT 'holding', about TEXT NOT NULL DEFAULT '',
    UNIQUE (thread_id, in_reply_to, kind, about)
);
CREATE INDEX IF NOT EXISTS replies_state ON replies (state);
CREATE INDEX IF NOT EXISTS replies_sender_key ON replies (sender_key, planned_at);
-- A reminder before a deadline went to the user: once per thread and deadline.
CREATE TABLE IF NOT EXISTS reminders (
    thread_id TEXT NOT NULL, deadline TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (thread_id, deadline)
);
