"""The store's typed records: a thread, a message, a holding reply, a folder's mark.

Repositories take and return these frozen dataclasses, never dict rows. Times are aware UTC
datetimes here and UTC ISO-8601 text in the database (`iso`), which sorts as time does.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from mailtriage.core.models import (
    DEFAULT_ACCOUNT,
    AnsweredVia,
    Decision,
    FolderKind,
    ReplyKind,
    ReplyState,
    ThreadState,
)

SqlValue = str | int | float | bytes | None


def iso(instant: datetime) -> str:
    """UTC ISO-8601 text, to the second: the one form of time in the database."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _iso_or_none(instant: datetime | None) -> str | None:
    return iso(instant) if instant else None


def _required(text: str | None) -> datetime:
    instant = from_iso(text)
    assert instant is not None  # NOT NULL in the schema
    return instant


@dataclass(frozen=True)
class Mark:
    """A folder's high-water mark: everything up to `last_uid` under `uidvalidity` is recorded."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class FolderMark:
    """One row of `folders`: a folder's mark, what kind of folder it is, and when it was checked."""

    name: str
    kind: FolderKind
    uidvalidity: int
    last_uid: int
    baseline_at: datetime
    checked_at: datetime | None
    highestmodseq: int | None
    account: str = DEFAULT_ACCOUNT

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FolderMark:
        return cls(row["name"], FolderKind(row["kind"]), row["uidvalidity"], row["last_uid"],
                   _required(row["baseline_at"]), from_iso(row["checked_at"]), row["highestmodseq"], row["account"])


@dataclass(frozen=True)
class Thread:
    """One row of `threads`: a conversation's current period, state and deadline."""

    id: str  # the Message-ID that started it
    sender: str
    first_received: datetime
    opened_at: datetime  # its first message, or the message that reopened it
    state: ThreadState
    number: int = 0  # given by the database when the thread is inserted
    client: str | None = None
    sender_name: str | None = None
    subject: str | None = None
    last_received: datetime | None = None  # None: as first_received
    deadline: datetime | None = None
    window: str | None = None
    reason: str | None = None
    language: str | None = None
    acknowledged_at: datetime | None = None
    answered_at: datetime | None = None
    answered_via: AnsweredVia | None = None
    response_seconds: float | None = None
    response_business_seconds: float | None = None
    overdue_at: datetime | None = None
    snoozed_from: datetime | None = None
    closed_at: datetime | None = None
    waiting_since: datetime | None = None  # waiting for the client since (`mailtriage wait`)
    waiting_until: datetime | None = None  # ... and to be chased after this, if given
    account: str = DEFAULT_ACCOUNT  # whose mailbox; a store writes its own account, whatever this says

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Thread:
        return cls(
            id=row["id"], sender=row["sender"], first_received=_required(row["first_received"]),
            opened_at=_required(row["opened_at"]), state=ThreadState(row["state"]), number=row["number"],
            client=row["client"], sender_name=row["sender_name"], subject=row["subject"],
            last_received=from_iso(row["last_received"]), deadline=from_iso(row["deadline"]), window=row["window"],
            reason=row["reason"], language=row["language"], acknowledged_at=from_iso(row["acknowledged_at"]),
            answered_at=from_iso(row["answered_at"]),
            answered_via=AnsweredVia(row["answered_via"]) if row["answered_via"] else None,
            response_seconds=row["response_seconds"], response_business_seconds=row["response_business_seconds"],
            overdue_at=from_iso(row["overdue_at"]), snoozed_from=from_iso(row["snoozed_from"]),
            closed_at=from_iso(row["closed_at"]), waiting_since=from_iso(row["waiting_since"]),
            waiting_until=from_iso(row["waiting_until"]), account=row["account"])

    def columns(self) -> dict[str, SqlValue]:
        """The row to insert (the number is the database's to give)."""
        return {
            "id": self.id, "client": self.client, "sender": self.sender, "sender_name": self.sender_name,
            "subject": self.subject, "first_received": iso(self.first_received),
            "last_received": iso(self.last_received or self.first_received), "opened_at": iso(self.opened_at),
            "deadline": _iso_or_none(self.deadline), "window": self.window, "state": self.state,
            "reason": self.reason, "language": self.language, "account": self.account}

    @property
    def waiting(self) -> bool:
        """Open or overdue: it still needs an answer."""
        return self.state in (ThreadState.OPEN, ThreadState.OVERDUE)


