"""`accounts:` against real servers: two mailboxes (two users of the private Dovecot) in one check."""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailtriage.demo.rules import CHECK_TIMES, CLIENTS
from tests.cli import run_cli
from tests.conftest import DATA, Mailbox, open_db
from tests.servers import SmtpSink

WARSAW = ZoneInfo("Europe/Warsaw")
MONDAY_NOON = datetime(2026, 11, 23, 12, 20, tzinfo=WARSAW)


def two_accounts(make: Callable[..., Mailbox], smtp: SmtpSink, *, biuro_password: str = "MT_TEST_IMAP_PASSWORD",
                 biuro_port: int | None = None) -> tuple[Path, Mailbox, Mailbox]:
    """A rules file with accounts `kasia` and `biuro`, each a user of the private Dovecot, one SMTP server."""
    kasia, biuro = make(), make()
    port = kasia.server.port

    def imap(user: str, password: str, at: int) -> str:
        return (f"{{host: 127.0.0.1, port: {at}, security: none, username: {user}, password_env: {password},"
                " timeout: 10}")

    rules = kasia.rules.with_name("accounts.yaml")
    rules.write_text("\n".join([
        "timezone: Europe/Warsaw", "language: en", CHECK_TIMES, "holidays: {country: PL}",
        f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, username: kasia, "
        "password_env: MT_TEST_SMTP_PASSWORD, timeout: 10}",
        "database: state/mailtriage.db", "defaults: {action: reply, respond_within: 1 business day}",
        "max_arrival_age: null", "accounts:",
        '  - {name: kasia, identity: {from: "Kasia Nowak <kasia@example.com>"},',
        f"     imap: {imap(kasia.user, 'MT_TEST_IMAP_PASSWORD', port)}}}",
        '  - {name: biuro, identity: {from: "Biuro Acme <biuro@example.com>"},',
        f"     imap: {imap(biuro.user, biuro_password, biuro_port or port)}}}",
    ]) + "\n" + CLIENTS, encoding="utf-8")
    return rules, kasia, biuro


def deliver_to_both(kasia: Mailbox, biuro: Mailbox) -> None:
    """The same message (one Message-ID) written to both mailboxes: To kasia@, Cc biuro@."""
    raw = (DATA / "client_acme.eml").read_bytes().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    raw = (head + b"\nCc: Biuro <biuro@example.com>\n\n" + body).replace(b"\n", b"\r\n")
    for box in (kasia, biuro):
        box.deliver(raw, when=MONDAY_NOON)


def check(capsys: pytest.CaptureFixture[str], rules: Path, *args: str) -> tuple[int, list[dict[str, str]], str]:
    code, out, err = run_cli(capsys, "-c", rules, "check", "--json", *args)
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


def db(rules: Path) -> sqlite3.Connection:
    return open_db(rules.parent / "state" / "mailtriage.db")


