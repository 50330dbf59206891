"""The `mailtriage login` command: sign in once with OAuth2."""

from __future__ import annotations

import click

from mailtriage.cli.common import Context, account_named, emit, pass_ctx, utc_now


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (what to open goes to stderr; an "
              "error is one line on stderr and nothing on stdout, as for every command).")
@click.option("--account", metavar="NAME", help="Sign in this account of `accounts:` (its own token file, "
              "oauth2-tokens.NAME.json beside the database unless it names one).")
@pass_ctx
def login(obj: Context, as_json: bool, account: str | None) -> None:
    """Sign in once with OAuth2 (the oauth2 block of rules.yaml) and save the token file.

    Asks nothing: prints the address to open (and the code to enter there) and waits until you have
    signed in, in any browser, on any device. Then every check refreshes the token by itself; run
    login again only when told to (the sign-in was revoked or expired).

    \b
    With `accounts:` in rules.yaml, each account that signs in with OAuth2 has tokens of its own:
    name it with --account (needed when more than one account uses OAuth2).

    \b
    Examples:
      mailtriage -c rules.yaml login
      mailtriage -c rules.yaml login --account biuro
    """
    from mailtriage.app.login import login as sign_in
    from mailtriage.app.login import who_signs_in

    def show(text: str) -> None:
        click.echo(text, err=as_json)

    rules = obj.rules()
    if account is not None:
        rules = account_named(obj, rules, account).rules
    elif rules.accounts:
        rules = who_signs_in(rules)
    done = sign_in(rules, show, utc_now)
    emit(done.as_dict(), as_json, done.text())
