"""170 messages written after real senders' headers (tests/data/written: ESPs, Polish banks and
shops, help desks, calendars, web forms, scanners, monitors, out-of-office replies in four
languages, people on every common client, and hostile tricks) through one real check: Dovecot in,
SMTP out. It measures both sides and fails if either gets worse; no reply may reach anyone the
row does not allow (`ok_to` in labels.tsv)."""

from __future__ import annotations

import csv
from collections.abc import Callable

import pytest

from tests.cli import run_check
from tests.conftest import DATA, Mailbox
from tests.servers import SmtpSink, fill_maildir
from tests.test_check import MONDAY_NOON, ready

SET = DATA / "written"
# Silent on purpose, not by mistake: a person's client asked for no automatic answer; a message to
# eleven firms at once is a circular, recorded with a deadline but not auto-answered.
BY_DESIGN = {"suppress", "many-recipients"}
MIN_HUMAN_ANSWERED = 0.95
MAX_MACHINE_ANSWERED = 0.04  # 4 of 103: two tell only in their body, a forged Outlook, a two-author From


def test_the_written_set_through_a_real_check(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    with open(SET / "labels.tsv", encoding="utf-8") as table:
        rows = list(csv.DictReader(table, delimiter="\t"))
    box = ready(capsys, mailbox, "require_addressed: false\nsender_limit: null\n")
    fill_maildir(box.server, box.user, [(SET / row["file"]).read_bytes() for row in rows],
                 when=MONDAY_NOON.timestamp())
    code, lines, err = run_check(capsys, box)
    assert code == 0, err
    assert len(lines) == len(rows)  # every message recorded, none crashed the check
    by_file = dict(zip((row["file"] for row in rows), sorted(lines, key=lambda line: line["uid"]), strict=True))
    humans = [row for row in rows if row["label"] == "human"]
    machines = [row for row in rows if row["label"] == "machine"]
    missed = [(row["file"], by_file[row["file"]]["guard"]) for row in humans
              if by_file[row["file"]]["decision"] != "reply" and by_file[row["file"]]["guard"] not in BY_DESIGN]
    answered = [row["file"] for row in machines if by_file[row["file"]]["decision"] == "reply"]
    wrong = [(row["file"], by_file[row["file"]]["reply_to"]) for row in rows
             if by_file[row["file"]]["decision"] == "reply" and row["label"] != "machine"
             and by_file[row["file"]]["reply_to"] not in row["ok_to"].split()]
    report = (f"people answered {len(humans) - len(missed)}/{len(humans)} (missed: {missed}); "
              f"machines answered {len(answered)}/{len(machines)}: {answered}; wrong recipients: {wrong}")
    print(report)
    assert wrong == [], report
    assert len(humans) - len(missed) >= MIN_HUMAN_ANSWERED * len(humans), report
    assert len(answered) <= MAX_MACHINE_ANSWERED * len(machines), report
    replies = sum(1 for line in lines if line["decision"] == "reply")
    assert len(smtp.messages) == replies and all(len(m.rcpt_tos) == 1 for m in smtp.messages)
