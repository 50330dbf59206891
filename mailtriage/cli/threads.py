"""The `mailtriage` commands about recorded threads: threads, done, snooze, wait, stats, summary."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

import click

from mailtriage.cli.common import Context, account_named, emit, open_store, pass_ctx, utc_now
from mailtriage.core import wording
from mailtriage.core.models import STATES

if TYPE_CHECKING:
    from mailtriage.config.model import Rules
    from mailtriage.store.db import Store
    from mailtriage.store.rows import Thread


@click.command()
@click.option("--state", type=click.Choice(STATES),
              help="Only threads in this state (of any age).")
@click.option("--client", help="Only this client's threads, in any case ('no client' for senders no client "
              "matches).")
@click.option("--days", default=30, show_default=True, help="Without --state: threads of the last DAYS days.")
@click.option("--account", metavar="NAME", help="Only this account's threads (accounts: in rules.yaml).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per thread per line.")
@pass_ctx
def threads(obj: Context, state: str | None, client: str | None, days: int, account: str | None,
            as_json: bool) -> None:
    """List recorded threads, newest first.

    \b
    Examples:
      mailtriage -c rules.yaml threads --state overdue
      mailtriage -c rules.yaml threads --client Acme --json
    """
    from mailtriage.app.threads import list_threads

    rules = obj.rules()
    name = account_named(obj, rules, account).name if account is not None else None
    store = open_store(rules)
    now = utc_now()
    try:
        views = list_threads(store, rules.tz, now, state=state, client=client, days=days, account=name)
    finally:
        store.close()
    for view in views:
        if as_json:
            click.echo(json.dumps(view.as_dict(), ensure_ascii=False))
            continue
        t = view.thread
        if t.state == "waiting":  # no deadline runs: the date to chase the client, if any
            due = wording.when(t.waiting_until, rules.tz, now) if t.waiting_until else "waiting"
        else:
            due = wording.when(t.deadline, rules.tz, now) if t.deadline else ""
        account = f"{t.account:12} " if rules.accounts else ""  # a column only where there are several
        click.echo(f"#{t.number:<5} {account}{t.state:8} {due:16}  {t.client or wording.NO_CLIENT['en']:14} "
                   f"{t.sender:30} {_short(t.subject or '')}")
    if not views and not as_json:
        click.echo("no threads" + (f" in state {state}" if state else f" in the last {days} days")
                   + (f" for client {client}" if client else ""))


@click.command()
@click.argument("thread")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the thread, and whether it was already closed.")
@pass_ctx
def done(obj: Context, thread: str, as_json: bool) -> None:
    """Close THREAD (a number such as 12, or its Message-ID), answered outside email.

    \b
    Example:
      mailtriage -c rules.yaml done 12
    """
    from mailtriage.app.threads import ThreadView, close, find
    from mailtriage.core.models import ThreadState

    rules = obj.rules()
    store = open_store(rules)
    try:
        before = find(store, thread)
        row = close(store, thread, utc_now(), rules.calendar()) if before.state != ThreadState.CLOSED else before
        _refresh_calendar(store, rules)
    finally:
        store.close()
    already = before.state == ThreadState.CLOSED
    emit({**ThreadView(row, rules.tz).as_dict(), "already_closed": already}, as_json,
         f"#{row.number} {'was already closed' if already else 'closed'} ({_about(row)})")


def _short(text: str, width: int = 80) -> str:
    """A subject as a list shows it: one line, cut at `width` (JSON has it whole)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _about(row: Thread) -> str:
    """'"Invoice" from jan@acme.pl', or the sender alone when no subject is stored (store_subjects: false)."""
    return f"{row.subject!r} from {row.sender}" if row.subject else f"from {row.sender}"


@click.command()
@click.argument("thread")
@click.argument("until")
@click.option("--notify", is_flag=True, help="Also tell the thread's sender, in their language, that the answer "
              "comes by UNTIL instead of the promised time (sent at once through the outbox).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the thread, and the notice if one was sent.")
