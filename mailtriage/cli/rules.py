"""The `mailtriage` commands about rules.yaml itself: validate, schema, match, deadline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import click

from mailtriage.cli.common import Context, emit, pass_ctx

if TYPE_CHECKING:
    from mailtriage.config.model import Rules


def _account(name: str, rules: Rules, warned: list[str]) -> dict[str, object]:
    """One account of `validate --json`: whose mailbox, which clients, how it signs in, its warnings."""
    return {"name": name, "identity": rules.identity.address, "imap": f"{rules.imap.username}@{rules.imap.host}",
            "folders": rules.imap.folders, "clients": [c.name for c in rules.clients],
            "smtp": rules.smtp.host if rules.smtp else None, "sign_in": _sign_in(rules), "warnings": warned,
            "push": _push_text(rules)}


def _account_lines(name: str, rules: Rules) -> list[str]:
    clients = ", ".join(c.name for c in rules.clients) or "none"
    push = _push_text(rules)
    return [f"  account {name}: {rules.identity.address}, imap {rules.imap.username}@{rules.imap.host} "
            f"({', '.join(rules.imap.folders)}), clients: {clients}", *(f"    {note}" for note in _sign_in(rules)),
            *([f"    push: {push}"] if push else [])]


def _push_text(rules: Rules) -> str | None:
    """What is answered between checks, while `mailtriage run` runs (None: nothing)."""
    from mailtriage.app.push import wanted

    if not wanted(rules):
        return None
    if rules.push == "all":
        return "every message answered as it comes (IDLE on the INBOX, while `mailtriage run` runs)"
    urgent = ", ".join(c.name for c in rules.clients if c.urgent)
    return f"{urgent} answered as their mail comes (IDLE on the INBOX, while `mailtriage run` runs)"


def _sign_in(rules: Rules) -> list[str]:
    """How each server signs in: 'imap password: the environment variable X', the oauth2 token file."""
    from mailtriage.config.credentials import password_source

    notes = [f"{name}: no login configured" if server.auth == "password" and not server.username
             else f"{name} {'sign-in' if server.auth == 'oauth2' else 'password'}: {password_source(server)}"
             for name, server in (("imap", rules.imap), ("smtp", rules.smtp)) if server]
    if rules.oauth2 is not None and any(s is not None and s.auth == "oauth2" for s in (rules.imap, rules.smtp)):
        notes.append(f"oauth2: {rules.oauth2.provider}, token file {rules.oauth2.token_file}")
    return notes


def _warnings(rules: Rules) -> tuple[list[str], dict[str, list[str]]]:
    """What is valid but not ready yet: the file's (a file without `accounts:`, or what every account shares,
    said once) and each account's own, by name."""
    from mailtriage.config.accounts import resolve
    from mailtriage.config.readiness import warnings

    if not rules.accounts:
        return warnings(rules), {}
    own = {account.name: warnings(account.rules) for account in resolve(rules)}
    shared = [line for line in next(iter(own.values())) if all(line in lines for lines in own.values())]
    return shared, {name: [line for line in lines if line not in shared] for name, lines in own.items()}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def validate(obj: Context, as_json: bool) -> None:
    """Check rules.yaml; print every problem as FILE:LINE: KEY: PROBLEM (exit 2).

    What is valid but not ready yet (an unset password variable, a host left from the example) is a
    warning on stderr; the exit status stays 0. With `accounts:`, every account is listed with how it
    signs in, and a warning of one account starts with `account NAME:`.

    \b
    Example:
      mailtriage -c rules.yaml validate
    """
    from mailtriage.app.schedule import next_check
    from mailtriage.config.credentials import password_source
    from mailtriage.config.fields import clock_text
    from mailtriage.core.wording import plural, when

    rules = obj.rules()
    now = datetime.now(rules.tz)
    upcoming = next_check(rules, now)
    notes = [f"{name}: no login configured" if server.auth == "password" and not server.username
             else f"{name} {'sign-in' if server.auth == 'oauth2' else 'password'}: {password_source(server)}"
             for name, server in (("imap", rules.imap), ("smtp", rules.smtp)) if server]
    if rules.oauth2 is not None:
        notes.append(f"oauth2: {rules.oauth2.provider}, token file {rules.oauth2.token_file}")
    from mailtriage.config.accounts import resolve

    accounts = resolve(rules)
    if rules.accounts:
        notes = []  # each account says how it signs in, on its own lines
    found, warned = _warnings(rules)  # valid but not ready yet: said, and the exit status stays 0
    clients = [c.name for c in rules.clients]
    if rules.accounts:  # every account's clients (two accounts' Acme are two clients)
        clients = [c.name for a in accounts for c in a.rules.clients]
    times = [clock_text(t) for t in rules.check_times]
    data = {
        "file": str(obj.config),
        "ok": True,
        "clients": clients,
        "check_times": times,
        "timezone": rules.timezone,
        "next_check": upcoming.isoformat(),
        "database": str(rules.database),
        "accounts": [_account(a.name, a.rules, warned.get(a.name, [])) for a in accounts],
        "retention": _retention(rules), "store_subjects": rules.store_subjects,
    }
    text = "\n".join([
        f"{obj.config}: OK",
        (f"  clients:     {len(clients)} ({', '.join(clients) or 'none'})" if not rules.accounts else
         f"  clients:     {len(clients)} in {plural(len(accounts), ('account', 'accounts'))} (each account's below)"),
        f"  check times: {', '.join(times)} ({rules.timezone})",
        f"  next check:  {when(upcoming, rules.tz, now)}",
        f"  database:    {rules.database}",
        f"  retention:   {_retention_text(rules)}",
        *(f"  {note}" for note in notes),
        *([f"  push:        {_push_text(rules)}"] if not rules.accounts and _push_text(rules) else []),
        *(line for a in accounts if rules.accounts for line in _account_lines(a.name, a.rules)),
    ])
    said = found + [f"account {name}: {line}" for name, lines in warned.items() for line in lines]
    data["warnings"] = said
    emit(data, as_json, text)
    if not as_json:
        for line in said:
            click.echo(f"warning: {line}", err=True)


