"""The documents for clients and the calendar, on real SQLite files and the real SMTP sink: `standards`,
`report` (and the daemon's monthly run) and `calendar` (and its file after every check)."""

from __future__ import annotations

import email
import email.policy
import re
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.app import deadline_calendar, monthly
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.core.models import AnsweredVia, Decision, ReplyKind, ReplyState, ThreadState
from mailtriage.demo.rules import loopback_rules
from mailtriage.store.db import Store
from mailtriage.store.rows import Message, Reply, Thread, iso
from tests.cli import run_check, run_cli
from tests.conftest import SMTP_PASSWORD, Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, ready

HOUR = timedelta(hours=1)
OCT = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # Monday 5 October, 10:00 in Warsaw
Write = Callable[[str], Path]
ACME = "  - {name: Acme, match: {domains: [acme.pl]}, respond_within: same business day, language: pl"


def rules_text(smtp_port: int = 1025, extra: str = "", acme: str = "") -> str:
    clients = ("clients:\n" + ACME + acme + "}\n"
               "  - {name: Piekarnia, match: {patterns: [\"*@piekarnia-*.pl\"]}, respond_within: 4 business hours}\n")
    return loopback_rules(1143, smtp_port, smtp_password="password_env: MT_TEST_SMTP_PASSWORD", language="en",
                          holidays="{country: PL, extra: [\"2027-01-04\"]}", clients=False,
                          extra="away: [{from: 2027-08-02, to: 2027-08-13}]\n" + clients + extra)


