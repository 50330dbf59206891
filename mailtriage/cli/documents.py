"""The `mailtriage` commands that make documents for clients and calendars: standards, report, calendar."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailtriage.cli.common import Context, open_store, pass_ctx, utc_now
from mailtriage.errors import ConfigError, Problem

if TYPE_CHECKING:
    from mailtriage.config.model import Client, Rules

LANGUAGES = click.Choice(["pl", "en"])


def _client(obj: Context, name: str | None) -> tuple[Rules, Client | None]:
    """The rules and the client named by --client (None without one); a usage error names the known ones."""
    from mailtriage.app.standards import find_client

    rules = obj.rules()
    try:
        return rules, find_client(rules, name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--client") from None


def _account_client(obj: Context, name: str, account: str | None) -> tuple[str, Rules, Client]:
    """The account whose client --client names (--account, else the one account that has such a client),
    its rules, and the client; a usage error otherwise."""
    from mailtriage.app.standards import find_client
    from mailtriage.cli.common import account_named
    from mailtriage.config.accounts import resolve

    rules = obj.rules()
    accounts = (account_named(obj, rules, account),) if account is not None else resolve(rules)
    found, problems = [], []
    for candidate in accounts:
        try:
            client = find_client(candidate.rules, name)
        except ValueError as exc:
            problems.append(f"{candidate.name}: {exc}" if rules.accounts else str(exc))
            continue
        assert client is not None
        found.append((candidate.name, candidate.rules, client))
    if len(found) > 1:
        raise click.BadParameter(f"accounts {', '.join(f[0] for f in found)} each have a client {name!r}: "
                                 "name one with --account", param_hint="--client")
    if not found:
        raise click.BadParameter("; ".join(problems), param_hint="--client")
    return found[0]


@click.command()
@click.option("--client", "client_name", metavar="NAME", help="The document for this client (its own window).")
@click.option("--language", type=LANGUAGES, help="pl or en; default: the client's language, then rules.yaml's.")
@click.option("--format", "form", type=click.Choice(["text", "markdown", "html"]), default="text",
              show_default=True, help="html prints on A4 and needs nothing from the network.")
@click.option("--json", "as_json", is_flag=True, help="The document's sections as one JSON object.")
@pass_ctx
def standards(obj: Context, client_name: str | None, language: str | None, form: str, as_json: bool) -> None:
    """The working-standards document for a client's contract, from rules.yaml.

    When mail is read, how fast an answer comes, days off, what happens to a message, confidentiality.

    \b
    Examples:
      mailtriage -c rules.yaml standards --client Acme --language pl
      mailtriage -c rules.yaml standards --client Acme --format html > standardy.html
    """
    from mailtriage.app import standards as doc

    rules, client = _client(obj, client_name)
    document = doc.build(rules, client, doc.language_of(rules, client, language), utc_now())
    if as_json:
        click.echo(json.dumps(document.as_dict(), ensure_ascii=False))
        return
    click.echo(doc.render(document, rules, form), nl=False)


@click.command()
@click.option("--client", "client_name", metavar="NAME", required=True, help="The client (as named in rules.yaml).")
@click.option("--month", metavar="YYYY-MM", help="The month; default: the last month.")
@click.option("--language", type=LANGUAGES, help="pl or en; default: the client's language, then rules.yaml's.")
@click.option("--format", "form", type=click.Choice(["text", "html"]), default="text", show_default=True)
@click.option("--send", is_flag=True, help="Mail it (text and HTML) to the client's report_to over SMTP.")
@click.option("--json", "as_json", is_flag=True, help="The figures and every thread as one JSON object.")
@click.option("--account", metavar="NAME", help="The client of this account of `accounts:` (needed when two "
              "accounts have a client of that name).")
@pass_ctx
def report(obj: Context, client_name: str, month: str | None, language: str | None, form: str, send: bool,
           as_json: bool, account: str | None) -> None:
    """A client's monthly report: messages, threads, answers within the window, response times, every thread.

    With `accounts:` in rules.yaml, the report covers the client's threads in its own account, and is
    mailed from that account's identity.

    \b
    Examples:
      mailtriage -c rules.yaml report --client Acme --month 2026-11
      mailtriage -c rules.yaml report --client Acme --format html > acme-2026-11.html
      mailtriage -c rules.yaml report --client Acme --send
      mailtriage -c rules.yaml report --client Acme --account biuro --json
    """
    import re

    from mailtriage.app import monthly
    from mailtriage.app.standards import language_of

    whose, rules, client = _account_client(obj, client_name, account)
    now = utc_now()
    if month is None:
        month = monthly.previous_month(now.astimezone(rules.tz).date())
    elif not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter(f"not a month: {month!r} (e.g. 2026-11)", param_hint="--month")
    if send and not client.report_to:
        index = rules.clients.index(client)
        raise ConfigError([Problem(str(obj.config), None, f"clients[{index}].report_to",
                                   f"client {client.name} has no report_to: where should the report go?")])
    store = open_store(rules)
    try:
        result = monthly.gather(store, rules, client, month, language_of(rules, client, language), now, whose)
        if send:
            recipient = monthly.deliver(store, rules, client, result, now)
            click.echo(f"report for {client.name}, {month}, sent to {recipient}", err=as_json)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    elif not send:
        click.echo(monthly.render(result, rules, form), nl=False)


@click.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the file here (atomically, owner-only); default: calendar.file of rules.yaml, "
              "else standard output.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event per line instead of iCalendar.")
@pass_ctx
def calendar(obj: Context, output: Path | None, as_json: bool) -> None:
    """The deadlines of unanswered threads as an iCalendar file a calendar app can subscribe to.

    One event per thread at its deadline, with a stable UID (re-reading updates, never duplicates).

    \b
    Examples:
      mailtriage -c rules.yaml calendar --output ~/deadlines.ics
      mailtriage -c rules.yaml calendar --json
    """
    from mailtriage.app import deadline_calendar as ics

    rules = obj.rules()
    store = open_store(rules)
    now = utc_now()
    try:
        events = ics.events(store, rules, now)
    finally:
        store.close()
    if as_json:
        for event in events:
            click.echo(json.dumps(event.as_dict(rules.tz), ensure_ascii=False))
        return
    target = output or (rules.deadline_calendar.file if rules.deadline_calendar else None)
    data = ics.to_ical(events, rules, now)
    if target is None:
        sys.stdout.buffer.write(data)
        return
    ics.write_file(target, data)
    click.echo(f"{len(events)} deadlines written to {target}")