def _retention(rules: Rules) -> dict[str, object] | None:
    """How long records are kept: the top level's, and the clients' own."""
    if rules.retention is None:
        return None
    return {"threads": rules.retention.threads, "messages": rules.retention.messages, "clients": _own(rules)}


def _own(rules: Rules) -> dict[str, str]:
    return {c.name: c.retention.threads for c in rules.clients if c.retention is not None}


def _retention_text(rules: Rules) -> str:
    subjects = "" if rules.store_subjects else "; no subjects stored"
    if rules.retention is None:
        return "none (retention: null): records are kept forever" + subjects
    own = "".join(f", {name}: threads {age}" for name, age in _own(rules).items())
    return f"threads {rules.retention.threads}, messages {rules.retention.messages}{own}{subjects}"


@click.command()
def schema() -> None:
    """Print the JSON Schema of rules.yaml (for editors with YAML language servers).

    \b
    Example:
      mailtriage schema > rules.schema.json
    """
    from mailtriage.config.model import Rules

    document = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                **Rules.model_json_schema(by_alias=True, mode="validation")}
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@click.command()
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

    from mailtriage.core.language import pick_language
    from mailtriage.decide.match import Matcher

    decision = Matcher(obj.rules()).match(address)
    decision = replace(decision, language=pick_language(decision.language, address, parseaddr(address)[0], ""))
    data = {"address": address, "client": decision.client, "action": decision.action,
            "window": str(decision.window), "language": decision.language, "reason": decision.reason}
    who = f"{decision.label} ({decision.reason})" if decision.client else "no client matched, the defaults apply"
    emit(data, as_json, f"{address}: {who}; "
                         f"action {decision.action}, {decision.window.within}, language {decision.language}")


@click.command()
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
    from mailtriage.core.typed import moment
    from mailtriage.core.windows import deadline as compute
    from mailtriage.core.windows import parse_window
    from mailtriage.core.wording import when
    from mailtriage.decide.match import Matcher

    if (window_text is None) == (sender is None):
        raise click.UsageError("give exactly one of --window or --from")
    rules = obj.rules()
    now = datetime.now(rules.tz)
    try:
        arrival = (moment(received, rules.tz, now)[0] if received else now).astimezone(rules.tz)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; write 2026-12-04, 2026-12-04T12:00 or \"4 Dec 12:00\"",
                                 param_hint="--received") from None
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
    emit(data, as_json, f"due {when(due, rules.tz, now)} ({window} for a message received "
                         f"{when(arrival, rules.tz, now)}{who})")
