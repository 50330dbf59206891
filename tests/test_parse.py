"""Parsing header blocks: decoded text, safe addresses, threads, and never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtriage.parse import parse, synthetic_id

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
