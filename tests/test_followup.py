"""Follow-up against a real Dovecot: answers noticed, deadlines enforced, threads reopened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from mailtriage.localservers import SmtpSink
from tests.conftest import DATA, Mailbox
from tests.test_check import MONDAY_NOON, WARSAW, db, ready, run_check

ANSWER = """From: Kasia Nowak <kasia@example.com>
To: Jan Kowalski <jan@acme.pl>
Subject: Re: Invoice for November
Message-ID: <answer-1@example.com>
In-Reply-To: <invoice-1@acme.pl>
References: <invoice-1@acme.pl>

Here it is.
"""


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def thread(box: Mailbox, thread_id: str = "<invoice-1@acme.pl>") -> dict:
    row = db(box).execute("SELECT * FROM threads WHERE id = ?", [thread_id]).fetchone()
    return dict(row)


def flags_of(box: Mailbox) -> dict[int, set[bytes]]:
    imap = box.imap()
    imap.select_folder("INBOX", readonly=True)
    found = {uid: set(data[b"FLAGS"]) - {b"\\Recent"}
             for uid, data in imap.fetch(imap.search(["ALL"]), ["FLAGS"]).items()}
    imap.logout()
    return found


def test_a_reply_in_sent_marks_the_thread_answered_and_our_holding_reply_does_not(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    assert len(smtp.messages) == 1
    box.deliver(smtp.messages[0].data, folder="Sent", when=MONDAY_NOON + timedelta(minutes=1))
    run_check(capsys, box)
    assert thread(box)["state"] != "answered"  # our own holding reply is no answer
    box.deliver(crlf(ANSWER), folder="Sent", when=MONDAY_NOON + timedelta(hours=2, minutes=30))
    run_check(capsys, box)
    row = thread(box)
    assert (row["state"], row["answered_via"]) == ("answered", "sent")
    assert row["answered_at"] == "2026-11-23T13:50:00+00:00"
    assert row["response_seconds"] == 2.5 * 3600 and row["response_business_seconds"] == 2.5 * 3600
    answers = db(box).execute("SELECT client, within_window, business_seconds FROM answers").fetchall()
    assert [tuple(a) for a in answers] == [("Acme", 1, 2.5 * 3600)]


def test_the_answered_flag_set_in_a_mail_client_marks_the_thread_answered(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    box.deliver_file("polish_subject.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    imap = box.imap()
    imap.select_folder("INBOX")
    imap.add_flags([1], [b"\\Answered"], silent=True)
    imap.logout()
    run_check(capsys, box)
    assert (thread(box)["state"], thread(box)["answered_via"]) == ("answered", "flag")
    assert thread(box, "<zamowienie@piekarnia-krakow.pl>")["state"] == "overdue"


def test_past_the_deadline_a_thread_is_overdue_flagged_once_and_unflagged_when_answered(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)  # due Mon 23 Nov 16:00: long past
    box.deliver_file("polish_subject.eml", when=MONDAY_NOON)
    code, lines, err = run_check(capsys, box)
    assert code == 0 and err.count("overdue: #") == 2
    assert "overdue: #1 Acme 'Invoice for November' from jan@acme.pl, was due Mon 23 Nov 16:00" in err
    assert flags_of(box) == {1: {b"\\Flagged"}, 2: {b"\\Flagged"}}
    assert "overdue" not in run_check(capsys, box)[2]  # said once
    box.deliver(crlf(ANSWER), folder="Sent", when=MONDAY_NOON + timedelta(days=1))
    run_check(capsys, box)
    assert thread(box)["state"] == "answered"
    assert flags_of(box) == {1: set(), 2: {b"\\Flagged"}}  # the answered one is no longer flagged


def test_an_answered_thread_is_never_flagged(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    box.deliver(crlf(ANSWER), folder="Sent", when=MONDAY_NOON + timedelta(hours=1))
    code, lines, _ = run_check(capsys, box)
    assert thread(box)["state"] == "answered" and flags_of(box) == {1: set()}
    # Answered in the same check, before the holding reply went out: no holding reply at all.
    assert smtp.messages == []
    assert [r[0] for r in db(box).execute("SELECT state FROM replies")] == ["expired"]


def test_a_client_writing_again_reopens_the_thread_without_a_second_holding_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    box.deliver(crlf(ANSWER), folder="Sent", when=MONDAY_NOON + timedelta(hours=1))
    run_check(capsys, box)
    followup = (DATA / "client_acme_followup.eml").read_text().replace("<invoice-1@acme.pl>", "<answer-1@example.com>")
    box.deliver(crlf(followup), when=MONDAY_NOON + timedelta(hours=2))
    code, lines, _ = run_check(capsys, box)
    assert [(line["decision"], line["guard"], line["thread"]) for line in lines] == [
        ("record", "thread", "<invoice-1@acme.pl>")]
    assert "thread reopened after 1 h of quiet" in lines[0]["reason"]
    row = thread(box)
    assert row["state"] in ("open", "overdue") and row["opened_at"] == "2026-11-23T13:20:00+00:00"
    assert row["deadline"] == "2026-11-23T15:00:00+00:00" and row["answered_at"] is None
    assert len(smtp.messages) == 1


def test_a_thread_quiet_for_long_gets_a_new_holding_reply_when_reopened(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    # Both checks run today, so the per-sender limit (which counts real time) is lifted here.
    box = ready(capsys, mailbox, "flag_overdue: false\nreacknowledge_after: 2 days\nsender_limit: null\n")
    early = datetime(2026, 11, 16, 10, 0, tzinfo=WARSAW)
    box.deliver_file("client_acme.eml", when=early)
    run_check(capsys, box)
    box.deliver(crlf(ANSWER), folder="Sent", when=early + timedelta(hours=1))
    run_check(capsys, box)
    box.deliver_file("client_acme_followup.eml", when=MONDAY_NOON)  # a week later
    code, lines, _ = run_check(capsys, box)
    assert [line["decision"] for line in lines] == ["reply"] and "thread reopened after" in lines[0]["reason"]
    assert len(smtp.messages) == 2
