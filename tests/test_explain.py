"""`mailtriage explain` after real checks against the private Dovecot and a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.cli import run_check, run_cli
from tests.conftest import Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, db, ready

REPLY_TO_ELSEWHERE = b"""\
From: Jan Kowalski <jan@acme.pl>
Reply-To: zamowienia@hurtownia-kowalski.pl
To: kasia@example.com
Subject: Zamowienie
Date: Mon, 23 Nov 2026 12:19:00 +0100
Message-ID: <order-7@acme.pl>

Prosze o oferte.
"""


def explain(capsys: pytest.CaptureFixture[str], box: Mailbox, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, "-c", box.rules, "explain", *args)


def explained(capsys: pytest.CaptureFixture[str], box: Mailbox, ref: str) -> list[dict[str, Any]]:
    code, out, err = explain(capsys, box, ref, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["query"] == ref
    return list(data["messages"])


def checked(capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], *names: str) -> Mailbox:
    box = ready(capsys, mailbox)
    for name in names:
        box.deliver_file(name, when=MONDAY_NOON)
    code, lines, err = run_check(capsys, box)
    assert lines, err
    return box


def test_a_replied_message_by_message_id_folder_uid_and_thread_number(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = checked(capsys, mailbox, "client_acme.eml")
    [item] = explained(capsys, box, "<invoice-1@acme.pl>")
    assert (item["folder"], item["uid"], item["decision"], item["objections"]) == ("INBOX", 1, "reply", [])
    assert item["client_rule"] == {"client": "Acme", "action": "reply", "window": "same business day",
                                   "language": "en", "reason": "domain acme.pl", "source": "current rules"}
    deadline = item["deadline"]
    assert deadline["recorded"] == deadline["recomputed"] == "2026-11-23T16:00:00+01:00"
    assert (deadline["window"], deadline["window_source"], deadline["moved"]) == ("same business day", "as recorded",
                                                                                  False)
    assert deadline["steps"] == ["arrived Mon 23 Nov 12:20, within business hours (08:00–16:00)",
                                 "same business day (Mon 23 Nov), at closing time 16:00 → due Mon 23 Nov 16:00"]
    reply = item["reply"]
    assert (reply["state"], reply["recipient"], reply["via"]) == ("sent", "jan@acme.pl", "from")
    assert reply["recipient_reason"] == "no separate Reply-To: replying to From"
    assert reply["server_answer"].startswith("250") and reply["meaning"] == "accepted by the SMTP server"
    assert reply["message_id"] == smtp.messages[0].data.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode()
    assert item["thread"]["number"] == 1 and item["thread"]["state"] == "overdue"  # 23 Nov has passed
    for ref in ("invoice-1@acme.pl", "INBOX:1", "1", "#1", reply["message_id"]):
        assert [m["message_id"] for m in explained(capsys, box, ref)] == ["<invoice-1@acme.pl>"], ref

    code, out, _ = explain(capsys, box, "#1")
    assert code == 0
    assert "decision:  reply: domain acme.pl; within the same business day" in out
    assert "guards:    none objected" in out
    assert ("Acme (domain acme.pl); action reply, within the same business day, language en "
            "(the current rules' answer)") in out
    assert "→ due Mon 23 Nov 16:00" in out
    assert "reply:     sent to jan@acme.pl" in out and "why that address: no separate Reply-To" in out
    assert "thread:    #1 overdue" in out


def test_a_machine_message_lists_every_guard_that_objected_and_has_no_deadline(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = checked(capsys, mailbox, "list_post.eml")
    stored = json.loads(db(box).execute("SELECT hits FROM messages").fetchone()["hits"])
    [item] = explained(capsys, box, "INBOX:1")
    assert [[o["guard"], o["reason"]] for o in item["objections"]] == stored
    assert [o["guard"] for o in item["objections"]] == ["list", "precedence"]
    assert item["objections"][0]["reason"] == "mailing list (list-id header)"  # the header behind it
    assert item["objections"][0]["description"].startswith("a mailing-list header")
    assert (item["decision"], item["guard"], item["deadline"], item["reply"], item["thread"]) == (
        "skip", "list", None, None, None)
    code, out, _ = explain(capsys, box, "INBOX:1")
    assert "guards:    list: mailing list (list-id header) (decided)" in out
    assert "precedence: Precedence: " in out and "deadline:  none: no person wrote it" in out
    assert "reply:     none planned" in out and smtp.messages == []


def test_a_reply_to_elsewhere_is_answered_at_from_and_explain_says_why(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    box.deliver(REPLY_TO_ELSEWHERE.replace(b"\n", b"\r\n"), when=MONDAY_NOON)
    run_check(capsys, box)
    assert smtp.messages[0].rcpt_tos == ["jan@acme.pl"]
    [item] = explained(capsys, box, "order-7@acme.pl")
    assert (item["reply"]["recipient"], item["reply"]["via"]) == ("jan@acme.pl", "from")
    assert item["reply"]["recipient_reason"] == ("Reply-To zamowienia@hurtownia-kowalski.pl is outside the sender's "
                                                 "domain and client: replying to From")
    _, out, _ = explain(capsys, box, "order-7@acme.pl")
    assert "why that address: Reply-To zamowienia@hurtownia-kowalski.pl is outside" in out


def test_a_refused_reply_shows_the_servers_answer_and_the_recipient(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    smtp.rcpt_answers = {"jan@acme.pl": ["550 5.1.1 no such user"]}
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    run_check(capsys, box)
    [item] = explained(capsys, box, "1")
    reply = item["reply"]
    assert (reply["state"], reply["recipient"], reply["attempts"]) == ("failed", "jan@acme.pl", 1)
    assert "550 5.1.1 no such user" in reply["server_answer"] and reply["sent_at"] is None
    _, out, _ = explain(capsys, box, "1")
    assert "reply:     failed to jan@acme.pl" in out and "refused for good" in out
    assert "server's answer: " in out and "550 5.1.1 no such user" in out


@pytest.mark.parametrize("ref", ["<nobody@nowhere.example>", "nobody@nowhere.example", "INBOX:99", "42", "#42"])
def test_an_unknown_message_is_one_line_that_says_how_to_find_it(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], ref: str) -> None:
    box = ready(capsys, mailbox)
    code, out, err = explain(capsys, box, ref)
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "`mailtriage threads` lists threads" in err
    assert "Traceback" not in err


def test_a_reply_planned_before_schema_3_says_its_reason_was_not_recorded(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = checked(capsys, mailbox, "client_acme.eml")
    conn = db(box)
    conn.execute("UPDATE replies SET reply_via = NULL, recipient_reason = NULL")
    conn.execute("UPDATE messages SET window = NULL")
    conn.commit()
    conn.close()
    [item] = explained(capsys, box, "1")
    assert item["reply"]["recipient_reason"] is None
    assert item["deadline"]["window_source"] == "the thread's, as recorded"
    _, out, _ = explain(capsys, box, "1")
    assert "why that address: not recorded (planned before the database kept it)" in out
