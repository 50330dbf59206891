"""`mailtriage report`: how one client's mail was handled in one month, for the client to read.

Figures over the periods of the client's threads opened that month (store.reports.client_periods): the
share answered within the window, the median and 90th percentile of the response in business hours, and
every period on one line. `deliver` mails it to the client's `report_to`; `send_due` is the daemon's
monthly run, at most once per client and month (claimed in the store before it is sent).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP

from mailtriage.app.standards import language_of
from mailtriage.config.accounts import DEFAULT, resolve
from mailtriage.config.model import Client, Rules
from mailtriage.core.wording import decimal, month_text, moved_text, when
from mailtriage.errors import MailtriageError, SendError
from mailtriage.mail.reply import automatic_message
from mailtriage.store import reports
from mailtriage.store.db import Store
from mailtriage.store.reports import Period
from mailtriage.store.rows import iso

SENT_KEY = "report_sent:{client}:{month}"  # meta: the monthly report of one client and month went out


def sent_key(account: str, client: str, month: str) -> str:
    """The meta key of a report sent: a named account's client as `account/client`."""
    return SENT_KEY.format(client=client if account == DEFAULT else f"{account}/{client}", month=month)


@dataclass(frozen=True)
class Line:
    """One thread period as the report shows it."""

    number: int
    received: str  # ISO 8601 in the user's time zone
    received_text: str  # as people read it: 'pon. 5 paź 10:00'
    subject: str
    sender: str
    answered_after: str  # business hours, or '' while unanswered
    within: bool | None  # None: not answered yet, not late yet
    moved: str  # 'ze środy … na czwartek …', or ''
    told: bool | None  # the client was told of the move; None: not recorded (see `moved_notices`)
    waiting: bool = False  # waiting for the client's reply (`mailtriage wait`): no deadline runs


@dataclass
class Report:
    client: str
    language: str
    month: str  # YYYY-MM
    title: str
    author: str  # who kept the mail: the display name of identity.from
    current: bool = False  # the month is still going on ("yet")
    messages: int = 0
    threads: int = 0
    judged: int = 0
    in_time: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    lines: list[Line] = field(default_factory=list)
    account: str = DEFAULT  # whose client: the report reads only that account's threads

    @property
    def share_in_time(self) -> float | None:
        return self.in_time / self.judged if self.judged else None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["share_in_time"] = None if self.share_in_time is None else round(self.share_in_time, 4)
        return data


class FutureMonth(MailtriageError):
    exit_code = 2


def month_bounds(month: str, rules: Rules) -> tuple[datetime, datetime]:
    """The first instant of `month` (YYYY-MM) and of the next one, in the rules' time zone."""
    year, number = (int(part) for part in month.split("-"))
    nxt = (year + 1, 1) if number == 12 else (year, number + 1)
    return (datetime(year, number, 1, tzinfo=rules.tz), datetime(nxt[0], nxt[1], 1, tzinfo=rules.tz))


def previous_month(today: date) -> str:
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def moved_notices(store: Store, periods: list[Period]) -> dict[str, bool]:
    """Whether the client was told of each moved deadline, by thread id: a notice of the deadline the
    thread has now (`snooze --notify`, `overdue_notice`) went out."""
    moved = [p for p in periods if p.moved_from is not None and p.deadline is not None]
    sent = store.told_deadlines([p.thread_id for p in moved])
    return {p.thread_id: p.deadline is not None and iso(p.deadline) in sent[p.thread_id] for p in moved}


