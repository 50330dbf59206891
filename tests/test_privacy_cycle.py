"""GDPR over the whole cycle: mail checked from the real Dovecot, holding replies sent through the real
SMTP server, then `forget` and `purge --client` from the command line; afterwards no command's output,
no calendar file and no byte of the database files names what was removed, and the others' data is intact."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.cli import run_check, run_cli
from tests.conftest import Mailbox
from tests.servers import SmtpSink

WARSAW = ZoneInfo("Europe/Warsaw")
MONDAY_NOON = datetime(2026, 11, 23, 12, 20, tzinfo=WARSAW)
# What forget (Jan) and purge (the client Piekarnia, Piotr) must leave nowhere; and what must stay (Ewa).
GONE = ("Kowalski", "jan@acme.pl", "Zamojski", "Chlebowski", "piotr@piekarnia-x.pl", "Bulki-zamowienie")
KEPT = ("Nowicka", "ewa@acme.pl", "Umowa-ABC")


def mail(name: str, address: str, subject: str, message_id: str, in_reply_to: str | None = None) -> bytes:
    thread = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (f"From: {name} <{address}>\r\nTo: Kasia Nowak <kasia@example.com>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 12:20:00 +0100\r\nMessage-ID: {message_id}\r\n{thread}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nDzien dobry, prosze o odpowiedz.\r\n").encode()


def outputs(capsys: pytest.CaptureFixture[str], box: Mailbox) -> dict[str, str]:
    """What every command that reads the database prints (stdout and stderr)."""
    commands = {
        "threads": ["threads", "--days", "3650", "--json"], "threads text": ["threads", "--days", "3650"],
        "status": ["status", "--json"], "stats": ["stats", "--json"], "summary": ["summary", "--print"],
        "report": ["report", "--client", "Acme", "--month", "2026-11", "--json"],
        "report text": ["report", "--client", "Acme", "--month", "2026-11"],
        "calendar": ["calendar", "--json"], "export": ["export", "--client", "Acme"],
        **{f"explain {uid}": ["explain", f"INBOX:{uid}", "--json"] for uid in range(1, 5)},
    }
    found = {}
    for name, args in commands.items():
        _, out, err = run_cli(capsys, "-c", box.rules, *args)
        found[name] = out + err
    return found


def database_bytes(box: Mailbox) -> bytes:
    path = box.rules.parent / "state" / "mailtriage.db"
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def test_after_forget_and_purge_nothing_removed_shows_anywhere(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox("summary: {to: kasia@example.com}\ncalendar: {file: deadlines.ics}\n")
    assert run_check(capsys, box)[0] == 0  # the baseline
    box.deliver(mail("Jan Kowalski", "Jan@Acme.pl", "Faktura Zamojski", "<jan-1@acme.pl>"), when=MONDAY_NOON)
    box.deliver(mail("Ewa Nowicka", "ewa@acme.pl", "Umowa-ABC", "<ewa-1@acme.pl>"), when=MONDAY_NOON)
    box.deliver(mail("Jan Kowalski", "jan@acme.pl", "Re: Umowa-ABC Zamojski", "<jan-2@acme.pl>", "<ewa-1@acme.pl>"),
                when=MONDAY_NOON)
    box.deliver(mail("Piotr Chlebowski", "piotr@piekarnia-x.pl", "Bulki-zamowienie", "<p-1@piekarnia-x.pl>"),
                when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and len(lines) == 4 and len(smtp.messages) == 3
    before = outputs(capsys, box)
    assert "Kowalski" in before["threads"] and "Zamojski" in before["calendar"] + before["threads text"]
    assert all(word.encode() in database_bytes(box) for word in GONE + KEPT)

    code, out, err = run_cli(capsys, "-c", box.rules, "forget", "JAN@ACME.PL", "--dry-run", "--json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["would_remove"]["threads"] == 1 and dry["would_remove"]["messages"] == 2
    code, out, err = run_cli(capsys, "-c", box.rules, "forget", "JAN@ACME.PL", "--reference", "REQ-15", "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["removed"] == dry["would_remove"] and done["file_rewritten"] and done["reference"] == "REQ-15"
    code, out, err = run_cli(capsys, "-c", box.rules, "purge", "--client", "Piekarnia", "--language", "en")
    assert code == 0, err
    assert "removed 1 thread (#3), 1 message, 1 reply" in out
    assert ("This is to confirm that on " in out and "all records of your correspondence kept while handling your "
            "mail were deleted: 1 thread and 1 message (senders, subjects, dates and the acknowledgements sent)."
            in out and out.rstrip().endswith("Kind regards,\nKasia Nowak") and "mailtriage" not in
            out[out.index("This is to confirm"):])

    after = outputs(capsys, box)
    for name, text in after.items():
        assert [word for word in GONE if word.lower() in text.lower()] == [], name
    assert all(word in after["threads"] + after["calendar"] for word in KEPT)
    export = json.loads(after["export"])
    assert [m["from"] for m in export["messages"]] == ["ewa@acme.pl"]
    calendar = (box.rules.parent / "deadlines.ics").read_text(encoding="utf-8")
    assert "Zamojski" not in calendar and "Chlebowski" not in calendar and "Umowa-ABC" in calendar
    data = database_bytes(box)
    assert [word for word in GONE if word.encode() in data] == []
    assert [word for word in KEPT if word.encode() not in data] == []
    # The erasure log keeps counts and references, no person.
    code, out, _ = run_cli(capsys, "-c", box.rules, "export", "--address", "jan@acme.pl", "--json")
    assert code == 0 and json.loads(out)["messages"] == []


def test_without_subjects_nothing_of_a_subject_is_stored_and_lists_show_number_and_sender(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox("store_subjects: false\nsummary: {to: kasia@example.com}\n")
    assert run_check(capsys, box)[0] == 0
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    box.deliver_file("out_of_office_pl.eml", when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and len(lines) == 2
    assert len(smtp.messages) == 1 and b"Subject: Re: Invoice for November" in smtp.messages[0].data  # sent whole
    found = outputs(capsys, box)
    for name, text in found.items():
        assert "Invoice" not in text and "Oferta" not in text, name
    assert "Acme from jan@acme.pl" in found["summary"]
    assert '"subject": null' in found["threads"] and "jan@acme.pl" in found["threads text"]
    assert "(subject not stored)" in found["explain 2"]
    code, out, _ = run_cli(capsys, "-c", box.rules, "explain", "INBOX:1")  # text: said so, not ''
    assert code == 0 and "from Jan Kowalski <jan@acme.pl>, (subject not stored), arrived" in out
    assert out.rstrip().endswith("jan@acme.pl, (subject not stored)") and "''" not in out
    data = database_bytes(box)
    assert b"Invoice" not in data and b"Oferta" not in data and b"jan@acme.pl" in data
