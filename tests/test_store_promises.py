"""The store's part of keeping promises, on a temporary SQLite file: reminders once per deadline,
notices of a moved deadline in the outbox, threads waiting for the client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.core.models import ReplyKind, ReplyState, ThreadState
from mailtriage.store import reports
from mailtriage.store.db import Store
from mailtriage.store.rows import Reply, Thread, iso

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 12:00 in Warsaw
HOUR = timedelta(hours=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "mailtriage.db")
    yield opened
    opened.close()


def add(store: Store, name: str, *, deadline: datetime | None = NOW + HOUR,
        state: ThreadState = ThreadState.OPEN) -> Thread:
    thread = Thread(f"<{name}@x>", f"{name}@acme.pl", NOW - 2 * HOUR, NOW - 2 * HOUR, state, client="Acme",
                    subject=name, deadline=deadline)
    with store.transaction():
        store.insert_thread(thread)
    found = store.thread(thread.id)
    assert found is not None
    return found


def reply(thread: Thread, n: int, kind: ReplyKind = ReplyKind.HOLDING, about: str = "",
          at: datetime = NOW) -> Reply:
    return Reply(thread.id, thread.id, f"<mailtriage.{n}@example.com>", thread.sender, thread.sender, at, b"x",
                 kind=kind, about=about)


def test_a_reminder_lists_a_thread_once_per_deadline(store: Store) -> None:
    soon, later = add(store, "soon", deadline=NOW + HOUR), add(store, "later", deadline=NOW + 5 * HOUR)
    add(store, "late", deadline=NOW - HOUR)  # past due already: the overdue list's, not a reminder's
    add(store, "answered", deadline=NOW + HOUR, state=ThreadState.ANSWERED)
    add(store, "waiting", deadline=NOW + HOUR, state=ThreadState.WAITING)
    assert [t.id for t in store.due_unreminded(NOW, NOW + 2 * HOUR)] == [soon.id]
    with store.transaction():
        store.mark_reminded([soon], NOW)
    assert store.due_unreminded(NOW, NOW + 2 * HOUR) == []
    assert [t.id for t in store.due_unreminded(NOW, NOW + 6 * HOUR)] == [later.id]
    with store.transaction():  # the deadline moves: a reminder for the new one is due in its time
        store.snooze_thread(soon.id, NOW + 1.5 * HOUR, NOW)
    assert [t.id for t in store.due_unreminded(NOW, NOW + 2 * HOUR)] == [soon.id]


def test_a_reminder_that_could_not_be_sent_is_taken_back(store: Store) -> None:
    soon = add(store, "soon")
    with store.transaction():
        store.mark_reminded([soon], NOW)
        store.unmark_reminded([soon])
    assert [t.id for t in store.due_unreminded(NOW, NOW + 2 * HOUR)] == [soon.id]


def test_a_notice_is_planned_once_per_move_and_is_no_holding_reply(store: Store) -> None:
    thread = add(store, "moved")
    new = iso(NOW + 24 * HOUR)
    with store.transaction():
        assert store.plan_notice(reply(thread, 1, ReplyKind.MOVED, new))
        assert not store.plan_notice(reply(thread, 2, ReplyKind.MOVED, new))  # the same move again
        assert store.plan_notice(reply(thread, 3, ReplyKind.MOVED, iso(NOW + 48 * HOUR)))  # a second move
    found = store.thread(thread.id)
    assert found is not None and found.acknowledged_at is None  # a notice acknowledges nothing
    assert not store.recent_reply_to(thread.sender, NOW - HOUR)  # nor counts for the per-sender limit
    assert store.reply_for(thread.id, thread.id) is None and store.holding_recipient(thread.id) is None
    assert store.notices_since(thread.id, ReplyKind.MOVED, NOW) == 2
    assert store.notices_since(thread.id, ReplyKind.RENEWED, NOW) == 0
    with store.transaction():
        store.plan_reply(reply(thread, 4))  # the holding reply to the same message still has its place
    holding = store.holding_recipient(thread.id)
    assert holding is not None and holding.kind == ReplyKind.HOLDING and store.recent_reply_to(
        thread.sender, NOW - HOUR)
    first = store.reply_by_id("<mailtriage.1@example.com>")
    assert first is not None and (first.kind, first.about, first.state) == (ReplyKind.MOVED, new, ReplyState.PLANNED)


def test_notices_sent_since_the_last_summary_are_reported(store: Store) -> None:
    thread = add(store, "moved")
    with store.transaction():
        store.plan_notice(reply(thread, 1, ReplyKind.RENEWED, iso(NOW + 24 * HOUR)))
        store.plan_reply(reply(thread, 2))
    for _ in (1, 2):
        claimed = store.claim_next()
        assert claimed is not None
        store.finish_reply(claimed.id, ReplyState.SENT, "kasia@example.com", "250 ok")
    found = reports.notices_sent(store, iso(NOW - HOUR), 50)
    assert [(n.number, n.recipient, n.kind, n.deadline) for n in found] == [
        (thread.number, "moved@acme.pl", ReplyKind.RENEWED, NOW + 24 * HOUR)]
    assert reports.notices_sent(store, iso(datetime.now(UTC) + HOUR), 50) == []


def test_a_waiting_thread_has_no_deadline_running_and_a_new_message_reopens_it(store: Store) -> None:
    thread = add(store, "asked", deadline=NOW - HOUR, state=ThreadState.OVERDUE)
    with store.transaction():
        store.wait_for_client(thread.id, NOW, NOW + 48 * HOUR)
    waiting = store.thread(thread.id)
    assert waiting is not None and (waiting.state, waiting.waiting_since, waiting.waiting_until) == (
        ThreadState.WAITING, NOW, NOW + 48 * HOUR)
    assert store.newly_overdue(NOW + 72 * HOUR) == []  # never overdue
    assert reports.overdue(store, NOW + 72 * HOUR, 50) == ([], 0)
    assert reports.to_chase(store, NOW + 24 * HOUR, 50) == []
    assert [t.id for t in reports.to_chase(store, NOW + 48 * HOUR, 50)] == [thread.id]
    assert [t.id for t in reports.list_threads(store, state=ThreadState.WAITING, since=NOW)] == [thread.id]
    with store.transaction():
        store.reopen(thread.id, NOW + 72 * HOUR, NOW + 76 * HOUR, "4 business hours")
    reopened = store.thread(thread.id)
    assert reopened is not None and (reopened.state, reopened.opened_at, reopened.deadline) == (
        ThreadState.OPEN, NOW + 72 * HOUR, NOW + 76 * HOUR)
    assert reopened.waiting_since is None and reopened.waiting_until is None
