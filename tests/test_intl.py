"""International and hostile headers through a whole check: real Dovecot, real SMTP sink, real SQLite."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli import run_check, run_cli
from tests.conftest import SMTP_PASSWORD, Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, db, parsed, ready

EXCHANGE = "<DB9PR07MB8971D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5@DB9PR07MB8971.eurprd07.prod.outlook.com>"


def message(headers: str | bytes) -> bytes:
    raw = headers.encode() if isinstance(headers, str) else headers
    raw += b"To: Kasia Nowak <kasia@example.com>\nDate: Mon, 23 Nov 2026 12:10:00 +0100\n\nHello.\n"
    return raw.replace(b"\n", b"\r\n")


def checked(capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], raw: bytes) -> tuple[int, list[dict]]:
    box = ready(capsys, mailbox)
    box.deliver(message(raw), when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    return code, lines


def head(smtp: SmtpSink) -> bytes:
    return smtp.messages[0].data.split(b"\r\n\r\n")[0] + b"\r\n"


def test_an_exchange_message_id_comes_back_raw_so_the_reply_threads(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    code, lines = checked(capsys, mailbox, f"From: Jan <jan@acme.pl>\nSubject: Invoice\nMessage-ID: {EXCHANGE}\n")
    assert code == 0 and [line["decision"] for line in lines] == ["reply"]
    assert f"\r\nIn-Reply-To: {EXCHANGE}\r\nReferences: {EXCHANGE}\r\n".encode() in head(smtp)


def test_an_address_hidden_in_an_encoded_word_is_never_answered(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    code, _ = checked(capsys, mailbox, b"From: =?utf-8?q?victim2@third.example?= <attacker@evil.example>\n"
                                       b"Subject: Hi\nMessage-ID: <e1@evil.example>\n")
    assert code == 0 and smtp.messages[0].rcpt_tos == ["attacker@evil.example"]
    assert b"victim2@third.example" not in head(smtp).split(b"\r\nTo:")[1].split(b"\r\n")[0].split(b"<")[-1]


def test_a_tab_in_a_subject_still_gets_a_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    code, lines = checked(capsys, mailbox, b"From: jan@acme.pl\nSubject: Invoice\tNovember\nMessage-ID: <t1@acme.pl>\n")
    assert code == 0 and [line["decision"] for line in lines] == ["reply"]
    assert parsed(smtp.messages[0].data)["Subject"] == "Re: Invoice November"


def test_8bit_names_and_ids_are_stored_and_answered(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver(message("From: Łukasz Żółć <lukasz@acme.pl>\nSubject: Zażółć\n".encode()
                        + b"Message-ID: <caf\xe9@acme.pl>\n"), when=MONDAY_NOON)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and [line["decision"] for line in lines] == ["reply"]
    row = db(box).execute("SELECT sender_name, message_id FROM messages").fetchone()
    assert (row["sender_name"], row["message_id"]) == ("Łukasz Żółć", "<caf\\xe9@acme.pl>")
    assert b"In-Reply-To" not in head(smtp)  # an escaped id matches nothing: left out, the reply still goes


def test_an_idn_domain_gets_its_reply_through_a_7bit_server(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    code, lines = checked(capsys, mailbox, "From: Jan <jan@ŻÓŁW.pl>\nSubject: Hi\nMessage-ID: <i1@x.pl>\n".encode())
    assert code == 0 and [line["decision"] for line in lines] == ["reply"]
    assert smtp.messages[0].rcpt_tos == ["jan@xn--w-uga1v8h.pl"]
    assert b"\r\nTo: Jan <jan@xn--w-uga1v8h.pl>\r\n" in head(smtp)


def test_a_utf8_mailbox_is_recorded_and_its_reply_fails_cleanly_without_smtputf8(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    seven_bit = SmtpSink(password=SMTP_PASSWORD, smtputf8=False).start()
    try:
        box = mailbox()
        box.rules.write_text(box.rules.read_text().replace(f"port: {smtp.port}", f"port: {seven_bit.port}"))
        assert run_check(capsys, box)[0] == 0
        box.deliver(message('From: "Jöhn" <jdöe@mächine.example>\nSubject: Hi\nMessage-ID: <u1@x.pl>\n'.encode()),
                    when=MONDAY_NOON)
        box.deliver(message(b"From: Ala <ala@acme.pl>\nSubject: Hi\nMessage-ID: <u2@x.pl>\n"),
                    when=MONDAY_NOON)
        code, lines, err = run_check(capsys, box)
        assert code == 0 and [line["decision"] for line in lines] == ["reply", "reply"]
        assert db(box).execute("SELECT sender FROM messages").fetchone()["sender"] == "jdöe@mächine.example"
        # the server offers no SMTPUTF8: that reply fails with the reason, the check goes on
        assert [m.rcpt_tos for m in seven_bit.messages] == [["ala@acme.pl"]]
        assert err.strip().splitlines()[-1] == "2 new, 2 holding replies planned, 1 sent, 1 failed"
        error = db(box).execute("SELECT error FROM replies WHERE state = 'failed'").fetchone()["error"]
        assert error == "the SMTP server lacks SMTPUTF8, needed for the non-ASCII address jdöe@mächine.example"
        summary = run_cli(capsys, "-c", box.rules, "summary", "--print")[1]  # not dropped silently: named
        assert "HOLDING REPLIES NOT DELIVERED (1)" in summary
        assert "jdöe@mächine.example: the SMTP server lacks SMTPUTF8" in summary
    finally:
        seven_bit.stop()


def test_a_utf8_mailbox_gets_its_reply_over_smtputf8(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    code, lines = checked(capsys, mailbox, 'From: "Jöhn" <jdöe@mächine.example>\nSubject: Hi\n'
                                           'Message-ID: <u3@x.pl>\n'.encode())
    assert code == 0 and [line["decision"] for line in lines] == ["reply"]
    sent = smtp.messages[0]
    assert sent.rcpt_tos == ["jdöe@mächine.example"] and "SMTPUTF8" in sent.mail_options
    assert "\r\nTo: \"Jöhn\" <jdöe@mächine.example>\r\n".encode() in head(smtp)
