"""The morning summary: what is overdue, what is due today, what was answered, and how each
client's window was kept. One multipart email (text and HTML from jinja2 templates, pl or en),
sent over SMTP or appended to the INBOX. With `accounts:`, one summary over every account, each list
grouped by account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP

from mailtriage.app.stats import ClientStats, client_stats
from mailtriage.config.accounts import for_the_user, grouped, resolve
from mailtriage.config.model import Rules
from mailtriage.core.models import DEFAULT_ACCOUNT, ReplyKind, ReplyState
from mailtriage.core.wording import (
    NO_CLIENT,
    OTHER_SENDERS,
    day_text,
    duration_text,
    moved_text,
    when,
)
from mailtriage.mail.reply import automatic_message
from mailtriage.store import reports
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread, iso

LAST_SUMMARY = "last_summary_at"
LIST_LIMIT = 50  # a list longer than this helps nobody in an email: the rest is counted, not listed


@dataclass(frozen=True)
class Due:
    """A thread in the summary's lists, with its times in words."""

    number: int
    client: str
    sender: str
    sender_name: str | None
    subject: str | None
    deadline_text: str
    late_text: str
    moved_from: str | None
    moved_text: str | None
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class Undelivered:
    number: int
    client: str
    subject: str | None
    recipient: str
    state: str
    why: str
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class Answered:
    number: int
    client: str
    sender: str
    subject: str | None
    via: str
    within_window: bool
    answered_text: str
    response_text: str
    business_text: str
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class Told:
    """A client told that a deadline moved, since the last summary."""

    number: int
    client: str
    subject: str | None
    recipient: str
    automatic: bool  # overdue_notice, not snooze --notify
    deadline_text: str
    past: bool = False  # that new deadline has passed by now: "was moved to", not "now due"
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class Chase:
    """A thread still waiting for the client past its `wait --until`."""

    number: int
    client: str
    sender: str
    subject: str | None
    since_text: str
    until_text: str
    account: str = DEFAULT_ACCOUNT


@dataclass
class Summary:
    language: str
    today: str
    overdue: list[Due] = field(default_factory=list)
    due_today: list[Due] = field(default_factory=list)
    answered: list[Answered] = field(default_factory=list)
    week: list[ClientStats] = field(default_factory=list)
    month: list[ClientStats] = field(default_factory=list)
    open_later: int = 0  # open threads due after today
    overdue_total: int = 0  # the lists show at most LIST_LIMIT threads; these are the full counts
    due_today_total: int = 0
    moved: list[Due] = field(default_factory=list)  # deadlines moved on purpose (snoozed)
    undelivered: list[Undelivered] = field(default_factory=list)  # holding replies that did not go out
    told: list[Told] = field(default_factory=list)  # clients told that a deadline moved
    chase: list[Chase] = field(default_factory=list)  # no answer from the client (wait --until passed)
    accounts: tuple[str, ...] = ()  # with more than one account: their names, the order of the groups

    @property
    def pad(self) -> str:
        """The indent of a listed item under its account's name in the text part ("" when not grouped)."""
        return "  " if self.accounts else ""

    def groups(self, items: Sequence[object]) -> list[tuple[str, list[object]]]:
        """`items` (or (month, week) pairs of statistics) by account, in the order of `accounts:`;
        [("", items)] when not grouped."""
        if not self.accounts:
            return [("", list(items))]
        return [(name, mine) for name in self.accounts if (mine := [i for i in items if _account(i) == name])]
    removed: int = 0  # threads removed by retention since the last summary

    @property
    def nothing_open(self) -> bool:
        return not (self.overdue or self.due_today or self.open_later)

    @property
    def subject(self) -> str:
        pl = self.language == "pl"
        if self.nothing_open:
            return "nic otwartego" if pl else "nothing open"
        return (f"{self.overdue_total} po terminie · {self.due_today_total} na dziś" if pl
                else f"{self.overdue_total} overdue · {self.due_today_total} due today")


def _account(item: object) -> str:
    first = item[0] if isinstance(item, tuple) else item
    return str(getattr(first, "account", DEFAULT_ACCOUNT))


