"""`mailtriage doctor`: every step between rules.yaml and going live, checked without sending mail
or changing anything (the mailbox, the database, the rules); each step says what to do when it fails.

The local steps (rules, passwords, the example's values, the database) live here; the network
steps, server by server, in doctor_net.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mailtriage.app.steps import FAIL, OK, SKIP, WARN, Step, safe_to_go_live
from mailtriage.config.credentials import password_source, read_password
from mailtriage.config.model import Rules
from mailtriage.config.readiness import DEMO_ADDRESS, PLACEHOLDER_ADDRESSES, PLACEHOLDER_HOSTS, loopback_only
from mailtriage.config.servers import Server
from mailtriage.errors import ConfigError, MailtriageError, SecretError, StoreError
from mailtriage.store.dbfile import DatabaseFault, count_tables, refuse_empty, store_error

if TYPE_CHECKING:
    from mailtriage.mail.oauth2 import RetryOnce

__all__ = ["FAIL", "OK", "SKIP", "WARN", "Step", "diagnose", "safe_to_go_live"]

# The host names and addresses of the repository's example rules.yaml: left in place, replies
# would go out From a stranger's address and the checks would knock on example.com's door.
# tests/test_doctor.py checks that these are still the example's values.
EXAMPLE_HOSTS, EXAMPLE_ADDRESSES = PLACEHOLDER_HOSTS, PLACEHOLDER_ADDRESSES  # one list, shared with `validate`


def diagnose(path: Path) -> list[Step]:
    """Every step, in the order a newcomer would fix them; with `accounts:`, the rules and the database
    once, then every account's own steps, each step naming its account."""
    from mailtriage.config.rulesfile import load

    try:
        rules = load(path)
    except ConfigError as exc:
        fix = f"correct it, then run: mailtriage -c {path} validate"
        return [Step("rules", FAIL, str(problem), fix) for problem in exc.problems]
    steps = [Step("rules", OK, f"{path} is valid")]
    if not rules.accounts:
        return [*steps, *mailbox_steps(rules, with_database=True)]
    from dataclasses import replace

    from mailtriage.config.accounts import resolve

    steps.append(database_step(rules.database))
    for account in resolve(rules):
        steps += [replace(step, account=account.name) for step in mailbox_steps(account.rules)]
    return steps


def mailbox_steps(rules: Rules, *, with_database: bool = False) -> list[Step]:
    """The steps of one mailbox (a file without `accounts:`, or one account): the example's values, the
    database (once per file), the sign-in, the passwords, then IMAP and SMTP over the network."""
    from mailtriage.app.doctor_net import imap_steps, smtp_steps

    steps = []
    leftovers = example_values(rules)
    demo = sorted({key for key, a in addresses(rules) if a.lower() == DEMO_ADDRESS}) if loopback_only(rules) else []
    steps.append(Step("example values", FAIL, "still the example's: " + ", ".join(leftovers),
                      "put in your own server names and addresses") if leftovers
                 else Step("example values", OK, f"{', '.join(demo)}: the demo's address {DEMO_ADDRESS} on the "
                           "demo's loopback servers: fine for trying mailtriage; a real rules.yaml has your own")
                 if demo
                 else Step("example values", OK, "none of the example's host names or addresses left"))
    if with_database:
        steps.append(database_step(rules.database))
        steps.append(privacy_step(rules))
    steps += oauth2_steps(rules)
    imap_step, imap_password = password_step("imap", rules.imap, rules)
    steps.append(imap_step)
    smtp_password = None
    if rules.smtp is not None:
        smtp_step, smtp_password = password_step("smtp", rules.smtp, rules)
        steps.append(smtp_step)
    from mailtriage.app.push import wanted

    steps += imap_steps(rules.imap, imap_password, placeholder=rules.imap.host in EXAMPLE_HOSTS,
                        push_poll=rules.idle.poll.total_seconds() if wanted(rules) else None)
    if rules.smtp is None:
        steps.append(Step("smtp", WARN, "no smtp section: holding replies are recorded but never sent",
                          "add smtp: {host: ..., port: 465, security: tls, username: ..., password_env: ...}"))
    else:
        steps += smtp_steps(rules.smtp, smtp_password, rules.identity.address,
                            placeholder=rules.smtp.host in EXAMPLE_HOSTS)
    return steps


