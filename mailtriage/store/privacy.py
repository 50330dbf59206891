"""GDPR in the store: the records of one person or one client found, read out and erased; expired
threads removed; and the file itself made to forget (secure_delete, a WAL checkpoint, VACUUM).

A selection (`Selection`) names the rows to remove by their keys; `erase` deletes them in one
transaction with `PRAGMA secure_delete` on, takes the person's address out of the text that stays
(reasons, errors, the last check's status), and logs the erasure in `erasures` without personal data.
`compact` then empties the WAL and rebuilds the file, so no removed byte stays on disk.
A person is the same in every mailbox, so their queries read across accounts; a client is one
account's (two accounts may each have a client of one name), unless no account is named.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr

from mailtriage.core.addresses import normalise
from mailtriage.core.models import DEFAULT_ACCOUNT, ThreadState
from mailtriage.core.senders import robot_kind
from mailtriage.store.base import Database, Params, placeholders
from mailtriage.store.rows import Message, Reply, SqlValue, Thread, iso

# Threads retention may remove: nobody waits for an answer in them any more.
SETTLED = (ThreadState.CLOSED, ThreadState.ANSWERED, ThreadState.IGNORED)
# Text columns that may mention a person in a row that stays (a guard's reason, an SMTP error...).
_TEXTS = {"threads": ("reason",), "messages": ("reason", "hits", "broken"),
          "replies": ("recipient_reason", "error", "smtp_response")}
# A thread's last activity: its last message, its answer or its closing, whichever came last.
_LAST_ACTIVITY = "max(last_received, coalesce(answered_at, ''), coalesce(closed_at, ''))"
_REMOVED = "[removed]"
_JSON_COLUMNS = ("hits",)
COMPACT_PENDING = "compact_pending"  # meta: an erasure's file rewrite is still owed
# A list of keys as one parameter (a JSON array): no limit on how many, unlike one ? per key.
EACH = "(SELECT value FROM json_each(?))"
GONE = f"(SELECT account, id FROM threads WHERE number IN {EACH})"  # the removed threads' keys


def person_of(text: str | None) -> str:
    """'Ewa+Faktury@Acme.pl' -> 'ewa@acme.pl': one person's addresses as one (+detail and case ignored)."""
    local, _, domain = address_of(text).rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}" if local else address_of(text)


def address_of(text: str | None) -> str:
    """'Jan <JAN@Acme.pl>' -> 'jan@acme.pl': the one form addresses are compared in."""
    if not text:
        return ""
    return normalise(parseaddr(text)[1] or text)


@dataclass
class Selection:
    """The rows an erasure removes, by key, and what it rewrites instead of removing."""

    threads: list[int] = field(default_factory=list)  # numbers
    messages: list[int] = field(default_factory=list)  # ids
    replies: list[int] = field(default_factory=list)  # ids
    other: dict[str, list[int]] = field(default_factory=dict)  # refs, answers, reminders: rowids
    meta: list[str] = field(default_factory=list)  # keys
    handover: list[int] = field(default_factory=list)  # shared threads the person started: given to another
    shared: list[int] = field(default_factory=list)  # threads that stay, where the person wrote: names scrubbed
    unlink: list[int] = field(default_factory=list)  # others' messages naming the person in Reply-To: it goes
    addresses: list[str] = field(default_factory=list)  # every stored spelling of the person's address
    needles: list[str] = field(default_factory=list)  # an address and names to take out of the rows that stay

    def counts(self) -> dict[str, int]:
        found = {"threads": len(self.threads), "messages": len(self.messages), "replies": len(self.replies)}
        return {**found, **{table: len(keys) for table, keys in self.other.items()}, "meta": len(self.meta)}

    @property
    def rows(self) -> int:
        return sum(self.counts().values())


