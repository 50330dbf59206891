"""The `mailtriage` commands that talk to the mailbox: check, run, status, demo."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailtriage.cli.common import Context, open_store, pass_ctx, utc_now
from mailtriage.core import typed
from mailtriage.core.models import Decision, FolderKind
from mailtriage.core.wording import plural, when
from mailtriage.errors import MailtriageError

if TYPE_CHECKING:
    from mailtriage.app.check import Line, Report
    from mailtriage.config.accounts import Account
    from mailtriage.config.model import Rules


def _duration(text: str | None) -> timedelta | None:
    """'24h', '90m', '2 days' -> timedelta: the grammar of rules.yaml's durations."""
    if text is None:
        return None
    try:
        return typed.duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--backfill") from None

@click.command()
@click.option("--dry-run", is_flag=True, help="Fetch and decide, but store nothing and send nothing.")
@click.option("--backfill", metavar="DURATION", help="On a folder's first check, treat mail of the last "
              "DURATION (e.g. 24h or '2 days') as new.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message per line.")
@click.option("--wait", default=30.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a check that is already running on this database.")
@click.option("--account", metavar="NAME", help="Check only this account of `accounts:` (default: every one).")
@pass_ctx
def check(obj: Context, dry_run: bool, backfill: str | None, as_json: bool, wait: float,
          account: str | None) -> None:
    """Run one check: fetch new mail, send holding replies, record every thread.

    With `accounts:` in rules.yaml, every account is checked (several at once), each with its own
    connections; one account's failure is one line and does not stop the others (exit 1).

    \b
    Examples:
      mailtriage -c rules.yaml check --dry-run
      mailtriage -c rules.yaml check --json
      mailtriage -c rules.yaml check --account biuro
    """

    from mailtriage.app.check import Check, line_dict
    from mailtriage.app.status import describe, remember
    from mailtriage.config.accounts import select
    from mailtriage.errors import SendError
    from mailtriage.store.db import Store
    from mailtriage.store.lock import CheckRunning

    rules = obj.rules()
    since = _duration(backfill)
    accounts = select(rules, account)
    if not accounts:
        known = ", ".join(a.name for a in select(rules, None))
        raise click.BadParameter(f"no account {account!r} in {obj.config} (its accounts: {known})",
                                 param_hint="--account")
    if rules.accounts:
        _check_accounts(rules, accounts, dry_run, since, as_json, wait)
        return
    store = Store.snapshot(rules.database) if dry_run else Store(rules.database)

    def emit(line: Line) -> None:
        click.echo(json.dumps(line_dict(line, rules.tz), ensure_ascii=False) if as_json
                   else line.text(rules.tz, now))

    now = datetime.now(UTC)
    try:
        try:
            report = Check(rules, store, now, dry_run=dry_run, backfill=since, emit=emit, lock_wait=wait).run()
        except CheckRunning:
            raise  # the other check reports its own outcome
        except MailtriageError as exc:
            if not dry_run:
                remember(store, now, False, f"{when(now, rules.tz, now)}: failed: {exc}")
            raise
        if not dry_run:
            remember(store, now, not report.send_error, describe(report, now, rules.tz))
            from mailtriage.app.aftercheck import after_check

            report.notes.extend(after_check(store, rules, now, reports=False))
    finally:
        store.close()
    for note in report.notes:
        click.echo(note, err=True)
    click.echo(check_summary(report, dry_run), err=True)
    if report.send_error:
        waiting = plural(report.waiting, ("holding reply waits", "holding replies wait"))
        raise SendError(f"{report.send_error}; {waiting} for the next check")


def _check_accounts(rules: Rules, accounts: tuple[Account, ...], dry_run: bool, since: timedelta | None,
                    as_json: bool, wait: float) -> None:
    """`check` of a file with `accounts:`: every line, note and summary says its account."""
    from mailtriage.app.accounts import check_accounts, describe_accounts, failed
    from mailtriage.app.check import line_dict
    from mailtriage.app.status import remember
    from mailtriage.store.db import Store

    now = datetime.now(UTC)

    def emit(name: str, line: Line) -> None:
        click.echo(json.dumps({"account": name, **line_dict(line, rules.tz)}, ensure_ascii=False) if as_json
                   else f"{name}: {line.text(rules.tz, now)}")

    outcomes = check_accounts(rules, accounts, now, dry_run=dry_run, backfill=since, emit=emit, lock_wait=wait,
                              note=lambda text: click.echo(text, err=True))
    for outcome in outcomes:
        if outcome.report is None:
            click.echo(f"{outcome.account}: failed: {outcome.error}", err=True)
            continue
        for note in outcome.report.notes:
            click.echo(f"{outcome.account}: {note}", err=True)
        click.echo(f"{outcome.account}: {check_summary(outcome.report, dry_run)}", err=True)
        if outcome.report.send_error:
            click.echo(f"{outcome.account}: {outcome.report.send_error}", err=True)
    bad = failed(outcomes)
    if not dry_run:
        store = Store(rules.database)
        try:
            remember(store, now, not bad, describe_accounts(outcomes, now, rules.tz))
            from mailtriage.app.aftercheck import after_check

            for note in after_check(store, rules, now, reports=False):
                click.echo(note, err=True)
        finally:
            store.close()
    if bad:
        raise MailtriageError(f"{plural(len(bad), ('account', 'accounts'))} of {len(outcomes)} failed: "
                              f"{', '.join(bad)}")


def check_summary(report: Report, dry_run: bool) -> str:
    """'3 new, 1 holding reply planned, 1 sent, 2 threads answered'."""
    replies = sum(1 for line in report.lines if line.decision == Decision.REPLY)
    return (f"{len(report.lines)} new, {plural(replies, ('holding reply', 'holding replies'))} planned, "
            f"{report.sent} sent"
            + (f", {report.failed} failed" if report.failed else "")
            + (f", {report.waiting} waiting for the next check" if report.waiting and not report.send_error
               else "")
            + (f", {plural(report.answered, ('thread', 'threads'))} answered" if report.answered else "")
            + (" (dry run: nothing stored or sent)" if dry_run else ""))

@click.command()
@pass_ctx
def run(obj: Context) -> None:
    """Run as a daemon: checks at the check times, the morning summary, reload on SIGHUP.

    Stops on SIGTERM or SIGINT once a running check has committed its current message.
    Speaks the sd_notify protocol when systemd starts it (Type=notify, watchdog).

    \b
    Example:
      mailtriage -c rules.yaml run
    """
    from mailtriage.app.daemon import Daemon, setup_logging

    setup_logging()
    rules = obj.rules()
    sys.exit(Daemon(obj.config, rules).serve())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """Last check per folder and its outcome, the next check, open and overdue counts, waiting replies.

    \b
    Example:
      mailtriage -c rules.yaml status
    """
    from mailtriage.app.schedule import next_check
    from mailtriage.app.status import gather

    rules = obj.rules()
    store = open_store(rules)
    now = utc_now()
    try:
        data = gather(store, rules, next_check(rules, now))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(data.as_dict(), ensure_ascii=False))
        return
    last = data.last_check
    click.echo(f"last check:  {last.status if last else 'never'}" + ("" if not last or last.ok else "  (FAILED)"))
    several = len({folder.account for folder in data.folders}) > 1 or bool(rules.accounts)
    names = [(f"{folder.account}: " if several else "")
             + (f"{folder.name} (sent mail)" if folder.role == FolderKind.SENT else folder.name)
             for folder in data.folders]
    width = max([20, *map(len, names)])
    for name, folder in zip(names, data.folders, strict=True):
        checked = when(datetime.fromisoformat(folder.checked_at), rules.tz, now) if folder.checked_at else "never"
        click.echo(f"  {name:{width}} checked {checked}, up to UID {folder.last_uid}")
    if not data.folders:
        click.echo("  no folder checked yet")
    click.echo(f"next check:  {when(datetime.fromisoformat(data.next_check), rules.tz, now)}")
    click.echo(f"threads:     {data.open} open, {data.overdue} overdue"
               + (f", {data.waiting_threads} waiting for the client" if data.waiting_threads else ""))
    click.echo(f"replies:     {data.waiting} waiting to be sent, {data.failed} failed")
    for push in data.push:
        since = f" since {when(datetime.fromisoformat(push.since), rules.tz, now)}" if push.since else ""
        who = f"{push.account}: " if several else ""
        click.echo(f"push:        {who}{push.state}{since}: {push.detail}")


