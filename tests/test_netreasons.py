"""Failures after the connection is made (mid-check, mid-login) and in the daemon's summary job:
one plain line each, with no imaplib jargon ("command: FETCH =>"), no class name, no traceback."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mailtriage.config.servers import Imap
from mailtriage.errors import FetchError
from mailtriage.mail.imap import Mailbox as ImapMailbox
from tests.cli import run_check
from tests.conftest import Mailbox
from tests.servers import CountingRelay, SmtpSink
from tests.test_check import MONDAY_NOON


def test_a_connection_dropped_anywhere_in_a_check_is_one_plain_line(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox("flag_overdue: false\n")
    relay = CountingRelay(box.server.port).start()
    try:
        box.rules.write_text(box.rules.read_text().replace(f"port: {box.server.port}", f"port: {relay.port}"))
        assert run_check(capsys, box)[0] == 0
        box.deliver_file("client_acme.eml", when=MONDAY_NOON)
        seen = set()
        # in the greeting, in LOGIN, in EXAMINE, in FETCH
        for cut in (100, 700, 1000, 1500):
            relay.reset()
            relay.cut_after = cut
            code, _, err = run_check(capsys, box)
            assert code == 1
            line = err.strip().splitlines()[-1]
            assert "=>" not in line and "Error" not in line and "login refused" not in line, line
            assert line.startswith("imap 127.0.0.1"), line
            seen.add(line.split(": ", 1)[1])
        assert f"127.0.0.1:{relay.port} closed the connection: check the port and the security setting " \
               "(tls, starttls)" in seen  # before login: as likely a wrong port as a dropped line
        assert "the server dropped the connection: nothing is lost, the next check tries again" in seen
        assert "fetch: the server dropped the connection: nothing is lost, the next check tries again" in seen
    finally:
        relay.stop()


def _silent_after_login() -> tuple[socket.socket, int]:
    """An IMAP server that greets, lets anyone log in, then never answers again."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] silent ready\r\n")
            reader = conn.makefile("rb")
            while line := reader.readline():
                tag, _, rest = line.decode().strip().partition(" ")
                verb = rest.split(" ")[0].upper()
                if verb == "CAPABILITY":
                    conn.sendall(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n".encode())
                elif verb == "LOGIN":
                    conn.sendall(f"{tag} OK logged in\r\n".encode())
                # anything else: silence, until the client gives up

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_a_server_that_stops_answering_mid_session_is_one_plain_line() -> None:
    listener, port = _silent_after_login()
    try:
        config = Imap(host="127.0.0.1", port=port, security="none", username="kasia", password_env="UNUSED",
                      timeout=0.5)
        with ImapMailbox(config, "pw") as mailbox, pytest.raises(FetchError) as caught:
            mailbox.select("INBOX")
    finally:
        listener.close()
    assert str(caught.value) == ("imap 127.0.0.1: cannot open folder 'INBOX': the server stopped answering in time: "
                                 "nothing is lost, the next check tries again")


def test_the_daemons_summary_job_logs_one_line_for_a_damaged_database(
        tmp_path: Path, write_rules: Callable[[str], Path], caplog: pytest.LogCaptureFixture) -> None:
    from mailtriage.app.daemon import Daemon
    from mailtriage.config.rulesfile import load
    from tests.conftest import MINIMAL

    rules = write_rules(MINIMAL + "database: state/mailtriage.db\nsummary: {to: kasia@biuro-nowak.pl}\n")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "mailtriage.db").write_bytes(b"x" * 4096)
    loaded = load(rules).model_copy(update={"check_on_days_off": True})
    with caplog.at_level(logging.INFO, logger="mailtriage"):
        Daemon(rules, loaded).run_summary()  # raised out of the job before: the scheduler's traceback
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert errors[0].getMessage().startswith(f"summary failed: {tmp_path}/state/mailtriage.db is damaged")