class Privacy(Database):
    def _functions(self) -> None:
        # Compared in Python: SQLite's lower() knows only ASCII, and a stored value may be 'Name <addr>'.
        self.conn.create_function("mt_addr", 1, address_of, deterministic=True)
        self.conn.create_function("mt_person", 1, person_of, deterministic=True)
        self.conn.create_function("mt_relay", 1, lambda text: robot_kind(address_of(text)) is not None,
                                  deterministic=True)
        self.conn.create_function("mt_mentions", 2, lambda text, needle: bool(text and _whole(needle).search(text)),
                                  deterministic=True)

    def _keys(self, sql: str, params: Params) -> list[int]:
        return [int(row[0]) for row in self.rows(sql, params)]

    # --- finding ------------------------------------------------------------------------------

    def person(self, address: str) -> Selection:
        """Everything about one person, in any of their addresses (case and +detail ignored, as the
        sender limit counts a person): their messages, the threads only they took part in, the replies
        to them and their sender-limit entries (which are those replies). A web form's message for them
        (From a no-reply relay, Reply-To them) is theirs; another person's message that only names them
        in Reply-To stays that person's, without the Reply-To."""
        self._functions()
        a = person_of(address)
        params: dict[str, SqlValue] = {"a": a}
        mine = ("(mt_person(m.sender) = :a OR (mt_person(m.reply_to) = :a AND (m.sender IS NULL OR m.sender = ''"
                " OR mt_relay(m.sender))))")
        of_thread = "m.account = t.account AND m.thread_id = t.id"
        messages = self._keys(f"SELECT id FROM messages m WHERE {mine}", params)
        unlink = self._keys(f"SELECT id FROM messages m WHERE mt_person(m.reply_to) = :a AND NOT {mine}", params)
        # Theirs alone: every message in it is theirs (a form's thread too, whose From is the form's relay).
        alone = (f"(mt_person(t.sender) = :a OR EXISTS (SELECT 1 FROM messages m WHERE {of_thread} AND {mine}))"
                 f" AND NOT EXISTS (SELECT 1 FROM messages m WHERE {of_thread} AND NOT {mine})")
        threads = [int(r[0]) for r in self.rows(f"SELECT number FROM threads t WHERE {alone}", params)]
        # Shared, and started by them: the thread passes to the others (its sender, name and subject).
        started = f"(SELECT {mine} FROM messages m WHERE {of_thread} ORDER BY m.received_at, m.id LIMIT 1)"
        handover = [int(r[0]) for r in self.rows(
            f"SELECT number FROM threads t WHERE NOT ({alone}) AND (mt_person(t.sender) = :a"
            f" OR coalesce({started}, 0))", params)]
        shared = [int(r[0]) for r in self.rows(
            f"SELECT number FROM threads t WHERE NOT ({alone}) AND (mt_person(t.sender) = :a OR EXISTS"
            f" (SELECT 1 FROM messages m WHERE {of_thread} AND ({mine} OR mt_person(m.reply_to) = :a)))", params)]
        replies = self._keys(
            f"SELECT id FROM replies r WHERE mt_person(recipient) = :a OR mt_person(sender_key) = :a"
            f" OR mt_mentions(CAST(data AS TEXT), :a) OR (account, thread_id) IN {GONE.replace('?', ':threads')}",
            {"a": a, "threads": _json(threads)})
        addresses = self._addresses(a)
        selection = Selection(threads, sorted(set(messages) | set(self._thread_messages(threads))), replies,
                              handover=handover, shared=shared, unlink=unlink, addresses=addresses,
                              needles=[a, *self._names(a)])
        selection.other = self._around(threads, messages)
        return selection

    def _addresses(self, a: str) -> list[str]:
        """Every spelling of the person's address that is stored (+detail, case): each is taken out of
        the text that stays."""
        rows = self.rows("SELECT sender FROM messages WHERE mt_person(sender) = ? UNION SELECT reply_to FROM messages"
                         " WHERE mt_person(reply_to) = ? UNION SELECT recipient FROM replies WHERE mt_person(recipient)"
                         " = ?", [a, a, a])
        return sorted({address_of(str(r[0])) for r in rows if r[0]} | {a}, key=len, reverse=True)

    def _names(self, a: str) -> list[str]:
        """The person's display names as stored (of their messages, and of a form's messages for them):
        taken out of the threads that stay where they wrote, as their address out of everything."""
        rows = self.rows("SELECT sender_name FROM messages WHERE mt_person(sender) = ? OR (mt_person(reply_to) = ?"
                         " AND (sender IS NULL OR sender = '' OR mt_relay(sender))) UNION"
                         " SELECT sender_name FROM threads WHERE mt_person(sender) = ?", [a, a, a])
        return sorted({str(r[0]) for r in rows if r[0] and len(str(r[0]).strip()) >= 3}, key=len, reverse=True)

    def _thread_messages(self, threads: list[int]) -> list[int]:
        return self._keys(
            "SELECT m.id FROM messages m JOIN threads t ON t.account = m.account AND t.id = m.thread_id"
            f" WHERE t.number IN {EACH}", [_json(threads)])

    def _around(self, threads: list[int], messages: list[int]) -> dict[str, list[int]]:
        """The refs, answered periods and reminders of the removed threads, and the refs of removed messages."""
        refs = self._keys(
            f"SELECT rowid FROM refs WHERE (account, thread_id) IN {GONE} OR (account, message_id) IN"
            f" (SELECT account, message_id FROM messages WHERE id IN {EACH})", [_json(threads), _json(messages)])
        return {"refs": refs,
                "answers": self._keys(f"SELECT id FROM answers WHERE (account, thread_id) IN {GONE}", [_json(threads)]),
                "reminders": self._keys(f"SELECT rowid FROM reminders WHERE (account, thread_id) IN {GONE}",
                                        [_json(threads)])}

    def client_accounts(self, client: str) -> list[str]:
        """The accounts that hold records of a client of this name (any case)."""
        return [str(r[0]) for r in self.rows(
            "SELECT account FROM threads WHERE lower(client) = lower(:c) UNION SELECT account FROM messages"
            " WHERE lower(client) = lower(:c) UNION SELECT account FROM answers WHERE lower(client) = lower(:c)"
            " ORDER BY account", {"c": client})]

    def client_records(self, client: str, account: str | None = None) -> Selection:
        """Everything of one client (in one account, or in every one for None): its threads and messages,
        the replies in its threads, its answered periods, and the record of its monthly reports."""
        params: dict[str, SqlValue] = {"c": client, "a": account}
        mine = "lower(client) = lower(:c) AND (:a IS NULL OR account = :a)"
        threads = self._keys(f"SELECT number FROM threads WHERE {mine}", params)
        messages = sorted(set(self._keys(f"SELECT id FROM messages WHERE {mine}", params))
                          | set(self._thread_messages(threads)))
        replies = self._keys(f"SELECT id FROM replies WHERE (account, thread_id) IN {GONE}", [_json(threads)])
        selection = Selection(threads, messages, replies)
        selection.other = self._around(threads, messages)
        answers = self._keys(f"SELECT id FROM answers WHERE {mine}", params)
        selection.other["answers"] = sorted(set(selection.other["answers"]) | set(answers))
        selection.meta = self._reports_sent(client, account)
        return selection

    def _reports_sent(self, client: str, account: str | None) -> list[str]:
        """The meta keys of the client's monthly reports sent (app/monthly.py sent_key): 'report_sent:CLIENT:MONTH'
        in the default account, 'report_sent:ACCOUNT/CLIENT:MONTH' in a named one."""
        name = _like(client)
        patterns = {DEFAULT_ACCOUNT: f"report\\_sent:{name}:%", None: f"report\\_sent:%/{name}:%"}
        if account is not None:
            patterns = {account: patterns[DEFAULT_ACCOUNT] if account == DEFAULT_ACCOUNT
                        else f"report\\_sent:{_like(account)}/{name}:%"}
        mine = list(patterns.values())
        return [str(r[0]) for pattern in mine for r in self.rows(
            "SELECT key FROM meta WHERE key LIKE ? ESCAPE '\\'", [pattern])]

    def expired(self, cutoffs: dict[tuple[str, str], datetime], default: datetime,
                messages_before: datetime) -> Selection:
        """Threads settled (closed, answered, ignored) before their client's cutoff (`cutoffs`, by
        account and client: two accounts may each have a client of one name; `default` for the rest),
        with their messages; and messages in no thread received before `messages_before`."""
        settled = f"state IN ({placeholders(SETTLED)})"
        own = json.dumps([list(key) for key in cutoffs])
        threads = self._keys(
            f"SELECT number FROM threads WHERE {settled} AND {_LAST_ACTIVITY} < ? AND (client IS NULL OR"
            " (account, client) NOT IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
            " FROM json_each(?)))",
            [*SETTLED, iso(default), own])
        for (account, name), cutoff in cutoffs.items():
            threads += self._keys(f"SELECT number FROM threads WHERE {settled} AND {_LAST_ACTIVITY} < ?"
                                  " AND account = ? AND client = ?", [*SETTLED, iso(cutoff), account, name])
        loose = self._keys("SELECT id FROM messages WHERE thread_id IS NULL AND received_at < ?",
                           [iso(messages_before)])
        messages = sorted(set(loose) | set(self._thread_messages(threads)))
        replies = self._keys(f"SELECT id FROM replies WHERE (account, thread_id) IN {GONE}", [_json(threads)])
        selection = Selection(sorted(threads), messages, replies)
        selection.other = self._around(threads, loose)
        return selection

    # --- reading out ----------------------------------------------------------------------------

    def selected(self, selection: Selection) -> tuple[list[Thread], list[Message], list[Reply]]:
        """The rows of a selection (for `export`), the threads it hands over included."""
        numbers = [*selection.threads, *selection.handover]
        return ([Thread.from_row(r) for r in self.rows(
                    f"SELECT * FROM threads WHERE number IN {EACH} ORDER BY number", [_json(numbers)])],
                [Message.from_row(r) for r in self.rows(
                    f"SELECT * FROM messages WHERE id IN {EACH} ORDER BY received_at, id",
                    [_json(selection.messages)])],
                [Reply.from_row(r) for r in self.rows(
                    f"SELECT * FROM replies WHERE id IN {EACH} ORDER BY planned_at, id", [_json(selection.replies)])])

    def erasures(self) -> list[sqlite3.Row]:
        return self.rows("SELECT * FROM erasures ORDER BY id")

    def removed_since(self, since: str, kind: str = "retention") -> int:
        """Threads removed by erasures of `kind` after `since` (for the morning summary)."""
        return self.count("SELECT coalesce(sum(threads), 0) FROM erasures WHERE kind = ? AND at > ?", [kind, since])

    # --- erasing --------------------------------------------------------------------------------

    def erase(self, selection: Selection, kind: str, now: datetime, reference: str | None) -> None:
        """Delete the selection in one transaction, overwriting the freed bytes (secure_delete),
        take its needles out of the text that stays, and log the erasure (counts and reference only)."""
        self._functions()
        self.conn.execute("PRAGMA secure_delete = ON")
        with self.transaction():
            self._handover(selection.handover, selection.needles[:1])
            tables = {"threads": ("number", selection.threads), "messages": ("id", selection.messages),
                      "replies": ("id", selection.replies), "answers": ("id", selection.other.get("answers", [])),
                      "refs": ("rowid", selection.other.get("refs", [])),
                      "reminders": ("rowid", selection.other.get("reminders", []))}
            for table, (key, keys) in tables.items():
                self.execute(f"DELETE FROM {table} WHERE {key} IN {EACH}", [_json(keys)])
            self.execute(f"UPDATE messages SET reply_to = NULL WHERE id IN {EACH}", [_json(selection.unlink)])
            self._scrub(selection)
            self.execute("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = '1'",
                         [COMPACT_PENDING])  # cleared once compact() has left no removed byte behind
            counts = selection.counts()
            for needle in [*selection.addresses, *selection.needles]:  # "request of jan@acme.pl": no personal data
                reference = _whole(needle).sub(_REMOVED, reference) if reference else reference
            self.insert("erasures", {"at": iso(now), "kind": kind, "reference": reference,
                                     "threads": counts["threads"], "messages": counts["messages"],
                                     "replies": counts["replies"], "rows": selection.rows})

    def log_erasure(self, kind: str, now: datetime, reference: str | None, *, threads: int = 0, messages: int = 0,
                    replies: int = 0) -> None:
        with self.transaction():
            self.insert("erasures", {"at": iso(now), "kind": kind, "reference": reference, "threads": threads,
                                     "messages": messages, "replies": replies, "rows": threads + messages + replies})

    def _handover(self, numbers: list[int], needles: list[str]) -> None:
        """A shared thread the person started stays with the others: it takes the sender, name and
        subject of its earliest remaining message from someone else."""
        if not needles:
            return
        for number in numbers:
            row = self.one(
                "SELECT m.sender, m.sender_name, m.subject FROM messages m JOIN threads t ON t.account = m.account"
                " AND t.id = m.thread_id WHERE t.number = ? AND mt_person(m.sender) != ?"
                " AND coalesce(mt_person(m.reply_to), '') != ? ORDER BY m.received_at, m.id LIMIT 1",
                [number, needles[0], needles[0]])
            if row is not None:
                self.execute(
                    "UPDATE threads SET sender = ?, sender_name = ?, subject = ? WHERE number = ?",
                    [row["sender"], row["sender_name"], row["subject"], number])

    def _scrub(self, selection: Selection) -> None:
        """The person's address taken out of every text column and meta value that stays; their names
        only out of the threads that stay where they wrote (a name is no address: 'Acme' or 'Status' as
        someone's name must not rewrite other people's rows). Matched in Python: SQLite's lower() is
        ASCII only."""
        for key in selection.meta:
            self.execute("DELETE FROM meta WHERE key = ?", [key])
        if not selection.needles:
            return
        names = selection.needles[1:]
        for address in selection.addresses or selection.needles[:1]:
            for table, columns in {**_TEXTS, "meta": ("value",)}.items():
                key = "key" if table == "meta" else "rowid"
                for column in columns:
                    self._replace(table, key, column, address, "")
        if not names or not selection.shared:
            return
        handed = f"(account, {{id}}) IN (SELECT account, id FROM threads WHERE number IN {EACH})"
        scope = {"threads": f"number IN {EACH}", "messages": handed.format(id="thread_id"),
                 "replies": handed.format(id="thread_id")}
        for name in names:
            for table, columns in _TEXTS.items():
                for column in columns:
                    self._replace(table, "rowid", column, name, f" AND {scope[table]}", [_json(selection.shared)])

    def _replace(self, table: str, key: str, column: str, needle: str, where: str,
                 params: list[SqlValue] | None = None) -> None:
        """`needle` (whole, any case) replaced by [removed] in `column`; in a JSON column (hits), only in
        its strings, so the JSON stays whole."""
        pattern = _whole(needle)
        for row in self.rows(f"SELECT {key} AS k, {column} AS v FROM {table} WHERE mt_mentions({column}, ?){where}",
                             [needle, *(params or [])]):
            text = str(row["v"])
            if column in _JSON_COLUMNS or (table == "meta" and text[:1] in "[{"):
                try:
                    text = json.dumps(_scrubbed(json.loads(text), pattern), ensure_ascii=False)
                except ValueError:  # not JSON after all: plain text
                    text = pattern.sub(_REMOVED, text)
            else:
                text = pattern.sub(_REMOVED, text)
            self.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", [text, row["k"]])

    def compact(self) -> bool:
        """Leave no removed byte in the file or its WAL: checkpoint, VACUUM (a new file, page by page),
        and checkpoint again, truncating the WAL to nothing. False when another connection kept the
        WAL busy (a reader): run again once it has ended."""
        self.conn.execute("PRAGMA secure_delete = ON")
        self.execute("DELETE FROM meta WHERE key = ?", [COMPACT_PENDING])  # put back below if this fails
        first = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self.conn.execute("VACUUM")
        last = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        done = not ((first and first[0]) or (last and last[0]))
        if not done:
            self.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", [COMPACT_PENDING])
        return done

    def compact_pending(self) -> bool:
        """An erasure whose removed bytes may still be in the WAL (a reader kept it, or a crash came first)."""
        return self.one("SELECT 1 AS x FROM meta WHERE key = ?", [COMPACT_PENDING]) is not None


def _json(keys: list[int]) -> str:
    return json.dumps(keys)


@functools.lru_cache(maxsize=64)  # asked once per row by mt_mentions
def _whole(needle: str) -> re.Pattern[str]:
    """`needle` as a whole address or name, in any case: an@acme.pl is not in jan@acme.pl, Jan not in
    Janina nor in jan@acme.pl."""
    return re.compile(rf"(?<![\w.+-]){re.escape(needle)}(?![\w@-])", re.IGNORECASE)


def _scrubbed(value: object, pattern: re.Pattern[str]) -> object:
    """A JSON value with `pattern` replaced in its strings (never in its keys)."""
    if isinstance(value, str):
        return pattern.sub(_REMOVED, value)
    if isinstance(value, list):
        return [_scrubbed(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, pattern) for key, item in value.items()}
    return value


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
