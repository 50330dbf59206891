"""The `mailtriage doctor` command: is this setup safe to go live?"""

from __future__ import annotations

import json
import sys

import click

from mailtriage.cli.common import Context, pass_ctx


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {step, status, detail, fix}.")
@pass_ctx
def doctor(obj: Context, as_json: bool) -> None:
    """Check the whole setup, step by step, without sending mail or changing anything.

    Rules, passwords, the database, the OAuth2 token (present and refreshable: the one thing
    doctor may write is the refreshed token file), then for IMAP and SMTP: DNS, TCP, TLS, login,
    folders, the Sent folder, capabilities, the envelope sender, SMTPUTF8. Exit 0 only if no step
    failed (warnings allowed): safe to go live. With `accounts:` in rules.yaml, every account is
    checked, each line starting with its name (and an `account` field in JSON).

    \b
    Example:
      mailtriage -c rules.yaml doctor
    """
    from mailtriage.app.doctor import diagnose, safe_to_go_live

    steps = diagnose(obj.config)
    if as_json:
        click.echo(json.dumps([step.as_dict() for step in steps], ensure_ascii=False))
    else:
        for step in steps:
            click.echo(step.line())
    if not safe_to_go_live(steps):
        sys.exit(1)
