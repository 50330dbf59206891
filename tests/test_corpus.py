"""Real-world mail nobody here wrote (../shared/corpus) through the real cycle: Dovecot in, SMTP out."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from mailtriage.localservers import SmtpSink
from tests.conftest import CORPUS, Mailbox
from tests.test_check import MONDAY_NOON, ready, run_check

MACHINE = {"auto_reply", "bounce", "list", "bulk"}
# The one machine message whose headers carry no sign of a machine: a vendor notice sent like a
# person's mail (only its body, with an unsubscribe link, gives it away, and mailtriage reads
# headers only). With the default require_addressed it gets no reply (see the last test).
HEADERS_LOOK_HUMAN = {"zammad+zammad/mail029.box"}


def corpus() -> list[tuple[str, str, str]]:
    if not (CORPUS / "labels.tsv").exists():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    with open(CORPUS / "labels.tsv", encoding="utf-8") as table:
        return [(row["file"], row["label"], row["reason"]) for row in csv.DictReader(table, delimiter="\t")]


def deliver_corpus(box: Mailbox) -> dict[int, tuple[str, str, str]]:
    """Every corpus file into INBOX, as stored (bytes unchanged but for CRLF line ends)."""
    by_uid = {}
    for uid, (name, label, reason) in enumerate(corpus(), start=1):
        raw = (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        box.deliver(raw, when=MONDAY_NOON)
        by_uid[uid] = (name, label, reason)
    return by_uid


def test_every_corpus_message_goes_through_a_check_and_only_people_get_replies(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    # The corpus was sent to many different mailboxes and reuses a few sender addresses, so for it
    # "addressed to us" and the per-sender limit are turned off: every other guard must hold.
    box = ready(capsys, mailbox, "require_addressed: false\nsender_limit: null\n")
    by_uid = deliver_corpus(box)
    code, lines, err = run_check(capsys, box)
    assert code == 0, err
    assert sorted(line["uid"] for line in lines) == sorted(by_uid)  # none lost, none crashed the check
    seen = {line["uid"]: line for line in lines}
    answered_threads = {line["thread"] for line in lines if line["decision"] == "reply"}
    first_uid_of: dict[str, int] = {}
    for line in sorted(lines, key=lambda item: item["uid"]):
        first_uid_of.setdefault(line["message_id"], line["uid"])
    problems = []
    for uid, (name, label, reason) in by_uid.items():
        line = seen[uid]
        if label in MACHINE:
            expected_reply = name in HEADERS_LOOK_HUMAN
            if (line["decision"] == "reply") != expected_reply:
                problems.append(f"{name} ({label}): {line['decision']}: {line['reason']}")
        elif label == "human" and line["decision"] != "reply":
            explained = (
                ("X-Auto-Response-Suppress" in reason and line["guard"] == "suppress")
                # RFC 5322: one Message-ID, one message. Fixtures reuse ids; the first copy is recorded.
                or (line["guard"] == "duplicate" and line["message_id"] in first_uid_of
                    and first_uid_of[line["message_id"]] < uid)
                or (line["guard"] == "thread" and line["thread"] in answered_threads)
            )
            if not explained:
                problems.append(f"{name} (human): {line['decision']}: {line['reason']}")
    assert problems == []
    assert len(smtp.messages) == sum(1 for line in lines if line["decision"] == "reply")
    for sent in smtp.messages:  # every reply to exactly one recipient, marked as automatic
        assert len(sent.rcpt_tos) == 1 and b"\r\nAuto-Submitted: auto-replied\r\n" in sent.data


def test_with_default_rules_no_corpus_message_addressed_elsewhere_is_answered(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    by_uid = deliver_corpus(box)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and len(lines) == len(by_uid)
    assert smtp.messages == []
    parse_only = [line for line in lines if by_uid[line["uid"]][1] == "parse_only"]
    assert parse_only and all(line["decision"] != "reply" for line in parse_only)


def test_every_corpus_file_parses_without_raising() -> None:
    from datetime import UTC, datetime

    from mailtriage.parse import parse

    for name, label, _ in corpus():
        msg = parse(Path(CORPUS / name).read_bytes(), folder="INBOX", uid=1, uidvalidity=1,
                    received=datetime.now(UTC))
        assert msg.message_id.startswith("<") and msg.message_id.endswith(">"), name
        assert label == "bounce" or label == "bulk" or msg.broken is None, (name, msg.broken)
