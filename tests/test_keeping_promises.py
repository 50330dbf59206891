"""Keeping promises against a real Dovecot, SMTP server and SQLite file: a client told when a deadline
moves (snooze --notify, overdue_notice), reminders before a deadline, waiting for the client."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.app import notices, reminders
from mailtriage.config.rulesfile import load
from mailtriage.core.models import ReplyKind, ThreadState
from mailtriage.core.wording import deadline_text, when
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread, from_iso
from tests.cli import run_check, run_cli
from tests.conftest import DATA, MINIMAL, Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, WARSAW, db, ready
from tests.test_followup import crlf

SUMMARY = 'summary: {to: kasia@example.com, at: "07:30"}\n'
NOW = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)  # Monday 10:05 in Warsaw


def parsed(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def body(message: email.message.EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def cli(capsys: pytest.CaptureFixture[str], box: Mailbox, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "-c", box.rules, *args)


def thread(box: Mailbox, thread_id: str = "<invoice-1@acme.pl>") -> dict[str, object]:
    return dict(db(box).execute("SELECT * FROM threads WHERE id = ?", [thread_id]).fetchone())


# --- telling the client that a deadline moved -------------------------------------------------------


def test_snooze_notify_tells_the_client_once_per_move_threaded_and_marked_automatic(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    assert len(smtp.messages) == 1  # the holding reply: the per-sender limit (1 a day) is used up now
    code, out, err = cli(capsys, box, "snooze", "1", "2030-01-07", "--notify")
    assert code == 0, err
    assert out == "#1 now due Mon 7 Jan 2030 16:00 ('Invoice for November' from jan@acme.pl); jan@acme.pl told\n"
    assert len(smtp.messages) == 2 and smtp.messages[1].rcpt_tos == ["jan@acme.pl"]
    notice = parsed(smtp.messages[1].data)
    assert [(k, str(v)) for k, v in notice.items() if k not in ("Date", "Message-ID")] == [
        ("From", "Kasia Nowak <kasia@example.com>"), ("To", "Jan Kowalski <jan@acme.pl>"),
        ("Subject", "Re: Invoice for November"), ("In-Reply-To", "<invoice-1@acme.pl>"),
        ("References", "<invoice-1@acme.pl>"), ("Auto-Submitted", "auto-replied"),
        ("X-Auto-Response-Suppress", "All"), ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"), ("MIME-Version", "1.0")]
    assert str(notice["Message-ID"]).startswith("<mailtriage.")
    assert body(notice) == (
        "Dear Jan Kowalski,\n\n"
        'I am sorry, but the answer to your message "Invoice for November"\n'
        "did not come by the time I promised (Monday 23 November, 16:00).\n"
        "You will get it by Monday 7 January 2030, 16:00 instead.\n\n"
        "Thank you for your patience.\n\n"
        "Best regards,\nKasia Nowak\n")
    row = db(box).execute("SELECT kind, about, state, recipient, in_reply_to FROM replies WHERE kind != 'holding'")
    assert [tuple(r) for r in row] == [
        ("deadline_moved", "2030-01-07T15:00:00+00:00", "sent", "jan@acme.pl", "<invoice-1@acme.pl>")]
    assert (thread(box)["state"], thread(box)["snoozed_from"]) == ("open", "2026-11-23T15:00:00+00:00")
    # The same move again: said once, never sent twice.
    code, out, _ = cli(capsys, box, "snooze", "1", "2030-01-07", "--notify", "--json")
    assert code == 0 and json.loads(out)["notice"] is None and len(smtp.messages) == 2
    code, out, _ = cli(capsys, box, "snooze", "1", "2030-01-07", "--notify")
    assert out.endswith("; the client was told of this move before: not sent again\n")
    code, out, _ = cli(capsys, box, "summary", "--print")
    assert ('CLIENTS TOLD OF A NEW DEADLINE (1)\n  #1  Acme: "Invoice for November": jan@acme.pl told, '
            "now due Mon 7 Jan 2030 16:00\n") in out
    # A new deadline that has passed since is history: moved to it, not "now due".
    db(box).execute("UPDATE replies SET about = '2026-11-27T15:00:00+00:00' WHERE kind != 'holding'"
                    ).connection.commit()
    code, out, _ = cli(capsys, box, "summary", "--print")
    assert '"Invoice for November": jan@acme.pl told, was moved to Fri 27 Nov 16:00\n' in out


def test_a_thread_with_nobody_to_tell_keeps_its_deadline(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    db(box).execute("DELETE FROM replies").connection.commit()  # as if no holding reply had gone
    db(box).execute("UPDATE messages SET sender = 'noreply@acme.pl', reply_to = ''").connection.commit()
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-07", "--notify")
    assert code == 1 and "thread #1: nobody to tell" in err
    assert thread(box)["deadline"] == "2026-11-23T15:00:00+00:00" and len(smtp.messages) == 1


def test_overdue_notice_renews_the_deadline_and_tells_the_client_once_in_polish(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "overdue_notice: true\n")
    box.deliver_file("polish_subject.eml", when=MONDAY_NOON)  # Piekarnia: 4 business hours, in Polish
    code, _, err = run_check(capsys, box)
    row = thread(box, "<zamowienie@piekarnia-krakow.pl>")
    new = from_iso(str(row["deadline"]))
    assert code == 0 and new is not None and row["state"] == "open"
    assert row["snoozed_from"] == "2026-11-24T07:20:00+00:00"  # the promise that was broken
    assert new > datetime.now(UTC)  # the client's window counted again from this check
    assert (f"overdue: #1 Piekarnia 'Re: Zamówienie chleba na środę' from zofia@piekarnia-krakow.pl, was due "
            f"Tue 24 Nov 08:20; the client is told: now due {when(new, WARSAW, new)}") in err
    holding, notice = (parsed(m.data) for m in smtp.messages)
    assert str(notice["Subject"]) == "Re: Zamówienie chleba na środę" == str(holding["Subject"])
    assert str(notice["In-Reply-To"]) == "<zamowienie@piekarnia-krakow.pl>"
    assert str(notice["Auto-Submitted"]) == "auto-replied"
    today = datetime.now(WARSAW).date()
    assert body(notice) == (
        "Dzień dobry,\n\n"
        "przepraszam, ale odpowiedź na wiadomość „Zamówienie chleba na środę”\n"
        "nie dotarła w zapowiedzianym terminie (do wtorku 24 listopada, godz. 8:20).\n"
        f"Otrzymają ją Państwo {deadline_text(new.astimezone(WARSAW), 'pl', today=today)}.\n\n"
        "Dziękuję za wyrozumiałość.\n\n"
        "Z poważaniem\nKasia Nowak\n")
    kinds = [r[0] for r in db(box).execute("SELECT kind FROM replies ORDER BY id")]
    assert kinds == ["holding", "overdue_notice"]
    # Past the renewed deadline too: overdue for good, no second notice in this period.
    db(box).execute("UPDATE threads SET deadline = '2026-11-24T10:00:00+00:00'").connection.commit()
    code, _, err = run_check(capsys, box)
    assert thread(box, "<zamowienie@piekarnia-krakow.pl>")["state"] == "overdue"
    assert "the client is told" not in err and len(smtp.messages) == 2
    code, out, _ = cli(capsys, box, "summary", "--print")
    assert "(automatically, when the deadline passed)" in out
    assert cli(capsys, box, "summary", "--send")[0] == 0
    html = body(parsed(smtp.messages[-1].data), "html")
    assert "Clients told of a new deadline (1)</h2>" in html and "automatically, when the deadline passed" in html


def test_the_notice_reads_well_before_the_promised_time_in_both_languages(
        write_rules: Callable[[str], Path]) -> None:
    rules = load(write_rules(MINIMAL + "language: en\n"))
    due = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    thread = Thread("<q@acme.pl>", "jan@acme.pl", NOW, NOW, ThreadState.OPEN, client="Acme",
                    sender_name="Jan Kowalski", subject="RE: Odp: Oferta na grudzień", deadline=due)
    new = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    assert notices.render(rules, thread, new, NOW, "pl", promised=due) == (
        "Dzień dobry,\n\n"
        "przepraszam, ale odpowiedź na wiadomość „Oferta na grudzień”\n"
        "nie dotrze w zapowiedzianym terminie (do wtorku 24 listopada, godz. 16:00).\n"
        "Otrzymają ją Państwo do czwartku 26 listopada, godz. 12:00.\n\n"
        "Dziękuję za wyrozumiałość.\n\n"
        "Z poważaniem\nKasia Nowak\n")
    assert notices.render(rules, thread, new, NOW, "en", promised=due) == (
        "Dear Jan Kowalski,\n\n"
        'I am sorry, but the answer to your message "Oferta na grudzień"\n'
        "will not come by the time I promised (Tuesday 24 November, 16:00).\n"
        "You will get it by Thursday 26 November, 12:00 instead.\n\n"
        "Thank you for your patience.\n\n"
        "Best regards,\nKasia Nowak\n")


# --- reminders before a deadline ---------------------------------------------------------------------


def test_a_reminder_lists_the_threads_due_soon_in_one_email_once(
        tmp_path: Path, write_rules: Callable[[str], Path], smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import SMTP_PASSWORD

    monkeypatch.setenv("MT_TEST_SMTP", SMTP_PASSWORD)
    text = MINIMAL.replace("port: 1025", f"port: {smtp.port}") + (
        "language: pl\nsummary: {to: kasia@example.com}\nreminders: {before: 2 business hours}\n")
    rules = load(write_rules(text))
    store = Store(tmp_path / "state.db")
    try:
        for n, (sender, name, hours) in enumerate(
                [("jan@acme.pl", "Jan Kowalski", 1), ("ewa@firma.pl", "", 2), ("ola@firma.pl", "", 3)]):
            with store.transaction():
                store.insert_thread(Thread(
                    f"<t{n}@x>", sender, NOW - timedelta(hours=20), NOW - timedelta(hours=20), ThreadState.OPEN,
                    client="Acme" if n == 0 else None, sender_name=name, subject=f"Sprawa {n + 1}",
                    deadline=NOW.replace(minute=0) + timedelta(hours=hours)))
        calendar = rules.calendar()
        sent = reminders.remind(store, rules, NOW, calendar)
        assert sent is not None and sent.subject == "2 wątki do odpowiedzi przed 12:00"
        assert len(smtp.messages) == 1 and smtp.messages[0].rcpt_tos == ["kasia@example.com"]
        mail = parsed(smtp.messages[0].data)
        assert (str(mail["Subject"]), str(mail["To"]), str(mail["Auto-Submitted"])) == (
            "mailtriage: 2 wątki do odpowiedzi przed 12:00", "kasia@example.com", "auto-generated")
        assert body(mail) == (
            "mailtriage: 2 wątki do odpowiedzi przed 12:00\n\n"
            "Wkrótce mija termin odpowiedzi (2 wątki):\n\n"
            "  #1  termin: pon. 23 lis 11:00  Acme: „Sprawa 1” od Jan Kowalski <jan@acme.pl>\n"
            "  #2  termin: pon. 23 lis 12:00  bez klienta: „Sprawa 2” od ewa@firma.pl\n\n"
            "Każdy wątek pojawia się w przypomnieniu raz dla danego terminu.\n")
        html = body(mail, "html")
        assert "<h2" in html and "Wkrótce mija termin odpowiedzi (2 wątki)" in html
        assert "Jan Kowalski &lt;jan@acme.pl&gt;" in html
        # Never twice for one thread and deadline; nothing sent when nothing new is due.
        assert reminders.remind(store, rules, NOW + timedelta(minutes=30), calendar) is None
        assert len(smtp.messages) == 1
        later = reminders.remind(store, rules, NOW + timedelta(hours=1), calendar)  # the third comes due
        assert later is not None and later.subject == "1 wątek do odpowiedzi przed 13:00"
        english = rules.model_copy(update={"language": "en"})
        with store.transaction():
            store.snooze_thread("<t0@x>", datetime(2026, 11, 24, 8, 0, tzinfo=UTC), NOW)  # Tue 9:00
        moved = reminders.remind(store, english, datetime(2026, 11, 23, 15, 30, tzinfo=UTC), calendar)
        assert moved is not None and moved.subject == "1 thread due before Tue 24 Nov 09:00"
        assert body(parsed(smtp.messages[-1].data)).splitlines()[2:5] == [
            "Answers due soon (1 thread):", "",
            '  #1  due Tue 24 Nov 09:00  Acme: "Sprawa 1" from Jan Kowalski <jan@acme.pl>']
    finally:
        store.close()


def test_a_reminder_that_cannot_be_sent_is_tried_again_at_the_next_check(
        tmp_path: Path, write_rules: Callable[[str], Path]) -> None:
    from mailtriage.errors import MailtriageError

    rules = load(write_rules(MINIMAL + "summary: {to: kasia@example.com}\nreminders: {before: 2 business hours}\n"))
    store = Store(tmp_path / "state.db")
    try:
        with store.transaction():
            store.insert_thread(Thread("<t@x>", "jan@acme.pl", NOW, NOW, ThreadState.OPEN, subject="S",
                                       deadline=NOW + timedelta(hours=1)))
        with pytest.raises(MailtriageError):  # nothing listens on the rules' SMTP port
            reminders.remind(store, rules, NOW, rules.calendar())
        assert [t.id for t in store.due_unreminded(NOW, NOW + timedelta(hours=2))] == ["<t@x>"]
    finally:
        store.close()


def test_a_check_sends_the_reminder_after_it_and_only_once(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "reminders: {before: 1000 business hours}\nsender_limit: null\n")
    fresh = (DATA / "client_acme.eml").read_text().replace("invoice-1@", "fresh-1@")
    box.deliver(crlf(fresh), when=datetime.now(WARSAW) - timedelta(minutes=5))
    code, _, err = run_check(capsys, box)
    due = from_iso(str(thread(box, "<fresh-1@acme.pl>")["deadline"]))
    assert code == 0 and due is not None
    assert [m.rcpt_tos for m in smtp.messages] == [["jan@acme.pl"], ["kasia@example.com"]]
    reminder = parsed(smtp.messages[1].data)
    assert str(reminder["Subject"]).startswith("mailtriage: 1 thread due before ")
    assert f'#1  due {when(due, WARSAW, datetime.now(UTC))}  Acme: "Invoice for November" from Jan Kowalski' \
        in body(reminder)
    assert "reminder sent to kasia@example.com: 1 thread due before" in err
    run_check(capsys, box)
    assert len(smtp.messages) == 2  # that thread and deadline were reminded of


def test_reminders_are_validated_with_the_line_of_the_problem(write_rules: Callable[[str], Path]) -> None:
    from mailtriage.errors import ConfigError

    path = write_rules(MINIMAL + "reminders: {before: 2 business days}\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    line = len(MINIMAL.splitlines()) + 1
    assert f"{path}:{line}: reminders.before: write it as 'N business hours', e.g. '2 business hours'" in str(
        caught.value)
    path = write_rules(MINIMAL + "reminders: {before: 2 hours}\n", "hours.yaml")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (f"{path}:{line}: reminders.before: write it as 'N business hours', "
                                 "e.g. '2 business hours' (got '2 hours')")
    path = write_rules(MINIMAL + "reminders: {before: 2 business hours}\n", "nosummary.yaml")
    with pytest.raises(ConfigError, match=rf"nosummary.yaml:{line}: reminders: reminders go to summary.to"):
        load(path)
    path = write_rules(MINIMAL + "overdue_notice: yes please\n", "bad.yaml")
    with pytest.raises(ConfigError, match=rf"bad.yaml:{line}: overdue_notice: "):
        load(path)


# --- waiting for the client -------------------------------------------------------------------------

CLIENT_AGAIN = """From: Jan Kowalski <jan@acme.pl>
To: Kasia Nowak <kasia@example.com>
Subject: Re: Invoice for November
Message-ID: <invoice-2@acme.pl>
In-Reply-To: <question-1@example.com>
References: <invoice-1@acme.pl> <question-1@example.com>

