"""Typed views of what the database recorded about a message, its holding reply and its thread."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class MessageRecord:
    """One row of `messages`: what a check decided about one fetched message, and why."""

    folder: str
    uidvalidity: int
    uid: int
    message_id: str
    thread_id: str | None
    sender: str
    sender_name: str
    reply_to: str
    subject: str
    received: datetime
    decision: str
    guard: str | None
    reason: str
    client: str | None
    deadline: datetime | None
    window: str | None  # None: recorded before the window was stored per message
    hits: tuple[tuple[str, str], ...]  # (guard, reason) of every guard that objected
    broken: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MessageRecord:
        received = _when(row["received_at"])
        assert received is not None  # NOT NULL in the schema
        return cls(
            folder=row["folder"], uidvalidity=row["uidvalidity"], uid=row["uid"], message_id=row["message_id"],
            thread_id=row["thread_id"], sender=row["sender"] or "", sender_name=row["sender_name"] or "",
            reply_to=row["reply_to"] or "", subject=row["subject"] or "", received=received,
            decision=row["decision"], guard=row["guard"], reason=row["reason"] or "", client=row["client"],
            deadline=_when(row["deadline"]), window=row.get("window"),
            hits=tuple((str(g), str(r)) for g, r in json.loads(row["hits"] or "[]")), broken=row["broken"])


@dataclass(frozen=True)
class ReplyRecord:
    """One row of `replies`: a holding reply in the outbox, and what became of it."""

    message_id: str
    in_reply_to: str
    thread_id: str
    recipient: str
    state: str  # planned, sending, sent, failed, expired, unknown
    planned_at: datetime
    attempted_at: datetime | None
    sent_at: datetime | None
    attempts: int
    envelope_sender: str | None
    smtp_response: str | None
    error: str | None
    reply_via: str | None  # from, reply-to or form; None: planned before this was stored
    recipient_reason: str | None
    data: bytes

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReplyRecord:
        planned = _when(row["planned_at"])
        assert planned is not None  # NOT NULL in the schema
        return cls(
            message_id=row["message_id"], in_reply_to=row["in_reply_to"], thread_id=row["thread_id"],
            recipient=row["recipient"], state=row["state"], planned_at=planned,
            attempted_at=_when(row["attempted_at"]), sent_at=_when(row["sent_at"]), attempts=row["attempts"] or 0,
            envelope_sender=row["envelope_sender"], smtp_response=row["smtp_response"], error=row["error"],
            reply_via=row.get("reply_via"), recipient_reason=row.get("recipient_reason"), data=bytes(row["data"]))


@dataclass(frozen=True)
class ThreadRecord:
    """One row of `threads`: a conversation's current state and deadline."""

    number: int
    id: str
    client: str | None
    sender: str
    subject: str
    state: str
    opened_at: datetime
    deadline: datetime | None
    window: str | None
    snoozed_from: datetime | None
    acknowledged_at: datetime | None
    answered_at: datetime | None
    answered_via: str | None
    overdue_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ThreadRecord:
        opened = _when(row["opened_at"])
        assert opened is not None  # NOT NULL in the schema
        return cls(
            number=row["number"], id=row["id"], client=row["client"], sender=row["sender"],
            subject=row["subject"] or "", state=row["state"], opened_at=opened, deadline=_when(row["deadline"]),
            window=row["window"], snoozed_from=_when(row["snoozed_from"]),
            acknowledged_at=_when(row["acknowledged_at"]), answered_at=_when(row["answered_at"]),
            answered_via=row["answered_via"], overdue_at=_when(row["overdue_at"]), closed_at=_when(row["closed_at"]))