@dataclass(frozen=True)
class Message:
    """One row of `messages`: what a check decided about one fetched message, and why."""

    folder: str
    uidvalidity: int
    uid: int
    message_id: str
    received: datetime
    decision: Decision
    reason: str
    thread_id: str | None = None
    sender: str = ""
    sender_name: str = ""
    reply_to: str = ""
    subject: str = ""
    date_header: datetime | None = None
    size: int | None = None
    guard: str | None = None
    client: str | None = None
    deadline: datetime | None = None
    window: str | None = None  # None: recorded before the window was stored per message
    hits: tuple[tuple[str, str], ...] = ()  # (guard, reason) of every guard that objected
    broken: str | None = None
    account: str = DEFAULT_ACCOUNT

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            folder=row["folder"], uidvalidity=row["uidvalidity"], uid=row["uid"], message_id=row["message_id"],
            received=_required(row["received_at"]), decision=Decision(row["decision"]), reason=row["reason"] or "",
            thread_id=row["thread_id"], sender=row["sender"] or "", sender_name=row["sender_name"] or "",
            reply_to=row["reply_to"] or "", subject=row["subject"] or "", date_header=from_iso(row["date_header"]),
            size=row["size"], guard=row["guard"], client=row["client"], deadline=from_iso(row["deadline"]),
            window=row["window"], hits=tuple((str(g), str(r)) for g, r in json.loads(row["hits"] or "[]")),
            broken=row["broken"], account=row["account"])

    def columns(self) -> dict[str, SqlValue]:
        return {
            "folder": self.folder, "uidvalidity": self.uidvalidity, "uid": self.uid, "message_id": self.message_id,
            "thread_id": self.thread_id, "sender": self.sender, "sender_name": self.sender_name,
            "reply_to": self.reply_to, "subject": self.subject, "received_at": iso(self.received),
            "date_header": _iso_or_none(self.date_header), "size": self.size, "decision": self.decision,
            "guard": self.guard, "reason": self.reason, "client": self.client,
            "deadline": _iso_or_none(self.deadline), "broken": self.broken,
            "hits": json.dumps(self.hits, ensure_ascii=False) if self.hits else None, "window": self.window,
            "account": self.account}


@dataclass(frozen=True)
class Reply:
    """One row of `replies`: a holding reply in the outbox, and what became of it."""

    thread_id: str
    in_reply_to: str
    message_id: str  # the reply's own
    recipient: str
    sender_key: str  # the recipient as the per-sender limit counts it
    planned_at: datetime
    data: bytes
    state: ReplyState = ReplyState.PLANNED
    id: int = 0  # given by the database when the reply is planned
    language: str | None = None
    attempted_at: datetime | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    envelope_sender: str | None = None
    smtp_response: str | None = None
    error: str | None = None
    reply_via: str | None = None  # from, reply-to or form; None: planned before this was stored
    recipient_reason: str | None = None
    kind: ReplyKind = ReplyKind.HOLDING
    about: str = ""  # a notice of a moved deadline: the new deadline (one notice per move)
    account: str = DEFAULT_ACCOUNT

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Reply:
        return cls(
            thread_id=row["thread_id"], in_reply_to=row["in_reply_to"], message_id=row["message_id"],
            recipient=row["recipient"], sender_key=row["sender_key"], planned_at=_required(row["planned_at"]),
            data=bytes(row["data"]), state=ReplyState(row["state"]), id=row["id"], language=row["language"],
            attempted_at=from_iso(row["attempted_at"]), sent_at=from_iso(row["sent_at"]),
            attempts=row["attempts"] or 0, envelope_sender=row["envelope_sender"],
            smtp_response=row["smtp_response"], error=row["error"], reply_via=row["reply_via"],
            recipient_reason=row["recipient_reason"], kind=ReplyKind(row["kind"]), about=row["about"],
            account=row["account"])

    def columns(self) -> dict[str, SqlValue]:
        """The row a new plan inserts (what happens to it later is written by the outbox)."""
        return {
            "thread_id": self.thread_id, "in_reply_to": self.in_reply_to, "message_id": self.message_id,
            "recipient": self.recipient, "sender_key": self.sender_key, "language": self.language,
            "state": self.state, "planned_at": iso(self.planned_at), "data": self.data,
            "reply_via": self.reply_via, "recipient_reason": self.recipient_reason, "kind": self.kind,
            "about": self.about, "account": self.account}
