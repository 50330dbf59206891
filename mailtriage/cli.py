"""The `mailtriage` command: a thin layer of click commands over the library.

Imports of the heavy parts happen inside the commands, so `mailtriage --help` stays fast.
Every MailtriageError becomes one clear line on stderr and an exit code; never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from mailtriage import __version__
from mailtriage.errors import MailtriageError


class Context:
    """What every command gets: the path of rules.yaml, loaded on first use."""

    def __init__(self, config: Path) -> None:
        self.config = config

    def rules(self) -> Any:
        from mailtriage.rulesfile import load

        return load(self.config)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", type=click.Path(dir_okay=False, path_type=Path), default="rules.yaml",
              envvar="MAILTRIAGE_CONFIG", show_default=True, help="The rules file (env MAILTRIAGE_CONFIG).")
@click.version_option(__version__, prog_name="mailtriage")
@click.pass_context
def cli(ctx: click.Context, config: Path) -> None:
    """Keep an inbox inside its promised response windows.

    \b
    Example:
      mailtriage -c rules.yaml validate
    """
    ctx.obj = Context(config)


def _emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def validate(obj: Context, as_json: bool) -> None:
    """Check rules.yaml; print every problem as FILE:LINE: KEY: PROBLEM (exit 2).

    \b
    Example:
      mailtriage -c rules.yaml validate
    """
    from mailtriage.config import clock_text
    from mailtriage.credentials import password_source
    from mailtriage.schedule import next_check

    rules = obj.rules()
    now = datetime.now(rules.tz)
    upcoming = next_check(rules, now)
    notes = [f"{name} password: {password_source(server)}"
             for name, server in (("imap", rules.imap), ("smtp", rules.smtp)) if server]
    data = {
        "file": str(obj.config),
        "ok": True,
        "clients": [c.name for c in rules.clients],
        "check_times": [clock_text(t) for t in rules.check_times],
        "timezone": rules.timezone,
        "next_check": upcoming.isoformat(),
        "database": str(rules.database),
    }
    text = "\n".join([
        f"{obj.config}: OK",
        f"  clients:     {len(rules.clients)} ({', '.join(data['clients']) or 'none'})",
        f"  check times: {', '.join(data['check_times'])} ({rules.timezone})",
        f"  next check:  {upcoming:%a %Y-%m-%d %H:%M %z}",
        f"  database:    {rules.database}",
        *(f"  {note}" for note in notes),
    ])
    _emit(data, as_json, text)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of rules.yaml (for editors with YAML language servers).

    \b
    Example:
      mailtriage schema > rules.schema.json
    """
    from mailtriage.config import Rules

    document = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                **Rules.model_json_schema(by_alias=True, mode="validation")}
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@cli.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def match(obj: Context, address: str, as_json: bool) -> None:
    """Show which client ADDRESS belongs to, and why.

    \b
    Example:
      mailtriage -c rules.yaml match jan.kowalski@gmail.com
    """
    from mailtriage.match import Matcher

    decision = Matcher(obj.rules()).match(address)
    data = {"address": address, "client": decision.client, "action": decision.action,
            "window": str(decision.window), "language": decision.language, "reason": decision.reason}
    _emit(data, as_json, f"{address}: {decision.label} ({decision.reason}); "
                         f"action {decision.action}, within {decision.window}, language {decision.language}")


@cli.command()
@click.option("--received", metavar="ISO-TIME", help="Arrival time, e.g. 2026-11-30T12:30 (local to "
              "timezone unless it has an offset). Default: now.")
@click.option("--window", "window_text", metavar="WINDOW", help="e.g. '4 business hours', 'next check'.")
@click.option("--from", "sender", metavar="ADDRESS", help="Use the window of this sender's client.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def deadline(obj: Context, received: str | None, window_text: str | None, sender: str | None,
             as_json: bool) -> None:
    """Compute when the answer to a message is due.

    \b
    Examples:
      mailtriage -c rules.yaml deadline --received 2026-11-30T12:30 --window "1 business day"
      mailtriage -c rules.yaml deadline --received 2026-12-04T17:10 --from jan@acme.pl --json
    """
    from mailtriage.businessdays import aware
    from mailtriage.match import Matcher
    from mailtriage.windows import deadline as compute
    from mailtriage.windows import parse_window

    if (window_text is None) == (sender is None):
        raise click.UsageError("give exactly one of --window or --from")
    rules = obj.rules()
    try:
        arrival = aware(datetime.fromisoformat(received), rules.tz) if received else datetime.now(rules.tz)
    except ValueError:
        raise click.BadParameter(f"not an ISO time: {received!r}", param_hint="--received") from None
    client, decision = None, None
    if sender is not None:
        decision = Matcher(rules).match(sender)
        window, client = decision.window, decision.client
    else:
        try:
            window = parse_window(window_text or "")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--window") from None
    due = compute(window, arrival, rules.calendar(), rules.check_times)
    data = {"received": arrival.isoformat(), "client": client, "window": str(window), "deadline": due.isoformat()}
    who = f"; {decision.label}, {decision.reason}" if decision is not None else ""
    _emit(data, as_json, f"due {due:%a %Y-%m-%d %H:%M %z} ({window} for a message received "
                         f"{arrival:%a %Y-%m-%d %H:%M %z}{who})")


