"""The outbox of holding replies: planned -> sending -> sent, failed, unknown (or expired).

Notices of a moved deadline (`kind`) go out through the same outbox; they do not acknowledge a
thread and the per-sender limit does not count them.

A reply is marked `sending` (committed) before its SMTP transaction starts; after a crash a reply
still `sending` has an unknown fate and becomes `unknown`: it is never sent again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailtriage.core.models import ReplyKind, ReplyState, ThreadState
from mailtriage.store.base import Database
from mailtriage.store.rows import Reply, SqlValue, iso

PLANNED, SENDING, SENT = ReplyState.PLANNED, ReplyState.SENDING, ReplyState.SENT


class Replies(Database):
    def plan_reply(self, reply: Reply) -> None:
        """Write a reply as planned; same transaction as its message. A holding reply acknowledges the thread."""
        self.insert("replies", reply.columns())
        self.insert("refs", {"message_id": reply.message_id, "thread_id": reply.thread_id}, or_ignore=True)
        if reply.kind == ReplyKind.HOLDING:
            self.execute("UPDATE threads SET acknowledged_at = ? WHERE account = ? AND id = ?",
                         [iso(reply.planned_at), self.account, reply.thread_id])

    def plan_notice(self, reply: Reply) -> bool:
        """Plan a notice of a moved deadline, unless one for this move (kind, new deadline) was
        planned already; True when it was planned now."""
        if self.one("SELECT 1 AS x FROM replies WHERE account = ? AND thread_id = ? AND kind = ? AND about = ?",
                    [self.account, reply.thread_id, reply.kind, reply.about]) is not None:
            return False
        self.plan_reply(reply)
        return True

    def notices_since(self, thread_id: str, kind: ReplyKind, since: datetime) -> int:
        """How many notices of this kind were planned for the thread since `since`."""
        return self.count("SELECT count(*) FROM replies WHERE account = ? AND thread_id = ? AND kind = ?"
                          " AND planned_at >= ?", [self.account, thread_id, kind, iso(since)])

    def told_deadlines(self, thread_ids: list[str]) -> dict[str, set[str]]:
        """The new deadlines (as stored, ISO 8601) each thread's sender was sent a notice of."""
        told: dict[str, set[str]] = {}
        for thread_id in thread_ids:
            rows = self.rows("SELECT about FROM replies WHERE account = ? AND thread_id = ? AND kind != ?"
                             " AND state = ?",
                             [self.account, thread_id, ReplyKind.HOLDING, SENT])
            told[thread_id] = {row["about"] for row in rows}
        return told

    def told_deadline(self, thread_id: str) -> datetime | None:
        """The last deadline the thread's sender was told (or will be: a planned reply): the one in
        the latest holding reply, or the new one in the latest notice; None when never told."""
        return self.told(thread_id)[0]

    def told(self, thread_id: str) -> tuple[datetime | None, ReplyKind | None]:
        """`told_deadline`, and the kind of reply that told it."""
        row = self.one(
            "SELECT r.kind, r.about, (SELECT m.deadline FROM messages m WHERE m.account = r.account"
            " AND m.message_id = r.in_reply_to AND m.thread_id = r.thread_id AND m.deadline IS NOT NULL LIMIT 1)"
            " AS stated FROM replies r WHERE r.account = ? AND r.thread_id = ? AND r.state IN (?, ?, ?, ?)"
            " ORDER BY r.id DESC LIMIT 1",
            [self.account, thread_id, PLANNED, SENDING, SENT, ReplyState.UNKNOWN])
        if row is None:
            return None, None
        told = row["stated"] if row["kind"] == ReplyKind.HOLDING else row["about"]
        return (datetime.fromisoformat(told) if told else None), ReplyKind(row["kind"])

    def holding_recipient(self, thread_id: str) -> Reply | None:
        """The thread's latest holding reply: its recipient was chosen by the rules for holding replies."""
        row = self.one("SELECT * FROM replies WHERE account = ? AND thread_id = ? AND kind = ?"
                       " ORDER BY id DESC LIMIT 1",
                       [self.account, thread_id, ReplyKind.HOLDING])
        return Reply.from_row(row) if row else None

    def recent_reply_to(self, sender_key: str, since: datetime, limit: int = 1) -> bool:
        """True when `limit` replies to this sender were planned since `since` (by this account)."""
        return self.count("SELECT count(*) FROM replies WHERE account = ? AND sender_key = ? AND planned_at >= ?"
                          " AND kind = ?", [self.account, sender_key, iso(since), ReplyKind.HOLDING]) >= limit

    def give_up_unknown(self) -> int:
        """Replies left `sending` by a crash may have gone out: never send them again."""
        with self.transaction():
            cursor = self.execute("UPDATE replies SET state = ?, error = 'fate unknown after an interrupted send'"
                                  " WHERE account = ? AND state = ?", [ReplyState.UNKNOWN, self.account, SENDING])
        return cursor.rowcount

    def expire_replies(self, now: datetime, retry_for: timedelta) -> int:
        """Plans too old to be worth sending, or whose thread was settled, expire; returns how
        many replies are still planned."""
        with self.transaction():
            self.execute(
                "UPDATE replies SET state = ? WHERE account = ? AND state = ? AND (planned_at < ? OR thread_id IN"
                " (SELECT id FROM threads WHERE account = ? AND state NOT IN (?, ?)))",
                [ReplyState.EXPIRED, self.account, PLANNED, iso(now - retry_for), self.account, ThreadState.OPEN,
                 ThreadState.OVERDUE])
        return self.count_replies(PLANNED)

    def drop_settled_texts(self) -> int:
        """The stored text of every reply that will not be sent (failed, expired, of unknown fate) dropped:
        it quotes the subject (store_subjects: false); returns how many were dropped."""
        with self.transaction():
            return self.execute(
                "UPDATE replies SET data = x'' WHERE account = ? AND state IN (?, ?, ?) AND length(data) > 0",
                [self.account, ReplyState.FAILED, ReplyState.EXPIRED, ReplyState.UNKNOWN]).rowcount

    def claim_next(self, after: int = 0) -> Reply | None:
        """Take the next planned reply (id above `after`) for sending: `planned -> sending`,
        committed before its SMTP transaction starts, so no reply can be sent twice and a crash
        leaves at most this one of unknown fate."""
        with self.transaction():
            row = self.execute(
                "UPDATE replies SET state = ?, attempted_at = ?, attempts = attempts + 1 WHERE id ="
                " (SELECT min(id) FROM replies WHERE account = ? AND state = ? AND id > ?) RETURNING *",
                [SENDING, iso(datetime.now(UTC)), self.account, PLANNED, after]).fetchone()
        return Reply.from_row(row) if row else None

    def finish_reply(self, reply_id: int, state: ReplyState, envelope_sender: str, response: str, *,
                     keep_text: bool = True) -> None:
        """What the SMTP server said: sent, failed (5xx), planned again (4xx) or unknown. A sent reply's
        text (it quotes the subject) is dropped when `keep_text` is False (store_subjects: false)."""
        fields: dict[str, SqlValue] = {"state": state, "envelope_sender": envelope_sender, "smtp_response": response}
        if state == SENT:
            fields["sent_at"] = iso(datetime.now(UTC))
            if not keep_text:
                fields["data"] = b""
        else:
            fields["error"] = response
        with self.transaction():
            self.update("replies", reply_id, fields)

    def fail_reply(self, reply_id: int, reason: str) -> None:
        """A reply that cannot be sent at all (no server for its address): failed, with why."""
        with self.transaction():
            self.update("replies", reply_id, {"state": ReplyState.FAILED, "error": reason})

    def count_replies(self, state: ReplyState) -> int:
        return self.count("SELECT count(*) FROM replies WHERE account = ? AND state = ?", [self.account, state])

    def reply_for(self, thread_id: str, message_id: str) -> Reply | None:
        """The holding reply planned for this message of this thread, if one was."""
        row = self.one("SELECT * FROM replies WHERE account = ? AND thread_id = ? AND in_reply_to = ? AND kind = ?",
                       [self.account, thread_id, message_id, ReplyKind.HOLDING])
        return Reply.from_row(row) if row else None

    def reply_by_id(self, message_id: str) -> Reply | None:
        """One of our holding replies, by its own Message-ID."""
        row = self.one("SELECT * FROM replies WHERE message_id = ?", [message_id])
        return Reply.from_row(row) if row else None
