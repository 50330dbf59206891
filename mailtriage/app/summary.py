"""The morning summary: what is overdue, what is due today, what was answered, and how each
client's window was kept. One multipart email (text and HTML from jinja2 templates, pl or en),
sent over SMTP or appended to the INBOX."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from mailtriage.app.stats import ClientStats, client_stats
from mailtriage.config.model import Rules
from mailtriage.core.wording import (
    NO_CLIENT,
    OTHER_SENDERS,
    day_text,
    duration_text,
    moved_text,
    when,
)
from mailtriage.mail.reply import new_message_id
from mailtriage.store.db import Store, from_iso, iso

LAST_SUMMARY = "last_summary_at"
LIST_LIMIT = 50  # a list longer than this helps nobody in an email: the rest is counted, not listed


@dataclass
class Summary:
    language: str
    today: str
    overdue: list[dict[str, Any]] = field(default_factory=list)
    due_today: list[dict[str, Any]] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)
    week: list[ClientStats] = field(default_factory=list)
    month: list[ClientStats] = field(default_factory=list)
    open_later: int = 0  # open threads due after today
    overdue_total: int = 0  # the lists show at most LIST_LIMIT threads; these are the full counts
    due_today_total: int = 0
    moved: list[dict[str, Any]] = field(default_factory=list)  # deadlines moved on purpose (snoozed)
    undelivered: list[dict[str, Any]] = field(default_factory=list)  # holding replies that did not go out

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


def gather(store: Store, rules: Rules, now: datetime) -> Summary:
    """Everything the summary says, from a few indexed queries."""
    store.newly_overdue(now)  # so the counts are those of this moment, as `threads` would show
    tz, language = rules.tz, rules.language
    local_now = now.astimezone(tz)
    today = local_now.date()
    summary = Summary(language, day_text(today, language, today=today))
    no_client = NO_CLIENT[language]

    def view(row: dict[str, Any]) -> dict[str, Any]:
        deadline = from_iso(row["deadline"])
        moved = from_iso(row.get("snoozed_from"))
        return {**row, "client": row["client"] or no_client,
                "deadline_text": when(deadline, tz, now, language) if deadline else "",
                "late_text": duration_text((now - deadline).total_seconds(), language) if deadline else "",
                "moved_from": when(moved, tz, now, language) if moved else None,
                "moved_text": moved_text(moved.astimezone(tz), deadline.astimezone(tz), language, today=today)
                if moved and deadline else None}

    columns = "number, client, sender, sender_name, subject, deadline, snoozed_from"
    summary.overdue = [view(r) for r in store.db.query(
        f"SELECT {columns} FROM threads WHERE state = 'overdue' ORDER BY deadline, number LIMIT {LIST_LIMIT}")]
    summary.overdue_total = _count(store, "state = 'overdue'", [])
    end_of_day = datetime.combine(today, datetime.max.time(), tzinfo=tz)
    summary.due_today = [view(r) for r in store.db.query(
        f"SELECT {columns} FROM threads WHERE state = 'open' AND deadline <= ? ORDER BY deadline, number"
        f" LIMIT {LIST_LIMIT}", [iso(end_of_day)])]
    summary.due_today_total = _count(store, "state = 'open' AND deadline <= ?", [iso(end_of_day)])
    summary.moved = [view(r) for r in store.db.query(
        f"SELECT {columns} FROM threads WHERE state = 'open' AND snoozed_from IS NOT NULL AND deadline > ?"
        " ORDER BY deadline, number", [iso(end_of_day)])]
    later = store.one("SELECT count(*) AS n FROM threads WHERE state = 'open' AND deadline > ?", [iso(end_of_day)])
    summary.open_later = later["n"] if later else 0
    since = store.get_meta(LAST_SUMMARY) or iso(now - timedelta(days=1))  # the first one: the last day
    unknown = "nie wiadomo, czy wyszło: wysyłanie zostało przerwane" if language == "pl" else \
        "fate unknown: sending was interrupted"
    summary.undelivered = [{**r, "client": r["client"] or no_client,
                            "why": unknown if r["state"] == "unknown" else r["error"] or r["state"]}
                           for r in store.undelivered_replies(since, LIST_LIMIT)]
    summary.answered = [{**r, "client": r["client"] or no_client,
                         "answered_text": when(datetime.fromisoformat(r["answered_at"]), tz, now, language),
                         "response_text": duration_text(r["response_seconds"], language),
                         "business_text": duration_text(r["business_seconds"], language)}
                        for r in store.db.query(
        "SELECT t.number, a.client, t.sender, t.subject, a.answered_at, a.via, a.response_seconds,"
        " a.business_seconds, a.within_window FROM answers a JOIN threads t ON t.id = a.thread_id"
        f" WHERE a.answered_at > ? ORDER BY a.answered_at LIMIT {LIST_LIMIT}", [since])]
    summary.week = client_stats(store, now, 7)
    summary.month = client_stats(store, now, 30)
    return summary


def _count(store: Store, where: str, params: list[Any]) -> int:
    row = store.one(f"SELECT count(*) AS n FROM threads WHERE {where}", params)
    return int(row["n"]) if row else 0


def render(summary: Summary, rules: Rules) -> tuple[str, str]:
    """The text and the HTML part, each without the template's last newline."""
    from mailtriage.mail.templates import environment

    env = environment(rules, summary.language)
    values = {"s": summary, "others": OTHER_SENDERS[summary.language],
              "stats": list(zip(summary.month, [_match(summary.week, c) for c in summary.month], strict=True))}
    return (env.get_template(f"summary.{summary.language}.txt.j2").render(values).removesuffix("\n"),
            env.get_template(f"summary.{summary.language}.html.j2").render(values).removesuffix("\n"))


def _match(rows: list[ClientStats], month: ClientStats) -> ClientStats | None:
    return next((row for row in rows if row.client == month.client), None)


def build(summary: Summary, rules: Rules, now: datetime) -> EmailMessage:
    """A multipart/alternative message: the text part says what the HTML part shows."""
    assert rules.summary is not None
    text, html = render(summary, rules)
    message = EmailMessage()
    message["From"] = rules.identity.from_
    message["To"] = rules.summary.to
    message["Subject"] = f"mailtriage: {summary.subject}"
    message["Date"] = format_datetime(now.astimezone(rules.tz))
    message["Message-ID"] = new_message_id(rules.identity.address)
    message["Auto-Submitted"] = "auto-generated"  # a report: no responder may answer it
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def deliver(store: Store, rules: Rules, now: datetime) -> Summary:
    """Send (or append) the summary and remember when, for "answered since the last summary"."""
    from mailtriage.config.credentials import read_password

    assert rules.summary is not None
    summary = gather(store, rules, now)
    data = build(summary, rules, now).as_bytes(policy=SMTP)
    if rules.summary.deliver == "imap":
        from mailtriage.mail.imap import Mailbox

        with Mailbox(rules.imap, read_password(rules.imap)) as mailbox:
            mailbox.append("INBOX", data)
    else:
        from mailtriage.mail.smtp import SENT, send_message

        assert rules.smtp is not None
        identity = rules.identity.address
        password = read_password(rules.smtp) if rules.smtp.username else None
        result = send_message(rules.smtp, password, identity, rules.summary.to, data, envelope=identity)
        if result.state != SENT:
            from mailtriage.errors import SendError

            raise SendError(f"the summary was not sent: {result.response}")
    store.set_meta(LAST_SUMMARY, iso(now))
    return summary