@click.command()
@click.option("--keep", is_flag=True, help="Leave the servers running and the folder in place, to try commands.")
@click.option("--stop", "stop_folder", metavar="[FOLDER]", type=str, is_flag=False, flag_value="",
              help="Stop the servers a `demo --keep` left running in FOLDER, and remove it; without FOLDER, the "
              "one demo left running in the temporary folder.")
def demo(keep: bool, stop_folder: str | None) -> None:
    """Run a check against a private Dovecot and a local SMTP server, and show what it did.

    Needs the dovecot binary (apt-get install dovecot-imapd) and aiosmtpd (pip install '.[demo]').
    Touches no system service: everything runs on 127.0.0.1 under a temporary folder.

    \b
    Examples:
      mailtriage demo
      mailtriage demo --keep
      mailtriage demo --stop /tmp/mailtriage-demo-1a2b3c
      mailtriage demo --stop          (the one demo left running)
    """
    from mailtriage.demo import servers as demoservers

    if stop_folder == "":  # --stop alone
        running = demoservers.kept()
        if len(running) != 1:
            raise demoservers.DemoError(
                "no demo left running by `mailtriage demo --keep` was found" if not running else
                f"{len(running)} demos are running ({', '.join(map(str, running))}): "
                "give one, mailtriage demo --stop FOLDER")
        stop_folder = str(running[0])
    if stop_folder is not None:
        pids = demoservers.stop(Path(stop_folder).resolve())
        click.echo(f"stopped {len(pids)} demo servers ({' '.join(map(str, pids)) or 'none was running'}); "
                   f"removed {stop_folder}")
        return
    try:
        import aiosmtpd  # noqa: F401 - the demo's SMTP server
    except ImportError:
        raise click.ClickException("the demo needs aiosmtpd: python3 -m pip install 'mailtriage[demo]'") from None
    from mailtriage.demo.run import run_demo

    try:
        run_demo(click.echo, keep=keep)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