@pytest.fixture
def rules_file(write_rules: Write, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    return write_rules(rules_text())


# --- standards -----------------------------------------------------------------------------------

def test_the_standards_document_in_polish_says_when_how_fast_days_off_and_confidentiality(
        capsys: pytest.CaptureFixture[str], rules_file: Path) -> None:
    code, out, err = run_cli(capsys, "-c", rules_file, "standards", "--client", "acme")
    assert code == 0, err
    assert out.startswith("STANDARDY PRACY Z POCZTĄ\nKasia Nowak · klient: Acme · ")
    text = " ".join(out.split())
    assert ("Dni robocze: od poniedziałku do piątku, w godzinach 8:00–16:00. Poczta jest przeglądana w dni "
            "robocze o 8:00, 12:00 i 16:00.") in text
    assert "Wszystkie godziny w tym dokumencie podane są według czasu polskiego (Europe/Warsaw)." in text
    assert ("Na wiadomości od klienta Acme odpowiadam tego samego dnia roboczego do 16:00, jeśli wiadomość "
            "przyjdzie w dzień roboczy przed 16:00;") in text
    assert "Standardowo odpowiadam w ciągu 1 dnia roboczego: do 16:00 następnego dnia roboczego" in text
    assert re.search(r"  - (poniedziałek|wtorek|środa|czwartek|piątek) 25 grudnia( 2026)? — Boże Narodzenie", out) \
        or "25 grudnia" not in out  # past Christmas when the test runs in late December
    assert "poniedziałek 4 stycznia 2027 — dzień wolny" in text
    assert "Planowana nieobecność: od poniedziałku 2 sierpnia 2027 do piątku 13 sierpnia 2027." in text
    assert "Jeden nadawca dostaje najwyżej jedno potwierdzenie w ciągu 24 godzin" in text
    assert "wyłącznie nagłówki wiadomości" in text and "(mailtriage.db)" in text
    assert "Sunday" not in out and "niedziela 27" not in out  # only holidays on working days are listed


def test_the_standards_document_in_english_html_prints_on_a4_with_nothing_external(
        capsys: pytest.CaptureFixture[str], rules_file: Path) -> None:
    code, out, err = run_cli(capsys, "-c", rules_file, "standards", "--client", "Piekarnia", "--format", "html")
    assert code == 0, err
    assert out.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "@page { size: A4;" in out and "<h1>Working standards for email</h1>" in out
    assert "<p>I answer messages from Piekarnia within 4 business hours; only working hours count" in out
    assert "<li>Monday 4 January 2027 — day off</li>" in out
    assert not re.search(r"(https?:)?//|@import|<script|<link|<img|url\(", out)


def test_the_standards_document_as_markdown_and_json_and_for_no_client(
        capsys: pytest.CaptureFixture[str], rules_file: Path) -> None:
    code, out, _ = run_cli(capsys, "-c", rules_file, "standards", "--format", "markdown", "--language", "pl")
    assert code == 0 and out.startswith("# Standardy pracy z pocztą\n\n_Kasia Nowak · ")
    assert "\n## Jak szybko odpowiadam\n\nStandardowo odpowiadam w ciągu 1 dnia roboczego" in out
    assert "\n- poniedziałek 4 stycznia 2027 — dzień wolny\n" in out
    code, out, _ = run_cli(capsys, "-c", rules_file, "standards", "--json")
    data = __import__("json").loads(out)
    assert data["language"] == "en" and [s["title"] for s in data["sections"]] == [
        "When mail is read", "How fast you get an answer", "Days off", "What happens to a message",
        "Confidentiality"]
    code, out, err = run_cli(capsys, "-c", rules_file, "standards", "--client", "Nobody")
    assert code == 2 and "no client 'Nobody' (known: Acme, Piekarnia)" in err


def test_with_overdue_notice_the_document_promises_a_new_deadline_when_one_is_missed(
        capsys: pytest.CaptureFixture[str], write_rules: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    plain, told = write_rules(rules_text()), write_rules(rules_text(extra="overdue_notice: true\n"))
    promise = {"pl": "Jeśli nie zdążę odpowiedzieć w terminie, wysyłam wiadomość z przeprosinami i nowym terminem, "
                     "liczonym tak samo jak pierwszy.",
               "en": "If I cannot answer by the deadline, I send an apology with a new deadline, counted the same "
                     "way as the first."}
    for language, words in promise.items():
        _, out, _ = run_cli(capsys, "-c", plain, "standards", "--language", language)
        assert words not in out
        code, out, err = run_cli(capsys, "-c", told, "standards", "--language", language)
        assert code == 0, err
        assert words in " ".join(out.split())


def test_the_examples_are_what_windows_deadline_computes(rules_file: Path) -> None:
    from mailtriage.app import standards

    rules = load(rules_file)
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    section = standards.build(rules, standards.find_client(rules, "Piekarnia"), "pl", sunday).sections[1]
    assert section.paragraphs[-1] == "Przykłady:"
    assert section.items == [
        "wiadomość otrzymana w poniedziałek 30 listopada, godz. 10:00 — odpowiedź do poniedziałku 30 listopada, "
        "godz. 14:00",
        "wiadomość otrzymana w poniedziałek 30 listopada, godz. 15:30 — odpowiedź do wtorku 1 grudnia, godz. 11:30",
        "wiadomość otrzymana w sobotę 5 grudnia, godz. 11:00 — odpowiedź do poniedziałku 7 grudnia, godz. 12:00"]
    acme = standards.build(rules, standards.find_client(rules, "Acme"), "en", sunday).sections[1]
    assert acme.items[1] == "a message received on Monday 30 November, 15:30 — answered by Monday 30 November, 16:00"


# --- the monthly report --------------------------------------------------------------------------

def thread(store: Store, name: str, opened: datetime, deadline: datetime, client: str = "Acme") -> Thread:
    row = Thread(f"<{name}@acme.pl>", f"{name}@acme.pl", opened, opened, ThreadState.OPEN, client=client,
                 subject=name.capitalize(), deadline=deadline, window="same business day")
    with store.transaction():
        store.insert_thread(row)
        store.insert_message(Message("INBOX", 1, abs(hash(name)) % 10**6, row.id, opened, Decision.REPLY, "client",
                                     thread_id=row.id, sender=row.sender, client=client))
    found = store.thread(row.id)
    assert found is not None
    return found


def answered(store: Store, row: Thread, at: datetime, business_hours: float) -> None:
    with store.transaction():
        store.record_answer(row, at, AnsweredVia.SENT, business_hours * 3600)


@pytest.fixture
def october(rules_file: Path) -> Iterator[Rules]:
    rules = load(rules_file)
    store = Store(rules.database)
    for day, name, hours, late in ((0, "faktura", 2.0, False), (1, "umowa", 4.0, False), (2, "oferta", 9.0, True)):
        opened = OCT + timedelta(days=day)
        row = thread(store, name, opened, opened + 6 * HOUR)
        answered(store, row, opened + (8 * HOUR if late else hours * HOUR), hours)
    moved = thread(store, "zapytanie", OCT + timedelta(days=3), OCT + timedelta(days=3, hours=6))
    with store.transaction():
        store.snooze_thread(moved.id, OCT + timedelta(days=4, hours=6), OCT + timedelta(days=3, hours=1))
    thread(store, "inne", OCT + timedelta(days=1), OCT + timedelta(days=1, hours=6), client="Piekarnia")
    thread(store, "listopad", OCT + timedelta(days=40), OCT + timedelta(days=40, hours=6))
    store.close()
    yield rules


def test_the_monthly_report_counts_the_window_and_lists_every_thread(
        capsys: pytest.CaptureFixture[str], rules_file: Path, october: Rules) -> None:
    code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:5] == ["Raport: Acme, październik 2026", "", "Wiadomości: 4, wątki: 4.",
                         "Odpowiedzi w terminie: 2 z 4 (50%).",
                         "Czas odpowiedzi w godzinach pracy: mediana 4,0 h, 90. percentyl 9,0 h."]
    assert lines[6] == "WĄTKI (otrzymano · temat · odpowiedź po · w terminie)"
    assert lines[7:] == [
        "  pon. 5 paź 10:00  „Faktura”  odpowiedź po 2,0 h  ✔",
        "  wt. 6 paź 10:00  „Umowa”  odpowiedź po 4,0 h  ✔",
        "  śr. 7 paź 10:00  „Oferta”  odpowiedź po 9,0 h  ✘",
        "  czw. 8 paź 10:00  „Zapytanie”  bez odpowiedzi  ✘",
        "      termin przesunięty z czwartku 8 października, godz. 16:00 na piątek 9 października, godz. 16:00 "
        "(bez powiadomienia klienta)"]
    code, out, _ = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10", "--json")
    data = __import__("json").loads(out)
    assert (data["messages"], data["threads"], data["in_time"], data["judged"], data["share_in_time"]) == (
        4, 4, 2, 4, 0.5)
    assert (data["median_hours"], data["p90_hours"]) == (4.0, 9.0)
    assert data["lines"][3]["told"] is False  # moved by a plain snooze: no notice went out
    code, out, _ = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10",
                           "--language", "en", "--format", "html")
    assert '<h1>Report: Acme, October 2026</h1>\n<p class="subtitle">Kasia Nowak</p>' in out
    assert '<span class="no">✘</span>' in out
    assert "deadline moved from Thursday 8 October, 16:00 to Friday 9 October, 16:00" in out
    assert not re.search(r"(https?:)?//|<script|<link|<img|url\(", out)
    code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-13")
    assert code == 2 and "not a month: '2026-13'" in err


