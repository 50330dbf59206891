"""Push: an urgent client's message answered between check times (`urgent: true`, or `push: all`).

When the watched INBOX (app/watchers.py) says something came, `answer_urgent` runs under the
database's check lock, as a check does, but for the new messages of urgent clients only:

    the UIDs past the INBOX's mark not recorded yet -> triage (as the check's) -> urgent ones
    recorded (one transaction) -> the account's outbox sent -> an alert to summary.to (alert_urgent)

Everyone else waits for the next check, as promised: their messages are not recorded, and the
INBOX's mark does not move, so the check reads them as always. It passes over what push recorded
(record.py asks `recorded_uids`), so nothing is answered twice: the lock keeps a check and a push
apart, and a thread's holding reply is planned once, by whichever sees the message first.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import datetime

from mailtriage.app.check import Line, outbox, preload_holidays
from mailtriage.app.check.record import write
from mailtriage.config.model import Rules
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.errors import MailtriageError
from mailtriage.mail.imap import Mailbox
from mailtriage.store.db import Store
from mailtriage.store.dbfile import is_database_fault

log = logging.getLogger("mailtriage")
INBOX = "INBOX"


def requested(rules: Rules) -> bool:
    """Push is asked for: `push: all`, or `push: urgent` with an urgent client."""
    return rules.push == "all" or (rules.push == "urgent" and any(c.urgent for c in rules.clients))


def wanted(rules: Rules) -> bool:
    """Whether this account's INBOX is watched: push is asked for and the check reads the INBOX
    (push answers only past the INBOX's mark, which only a check of the INBOX sets)."""
    return requested(rules) and INBOX in rules.imap.folders


def urgent(rules: Rules, client: str | None) -> bool:
    """A message of this client is answered as it comes."""
    if rules.push == "all":
        return True
    return rules.push == "urgent" and client is not None and any(c.urgent and c.name == client for c in rules.clients)


@dataclass
class Pass:
    """What one push pass did: the lines of the messages it recorded, the highest UID it looked at."""

    lines: list[Line] = field(default_factory=list)
    looked_to: int = 0
    sent: int = 0
    failed: int = 0
    error: str | None = None


def answer_urgent(rules: Rules, store: Store, mailbox: Mailbox, uidvalidity: int, now: datetime,
                  after: int = 0) -> Pass:
    """Record and answer the urgent messages past the INBOX's mark (and past UID `after`, already
    looked at). The caller holds the check lock and has the INBOX selected."""
    done = Pass(looked_to=after)
    mark = store.mark(INBOX)
    if mark is None or mark.uidvalidity != uidvalidity:
        return done  # never checked, or renumbered: the check takes its baseline first
    uids = mailbox.uids_after(max(mark.last_uid, after))
    if not uids:
        return done
    done.looked_to = uids[-1]
    new = sorted(set(uids) - store.recorded_uids(INBOX, uidvalidity, uids))
    if not new:
        return done
    from mailtriage.app.check.triage import Triage

    triage = Triage(rules, store, now, rules.calendar(preload_holidays(rules, store, now)))
    with store.transaction():
        for item in mailbox.fetch(new):
            try:
                with store.savepoint():
                    triaged = triage.fetched(INBOX, uidvalidity, item)
                    if not urgent(rules, triaged.verdict.client):
                        continue  # the next check answers it, as promised
                    done.lines.append(write(store, triaged, now, keep_subjects=rules.store_subjects))
            except Exception as exc:  # noqa: BLE001 - the check records it as broken, with why
                if is_database_fault(exc):
                    raise
                log.warning("INBOX %s: left for the next check: %s: %s", item.uid, type(exc).__name__, exc)
    if any(line.reply_to for line in done.lines):
        sending = outbox.send(store, rules, now)
        if sending is not None:
            done.sent, done.failed, done.error = sending.sent, sending.failed, sending.error
    return done


def alert(rules: Rules, store: Store, lines: list[Line], now: datetime) -> str | None:
    """The short alert to summary.to about urgent messages answered (`summary.alert_urgent`); the
    subject sent, or None when there is nothing to say or no alert is wanted."""
    answered = [line for line in lines if line.reply_to and line.thread]
    if rules.summary is None or not rules.summary.alert_urgent or not answered:
        return None
    from email.policy import SMTP

    from mailtriage.app.summary import post
    from mailtriage.mail.reply import automatic_message

    language, tz = rules.language, rules.tz
    items = []
    for line in answered:
        assert line.thread is not None
        thread = store.thread(line.thread)
        if thread is None:
            continue
        due = when(thread.deadline, tz, now, language) if thread.deadline else "—"
        subject = " ".join((thread.subject or "").split())  # one line, whatever the sender wrote
        items.append((thread.number, thread.client or NO_CLIENT[language], thread.sender, subject, due))
    if not items:
        return None
    first = items[0]
    about = f"{first[1]}: {first[3] or f'#{first[0]}'}"  # the number when no subject is stored
    if language == "pl":
        subject = f"Pilne: {about}" if len(items) == 1 else f"Pilne: {len(items)} wiadomości"
        intro = ("Między sprawdzeniami poczty przyszła pilna wiadomość. Nadawca dostał już potwierdzenie "
                 "przyjęcia z terminem odpowiedzi:") if len(items) == 1 else (
                 "Między sprawdzeniami poczty przyszły pilne wiadomości. Nadawcy dostali już potwierdzenie "
                 "przyjęcia z terminem odpowiedzi:")
        labels = ("Temat", "Termin")
    else:
        subject = f"Urgent: {about}" if len(items) == 1 else f"Urgent: {len(items)} messages"
        intro = ("An urgent message came between checks. Its sender has already had a holding reply with the "
                 "deadline:") if len(items) == 1 else (
                 "Urgent messages came between checks. Their senders have already had a holding reply with the "
                 "deadline:")
        labels = ("Subject", "Due")
    text = intro + "\n\n" + "\n\n".join(
        f"#{n} {client}: {sender}\n  {labels[0]}: {subj}\n  {labels[1]}: {due}"
        for n, client, sender, subj, due in items)
    rows = "".join(
        f"<li>#{n} <b>{html.escape(client)}</b>: {html.escape(sender)}<br>{labels[0]}: {html.escape(subj)}<br>"
        f"{labels[1]}: {html.escape(due)}</li>" for n, client, sender, subj, due in items)
    page = f"<p>{html.escape(intro)}</p><ul>{rows}</ul>"
    data = automatic_message(rules, rules.summary.to, f"mailtriage: {subject}", text, page, now).as_bytes(policy=SMTP)
    try:
        post(rules, data, "the urgent alert")
    except MailtriageError as exc:
        log.error("%s", exc)
        return None
    return subject
