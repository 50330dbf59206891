"""Follow-up against a real Dovecot: answers noticed, deadlines enforced, threads reopened."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from tests.cli import run_check, run_cli
from tests.conftest import DATA, Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, WARSAW, db, ready

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


def cli(capsys: pytest.CaptureFixture[str], box: Mailbox, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "-c", box.rules, *args)


def busy_mailbox(capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], extra: str = "") -> Mailbox:
    """Three threads: one answered in time, two overdue; plus one fresh message."""
    box = ready(capsys, mailbox, 'summary: {to: kasia@example.com, at: "07:30"}\nsender_limit: null\n' + extra)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    box.deliver_file("polish_subject.eml", when=MONDAY_NOON)
    box.deliver_file("header_injection.eml", when=MONDAY_NOON)
    box.deliver(crlf(ANSWER), folder="Sent", when=MONDAY_NOON + timedelta(hours=1))
    now = datetime.now(WARSAW)
    # From someone new (1 business day): open whatever the time of day the test runs at.
    fresh = (DATA / "client_acme.eml").read_text().replace("invoice-1@", "fresh-1@").replace(
        "Invoice for November", "A fresh question").replace("jan@acme.pl", "ewa@fresh.example")
    box.deliver(crlf(fresh), when=now - timedelta(minutes=5))
    assert run_check(capsys, box)[0] == 0
    return box


def test_threads_json_lists_every_thread_with_the_documented_fields(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    import json

    box = busy_mailbox(capsys, mailbox)
    code, out, _ = cli(capsys, box, "threads", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 4
    for key in ("thread", "client", "sender", "subject", "state", "first_received", "deadline", "answered_at",
                "response_seconds"):
        assert all(key in row for row in rows), key
    by_id = {row["thread"]: row for row in rows}
    assert by_id["<invoice-1@acme.pl>"]["state"] == "answered"
    assert by_id["<invoice-1@acme.pl>"]["response_seconds"] == 3600
    assert by_id["<invoice-1@acme.pl>"]["deadline"] == "2026-11-23T16:00:00+01:00"
    assert by_id["<zamowienie@piekarnia-krakow.pl>"]["state"] == "overdue"
    code, out, _ = cli(capsys, box, "threads", "--state", "overdue", "--json")
    assert {json.loads(line)["thread"] for line in out.splitlines()} == {
        "<zamowienie@piekarnia-krakow.pl>", "<inject-1@customer.example>"}
    code, out, _ = cli(capsys, box, "threads", "--client", "PIEKARNIA")
    assert out.count("\n") == 1 and "zofia@piekarnia-krakow.pl" in out
    assert re.match(r"#\d+ +overdue +Tue 24 Nov( 2026)? 08:20  Piekarnia ", out)
    code, out, _ = cli(capsys, box, "threads", "--client", "No Client")
    assert out.count("\n") == 2 and "(defaults)" not in out and out.count(" no client ") == 2
    code, out, _ = cli(capsys, box, "stats", "--json")
    assert None in {json.loads(line)["client"] for line in out.splitlines()}
    code, out, _ = cli(capsys, box, "stats")
    assert "\nother senders " in f"\n{out}" and "(defaults)" not in out and " 1 thread " in out


def test_done_closes_and_snooze_moves_a_deadline_that_the_summary_shows(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    import json

    box = busy_mailbox(capsys, mailbox)
    number = dict(db(box).execute("SELECT id, number FROM threads").fetchall())
    code, out, _ = cli(capsys, box, "done", str(number["<inject-1@customer.example>"]))
    assert code == 0 and "closed" in out
    row = thread(box, "<inject-1@customer.example>")
    assert (row["state"], row["answered_via"]) == ("closed", "done") and row["response_seconds"] > 0
    code, out, _ = cli(capsys, box, "snooze", "<zamowienie@piekarnia-krakow.pl>", "2030-01-07")
    assert code == 0 and ("#2 now due Mon 7 Jan 2030 16:00 ('Re: Zamówienie chleba na środę' from "
                          "zofia@piekarnia-krakow.pl)") in out
    row = thread(box, "<zamowienie@piekarnia-krakow.pl>")
    assert row["state"] == "open" and row["snoozed_from"] == "2026-11-24T07:20:00+00:00"
    code, out, _ = cli(capsys, box, "threads", "--state", "open", "--json")
    assert any(json.loads(line)["snoozed_from"] for line in out.splitlines())
    code, out, _ = cli(capsys, box, "summary", "--print")
    assert "DEADLINES MOVED (1)" in out
    assert "moved from Tuesday 24 November, 08:20 to Monday 7 January 2030, 16:00" in out
    code, out, _ = cli(capsys, box, "summary", "--print", "--json")
    listed = json.loads(out)
    assert listed["subject"].startswith("mailtriage: ") and [t["number"] for t in listed["moved"]] == [2]
    assert cli(capsys, box, "done", "999")[0] == 2
    code, out, _ = cli(capsys, box, "done", "2", "--json")
    closed = json.loads(out)
    assert code == 0 and (closed["number"], closed["state"], closed["already_closed"]) == (2, "closed", False)
    code, out, _ = cli(capsys, box, "done", "2")
    assert out == "#2 was already closed ('Re: Zamówienie chleba na środę' from zofia@piekarnia-krakow.pl)\n"


def test_the_summary_counts_equal_threads_and_stats_and_polish_survives(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    import email
    import email.policy
    import json

    box = busy_mailbox(capsys, mailbox)
    box.rules.write_text(box.rules.read_text().replace("language: en", "language: pl"))
    code, out, _ = cli(capsys, box, "threads", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    today = datetime.now(WARSAW).date().isoformat()
    overdue = sum(1 for r in rows if r["state"] == "overdue")
    due_today = sum(1 for r in rows if r["state"] == "open" and r["deadline"][:10] == today)
    code, out, _ = cli(capsys, box, "stats", "--json")
    stats = {json.loads(line)["client"]: json.loads(line) for line in out.splitlines()}
    assert stats["Acme"]["threads"] == 1 and stats["Acme"]["in_time"] == 1
    assert stats["Piekarnia"]["judged"] == 1 and stats["Piekarnia"]["in_time"] == 0
    conn = db(box)  # as if the last summary went out a week ago
    conn.execute("INSERT INTO meta (key, value) VALUES ('last_summary_at', '2026-11-20T06:30:00+00:00')")
    conn.commit()
    code, out, err = cli(capsys, box, "summary", "--send")
    assert code == 0, err
    sent = email.message_from_bytes(smtp.messages[-1].data, policy=email.policy.default)
    assert sent["Subject"] == f"mailtriage: {overdue} po terminie · {due_today} na dziś"
    assert sent.get_content_type() == "multipart/alternative" and sent["To"] == "kasia@example.com"
    text = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Zamówienie chleba na środę" in text and "Zamówienie chleba na środę" in html
    assert f"PO TERMINIE ({overdue})" in text and "<script" not in html and "http" not in html.split("<body")[1]
    assert re.search(r"\n  Acme: 1 wątek \(\d\), w terminie 100% \(.*\), mediana czasu odpowiedzi \d+,\d h ", text)
    assert "ODPOWIEDZI OD OSTATNIEGO PODSUMOWANIA (1)" in text
    assert "(defaults)" not in text and "(defaults)" not in html
    # The next summary reports only what was answered since this one.
    code, out, _ = cli(capsys, box, "summary", "--print")
    assert "ODPOWIEDZI OD" not in out


def test_the_summary_can_be_appended_to_the_inbox_instead(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, 'summary: {to: kasia@example.com, at: "07:30", deliver: imap}\n')
    code, out, err = cli(capsys, box, "summary", "--send")
    assert code == 0, err
    imap = box.imap()
    imap.select_folder("INBOX", readonly=True)
    uids = imap.search(["ALL"])
    subject = imap.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])[uids[0]]
    imap.logout()
    assert b"mailtriage: nothing open" in next(v for k, v in subject.items() if k.startswith(b"BODY"))
    assert smtp.messages == []
    code, lines, _ = run_check(capsys, box)  # our own summary is never answered
    assert [line["guard"] for line in lines] == ["own-address"]


@pytest.mark.slow
def test_a_large_sent_folder_costs_only_its_new_messages(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from tests.servers import CountingRelay, fill_maildir

    box = mailbox("flag_overdue: false\n")
    sent = (f"From: kasia@example.com\r\nTo: c{i}@clients.example\r\nSubject: Re: request {i} with a long subject\r\n"
            f"Message-ID: <sent-{i}@example.com>\r\nIn-Reply-To: <req-{i}@clients.example>\r\n\r\nDone.\r\n"
            .encode() for i in range(20_000))
    assert fill_maildir(box.server, box.user, sent, folder_name="Sent") == 20_000
    relay = CountingRelay(box.server.port).start()
    try:
        box.rules.write_text(box.rules.read_text().replace(f"port: {box.server.port}", f"port: {relay.port}"))
        assert run_check(capsys, box)[0] == 0  # baseline of INBOX and Sent
        run_check(capsys, box)
        box.deliver_file("client_acme.eml", when=MONDAY_NOON)
        run_check(capsys, box)
        relay.reset()
        idle = run_check(capsys, box)
        idle_bytes = relay.server_bytes
        box.deliver(crlf(ANSWER), folder="Sent", when=MONDAY_NOON + timedelta(hours=1))
        relay.reset()
        run_check(capsys, box)
        answer_bytes = relay.server_bytes
    finally:
        relay.stop()
    assert idle[1] == [] and thread(box)["state"] == "answered"
    print(f"\nIMAP bytes with 20,000 messages in Sent: idle check {idle_bytes}, check with one answer {answer_bytes}")
    assert idle_bytes < 4096 and answer_bytes < 6144


def test_status_reports_the_last_check_the_next_one_and_what_waits(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    import json

    box = busy_mailbox(capsys, mailbox)
    code, out, _ = cli(capsys, box, "status", "--json")
    data = json.loads(out)
    assert code == 0 and data["last_check"]["ok"] is True
    assert data["last_check"]["status"].endswith(": 4 new, 4 holding replies, 2 overdue")
    assert [(f["name"], f["role"]) for f in data["folders"]] == [("INBOX", "incoming"), ("Sent", "sent")]
    assert data["overdue"] == 2 and data["open"] == 1 and data["waiting"] == 0
    assert data["next_check"] > datetime.now(WARSAW).isoformat()[:10]
    assert data["last_check"]["at"].endswith(("+01:00", "+02:00")) and data["next_check"].endswith(("+01:00", "+02:00"))
    code, out, _ = cli(capsys, box, "status")
    assert "threads:     1 open, 2 overdue" in out
    assert "\n  Sent (sent mail)     checked " in out and "sent:" not in out
    assert re.search(r"\nnext check:  \w{3} \d{1,2} \w{3}( \d{4})? \d\d:\d\d\n", out)
