"""Reminders before a deadline: which unanswered threads are due soon and were not reminded of yet,
and the record that they were (once per thread and deadline)."""

from __future__ import annotations

from datetime import datetime

from mailtriage.core.models import ThreadState
from mailtriage.store.base import Database
from mailtriage.store.rows import Thread, iso


class Reminders(Database):
    def due_unreminded(self, now: datetime, end: datetime) -> list[Thread]:
        """Open threads due between now and `end` that no reminder named with this deadline yet."""
        rows = self.rows(
            "SELECT * FROM threads t WHERE account = ? AND state = ? AND deadline >= ? AND deadline <= ? AND NOT EXISTS"
            " (SELECT 1 FROM reminders r WHERE r.account = t.account AND r.thread_id = t.id"
            " AND r.deadline = t.deadline)"
            " ORDER BY deadline, number", [self.account, ThreadState.OPEN, iso(now), iso(end)])
        return [Thread.from_row(row) for row in rows]

    def mark_reminded(self, threads: list[Thread], now: datetime) -> None:
        """These threads were reminded of at their present deadline: never again for it."""
        for thread in threads:
            assert thread.deadline is not None
            self.insert("reminders", {"thread_id": thread.id, "deadline": iso(thread.deadline), "sent_at": iso(now)},
                        or_ignore=True)

    def unmark_reminded(self, threads: list[Thread]) -> None:
        """The reminder could not be sent: let the next check try again."""
        for thread in threads:
            assert thread.deadline is not None
            self.execute("DELETE FROM reminders WHERE account = ? AND thread_id = ? AND deadline = ?",
                         [self.account, thread.id, iso(thread.deadline)])
