"""Enforcement: an unanswered thread past its deadline becomes overdue, is logged once, and its
newest message gets \\Flagged so it stands out in every mail client; the flag we set is taken
away again once the thread is answered or closed."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.models import ThreadState
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.mail.imap import Mailbox
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread

log = logging.getLogger("mailtriage")


def enforce(mailbox: Mailbox, store: Store, rules: Rules, now: datetime,
            calendar: BusinessCalendar | None = None) -> list[Thread]:
    """Mark overdue threads (with overdue_notice, renew their deadline and tell the client), and
    flag them; return those that became overdue at this check, as they are now."""
    late = store.newly_overdue(now)
    if rules.overdue_notice and late:
        from mailtriage.app.notices import renew

        late = renew(store, rules, late, now, calendar or rules.calendar())
    if rules.flag_overdue:
        for folder in rules.imap.folders:
            sync_flags(mailbox, store, folder)
    return late


def overdue_note(thread: Thread, tz: ZoneInfo, now: datetime) -> str:
    """The line a check prints for a thread that became overdue."""
    if thread.state == ThreadState.OPEN and thread.snoozed_from and thread.deadline:  # renewed: overdue_notice
        return (f"overdue: #{thread.number} {thread.client or NO_CLIENT['en']} {thread.subject!r} "
                f"from {thread.sender}, was due {when(thread.snoozed_from, tz, now)}; the client is told: "
                f"now due {when(thread.deadline, tz, now)}")
    was = when(thread.deadline, tz, now) if thread.deadline else "?"
    return (f"overdue: #{thread.number} {thread.client or NO_CLIENT['en']} {thread.subject!r} "
            f"from {thread.sender}, was due {was}")


def sync_flags(mailbox: Mailbox, store: Store, folder: str) -> None:
    """Flag what is overdue and unflag what we flagged and is now settled, in one folder."""
    mark = store.mark(folder)
    if mark is None:
        return
    to_flag = store.unflagged_overdue(folder, mark.uidvalidity)
    to_unflag = store.flagged_but_settled(folder, mark.uidvalidity)
    if not (to_flag or to_unflag):
        return  # the usual case: no read-write SELECT at all
    state = mailbox.select(folder, readonly=False)
    if state.uidvalidity != mark.uidvalidity:
        return
    mailbox.set_flag(to_flag, b"\\Flagged", on=True)
    mailbox.set_flag(to_unflag, b"\\Flagged", on=False)
    with store.transaction():
        store.set_flagged(folder, mark.uidvalidity, to_flag, True)
        store.set_flagged(folder, mark.uidvalidity, to_unflag, False)