def gather(store: Store, rules: Rules, now: datetime, accounts: tuple[str, ...] = ()) -> Summary:
    """Everything the summary says, from a few indexed queries over every account; reads only (a thread
    past its deadline counts as overdue whether or not a check has marked it yet). `accounts`: group by them."""
    tz, language = rules.tz, rules.language
    today = now.astimezone(tz).date()
    summary = Summary(language, day_text(today, language, today=today), accounts=accounts)
    no_client = NO_CLIENT[language]

    def view(t: Thread) -> Due:
        deadline, moved = t.deadline, t.snoozed_from
        return Due(t.number, t.client or no_client, t.sender, t.sender_name, t.subject,
                   deadline_text=when(deadline, tz, now, language) if deadline else "",
                   late_text=duration_text((now - deadline).total_seconds(), language) if deadline else "",
                   moved_from=when(moved, tz, now, language) if moved else None,
                   moved_text=moved_text(moved.astimezone(tz), deadline.astimezone(tz), language, today=today)
                   if moved and deadline else None, account=t.account)

    late, summary.overdue_total = reports.overdue(store, now, LIST_LIMIT)
    summary.overdue = [view(t) for t in late]
    end_of_day = datetime.combine(today, datetime.max.time(), tzinfo=tz)
    due, summary.due_today_total = reports.due_by(store, now, end_of_day, LIST_LIMIT)
    summary.due_today = [view(t) for t in due]
    summary.moved = [view(t) for t in reports.moved_after(store, end_of_day)]
    summary.open_later = reports.open_after(store, end_of_day)
    since = store.get_meta(LAST_SUMMARY) or iso(now - timedelta(days=1))  # the first one: the last day
    unknown = "nie wiadomo, czy wyszło: wysyłanie zostało przerwane" if language == "pl" else \
        "fate unknown: sending was interrupted"
    summary.undelivered = [
        Undelivered(r.number, r.client or no_client, r.subject, r.recipient, r.state,
                    why=unknown if r.state == ReplyState.UNKNOWN else r.error or r.state, account=r.account)
        for r in reports.undelivered(store, since, LIST_LIMIT)]
    summary.answered = [
        Answered(a.number, a.client or no_client, a.sender, a.subject, a.via, a.within_window,
                 answered_text=when(a.answered_at, tz, now, language),
                 response_text=duration_text(a.response_seconds, language),
                 business_text=duration_text(a.business_seconds, language), account=a.account)
        for a in reports.answered_since(store, since, LIST_LIMIT)]
    summary.told = [
        Told(n.number, n.client or no_client, n.subject, n.recipient, n.kind == ReplyKind.RENEWED,
             deadline_text=when(n.deadline, tz, now, language), past=n.deadline <= now, account=n.account)
        for n in reports.notices_sent(store, since, LIST_LIMIT)]
    summary.chase = [
        Chase(t.number, t.client or no_client, t.sender, t.subject,
              since_text=when(t.waiting_since, tz, now, language) if t.waiting_since else "",
              until_text=when(t.waiting_until, tz, now, language) if t.waiting_until else "", account=t.account)
        for t in reports.to_chase(store, end_of_day, LIST_LIMIT)]
    summary.removed = store.removed_since(since)
    summary.week = client_stats(store, now, 7)
    summary.month = client_stats(store, now, 30)
    return summary


def render(summary: Summary, rules: Rules) -> tuple[str, str]:
    """The text and the HTML part, each without the template's last newline."""
    from mailtriage.mail.templates import environment

    env = environment(rules, summary.language)
    values = {"s": summary, "others": OTHER_SENDERS[summary.language],
              "stats": list(zip(summary.month, [_match(summary.week, c) for c in summary.month], strict=True))}
    return (env.get_template(f"summary.{summary.language}.txt.j2").render(values).removesuffix("\n"),
            env.get_template(f"summary.{summary.language}.html.j2").render(values).removesuffix("\n"))


def _match(rows: list[ClientStats], month: ClientStats) -> ClientStats | None:
    return next((row for row in rows if (row.account, row.client) == (month.account, month.client)), None)


def build(summary: Summary, rules: Rules, now: datetime) -> EmailMessage:
    """A multipart/alternative message: the text part says what the HTML part shows."""
    assert rules.summary is not None
    return automatic_message(rules, rules.summary.to, f"mailtriage: {summary.subject}", *render(summary, rules), now)


def overdue_now(store: Store, rules: Rules, now: datetime) -> None:
    """The explicit step before a summary: threads past their deadline become overdue, in every account,
    so the summary's counts are those `threads` shows."""
    for account in resolve(rules):
        store.account = account.name
        store.newly_overdue(now)
    store.account = DEFAULT_ACCOUNT


def made(store: Store, rules: Rules, now: datetime) -> tuple[Summary, Rules]:
    """The summary of every account as it will be sent, and the rules it is written and sent with."""
    overdue_now(store, rules, now)
    user = for_the_user(rules)
    return gather(store, user, now, grouped(rules)), user


def deliver(store: Store, rules: Rules, now: datetime) -> Summary:
    """Send (or append) the summary and remember when, for "answered since the last summary"."""
    assert rules.summary is not None
    summary, user = made(store, rules, now)
    data = build(summary, user, now).as_bytes(policy=SMTP)
    post(user, data, "the summary")
    store.set_meta(LAST_SUMMARY, iso(now))
    return summary


def post(rules: Rules, data: bytes, what: str) -> None:
    """A message for the user (the summary, a reminder) to summary.to, or appended to the INBOX."""
    assert rules.summary is not None
    if rules.summary.deliver == "imap":
        from mailtriage.mail.imap import Mailbox
        from mailtriage.mail.signin import imap_credential

        with Mailbox(rules.imap, imap_credential(rules)) as mailbox:
            mailbox.append("INBOX", data)
        return
    send_to(rules, rules.summary.to, data, what)


def send_to(rules: Rules, to: str, data: bytes, what: str) -> None:
    """One message over SMTP, signed in as every connection is (a password or a token), from the
    identity; a refusal is a SendError naming `what`."""
    from mailtriage.errors import SendError
    from mailtriage.mail.signin import credential
    from mailtriage.mail.smtp import SENT, send_message

    assert rules.smtp is not None
    identity = rules.identity.address
    result = send_message(rules.smtp, credential(rules, rules.smtp), identity, to, data, envelope=identity)
    if result.state != SENT:
        raise SendError(f"{what} was not sent: {result.response}")
