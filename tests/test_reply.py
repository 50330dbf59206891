"""Building a holding reply: subject, threading headers, one recipient, no header injection, wording."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.core.models import Incoming, Verdict
from mailtriage.core.parse import parse
from mailtriage.mail.reply import build, build_bytes, echo, render, reply_subject
from mailtriage.mail.templates import environment
from tests.conftest import CORPUS, DATA, EXAMPLE

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


VERDICT = Verdict("reply", "x", client="Acme", deadline=datetime(2026, 11, 30, 15, 0, tzinfo=UTC), language="en")
EXCHANGE = "<DB9PR07MB8971D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5@DB9PR07MB8971.eurprd07.prod.outlook.com>"
EXCHANGE_2 = "<AM6PR02MB4423E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0@AM6PR02MB4423.eurprd02.prod.outlook.com>"


def incoming(raw: bytes) -> Incoming:
    return parse(raw, folder="INBOX", uid=1, uidvalidity=1, received=NOW)


def reply_bytes(msg: Incoming, policy: object = SMTP) -> bytes:
    """The reply as the pipeline serialises it (policy=SMTP), or with the message's own policy (None)."""
    rules = load(EXAMPLE)
    reply = build(msg, render(environment(rules), msg, VERDICT, rules, NOW), rules, NOW, "<mailtriage.1@example.com>")
    return reply.as_bytes(policy=policy) if policy else reply.as_bytes()  # type: ignore[arg-type]


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n")[0] + b"\r\n"


def test_exchange_ids_are_written_raw_and_folded_only_between_ids() -> None:
    msg = incoming(f"From: Jan <jan@acme.pl>\nMessage-ID: {EXCHANGE}\nReferences: <r0@acme.pl>\n {EXCHANGE_2}\n\n"
                   .encode())
    for policy in (SMTP, None):
        head = header_block(reply_bytes(msg, policy))
        assert f"\r\nIn-Reply-To: {EXCHANGE}\r\n".encode() in head
        assert f"\r\nReferences: <r0@acme.pl>\r\n {EXCHANGE_2}\r\n {EXCHANGE}\r\n".encode() in head
        assert b"=?" not in head.split(b"\r\nIn-Reply-To:")[1].split(b"\r\nAuto-Submitted:")[0]


def test_an_id_too_long_for_a_line_is_left_out_and_the_reply_still_goes() -> None:
    huge = "<" + "x" * 1000 + "@acme.pl>"
    head = header_block(reply_bytes(incoming(f"From: jan@acme.pl\nMessage-ID: {huge}\nReferences: <r@acme.pl>\n\n"
                                             .encode())))
    assert b"In-Reply-To" not in head and b"\r\nReferences: <r@acme.pl>\r\n" in head
    assert max(len(line) for line in head.split(b"\r\n")) <= 998


def test_a_reply_to_a_non_ascii_mailbox_is_utf8_and_to_an_idn_domain_is_ascii() -> None:
    msg = incoming('From: "Jöhn, Doe" <jdöe@mächine.example>\nMessage-ID: <zażółć@x.pl>\nSubject: Łódź\n\n'.encode())
    for policy in (SMTP, None):
        head = header_block(reply_bytes(msg, policy))
        assert '\r\nTo: "Jöhn, Doe" <jdöe@mächine.example>\r\n'.encode() in head
        assert "\r\nIn-Reply-To: <zażółć@x.pl>\r\n".encode() in head
    head = header_block(reply_bytes(incoming('From: Ewa <ewa@ŻÓŁW.pl>\nMessage-ID: <zażółć@x.pl>\n\n'.encode())))
    assert b"\r\nTo: Ewa <ewa@xn--w-uga1v8h.pl>\r\n" in head and head.isascii()
    assert b"In-Reply-To" not in head  # a UTF-8 id has no place in a 7-bit message: threading lost, reply sent


def test_a_trailing_dot_in_the_domain_builds_a_reply() -> None:
    assert b"\r\nTo: Dotty <dotty@dot.example>\r\n" in reply_bytes(incoming(b"From: Dotty <dotty@dot.example.>\n\n"))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=80) | st.text(max_size=60).map(lambda t: t.encode()))
def test_every_sender_parse_can_return_gets_a_reply_that_serialises(from_value: bytes) -> None:
    msg = incoming(b"From: " + from_value + b" <" + from_value.strip(b"<> \t\r\n") + b"@x.pl>\nMessage-ID: "
                   + from_value + b"\n\n")
    if msg.sender:
        for policy in (SMTP, None):
            head = header_block(reply_bytes(msg, policy))
            assert max(len(line) for line in head.split(b"\r\n")) <= 998


