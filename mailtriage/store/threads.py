"""Threads: finding the one a message continues, opening, answering, reopening, closing, snoozing,
and the periodic move of open threads past their deadline to overdue."""

from __future__ import annotations

from datetime import datetime

from mailtriage.core.models import AnsweredVia, ThreadState
from mailtriage.store.base import Database
from mailtriage.store.rows import Thread, iso

OPEN, OVERDUE = ThreadState.OPEN, ThreadState.OVERDUE


class Threads(Database):
    def thread_of(self, message_ids: tuple[str, ...]) -> str | None:
        """The thread any of these Message-IDs belongs to (the nearest parent first)."""
        for message_id in message_ids:
            row = self.one("SELECT thread_id FROM refs WHERE account = ? AND message_id = ?",
                           [self.account, message_id])
            if row:
                return str(row["thread_id"])
        return None

    def thread(self, thread_id: str) -> Thread | None:
        row = self.one("SELECT * FROM threads WHERE account = ? AND id = ?", [self.account, thread_id])
        return Thread.from_row(row) if row else None

    def threads_with_id(self, thread_id: str) -> list[Thread]:
        """The threads with this id in every account (one, unless a message came to two of our mailboxes)."""
        return [Thread.from_row(row) for row in self.rows("SELECT * FROM threads WHERE id = ? ORDER BY number",
                                                          [thread_id])]

    def thread_numbered(self, number: int) -> Thread | None:
        """A thread by its number, the one handle across accounts (its `account` says whose it is)."""
        row = self.one("SELECT * FROM threads WHERE number = ?", [number])
        return Thread.from_row(row) if row else None

    def takes_part(self, thread_id: str, sender: str, client: str | None) -> bool:
        """The sender (or the sender's client) is already part of this thread."""
        row = self.one(
            "SELECT 1 AS x FROM threads WHERE account = ? AND id = ? AND (sender = ? OR (? IS NOT NULL AND client = ?)"
            " OR EXISTS (SELECT 1 FROM messages WHERE account = ? AND thread_id = ? AND sender = ?))",
            [self.account, thread_id, sender, client, client, self.account, thread_id, sender])
        return row is not None

    def insert_thread(self, thread: Thread) -> None:
        self.insert("threads", thread.columns())
        self.add_ref(thread.id, thread.id)

    def touch_thread(self, thread_id: str, received: datetime) -> None:
        self.execute("UPDATE threads SET last_received = max(last_received, ?) WHERE account = ? AND id = ?",
                     [iso(received), self.account, thread_id])

    def add_ref(self, message_id: str, thread_id: str) -> None:
        self.insert("refs", {"message_id": message_id, "thread_id": thread_id}, or_ignore=True)

    def record_answer(self, thread: Thread, at: datetime, via: AnsweredVia, business_seconds: float) -> None:
        """The thread's current period is answered at `at`; keep the period for the statistics."""
        wall = max(0.0, (at - thread.opened_at).total_seconds())
        deadline = iso(thread.deadline) if thread.deadline else None
        within = int(deadline is None or iso(at) <= deadline)
        self.execute(
            "UPDATE threads SET state = ?, answered_at = ?, answered_via = ?, response_seconds = ?,"
            " response_business_seconds = ? WHERE account = ? AND id = ?",
            [ThreadState.ANSWERED, iso(at), via, wall, business_seconds, self.account, thread.id])
        self.insert("answers", {
            "thread_id": thread.id, "client": thread.client, "opened_at": iso(thread.opened_at),
            "deadline": deadline, "answered_at": iso(at), "via": via, "response_seconds": wall,
            "business_seconds": business_seconds, "within_window": within})

    def reopen(self, thread_id: str, received: datetime, deadline: datetime | None, window: str | None) -> None:
        """A client wrote again in an answered thread: a new period with a new deadline."""
        self.execute(
            "UPDATE threads SET state = ?, opened_at = ?, deadline = ?, window = ?, answered_at = NULL,"
            " answered_via = NULL, response_seconds = NULL, response_business_seconds = NULL, overdue_at = NULL,"
            " snoozed_from = NULL, closed_at = NULL, waiting_since = NULL, waiting_until = NULL"
            " WHERE account = ? AND id = ?",
            [OPEN, iso(received), iso(deadline) if deadline else None, window, self.account, thread_id])

    def close_thread(self, thread_id: str, now: datetime) -> None:
        self.execute("UPDATE threads SET state = ?, closed_at = ? WHERE account = ? AND id = ?",
                     [ThreadState.CLOSED, iso(now), self.account, thread_id])

    def snooze_thread(self, thread_id: str, until: datetime, now: datetime) -> None:
        """A new deadline, the first one kept; a thread moved past now is open again."""
        self.execute(
            "UPDATE threads SET deadline = ?, snoozed_from = coalesce(snoozed_from, deadline),"
            " state = CASE WHEN ? > ? THEN ? ELSE state END, overdue_at = NULL WHERE account = ? AND id = ?",
            [iso(until), iso(until), iso(now), OPEN, self.account, thread_id])

    def wait_for_client(self, thread_id: str, now: datetime, until: datetime | None) -> None:
        """The ball is in the client's court: no deadline runs until the client writes again."""
        self.execute(
            "UPDATE threads SET state = ?, waiting_since = coalesce(waiting_since, ?), waiting_until = ?,"
            " overdue_at = NULL WHERE account = ? AND id = ?",
            [ThreadState.WAITING, iso(now), iso(until) if until else None, self.account, thread_id])

    def newly_overdue(self, now: datetime) -> list[Thread]:
        """Open threads past their deadline become overdue; returned once, when it happens."""
        with self.transaction():
            rows = self.execute(
                "UPDATE threads SET state = ?, overdue_at = ? WHERE account = ? AND state = ? AND deadline < ?"
                " RETURNING *", [OVERDUE, iso(now), self.account, OPEN, iso(now)]).fetchall()
        return [Thread.from_row(row) for row in rows]

    def overdue_not_renewed(self, now: datetime, since: datetime) -> list[Thread]:
        """Acknowledged threads whose deadline passed after `since` (overdue, or open and not yet
        marked) and was not renewed with an overdue notice in their current period: whoever marked
        them overdue (a check, the summary, `status`), `overdue_notice` renews each once."""
        rows = self.rows(
            "SELECT * FROM threads t WHERE t.account = ? AND (t.state = ? OR (t.state = ? AND t.deadline < ?))"
            " AND t.deadline >= ? AND t.acknowledged_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM replies r"
            " WHERE r.account = t.account AND r.thread_id = t.id AND r.kind = 'overdue_notice'"
            " AND r.planned_at >= t.opened_at) ORDER BY t.number", [self.account, OVERDUE, OPEN, iso(now), iso(since)])
        return [Thread.from_row(row) for row in rows]

    def client_names(self) -> list[str]:
        return [row["client"] for row in self.rows("SELECT DISTINCT client FROM threads WHERE client IS NOT NULL")]