def test_two_accounts_are_checked_in_one_run_each_with_its_own_identity(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    rules, kasia, biuro = two_accounts(mailbox, smtp)
    code, lines, err = check(capsys, rules)
    assert (code, lines) == (0, []) and "kasia: 0 new" in err and "biuro: 0 new" in err  # both baselines
    deliver_to_both(kasia, biuro)
    code, lines, err = check(capsys, rules)
    assert code == 0, err
    assert [line["reason"] for line in lines if line["decision"] != "reply"] == []
    assert sorted((line["account"], line["decision"], line["client"]) for line in lines) == [
        ("biuro", "reply", "Acme"), ("kasia", "reply", "Acme")]
    senders = sorted(email.message_from_bytes(m.data, policy=email.policy.default)["From"] for m in smtp.messages)
    assert senders == ["Biuro Acme <biuro@example.com>", "Kasia Nowak <kasia@example.com>"]
    conn = db(rules)
    assert sorted(tuple(r) for r in conn.execute("SELECT account, id FROM threads")) == [
        ("biuro", "<invoice-1@acme.pl>"), ("kasia", "<invoice-1@acme.pl>")]
    marks = conn.execute("SELECT account FROM folders WHERE kind = 'incoming'")
    assert sorted(r[0] for r in marks) == ["biuro", "kasia"]
    code, lines, _ = check(capsys, rules)
    assert (code, lines, len(smtp.messages)) == (0, [], 2)  # nothing twice
    code, out, _ = run_cli(capsys, "-c", rules, "status", "--json")
    status = json.loads(out)
    assert sorted((f["account"], f["name"]) for f in status["folders"] if f["role"] == "incoming") == [
        ("biuro", "INBOX"), ("kasia", "INBOX")]
    assert status["open"] + status["overdue"] == 2 and status["last_check"]["ok"]
    assert "biuro: 0 new" in status["last_check"]["status"]
    code, out, _ = run_cli(capsys, "-c", rules, "status")
    assert "  kasia: INBOX" in out and "  biuro: INBOX" in out
    code, out, _ = run_cli(capsys, "-c", rules, "threads", "--json")
    assert sorted((t["account"], t["thread"]) for t in map(json.loads, out.splitlines())) == [
        ("biuro", "<invoice-1@acme.pl>"), ("kasia", "<invoice-1@acme.pl>")]
    code, out, _ = run_cli(capsys, "-c", rules, "threads")
    assert sorted(line.split()[1] for line in out.splitlines()) == ["biuro", "kasia"]
    code, out, _ = run_cli(capsys, "-c", rules, "threads", "--account", "biuro", "--json")
    assert [json.loads(line)["account"] for line in out.splitlines()] == ["biuro"]
    code, out, _ = run_cli(capsys, "-c", rules, "stats", "--account", "kasia", "--json")
    assert [json.loads(line)["account"] for line in out.splitlines()] == ["kasia"]
    code, _, err = run_cli(capsys, "-c", rules, "threads", "--account", "nobody")
    assert code == 2 and "no account 'nobody'" in err and "(its accounts: kasia, biuro)" in err
    # The one Message-ID is a thread in each account: by it, `done` asks for the number instead of guessing.
    code, _, err = run_cli(capsys, "-c", rules, "done", "<invoice-1@acme.pl>")
    assert code == 2 and "is a thread in 2 accounts: name it by its number, #" in err and "(biuro)" in err
    number = conn.execute("SELECT number FROM threads WHERE account = 'biuro'").fetchone()[0]
    code, out, _ = run_cli(capsys, "-c", rules, "done", str(number), "--json")
    assert code == 0 and (json.loads(out)["account"], json.loads(out)["state"]) == ("biuro", "closed")
    states = dict(conn.execute("SELECT account, state FROM threads").fetchall())
    assert states["biuro"] == "closed" and states["kasia"] != "closed"  # the other account's is untouched


def test_one_account_that_cannot_log_in_stops_nothing_else(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_TEST_WRONG", "not-the-password")
    rules, kasia, _ = two_accounts(mailbox, smtp, biuro_password="MT_TEST_WRONG")
    check(capsys, rules)
    kasia.deliver_file("client_acme.eml", when=MONDAY_NOON)
    code, lines, err = check(capsys, rules)
    assert code == 1 and [(line["account"], line["decision"]) for line in lines] == [("kasia", "reply")]
    assert len(smtp.messages) == 1
    failed = [line for line in err.splitlines() if line.startswith("biuro: failed: ")]
    assert len(failed) == 1 and "1 account of 2 failed: biuro" in err


def test_one_account_whose_server_is_down_stops_nothing_else(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    rules, kasia, _ = two_accounts(mailbox, smtp, biuro_port=dead)
    check(capsys, rules)
    kasia.deliver_file("client_acme.eml", when=MONDAY_NOON)
    code, lines, err = check(capsys, rules)
    assert code == 1 and [line["account"] for line in lines] == ["kasia"] and len(smtp.messages) == 1
    assert [line for line in err.splitlines() if line.startswith("biuro: failed: ")], err


def test_check_account_checks_only_that_one(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    rules, kasia, biuro = two_accounts(mailbox, smtp)
    check(capsys, rules)
    deliver_to_both(kasia, biuro)
    code, lines, _ = check(capsys, rules, "--account", "biuro")
    assert code == 0 and [line["account"] for line in lines] == ["biuro"] and len(smtp.messages) == 1
    code, _, err = check(capsys, rules, "--account", "nobody")
    assert code == 2 and "no account 'nobody'" in err and "kasia, biuro" in err
    code, lines, _ = check(capsys, rules)
    assert code == 0 and [line["account"] for line in lines] == ["kasia"] and len(smtp.messages) == 2


def test_accounts_are_checked_at_once_not_one_after_another(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    """Two accounts on a server that greets only after 1.5 s: the check lasts about one wait, not two."""
    import socket
    import threading
    import time

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def slow_greeter() -> None:
        held = []
        for _ in range(2):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
        time.sleep(1.5)  # both connections are open before either is answered: only a parallel check gets here
        for conn in held:
            conn.close()

    worker = threading.Thread(target=slow_greeter, daemon=True)
    worker.start()
    rules, _, _ = two_accounts(mailbox, smtp)
    port = str(listener.getsockname()[1])
    rules.write_text(rules.read_text().replace(f"port: {mailbox_port(rules)},", f"port: {port},"))
    started = time.monotonic()
    code, _, err = check(capsys, rules)
    took = time.monotonic() - started
    listener.close()
    worker.join(5)
    assert code == 1 and "2 accounts of 2 failed: kasia, biuro" in err
    assert took < 2.8, f"{took:.1f} s: the accounts were checked one after another"


def mailbox_port(rules: Path) -> int:
    """The Dovecot port written into the accounts' imap sections."""
    import re

    return int(re.findall(r"port: (\d+), security: none, username: user", rules.read_text())[0])


def test_the_daemon_checks_every_account_and_retries_only_the_one_that_failed(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from mailtriage.app.daemon import Daemon
    from mailtriage.config.rulesfile import load

    monkeypatch.setenv("MT_TEST_WRONG", "not-the-password")
    rules, kasia, _ = two_accounts(mailbox, smtp, biuro_password="MT_TEST_WRONG")
    rules.write_text(rules.read_text() + "check_on_days_off: true\nretry: {attempts: 2, backoff: 1s}\n")
    check(capsys, rules)
    kasia.deliver_file("client_acme.eml", when=MONDAY_NOON)
    with caplog.at_level(logging.INFO, logger="mailtriage"):
        Daemon(rules, load(rules)).run_check()
    logged = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in logged if "check started" in m] == ["check started"] * 2
    assert "check started: kasia, biuro" in logged and "check started: biuro" in logged  # only biuro again
    assert len([m for m in logged if m.startswith("biuro: check failed (attempt")]) == 2
    assert any(m.startswith("kasia: INBOX") and "holding reply" in m for m in logged)
    assert len(smtp.messages) == 1


def test_a_dry_run_of_accounts_stores_and_sends_nothing(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    rules, kasia, biuro = two_accounts(mailbox, smtp)
    check(capsys, rules)
    deliver_to_both(kasia, biuro)
    code, lines, _ = check(capsys, rules, "--dry-run")
    assert code == 0 and sorted(line["account"] for line in lines) == ["biuro", "kasia"] and smtp.messages == []
    assert db(rules).execute("SELECT count(*) FROM messages").fetchone()[0] == 0