def example_values(rules: Rules) -> list[str]:
    """Values left from the shipped example rules.yaml: 'imap.host imap.example.com', 'ADDRESS in KEYS'.
    `validate` warns of the same values (readiness.py); doctor also looks at the usernames."""
    found = [f"{name}.host {server.host}" for name, server in (("imap", rules.imap), ("smtp", rules.smtp))
             if server is not None and server.host.lower() in EXAMPLE_HOSTS]
    # The demo's address counts as the example's, except on loopback servers (the demo's own rules.yaml).
    examples = EXAMPLE_ADDRESSES if loopback_only(rules) else EXAMPLE_ADDRESSES | {DEMO_ADDRESS}
    for example in sorted(examples):
        keys = [key for key, value in addresses(rules) if value.lower() == example]
        found += [f"{example} in {', '.join(keys)}"] if keys else []
    return found


def addresses(rules: Rules) -> list[tuple[str, str]]:
    """Every address rules.yaml names for the user, with its key."""
    return [("identity.from", rules.identity.address),
            *(("identity.addresses", a) for a in rules.identity.addresses),
            ("imap.username", rules.imap.username.lower()),
            ("smtp.username", (rules.smtp.username or "").lower() if rules.smtp else ""),
            ("summary.to", rules.summary.to if rules.summary else "")]


def _once(text: str, fix: str) -> tuple[str, str]:
    """The detail and the fix, saying `mailtriage login` once: the error's own closing hint becomes the fix."""
    said, _, hint = text.rpartition(": ")
    if said and "mailtriage login" in hint:
        return said, hint.replace("`", "")
    return (text, "") if "mailtriage login" in text else (text, fix)


def oauth2_steps(rules: Rules) -> list[Step]:
    """The sign-in of the oauth2 block: the token file there, and its refresh token alive (refreshed
    now, the rotated one saved: the one change doctor makes, and the one a check would make anyway)."""
    block = rules.oauth2
    if block is None or not any(s is not None and s.auth == "oauth2" and not s.token_command
                                for s in (rules.imap, rules.smtp)):
        return []
    from mailtriage.mail.oauth2 import load_tokens
    from mailtriage.mail.oauth2_wire import Unreachable
    from mailtriage.mail.signin import token_file, token_source

    login = "sign in with: mailtriage login"
    try:
        tokens = load_tokens(token_file(block))
    except MailtriageError as exc:
        return [Step("oauth2 token", FAIL, *_once(str(exc), login)), _skip("oauth2 refresh", "no token file")]
    steps = [Step("oauth2 token", OK, f"{block.token_file} (signed in {tokens.obtained_at:%Y-%m-%d} as "
                  f"{tokens.who or tokens.account or 'the account of rules.yaml'})")]
    try:
        token_source(block).force_refresh()
    except SecretError as exc:  # the client secret's variable or file: not a matter of signing in again
        return [*steps, Step("oauth2 refresh", FAIL, str(exc), "set client_secret_env / client_secret_file")]
    except Unreachable as exc:  # offline: signing in again would not help
        return [*steps, Step("oauth2 refresh", FAIL, str(exc), "run doctor again once the network works")]
    except MailtriageError as exc:
        return [*steps, Step("oauth2 refresh", FAIL, *_once(str(exc), login))]
    return [*steps, Step("oauth2 refresh", OK, f"the refresh token works ({block.provider}); the new tokens "
                         "are saved")]


def _skip(step: str, because: str) -> Step:
    return Step(step, SKIP, f"not checked ({because})")


