"""The `mailtriage` commands that say why: explain (a recorded message), preview (a message to come)."""

from __future__ import annotations

import json
from datetime import datetime

import click

from mailtriage.cli.common import Context, pass_ctx, utc_now


@click.command()
@click.argument("message")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def explain(obj: Context, message: str, as_json: bool) -> None:
    """Why MESSAGE got what it got: guards, client rule, deadline step by step, reply, thread.

    MESSAGE is a Message-ID (with or without <>), FOLDER:UID (INBOX:42), or a thread number
    (12 or #12: every message of that thread). Reads the database; changes nothing. With `accounts:`,
    each message is explained by its own account's rules and says its account.

    \b
    Examples:
      mailtriage -c rules.yaml explain 12
      mailtriage -c rules.yaml explain INBOX:42 --json
      mailtriage -c rules.yaml explain '<invoice-1@acme.pl>'
    """
    from mailtriage.app import explain as why
    from mailtriage.app.check import preload_holidays
    from mailtriage.store.db import Store

    rules = obj.rules()
    store = Store.snapshot(rules.database)  # a private copy: explaining never writes to the database
    try:
        items = why.explain(store, rules, message, rules.calendar(preload_holidays(rules, store, utc_now())))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"query": message, "messages": [why.as_dict(i, rules.tz) for i in items]},
                              ensure_ascii=False))
        return
    click.echo("\n\n".join("\n".join(why.text(item, rules.tz, bool(rules.accounts))) for item in items))


@click.command()
@click.option("--from", "sender", required=True, metavar="ADDRESS", help="The sender: jan@acme.pl or "
              "'Jan Kowalski <jan@acme.pl>'.")
@click.option("--name", metavar="NAME", help="The sender's display name.")
@click.option("--subject", default="", metavar="TEXT", help="The subject.")
@click.option("--received", metavar="TIME", help="When it arrives and is checked: 2026-12-04T17:10 or "
              "'2026-12-04 17:10' (local to timezone unless it has an offset). Default: now.")
@click.option("--to", metavar="ADDRESS", help="Its To address. Default: identity's address.")
@click.option("--reply-to", metavar="ADDRESS", help="Its Reply-To address. Default: none.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def preview(obj: Context, sender: str, name: str | None, subject: str, received: str | None, to: str | None,
            reply_to: str | None, as_json: bool) -> None:
    """What a check would send this sender: the holding reply, or what stops it.

    The message goes through a check's own code (guards, client rules, deadline, reply) as if it
    arrived at TIME and nothing had been recorded before. Stores nothing, sends nothing.

    \b
    Examples:
      mailtriage -c rules.yaml preview --from jan@acme.pl --subject "Faktura" --received 2026-12-04T17:10
      mailtriage -c rules.yaml preview --from no-reply@bank.example --json
    """
    from mailtriage.app.preview import body, headers, what_if
    from mailtriage.core.typed import moment

    rules = obj.rules()
    when = datetime.now(rules.tz)
    if received is not None:
        try:
            when, has_time = moment(received, rules.tz, when)
        except ValueError:
            has_time = False
        if not has_time:
            raise click.BadParameter(f"not a date and time: {received!r} (e.g. 2026-12-04T17:10)",
                                     param_hint="--received")
    result = what_if(rules, sender, when, name=name, subject=subject, to=to, reply_to=reply_to)
    if as_json:
        click.echo(json.dumps(result.as_dict(rules.tz), ensure_ascii=False))
        return
    from mailtriage.app.explain import deadline_lines, verdict_lines

    item = result.explanation
    click.echo(f"A message from {sender} arriving {when:%a %Y-%m-%d %H:%M %z}, checked then, with no history:")
    click.echo("\n".join([*verdict_lines(item), *deadline_lines(item, rules.tz)]))
    if result.reply is None or item.reply is None:
        click.echo(f"  no holding reply: {item.message.reason}")
        return
    click.echo(f"  reply to:  {item.reply.recipient} ({item.reply.recipient_reason})\n")
    click.echo("\n".join(f"{key}: {value}" for key, value in headers(result.reply).items()))
    click.echo("\n" + body(result.reply).rstrip())
