"""Enforcement: an unanswered thread past its deadline becomes overdue, is logged once, and its
newest message gets \\Flagged so it stands out in every mail client; the flag we set is taken
away again once the thread is answered or closed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.models import ThreadState
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.mail.imap import Mailbox
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread

log = logging.getLogger("mailtriage")
RENEW_WITHIN = timedelta(days=7)


def enforce(mailbox: Mailbox, store: Store, rules: Rules, now: datetime,
            calendar: BusinessCalendar | None = None) -> list[Thread]:
    """Mark overdue threads (with overdue_notice, renew their deadline and tell the client), and
    flag them; return those that became overdue (or were renewed) at this check, as they are now."""
    return [thread for thread, _ in enforce_noted(mailbox, store, rules, now, calendar)]


def enforce_noted(mailbox: Mailbox, store: Store, rules: Rules, now: datetime,
                  calendar: BusinessCalendar | None = None) -> list[tuple[Thread, str]]:
    """`enforce`, each thread with the line the check prints for it."""
    late = [(thread, thread.deadline) for thread in store.newly_overdue(now)]
    if rules.overdue_notice:
        from mailtriage.app.notices import renew

        # Not only those this check marked: `summary`, `status` or the daemon may have marked them first.
        # But not a backlog: a deadline missed more than RENEW_WITHIN ago (overdue_notice just turned on,
        # the service down for weeks) is the assistant's to answer, not an automatic apology's.
        pending = store.overdue_not_renewed(now, now - RENEW_WITHIN)
        renewed = {t.id: t for t in renew(store, rules, pending, now, calendar or rules.calendar())}
        was = {t.id: t.deadline for t in pending}
        seen = {t.id for t, _ in late}
        late = [(renewed.get(t.id, t), d) for t, d in late]
        late += [(t, was[t.id]) for t in renewed.values() if t.id not in seen and t.deadline != was[t.id]]
    if rules.flag_overdue:
        for folder in rules.imap.folders:
            sync_flags(mailbox, store, folder)
    return [(thread, overdue_note(thread, rules.tz, now, was_due)) for thread, was_due in late]


def overdue_note(thread: Thread, tz: ZoneInfo, now: datetime, was_due: datetime | None = None) -> str:
    """The line a check prints for a thread that became overdue; `was_due`: the deadline that
    passed (a renewed thread's deadline is the new one)."""
    if thread.state == ThreadState.OPEN and thread.deadline and was_due and thread.deadline != was_due:
        return (f"overdue: #{thread.number} {thread.client or NO_CLIENT['en']} {thread.subject!r} "
                f"from {thread.sender}, was due {when(was_due, tz, now)}; the client is told: "
                f"now due {when(thread.deadline, tz, now)}")
    passed = was_due or thread.deadline
    was = when(passed, tz, now) if passed else "?"
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
