"""The follow-up stage: threads the human answered (Sent folder, \\Answered flags) and threads
that went past their deadline (logged once, \\Flagged)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mailtriage.app.answered import scan_flags, scan_sent
from mailtriage.app.check.fetch import Selected
from mailtriage.app.overdue import enforce_noted
from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.mail.imap import Mailbox
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread


@dataclass(frozen=True)
class FollowUp:
    answered: int = 0
    overdue: list[Thread] = field(default_factory=list)  # the threads that became overdue at this check
    notes: list[str] = field(default_factory=list)  # one line for each of them


def flags(mailbox: Mailbox, store: Store, folder: Selected, calendar: BusinessCalendar, now: datetime) -> int:
    """Threads of a selected folder answered in some mail client since the last check."""
    return scan_flags(mailbox, store, folder.name, folder.state, calendar, now)


def after_folders(mailbox: Mailbox, store: Store, rules: Rules, calendar: BusinessCalendar,
                  now: datetime) -> FollowUp:
    """Answers in the Sent folder, then overdue threads (answers first: an answered thread is
    not overdue)."""
    answered = scan_sent(mailbox, store, calendar, now)
    late = enforce_noted(mailbox, store, rules, now, calendar)
    return FollowUp(answered, [thread for thread, _ in late], [note for _, note in late])