def gather(store: Store, rules: Rules, client: Client, month: str, language: str, now: datetime,
           account: str = DEFAULT) -> Report:
    """The report of `client` of `account` for `month`, as of `now`."""
    start, end = month_bounds(month, rules)
    periods = reports.client_periods(store, client.name, start, end, now, account)
    year, number = (int(part) for part in month.split("-"))
    title = f"{'Raport' if language == 'pl' else 'Report'}: {client.name}, {month_text(year, number, language)}"
    if start > now:
        raise FutureMonth(f"{month} has not begun yet: a report covers the current month or an earlier one")
    report = Report(client.name, language, month, title, rules.identity.name, current=start <= now < end,
                    account=account)
    report.messages = reports.client_message_count(store, client.name, start, end, account)
    report.threads = len({p.number for p in periods})
    report.judged = sum(1 for p in periods if p.within_window is not None)
    report.in_time = sum(1 for p in periods if p.within_window)
    hours = [p.business_seconds / 3600 for p in periods if p.business_seconds is not None]
    report.median_hours = round(statistics.median(hours), 2) if hours else None
    p90 = percentile(hours, 0.9)
    report.p90_hours = None if p90 is None else round(p90, 2)
    told = moved_notices(store, periods)
    tz, today = rules.tz, now.astimezone(rules.tz).date()
    for p in periods:
        moved = moved_text(p.moved_from.astimezone(tz), p.deadline.astimezone(tz), language, today=today) \
            if p.moved_from and p.deadline else ""
        report.lines.append(Line(
            p.number, p.opened_at.astimezone(tz).isoformat(), when(p.opened_at, tz, now, language),
            p.subject or "", p.sender,
            f"{decimal(p.business_seconds / 3600, 1, language)} h" if p.business_seconds is not None else "",
            p.within_window, moved, told.get(p.thread_id) if moved else None, waiting=p.waiting))
    return report


def render(report: Report, rules: Rules, form: str) -> str:
    """The report as text or HTML (A4, no external assets)."""
    from mailtriage.mail.templates import environment

    env = environment(rules, report.language)
    suffix = "html" if form == "html" else "txt"
    return env.get_template(f"report.{report.language}.{suffix}.j2").render(r=report).removesuffix("\n") + "\n"


def build(report: Report, rules: Rules, recipient: str, now: datetime) -> EmailMessage:
    """The report as a multipart/alternative message to the client."""
    return automatic_message(rules, recipient, report.title, render(report, rules, "text"),
                             render(report, rules, "html"), now)


def deliver(store: Store, rules: Rules, client: Client, report: Report, now: datetime) -> str:
    """Mail `report` to the client's report_to over SMTP and record it as sent; return the recipient."""
    from mailtriage.app.summary import send_to

    if not client.report_to:
        raise MailtriageError(f"client {client.name} has no report_to in rules.yaml")
    if rules.smtp is None:
        raise MailtriageError("rules.yaml has no smtp section: a report is mailed over SMTP")
    data = build(report, rules, client.report_to, now).as_bytes(policy=SMTP)
    send_to(rules, client.report_to, data, f"the report for {client.name}")
    store.set_meta(sent_key(report.account, client.name, report.month), f"sent {now.isoformat()}")
    return client.report_to


def first_business_day(rules: Rules, today: date) -> date:
    """The first business day of `today`'s month."""
    return next(iter(rules.calendar().business_days(today.replace(day=1))))


def send_due(store: Store, rules: Rules, now: datetime) -> list[str]:
    """On or after the first business day of a month, last month's report to every client (of every
    account) with report_to that has not had it, from its account's identity: claimed in the store before
    sending, so never twice (a failed send is released for the next run). Returns the clients reported to."""
    if rules.reports != "monthly":
        return []
    today = now.astimezone(rules.tz).date()
    if today < first_business_day(rules, today):
        return []
    month, sent = previous_month(today), []
    for account in resolve(rules):
        own = account.rules
        for client in own.clients:
            key = sent_key(account.name, client.name, month)
            if not client.report_to or not store.claim_meta(key, f"sending {now.isoformat()}"):
                continue
            language = language_of(own, client, None)
            try:
                deliver(store, own, client, gather(store, own, client, month, language, now, account.name), now)
            except SendError:
                store.drop_meta(key)  # refused: try again at the next run
                raise
            sent.append(client.name if account.name == DEFAULT else f"{account.name}/{client.name}")
    return sent
