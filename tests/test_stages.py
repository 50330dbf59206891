"""The check's stages, each alone: no IMAP or SMTP server, an in-memory database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailtriage.app.check import fetch, outbox, preload_holidays, record
from mailtriage.app.check.triage import Triage
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.config.servers import Smtp
from mailtriage.mail.imap import Fetched, FolderState
from mailtriage.mail.smtp import FAILED, PLANNED, SENT, UNKNOWN, Result
from mailtriage.store.db import Mark, Store
from tests.conftest import MINIMAL

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # a Monday, in business hours


@pytest.fixture
def rules(write_rules: Callable[[str], Path]) -> Rules:
    return load(write_rules(MINIMAL + "defaults: {action: reply, respond_within: 1 business day}\n"))


@pytest.fixture
def store() -> Iterator[Store]:
    """A database whose INBOX had its first check (the baseline) at UID 0."""
    db = Store(None)
    record.batch(db, None, fetch.Batch("INBOX", 7, [], Mark(7, 0), baseline=True), NOW, lambda: False)
    yield db
    db.close()


def triage(rules: Rules, store: Store) -> Triage:
    return Triage(rules, store, NOW, rules.calendar(preload_holidays(rules, store, NOW)))


def header(n: int, **extra: str) -> Fetched:
    lines = {"From": f"Osoba {n} <osoba{n}@firma.pl>", "To": "kasia@example.com", "Subject": f"Pytanie {n}",
             "Message-ID": f"<m{n}@firma.pl>", "Date": "Mon, 30 Nov 2026 11:00:00 +0100", **extra}
    raw = "".join(f"{k}: {v}\r\n" for k, v in lines.items() if v).encode() + b"\r\n"
    return Fetched(n, raw, (), NOW, len(raw))


def test_a_batch_is_recorded_with_its_mark_and_each_reply_planned(rules: Rules, store: Store) -> None:
    batch = fetch.Batch("INBOX", 7, [header(1), header(2, **{"Auto-Submitted": "auto-replied"})], Mark(7, 2))
    lines = record.batch(store, triage(rules, store), batch, NOW, lambda: False)
    assert [(line.uid, line.decision) for line in lines] == [(1, "reply"), (2, "skip")]
    assert lines[0].reply_to == "osoba1@firma.pl"
    assert store.mark("INBOX") == Mark(7, 2)
    assert store.count_replies("planned") == 1


def test_a_stop_ends_the_batch_after_the_current_message_and_the_mark_follows(rules: Rules, store: Store) -> None:
    batch = fetch.Batch("INBOX", 7, [header(1), header(2), header(3)], Mark(7, 3))
    lines = record.batch(store, triage(rules, store), batch, NOW, lambda: True)
    assert [line.uid for line in lines] == [1]
    assert store.mark("INBOX") == Mark(7, 1)


def test_a_message_whose_triage_fails_is_shunted_and_the_batch_goes_on(
        rules: Rules, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = triage(rules, store)
    real = stage.message

    def failing(msg):  # type: ignore[no-untyped-def]
        if msg.uid == 2:
            raise RuntimeError("a bug")
        return real(msg)

    monkeypatch.setattr(stage, "message", failing)
    lines = record.batch(store, stage, fetch.Batch("INBOX", 7, [header(1), header(2), header(3)], Mark(7, 3)),
                         NOW, lambda: False)
    assert [(line.uid, line.guard) for line in lines] == [(1, None), (2, "broken"), (3, None)]
    assert lines[1].reason == "could not be handled: RuntimeError: a bug"
    assert store.mark("INBOX") == Mark(7, 3)


def test_an_empty_baseline_needs_no_triage(store: Store) -> None:
    assert record.batch(store, None, fetch.Batch("INBOX", 8, [], Mark(8, 40), baseline=True), NOW,
                        lambda: False) == []
    assert store.mark("INBOX") == Mark(8, 40)


class FakeSession:
    """An SMTP session that answers from a script, and checks that each reply it is given was
    claimed and committed before its transaction."""

    answers: dict[str, Result] = {}
    store: Store

    def __init__(self, config: Smtp, password: str | None, identity: str) -> None:
        self.alive, self.smtputf8, self.sent = True, False, []

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def send(self, recipient: str, data: bytes, *, smtputf8: bool = False) -> Result:
        state = self.store.conn.execute("SELECT state FROM replies WHERE recipient = ?", [recipient]).fetchone()
        assert state[0] == "sending" and not self.store.conn.in_transaction
        result = self.answers.get(recipient, Result(SENT, "<>", "250 ok"))
        self.alive = result.state != UNKNOWN
        return result


def test_the_outbox_records_each_outcome_by_its_code(
        rules: Rules, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = fetch.Batch("INBOX", 7, [header(n) for n in range(1, 6)], Mark(7, 5))
    record.batch(store, triage(rules, store), batch, NOW, lambda: False)
    FakeSession.store = store
    FakeSession.answers = {"osoba2@firma.pl": Result(PLANNED, "<>", "451 greylisted (at RCPT)"),
                           "osoba3@firma.pl": Result(FAILED, "<>", "550 no such user (at RCPT)"),
                           "osoba4@firma.pl": Result(UNKNOWN, "<>", "connection lost at DATA: reset")}
    monkeypatch.setattr(outbox, "SmtpSession", FakeSession)
    monkeypatch.setenv("MT_TEST_SMTP", "secret")
    sending = outbox.send(store, rules, NOW)
    assert sending is not None and (sending.sent, sending.failed, sending.waiting, sending.error) == (1, 2, 2, None)
    states = dict(store.conn.execute("SELECT recipient, state FROM replies").fetchall())
    assert states == {"osoba1@firma.pl": "sent", "osoba2@firma.pl": "planned", "osoba3@firma.pl": "failed",
                      "osoba4@firma.pl": "unknown", "osoba5@firma.pl": "planned"}  # 5: the connection was gone


def test_an_outbox_with_nothing_planned_opens_no_connection(
        rules: Rules, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "SmtpSession", None)  # would fail if used
    assert outbox.send(store, rules, NOW) is None


class FakeMailbox:
    """A folder of `count` messages (UIDs 1..count) that counts the commands it is sent."""

    condstore = True

    def __init__(self, count: int, modseq: int = 5) -> None:
        self.count, self.modseq, self.commands = count, modseq, []

    def state(self) -> FolderState:
        return FolderState(7, self.count + 1, self.count, self.modseq)

    def status(self, folder: str) -> FolderState:
        self.commands.append("STATUS")
        return self.state()

    def select(self, folder: str) -> FolderState:
        self.commands.append("SELECT")
        return self.state()

    def uids_after(self, last: int) -> list[int]:
        self.commands.append("SEARCH")
        return list(range(last + 1, self.count + 1))

    def fetch(self, uids: list[int]) -> Iterator[Fetched]:
        self.commands.append(f"FETCH {len(uids)}")
        return (header(uid) for uid in uids)


def test_fetch_an_idle_folder_costs_one_status(store: Store) -> None:
    box = FakeMailbox(0)
    store.set_modseq("INBOX", 5)
    assert fetch.select(box, store, "INBOX", quick=True) is None  # type: ignore[arg-type]
    assert box.commands == ["STATUS"]


def test_fetch_new_mail_comes_in_batches_with_the_mark_past_each(store: Store) -> None:
    box = FakeMailbox(450)
    folder = fetch.select(box, store, "INBOX", quick=True)  # type: ignore[arg-type]
    assert folder is not None and not folder.first_time
    batches = list(fetch.new_batches(box, folder))  # type: ignore[arg-type]
    assert [(len(b.items), b.mark.last_uid) for b in batches] == [(200, 200), (200, 400), (50, 450)]


def test_fetch_a_first_check_is_a_baseline_that_fetches_nothing(store: Store) -> None:
    box = FakeMailbox(30)
    folder = fetch.select(box, store, "Archive", quick=True)  # type: ignore[arg-type]
    assert folder is not None and folder.first_time
    batch, note = fetch.baseline(box, folder, NOW, None)  # type: ignore[arg-type]
    assert (batch.items, batch.mark, batch.baseline) == ([], Mark(7, 30), True)
    assert note == "Archive: first check: 30 messages already there get no reply"
    assert not any(c.startswith("FETCH") for c in box.commands)