@pass_ctx
def snooze(obj: Context, thread: str, until: str, notify: bool, as_json: bool) -> None:
    """Move the deadline of THREAD to UNTIL (2026-12-04, 2026-12-04T12:00 or "4 Dec 12:00", local time).

    A date alone means closing time on that day. The summary shows that the deadline was moved;
    with --notify, the client gets a short apology with the new time (once per move).

    \b
    Examples:
      mailtriage -c rules.yaml snooze 12 2026-12-04
      mailtriage -c rules.yaml snooze 12 "4 Dec 12:00" --notify
    """
    from mailtriage.app.threads import ThreadView, check_move, snooze_and_tell

    rules = obj.rules()
    until_time = _moment(rules, until, "UNTIL", closing=True)
    store = open_store(rules)
    try:
        for warning in check_move(store, rules, thread, until_time, utc_now(), notify=notify):
            click.echo(f"warning: {warning}", err=True)
        moved = snooze_and_tell(store, thread, until_time, utc_now(), rules if notify else None)
        _refresh_calendar(store, rules)
    finally:
        store.close()
    row, notice = moved.thread, moved.notice
    told = None
    if notify and notice is None:
        told = "the client was told of this move before: not sent again"
    elif notice is not None:
        told = (f"{notice.recipient} told" if moved.state == "sent" else
                f"notice to {notice.recipient} {moved.state}" + (f" ({moved.error})" if moved.error else "")
                + ": the next check sends what is still planned")
    data = {**ThreadView(row, rules.tz).as_dict(), "notice": None if notice is None else {
        "recipient": notice.recipient, "message_id": notice.message_id, "state": moved.state,
        "error": moved.error}}
    emit(data, as_json, f"#{row.number} now due {wording.when(until_time, rules.tz, utc_now())} ({_about(row)})"
         + (f"; {told}" if told else ""))


@click.command()
@click.argument("thread")
@click.option("--until", help="Chase it from then: a thread still waiting shows in the summary under \"no answer "
              "from the client\" (a date alone: from opening time that day).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the thread.")
@pass_ctx
def wait(obj: Context, thread: str, until: str | None, as_json: bool) -> None:
    """THREAD waits for the client: no deadline runs, it is never overdue.

    The client's next message in the thread opens it again with a new deadline counted from that
    message; the waiting time does not count against the window in `stats`.

    \b
    Examples:
      mailtriage -c rules.yaml wait 12
      mailtriage -c rules.yaml wait 12 --until 2026-12-07 --json
    """
    from mailtriage.app.threads import ThreadView
    from mailtriage.app.threads import wait as wait_for

    rules = obj.rules()
    until_time = _moment(rules, until, "--until", closing=False) if until is not None else None
    store = open_store(rules)
    try:
        row = wait_for(store, thread, utc_now(), until_time)
        _refresh_calendar(store, rules)
    finally:
        store.close()
    chase = f"; chase from {wording.when(until_time, rules.tz, utc_now())}" if until_time else ""
    emit(ThreadView(row, rules.tz).as_dict(), as_json,
         f"#{row.number} waits for the client ({_about(row)}){chase}")


def _refresh_calendar(store: Store, rules: Rules) -> None:
    """A deadline moved, a thread closed or waiting: the calendar file shows it now, not after the next check."""
    if rules.deadline_calendar is None:
        return
    from mailtriage.app.aftercheck import after_check

    for problem in after_check(store, rules, utc_now(), reports=False):
        click.echo(f"warning: {problem}", err=True)


