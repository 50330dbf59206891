"""One reminder and one summary over every account, grouped by account, and the `account` of stats,
explain and report: two users of the private Dovecot, the bytes the SMTP server got."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.app.accounts import check_accounts
from mailtriage.app.summary import deliver
from mailtriage.config.accounts import resolve
from mailtriage.config.rulesfile import load
from mailtriage.store.db import Store
from tests.cli import run_cli
from tests.conftest import Mailbox, open_db
from tests.servers import SmtpSink
from tests.test_check_accounts import MONDAY_NOON, WARSAW, deliver_to_both, two_accounts

TO_THE_USER = 'summary: {to: boss@example.com, at: "07:30"}\nreminders: {before: 1000 business hours}\n'


def text_of(data: bytes) -> tuple[str, str]:
    """The subject and the text part of a message as the SMTP server got it."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(message["Subject"]), part.get_content()


def html_of(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def checked(mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> Path:
    """Two accounts checked at Monday 12:30 with the same client message in both: two holding replies."""
    rules, kasia, biuro = two_accounts(mailbox, smtp)
    rules.write_text(rules.read_text() + TO_THE_USER)
    loaded = load(rules)
    check_accounts(loaded, resolve(loaded), MONDAY_NOON - timedelta(hours=1))  # the baselines
    deliver_to_both(kasia, biuro)
    notes: list[str] = []
    outcomes = check_accounts(loaded, resolve(loaded), MONDAY_NOON + timedelta(minutes=10), note=notes.append)
    assert all(o.ok for o in outcomes), outcomes
    assert notes == ["reminder sent to boss@example.com: 2 threads due before 16:00"]
    return rules


def test_one_reminder_per_check_run_over_every_account_grouped_by_account(checked: Path, smtp: SmtpSink) -> None:
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["boss@example.com", "jan@acme.pl", "jan@acme.pl"]
    reminder = next(m for m in smtp.messages if m.rcpt_tos == ["boss@example.com"])
    subject, text = text_of(reminder.data)
    assert subject == "mailtriage: 2 threads due before 16:00"
    number = numbers(checked)
    line = '#{}  due Mon 23 Nov 16:00  Acme: "Invoice for November" from Jan Kowalski <jan@acme.pl>\r\n'
    assert text == (
        "mailtriage: 2 threads due before 16:00\r\n\r\n"
        "Answers due soon (2 threads):\r\n\r\n"
        "  kasia:\r\n"
        f"    {line.format(number['kasia'])}"
        "  biuro:\r\n"
        f"    {line.format(number['biuro'])}"
        "\r\nEach thread is listed once for each deadline.\r\n")
    html = html_of(reminder.data)
    assert html.index(">kasia</td></tr>") < html.index(f"<td>#{number['kasia']}</td>") \
        < html.index(">biuro</td></tr>") < html.index(f"<td>#{number['biuro']}</td>")
    loaded = load(checked)
    notes: list[str] = []
    check_accounts(loaded, resolve(loaded), MONDAY_NOON + timedelta(minutes=40), note=notes.append)
    assert notes == [] and len(smtp.messages) == 3  # each thread and deadline once


def numbers(rules: Path) -> dict[str, int]:
    """Each account's thread number (the accounts are checked at once: either may be #1)."""
    conn = open_db(rules.parent / "state" / "mailtriage.db")
    return {row[0]: row[1] for row in conn.execute("SELECT account, number FROM threads")}


def test_one_summary_over_every_account_grouped_by_account(checked: Path, smtp: SmtpSink) -> None:
    rules = load(checked)
    store = Store(rules.database)
    try:
        sent = deliver(store, rules, datetime(2026, 11, 24, 8, 0, tzinfo=WARSAW))
    finally:
        store.close()
    assert sent.subject == "2 overdue · 0 due today"
    got = smtp.messages[-1]
    assert got.rcpt_tos == ["boss@example.com"] and got.mail_from == "kasia@example.com"  # the first account's
    subject, text = text_of(got.data)
    number = numbers(checked)
    overdue = '#{}  16 h late  Acme: "Invoice for November" from jan@acme.pl (was due Mon 23 Nov 16:00)\r\n'
    acme = "Acme: 1 thread (1), answered in time 0% (0%), median response – (–) of business time\r\n"
    assert (subject, text) == ("mailtriage: 2 overdue · 0 due today", (
        "mailtriage summary for Tuesday 24 November\r\n\r\n"
        "OVERDUE (2), most late first\r\n"
        f"  kasia:\r\n    {overdue.format(number['kasia'])}"
        f"  biuro:\r\n    {overdue.format(number['biuro'])}"
        "\r\nCLIENTS: last 30 days (last 7 days)\r\n"
        f"  kasia:\r\n    {acme}"
        f"  biuro:\r\n    {acme}"))
    html = html_of(got.data)
    assert html.count(">kasia</td></tr>") == 2 and html.count(">biuro</td></tr>") == 2


def test_the_polish_summary_is_grouped_the_same_way(checked: Path) -> None:
    from mailtriage.app.summary import made, render

    checked.write_text(checked.read_text().replace("language: en", "language: pl"))
    rules = load(checked)
    store = Store(rules.database)
    try:
        summary, user = made(store, rules, datetime(2026, 11, 24, 8, 0, tzinfo=WARSAW))
    finally:
        store.close()
    text = render(summary, user)[0]
    number = numbers(checked)
    overdue = '#{}  16 h po terminie  Acme: „Invoice for November” od jan@acme.pl (termin: pon. 23 lis 16:00)'
    assert text.splitlines()[:8] == [
        "mailtriage: podsumowanie, wtorek 24 listopada", "", "PO TERMINIE (2), najpierw najbardziej spóźnione",
        "  kasia:", f"    {overdue.format(number['kasia'])}", "  biuro:", f"    {overdue.format(number['biuro'])}", ""]


def test_stats_explain_and_report_say_the_account(capsys: pytest.CaptureFixture[str], checked: Path) -> None:
    code, out, _ = run_cli(capsys, "-c", checked, "stats", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and sorted((r["account"], r["client"], r["threads"]) for r in rows) == [
        ("biuro", "Acme", 1), ("kasia", "Acme", 1)]
    code, out, _ = run_cli(capsys, "-c", checked, "stats")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["account", "client", "threads"]
    assert [line.split()[:2] for line in lines[1:]] == [["kasia", "Acme"], ["biuro", "Acme"]]  # as in accounts:
    number = numbers(checked)
    for account in ("kasia", "biuro"):
        code, out, _ = run_cli(capsys, "-c", checked, "explain", str(number[account]), "--json")
        found = json.loads(out)["messages"]
        assert code == 0 and [(m["account"], m["thread"]["number"]) for m in found] == [(account, number[account])]
        assert found[0]["reply"]["state"] == "sent"  # read in its own account
    code, out, _ = run_cli(capsys, "-c", checked, "explain", "INBOX:1", "--json")
    assert sorted(m["account"] for m in json.loads(out)["messages"]) == ["biuro", "kasia"]
    code, out, _ = run_cli(capsys, "-c", checked, "explain", "INBOX:1")
    assert out.startswith("kasia: INBOX:1 <invoice-1@acme.pl>") and "\nbiuro: INBOX:1 <invoice-1@acme.pl>" in out
    code, out, err = run_cli(capsys, "-c", checked, "report", "--client", "Acme", "--month", "2026-11", "--json")
    assert code == 2 and "accounts kasia, biuro each have a client 'Acme': name one with --account" in err
    code, out, err = run_cli(capsys, "-c", checked, "report", "--client", "Acme", "--month", "2026-11", "--json",
                             "--account", "biuro")
    report = json.loads(out)
    assert code == 0 and (report["account"], report["threads"], report["messages"]) == ("biuro", 1, 1)
    assert [line["number"] for line in report["lines"]] == [number["biuro"]]


def test_a_file_without_accounts_says_default_in_json_and_nothing_more_in_text(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    run_cli(capsys, "-c", box.rules, "check")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    assert run_cli(capsys, "-c", box.rules, "check")[0] == 0
    code, out, _ = run_cli(capsys, "-c", box.rules, "stats", "--json")
    assert [json.loads(line)["account"] for line in out.splitlines()] == ["default"]
    code, out, _ = run_cli(capsys, "-c", box.rules, "stats")
    assert out.startswith("Acme ")
    code, out, _ = run_cli(capsys, "-c", box.rules, "explain", "1")
    assert out.startswith("INBOX:1 <invoice-1@acme.pl>")
    code, out, _ = run_cli(capsys, "-c", box.rules, "report", "--client", "Acme", "--month", "2026-11", "--json")
    assert code == 0 and json.loads(out)["account"] == "default" and json.loads(out)["threads"] == 1
    code, out, _ = run_cli(capsys, "-c", box.rules, "summary", "--print")
    assert "kasia:" not in out and "default" not in out and "\n  #1  " in out


def test_doctor_checks_each_account_and_names_the_one_whose_server_is_down(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    rules, _, _ = two_accounts(mailbox, smtp, biuro_port=dead)
    rules.write_text(rules.read_text().replace("kasia@example.com", "kasia@biuro-nowak.pl")
                     .replace("biuro@example.com", "biuro@biuro-nowak.pl"))
    code, out, err = run_cli(capsys, "-c", rules, "doctor")
    lines = out.splitlines()
    assert code == 1 and err == "", out + err
    assert lines[0].startswith("✔ rules: ") and lines[1].startswith("✔ database: ")
    kasia = [line for line in lines if line[2:].startswith("kasia: ")]
    biuro = [line for line in lines if line[2:].startswith("biuro: ")]
    assert len(kasia) + len(biuro) + 2 == len(lines)
    assert kasia and all(line.startswith("✔ ") for line in kasia), kasia
    assert any(line.startswith("✔ kasia: imap login: ") for line in kasia)
    tcp = next(line for line in biuro if line[2:].startswith("biuro: imap TCP: "))
    assert tcp.startswith("✘ ") and f"127.0.0.1:{dead}" in tcp
    assert any(line.startswith("✔ biuro: smtp login: ") for line in biuro)  # the shared SMTP server is up
    code, out, _ = run_cli(capsys, "-c", rules, "doctor", "--json")
    steps = json.loads(out)
    assert [s.get("account", "") for s in steps[:2]] == ["", ""]
    failed = {(s["account"], s["step"]) for s in steps if s["status"] == "fail"}
    assert ("biuro", "imap TCP") in failed and not any(account == "kasia" for account, _ in failed)


def test_validate_reports_each_account_its_sign_in_and_warnings(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MT_TEST_UNSET", raising=False)
    rules, _, _ = two_accounts(mailbox, smtp, biuro_password="MT_TEST_UNSET")
    rules.write_text(rules.read_text().replace("biuro@example.com", "biuro@biuro-nowak.pl"))
    code, out, err = run_cli(capsys, "-c", rules, "validate")
    assert code == 0
    assert "    imap password: environment variable MT_TEST_IMAP_PASSWORD" in out
    assert "    imap password: environment variable MT_TEST_UNSET" in out
    warned = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert [w for w in warned if "MT_TEST_UNSET" in w] == [
        "warning: account biuro: imap password: the environment variable MT_TEST_UNSET is not set; set it where "
        "mailtriage runs, or switch to password_file (systemd credentials, see README)"]
    assert [w for w in warned if w.startswith("warning: account kasia:")] == [  # its own address is the example's
        "warning: account kasia: identity.from: kasia@example.com is the example's placeholder address; put your "
        "own address there"]
    assert not any(w.startswith("warning: account biuro: identity") for w in warned)
    code, out, _ = run_cli(capsys, "-c", rules, "validate", "--json")
    found = {a["name"]: a for a in json.loads(out)["accounts"]}
    assert len(found["kasia"]["warnings"]) == 1 and len(found["biuro"]["warnings"]) == 1
    assert any("MT_TEST_UNSET" in note for note in found["biuro"]["sign_in"])


def test_the_check_command_sends_one_reminder_for_both_accounts(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from tests.conftest import DATA

    rules, kasia, biuro = two_accounts(mailbox, smtp)
    rules.write_text(rules.read_text() + TO_THE_USER)
    assert run_cli(capsys, "-c", rules, "check")[0] == 0
    fresh = (DATA / "client_acme.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    for box in (kasia, biuro):
        box.deliver(fresh, when=datetime.now(WARSAW) - timedelta(minutes=5))
    code, _, err = run_cli(capsys, "-c", rules, "check")
    assert code == 0, err
    assert len([line for line in err.splitlines() if line.startswith("reminder sent to boss@example.com: ")]) == 1
    assert [m.rcpt_tos for m in smtp.messages].count(["boss@example.com"]) == 1
    subject, text = text_of(next(m for m in smtp.messages if m.rcpt_tos == ["boss@example.com"]).data)
    assert subject.startswith("mailtriage: 2 threads due before ") and "\r\n  kasia:\r\n" in text \
        and "\r\n  biuro:\r\n" in text
