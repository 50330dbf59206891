"""Building a holding reply: subject, threading headers, one recipient, no header injection, wording."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.policy import SMTP

import pytest

from mailtriage.models import Verdict
from mailtriage.parse import parse
from mailtriage.reply import build, environment, render, reply_subject
from mailtriage.rulesfile import load
from mailtriage.wording import deadline_text
from tests.conftest import EXAMPLE

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Invoice", "Re: Invoice"),
        ("Re: Invoice", "Re: Invoice"),
        ("RE: Re: re:Invoice", "Re: Invoice"),
        ("Odp: AW: Invoice", "Re: Invoice"),
        ("Re[2]: Invoice", "Re: Invoice"),
        ("", "Re: your message"),
        ("Fwd: Invoice", "Re: Fwd: Invoice"),
    ],
)
def test_reply_subjects_never_stack_prefixes(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("when", "language", "text"),
    [
        (datetime(2026, 12, 1, 16, 0), "pl", "do wtorku 1 grudnia, 16:00"),
        (datetime(2026, 12, 1, 16, 0), "en", "by Tuesday 1 December, 16:00"),
        (datetime(2026, 12, 2, 9, 30), "pl", "do środy 2 grudnia, 09:30"),
        (datetime(2027, 1, 4, 16, 0), "pl", "do poniedziałku 4 stycznia 2027, 16:00"),
        (datetime(2027, 1, 4, 16, 0), "en", "by Monday 4 January 2027, 16:00"),
    ],
)
def test_deadlines_are_written_for_people(when: datetime, language: str, text: str) -> None:
    assert deadline_text(when, language, today=date(2026, 11, 30)) == text


def test_a_reply_goes_to_reply_to_only_and_cannot_carry_injected_headers() -> None:
    rules = load(EXAMPLE)
    msg = parse(b"From: Jan <jan@acme.pl>\nReply-To: office@acme.pl\nTo: kasia@example.com, c@acme.pl\n"
                b"Cc: boss@acme.pl\nSubject: =?utf-8?b?SGVsbG8NCkJjYzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=\n"
                b"Message-ID: <5@acme.pl>\nReferences: " + b" ".join(f"<r{i}@acme.pl>".encode() for i in range(30))
                + b"\n\n", folder="INBOX", uid=1, uidvalidity=1, received=NOW)
    verdict = Verdict("reply", "x", client="Acme", deadline=datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
                      language="en")
    data = build(msg, render(environment(rules), msg, verdict, rules, NOW), rules, NOW, "<mailtriage.1@example.com>"
                 ).as_bytes(policy=SMTP)
    head = data.split(b"\r\n\r\n")[0].decode()
    assert "\r\nTo: <office@acme.pl>\r\n" in head or "\r\nTo: office@acme.pl\r\n" in head
    assert "\r\nCc:" not in head and "\r\nBcc:" not in head
    assert "\r\nSubject: Re: Hello Bcc: victim@evil.example\r\n" in head
    references = head.split("References: ")[1].split("\r\nAuto-Submitted")[0].split()
    assert references[0] == "<r0@acme.pl>" and references[-1] == "<5@acme.pl>" and len(references) == 10
