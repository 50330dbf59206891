"""The `mailtriage` commands about recorded threads: threads, done, snooze, stats, summary."""

from __future__ import annotations

import json

import click

from mailtriage.cli.common import Context, open_store, pass_ctx, utc_now
from mailtriage.core import wording
from mailtriage.core.models import STATES


@click.command()
@click.option("--state", type=click.Choice(STATES),
              help="Only threads in this state (of any age).")
@click.option("--client", help="Only this client's threads, in any case ('no client' for senders no client "
              "matches).")
@click.option("--days", default=30, show_default=True, help="Without --state: threads of the last DAYS days.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per thread per line.")
@pass_ctx
def threads(obj: Context, state: str | None, client: str | None, days: int, as_json: bool) -> None:
    """List recorded threads, newest first.

    \b
    Examples:
      mailtriage -c rules.yaml threads --state overdue
      mailtriage -c rules.yaml threads --client Acme --json
    """
    from mailtriage.app.threads import list_threads

    rules = obj.rules()
    store = open_store(rules)
    now = utc_now()
    try:
        views = list_threads(store, rules.tz, now, state=state, client=client, days=days)
    finally:
        store.close()
    for view in views:
        if as_json:
            click.echo(json.dumps(view.as_dict(), ensure_ascii=False))
            continue
        t = view.thread
        due = wording.when(t.deadline, rules.tz, now) if t.deadline else ""
        click.echo(f"#{t.number:<5} {t.state:8} {due:16}  {t.client or wording.NO_CLIENT['en']:14} "
                   f"{t.sender:30} {t.subject}")
    if not views and not as_json:
        click.echo("no threads" + (f" in state {state}" if state else f" in the last {days} days")
                   + (f" for client {client}" if client else ""))


@click.command()
@click.argument("thread")
@pass_ctx
def done(obj: Context, thread: str) -> None:
    """Close THREAD (a number such as 12, or its Message-ID), answered outside email.

    \b
    Example:
      mailtriage -c rules.yaml done 12
    """
    from mailtriage.app.threads import close

    rules = obj.rules()
    store = open_store(rules)
    try:
        row = close(store, thread, utc_now(), rules.calendar())
    finally:
        store.close()
    click.echo(f"#{row.number} closed ({row.subject!r} from {row.sender})")


@click.command()
@click.argument("thread")
@click.argument("until")
@pass_ctx
def snooze(obj: Context, thread: str, until: str) -> None:
    """Move the deadline of THREAD to UNTIL (2026-12-04, 2026-12-04T12:00 or "4 Dec 12:00", local time).

    A date alone means closing time on that day. The summary shows that the deadline was moved.

    \b
    Example:
      mailtriage -c rules.yaml snooze 12 2026-12-04
    """
    from mailtriage.app.threads import snooze as move
    from mailtriage.core.typed import moment

    rules = obj.rules()
    try:
        given, has_time = moment(until, rules.tz)
    except ValueError:
        raise click.BadParameter(f"not a date or time: {until!r} (e.g. 2026-12-04 or 2026-12-04T12:00)",
                                 param_hint="UNTIL") from None
    until_time = given if has_time else rules.calendar().closing(given.date()).astimezone(rules.tz)
    store = open_store(rules)
    try:
        row = move(store, thread, until_time, utc_now())
    finally:
        store.close()
    click.echo(f"#{row.number} now due {wording.when(until_time, rules.tz, utc_now())} ({row.subject!r})")


@click.command()
@click.option("--days", default=30, show_default=True, help="The period: the last DAYS days.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per client per line.")
@pass_ctx
def stats(obj: Context, days: int, as_json: bool) -> None:
    """Per client: threads, share answered within the window, median response in business hours.

    \b
    Example:
      mailtriage -c rules.yaml stats --days 7 --json
    """
    from mailtriage.app.stats import client_stats

    rules = obj.rules()
    store = open_store(rules)
    try:
        rows = client_stats(store, utc_now(), days)
    finally:
        store.close()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        else:
            share = "–" if row.share_in_time is None else f"{row.share_in_time:.0%}"
            median = wording.hours_text(row.median_business_hours, "en")
            threads = wording.plural(row.threads, ("thread", "threads"))
            click.echo(f"{row.client or wording.OTHER_SENDERS['en']:20} {threads:12} {share:>5} in time "
                       f"({row.in_time}/{row.judged})  median {median} of business time")
    if not rows and not as_json:
        click.echo(f"no threads in the last {days} days")


@click.command()
@click.option("--print", "show", is_flag=True, help="Print the summary (text part) instead of sending it.")
@click.option("--send", is_flag=True, help="Send it to summary.to (or append it to INBOX: summary.deliver).")
@pass_ctx
def summary(obj: Context, show: bool, send: bool) -> None:
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
            result = morning.gather(store, rules, utc_now())
            click.echo(f"Subject: mailtriage: {result.subject}\n")
            click.echo(morning.render(result, rules)[0].rstrip())
        else:
            result = morning.deliver(store, rules, utc_now())
            click.echo(f"summary sent to {recipient}: {result.subject}")
    finally:
        store.close()