The order number is 4711.
"""
QUESTION = """From: Kasia Nowak <kasia@example.com>
To: Jan Kowalski <jan@acme.pl>
Subject: Re: Invoice for November
Message-ID: <question-1@example.com>
In-Reply-To: <invoice-1@acme.pl>
References: <invoice-1@acme.pl>

Which order is it for?
"""
ANSWER_2 = QUESTION.replace("question-1@", "answer-2@").replace("In-Reply-To: <invoice-1@acme.pl>",
                                                                 "In-Reply-To: <invoice-2@acme.pl>")


def test_a_thread_waiting_for_the_client_is_never_overdue_and_the_client_reopens_it(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)  # due Mon 23 Nov 16:00: overdue
    code, out, err = cli(capsys, box, "wait", "1", "--until", "2030-01-07", "--json")
    assert code == 0, err
    view = json.loads(out)
    assert (view["state"], view["waiting_until"]) == ("waiting", "2030-01-07T08:00:00+01:00")
    # As if time had passed: the chase date is behind us now.
    db(box).execute("UPDATE threads SET waiting_until = '2026-11-24T07:00:00+00:00'").connection.commit()
    assert run_check(capsys, box)[0] == 0 and thread(box)["state"] == "waiting"  # no deadline runs
    code, out, _ = cli(capsys, box, "threads", "--state", "waiting")
    assert code == 0 and out.startswith("#1     waiting") and "Invoice for November" in out
    code, out, _ = cli(capsys, box, "summary", "--print")
    assert "NO ANSWER FROM THE CLIENT (1)\n  #1  Acme: \"Invoice for November\" from jan@acme.pl: waiting since" in out
    assert "(chase from Tue 24 Nov 08:00)" in out and "Subject: mailtriage: nothing open" in out
    box.rules.write_text(box.rules.read_text().replace("language: en", "language: pl"))
    assert cli(capsys, box, "summary", "--send")[0] == 0
    sent = parsed(smtp.messages[-1].data)
    assert "BRAK ODPOWIEDZI OD KLIENTA (1)\n  #1  Acme: „Invoice for November” od jan@acme.pl: czeka na odpowiedź od" \
        in body(sent)
    assert "Brak odpowiedzi od klienta (1)</h2>" in body(sent, "html") and "ponaglić od wt. 24 lis 08:00" in body(
        sent, "html")
    box.rules.write_text(box.rules.read_text().replace("language: pl", "language: en"))
    # The assistant's question went out by hand (Sent); the client answers four days later.
    box.deliver(crlf(QUESTION), folder="Sent", when=MONDAY_NOON + timedelta(hours=1))
    run_check(capsys, box)
    assert thread(box)["state"] == "waiting"  # our own message is no answer to a waiting thread
    back = datetime(2026, 11, 27, 9, 0, tzinfo=WARSAW)  # Friday 9:00
    box.deliver(crlf(CLIENT_AGAIN), when=back)
    code, lines, _ = run_check(capsys, box)
    row = thread(box)
    assert (row["state"], row["opened_at"], row["deadline"]) == (
        "overdue", "2026-11-27T08:00:00+00:00", "2026-11-27T15:00:00+00:00")  # same day, 16:00: past by now
    assert row["waiting_since"] is None and row["waiting_until"] is None
    assert lines[0]["decision"] == "record" and "reopened" in lines[0]["reason"]
    # Answered an hour after the client's message: one business hour, not the days spent waiting.
    box.deliver(crlf(ANSWER_2), folder="Sent", when=back + timedelta(hours=1))
    run_check(capsys, box)
    assert thread(box)["state"] == "answered"
    code, out, _ = cli(capsys, box, "stats", "--days", "3650", "--json")
    stats = json.loads(out)
    assert (stats["in_time"], stats["judged"], stats["median_business_hours"]) == (1, 1, 1.0)


def test_wait_refuses_an_ignored_thread_and_an_unknown_one(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    assert cli(capsys, box, "wait", "7")[0] == 2
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    db(box).execute("UPDATE threads SET state = 'ignored'").connection.commit()
    code, _, err = cli(capsys, box, "wait", "1")
    assert code == 1 and "thread #1 is ignored: nothing to wait for" in err
    code, _, err = cli(capsys, box, "wait", "1", "--until", "someday")
    assert code == 2 and "not a date or time: 'someday'" in err


def test_the_reply_kind_is_recorded_for_every_holding_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    assert [tuple(r) for r in db(box).execute("SELECT kind, about FROM replies")] == [(ReplyKind.HOLDING, "")]


def test_a_broken_notice_template_moves_nothing_and_never_stops_a_check(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "overdue_notice: true\nflag_overdue: false\ntemplates: own\n")
    (box.rules.parent / "own").mkdir()
    (box.rules.parent / "own" / "deadline_moved.en.txt.j2").write_text("{{ no_such_value }}\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    code, _, err = run_check(capsys, box)  # overdue at once: the notice cannot be rendered
    assert code == 0 and thread(box)["state"] == "overdue" and len(smtp.messages) == 1
    assert "was due Mon 23 Nov 16:00\n" in err
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-07", "--notify")
    assert code == 1 and err.startswith("the template deadline_moved.en.txt.j2 cannot be used: ")
    assert thread(box)["deadline"] == "2026-11-23T15:00:00+00:00" and len(smtp.messages) == 1


def test_the_notice_without_a_deadline_told_names_no_date(write_rules: Callable[[str], Path]) -> None:
    rules = load(write_rules(MINIMAL + "language: en\n"))
    thread = Thread("<q@acme.pl>", "jan@acme.pl", NOW, NOW, ThreadState.OPEN, client="Acme",
                    sender_name="Jan Kowalski", subject="Oferta", deadline=datetime(2026, 11, 24, 15, tzinfo=UTC))
    new = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    assert notices.render(rules, thread, new, NOW, "pl", promised=None) == (
        "Dzień dobry,\n\n"
        "przepraszam, ale odpowiedź na wiadomość „Oferta”\n"
        "się opóźni.\n"
        "Otrzymają ją Państwo do czwartku 26 listopada, godz. 12:00.\n\n"
        "Dziękuję za wyrozumiałość.\n\n"
        "Z poważaniem\nKasia Nowak\n")
    assert notices.render(rules, thread, new, NOW, "en", promised=None) == (
        "Dear Jan Kowalski,\n\n"
        'I am sorry, but the answer to your message "Oferta"\n'
        "is taking longer than I expected.\n"
        "You will get it by Thursday 26 November, 12:00.\n\n"
        "Thank you for your patience.\n\n"
        "Best regards,\nKasia Nowak\n")


def test_the_notice_names_the_deadline_the_client_was_told_not_a_silent_move(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)  # the holding reply promised Mon 23 Nov 16:00
    assert cli(capsys, box, "snooze", "1", "2030-01-04")[0] == 0  # moved silently: the client knows nothing
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-07", "--notify")
    assert code == 0, err
    assert "did not come by the time I promised (Monday 23 November, 16:00).\n" in body(parsed(smtp.messages[1].data))
    assert cli(capsys, box, "snooze", "1", "2030-01-09")[0] == 0  # silently again
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-10", "--notify")
    assert code == 0, err
    assert "will not come by the time I promised (Monday 7 January 2030, 16:00).\n" in body(
        parsed(smtp.messages[2].data))


def test_overdue_notice_renews_a_thread_whoever_marked_it_overdue_first(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)  # the holding reply; overdue at once (overdue_notice is off yet)
    # Moved into the past (as a silent snooze would), then the summary marks it overdue before any check.
    passed = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    db(box).execute("UPDATE threads SET state = 'open', deadline = ?, snoozed_from = '2026-11-23T15:00:00+00:00', "
                    "overdue_at = NULL", [passed.isoformat()]).connection.commit()
    box.rules.write_text(box.rules.read_text() + "overdue_notice: true\n")
    assert cli(capsys, box, "summary", "--print")[0] == 0
    assert thread(box)["state"] == "overdue" and len(smtp.messages) == 1
    code, _, err = run_check(capsys, box)
    row = thread(box)
    new = from_iso(str(row["deadline"]))
    assert code == 0 and row["state"] == "open" and new is not None and new > datetime.now(UTC)
    assert len(smtp.messages) == 2
    assert "did not come by the time I promised (Monday 23 November, 16:00).\n" in body(parsed(smtp.messages[1].data))
    # The check says which deadline passed, not the new one twice.
    now = datetime.now(UTC)
    assert f"was due {when(passed, WARSAW, now)}; the client is told: now due {when(new, WARSAW, now)}" in err, err
    # Once per period.
    db(box).execute("UPDATE threads SET deadline = ?", [(now - timedelta(days=1)).isoformat()]).connection.commit()
    run_check(capsys, box)
    assert thread(box)["state"] == "overdue" and len(smtp.messages) == 2


def test_overdue_notice_leaves_a_deadline_missed_more_than_a_week_ago_to_the_assistant(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    long_ago = (datetime.now(UTC) - timedelta(days=8)).replace(microsecond=0)
    db(box).execute("UPDATE threads SET deadline = ?", [long_ago.isoformat()]).connection.commit()
    box.rules.write_text(box.rules.read_text() + "overdue_notice: true\n")  # turned on with a backlog
    code, _, err = run_check(capsys, box)
    assert code == 0 and thread(box)["state"] == "overdue" and len(smtp.messages) == 1, err  # no notice
    assert thread(box)["deadline"] == long_ago.isoformat()  # and no new deadline made up for it


def test_snooze_refuses_the_past_and_an_earlier_notice_and_warns_of_days_off(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, SUMMARY + "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    for args in (("2026-11-24",), ("2026-11-24T10:00", "--notify")):
        code, out, err = cli(capsys, box, "snooze", "1", *args)
        assert (code, out) == (2, "") and err.count("\n") == 1 and "is in the past: a new deadline" in err, err
    assert cli(capsys, box, "snooze", "1", "2030-01-10", "--notify")[0] == 0
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-08", "--notify")
    assert code == 2 and err == ("Tue 8 Jan 2030 16:00 is not later than the deadline the client was told "
                                 "(Thu 10 Jan 2030 16:00): an answer by then needs no apology; move it with "
                                 "`snooze` without --notify\n")
    assert len(smtp.messages) == 2 and thread(box)["deadline"] == "2030-01-10T15:00:00+00:00"
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-05")  # Saturday, silently
    assert code == 0 and err == "warning: Sat 5 Jan 2030 16:00 falls on a day off: not a working day (sat)\n"
    code, _, err = cli(capsys, box, "snooze", "1", "2030-01-07T19:00")
    assert code == 0 and err == "warning: Mon 7 Jan 2030 19:00 is outside business hours (08:00-16:00)\n"
    code, out, err = cli(capsys, box, "wait", "1", "--until", "2026-11-24")
    assert (code, out) == (2, "") and "--until 2026-11-24 08:00 is in the past" in err
    # Closed: nothing to wait for; closing twice says so.
    assert cli(capsys, box, "done", "1")[1].startswith("#1 closed (")
    code, out, _ = cli(capsys, box, "done", "1")
    assert code == 0 and out.startswith("#1 was already closed (")
    code, _, err = cli(capsys, box, "wait", "1")
    assert code == 1 and "thread #1 is closed: nothing to wait for" in err


def test_status_and_threads_show_threads_waiting_for_the_client(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "flag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    assert cli(capsys, box, "wait", "1", "--until", "2030-01-07")[0] == 0
    code, out, _ = cli(capsys, box, "threads", "--state", "waiting")
    assert out.startswith("#1     waiting  Mon 7 Jan 2030 08:00  Acme") and "23 Nov" not in out, out
    code, out, _ = cli(capsys, box, "status")
    assert "threads:     0 open, 0 overdue, 1 waiting for the client\n" in out
    code, out, _ = cli(capsys, box, "status", "--json")
    data = json.loads(out)
    assert (data["waiting_threads"], data["waiting"]) == (1, 0)


def test_an_english_notice_without_a_name_greets_plainly(write_rules: Callable[[str], Path]) -> None:
    rules = load(write_rules(MINIMAL + "language: en\n"))
    thread = Thread("<q@acme.pl>", "jan@acme.pl", NOW, NOW, ThreadState.OPEN, subject="Oferta")
    text = notices.render(rules, thread, datetime(2026, 11, 26, 11, 0, tzinfo=UTC), NOW, "en", promised=None)
    assert text.startswith("Hello,\n\nI am sorry")
