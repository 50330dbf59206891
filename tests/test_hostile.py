"""A hostile world against the real Dovecot, SMTP server and SQLite file: two checks at once,
kill -9 anywhere, a failing write after any step, a message that breaks its handling, servers
that say "try later", stolen threads, borrowed Message-IDs and dates from 1970.

Each test proves the same three promises: nothing lost, nothing doubled, nothing misdirected.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.cli import environment, run_check, start_process
from tests.conftest import IMAP_PASSWORD, SMTP_PASSWORD, Mailbox, open_db
from tests.servers import SmtpSink, fill_maildir
from tests.test_check import MONDAY_NOON, db, ready


def person(n: int, domain: str = "firma.pl", **extra: str) -> bytes:
    """A short message from a person: one sender per `n`, addressed to us."""
    headers = {
        "From": f"Osoba {n} <osoba{n}@{domain}>",
        "To": "Kasia Nowak <kasia@example.com>",
        "Subject": f"Zapytanie {n}",
        "Date": format_datetime(MONDAY_NOON),
        "Message-ID": f"<m{n}@{domain}>",
        **extra,
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items() if value)
    return f"{head}\r\nDzień dobry, pytanie {n}.\r\n".encode()


def fill(box: Mailbox, messages: list[bytes], offset: int = 0) -> None:
    fill_maildir(box.server, box.user, messages, when=MONDAY_NOON.timestamp() + offset)


def check_process(box: Mailbox, *args: str) -> subprocess.Popen[str]:
    env = environment(MT_TEST_IMAP_PASSWORD=IMAP_PASSWORD, MT_TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    return start_process("-c", box.rules, "check", *args, env=env)


def assert_each_once(box: Mailbox, smtp: SmtpSink, senders: int) -> None:
    """Every message recorded once; every sender answered at most once, and exactly once unless a
    kill left that one reply's fate unknown."""
    conn = db(box)
    uids = [row[0] for row in conn.execute("SELECT uid FROM messages WHERE folder = 'INBOX'")]
    assert sorted(uids) == list(range(1, senders + 1))
    assert conn.execute("SELECT last_uid FROM folders WHERE name = 'INBOX'").fetchone()[0] == senders
    received = Counter(rcpt for message in smtp.messages for rcpt in message.rcpt_tos)
    assert max(received.values(), default=0) <= 1, received.most_common(3)
    states = dict(conn.execute("SELECT recipient, state FROM replies").fetchall())
    assert len(states) == senders
    unknown = {who for who, state in states.items() if state == "unknown"}
    assert {who for who, state in states.items() if state != "unknown"} == set(received) - unknown
    assert all(state in ("sent", "unknown") for state in states.values()), Counter(states.values())