def test_the_report_says_the_client_was_told_only_of_a_move_whose_notice_was_sent(
        capsys: pytest.CaptureFixture[str], rules_file: Path, october: Rules) -> None:
    store = Store(october.database)
    moved = store.thread("<zapytanie@acme.pl>")
    assert moved is not None
    assert moved.deadline is not None
    notice = Reply(moved.id, moved.id, "<notice-1@example.com>", moved.sender, moved.sender, OCT, b"x",
                   kind=ReplyKind.MOVED, about=iso(moved.deadline))
    with store.transaction():
        assert store.plan_notice(notice)

    def told() -> object:
        code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10",
                                 "--json")
        assert code == 0, err
        return __import__("json").loads(out)["lines"][3]["told"]

    assert told() is False  # planned is not told: the notice may still fail
    claimed = store.claim_next()
    assert claimed is not None
    store.finish_reply(claimed.id, ReplyState.SENT, "<>", "250 ok")
    store.close()
    assert told() is True
    code, out, _ = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10")
    assert out.splitlines()[-1].endswith("(klient został powiadomiony)")


def test_report_send_mails_the_client_and_the_daemon_sends_each_month_once(
        capsys: pytest.CaptureFixture[str], write_rules: Write, smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    path = write_rules(rules_text(smtp.port, "reports: monthly\n", ", report_to: biuro@acme.pl"))
    rules = load(path)
    store = Store(rules.database)
    answered(store, thread(store, "faktura", OCT, OCT + 6 * HOUR), OCT + 2 * HOUR, 2.0)
    store.close()
    code, out, err = run_cli(capsys, "-c", path, "report", "--client", "Acme", "--month", "2026-10", "--send")
    assert code == 0, err
    assert out == "report for Acme, 2026-10, sent to biuro@acme.pl\n"
    assert [m.rcpt_tos for m in smtp.messages] == [["biuro@acme.pl"]]
    sent = email.message_from_bytes(smtp.messages[0].data, policy=email.policy.default)
    assert (sent["Subject"], sent["To"], sent["Auto-Submitted"]) == (
        "Raport: Acme, październik 2026", "biuro@acme.pl", "auto-generated")
    text = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Odpowiedzi w terminie: 1 z 1 (100%)." in text and "„Faktura”  odpowiedź po 2,0 h  ✔" in text
    assert "<td>Faktura</td>" in html
    # The daemon: nothing before the first business day (Sunday 1 November), then October once.
    store = Store(rules.database)
    try:
        assert monthly.send_due(store, rules, datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) == []  # sent by hand
        store.drop_meta("report_sent:Acme:2026-10")
        assert monthly.send_due(store, rules, datetime(2026, 11, 1, 9, 0, tzinfo=UTC)) == []
        assert monthly.send_due(store, rules, datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) == ["Acme"]
        assert monthly.send_due(store, rules, datetime(2026, 11, 2, 12, 0, tzinfo=UTC)) == []
        assert monthly.send_due(store, rules, datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) == []
        assert (store.get_meta("report_sent:Acme:2026-10") or "").startswith("sent 2026-11-02T09:00:00")
    finally:
        store.close()
    assert len(smtp.messages) == 2


def test_report_send_needs_report_to(capsys: pytest.CaptureFixture[str], rules_file: Path) -> None:
    code, _, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--send")
    assert code != 0 and "clients[0].report_to: client Acme has no report_to" in err


# --- the deadline calendar -----------------------------------------------------------------------

def test_the_calendar_has_one_event_per_unanswered_thread_with_a_stable_uid(
        capsys: pytest.CaptureFixture[str], write_rules: Write, tmp_path: Path) -> None:
    from icalendar import Calendar

    path = write_rules(rules_text(extra="calendar: {file: deadlines.ics, alarm: 2 hours}\n"))
    rules = load(path)
    store = Store(rules.database)
    first = thread(store, "faktura", OCT, OCT + 6 * HOUR)
    second = thread(store, "umowa", OCT + HOUR, OCT + 30 * HOUR)
    answered(store, thread(store, "done", OCT, OCT + 6 * HOUR), OCT + HOUR, 1.0)
    store.close()
    code, out, err = run_cli(capsys, "-c", path, "calendar")
    assert code == 0 and out == f"2 deadlines written to {tmp_path / 'deadlines.ics'}\n", err
    ics = tmp_path / "deadlines.ics"
    assert stat.S_IMODE(ics.stat().st_mode) == 0o600
    cal = Calendar.from_ical(ics.read_bytes())
    events = cal.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Acme: Faktura", "Acme: Umowa"]
    assert events[0].decoded("DTSTART") == OCT + 6 * HOUR
    assert str(events[0]["DESCRIPTION"]).startswith("From: faktura@acme.pl\nThread #1\nReceived: ")
    alarm = events[0].walk("VALARM")[0]
    assert (str(alarm["ACTION"]), alarm.decoded("TRIGGER")) == ("DISPLAY", -2 * HOUR)
    uids = [str(e["UID"]) for e in events]
    assert uids == [deadline_calendar.uid(t.id, "example.com") for t in (first, second)]
    # Answer one, move the other: the file is rewritten, the remaining event keeps its UID.
    store = Store(rules.database)
    answered(store, first, OCT + 2 * HOUR, 2.0)
    with store.transaction():
        store.snooze_thread(second.id, OCT + 50 * HOUR, OCT + 2 * HOUR)
    store.close()
    code, out, _ = run_cli(capsys, "-c", path, "calendar")
    again = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert [str(e["UID"]) for e in again] == uids[1:]
    assert again[0].decoded("DTSTART") == OCT + 50 * HOUR
    assert list(tmp_path.glob(".deadlines.ics.*")) == []  # no temporary file left behind
    # snooze, wait and done rewrite it at once, not only the next check
    code, _, err = run_cli(capsys, "-c", path, "snooze", "2", "2027-03-01T10:00")
    assert code == 0, err
    assert Calendar.from_ical(ics.read_bytes()).walk("VEVENT")[0].decoded("DTSTART") == datetime(
        2027, 3, 1, 9, 0, tzinfo=UTC)
    code, _, err = run_cli(capsys, "-c", path, "wait", "2")
    assert code == 0, err
    assert Calendar.from_ical(ics.read_bytes()).walk("VEVENT") == []


def test_the_calendar_file_is_exactly_this(write_rules: Write) -> None:
    rules = load(write_rules(rules_text()))
    store = Store(rules.database)
    thread(store, "faktura", OCT, OCT + 6 * HOUR)
    now = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    data = deadline_calendar.to_ical(deadline_calendar.events(store, rules, now), rules, now)
    store.close()
    uid = deadline_calendar.uid("<faktura@acme.pl>", "example.com")
    assert data.decode().split("\r\n") == [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mailtriage//deadlines//EN", "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:mailtriage: deadlines", "BEGIN:VEVENT", "SUMMARY:Acme: Faktura",
        "DTSTART:20261005T140000Z", "DTEND:20261005T141500Z", "DTSTAMP:20261005T090000Z", f"UID:{uid}",
        "DESCRIPTION:From: faktura@acme.pl\\nThread #1\\nReceived: Mon 5 Oct 10:00",
        "TRANSP:TRANSPARENT", "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Acme: Faktura", "TRIGGER:-PT1H",
        "END:VALARM", "END:VEVENT", "END:VCALENDAR", ""]


def test_a_check_rewrites_the_calendar_file(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from icalendar import Calendar

    box = ready(capsys, mailbox, "calendar: {file: cal/deadlines.ics}\n")
    ics = box.rules.parent / "cal" / "deadlines.ics"
    assert Calendar.from_ical(ics.read_bytes()).walk("VEVENT") == []
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    code, lines, err = run_check(capsys, box)
    assert code == 0, err
    events = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Acme: Invoice for November"]
    assert events[0].decoded("DTSTART").isoformat() == "2026-11-23T15:00:00+00:00"


def test_after_a_check_a_refused_report_is_one_line_and_is_tried_again(
        write_rules: Write, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.app.aftercheck import after_check

    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    rules = load(write_rules(rules_text(smtp.port, "reports: monthly\n", ", report_to: biuro@acme.pl")))
    smtp.rcpt_answers["biuro@acme.pl"] = ["550 5.1.1 no such mailbox"]
    store = Store(rules.database)
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    try:
        problems = after_check(store, rules, now, reports=True)
        assert len(problems) == 1 and problems[0].startswith("monthly report: the report for Acme was not sent: 550")
        assert store.get_meta("report_sent:Acme:2026-10") is None
        assert after_check(store, rules, now + HOUR, reports=True) == []  # accepted now: sent, once
        assert after_check(store, rules, now + 2 * HOUR, reports=True) == []
    finally:
        store.close()
    assert [m.rcpt_tos for m in smtp.messages] == [["biuro@acme.pl"]]


def test_the_daemons_check_writes_the_calendar_and_sends_last_months_report_once(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from mailtriage.app.daemon import Daemon

    box = ready(capsys, mailbox, "check_on_days_off: true\nreports: monthly\ncalendar: {file: deadlines.ics}\n")
    text = box.rules.read_text().replace("language: en}", "language: en, report_to: biuro@acme.pl}", 1)
    box.rules.write_text(text)
    rules = load(box.rules)
    today = datetime.now(rules.tz).date()
    if today < monthly.first_business_day(rules, today):
        pytest.skip("before the first business day of this month no monthly report is due")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    daemon = Daemon(box.rules, rules)
    daemon.run_check()
    reports = [m for m in smtp.messages if m.rcpt_tos == ["biuro@acme.pl"]]
    assert len(reports) == 1 and b"Subject: Report: Acme, " in reports[0].data
    assert (box.rules.parent / "deadlines.ics").read_bytes().count(b"BEGIN:VEVENT") == 1
    daemon.run_check()
    assert len([m for m in smtp.messages if m.rcpt_tos == ["biuro@acme.pl"]]) == 1


def test_the_report_lists_threads_waiting_for_the_client_and_gives_times_in_iso(
        capsys: pytest.CaptureFixture[str], rules_file: Path, october: Rules) -> None:
    store = Store(october.database)
    with store.transaction():
        store.wait_for_client("<zapytanie@acme.pl>", OCT + timedelta(days=3, hours=2), None)
    store.close()
    code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10")
    assert code == 0, err
    assert "Wiadomości: 4, wątki: 4." in out
    assert "  czw. 8 paź 10:00  „Zapytanie”  bez odpowiedzi  czekam na Państwa odpowiedź" in out
    code, out, _ = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10", "--json")
    data = __import__("json").loads(out)
    assert data["threads"] == 4 and len(data["lines"]) == 4 and data["lines"][3]["waiting"] is True
    assert (data["lines"][0]["received"], data["lines"][0]["received_text"]) == (
        "2026-10-05T10:00:00+02:00", "pon. 5 paź 10:00")
    code, out, _ = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-10",
                           "--language", "en", "--format", "html")
    assert "waiting for your reply" in out


def test_the_report_of_a_past_month_says_no_yet_and_a_future_month_is_refused(
        capsys: pytest.CaptureFixture[str], rules_file: Path) -> None:
    code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-09")
    assert code == 0, err
    assert "W tym miesiącu nie było odpowiedzi ani terminów, które minęły." in out
    code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2026-09",
                             "--language", "en")
    assert "There were no answers and no passed deadlines this month." in out and " yet" not in out
    code, out, err = run_cli(capsys, "-c", rules_file, "report", "--client", "Acme", "--month", "2099-01")
    assert (code, out) == (2, "") and err == (
        "2099-01 has not begun yet: a report covers the current month or an earlier one\n")


def test_calendar_json_is_in_the_users_zone_and_an_unwritable_file_is_one_line(
        capsys: pytest.CaptureFixture[str], write_rules: Write, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a folder\n")
    path = write_rules(rules_text(extra="calendar: {file: plain/deadlines.ics}\n"))
    rules = load(path)
    store = Store(rules.database)
    thread(store, "faktura", OCT, OCT + 6 * HOUR)
    store.close()
    code, out, err = run_cli(capsys, "-c", path, "calendar", "--json")
    assert code == 0 and __import__("json").loads(out)["deadline"] == "2026-10-05T16:00:00+02:00", err
    code, out, err = run_cli(capsys, "-c", path, "calendar")
    assert (code, out) == (1, "") and err == f"calendar: cannot write {tmp_path / 'plain/deadlines.ics'}: " \
        "File exists\n", err
    code, out, err = run_cli(capsys, "-c", path, "calendar", "--output", "/proc/x.ics")
    assert (code, out) == (1, "") and err.startswith("calendar: cannot write /proc/x.ics: ") and err.count("\n") == 1


def test_the_standards_document_in_english_counts_in_words_and_names_the_zone(
        capsys: pytest.CaptureFixture[str], rules_file: Path) -> None:
    code, out, err = run_cli(capsys, "-c", rules_file, "standards", "--language", "en")
    assert code == 0, err
    text = " ".join(out.split())
    assert "All times in this document are Polish time (Europe/Warsaw)." in text
    assert "One sender gets at most one acknowledgement within 24 hours;" in text
