"""Reminders before a deadline (`reminders: {before: 2 business hours}`): after a check, one email to
summary.to listing every unanswered thread due within `before` of business time, each thread once
per deadline; nothing is sent when nothing is due. Text and HTML, like the summary.

A thread is recorded as reminded before the email goes (so it is never listed twice); when the
email cannot be sent the record is taken back, and the next check tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.windows import deadline
from mailtriage.core.wording import NO_CLIENT, clock, plural, when
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread

if TYPE_CHECKING:
    from email.message import EmailMessage


@dataclass(frozen=True)
class Item:
    """One thread in a reminder."""

    number: int
    client: str
    sender: str
    sender_name: str | None
    subject: str | None
    deadline_text: str


@dataclass
class Reminder:
    language: str
    by: str  # the latest deadline listed: "12:00" today, else "pon. 30 lis 16:00"
    items: list[Item] = field(default_factory=list)

    @property
    def subject(self) -> str:
        # '2 wątki do odpowiedzi przed 12:00' / '2 threads due before 12:00'
        return f"{self.count_text} do odpowiedzi przed {self.by}" if self.language == "pl" else \
            f"{self.count_text} due before {self.by}"

    @property
    def count_text(self) -> str:
        """'2 wątki' / '2 threads'."""
        forms = ("wątek", "wątki", "wątków") if self.language == "pl" else ("thread", "threads")
        return plural(len(self.items), forms)


def due(store: Store, rules: Rules, now: datetime, calendar: BusinessCalendar) -> list[Thread]:
    """Unanswered threads due within `reminders.before` of business time that were not reminded of yet."""
    assert rules.reminders is not None
    end = deadline(rules.reminders.before, now, calendar)
    return store.due_unreminded(now, end)


def gather(threads: list[Thread], rules: Rules, now: datetime) -> Reminder:
    tz, language = rules.tz, rules.language
    latest = max(t.deadline for t in threads if t.deadline is not None).astimezone(tz)
    by = clock(latest, language) if latest.date() == now.astimezone(tz).date() else when(latest, tz, now, language)
    return Reminder(language, by, [
        Item(t.number, t.client or NO_CLIENT[language], t.sender, t.sender_name, t.subject,
             when(t.deadline, tz, now, language) if t.deadline else "") for t in threads])


def render(reminder: Reminder, rules: Rules) -> tuple[str, str]:
    """The text and the HTML part (templates reminder.{pl,en}.{txt,html}.j2)."""
    from mailtriage.mail.templates import environment

    env = environment(rules, reminder.language)
    values = {"r": reminder}
    return (env.get_template(f"reminder.{reminder.language}.txt.j2").render(values).removesuffix("\n"),
            env.get_template(f"reminder.{reminder.language}.html.j2").render(values).removesuffix("\n"))


def build(reminder: Reminder, rules: Rules, now: datetime) -> EmailMessage:
    """A multipart/alternative message to summary.to, marked as automatic (no responder answers it)."""
    from mailtriage.mail.reply import automatic_message

    assert rules.summary is not None
    return automatic_message(rules, rules.summary.to, f"mailtriage: {reminder.subject}", *render(reminder, rules), now)


def remind(store: Store, rules: Rules, now: datetime, calendar: BusinessCalendar) -> Reminder | None:
    """Send the reminder if anything is due soon; None when nothing is (or reminders are off).
    A failure to send raises MailtriageError, and those threads are reminded of at the next check."""
    from mailtriage.app.summary import post

    if rules.reminders is None or rules.summary is None:
        return None
    threads = due(store, rules, now, calendar)
    if not threads:
        return None
    from email.policy import SMTP

    reminder = gather(threads, rules, now)
    data = build(reminder, rules, now).as_bytes(policy=SMTP)
    with store.transaction():
        store.mark_reminded(threads, now)
    try:
        post(rules, data, "the reminder")
    except MailtriageError:
        with store.transaction():
            store.unmark_reminded(threads)
        raise
    return reminder
