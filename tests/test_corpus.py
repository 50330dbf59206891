"""Real-world mail nobody here wrote (../shared/corpus) through the real cycle: Dovecot in, SMTP out.

A measurement, not a list of expected answers: per label, how many messages got a holding reply
and which guard silenced the rest. It is strict where the headers alone give a machine away, and
the rates reached (machine mail answered, people missed) are asserted as thresholds, so a change
that makes them worse fails. `python3 -m pytest -s tests/test_corpus.py` prints the table.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from mailtriage.core.models import Incoming
from mailtriage.core.parse import parse
from tests.cli import run_check
from tests.conftest import CORPUS, Mailbox
from tests.servers import SmtpSink
from tests.test_check import MONDAY_NOON, ready

MACHINE = ("auto_reply", "bounce", "list", "bulk")
# The rates reached on the corpus; a change may improve them, never make them worse.
MAX_MACHINE_ANSWERED = 0.015  # share of machine mail that got a holding reply (1 of 70: only its body tells)
MIN_HUMAN_ANSWERED = 0.95  # share of human mail whose sender got a holding reply (here or earlier in its thread)
# Guards that keep a person's message silent on purpose. Counted *against* the human rate all the
# same, and listed in the table: X-Auto-Response-Suppress is a person who asked for no auto-answer.
KNOWN_EXCEPTIONS = {"suppress": "the sender's mail client asked for no automatic answer (X-Auto-Response-Suppress)",
                    "recipient": "no address a reply may go to: a web form's relay not listed under forms:, or "
                                 "several authors in From and no Sender (by design)"}


def corpus() -> list[tuple[str, str, str]]:
    if not (CORPUS / "labels.tsv").exists():
        pytest.skip(f"the shared corpus is not at {CORPUS} (a checkout of the shared folder beside the worktree)")
    with open(CORPUS / "labels.tsv", encoding="utf-8") as table:
        return [(row["file"], row["label"], row["reason"]) for row in csv.DictReader(table, delimiter="\t")]


def read(name: str) -> Incoming:
    return parse((CORPUS / name).read_bytes(), folder="INBOX", uid=1, uidvalidity=1, received=datetime.now(UTC))


def giveaway(msg: Incoming) -> str | None:
    """The header signs of machine mail that leave no doubt (RFC 3834, RFC 2369, RFC 3464/8098).

    Written here independently of the guards: whatever the label, such a message is never answered.
    """
    names = set(msg.headers)
    if any(name.startswith("list-") for name in names):
        return "a List-* header"
    if msg.header("auto-submitted").split(";")[0].strip().lower() not in ("", "no"):
        return "Auto-Submitted"
    if msg.header("precedence").strip().lower() in ("bulk", "list", "junk", "auto_reply"):
        return "Precedence"
    if "return-path" in names and msg.header("return-path").strip() in ("", "<>"):
        return "null Return-Path"
    if msg.content_type == "multipart/report":
        return "a delivery or read report"
    if names & {"x-loop", "x-autoreply", "x-autorespond", "x-beenthere"}:
        return "an autoresponder or list-loop header"
    return None


@dataclass
class Row:
    """One label's line of the table."""

    total: int = 0
    answered: int = 0
    covered: int = 0  # a person silent only because their thread (or this very Message-ID) got a reply already
    silenced_by: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def measure(lines: list[dict], by_uid: dict[int, tuple[str, str, str]]) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    answered_threads = {line["thread"] for line in lines if line["decision"] == "reply"}
    first_uid: dict[str, int] = {}
    for line in sorted(lines, key=lambda item: item["uid"]):
        first_uid.setdefault(line["message_id"], line["uid"])
    for line in sorted(lines, key=lambda item: item["uid"]):
        name, label, _ = by_uid[line["uid"]]
        row = rows.setdefault(label, Row())
        row.total += 1
        if line["decision"] == "reply":
            row.answered += 1
            if label in MACHINE:
                row.notes.append(f"ANSWERED {name}")
            continue
        guard = line["guard"] or line["decision"]
        row.silenced_by[guard] += 1
        if label != "human":
            continue
        if (guard == "duplicate" and first_uid[line["message_id"]] < line["uid"]) or (
                guard == "thread" and line["thread"] in answered_threads):
            row.covered += 1
        else:
            note = KNOWN_EXCEPTIONS.get(guard, "MISSED")
            row.notes.append(f"{note}: {name}: {guard}: {line['reason']}")
    return rows