def password_step(name: str, server: Server, rules: Rules | None = None) -> tuple[Step, str | RetryOnce | None]:
    """Whether the password can be read (never showing it), and the password for the later steps:
    where `validate` only warns of an unset variable (readiness.py), doctor reads the secret.
    With auth: oauth2, the token source instead (the oauth2 block's, or token_command's)."""
    step = f"{name} password"
    if server.auth == "oauth2" and rules is not None:
        return _token_step(name, server, rules)
    if not server.username:
        return Step(step, OK, "no login configured"), None
    try:
        password = read_password(server)
    except SecretError as exc:
        return Step(step, FAIL, str(exc), _secret_fix(name, server)), None
    if not password:
        return Step(step, FAIL, f"the {password_source(server)} gives an empty password",
                    _secret_fix(name, server)), None
    return Step(step, OK, f"read from the {password_source(server)}"), password


def _token_step(name: str, server: Server, rules: Rules) -> tuple[Step, RetryOnce | None]:
    from mailtriage.mail.signin import credential

    step = f"{name} sign-in"
    try:
        source = credential(rules, server)
        assert source is not None and not isinstance(source, str)
        if server.token_command:
            source.access_token()
    except MailtriageError as exc:
        fix = ("run the command yourself until it prints an access token, then correct token_command"
               if server.token_command else "run: mailtriage login")
        return Step(step, FAIL, str(exc), fix), None
    from mailtriage.config.credentials import password_source

    return Step(step, OK, password_source(server)), source


def _secret_fix(name: str, server: Server) -> str:
    if server.password_env:
        return (f"set it where mailtriage runs (export {server.password_env}=... in a shell; Environment= or, "
                f"better, LoadCredential={name} with password_file: ${{CREDENTIALS_DIRECTORY}}/{name} under systemd)")
    if server.password_file:
        return "create the file with the password alone in it (chmod 600), or correct password_file"
    return "run the command yourself until it prints the password, then correct password_command"


def database_step(path: Path) -> Step:
    """Whether the database opens, or would be created; creates and writes nothing."""
    step = "database"
    if not path.exists():
        folder = _nearest_existing(path.parent)
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return Step(step, FAIL, f"{path} cannot be created: {folder} is not a folder you may write in",
                        "give the user running mailtriage write access there, or set database: elsewhere")
        return Step(step, OK, f"{path} does not exist yet: the first check creates it")
    if path.is_dir():
        return Step(step, FAIL, f"{path} is a folder, not a database file", "set database: to a file name")
    try:
        refuse_empty(path)
        if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
            raise StoreError(f"cannot write {path} or create its journal next to it in {path.parent}")
        tables = count_tables(path)
    except (DatabaseFault, OSError, StoreError) as exc:
        problem = store_error(exc, path)
        return Step(step, FAIL, str(problem))  # store_error's line says what to do
    return Step(step, OK, f"{path} opens ({tables} tables) and may be written")


def private_paths(rules: Rules) -> list[Path]:
    """What holds personal data or secrets: the database and its WAL, SHM and lock files, the token files,
    and the database's folder."""
    database = rules.database
    found = [database.parent, database, *(database.with_name(database.name + s) for s in ("-wal", "-shm", ".lock"))]
    blocks = [rules.oauth2, *(account.oauth2 for account in rules.accounts)]
    found += [block.token_file for block in blocks if block is not None and block.token_file is not None]
    folder = database.parent
    found += sorted(folder.glob("oauth2-tokens*.json")) if folder.is_dir() else []
    return list(dict.fromkeys(found))


def privacy_step(rules: Rules) -> Step:
    """Files owner-only (0600) and the database's folder too (0700): others on the machine may not read
    senders, subjects or tokens. A warning, not a failure: mailtriage works, but it is not private."""
    step = "file permissions"
    open_to_others = []
    for path in private_paths(rules):
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            continue  # not there (yet): made owner-only when it is
        if mode & 0o077:
            open_to_others.append(f"{path} ({mode:04o})")
    if open_to_others:
        return Step(step, WARN, "readable by others than the owner: " + ", ".join(open_to_others),
                    "chmod 600 each file and chmod 700 the folder (mailtriage creates them so)")
    return Step(step, OK, "the database, its journal and lock files, the token files and their folder are "
                "the owner's alone")


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