def _duration(text: str | None) -> Any:
    """'24h', '90m', '2d' -> timedelta."""
    if text is None:
        return None
    from datetime import timedelta

    units = {"m": "minutes", "h": "hours", "d": "days"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise click.BadParameter(f"not a duration: {text!r} (e.g. 24h, 90m, 2d)", param_hint="--backfill")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


@cli.command()
@click.option("--dry-run", is_flag=True, help="Fetch and decide, but store nothing and send nothing.")
@click.option("--backfill", metavar="DURATION", help="On a folder's first check, treat mail of the last "
              "DURATION (e.g. 24h) as new.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message per line.")
@pass_ctx
def check(obj: Context, dry_run: bool, backfill: str | None, as_json: bool) -> None:
    """Run one check: fetch new mail, send holding replies, record every thread.

    \b
    Examples:
      mailtriage -c rules.yaml check --dry-run
      mailtriage -c rules.yaml check --json
    """

    from mailtriage.errors import SendError
    from mailtriage.pipeline import Check, line_dict
    from mailtriage.status import describe, remember
    from mailtriage.store import Store

    rules = obj.rules()
    since = _duration(backfill)
    store = Store.snapshot(rules.database) if dry_run else Store(rules.database)

    def emit(line: Any) -> None:
        click.echo(json.dumps(line_dict(line), ensure_ascii=False) if as_json else line.text(rules.tz))

    now = datetime.now(UTC)
    try:
        try:
            report = Check(rules, store, now, dry_run=dry_run, backfill=since, emit=emit).run()
        except MailtriageError as exc:
            if not dry_run:
                remember(store, now, False, f"{now.astimezone(rules.tz):%H:%M}: failed: {exc}")
            raise
        if not dry_run:
            remember(store, now, not report.send_error, describe(report, now, rules.tz))
    finally:
        store.close()
    for note in report.notes:
        click.echo(note, err=True)
    replies = sum(1 for line in report.lines if line.decision == "reply")
    summary = (f"{len(report.lines)} new, {replies} holding replies planned, {report.sent} sent"
               + (f", {report.failed} failed" if report.failed else "")
               + (" (dry run: nothing stored or sent)" if dry_run else ""))
    click.echo(summary, err=True)
    if report.send_error:
        raise SendError(f"{report.send_error}; {report.waiting} holding replies wait for the next check")


def _store(rules: Any) -> Any:
    from mailtriage.store import Store

    return Store(rules.database)


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


@cli.command()
@click.option("--state", type=click.Choice(["open", "answered", "overdue", "closed", "ignored"]),
              help="Only threads in this state (of any age).")
@click.option("--client", help="Only this client's threads ('(defaults)' for senders no client matches).")
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
    from mailtriage.threads import list_threads

    rules = obj.rules()
    store = _store(rules)
    try:
        for view in list_threads(store, rules.tz, _now(), state=state, client=client, days=days):
            row = view.as_dict()
            if as_json:
                click.echo(json.dumps(row, ensure_ascii=False))
            else:
                due = (row["deadline"] or "")[:16].replace("T", " ")
                click.echo(f"#{row['number']:<5} {row['state']:8} {due:16}  {row['client'] or '(defaults)':14} "
                           f"{row['sender']:30} {row['subject']}")
    finally:
        store.close()


@cli.command()
@click.argument("thread")
@pass_ctx
def done(obj: Context, thread: str) -> None:
    """Close THREAD (a number such as 12, or its Message-ID), answered outside email.

    \b
    Example:
      mailtriage -c rules.yaml done 12
    """
    from mailtriage.threads import close

    rules = obj.rules()
    store = _store(rules)
    try:
        row = close(store, thread, _now(), rules.calendar())
    finally:
        store.close()
    click.echo(f"#{row['number']} closed ({row['subject']!r} from {row['sender']})")


@cli.command()
@click.argument("thread")
@click.argument("until")
@pass_ctx
def snooze(obj: Context, thread: str, until: str) -> None:
    """Move the deadline of THREAD to UNTIL (2026-12-04 or 2026-12-04T12:00, local time).

    A date alone means closing time on that day. The summary shows that the deadline was moved.

    \b
    Example:
      mailtriage -c rules.yaml snooze 12 2026-12-04
    """
    from mailtriage.businessdays import aware
    from mailtriage.threads import snooze as move

    rules = obj.rules()
    try:
        when = (aware(datetime.fromisoformat(until), rules.tz) if "T" in until or " " in until
                else rules.calendar().closing(datetime.fromisoformat(until).date()).astimezone(rules.tz))
    except ValueError:
        raise click.BadParameter(f"not a date or time: {until!r}", param_hint="UNTIL") from None
    store = _store(rules)
    try:
        row = move(store, thread, when, _now())
    finally:
        store.close()
    click.echo(f"#{row['number']} now due {when:%a %Y-%m-%d %H:%M %z} ({row['subject']!r})")


@cli.command()
@click.option("--days", default=30, show_default=True, help="The period: the last DAYS days.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per client per line.")
@pass_ctx
def stats(obj: Context, days: int, as_json: bool) -> None:
    """Per client: threads, share answered within the window, median response in business hours.

    \b
    Example:
      mailtriage -c rules.yaml stats --days 7 --json
    """
    from mailtriage.stats import client_stats

    rules = obj.rules()
    store = _store(rules)
    try:
        rows = client_stats(store, _now(), days)
    finally:
        store.close()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        else:
            share = "–" if row.share_in_time is None else f"{row.share_in_time:.0%}"
            median = "–" if row.median_business_hours is None else f"{row.median_business_hours:.1f} h"
            click.echo(f"{row.client:20} {row.threads:5} threads  {share:>5} in time ({row.in_time}/{row.judged})"
                       f"  median {median} of business time")
    if not rows and not as_json:
        click.echo(f"no threads in the last {days} days")


@cli.command()
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
    from mailtriage import summary as morning

    if show == send:
        raise click.UsageError("give exactly one of --print or --send")
    rules = obj.rules()
    if rules.summary is None and send:
        raise click.UsageError("rules.yaml has no summary section (summary: {to: ..., at: \"07:30\"})")
    store = _store(rules)
    try:
        if show:
            result = morning.gather(store, rules, _now())
            click.echo(f"Subject: mailtriage: {result.subject}\n")
            click.echo(morning.render(result, rules)[0].rstrip())
        else:
            result = morning.deliver(store, rules, _now())
            click.echo(f"summary sent to {rules.summary.to}: {result.subject}")
    finally:
        store.close()


@cli.command()
@pass_ctx
def run(obj: Context) -> None:
    """Run as a daemon: checks at the check times, the morning summary, reload on SIGHUP.

    Stops on SIGTERM or SIGINT once a running check has committed its current message.
    Speaks the sd_notify protocol when systemd starts it (Type=notify, watchdog).

    \b
    Example:
      mailtriage -c rules.yaml run
    """
    from mailtriage.daemon import Daemon, setup_logging

    setup_logging()
    rules = obj.rules()
    sys.exit(Daemon(obj.config, rules).serve())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """Last check per folder and its outcome, the next check, open and overdue counts, waiting replies.

    \b
    Example:
      mailtriage -c rules.yaml status
    """
    from mailtriage.schedule import next_check
    from mailtriage.status import gather

    rules = obj.rules()
    store = _store(rules)
    try:
        data = gather(store, rules, next_check(rules, _now()))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    last = data["last_check"]
    click.echo(f"last check:  {last['status'] if last else 'never'}" + ("" if not last or last["ok"] else "  (FAILED)"))
    for folder in data["folders"]:
        click.echo(f"  {folder['name']:20} checked {folder['checked_at'] or 'never'}, up to UID {folder['last_uid']}")
    click.echo(f"next check:  {data['next_check']}")
    click.echo(f"threads:     {data['open']} open, {data['overdue']} overdue")
    click.echo(f"replies:     {data['waiting']} waiting to be sent, {data['failed']} failed")


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the demo's folder (rules.yaml, database) afterwards.")
def demo(keep: bool) -> None:
    """Run a check against a private Dovecot and a local SMTP server, and show what it did.

    Needs the dovecot binary (apt-get install dovecot-imapd) and aiosmtpd (pip install '.[demo]').
    Touches no system service: everything runs on 127.0.0.1 under a temporary folder.

    \b
    Example:
      mailtriage demo
    """
    from mailtriage.demo import run_demo

    try:
        run_demo(click.echo, keep=keep)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning our errors into one line and an exit code."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    ours = logging.getLogger("mailtriage")
    if not ours.handlers:
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    try:
        cli.main(args=argv, prog_name="mailtriage", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except MailtriageError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
