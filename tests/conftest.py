"""Shared fixtures: rules files, the repository's example, and real mail servers on loopback."""

from __future__ import annotations

import itertools
import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from mailtriage.demo.localservers import PrivateDovecot, SmtpSink

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "rules.yaml"

MINIMAL = """\
timezone: Europe/Warsaw
check_times: ["08:00", "12:00", "16:00"]
holidays: {country: PL}
identity: {from: "Kasia Nowak <kasia@example.com>", addresses: [kasia@example.com]}
imap: {host: 127.0.0.1, port: 1143, security: none, username: kasia, password_env: MT_TEST_IMAP}
smtp: {host: 127.0.0.1, port: 1025, security: none, username: kasia, password_env: MT_TEST_SMTP}
"""


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[[str], Path]:
    """Write a rules.yaml (dedented) into a fresh folder and return its path."""

    def write(text: str, name: str = "rules.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


# --- real servers on loopback -------------------------------------------------------------------



DATA = Path(__file__).resolve().parent / "data"
CORPUS = REPO.parent / "shared" / "corpus"
IMAP_PASSWORD = "imap-secret-9f2c"
SMTP_PASSWORD = "smtp-secret-41ab"
_users = itertools.count(1)
DOVECOT_MISSING = shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists()
needs_dovecot = pytest.mark.skipif(DOVECOT_MISSING, reason="dovecot is not installed (apt-get install dovecot-imapd; "
                                   ".ci/run does it)")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[PrivateDovecot]:
    """One private Dovecot for the whole run; each test gets its own user (its own mailbox)."""
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run does it)")
    server = PrivateDovecot(password=IMAP_PASSWORD).start()
    yield server
    server.cleanup()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(password=SMTP_PASSWORD).start()
    yield sink
    sink.stop()


@dataclass
class Mailbox:
    """A test's own mailbox on the private Dovecot, and the rules.yaml that points at it."""

    user: str
    server: PrivateDovecot
    rules: Path

    def deliver(self, raw: bytes, folder: str = "INBOX", when: datetime | None = None,
                flags: tuple[bytes, ...] = ()) -> None:
        imap = self.server.client(self.user)
        try:
            imap.append(folder, raw, flags=flags, msg_time=when)
        finally:
            imap.logout()

    def deliver_file(self, name: str, **kwargs: object) -> None:
        self.deliver((DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), **kwargs)

    def imap(self) -> object:
        return self.server.client(self.user)


RULES_TEMPLATE = """\
timezone: Europe/Warsaw
language: en
check_times: ["08:00", "12:00", "16:00"]
holidays: {{country: PL}}
identity: {{from: "Kasia Nowak <kasia@example.com>", addresses: [kasia@example.com]}}
imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {user},
       password_env: MT_TEST_IMAP_PASSWORD, folders: [INBOX], timeout: 10}}
smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, username: kasia,
       password_env: MT_TEST_SMTP_PASSWORD, timeout: 10}}
database: state/mailtriage.db
# The tests deliver mail dated November 2026 and check it whenever they run: trust those dates.
max_arrival_age: null
defaults: {{action: reply, respond_within: 1 business day}}
clients:
  - {{name: Acme, match: {{domains: [acme.pl]}}, respond_within: same business day}}
  - {{name: Piekarnia, match: {{patterns: ["*@piekarnia-*.pl"]}}, respond_within: 4 business hours, language: pl}}
  - {{name: Newsletters, match: {{domains: [substack.com]}}, action: ignore}}
{extra}"""


@pytest.fixture
def mailbox(dovecot: PrivateDovecot, smtp: SmtpSink, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Callable[..., Mailbox]:
    """Make a fresh mailbox and rules file; `extra` is appended to rules.yaml."""
    monkeypatch.setenv("MT_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)

    def make(extra: str = "") -> Mailbox:
        user = f"user{os.getpid()}x{next(_users)}"
        rules = tmp_path / f"{user}.yaml"
        rules.write_text(RULES_TEMPLATE.format(imap_port=dovecot.port, smtp_port=smtp.port, user=user,
                                               extra=extra))
        return Mailbox(user, dovecot, rules)

    return make