def test_a_strangers_subject_is_echoed_at_most_150_characters_on_one_line() -> None:
    long = "Zapytanie " + "bardzo długie " * 40
    assert len(echo(long)) <= 151 and echo(long).endswith("długie…") and "\n" not in echo(long)
    assert echo("x" * 400) == "x" * 150 + "…"  # no word to cut at
    assert echo("Short one") == "Short one"
    assert reply_subject("Re: " + long) == "Re: " + echo(long)
    msg = incoming(f"From: jan@acme.pl\nSubject: {long}\n\n".encode())
    rules = load(EXAMPLE)
    assert f'"{echo(long)}"' in render(environment(rules), msg, VERDICT, rules, NOW)


def _same_bytes(msg: Incoming, rules: Rules, message_id: str = "<mailtriage.1@example.com>") -> None:
    """build_bytes (what the check sends) is byte for byte what the email package writes."""
    if not msg.sender or not msg.reply_to:
        return
    for language in ("en", "pl"):
        verdict = Verdict("reply", "x", client="Acme", deadline=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
                          language=language)
        text = render(environment(rules), msg, verdict, rules, NOW)
        expected = build(msg, text, rules, NOW, message_id).as_bytes(policy=SMTP)
        assert build_bytes(msg, text, rules, NOW, message_id) == expected
        assert build_bytes(msg, text, rules, NOW, message_id) == expected  # and again, folded from the cache


def test_the_bytes_sent_are_the_email_packages_for_every_message_of_the_test_data_and_corpus() -> None:
    rules = load(EXAMPLE)
    files = sorted(DATA.glob("*.eml")) + (sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".tsv"
                                                 and p.name != "README.md") if CORPUS.exists() else [])
    assert len(files) > 20
    for path in files:
        _same_bytes(incoming(path.read_bytes()), rules)
    for raw in (f"From: Jan <jan@acme.pl>\nMessage-ID: {EXCHANGE}\nReferences: <r0@acme.pl>\n {EXCHANGE_2}\n\n",
                'From: "Jöhn, Doe" <jdöe@mächine.example>\nMessage-ID: <zażółć@x.pl>\nSubject: Łódź\n\n',
                "From: Ewa <ewa@ŻÓŁW.pl>\nMessage-ID: <zażółć@x.pl>\n\n", "From: Dotty <dotty@dot.example.>\n\n",
                f"From: jan@acme.pl\nSubject: Zapytanie {'bardzo długie ' * 40}\n\n",
                "From: =?utf-8?q?Zofia_=C5=BBy=C5=82ka?= <z@x.pl>\nSubject: =?utf-8?b?WmFtw7N3aWVuaWU=?=\n\n"):
        _same_bytes(incoming(raw.encode()), rules)
    _same_bytes(incoming(b"From: a@b.pl\n\n"), rules, "<mailtriage." + "x" * 90 + "@a-very-long.example.com>")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=200), st.binary(max_size=60))
def test_the_bytes_sent_are_the_email_packages_for_any_name_and_subject(name: str, subject: str,
                                                                         raw: bytes) -> None:
    rules = load(EXAMPLE)
    msg = incoming(b"From: " + raw + b" <" + raw.strip(b"<> \t\r\n") + b"@x.pl>\nMessage-ID: " + raw + b"\n\n")
    _same_bytes(msg, rules)
    msg = incoming(b"From: x <x@y.pl>\n\n")
    _same_bytes(replace(msg, sender_name=name, subject=subject), rules)
    _same_bytes(replace(msg, sender_name=name, subject=subject, reply_to="z@y.pl"), rules)


@pytest.mark.parametrize(("name", "greeted"), [
    ("Nowak, Ewa", "Ewa Nowak"), ("Kowalski, Jan Maria", "Jan Maria Kowalski"), ("Ewa Nowak", "Ewa Nowak"),
    ("Acme Sp. z o.o., Dział Kadr", "Acme Sp. z o.o., Dział Kadr"), ("Smith, Jones, Bob", "Smith, Jones, Bob"),
])
def test_a_directorys_last_first_name_is_greeted_first_last(name: str, greeted: str) -> None:
    from mailtriage.mail.reply import greeting_name

    assert greeting_name(name) == greeted