def test_two_checks_started_together_never_double_a_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "sender_limit: null\n")
    fill(box, [person(n) for n in range(200)])
    first, second = check_process(box), check_process(box)
    outcomes = [process.communicate(timeout=120) for process in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outcomes
    assert len(smtp.messages) == 200
    assert_each_once(box, smtp, 200)
    lines = sorted(err.strip().splitlines()[-1] for _, err in outcomes)
    assert lines == ["0 new, 0 holding replies planned, 0 sent", "200 new, 200 holding replies planned, 200 sent"]


def test_a_second_check_waits_a_bounded_time_then_says_one_is_running(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from mailtriage.store.lock import one_check

    box = ready(capsys, mailbox)
    database = box.rules.parent / "state" / "mailtriage.db"
    with one_check(database):
        code, lines, err = run_check(capsys, box, "--wait", "0.3")
    assert code == 75 and lines == []
    assert err.strip() == (f"another check is running on {database} (pid {os.getpid()}); it was not finished "
                           "after 0 s: try again when it ends")


@pytest.mark.slow
def test_kill_9_at_random_points_of_a_2000_message_check_loses_and_doubles_nothing(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "sender_limit: null\nflag_overdue: false\n")
    fill(box, [person(n) for n in range(2000)])
    chance = random.Random(20261129)
    kills = 0
    for _ in range(8):
        process = check_process(box)
        time.sleep(chance.uniform(0.3, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
    for _ in range(2):  # the one that recovers, and one more that must find nothing left to do
        process = check_process(box)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert kills >= 3  # the test really killed checks in the middle of their work
    assert_each_once(box, smtp, 2000)
    unknown = db(box).execute("SELECT count(*) FROM replies WHERE state = 'unknown'").fetchone()[0]
    assert unknown <= kills  # at most the one reply each kill caught between claim and outcome


class Fault(sqlite3.OperationalError):
    pass


def _messages() -> list[bytes]:
    return [person(1, "acme.pl"), person(2), person(3, "piekarnia-wola.pl"),
            person(4, "gmail.com", **{"In-Reply-To": "<m1@acme.pl>"}),
            person(1, "acme.pl")]  # the same message again: a duplicate


def _check_failing_at(capsys: pytest.CaptureFixture[str], box: Mailbox, monkeypatch: pytest.MonkeyPatch,
                      at: int | None) -> int:
    """A check whose `at`-th database write fails as a full disk would; returns the writes made."""
    from mailtriage.store.db import Store

    writes = 0
    real = Store.execute

    def execute(self: Store, sql: str, params: object = ()) -> sqlite3.Cursor:
        nonlocal writes
        writes += 1
        if writes == at:
            raise Fault("database or disk is full")
        return real(self, sql, params)

    monkeypatch.setattr(Store, "execute", execute)
    try:
        run_check(capsys, box)
    except sqlite3.OperationalError:
        pass  # how the edge words it is tested elsewhere; here only what the database keeps counts
    finally:
        monkeypatch.setattr(Store, "execute", real)
    return writes


def test_a_failing_write_at_any_step_leaves_a_state_the_next_check_recovers_from(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def own_box() -> Mailbox:  # a mailbox with a database of its own
        box = mailbox()
        folder = box.rules.parent / box.user
        folder.mkdir()
        box.rules = box.rules.rename(folder / "rules.yaml")
        assert run_check(capsys, box)[0] == 0
        fill(box, _messages())
        return box

    total = _check_failing_at(capsys, own_box(), monkeypatch, None)
    assert total > 10
    for at in range(1, total + 1):
        smtp.messages.clear()
        box = own_box()
        _check_failing_at(capsys, box, monkeypatch, at)
        code, _, err = run_check(capsys, box)
        assert code == 0, (at, err)
        conn = db(box)
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 5, at
        rows = conn.execute("SELECT recipient, state FROM replies").fetchall()
        assert sorted(r[0] for r in rows) == ["osoba1@acme.pl", "osoba2@firma.pl", "osoba3@piekarnia-wola.pl",
                                              "osoba4@gmail.com"], at
        sent = Counter(rcpt for message in smtp.messages for rcpt in message.rcpt_tos)
        assert max(sent.values(), default=0) == 1, (at, [tuple(r) for r in rows], err)
        # sent means received; a reply whose outcome could not be written is unknown: never sent again
        assert {r[0] for r in rows if r[1] == "sent"} <= set(sent) <= {r[0] for r in rows}, at
        assert all(r[1] in ("sent", "unknown") for r in rows), (at, rows)


def test_a_message_whose_handling_fails_is_recorded_as_broken_and_passed(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import mailtriage.app.check.triage

    real = mailtriage.app.check.triage.classify

    def classify(msg, *args, **kwargs):  # type: ignore[no-untyped-def]
        if msg.sender == "osoba2@firma.pl":
            raise RuntimeError("a bug met a message\nit did not expect")
        return real(msg, *args, **kwargs)

    box = ready(capsys, mailbox)
    fill(box, [person(1), person(2), person(3)])
    monkeypatch.setattr(mailtriage.app.check.triage, "classify", classify)
    code, lines, err = run_check(capsys, box)
    assert code == 0, err
    assert [(line["uid"], line["decision"], line["guard"]) for line in lines] == [
        (1, "reply", None), (2, "skip", "broken"), (3, "reply", None)]
    assert lines[1]["reason"] == "could not be handled: RuntimeError: a bug met a message it did not expect"
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["osoba1@firma.pl", "osoba3@firma.pl"]
    monkeypatch.setattr(mailtriage.app.check.triage, "classify", real)
    assert run_check(capsys, box)[1] == []  # passed for good: the mark is past it


def test_smtp_answers_by_code_4xx_waits_for_the_next_check_5xx_fails_with_the_servers_words(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    smtp.rcpt_answers = {"osoba1@firma.pl": ["451 4.7.1 Greylisted, try again later"],
                         "osoba2@firma.pl": ["550 5.1.1 No such user here"]}
    fill(box, [person(1), person(2), person(3)])
    code, _, err = run_check(capsys, box)
    assert [m.rcpt_tos for m in smtp.messages] == [["osoba3@firma.pl"]]
    assert err.strip().splitlines()[-1] == "3 new, 3 holding replies planned, 1 sent, 1 failed, " \
                                           "1 waiting for the next check"
    rows = {r["recipient"]: r for r in db(box).execute("SELECT * FROM replies")}
    assert rows["osoba1@firma.pl"]["state"] == "planned"
    assert rows["osoba2@firma.pl"]["state"] == "failed"
    assert rows["osoba2@firma.pl"]["error"] == "550 5.1.1 No such user here (at RCPT)"
    code, lines, err = run_check(capsys, box)
    assert code == 0 and lines == [] and err.strip().splitlines()[-1] == "0 new, 0 holding replies planned, 1 sent"
    assert [m.rcpt_tos for m in smtp.messages] == [["osoba3@firma.pl"], ["osoba1@firma.pl"]]
    assert db(box).execute("SELECT attempts FROM replies WHERE recipient = 'osoba1@firma.pl'").fetchone()[0] == 2


def test_a_stranger_cannot_join_answer_or_reopen_a_clients_thread(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    fill(box, [person(1, "acme.pl")])
    code, lines, _ = run_check(capsys, box)
    client_thread = lines[0]["thread"]
    fill(box, [person(9, "evil.example", **{"In-Reply-To": "<m1@acme.pl>", "References": "<m1@acme.pl>"})], 60)
    code, lines, _ = run_check(capsys, box)
    assert [(line["decision"], line["client"]) for line in lines] == [("reply", None)]
    stranger_thread = lines[0]["thread"]
    assert stranger_thread != client_thread
    answer = (b"From: Kasia <kasia@example.com>\r\nTo: osoba9@evil.example\r\nSubject: Re: x\r\n"
              b"Message-ID: <ans@example.com>\r\nIn-Reply-To: <m9@evil.example>\r\n\r\nOK\r\n")
    box.deliver(answer, folder="Sent", when=MONDAY_NOON + timedelta(hours=1))
    run_check(capsys, box)
    states = dict(db(box).execute("SELECT id, state FROM threads").fetchall())
    assert states[stranger_thread] == "answered"
    assert states[client_thread] in ("open", "overdue")  # unanswered (and by now past its deadline)


def test_the_same_message_id_from_two_senders_gives_each_its_own_record(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    fill(box, [person(1, "acme.pl"), person(2, "firma.pl", **{"Message-ID": "<m1@acme.pl>"}),
               person(1, "acme.pl")])
    code, lines, _ = run_check(capsys, box)
    assert [(line["sender"], line["decision"], line["guard"]) for line in lines] == [
        ("osoba1@acme.pl", "reply", None), ("osoba2@firma.pl", "reply", None),
        ("osoba1@acme.pl", "skip", "duplicate")]
    assert lines[0]["thread"] != lines[1]["thread"]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["osoba1@acme.pl", "osoba2@firma.pl"]


def test_a_message_dated_1970_gets_a_deadline_from_the_check_and_says_why(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    box.rules.write_text(box.rules.read_text().replace("max_arrival_age: null", "max_arrival_age: 7 days"))
    assert run_check(capsys, box)[0] == 0
    box.deliver(person(1), when=datetime(1970, 1, 6, 9, 0, tzinfo=UTC))
    before = datetime.now(UTC)
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and lines[0]["decision"] == "reply"
    assert datetime.fromisoformat(lines[0]["deadline"]) > before
    assert lines[0]["reason"].endswith("its arrival time Tue 6 Jan 1970 10:00 is older than max_arrival_age "
                                       "(7 days): the deadline counts from now")
    assert b"1970" not in smtp.messages[0].data


def test_an_older_database_is_migrated_in_place(tmp_path: object) -> None:
    from pathlib import Path

    from mailtriage.store.db import SCHEMA_VERSION, Store

    path = Path(str(tmp_path)) / "old.db"
    conn = sqlite3.connect(path)  # make it a version-1 database, as the first release wrote it
    conn.executescript((Path(__file__).parent / "data" / "schema_v3.sql").read_text(encoding="utf-8"))
    conn.execute("ALTER TABLE messages DROP COLUMN hits")
    conn.execute("ALTER TABLE messages DROP COLUMN window")
    conn.execute("DROP TABLE replies")
    conn.execute("CREATE TABLE replies (id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, in_reply_to TEXT NOT NULL"
                 " UNIQUE, message_id TEXT NOT NULL UNIQUE, recipient TEXT NOT NULL, sender_key TEXT NOT NULL,"
                 " language TEXT, state TEXT NOT NULL, planned_at TEXT NOT NULL, attempted_at TEXT, sent_at TEXT,"
                 " envelope_sender TEXT, smtp_response TEXT, error TEXT, data BLOB NOT NULL)")
    conn.execute("INSERT INTO replies (thread_id, in_reply_to, message_id, recipient, sender_key, state, planned_at,"
                 " data) VALUES ('<a@b>', '<a@b>', '<r@x>', 'a@b', 'a@b', 'sent', '2026-11-23T11:00:00+00:00', x'00')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    Store(path).close()
    conn = open_db(path, by_name=False)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "hits" in [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
    columns = {row[1] for row in conn.execute("PRAGMA table_info(replies)")}
    assert {"attempts", "reply_via", "recipient_reason", "kind", "about"} <= columns
    assert "window" in [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
    assert conn.execute("SELECT recipient, state, attempts FROM replies").fetchall() == [("a@b", "sent", 0)]


def test_a_new_database_appears_whole_or_not_at_all(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from mailtriage.store.db import Store

    path = Path(str(tmp_path)) / "state" / "mailtriage.db"

    def interrupted(self: Store) -> None:
        raise Fault("disk I/O error")  # as if the process died while the schema was written

    monkeypatch.setattr(Store, "migrate", interrupted)
    with pytest.raises(Exception, match="disk I/O error"):
        Store(path)
    assert not path.exists()  # no empty or half-made file where the database belongs
    monkeypatch.undo()
    Store(path).close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["mailtriage.db"]


def test_reply_to_cannot_turn_holding_replies_on_strangers(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "sender_limit: null\nforms: [formularz.example]\n")
    spam = [person(n, f"spam{n}.example", **{"Reply-To": f"victim+{n}@third.example",
                                             "Subject": "CHEAP PILLS " + "x" * 300}) for n in range(62)]
    tricks = [person(70, "firma.pl", **{"Reply-To": "kasia@example.com"}),  # ourselves
              person(71, "firma.pl", **{"Reply-To": "lista-request@lists.example"}),
              person(72, "acme.pl", **{"Reply-To": "biuro@acme.pl"}),  # the sender's own firm: used
              person(73, "formularz.example", **{"From": "Formularz <noreply@formularz.example>",
                                                 "Reply-To": "Klient <klient@gmail.com>"}),  # a listed form
              person(74, "x.example", **{"From": "Site <no-reply@x.example>", "Reply-To": "someone@gmail.com"})]
    fill(box, spam + tricks)
    code, lines, _ = run_check(capsys, box)
    assert code == 0
    received = sorted(rcpt for message in smtp.messages for rcpt in message.rcpt_tos)
    assert not any("third.example" in rcpt or "example.com" in rcpt or "lists.example" in rcpt for rcpt in received)
    assert received == sorted([f"osoba{n}@spam{n}.example" for n in range(62)] + ["biuro@acme.pl", "klient@gmail.com"])
    silent = {line["sender"]: line["guard"] for line in lines if line["decision"] != "reply"}
    # a Reply-To naming ourselves or a list robot is a machine's sign: nobody is answered
    assert silent == {"osoba70@firma.pl": "own-address", "osoba71@firma.pl": "system-sender",
                      "no-reply@x.example": "recipient"}
    unlisted = next(line for line in lines if line["sender"] == "no-reply@x.example")
    assert unlisted["decision"] == "record" and "forms:" in unlisted["reason"]
    for message in smtp.messages:  # a stranger's subject is echoed at most ~150 characters, on one line
        subject = next(line for line in message.data.split(b"\r\n") if line.startswith(b"Subject:"))
        assert len(subject) < 200


def test_a_broken_reply_template_stops_the_check_without_passing_the_mail(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox)
    own = box.rules.parent / "my-templates"
    own.mkdir()
    (own / "holding_reply.en.txt.j2").write_text("Dear {{ nme }}\n")  # a typo: no such value
    text = box.rules.read_text()
    box.rules.write_text(text + f"templates: {own}\n")
    fill(box, [person(1)])
    code, lines, err = run_check(capsys, box)
    assert code == 1 and lines == [] and smtp.messages == []
    assert err.strip().splitlines()[-1].startswith("the holding reply template cannot be used: 'nme' is undefined")
    box.rules.write_text(text)  # fixed: the same message is answered now, not lost
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and [line["decision"] for line in lines] == ["reply"] and len(smtp.messages) == 1
