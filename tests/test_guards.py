"""Each guard, on a message built for it: what it catches, what it lets through, and the reason it gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailtriage.classify import sender_key
from mailtriage.guards import GUARDS, Context, first_hit
from mailtriage.parse import parse

CTX = Context(own_addresses=frozenset({"kasia@example.com"}))


def msg(headers: str, folder: str = "INBOX"):  # type: ignore[no-untyped-def]
    base = "From: Jan <jan@acme.pl>\nTo: kasia@example.com\nSubject: Hello\nMessage-ID: <1@acme.pl>\n"
    names = {line.split(":")[0].lower() for line in headers.splitlines() if ":" in line}
    kept = "".join(line + "\n" for line in base.splitlines() if line.split(":")[0].lower() not in names)
    return parse((kept + headers + "\n\nbody\n").encode(), folder=folder, uid=1, uidvalidity=1,
                 received=datetime.now(UTC))


@pytest.mark.parametrize(
    ("headers", "guard", "reason"),
    [
        ("Return-Path: <>", "null-return-path", "null Return-Path"),
        ("From: kasia+invoices@example.com", "own-address", "own address"),
        ("Content-Type: multipart/report; report-type=disposition-notification", "report", "multipart/report"),
        ("Auto-Submitted: auto-notified", "auto-submitted", "auto-notified"),
        ("From: MAILER-DAEMON@mx.example.net", "system-sender", "mailer-daemon"),
        ("From: python-dev-request@python.org", "system-sender", "-request"),
        ("From: owner-list@example.org", "system-sender", "owner-list"),
        ("Sender: list-bounces@example.org", "system-sender", "list-bounces"),
        ("Received: by host (Postfix, from userid 0) id 1", "system-sender", "root"),
        ("From: Shop <do-not-reply@shop.example>", "no-reply", "do-not-reply"),
        ("Reply-To: noreply@shop.example", "no-reply", "noreply"),
        ("List-Post: <mailto:l@example.org>", "list", "list-post"),
        ("X-BeenThere: l@example.org", "list", "x-beenthere"),
        ("Precedence: junk", "precedence", "junk"),
        ("X-Precedence: bulk", "precedence", "bulk"),
        ("X-Loop: helpdesk@example.org", "autoresponder", "x-loop"),
        ("X-Autoreply: yes", "autoresponder", "x-autoreply"),
        ("X-Autorespond: yes", "autoresponder", "x-autorespond"),
        ("X-GitHub-Reason: mention", "notifier", "x-github-reason"),
        ("Subject: Undeliverable: Hello", "bounce-subject", "delivery failure"),
        ("Subject: Out of Office: Hello", "out-of-office", "automatic reply"),
        ("Subject: Automatyczna odpowiedź: Oferta", "out-of-office", "automatic reply"),
        ("Subject: =?utf-8?q?Poza_biurem?=", "out-of-office", "automatic reply"),
        ("Subject: Abwesenheitsnotiz: Termin", "out-of-office", "automatic reply"),
        ("Subject: Automatische Antwort: Termin", "out-of-office", "automatic reply"),
        ("X-Spam-Flag: YES", "spam", "X-Spam-Flag"),
        ("Subject: [SPAM] win", "spam", "subject tag"),
        ("X-Auto-Response-Suppress: OOF, AutoReply", "suppress", "X-Auto-Response-Suppress"),
        ("From: postmaster@acme.pl", "postmaster", "role address"),
        ("To: someone-else@example.org", "not-addressed", "not addressed to us"),
    ],
)
def test_guard_catches_its_case_and_says_why(headers: str, guard: str, reason: str) -> None:
    hit = first_hit(msg(headers), CTX)
    assert hit is not None, headers
    assert hit[0].name == guard and reason.lower() in hit[1].lower()


def test_a_message_in_the_spam_folder_is_spam() -> None:
    hit = first_hit(msg("", folder="Junk"), CTX)
    assert hit and hit[0].name == "spam"


@pytest.mark.parametrize(
    "headers",
    [
        "",
        "Auto-Submitted: no",
        "X-Auto-Response-Suppress: DR, RN, NRN",
        "Subject: Re: Out of office supplies order",  # a person, about office supplies
        "Subject: Auto insurance quote",
        "Cc: kasia@example.com\nTo: boss@acme.pl",
        "To: Kasia+Work@Example.com",
        "X-Spam-Flag: NO",
        "Precedence: first-class",
    ],
)
def test_ordinary_mail_from_a_person_passes_every_guard(headers: str) -> None:
    assert first_hit(msg(headers), CTX) is None


def test_addressing_is_not_required_when_the_user_says_so() -> None:
    relaxed = Context(own_addresses=CTX.own_addresses, require_addressed=False)
    assert first_hit(msg("To: someone-else@example.org"), relaxed) is None


def test_every_guard_has_a_unique_name_and_a_description() -> None:
    names = [g.name for g in GUARDS]
    assert len(names) == len(set(names)) and all(g.description for g in GUARDS)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("SRS0=HHH=TT=example.org=alice@forwarder.net", "alice@example.org"),
        ("SRS1=X=forw.org==HHH=TT=example.org=alice@second.net", "alice@example.org"),
        ("prvs=1234abcd=bob@example.com", "bob@example.com"),
        ("Jan@Acme.PL", "jan@acme.pl"),
    ],
)
def test_sender_limit_keys_undo_forwarder_rewriting(address: str, key: str) -> None:
    assert sender_key(address) == key
