"""The rules.yaml of a mailbox on loopback servers: one builder for the demo, the tests and the benchmarks.

Flow style, one key per line, so a test can still edit one value by text (a port, the folders, the
check times) and a reader of the demo's folder sees a short, ordinary rules.yaml.
"""

from __future__ import annotations

from pathlib import Path

IDENTITY = 'identity: {from: "Kasia Nowak <kasia@example.com>", addresses: [kasia@example.com]}'  # the tests'
CHECK_TIMES = 'check_times: ["08:00", "12:00", "16:00"]'
# Three kinds of client: a deadline the same day, a window in hours (in Polish), mail nobody answers.
CLIENTS = """\
clients:
  - {name: Acme, match: {domains: [acme.pl]}, respond_within: same business day, language: en}
  - {name: Piekarnia, match: {patterns: ["*@piekarnia-*.pl"]}, respond_within: 4 business hours, language: pl}
  - {name: Newsletters, match: {domains: [substack.com]}, action: ignore}
"""


def loopback_rules(imap_port: int, smtp_port: int | None, *, user: str = "kasia",
                   imap_password: str = "password_env: MAILTRIAGE_IMAP_PASSWORD", smtp_password: str | None = None,
                   language: str | None = "en", holidays: str = "{country: PL}", imap_options: str = "",
                   smtp_options: str = "", database: str | Path | None = "state/mailtriage.db",
                   respond_within: str | None = "1 business day", clients: bool = True, settings: str = "",
                   extra: str = "", address: str = "kasia@example.com") -> str:
    """rules.yaml for `user` on 127.0.0.1 without TLS.

    `imap_password` / `smtp_password` are the YAML of the password source ("password_env: X"); an SMTP
    server without one is used without a login. `*_options` go inside the imap / smtp mappings
    (", timeout: 10"); `settings` (whole lines) follow the check times, `extra` ends the file. None leaves a
    key out (its default applies). `address` is the user's (identity); the demo's is its own.
    """
    lines = ["timezone: Europe/Warsaw"]
    if language:
        lines.append(f"language: {language}")
    identity = IDENTITY.replace("kasia@example.com", address)
    lines += [CHECK_TIMES, *settings.splitlines(), f"holidays: {holidays}", identity,
              f"imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {user}, {imap_password}"
              f"{imap_options}}}"]
    if smtp_port is not None:
        login = f", username: kasia, {smtp_password}" if smtp_password else ""
        lines.append(f"smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none{login}{smtp_options}}}")
    if database is not None:
        lines.append(f"database: {database}")
    if respond_within is not None:
        lines.append(f"defaults: {{action: reply, respond_within: {respond_within}}}")
    text = "\n".join(lines) + "\n"
    return text + (CLIENTS if clients else "") + extra
