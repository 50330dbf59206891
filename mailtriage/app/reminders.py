"""Reminders before a deadline (`reminders: {before: 2 business hours}`): after a check, one email to
summary.to listing every unanswered thread due within `before` of business time, each thread once
per deadline; nothing is sent when nothing is due. Text and HTML, like the summary. With `accounts:`,
one reminder per check run over every account (`remind_accounts`), grouped by account.

A thread is recorded as reminded before the email goes (so it is never listed twice); when the
email cannot be sent the record is taken back, and the next check tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from mailtriage.config.accounts import DEFAULT, for_the_user, grouped, resolve
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
    account: str = DEFAULT


@dataclass
class Reminder:
    language: str
    by: str  # the latest deadline listed: "12:00" today, else "pon. 30 lis 16:00"
    items: list[Item] = field(default_factory=list)
    accounts: tuple[str, ...] = ()  # with more than one account: their names, the order of the groups

    def groups(self) -> list[tuple[str, list[Item]]]:
        """The items by account, in the order of `accounts:` ([("", items)] when not grouped)."""
        if not self.accounts:
            return [("", self.items)]
        return [(name, mine) for name in self.accounts if (mine := [i for i in self.items if i.account == name])]

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


def gather(threads: list[Thread], rules: Rules, now: datetime, accounts: tuple[str, ...] = ()) -> Reminder:
    tz, language = rules.tz, rules.language
    latest = max(t.deadline for t in threads if t.deadline is not None).astimezone(tz)
    by = clock(latest, language) if latest.date() == now.astimezone(tz).date() else when(latest, tz, now, language)
    return Reminder(language, by, [
        Item(t.number, t.client or NO_CLIENT[language], t.sender, t.sender_name, t.subject,
             when(t.deadline, tz, now, language) if t.deadline else "", t.account) for t in threads], accounts)


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
    if rules.reminders is None or rules.summary is None:
        return None
    return _send([(store, due(store, rules, now, calendar))], rules, now, ())


def remind_accounts(rules: Rules, now: datetime, calendar: BusinessCalendar) -> Reminder | None:
    """One reminder over every account of `accounts:` (grouped by account when there are several), sent
    once per check run by whoever ran the accounts' checks; as `remind` otherwise."""
    if rules.reminders is None or rules.summary is None:
        return None
    stores = [Store(rules.database, account=account.name) for account in resolve(rules)]
    try:
        return _send([(store, due(store, rules, now, calendar)) for store in stores], for_the_user(rules), now,
                     grouped(rules))
    finally:
        for store in stores:
            store.close()


def _send(due_by_store: Sequence[tuple[Store, list[Thread]]], rules: Rules, now: datetime,
          accounts: tuple[str, ...]) -> Reminder | None:
    """Mark the threads reminded (each in its account's store), post one reminder, take the marks back
    when it cannot be sent."""
    from email.policy import SMTP

    from mailtriage.app.summary import post

    threads = sorted((t for _, mine in due_by_store for t in mine), key=lambda t: (t.deadline or now, t.number))
    if not threads:
        return None
    reminder = gather(threads, rules, now, accounts)
    data = build(reminder, rules, now).as_bytes(policy=SMTP)
    for store, mine in due_by_store:
        with store.transaction():
            store.mark_reminded(mine, now)
    try:
        post(rules, data, "the reminder")
    except MailtriageError:
        for store, mine in due_by_store:
            with store.transaction():
                store.unmark_reminded(mine)
        raise
    return reminder
