"""Push: an urgent client's message answered between check times (`urgent: true`, or `push: all`).

When the watched INBOX (app/watchers.py) says something came, `answer_urgent` runs under the
database's check lock, as a check does, but for the new messages of urgent clients only:

    the UIDs past the INBOX's mark not recorded yet -> triage (as the check's) -> urgent ones
    recorded (one transaction) -> the account's outbox sent (then app/alert.py, summary.alert_urgent)

Everyone else waits for the next check, as promised: their messages are not recorded, and the
INBOX's mark does not move, so the check reads them as always. It passes over what push recorded
(record.py asks `recorded_uids`), so nothing is answered twice: the lock keeps a check and a push
apart, and a thread's holding reply is planned once, by whichever sees the message first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from mailtriage.app.check import Line, outbox, preload_holidays
from mailtriage.app.check.record import write
from mailtriage.config.model import Rules
from mailtriage.mail.imap import Mailbox
from mailtriage.store.db import Store
from mailtriage.store.dbfile import is_database_fault

log = logging.getLogger("mailtriage")
INBOX = "INBOX"


def requested(rules: Rules) -> bool:
    """Push is asked for: `push: all`, or `push: urgent` with an urgent client."""
    return rules.push == "all" or (rules.push == "urgent" and any(c.urgent for c in rules.clients))


def inbox(rules: Rules) -> str | None:
    """The INBOX as the folders checked spell it (IMAP's INBOX is any case), None when not checked."""
    return next((folder for folder in rules.imap.folders if folder.upper() == INBOX), None)


def wanted(rules: Rules) -> bool:
    """Whether this account's INBOX is watched: push is asked for and the check reads the INBOX
    (push answers only past the INBOX's mark, which only a check of the INBOX sets)."""
    return requested(rules) and inbox(rules) is not None


def urgent(rules: Rules, client: str | None) -> bool:
    """A message of this client is answered as it comes."""
    if rules.push == "all":
        return True
    return rules.push == "urgent" and client is not None and any(c.urgent and c.name == client for c in rules.clients)


@dataclass
class Pass:
    """What one push pass did: the lines of the messages it recorded, the highest UID it looked at
    (past `after`: 0 when nothing new came), and why replies could not be sent, if so."""

    lines: list[Line] = field(default_factory=list)
    looked_to: int = 0
    found: bool = False  # new UIDs came: another pass may find more that came meanwhile
    error: str | None = None


def answer_urgent(rules: Rules, store: Store, mailbox: Mailbox, uidvalidity: int, now: datetime,
                  after: int = 0, folder: str = INBOX) -> Pass:
    """Record and answer the urgent messages past the INBOX's mark (and past UID `after`, already
    looked at). The caller holds the check lock and has the INBOX (`folder`, as the rules spell it)
    selected."""
    done = Pass(looked_to=after)
    mark = store.mark(folder)
    if mark is None or mark.uidvalidity != uidvalidity:
        return done  # never checked, or renumbered: the check takes its baseline first
    uids = mailbox.uids_after(max(mark.last_uid, after))
    if not uids:
        return done
    done.looked_to, done.found = uids[-1], True
    new = sorted(set(uids) - store.recorded_uids(folder, uidvalidity, uids))
    if not new:
        return done
    from mailtriage.app.check.triage import Triage

    triage = Triage(rules, store, now, rules.calendar(preload_holidays(rules, store, now)))
    with store.transaction():
        for item in mailbox.fetch(new):
            try:
                with store.savepoint():
                    triaged = triage.fetched(folder, uidvalidity, item)
                    if not urgent(rules, triaged.verdict.client):
                        continue  # the next check answers it, as promised
                    done.lines.append(write(store, triaged, now, keep_subjects=rules.store_subjects))
            except Exception as exc:  # noqa: BLE001 - the check records it as broken, with why
                if is_database_fault(exc):
                    raise
                log.warning("%s %s: left for the next check: %s: %s", folder, item.uid, type(exc).__name__, exc)
    if any(line.reply_to for line in done.lines):
        sending = outbox.send(store, rules, now)
        done.error = sending.error if sending is not None else None
    return done