def _moment(rules: Rules, text: str, hint: str, *, closing: bool) -> datetime:
    """A date or time typed on the command line; a date alone is closing time that day (`closing`),
    else opening time."""
    from mailtriage.core.typed import moment

    try:
        given, has_time = moment(text, rules.tz, datetime.now(rules.tz), ahead=True)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; write 2026-12-04, 2026-12-04T12:00 or \"4 Dec 12:00\"",
                                 param_hint=hint) from None
    if has_time:
        return given
    calendar = rules.calendar()
    return (calendar.closing(given.date()) if closing else calendar.at(given.date(), rules.business_hours.start)
            ).astimezone(rules.tz)


@click.command()
@click.option("--days", default=30, show_default=True, help="The period: the last DAYS days.")
@click.option("--account", metavar="NAME", help="Only this account's clients (accounts: in rules.yaml).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per client per line.")
@pass_ctx
def stats(obj: Context, days: int, account: str | None, as_json: bool) -> None:
    """Per client: threads, share answered within the window, median response in business hours.

    With `accounts:` in rules.yaml, a row per client of each account (an account column, an `account`
    field in JSON).

    \b
    Example:
      mailtriage -c rules.yaml stats --days 7 --json
    """
    from mailtriage.app.stats import client_stats

    rules = obj.rules()
    name = account_named(obj, rules, account).name if account is not None else None
    store = open_store(rules)
    try:
        rows = [row for row in client_stats(store, utc_now(), days) if name is None or row.account == name]
    finally:
        store.close()
    if rules.accounts:  # grouped by account, in the order of `accounts:`
        order = {account.name: i for i, account in enumerate(rules.accounts)}
        rows = sorted(rows, key=lambda row: order.get(row.account, len(order)))
        if rows and not as_json:
            click.echo(f"{'account':12} {'client':20} {'threads':12} answered within the window, median response")
    for row in rows:
        if as_json:
            click.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        else:
            share = "–" if row.share_in_time is None else f"{row.share_in_time:.0%}"
            median = wording.hours_text(row.median_business_hours, "en")
            threads = wording.plural(row.threads, ("thread", "threads"))
            account = f"{row.account:12} " if rules.accounts else ""
            click.echo(f"{account}{row.client or wording.OTHER_SENDERS['en']:20} {threads:12} {share:>5} in time "
                       f"({row.in_time}/{row.judged})  median {median} of business time")
    if not rows and not as_json:
        click.echo(f"no threads in the last {days} days")


@click.command()
@click.option("--print", "show", is_flag=True, help="Print the summary (text part) instead of sending it.")
@click.option("--send", is_flag=True, help="Send it to summary.to (or append it to INBOX: summary.deliver).")
@click.option("--json", "as_json", is_flag=True, help="With --print: what the summary lists, as one JSON object; "
              "with --send: where it went and its subject.")
@pass_ctx
def summary(obj: Context, show: bool, send: bool, as_json: bool) -> None:
    """The morning summary: overdue, due today, answered, and each client's figures.

    \b
    Examples:
      mailtriage -c rules.yaml summary --print
      mailtriage -c rules.yaml summary --send
    """
    from mailtriage.app import summary as morning

    if show == send:
        raise click.UsageError("give exactly one of --print or --send")
    rules = obj.rules()
    recipient = rules.summary.to if rules.summary else None
    if recipient is None and send:
        raise click.UsageError("rules.yaml has no summary section (summary: {to: ..., at: \"07:30\"})")
    store = open_store(rules)
    try:
        if show:
            now = utc_now()
            result, user = morning.made(store, rules, now)  # as deliver does: counts as `threads` shows them
            if as_json:
                click.echo(json.dumps({"subject": f"mailtriage: {result.subject}", **asdict(result)},
                                      ensure_ascii=False, default=str))
                return
            click.echo(f"Subject: mailtriage: {result.subject}\n")
            click.echo(morning.render(result, user)[0].rstrip())
        else:
            result = morning.deliver(store, rules, utc_now())
            emit({"sent_to": recipient, "subject": f"mailtriage: {result.subject}"}, as_json,
                 f"summary sent to {recipient}: {result.subject}")
    finally:
        store.close()
