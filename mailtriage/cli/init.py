"""`mailtriage init`: write a first, commented rules.yaml for a provider; ask for what is missing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Literal, cast

import click

from mailtriage.cli.common import emit
from mailtriage.config.providers import PROVIDERS, Provider
from mailtriage.errors import MailtriageError

Language = Literal["pl", "en"]
Passwords = Literal["env", "systemd"]
Auth = Literal["password", "oauth2"]
PROVIDER_HELP = "Your mail provider: " + ", ".join(PROVIDERS) + " (other: give --imap-host and --smtp-host)."


def interactive() -> bool:
    """Ask questions only when a person can answer them: stdin is a terminal."""
    return sys.stdin.isatty()


class InitError(click.ClickException):
    """One line on stderr, without click's usage block, so a script's log stays readable."""

    exit_code = 2  # the command line was wrong

    def show(self, file: IO[str] | None = None) -> None:
        click.echo(f"mailtriage init: {self.message}", err=True)


class InitRefused(InitError):
    """The command line was right, but the file cannot be written (it exists, or the disk says no)."""

    exit_code = 1


def _missing(flag: str, what: str) -> None:
    raise InitError(f"{flag} is missing: {what} (or run it in a terminal to be asked)")


def _need(value: str | None, flag: str, prompt: str, what: str, choices: list[str] | None = None) -> str:
    if value:
        return value
    if not interactive():
        _missing(flag, what)
    return str(click.prompt(prompt, type=click.Choice(choices) if choices else None))


def _address(value: str) -> str:
    from mailtriage.config.fields import check_address as parse

    try:
        return parse(value)
    except Exception:  # pydantic's custom error: turned into a usage error naming the flag
        raise InitError(f"--address: not an email address: {value!r}") from None


@click.command()
@click.option("--provider", type=click.Choice(list(PROVIDERS)), help=PROVIDER_HELP)
@click.option("--address", metavar="ADDRESS", help="Your email address (the mailbox to watch).")
@click.option("--name", metavar="NAME", help="Your name in the From of holding replies. Default: the address.")
@click.option("--language", type=click.Choice(["pl", "en"]), default="pl", show_default=True,
              help="Language of holding replies and the summary.")
@click.option("--timezone", default="Europe/Warsaw", show_default=True, metavar="ZONE",
              help="IANA time zone of check times and business hours (Europe/Warsaw also sets PL holidays).")
@click.option("--imap-host", metavar="HOST", help="IMAP server (needed for other and homepl).")
@click.option("--smtp-host", metavar="HOST", help="SMTP server (needed for other and homepl).")
@click.option("--passwords", type=click.Choice(["env", "systemd"]), default="env", show_default=True,
              help="env: MAILTRIAGE_IMAP_PASSWORD / MAILTRIAGE_SMTP_PASSWORD; systemd: credentials files.")
@click.option("--auth", type=click.Choice(["password", "oauth2"]), default=None,
              help="How to sign in; default: oauth2 for microsoft365, password (an app password) for the others. "
              "oauth2 works for microsoft365 and gmail.")
@click.option("--client-id", metavar="ID", help="With oauth2: the client id of your own app registration "
              "(README); without it rules.yaml gets a placeholder to replace. Implies --auth oauth2.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="rules.yaml",
              show_default=True, help="Where to write the file.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the file written, the provider, how it "
              "signs in and the next steps.")
def init(provider: str | None, address: str | None, name: str | None, language: str, timezone: str,
         imap_host: str | None, smtp_host: str | None, passwords: str, auth: str | None, client_id: str | None,
         output: Path, force: bool, as_json: bool) -> None:
    """Write a first, commented rules.yaml for your provider (asks for what is missing in a terminal).

    \b
    Examples:
      mailtriage init --provider gmail --address kasia@gmail.com --name "Kasia Nowak"
      mailtriage init --provider ovh --address biuro@firma.pl --language en -o /etc/mailtriage/rules.yaml
      mailtriage init --provider other --address ja@firma.pl --imap-host mail.firma.pl --smtp-host mail.firma.pl
      mailtriage init --provider microsoft365 --address biuro@firma.pl --client-id 1a2b3c4d-...
    Then set MAILTRIAGE_IMAP_PASSWORD and MAILTRIAGE_SMTP_PASSWORD (with OAuth2: run `mailtriage login`)
    and run `mailtriage validate`.
    """
    from mailtriage.config.fields import check_zone
    from mailtriage.config.scaffold import CLIENT_SECRET_ENV, Answers, render, write

    if output.exists() and not force:  # before any question: do not ask what cannot be written
        raise InitRefused(f"{output} already exists; give --force to overwrite it, or --output for another file")
    chosen: Provider = PROVIDERS[_need(provider, "--provider", "Provider", "give one of " + ", ".join(PROVIDERS),
                                       choices=list(PROVIDERS))]
    mailbox = _address(_need(address, "--address", "Your email address", "give your email address"))
    if not name:
        name = click.prompt("Your name (shown in replies)", default=mailbox) if interactive() else mailbox
    hosts = [_need(given or preset, flag, f"{kind} server", f"give your {kind} server for {chosen.key}")
             for given, preset, flag, kind in ((imap_host, chosen.imap.host, "--imap-host", "IMAP"),
                                               (smtp_host, chosen.smtp.host, "--smtp-host", "SMTP"))]
    inferred = client_id is not None and auth is None  # a client id is only for OAuth2: that is what was meant
    if client_id is not None and auth == "password":
        raise InitError("--client-id is for OAuth2 sign-in: give --auth oauth2, or leave out --client-id")
    if inferred:
        auth = "oauth2"
    if auth == "oauth2" and chosen.oauth2 is None:
        raise InitError(f"--auth oauth2: init knows the OAuth2 sign-in of microsoft365 and gmail only; for "
                        f"{chosen.key}, write the oauth2 block by hand (provider: custom; README)")
    try:
        check_zone(timezone)
    except Exception as exc:  # the same check and words as rules.yaml's timezone:
        raise InitError(f"--timezone: {exc}") from None
    answers = Answers(chosen, mailbox, name, cast(Language, language), timezone, hosts[0], hosts[1],
                      cast(Passwords, passwords), cast(Auth | None, auth), client_id)
    try:
        write(output, render(answers), force)
    except MailtriageError as exc:
        raise InitRefused(str(exc)) from None
    if answers.oauth2:
        first = "" if client_id else "put your app registration's client id into rules.yaml (README), "
        secret = f"set {CLIENT_SECRET_ENV}, " if chosen.oauth2 == "google" else ""
        because = " with OAuth2 sign-in (--client-id given, so --auth oauth2)" if inferred else ""
        steps = f"{first}{secret}mailtriage -c {output} login, then mailtriage -c {output} validate"
        said = f"wrote {output} for {chosen.name}{because}; next: {steps}"
    else:
        steps = f"set {_next(passwords)}, then mailtriage -c {output} validate"
        said = f"wrote {output} for {chosen.name}; next: {steps}"
    note = None if chosen.verified else f"{chosen.name}'s settings are not confirmed by a published source; check them"
    emit({"written": str(output), "provider": chosen.key, "auth": "oauth2" if answers.oauth2 else "password",
          "next": steps, "note": note}, as_json, said)
    if note and not as_json:
        click.echo(f"note: {note}", err=True)


def _next(passwords: str) -> str:
    if passwords == "systemd":
        return "the credentials imap and smtp (README: Run it as a service)"
    return "MAILTRIAGE_IMAP_PASSWORD and MAILTRIAGE_SMTP_PASSWORD"
