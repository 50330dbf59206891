"""The triage cycle against a real Dovecot and a real SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.cli import environment, run_check
from tests.conftest import DATA, IMAP_PASSWORD, SMTP_PASSWORD, Mailbox, open_db
from tests.servers import SmtpSink

WARSAW = ZoneInfo("Europe/Warsaw")
# Dovecot replaces an APPEND date in the future with "now": the test mail arrived in the past.
MONDAY_NOON = datetime(2026, 11, 23, 12, 20, tzinfo=WARSAW)


def ready(capsys: pytest.CaptureFixture[str], make: Callable[..., Mailbox], extra: str = "") -> Mailbox:
    """A mailbox whose first check (the baseline) has run."""
    box = make(extra)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and lines == []
    return box


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def db(box: Mailbox) -> sqlite3.Connection:
    """The mailbox's database, closed when the test ends."""
    return open_db(box.rules.parent / "state" / "mailtriage.db")


def test_a_client_message_gets_exactly_one_threaded_holding_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert code == 0
    assert [(line["decision"], line["client"], line["deadline"]) for line in lines] == [
        ("reply", "Acme", "2026-11-23T16:00:00+01:00")]
    assert len(smtp.messages) == 1
    sent = smtp.messages[0]
    assert sent.rcpt_tos == ["jan@acme.pl"] and sent.mail_from == "<>"
    reply = parsed(sent.data)
    assert reply["To"] == "Jan Kowalski <jan@acme.pl>"
    assert reply["From"] == "Kasia Nowak <kasia@example.com>"
    assert reply["Subject"] == "Re: Invoice for November"
    assert reply["In-Reply-To"] == "<invoice-1@acme.pl>"
    assert reply["References"] == "<invoice-1@acme.pl>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Message-ID"].startswith("<mailtriage.") and reply["Date"]
    assert reply.get_all("Cc") is None and reply.get_all("Bcc") is None
    body = reply.get_content()
    assert "You will get a full answer by Monday 23 November, 16:00." in body.splitlines()
    assert "I check and answer mail on business days at 08:00, 12:00 and 16:00." in body.splitlines()

    code, lines, _ = run_check(capsys, box)
    assert (code, lines, len(smtp.messages)) == (0, [], 1)
    box.deliver_file("client_acme_followup.eml", when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert [(line["decision"], line["reason"], line["thread"]) for line in lines] == [
        ("record", "thread already acknowledged", "<invoice-1@acme.pl>")]
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("name", "guard", "reason"),
    [
        ("out_of_office_pl.eml", "out-of-office", "automatic reply subject"),
        ("dsn_bounce.eml", "null-return-path", "null Return-Path"),
        ("list_post.eml", "list", "mailing list (list-id header)"),
        ("newsletter.eml", "precedence", "Precedence: bulk"),
        ("noreply_sender.eml", "no-reply", "no-reply sender no-reply@bank.example"),
        ("own_address.eml", "own-address", "from our own address kasia@example.com"),
    ],
)
def test_machines_and_ourselves_get_no_reply_and_the_reason_is_stored(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        name: str, guard: str, reason: str) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file(name, when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and smtp.messages == []
    assert len(lines) == 1 and lines[0]["decision"] == "skip" and lines[0]["guard"] == guard
    assert reason in lines[0]["reason"]
    row = db(box).execute("SELECT guard, reason, decision FROM messages").fetchone()
    assert (row["guard"], row["decision"]) == (guard, "skip") and reason in row["reason"]


def test_flags_stay_as_they_were_and_the_backlog_gets_no_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    # The test mail arrived days ago, so its threads are overdue at once: keep that flag out of this test.
    box = mailbox("flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)  # there before the first check: backlog
    code, lines, err = run_check(capsys, box)
    assert (code, lines, smtp.messages) == (0, [], [])
    assert "first check: 1 messages already there get no reply" in err
    box.deliver_file("polish_subject.eml", when=MONDAY_NOON)
    box.deliver_file("newsletter.eml", when=MONDAY_NOON, flags=(b"\\Flagged",))
    run_check(capsys, box)
    imap = box.imap()
    imap.select_folder("INBOX", readonly=True)
    flags = {uid: set(data[b"FLAGS"]) for uid, data in imap.fetch(imap.search(["ALL"]), ["FLAGS"]).items()}
    imap.logout()
    # No \Seen anywhere; even \Recent survives, as every session of ours is read-only (EXAMINE).
    assert flags == {1: {b"\\Recent"}, 2: {b"\\Recent"}, 3: {b"\\Flagged", b"\\Recent"}}
    assert len(smtp.messages) == 1


def test_a_polish_subject_comes_back_intact_in_the_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("polish_subject.eml", when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert lines[0]["client"] == "Piekarnia" and lines[0]["deadline"] == "2026-11-24T08:20:00+01:00"
    reply = parsed(smtp.messages[0].data)
    assert reply["Subject"] == "Re: Zamówienie chleba na środę"
    assert b"=?utf-8?" in smtp.messages[0].data.split(b"\r\n\r\n")[0]  # encoded on the wire
    body = reply.get_content()
    assert "„Zamówienie chleba na środę”" in body
    assert "Pełną odpowiedź otrzymają Państwo do wtorku 24 listopada, godz. 8:20." in body.splitlines()
    assert "Pocztę sprawdzam i odpowiadam na wiadomości w dni robocze o 8:00, 12:00 i 16:00." in body.splitlines()


def test_a_crlf_in_a_display_name_cannot_add_a_header(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("header_injection.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    data = smtp.messages[0].data
    head = data.split(b"\r\n\r\n")[0]
    assert b"\r\nBcc:" not in head and b"victim" not in head.split(b"\r\nTo:")[0]
    assert smtp.messages[0].rcpt_tos == ["eve@customer.example"]
    assert parsed(data).get_all("Bcc") is None


def test_a_uidvalidity_change_answers_nothing_old(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    box.rules.write_text(box.rules.read_text().replace("folders: [INBOX]", "folders: [Work]"))
    imap = box.imap()
    imap.create_folder("Work")
    imap.logout()
    run_check(capsys, box)
    imap = box.imap()
    imap.delete_folder("Work")  # a new folder of the same name: a new UIDVALIDITY
    imap.create_folder("Work")
    imap.logout()
    box.deliver_file("client_acme.eml", folder="Work", when=MONDAY_NOON)
    code, lines, err = run_check(capsys, box)
    assert (code, lines, smtp.messages) == (0, [], [])
    assert "UIDVALIDITY changed" in err
    box.deliver_file("polish_subject.eml", folder="Work", when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert [line["decision"] for line in lines] == ["reply"] and len(smtp.messages) == 1


def test_dry_run_stores_nothing_and_sends_nothing(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    code, lines, err = run_check(capsys, box, "--dry-run")
    assert code == 0 and [line["decision"] for line in lines] == ["reply"] and smtp.messages == []
    assert "dry run" in err
    assert db(box).execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    code, lines, _ = run_check(capsys, box)
    assert [line["decision"] for line in lines] == ["reply"] and len(smtp.messages) == 1


def test_the_database_is_readable_by_its_owner_only(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox]) -> None:
    box = ready(capsys, mailbox)
    mode = stat.S_IMODE(os.stat(box.rules.parent / "state" / "mailtriage.db").st_mode)
    assert mode == 0o600


def test_a_refused_login_is_one_line_without_the_password(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], monkeypatch: pytest.MonkeyPatch) -> None:
    box = mailbox()
    monkeypatch.setenv("MT_TEST_IMAP_PASSWORD", "wrong-password-77")
    code, lines, err = run_check(capsys, box)
    assert code == 1 and lines == []
    assert err.strip().splitlines()[-1].startswith("imap 127.0.0.1:")
    assert "login refused" in err and "wrong-password-77" not in err and IMAP_PASSWORD not in err


def test_an_unreachable_server_is_one_clear_line(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox]) -> None:
    from tests.servers import free_port

    box = mailbox()
    box.rules.write_text(box.rules.read_text().replace(f"port: {box.server.port}", f"port: {free_port()}"))
    code, _, err = run_check(capsys, box)
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("imap 127.0.0.1:")


def test_a_server_that_refuses_the_null_sender_gets_the_identity_address(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    smtp.refuse_null_sender = True
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    assert [m.mail_from for m in smtp.messages] == ["kasia@example.com"]


# Dying at a named point, as a power cut would: the check is wrapped from outside, in the child
# process, so production code carries no hook for it.
CRASH = {
    # right after a batch of new mail was committed, before any reply is sent
    "after-record": ("import os, mailtriage.app.check.record as stage\n"
                     "real = stage.batch\n"
                     "def batch(store, triage, fetched, *rest):\n"
                     "    lines = real(store, triage, fetched, *rest)\n"
                     "    if not fetched.baseline:\n"
                     "        os._exit(86)\n"
                     "    return lines\n"
                     "stage.batch = batch\n"),
    # right after the server took a reply, before its outcome is recorded
    "after-send": ("import os, mailtriage.mail.smtp as smtp\n"
                   "real = smtp.SmtpSession.send\n"
                   "def send(self, *args, **kwargs):\n"
                   "    real(self, *args, **kwargs)\n"
                   "    os._exit(86)\n"
                   "smtp.SmtpSession.send = send\n"),
}


def _check_subprocess(box: Mailbox, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = environment(MT_TEST_IMAP_PASSWORD=IMAP_PASSWORD, MT_TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    code = CRASH[crash] if crash else ""
    return subprocess.run([sys.executable, "-c", code + "from mailtriage.cli.main import main; main()",
                           "-c", str(box.rules), "check"], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_crash_between_recording_and_sending_sends_the_reply_once_later(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    assert _check_subprocess(box, crash="after-record").returncode == 86
    assert smtp.messages == []
    state = db(box).execute("SELECT state FROM replies").fetchall()
    assert [r["state"] for r in state] == ["planned"]
    done = _check_subprocess(box)
    assert done.returncode == 0, done.stderr
    assert len(smtp.messages) == 1
    assert _check_subprocess(box).returncode == 0 and len(smtp.messages) == 1


def test_a_crash_after_the_server_took_the_reply_never_sends_it_again(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    assert _check_subprocess(box, crash="after-send").returncode == 86
    assert len(smtp.messages) == 1
    done = _check_subprocess(box)
    assert done.returncode == 0, done.stderr
    assert "not sent again" in done.stderr
    assert len(smtp.messages) == 1
    assert [r["state"] for r in db(box).execute("SELECT state FROM replies")] == ["unknown"]


@pytest.mark.slow
def test_a_large_old_mailbox_costs_only_its_new_messages(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from tests.servers import CountingRelay, fill_maildir

    box = mailbox()
    old = (f"From: Person {i} <p{i}@clients{i % 50}.example>\r\nTo: kasia@example.com\r\n"
           f"Subject: Old request number {i} about something long enough to be realistic\r\n"
           f"Message-ID: <old-{i}@clients.example>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n\r\n"
           f"Body of {i}\r\n".encode() for i in range(20_000))
    assert fill_maildir(box.server, box.user, old) == 20_000
    relay = CountingRelay(box.server.port).start()
    try:
        box.rules.write_text(box.rules.read_text().replace(f"port: {box.server.port}", f"port: {relay.port}"))
        code, lines, err = run_check(capsys, box)  # the baseline: 20,000 messages, none fetched
        assert (code, lines) == (0, []) and "20000 messages already there" in err
        baseline_bytes = relay.server_bytes
        for name in ("client_acme.eml", "polish_subject.eml", "newsletter.eml"):
            box.deliver_file(name, when=MONDAY_NOON)
        relay.reset()
        code, lines, _ = run_check(capsys, box)
        new_bytes = relay.server_bytes
        relay.reset()
        code, idle, _ = run_check(capsys, box)
        idle_bytes = relay.server_bytes
    finally:
        relay.stop()
    assert [line["uid"] for line in lines] == [20_001, 20_002, 20_003] and idle == []
    # 20,000 headers are over 3 MB: reading any of them again would show here.
    print(f"\nIMAP bytes from the server: baseline {baseline_bytes}, 3 new {new_bytes}, idle {idle_bytes}")
    assert baseline_bytes < 4096, baseline_bytes
    assert new_bytes < 8192, new_bytes
    assert idle_bytes < 4096, idle_bytes


def test_one_holding_reply_per_sender_per_day(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    second = (DATA / "client_acme.eml").read_text().replace("invoice-1@", "contract-1@").replace(
        "Invoice for November", "Contract renewal")
    box.deliver(second.replace("\n", "\r\n").encode(), when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert [(line["decision"], line["guard"]) for line in lines] == [("reply", None), ("record", "sender-limit")]
    assert "sender limit: 1 holding reply to jan@acme.pl per 24 h" in lines[1]["reason"]
    assert len(smtp.messages) == 1
    # The second thread is still on record with its own deadline: nothing is forgotten.
    assert db(box).execute("SELECT count(*) FROM threads WHERE state IN ('open', 'overdue')").fetchone()[0] == 2


def test_backfill_answers_only_the_recent_part_of_the_backlog(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from datetime import timedelta

    box = mailbox()
    now = datetime.now(WARSAW)
    box.deliver_file("client_acme.eml", when=now - timedelta(days=3))
    box.deliver_file("polish_subject.eml", when=now - timedelta(hours=2))
    code, lines, err = run_check(capsys, box, "--backfill", "24h")
    assert code == 0 and [line["uid"] for line in lines] == [2] and len(smtp.messages) == 1
    assert "except 1 from the last 1 day" in err


def test_an_unreachable_smtp_server_keeps_the_replies_for_the_next_check(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from tests.servers import free_port

    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    good = box.rules.read_text()
    box.rules.write_text(good.replace(f"port: {smtp.port}", f"port: {free_port()}"))
    code, lines, err = run_check(capsys, box)
    assert code == 1 and [line["decision"] for line in lines] == ["reply"] and smtp.messages == []
    assert err.strip().splitlines()[-1].endswith("; 1 holding reply waits for the next check")
    box.rules.write_text(good)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and lines == [] and len(smtp.messages) == 1


def test_a_dovecot_restart_between_checks_loses_and_doubles_nothing(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from tests.servers import PrivateDovecot

    own = PrivateDovecot(password=IMAP_PASSWORD).start()
    try:
        box = mailbox()
        box.server = own
        box.rules.write_text(box.rules.read_text().replace(f"port: {_imap_port(box)}",
                                                           f"port: {own.port}"))
        assert run_check(capsys, box)[0] == 0
        box.deliver_file("client_acme.eml", when=MONDAY_NOON)
        own.stop()
        code, lines, err = run_check(capsys, box)
        assert code == 1 and lines == [] and err.strip().splitlines()[-1].startswith("imap 127.0.0.1:")
        own.start()
        box.deliver_file("polish_subject.eml", when=MONDAY_NOON)
        code, lines, _ = run_check(capsys, box)
        assert code == 0 and [line["uid"] for line in lines] == [1, 2] and len(smtp.messages) == 2
        assert run_check(capsys, box)[1] == [] and len(smtp.messages) == 2
    finally:
        own.cleanup()


def _imap_port(box: Mailbox) -> int:
    import re

    found = re.search(r"imap: \{host: 127.0.0.1, port: (\d+)", box.rules.read_text())
    assert found
    return int(found.group(1))


def test_a_connection_dropped_in_the_middle_of_a_fetch_loses_and_doubles_nothing(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from tests.servers import CountingRelay

    box = mailbox("flag_overdue: false\n")
    relay = CountingRelay(box.server.port).start()
    try:
        box.rules.write_text(box.rules.read_text().replace(f"port: {box.server.port}", f"port: {relay.port}"))
        assert run_check(capsys, box)[0] == 0
        for name in ("client_acme.eml", "polish_subject.eml", "header_injection.eml"):
            box.deliver_file(name, when=MONDAY_NOON)
        relay.reset()
        relay.cut_after = 1500  # past login and SELECT, inside the FETCH of the three headers
        code, lines, err = run_check(capsys, box)
        assert code == 1 and lines == [] and smtp.messages == []
        assert err.strip().splitlines()[-1].startswith("imap 127.0.0.1")  # one line, no traceback
        relay.cut_after = None
        code, lines, _ = run_check(capsys, box)
        assert code == 0 and [line["uid"] for line in lines] == [1, 2, 3] and len(smtp.messages) == 3
        assert run_check(capsys, box)[1] == [] and len(smtp.messages) == 3
    finally:
        relay.stop()


def test_a_check_during_a_vacation_says_when_i_am_back_and_the_deadline_counts_from_then(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from datetime import timedelta

    from mailtriage.config.rulesfile import load

    today = datetime.now(WARSAW).date()
    first, last = today - timedelta(days=1), today + timedelta(days=2)
    box = ready(capsys, mailbox, f"away: [{{from: {first}, to: {last}}}]\n")
    back = load(box.rules).calendar().next_business_day(last)
    box.deliver_file("client_acme.eml")  # Acme: English, same business day
    box.deliver_file("polish_subject.eml")  # Piekarnia: Polish, 4 business hours
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and [line["decision"] for line in lines] == ["reply", "reply"]
    assert [line["deadline"][:16] for line in lines] == [f"{back}T16:00", f"{back}T12:00"]
    english, polish = (parsed(m.data).get_content().splitlines() for m in smtp.messages)
    en_month, pl_month = ("January February March April May June July August September October November "
                          "December").split(), ("stycznia lutego marca kwietnia maja czerwca lipca sierpnia "
                                                "września października listopada grudnia").split()
    en_days = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
    year = f" {back.year}" if back.year != today.year else ""
    last_year = f" {last.year}" if last.year != today.year else ""
    assert (f"I am away until {en_days[last.weekday()]} {last.day} {en_month[last.month - 1]}{last_year} and back "
            f"at work on {en_days[back.weekday()]} {back.day} {en_month[back.month - 1]}{year}.") in english
    assert (f"You will get a full answer by {en_days[back.weekday()]} {back.day} {en_month[back.month - 1]}{year}, "
            "16:00.") in english
    on = ("w poniedziałek", "we wtorek", "we środę", "w czwartek", "w piątek", "w sobotę", "w niedzielę")
    until = ("poniedziałku", "wtorku", "środy", "czwartku", "piątku", "soboty", "niedzieli")
    assert (f"Jestem poza biurem do {until[last.weekday()]} {last.day} {pl_month[last.month - 1]}{last_year}; "
            f"wracam do pracy {on[back.weekday()]} {back.day} {pl_month[back.month - 1]}{year}.") in polish
    assert (f"Pełną odpowiedź otrzymają Państwo do {until[back.weekday()]} {back.day} {pl_month[back.month - 1]}"
            f"{year}, godz. 12:00.") in polish


def test_language_auto_answers_polish_senders_in_polish_and_others_in_english(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    box.rules.write_text(box.rules.read_text().replace("respond_within: 1 business day}",
                                                       "respond_within: 1 business day, language: auto}"))
    assert run_check(capsys, box)[0] == 0
    for sender, subject in (("Anna Wójcik <anna@gmail.com>", "Pytanie"), ("John <john@example.com>", "Question"),
                            ("biuro@sklep.pl", "Offer")):
        box.deliver(f"From: {sender}\r\nTo: kasia@example.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n"
                    f"Date: Mon, 23 Nov 2026 12:00:00 +0100\r\n\r\nText\r\n".encode())
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and [line["client"] for line in lines] == [None, None, None]
    first_lines = [parsed(m.data).get_content().splitlines()[0] for m in smtp.messages]
    assert first_lines == ["Dzień dobry,", "Dear John,", "Dzień dobry,"]
