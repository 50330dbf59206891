"""The `mailtriage` command: a thin layer of click commands over the library.

Imports of the heavy parts happen inside the commands, so `mailtriage --help` stays fast.
Every MailtriageError becomes one clear line on stderr and an exit code; never a traceback.
"""

from __future__ import annotations

import json
import sqlite3
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
        self.database: Path | None = None  # known once the rules are loaded: named by database errors

    def rules(self) -> Any:
        from mailtriage.rulesfile import load

        rules = load(self.config)
        self.database = rules.database
        return rules


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
    if isinstance(ctx.obj, Context):  # given by main(), which names the database in its errors
        ctx.obj.config = config
    else:
        ctx.obj = Context(config)


def _emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def validate(obj: Context, as_json: bool) -> None:
    """Check rules.yaml; print every problem as FILE:LINE: KEY: PROBLEM (exit 2).

    What is valid but not ready yet (an unset password variable, a host left from the example) is a
    warning on stderr; the exit status stays 0.

    \b
    Example:
      mailtriage -c rules.yaml validate
    """
    from mailtriage.config import clock_text
    from mailtriage.credentials import password_source
    from mailtriage.schedule import next_check
    from mailtriage.wording import when

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
        f"  next check:  {when(upcoming, rules.tz, now)}",
        f"  database:    {rules.database}",
        *(f"  {note}" for note in notes),
    ])
    from mailtriage.readiness import warnings

    found = warnings(rules)  # valid but not ready yet: said, and the exit status stays 0
    data["warnings"] = found
    _emit(data, as_json, text)
    if not as_json:
        for line in found:
            click.echo(f"warning: {line}", err=True)


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
    from dataclasses import replace
    from email.utils import parseaddr

    from mailtriage.language import pick_language
    from mailtriage.match import Matcher

    decision = Matcher(obj.rules()).match(address)
    decision = replace(decision, language=pick_language(decision.language, address, parseaddr(address)[0], ""))
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
    from mailtriage.wording import when

    if (window_text is None) == (sender is None):
        raise click.UsageError("give exactly one of --window or --from")
    rules = obj.rules()
    try:
        arrival = (aware(datetime.fromisoformat(received), rules.tz) if received
                   else datetime.now(rules.tz)).astimezone(rules.tz)
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
    data = {"received": arrival.isoformat(), "client": client, "window": str(window),
            "deadline": due.astimezone(rules.tz).isoformat()}
    who = f"; {decision.label}, {decision.reason}" if decision is not None else ""
    now = datetime.now(rules.tz)
    _emit(data, as_json, f"due {when(due, rules.tz, now)} ({window} for a message received "
                         f"{when(arrival, rules.tz, now)}{who})")

def open_store(rules: Any) -> Any:
    from mailtriage.store import Store

    return Store(rules.database)


def utc_now() -> datetime:

    return datetime.now(UTC)

def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning our errors into one line and an exit code."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    ours = logging.getLogger("mailtriage")
    if not ours.handlers:
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    context = Context(Path("rules.yaml"))
    try:
        cli.main(args=argv, prog_name="mailtriage", standalone_mode=False, obj=context)
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
    except sqlite3.Error as exc:  # a commit deep in a check: the disk filled up, the file broke
        from mailtriage.dbfile import store_error

        problem = store_error(exc, context.database or Path("the database"))
        click.echo(str(problem), err=True)
        sys.exit(problem.exit_code)


# The other commands live in their own modules, which register themselves on `cli` when imported.
from mailtriage import cli_doctor, cli_explain, cli_init, cli_mailbox, cli_threads  # noqa: E402,F401

