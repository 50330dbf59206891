"""`mailtriage preview`: the holding reply a sender would get, through a check's own code; nothing stored or sent."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_check, run_cli
from tests.conftest import Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, parsed, ready


def preview(capsys: pytest.CaptureFixture[str], box: Mailbox, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "-c", box.rules, "preview", *args)


def previewed(capsys: pytest.CaptureFixture[str], box: Mailbox, *args: str) -> dict[str, Any]:
    code, out, err = preview(capsys, box, *args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def database(box: Mailbox) -> Path:
    return box.rules.parent / "state" / "mailtriage.db"


def fingerprints(folder: Path) -> dict[str, str]:
    """Every file of the database's folder (the file, its WAL and shared memory) by content."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def test_a_client_gets_the_reply_in_polish_with_the_deadline_after_the_weekend(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    data = previewed(capsys, box, "--from", "Anna Zielińska <anna@piekarnia-zielona.pl>", "--subject",
                     "Zamówienie na sobotę", "--received", "2026-12-04T17:10")
    assert (data["decision"], data["stopped_by"], data["client_rule"]["client"]) == ("reply", None, "Piekarnia")
    assert data["deadline"]["recorded"] == "2026-12-07T12:00:00+01:00"
    assert data["deadline"]["steps"][0] == ("arrived Fri 4 Dec 17:10, after business hours (08:00–16:00) → counts "
                                            "from Mon 7 Dec 08:00")
    reply = data["reply"]
    assert (reply["to"], reply["via"]) == ("anna@piekarnia-zielona.pl", "from")
    assert reply["headers"]["To"] == "Anna Zielińska <anna@piekarnia-zielona.pl>"
    assert reply["headers"]["Subject"] == "Re: Zamówienie na sobotę"
    assert reply["headers"]["Auto-Submitted"] == "auto-replied"
    assert reply["headers"]["Date"] == "Fri, 04 Dec 2026 17:10:00 +0100"  # checked when it arrives
    assert "Dzień dobry" in reply["text"] and "do poniedziałku 7 grudnia, godz. 12:00" in reply["text"]
    assert (database(box).exists(), smtp.messages, smtp.connections) == (False, [], 0)

    code, out, _ = preview(capsys, box, "--from", "anna@piekarnia-zielona.pl", "--received", "2026-12-04 17:10")
    assert code == 0 and "decision:  reply: pattern *@piekarnia-*.pl" in out
    assert "reply to:  anna@piekarnia-zielona.pl (no separate Reply-To: replying to From)" in out
    assert "Subject: Re: your message" in out and "Pełną odpowiedź otrzymają Państwo do poniedziałku" in out


def test_a_stranger_gets_english_and_a_public_holiday_moves_the_deadline(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    # 11 November is Polish Independence Day: a Wednesday, and no business day.
    data = previewed(capsys, box, "--from", "someone@stranger.example", "--name", "Sam Smith", "--subject",
                     "Question", "--received", "2026-11-11T10:00")
    assert (data["decision"], data["client_rule"]["client"], data["client_rule"]["language"]) == ("reply", None, "en")
    assert data["deadline"]["recorded"] == "2026-11-13T16:00:00+01:00"
    assert data["deadline"]["steps"][0] == (
        "arrived Wed 11 Nov 10:00, not a business day: public holiday (National Independence Day) → counts from "
        "Thu 12 Nov 08:00")
    text = data["reply"]["text"]
    assert text.startswith("Dear Sam Smith,") and "by Friday 13 November, 16:00" in text
    assert (database(box).exists(), smtp.messages) == (False, [])


def test_a_noreply_sender_is_stopped_by_the_named_guard(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    data = previewed(capsys, box, "--from", "no-reply@bank.example", "--subject", "Your statement")
    assert (data["decision"], data["stopped_by"], data["reply"], data["deadline"]) == ("skip", "no-reply", None, None)
    assert data["objections"][0]["guard"] == "no-reply" and "no-reply@bank.example" in data["objections"][0]["reason"]
    code, out, _ = preview(capsys, box, "--from", "no-reply@bank.example")
    assert code == 0 and "no holding reply: no-reply sender no-reply@bank.example" in out
    assert "guards:    no-reply: " in out
    assert (database(box).exists(), smtp.messages) == (False, [])


def test_an_away_period_adds_the_notice_and_moves_the_deadline(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox("away: [{from: 2026-12-07, to: 2026-12-11}]\n")
    text = previewed(capsys, box, "--from", "jan@acme.pl", "--received", "2026-12-08T10:00")["reply"]["text"]
    assert "I am away until Friday 11 December and back at work on Monday 14 December." in text
    assert "by Monday 14 December, 16:00" in text
    before = previewed(capsys, box, "--from", "jan@acme.pl", "--received", "2026-12-01T10:00")["reply"]["text"]
    assert "away" not in before


def test_not_addressed_to_us_is_recorded_without_a_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox]) -> None:
    data = previewed(capsys, mailbox(), "--from", "jan@acme.pl", "--to", "someone@else.example")
    assert (data["decision"], data["stopped_by"], data["reply"]) == ("record", "not-addressed", None)
    assert data["deadline"]["recorded"] is not None  # a person wrote it: the thread still has a deadline


def test_preview_shows_what_a_check_sends_and_leaves_the_database_alone(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    sent = parsed(smtp.messages[0].data)
    before = fingerprints(database(box).parent)
    # The same sender again: the database knows the thread, but preview counts no history.
    data = previewed(capsys, box, "--from", "Jan Kowalski <jan@acme.pl>", "--subject", "Invoice for November",
                     "--received", "2026-11-23T12:20")
    assert fingerprints(database(box).parent) == before and len(smtp.messages) == 1
    reply = data["reply"]
    for header in ("From", "To", "Subject", "Auto-Submitted", "X-Auto-Response-Suppress"):
        assert reply["headers"][header] == sent[header], header
    # The check ran days after the message arrived, preview checks at once: a deadline names its year
    # only when it is not the year of the check, so in January the two may differ by that alone.
    assert reply["text"].replace(" 2026,", ",") == sent.get_content().replace(" 2026,", ",")


@pytest.mark.parametrize(("args", "says"), [
    (["--from", "not-an-address"], "--from: not an email address: 'not-an-address'"),
    (["--from", "jan@acme.pl", "--to", "nobody"], "--to: not an email address"),
    (["--from", "jan@acme.pl", "--received", "2026-12-04"], "not a date and time: '2026-12-04'"),
    (["--from", "jan@acme.pl", "--received", "yesterday"], "not a date and time: 'yesterday'"),
])
def test_bad_options_are_one_line_without_a_traceback(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], args: list[str], says: str) -> None:
    code, out, err = preview(capsys, mailbox(), *args)
    assert code == 2 and out == "" and says in err and "Traceback" not in err
