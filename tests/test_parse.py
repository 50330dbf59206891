"""Parsing header blocks: decoded text, safe addresses, threads, and never an exception."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailtriage.core.models import Incoming
from mailtriage.core.parse import parse, synthetic_id

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def p(raw: bytes):  # type: ignore[no-untyped-def]
    return parse(raw, folder="INBOX", uid=7, uidvalidity=3, received=NOW)


def test_encoded_words_are_decoded_and_addresses_kept_raw() -> None:
    msg = p(b"From: =?utf-8?q?Zofia_=C5=BBy=C5=82ka?= <Zofia@Piekarnia-Krakow.pl>\r\n"
            b"Reply-To: orders@piekarnia-krakow.pl\r\nTo: kasia@example.com, B <b@example.com>\r\n"
            b"Subject: =?iso-8859-2?q?Zam=F3wienie_=BFytniego?=\r\nMessage-ID: <m1@x.pl>\r\n\r\n")
    assert (msg.sender, msg.sender_name) == ("zofia@piekarnia-krakow.pl", "Zofia Żyłka")
    assert msg.reply_to == "orders@piekarnia-krakow.pl"
    assert msg.recipients == ("kasia@example.com", "b@example.com")
    assert msg.subject == "Zamówienie żytniego" and msg.broken is None


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    msg = p("From: Piotr Wiśniewski <p@firma.pl>\nSubject: Nieobecność\n\n".encode())
    assert (msg.sender_name, msg.subject) == ("Piotr Wiśniewski", "Nieobecność")


def test_an_encoded_word_in_an_address_is_never_decoded_into_one() -> None:
    msg = p(b"From: =?utf-8?q?attacker=40evil.example?= <=?utf-8?q?x?=@victim.example>\n\n")
    assert "evil.example" not in msg.sender and "evil.example" not in msg.reply_to


def test_threads_come_from_in_reply_to_then_references_nearest_first() -> None:
    msg = p(b"From: a@b.pl\nIn-Reply-To: <3@b.pl>\nReferences: <1@b.pl>\n <2@b.pl> <3@b.pl>\n\n")
    assert msg.parents == ("<3@b.pl>", "<2@b.pl>", "<1@b.pl>")


def test_a_missing_message_id_gets_a_stable_synthetic_one() -> None:
    raw = b"From: a@b.pl\nSubject: no id\n\n"
    assert p(raw).message_id == p(raw).message_id == synthetic_id(b"From: a@b.pl\r\nSubject: no id\r\n\r\n")
    assert p(b"From: a@b.pl\nMessage-Id: 2020.05D7@example.com\n\n").message_id == "<2020.05D7@example.com>"
    assert p(b"From: a@b.pl\nMessage-ID:\n <folded@example.com>\n\n").message_id == "<folded@example.com>"


def test_junk_before_the_headers_and_broken_continuations_are_tolerated() -> None:
    msg = p(b"\n---- Original email message ----\nReturn-Path: x@y.cz\nX-Note: a\nnot indented\n"
            b"From: person@firma.cz\nSubject: Contact\n\nbody")
    assert (msg.sender, msg.subject) == ("person@firma.cz", "Contact")


def test_no_sender_address_marks_the_message_broken() -> None:
    msg = p(b"From: MAILER-DAEMON (Mail Delivery System)\nSubject: x\n\n")
    assert msg.broken and "no usable sender" in msg.broken


def test_control_characters_never_survive_into_text() -> None:
    msg = p(b"From: =?utf-8?b?RXZlDQpCY2M6IHg=?= <eve@x.example>\n"
            b"Subject: =?utf-8?b?SGVsbG8NCkJjYzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=\n\n")
    assert "\r" not in msg.subject + msg.sender_name and "\n" not in msg.subject + msg.sender_name
    assert "control characters in Subject" in msg.defects


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_a_message_and_never_an_exception(raw: bytes) -> None:
    msg = p(raw)
    assert msg.uid == 7 and msg.message_id.startswith("<")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["From", "To", "Subject", "References", "Message-ID", "X-Y"]),
                          st.text(max_size=80)), max_size=8))
def test_any_header_text_parses(pairs: list[tuple[str, str]]) -> None:
    raw = "".join(f"{name}: {value}\n" for name, value in pairs).encode("utf-8", "surrogatepass")
    msg = p(raw + b"\n")
    assert isinstance(msg.subject, str) and "\n" not in msg.subject


def strings(msg: Incoming) -> list[str]:
    """Every string a parsed message carries: fields, tuples of them, header names and values."""
    found: list[str] = []
    for value in (getattr(msg, f.name) for f in fields(msg)):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, tuple):
            found += [v for v in value if isinstance(v, str)]
    return found + [text for item in msg.headers.items() for text in item]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([b"From", b"Reply-To", b"To", b"Subject", b"Message-ID", b"References",
                                           b"In-Reply-To", b"X-Y"]),
                          st.binary(max_size=60) | st.text(max_size=40).map(lambda t: t.encode())
                          | st.tuples(st.binary(max_size=12), st.binary(max_size=12)).map(b"@".join)), max_size=8))
@example([(b"From", "J\u00f6 <j\u00f6@m\u00e4chine.example>".encode()), (b"Message-ID", b"<\xe9\xff@x>")])
@example([(b"From", b"j\xf6@x.pl"), (b"To", b"\xed\xa0\x80@x.pl"), (b"Subject", b"=?utf-7?q?+2AA-?=")])
def test_no_string_parse_returns_holds_a_surrogate(pairs: list[tuple[bytes, bytes]]) -> None:
    msg = p(b"".join(name + b": " + value + b"\n" for name, value in pairs) + b"\n")
    for text in strings(msg):
        text.encode("utf-8")  # raises on a surrogate, as sqlite would


def test_raw_utf8_addresses_are_read_as_utf8_and_normalised() -> None:
    msg = p('From: "Jöhn" <JDöe@Mächine.example>\nTo: jan@żółw.pl, Ewa <ewa@XN--W-UGA1V8H.PL>\n'
            'Message-ID: <zażółć@mächine.example>\n\n'.encode())
    assert (msg.sender, msg.sender_name, msg.reply_to) == ("jdöe@mächine.example", "Jöhn", "jdöe@mächine.example")
    assert msg.recipients == ("jan@żółw.pl", "ewa@żółw.pl")
    assert msg.message_id == "<zażółć@mächine.example>" and msg.broken is None


def test_8bit_ids_that_are_not_utf8_are_escaped_and_stay_distinct() -> None:
    latin1 = p(b"From: a@b.pl\nMessage-ID: <caf\xe9@x.pl>\nReferences: <caf\xe9\x01@x.pl>\t<ok@x.pl>\n\n")
    assert latin1.message_id == "<caf\\xe9@x.pl>" and latin1.references == ("<caf\\xe9\\x01@x.pl>", "<ok@x.pl>")
    assert p(b"From: a@b.pl\nMessage-ID: <caf\xe8@x.pl>\n\n").message_id != latin1.message_id


def test_an_address_that_is_not_utf8_is_no_address() -> None:
    msg = p(b"From: J\xf6rg <j\xf6rg@example.de>\nReply-To: ok@example.de\n\n")
    assert msg.sender == "" and msg.broken and "\udcf6" not in msg.broken


def test_a_trailing_dot_in_a_domain_is_dropped() -> None:
    assert p(b"From: Dotty <dotty@Dot.Example.>\n\n").sender == "dotty@dot.example"


@pytest.mark.parametrize(
    ("header", "sender", "name"),
    [
        (b"=?utf-8?q?victim2@third.example?= <attacker@evil.example>", "attacker@evil.example",
         "victim2@third.example"),
        (b"=?utf-8?q?=C5=81ukasz_Nowak_=28lukasz@firma.pl=29?= <lukasz.nowak@gmail.com>", "lukasz.nowak@gmail.com",
         "\u0141ukasz Nowak (lukasz@firma.pl)"),
        (b'"Doe, John <john@evil.example>" <doe@firma.pl>', "doe@firma.pl", "Doe, John <john@evil.example>"),
        (b'"a@evil.example" (b@evil.example) <c@firma.pl>', "c@firma.pl", "a@evil.example (b@evil.example)"),
        (b"=?iso-8859-1?Q?B=FCrling,=20Andreas?= <smith@example.com>", "smith@example.com", "B\u00fcrling, Andreas"),
        (b"jang.abcdef@xyzlinu <jang.abcdef@xyzlinux12345678.it>", "jang.abcdef@xyzlinux12345678.it",
         "jang.abcdef@xyzlinu"),
        (b"jan@firma.pl (Jan Kowalski)", "jan@firma.pl", "Jan Kowalski"),
        (b"jan@firma.pl, ewa@firma.pl", "jan@firma.pl", ""),
        (b"=?utf-8?q?x?= =?utf-8?q?attacker@evil.example?=", "", ""),  # no address outside an encoded-word
    ],
)
def test_the_sender_is_only_ever_the_raw_address(header: bytes, sender: str, name: str) -> None:
    msg = p(b"From: " + header + b"\n\n")
    assert (msg.sender, msg.sender_name) == (sender, name)


def test_groups_and_quoted_specials_in_recipients() -> None:
    msg = p(b'From: a@b.pl\nTo: undisclosed-recipients:;\nCc: team: "Nowak, Ewa" <ewa@x.pl>, (c) o@x.pl;, z@x.pl\n\n')
    assert msg.recipients == ("ewa@x.pl", "o@x.pl", "z@x.pl")


def test_a_raw_tab_in_a_subject_is_whitespace_but_an_encoded_line_break_is_a_forgery() -> None:
    for raw in (b"Subject: Invoice\tNovember\n", b"Subject: Invoice\n\tNovember\n", b"Subject: =?utf-8?q?a=09b?=\n",
                b"Subject: bell\x07\n"):
        msg = p(b"From: a@b.pl\n" + raw + b"\n")
        assert msg.defects == () and "\t" not in msg.subject, raw
    for word in (b"=?utf-8?q?a=0Db?=", b"=?utf-8?q?a=0Ab?=", b"=?utf-8?b?YQBi?="):  # CR, LF, NUL
        assert p(b"From: a@b.pl\nSubject: x " + word + b"\n\n").defects == ("control characters in Subject",)
