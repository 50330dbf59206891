"""The store's repositories on a temporary SQLite file: marks, threads, messages and the outbox.

No mail server: each test writes typed records and reads them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.core.models import AnsweredVia, Decision, FolderKind, ReplyState, ThreadState
from mailtriage.store.db import Store
from mailtriage.store.rows import Mark, Message, Reply, Thread

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # a Monday, noon in Warsaw


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "state" / "mailtriage.db")
    yield opened
    opened.close()


def thread(thread_id: str = "<t1@acme.pl>", *, state: ThreadState = ThreadState.OPEN, client: str | None = "Acme",
           received: datetime = NOW, deadline: datetime | None = NOW + timedelta(hours=5)) -> Thread:
    return Thread(thread_id, "jan@acme.pl", received, received, state, client=client, sender_name="Jan",
                  subject="Invoice", deadline=deadline, window="1 business day", reason="client Acme", language="pl")


def message(uid: int, thread_id: str | None = "<t1@acme.pl>", *, decision: Decision = Decision.REPLY,
            message_id: str | None = None, received: datetime = NOW) -> Message:
    return Message("INBOX", 7, uid, message_id or f"<m{uid}@acme.pl>", received, decision, "client Acme",
                   thread_id=thread_id, sender="jan@acme.pl", subject="Invoice", hits=(("bulk", "Precedence: bulk"),))


def reply(thread_id: str = "<t1@acme.pl>", n: int = 1, *, planned: datetime = NOW) -> Reply:
    return Reply(thread_id, f"<m{n}@acme.pl>", f"<mt-{n}@example.com>", "jan@acme.pl", "jan@acme.pl", planned,
                 b"Subject: Re: Invoice\r\n\r\nThanks\r\n", reply_via="from", recipient_reason="From")


def test_a_thread_and_its_message_come_back_as_written(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        store.insert_message(message(1))
    got = store.thread("<t1@acme.pl>")
    assert got is not None and got.number == 1 and got.state is ThreadState.OPEN
    assert got == Thread(**{**thread().__dict__, "number": 1, "last_received": NOW})
    assert store.thread_numbered(1) == got
    assert store.thread_of(("<other@x>", "<t1@acme.pl>")) == "<t1@acme.pl>"  # its first Message-ID is a ref
    assert store.messages_by_id("<m1@acme.pl>") == [message(1)]
    assert store.messages_of_thread(1) == [message(1)]
    assert store.messages_at("INBOX", 1) == [message(1)]
    assert store.seen_message("<m1@acme.pl>", "jan@acme.pl")
    assert not store.seen_message("<m1@acme.pl>", "stranger@evil.example")  # a collision is not a copy
    assert store.takes_part("<t1@acme.pl>", "anna@acme.pl", "Acme")  # the same client
    assert not store.takes_part("<t1@acme.pl>", "stranger@evil.example", None)


def test_an_answer_closes_the_period_and_a_new_message_reopens_it(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
    opened = store.thread("<t1@acme.pl>")
    assert opened is not None
    with store.transaction():
        store.record_answer(opened, NOW + timedelta(hours=1), AnsweredVia.SENT, 1800.0)
    answered = store.thread("<t1@acme.pl>")
    assert answered is not None and answered.state is ThreadState.ANSWERED and not answered.waiting
    assert (answered.answered_at, answered.answered_via, answered.response_seconds) == (
        NOW + timedelta(hours=1), AnsweredVia.SENT, 3600.0)
    later = NOW + timedelta(days=2)
    with store.transaction():
        store.reopen("<t1@acme.pl>", later, later + timedelta(hours=8), "8 hours")
    again = store.thread("<t1@acme.pl>")
    assert again is not None and again.state is ThreadState.OPEN and again.opened_at == later
    assert again.answered_at is None and again.window == "8 hours"


def test_overdue_is_returned_once_and_snooze_and_close_move_the_thread(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        store.insert_thread(thread("<t2@acme.pl>", deadline=NOW + timedelta(days=3)))
    late = NOW + timedelta(hours=6)
    assert [t.id for t in store.newly_overdue(late)] == ["<t1@acme.pl>"]
    assert store.newly_overdue(late) == []
    overdue = store.thread("<t1@acme.pl>")
    assert overdue is not None and overdue.state is ThreadState.OVERDUE and overdue.overdue_at == late
    with store.transaction():
        store.snooze_thread("<t1@acme.pl>", late + timedelta(days=1), late)
    moved = store.thread("<t1@acme.pl>")
    assert moved is not None and moved.state is ThreadState.OPEN and moved.snoozed_from == NOW + timedelta(hours=5)
    with store.transaction():
        store.close_thread("<t1@acme.pl>", late)
    closed = store.thread("<t1@acme.pl>")
    assert closed is not None and closed.state is ThreadState.CLOSED and closed.closed_at == late


def test_flags_follow_overdue_threads(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        store.insert_message(message(1))
        store.insert_message(message(2, received=NOW + timedelta(minutes=5)))
        store.insert_message(message(3, decision=Decision.SKIP, received=NOW + timedelta(minutes=9)))
    assert store.open_messages("INBOX", 7) == {1: "<t1@acme.pl>", 2: "<t1@acme.pl>", 3: "<t1@acme.pl>"}
    assert store.open_messages("INBOX", 7, [2]) == {2: "<t1@acme.pl>"}
    assert store.open_messages("INBOX", 7, []) == {}
    store.newly_overdue(NOW + timedelta(hours=6))
    assert store.unflagged_overdue("INBOX", 7) == [2]  # the newest client message, not the skipped one
    with store.transaction():
        store.set_flagged("INBOX", 7, [2], True)
    assert store.unflagged_overdue("INBOX", 7) == []
    with store.transaction():
        store.close_thread("<t1@acme.pl>", NOW)
    assert store.flagged_but_settled("INBOX", 7) == [2]


def test_marks_of_a_folder_and_of_the_sent_folder_are_kept_apart(store: Store) -> None:
    with store.transaction():
        store.set_mark("Sent", Mark(5, 10), NOW, baseline=True, kind=FolderKind.SENT)
        store.set_mark("INBOX", Mark(7, 100), NOW, baseline=True)
        store.set_mark("Sent", Mark(9, 1), NOW, baseline=True)  # a triaged folder that happens to be named Sent
    assert store.mark("Sent", FolderKind.SENT) == Mark(5, 10)
    assert store.mark("Sent") == Mark(9, 1)
    later = NOW + timedelta(hours=1)
    with store.transaction():
        store.set_mark("INBOX", Mark(7, 120), later)
        store.set_mark("INBOX", Mark(8, 999), later)  # another UIDVALIDITY: not this mark
        store.set_modseq("INBOX", 42)
    assert store.mark("INBOX") == Mark(7, 120) and store.modseq("INBOX") == 42
    marks = store.folder_marks()
    assert [(m.name, m.kind) for m in marks] == [("INBOX", "incoming"), ("Sent", "incoming"), ("Sent", "sent")]
    assert marks[0].checked_at == later and marks[0].baseline_at == NOW and marks[0].highestmodseq == 42


def test_the_outbox_planned_sending_sent(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        store.plan_reply(reply())
    acknowledged = store.thread("<t1@acme.pl>")
    assert acknowledged is not None and acknowledged.acknowledged_at == NOW
    assert store.thread_of(("<mt-1@example.com>",)) == "<t1@acme.pl>"  # an answer to our reply joins the thread
    assert store.recent_reply_to("jan@acme.pl", NOW - timedelta(hours=1))
    assert not store.recent_reply_to("jan@acme.pl", NOW - timedelta(hours=1), limit=2)
    assert store.expire_replies(NOW, timedelta(days=1)) == 1
    claimed = store.claim_next()
    assert claimed is not None and claimed.state is ReplyState.SENDING and claimed.attempts == 1
    assert claimed.data == reply().data and claimed.recipient == "jan@acme.pl"
    assert store.claim_next(claimed.id) is None  # nothing else planned
    store.finish_reply(claimed.id, ReplyState.SENT, "kasia@example.com", "250 2.0.0 Ok")
    sent = store.reply_by_id("<mt-1@example.com>")
    assert sent is not None and sent.state is ReplyState.SENT and sent.sent_at is not None
    assert (sent.envelope_sender, sent.smtp_response, sent.error) == ("kasia@example.com", "250 2.0.0 Ok", None)
    assert store.reply_for("<t1@acme.pl>", "<m1@acme.pl>") == sent
    assert store.count_replies(ReplyState.PLANNED) == 0 and store.count_replies(ReplyState.SENT) == 1


def test_the_outbox_refused_for_now_failed_and_unknown(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        for n in (1, 2, 3):
            store.plan_reply(reply(n=n))
    first = store.claim_next()
    assert first is not None
    store.finish_reply(first.id, ReplyState.PLANNED, "kasia@example.com", "451 try later")  # 4xx: again next time
    again = store.claim_next()
    assert again is not None and again.id == first.id and again.attempts == 2 and again.error == "451 try later"
    store.finish_reply(again.id, ReplyState.FAILED, "kasia@example.com", "550 no such user")
    second = store.claim_next(again.id)
    assert second is not None
    store.fail_reply(second.id, "the server lacks SMTPUTF8")
    third = store.claim_next(second.id)
    assert third is not None  # and the process dies while sending it
    assert store.give_up_unknown() == 1
    states = [store.reply_by_id(f"<mt-{n}@example.com>") for n in (1, 2, 3)]
    assert [(r.state, r.error) for r in states if r] == [
        (ReplyState.FAILED, "550 no such user"), (ReplyState.FAILED, "the server lacks SMTPUTF8"),
        (ReplyState.UNKNOWN, "fate unknown after an interrupted send")]
    assert store.claim_next() is None  # an unknown one is never sent again


def test_plans_expire_when_too_old_or_when_the_thread_is_settled(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        store.insert_thread(thread("<t2@acme.pl>"))
        store.plan_reply(reply())
        store.plan_reply(reply("<t2@acme.pl>", 2, planned=NOW - timedelta(days=3)))
    assert store.expire_replies(NOW, timedelta(days=1)) == 1
    with store.transaction():
        store.close_thread("<t1@acme.pl>", NOW)
    assert store.expire_replies(NOW, timedelta(days=1)) == 0
    assert {r.state for n in (1, 2) if (r := store.reply_by_id(f"<mt-{n}@example.com>"))} == {ReplyState.EXPIRED}


def test_a_failed_write_inside_a_savepoint_leaves_the_rest_of_the_batch(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
        with pytest.raises(Exception, match="UNIQUE"), store.savepoint():
            store.insert_message(message(1))
            store.insert_message(message(1))  # the same folder, UIDVALIDITY and UID
        store.insert_message(message(2))
    assert [m.uid for m in store.messages_of_thread(1)] == [2]


def test_meta_and_raw_header_bytes(store: Store) -> None:
    store.set_meta("last_check", "{}")
    store.set_meta("last_check", '{"ok": true}')
    assert store.get_meta("last_check") == '{"ok": true}' and store.get_meta("nothing") is None
    odd = Message("INBOX", 7, 9, "<odd@x>", NOW, Decision.RECORD, "r", sender_name="Jos\udce9")
    with store.transaction():
        store.insert_message(odd)
    assert store.messages_by_id("<odd@x>")[0].sender_name == "Jos\ufffd"  # a Latin-1 byte: stored, not refused


def test_a_snapshot_is_a_private_copy(store: Store) -> None:
    with store.transaction():
        store.insert_thread(thread())
    assert store.path is not None
    copy = Store.snapshot(store.path)
    with copy.transaction():
        copy.close_thread("<t1@acme.pl>", NOW)
    copy.close()
    kept = store.thread("<t1@acme.pl>")
    assert kept is not None and kept.state is ThreadState.OPEN


def test_two_accounts_share_one_file_and_never_see_each_others_records(tmp_path: Path) -> None:
    """The same Message-ID at the same folder and UID in two mailboxes: two threads, two marks, two outboxes."""
    path = tmp_path / "mailtriage.db"
    kasia, biuro = Store(path), Store(path, account="biuro")
    try:
        for store in (kasia, biuro):
            with store.transaction():
                store.insert_thread(thread())
                store.insert_message(message(1))
                store.plan_reply(reply(n=1 if store is kasia else 2))
                store.set_mark("INBOX", Mark(7, 1), NOW, baseline=True)
        mine, theirs = kasia.thread("<t1@acme.pl>"), biuro.thread("<t1@acme.pl>")
        assert mine is not None and theirs is not None and (mine.account, theirs.account) == ("default", "biuro")
        assert (mine.number, theirs.number) == (1, 2) and theirs.acknowledged_at == NOW
        assert [m.account for m in biuro.messages_of_thread(2)] == ["biuro"]
        assert [m.account for m in kasia.messages_at("INBOX", 1)] == ["default"]
        with biuro.transaction():
            biuro.set_mark("INBOX", Mark(7, 5), NOW)
            biuro.close_thread("<t1@acme.pl>", NOW)
        assert kasia.mark("INBOX") == Mark(7, 1) and biuro.mark("INBOX") == Mark(7, 5)
        assert [f.account for f in biuro.folder_marks()] == ["biuro"]
        assert kasia.thread("<t1@acme.pl>").state is ThreadState.OPEN  # type: ignore[union-attr]
        # the sender limit and the outbox are each account's own
        assert kasia.recent_reply_to("jan@acme.pl", NOW - timedelta(hours=1), limit=2) is False
        claimed = biuro.claim_next()
        assert claimed is not None and claimed.message_id == "<mt-2@example.com>" and claimed.account == "biuro"
        assert biuro.claim_next(claimed.id) is None and kasia.count_replies(ReplyState.PLANNED) == 1
    finally:
        kasia.close()
        biuro.close()
