"""The `mailtriage login` command: sign in once with OAuth2."""

from __future__ import annotations

import click

from mailtriage.cli.common import Context, emit, pass_ctx, utc_now


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (what to open goes to stderr; an "
              "error is one line on stderr and nothing on stdout, as for every command).")
@pass_ctx
def login(obj: Context, as_json: bool) -> None:
    """Sign in once with OAuth2 (the oauth2 block of rules.yaml) and save the token file.

    Asks nothing: prints the address to open (and the code to enter there) and waits until you have
    signed in, in any browser, on any device. Then every check refreshes the token by itself; run
    login again only when told to (the sign-in was revoked or expired).

    \b
    Example:
      mailtriage -c rules.yaml login
    """
    from mailtriage.app.login import login as sign_in

    def show(text: str) -> None:
        click.echo(text, err=as_json)

    done = sign_in(obj.rules(), show, utc_now)
    emit(done.as_dict(), as_json, done.text())
