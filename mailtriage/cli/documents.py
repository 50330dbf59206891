"""The `mailtriage` commands that make documents for clients and calendars: standards, report, calendar."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mailtriage.cli.common import Context, open_store, pass_ctx, utc_now
from mailtriage.errors import ConfigError, Problem

LANGUAGES = click.Choice(["pl", "en"])


def _client(obj: Context, name: str | None) -> tuple[object, object]:
    from mailtriage.app.standards import find_client

    rules = obj.rules()
    try:
        return rules, find_client(rules, name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--client") from None


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
    from mailtriage.config.model import Client, Rules

    rules, client = _client(obj, client_name)
    assert isinstance(rules, Rules) and (client is None or isinstance(client, Client))
    document = doc.build(rules, client, doc.language_of(rules, client, language), utc_now())
    if as_json:
        click.echo(json.dumps(document.as_dict(), ensure_ascii=False))
        return
    click.echo(doc.render(document, rules, form), nl=False)