def table(rows: dict[str, Row]) -> str:
    out = [f"{'label':<11}{'total':>6}{'answered':>10}{'silent':>8}  silenced by (guard: count)"]
    for label in ("human", *MACHINE, "parse_only"):
        row = rows.get(label, Row())
        reasons = ", ".join(f"{g}: {n}" for g, n in row.silenced_by.most_common())
        answered = f"{row.answered}+{row.covered}" if row.covered else str(row.answered)
        out.append(f"{label:<11}{row.total:>6}{answered:>10}{row.total - row.answered:>8}  {reasons}")
    machine, answered, human, reached = rates(rows)
    out.append(f"machine mail answered: {answered}/{machine} = {answered / max(machine, 1):.1%}; "
               f"human senders answered: {reached}/{human} = {reached / max(human, 1):.1%} "
               f"('n+m': m more were silent only because their thread already had a reply)")
    out += [f"  {note}" for label in rows for note in rows[label].notes]
    return "\n".join(out)


def rates(rows: dict[str, Row]) -> tuple[int, int, int, int]:
    machine = sum(rows[label].total for label in MACHINE if label in rows)
    answered = sum(rows[label].answered for label in MACHINE if label in rows)
    human = rows.get("human", Row())
    return machine, answered, human.total, human.answered + human.covered


def deliver_corpus(box: Mailbox) -> dict[int, tuple[str, str, str]]:
    """Every corpus file into INBOX, as stored (bytes unchanged but for CRLF line ends)."""
    by_uid = {}
    for uid, (name, label, reason) in enumerate(corpus(), start=1):
        raw = (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        box.deliver(raw, when=MONDAY_NOON)
        by_uid[uid] = (name, label, reason)
    return by_uid


def test_corpus_through_a_check_machines_stay_silent_and_people_get_replies(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    # The corpus was sent to many different mailboxes and reuses a few sender addresses, so for it
    # "addressed to us" and the per-sender limit are turned off: every other guard must hold.
    box = ready(capsys, mailbox, "require_addressed: false\nsender_limit: null\n")
    by_uid = deliver_corpus(box)
    code, lines, err = run_check(capsys, box)
    assert code == 0, err
    assert sorted(line["uid"] for line in lines) == sorted(by_uid)  # none lost, none crashed the check
    rows = measure(lines, by_uid)
    report = table(rows)
    with capsys.disabled():
        print(f"\n{report}")
    given_away = [f"{by_uid[line['uid']][0]}: {giveaway(read(by_uid[line['uid']][0]))}"
                  for line in lines if line["decision"] == "reply" and giveaway(read(by_uid[line["uid"]][0]))]
    assert given_away == [], report
    machine, answered, human, reached = rates(rows)
    assert answered <= MAX_MACHINE_ANSWERED * machine, report
    assert reached >= MIN_HUMAN_ANSWERED * human, report
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
    # Parse never raises and always yields a bracketed Message-ID; a machine or parser-test file may
    # be broken on purpose (a stub with no From at all), but every person's message reads whole.
    broken_people = []
    for name, label, _ in corpus():
        msg = read(name)
        assert msg.message_id.startswith("<") and msg.message_id.endswith(">"), name
        if label == "human" and msg.broken is not None:
            broken_people.append((name, msg.broken))
    assert broken_people == []


def test_the_giveaway_signs_are_seen_in_the_corpus() -> None:
    # Guards the strict check above against passing vacuously (say, if parse stopped keeping headers).
    signs = Counter(giveaway(read(name)) for name, label, _ in corpus() if label in MACHINE)
    assert signs["a List-* header"] and signs["Auto-Submitted"] and signs["a delivery or read report"]
