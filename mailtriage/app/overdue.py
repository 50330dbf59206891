"""Enforcement: an unanswered thread past its deadline becomes overdue, is logged once, and its
newest message gets \\Flagged so it stands out in every mail client; the flag we set is taken
away again once the thread is answered or closed."""

from __future__ import annotations

import logging
from datetime import datetime

from mailtriage.config.model import Rules
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.mail.imap import Mailbox
from mailtriage.store.db import Store, from_iso

log = logging.getLogger("mailtriage")


def enforce(mailbox: Mailbox, store: Store, rules: Rules, now: datetime) -> list[str]:
    """Mark overdue threads; return one line for each that became overdue at this check."""
    lines = []
    for row in store.newly_overdue(now):
        due = from_iso(row["deadline"])
        was = when(due, rules.tz, now) if due else "?"
        lines.append(f"overdue: #{row['number']} {row['client'] or NO_CLIENT['en']} {row['subject']!r} "
                     f"from {row['sender']}, was due {was}")
    if rules.flag_overdue:
        for folder in rules.imap.folders:
            sync_flags(mailbox, store, folder)
    return lines


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
