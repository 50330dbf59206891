"""Shared fixtures: rules files, the repository's example, and real mail servers on loopback."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from mailtriage.demo.rules import loopback_rules
from tests.servers import PrivateDovecot, SmtpSink

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "rules.yaml"

# A valid rules.yaml to vary in configuration tests (nothing listens on these ports).
MINIMAL = loopback_rules(1143, 1025, imap_password="password_env: MT_TEST_IMAP",
                         smtp_password="password_env: MT_TEST_SMTP", language=None, database=None,
                         respond_within=None, clients=False)


_opened: list[sqlite3.Connection] = []


def open_db(path: Path, by_name: bool = True) -> sqlite3.Connection:
    """A connection to a test's database (rows by name, or plain tuples), closed when the test ends."""
    conn = sqlite3.connect(path)
    if by_name:
        conn.row_factory = sqlite3.Row
    _opened.append(conn)
    return conn


@pytest.fixture(autouse=True)
def _close_databases() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


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

    def deliver_file(self, name: str, folder: str = "INBOX", when: datetime | None = None,
                     flags: tuple[bytes, ...] = ()) -> None:
        raw = (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.deliver(raw, folder, when, flags)

    def imap(self) -> object:
        return self.server.client(self.user)


@pytest.fixture
def mailbox(dovecot: PrivateDovecot, smtp: SmtpSink, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Callable[..., Mailbox]:
    """Make a fresh mailbox and rules file; `extra` is appended to rules.yaml."""
    monkeypatch.setenv("MT_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)

    def make(extra: str = "") -> Mailbox:
        user = f"user{os.getpid()}x{next(_users)}"
        rules = tmp_path / f"{user}.yaml"
        rules.write_text(loopback_rules(
            dovecot.port, smtp.port, user=user, imap_password="password_env: MT_TEST_IMAP_PASSWORD",
            smtp_password="password_env: MT_TEST_SMTP_PASSWORD", imap_options=", folders: [INBOX], timeout: 10",
            smtp_options=", timeout: 10",
            # The tests deliver mail dated November 2026 and check it whenever they run: trust those dates.
            extra="max_arrival_age: null\n" + extra))
        return Mailbox(user, dovecot, rules)

    return make
