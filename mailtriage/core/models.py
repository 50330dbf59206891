"""The records that flow through a check: a fetched message, what the guards know of its past, and
what was decided about it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeAlias

# What --json prints, one object a line: whatever json.dumps takes (the shapes are the callers').
JsonObject: TypeAlias = dict[str, object]

# The values are the strings stored in the database and printed by --json: never change one.


class Decision(StrEnum):
    """What a check can decide for one message."""

    REPLY = "reply"
    RECORD = "record"
    IGNORE = "ignore"
    SKIP = "skip"


REPLY, RECORD, IGNORE, SKIP = Decision.REPLY, Decision.RECORD, Decision.IGNORE, Decision.SKIP


class ThreadState(StrEnum):
    """The states of a thread; open and overdue ones wait for an answer."""

    OPEN = "open"
    ANSWERED = "answered"
    OVERDUE = "overdue"
    CLOSED = "closed"
    IGNORED = "ignored"
    WAITING = "waiting"  # for the client (`mailtriage wait`): the clock stops, no deadline runs


STATES = tuple(state.value for state in ThreadState)  # as typed on the command line
WAITING = (ThreadState.OPEN, ThreadState.OVERDUE)  # a thread that still needs an answer
SETTLED = (ThreadState.ANSWERED, ThreadState.CLOSED)  # answered once: a new message reopens it
REOPENS = (*SETTLED, ThreadState.WAITING)  # a new message in these opens a new period, with a new deadline

# Our holding replies' Message-IDs start so: answer detection must not take them for the human's.
OUR_ID_PREFIX = "<mailtriage."
DEFAULT_ACCOUNT = "default"  # the one account of a rules file without `accounts:`, and of older records


class ReplyState(StrEnum):
    """A holding reply in the outbox: planned -> sending -> sent, failed or unknown (or expired)."""

    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class ReplyKind(StrEnum):
    """What a message in the outbox is: a holding reply, or a deadline moved and the client told."""

    HOLDING = "holding"
    MOVED = "deadline_moved"  # `snooze --notify`: moved by hand
    RENEWED = "overdue_notice"  # `overdue_notice: true`: the window counted again when it passed


class AnsweredVia(StrEnum):
    """How we learnt that a thread was answered."""

    SENT = "sent"  # a message in the Sent folder
    FLAG = "flag"  # \\Answered set by a mail client
    DONE = "done"  # closed by hand (`mailtriage close`)


class FolderKind(StrEnum):
    """Whose high-water mark: a folder triaged for new mail, or the Sent folder read for answers."""

    INCOMING = "incoming"
    SENT = "sent"


@dataclass(frozen=True)
class Incoming:
    """One message as fetched: headers only, decoded, plus what the IMAP server knows of it."""

    folder: str
    uid: int
    uidvalidity: int
    received: datetime  # INTERNALDATE: when the server got it, not the Date header
    message_id: str
    sender: str = ""  # bare lower-cased From address ('' when there is none)
    sender_name: str = ""
    reply_to: str = ""  # where an answer goes: Reply-To, else From
    recipients: tuple[str, ...] = ()  # To, Cc, Resent-To, Resent-Cc, lower-cased
    subject: str = ""
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    content_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased name -> values joined
    flags: tuple[str, ...] = ()
    size: int = 0
    broken: str | None = None  # why the message could not be read properly, if it could not
    defects: tuple[str, ...] = ()  # oddities found while parsing that a guard may care about

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def parents(self) -> tuple[str, ...]:
        """Message-IDs this one answers, nearest first: how it finds its thread."""
        return tuple(dict.fromkeys((*self.in_reply_to, *reversed(self.references))))


@dataclass(frozen=True)
class Verdict:
    """What a check does with one message, and the one reason why."""

    decision: Decision
    reason: str
    guard: str | None = None  # the guard that decided (the first that objected), if one did
    client: str | None = None
    deadline: datetime | None = None
    window: str | None = None
    language: str = "en"
    hits: tuple[tuple[str, str], ...] = ()  # (guard, reason) of every guard that objected, in table order


@dataclass(frozen=True)
class History:
    """What the records say about a message's past."""

    duplicate: bool = False  # its Message-ID was recorded before
    thread_state: ThreadState | None = None  # None: it starts a new thread
    thread_acknowledged: bool = False
    sender_limited: str | None = None  # why the per-sender limit forbids another reply, if it does
    quiet_for: timedelta | None = None  # an answered or waiting thread: time since anything last happened in it

    @property
    def reopened(self) -> bool:
        return self.thread_state in REOPENS


@dataclass(frozen=True)
class GuardContext:
    """What the guards know besides the message: who we are, what the user chose, what the records say."""

    own_addresses: frozenset[str]
    require_addressed: bool = True
    spam_folders: frozenset[str] = frozenset({"junk", "spam"})
    history: History = field(default_factory=History)
    reacknowledge_after: timedelta = timedelta(days=3)

    def is_ours(self, address: str) -> bool:
        """Our address, also with a +detail (kasia+invoices@example.com is kasia@example.com)."""
        address = address.lower()
        local, _, domain = address.rpartition("@")
        return address in self.own_addresses or f"{local.split('+', 1)[0]}@{domain}" in self.own_addresses
