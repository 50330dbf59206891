"""The text of a first rules.yaml: a provider preset plus the answers to `mailtriage init`, commented.

Pure: `render()` returns the text and `write()` refuses to overwrite; the CLI asks the questions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mailtriage.config.oauth2 import CLIENT_ID_PLACEHOLDER
from mailtriage.config.providers import Provider, login_name
from mailtriage.errors import MailtriageError

PASSWORD_ENV = {"imap": "MAILTRIAGE_IMAP_PASSWORD", "smtp": "MAILTRIAGE_SMTP_PASSWORD"}


class ExistsError(MailtriageError):
    """The output file is already there and --force was not given."""


@dataclass(frozen=True)
class Answers:
    """What `init` knows: from flags, prompts and defaults."""

    provider: Provider
    address: str
    name: str
    language: Literal["pl", "en"] = "pl"
    timezone: str = "Europe/Warsaw"
    imap_host: str | None = None  # overrides the preset (needed where it has none)
    smtp_host: str | None = None
    passwords: Literal["env", "systemd"] = "env"
    auth: Literal["password", "oauth2"] | None = None  # None: the provider's default
    client_id: str | None = None  # of the user's own app registration; None: a placeholder to replace

    @property
    def oauth2(self) -> bool:
        return (self.auth or self.provider.auth) == "oauth2" and self.provider.oauth2 is not None


def _q(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: safe for any name, address or host.
    return json.dumps(text, ensure_ascii=False)


def sender(name: str, address: str) -> str:
    """The From header of holding replies: 'Name <address>', or the bare address when the name is it."""
    if not name or name == address:
        return address
    specials = set('()<>[]:;@\\,."')
    shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"' if specials & set(name) else name
    return f"{shown} <{address}>"


def _password(server: str, passwords: str) -> str:
    if passwords == "systemd":
        return f"password_file: {_q('${CREDENTIALS_DIRECTORY}/' + server)}"
    return f"password_env: {PASSWORD_ENV[server]}"


CLIENT_SECRET_ENV = "MAILTRIAGE_OAUTH2_CLIENT_SECRET"
BORROWING = ("Do not borrow the public client id of another application (Thunderbird, Outlook, a script "
             "found online): it belongs to them, using it breaks their terms and it can be blocked at any time.")
HOW_TO_CLIENT_ID = {
    "microsoft": [
        "# The client id comes from an app registration of your own (free, a few minutes; README: Microsoft",
        "# 365 / Outlook.com): entra.microsoft.com > App registrations > New registration (personal",
        "# Outlook.com accounts: 'Accounts in any organizational directory and personal Microsoft accounts');",
        "# Authentication > Allow public client flows: Yes; API permissions > Microsoft Graph > Delegated:",
        "# IMAP.AccessAsUser.All, SMTP.Send, offline_access. Copy its Application (client) ID here.",
        "# tenant: common, or your directory's id / domain to allow only your organisation.",
    ],
    "google": [
        "# The client id comes from a Google Cloud project of your own (README: Gmail / Google Workspace):",
        "# console.cloud.google.com > new project > OAuth consent screen (add the scope",
        "# https://mail.google.com/, then publish it 'In production': in 'Testing' every sign-in ends after",
        "# 7 days) > Credentials > Create OAuth client ID > Desktop app. Copy the client id here; its",
        f"# client secret goes into the environment variable {CLIENT_SECRET_ENV} (or client_secret_file).",
    ],
}


def _oauth2_block(a: Answers) -> list[str]:
    """The oauth2 block with how to get a client id; the token file lives beside the database."""
    kind = a.provider.oauth2
    assert kind is not None
    lines = [
        "# OAuth2 sign-in (imap.auth / smtp.auth: oauth2). Run `mailtriage login` once: it prints an address",
        "# to open, waits for you to sign in, and saves the tokens (0600) beside the database; every check",
        "# refreshes them by itself. The service must be able to write that folder (README: systemd).",
        *HOW_TO_CLIENT_ID[kind],
        *[_wrap("# " + BORROWING, 108)],
        "oauth2:",
        f"  provider: {kind}",
        f"  client_id: {_q(a.client_id or CLIENT_ID_PLACEHOLDER)}",
    ]
    if kind == "microsoft":
        lines.append("  tenant: common")
    else:
        lines.append(f"  client_secret_env: {CLIENT_SECRET_ENV}")
    return [*lines, ""]


def _login(server: str, a: Answers) -> str:
    return "auth: oauth2" if a.oauth2 else _password(server, a.passwords)


def _header(a: Answers) -> list[str]:
    p = a.provider
    lines = [
        f"# rules.yaml for {a.address}, written by `mailtriage init --provider {p.key}`.",
        "#",
        "# Check it:      mailtriage -c rules.yaml validate",
        "# Try it:        mailtriage -c rules.yaml check --dry-run",
        "# Every key is explained in README (\"A tour of rules.yaml\") and in the example rules.yaml there.",
        "# An unknown key or a bad value is reported as rules.yaml:LINE; nothing is guessed.",
        "#",
        f"# {p.name}: " + p.note,
    ]
    lines += [f"# Settings from: {url}" for url in p.sources] or ["# Settings from: no published source (see above)."]
    return [_wrap(line) for line in lines]


def _wrap(line: str, width: int = 110) -> str:
    words, out, current = line.split(" "), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = "#  " + word
        else:
            current = f"{current} {word}" if current else word
    return "\n".join([*out, current])


def render(a: Answers) -> str:
    """The whole commented rules.yaml for these answers (validated by `mailtriage validate`)."""
    p = a.provider
    imap_host, smtp_host = a.imap_host or p.imap.host, a.smtp_host or p.smtp.host
    if not imap_host or not smtp_host:
        raise ValueError("render() needs both hosts")  # the CLI asks for them first
    user = _q(login_name(p, a.address))
    holidays = ("holidays: {country: PL, extra: []}" if a.timezone == "Europe/Warsaw"
                else "holidays: {extra: []}   # add country: XX (ISO code) for public holidays")
    sent = (f"sent_folder: {_q(p.sent_folder)}, " if p.sent_folder else "")
    return "\n".join([
        *_header(a),
        "",
        "# All times below (check times, business hours, deadlines) are in this IANA time zone.",
        f"timezone: {_q(a.timezone)}",
        "",
        "# Language of holding replies and of the morning summary: pl or en (a client may override it).",
        f"language: {a.language}",
        "",
        "# When the mailbox is checked (HH:MM, quoted): on business days only.",
        'check_times: ["08:00", "12:00", "16:00"]',
        "",
        "# Business time: deadlines count only these hours on these days.",
        'business_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:00"}',
        "",
        "# Days off: a country's public holidays plus your own (\"2026-12-31\").",
        holidays,
        "",
        "# Vacations, both days inclusive: [{from: 2026-08-03, to: 2026-08-14}]",
        "away: []",
        "",
        "# Who you are: `from` is the From of holding replies; mail from `addresses` is never answered,",
        "# and only mail sent to one of them is.",
        f"identity: {{from: {_q(sender(a.name, a.address))}, addresses: [{_q(a.address)}]}}",
        "require_addressed: true",
        "",
        "# The mailbox, read with headers only (nothing is marked read). The password never goes in this",
        "# file: it comes from the environment variable (password_env) or a file (password_file, e.g.",
        "# systemd credentials). The Sent folder is found by the server's \\Sent mark; if it has none,",
        '# add sent_folder: "Sent" (its name in your web mail).',
        f"imap: {{host: {_q(imap_host)}, port: {p.imap.port}, security: {p.imap.security}, username: {user},",
        f"       {_login('imap', a)}, {sent}folders: [INBOX]}}",
        "",
        "# Where holding replies and the summary are sent from.",
        f"smtp: {{host: {_q(smtp_host)}, port: {p.smtp.port}, security: {p.smtp.security}, username: {user},",
        f"       {_login('smtp', a)}}}",
        "",
        *(_oauth2_block(a) if a.oauth2 else []),
        "# The SQLite file that records every thread. ${STATE_DIRECTORY} is the service's state folder",
        "# (~/.local/state/mailtriage when you run mailtriage yourself); a relative path is next to this file.",
        'database: "${STATE_DIRECTORY}/mailtriage.db"',
        "",
        "# The morning summary: overdue, due today, answered, and how each client's window was kept.",
        f'summary: {{to: {_q(a.address)}, at: "07:30"}}',
        "",
        "# Senders no client matches: reply (holding reply + record), record (no reply) or ignore.",
        "# respond_within: N business hours | same business day | N business days | next check",
        "defaults: {action: reply, respond_within: 2 business days}",
        "",
        "# Clients, matched by sender: an address beats a domain (with its subdomains), which beats a",
        "# pattern, which beats the defaults. Write yours in place of [], like these:",
        "clients: []",
        "#  - {name: Acme, match: {domains: [acme.pl], addresses: [jan.kowalski@gmail.com]},",
        "#     respond_within: same business day, language: en}",
        '#  - {name: Piekarnia, match: {patterns: ["*@piekarnia-*.pl"]}, respond_within: 4 business hours}',
        "#  - {name: Newsletters, match: {domains: [substack.com]}, action: ignore}",
        "",
    ])


def write(path: Path, text: str, force: bool) -> None:
    """Write `text` to `path` (0600: it names your mailbox), never over an existing file unless `force`."""
    if path.exists() and not force:
        raise ExistsError(f"{path} already exists; give --force to overwrite it, or --output for another file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise MailtriageError(f"cannot write {path}: {exc.strerror}") from None
