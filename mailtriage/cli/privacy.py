"""The GDPR commands: forget (one person), export (a person or a client), purge (a client, or what expired)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from mailtriage.cli.common import Context, emit, open_store, pass_ctx, utc_now
from mailtriage.core.wording import plural

ACCOUNT_HELP = ("The client of this account of `accounts:` (needed when two accounts have a client of that "
                "name); only that account's records of it are {}.")
# The lists of an export, as a line counts them.
_FORMS = {"threads": ("thread", "threads"), "messages": ("message", "messages"),
          "automatic_replies": ("automatic reply", "automatic replies"), "erasures": ("erasure", "erasures")}


def _reference(value: str | None) -> str | None:
    """A reference is one short line: it goes into the erasure log and the client's confirmation as it is."""
    if value is None:
        return None
    if len(value) > 200 or any(ch in value for ch in "\r\n\x00") or not value.strip():
        raise click.BadParameter("one line of at most 200 characters, e.g. \"contract 12/2025\"",
                                 param_hint="--reference")
    return value.strip()


@click.command()
@click.argument("address")
@click.option("--reference", callback=lambda ctx, param, value: _reference(value),
              help="The request's reference (a ticket, a letter's date): kept in the erasure log.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def forget(obj: Context, address: str, reference: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove everything about the person at ADDRESS, in every account (GDPR art. 17).

    Their messages, the threads only they took part in (a shared thread keeps the others'
    messages), the replies to them and their sender-limit entries; the database file is then
    rewritten so that no removed byte stays on disk. The erasure is logged without personal data.

    \b
    Examples:
      mailtriage -c rules.yaml forget jan@acme.pl --dry-run
      mailtriage -c rules.yaml forget jan@acme.pl --reference "request of 2026-11-29"
    """
    from mailtriage.app.privacy import forget as forget_person

    rules = obj.rules()
    store = open_store(rules)
    try:
        erasure = forget_person(store, rules, address, utc_now(), reference=reference, dry_run=dry_run)
    finally:
        store.close()
    emit({"address": address, **erasure.as_dict()}, as_json, erasure.text(f"forget {address}"))


@click.command()
@click.option("--address", help="Everything stored about the person at this address.")
@click.option("--client", help="Everything stored about this client's correspondence.")
@click.option("--account", metavar="NAME", help=ACCOUNT_HELP.format("read"))
@click.option("--erasures", is_flag=True, help="The log of erasures instead (when, what, how many rows, the "
              "reference): to show that data was removed.")
@click.option("--output", type=click.Path(path_type=Path),
              help="Write the document to this new file (owner-only, 0600) instead of printing it; - prints it.")
@click.option("--force", is_flag=True, help="With --output: replace a file that is already there.")
@click.option("--json", "as_json", is_flag=True, help="Compact JSON (with --output: what was written, as JSON).")
@pass_ctx
def export(obj: Context, address: str | None, client: str | None, account: str | None, erasures: bool,
           output: Path | None, force: bool, as_json: bool) -> None:
    """Everything stored about a person or a client, as one JSON document (GDPR art. 15 and 20).

    \b
    Examples:
      mailtriage -c rules.yaml export --address jan@acme.pl --output jan.json
      mailtriage -c rules.yaml export --client Acme --json
      mailtriage -c rules.yaml export --client Acme --account biuro --output acme.json
      mailtriage -c rules.yaml export --erasures
    """
    from mailtriage.app.privacy import erasure_log
    from mailtriage.app.privacy import export as export_records

    if [address is not None, client is not None, erasures].count(True) != 1:
        raise click.UsageError("give --address ADDRESS, --client NAME or --erasures (one of them)")
    if account is not None and client is None:
        raise click.UsageError("--account goes with --client NAME")
    if output is not None and str(output) == "-":
        output = None
    rules = obj.rules()
    if output is not None:
        _writable(output, force, protected=(rules.database, obj.config))
    store = open_store(rules)
    try:
        document = erasure_log(store, rules) if erasures else \
            export_records(store, rules, utc_now(), address=address, client=client, account=account)
    finally:
        store.close()
    text = json.dumps(document, ensure_ascii=False, indent=None if as_json and output is None else 2)
    counts = {key: len(value) for key, value in document.items() if isinstance(value, list)}
    about = document.get("about")
    nothing = f"nothing stored about {_about(about)}" if isinstance(about, dict) and not any(counts.values()) \
        else None
    if output is None:
        click.echo(text)
        if nothing and not as_json:
            click.echo(nothing, err=True)  # the document stays whole on standard output
        return
    _write_private(output, text + "\n")
    said = ", ".join(plural(n, _FORMS.get(key, (key, key))) for key, n in counts.items())
    emit({"output": str(output), **counts}, as_json, f"wrote {output}: " + (f"{nothing} ({said})" if nothing else said))


def _about(about: dict[str, object]) -> str:
    if "email_address" in about:
        return str(about["email_address"])
    return f"client {about['client']}" + (f" of account {about['mailbox']}" if "mailbox" in about else "")


def _writable(path: Path, force: bool, protected: tuple[Path, ...]) -> None:
    """Refused before anything is read: mailtriage's own files, a folder, a file already there
    (unless --force), a folder that does not exist."""
    target = path.resolve()
    own = {p.resolve() for p in protected} | {Path(f"{p.resolve()}{suffix}") for p in protected[:1]
                                               for suffix in ("-wal", "-shm", ".lock")}
    if target in own:
        raise click.BadParameter(f"{path} is mailtriage's own file: write the export somewhere else",
                                 param_hint="--output")
    if target.is_dir() or not path.name:
        raise click.BadParameter(f"{path} is a folder: give a file name, e.g. {path / 'export.json'}",
                                 param_hint="--output")
    if path.is_symlink() or (path.exists() and not force):
        raise click.BadParameter(f"{path} is already there: give another name, or --force to replace it",
                                 param_hint="--output")
    if not target.parent.is_dir():
        raise click.BadParameter(f"the folder {target.parent} does not exist: create it first, or give another "
                                 "place", param_hint="--output")


def _write_private(path: Path, text: str) -> None:
    """Personal data: the file is the owner's alone from its first byte; a problem writing it is one line."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


@click.command()
@click.option("--client", "client", help="Remove all of this client's data (the end of a contract).")
@click.option("--account", metavar="NAME", help=ACCOUNT_HELP.format("removed"))
@click.option("--expired", is_flag=True, help="Remove what is past rules.yaml's retention (the daemon does it daily).")
@click.option("--reference", callback=lambda ctx, param, value: _reference(value),
              help="The contract's or request's reference: kept in the erasure log and put in "
              "the confirmation.")
@click.option("--language", type=click.Choice(["pl", "en"]), help="The confirmation's language (default: the "
              "client's, else its account's).")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def purge(obj: Context, client: str | None, account: str | None, expired: bool, reference: str | None,
          language: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove a client's data at the end of a contract (GDPR art. 28(3)(g)), or records past their retention.

    With --client, prints a short confirmation to send to the client.

    \b
    Examples:
      mailtriage -c rules.yaml purge --client Acme --reference "contract 12/2025"
      mailtriage -c rules.yaml purge --client Acme --account biuro --dry-run
      mailtriage -c rules.yaml purge --expired --dry-run
    """
    from mailtriage.app.privacy import expire, purge_client

    if (client is None) == (not expired):
        raise click.UsageError("give --client NAME or --expired (one of them)")
    if account is not None and client is None:
        raise click.UsageError("--account goes with --client NAME")
    rules = obj.rules()
    store = open_store(rules)
    try:
        now = utc_now()
        if client is not None:
            erasure = purge_client(store, rules, client, now, reference=reference, dry_run=dry_run,
                                   language=language, account=account)
        else:
            erasure = expire(store, rules, now, dry_run=dry_run)
    finally:
        store.close()
    what = f"purge client {client}" + (f" of account {account}" if account else "") if client is not None \
        else "purge expired records"
    text = erasure.text(what)
    if erasure.confirmation and not dry_run:
        text += "\n\n" + "\n".join(erasure.confirmation.values())
    emit({"client": client, "account": account, **erasure.as_dict()} if client is not None else erasure.as_dict(),
         as_json, text)
