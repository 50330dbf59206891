"""The read-only reports on a temporary SQLite file: the summary's data, statistics, thread
listings and `status`. No mail server; the records are written through the store's repositories."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailtriage.app import stats, status, summary, threads
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.core.models import AnsweredVia, FolderKind, ReplyState, ThreadState
from mailtriage.store import reports
from mailtriage.store.db import Store
from mailtriage.store.rows import Mark, Reply, Thread
from tests.conftest import MINIMAL

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 12:00 in Warsaw
HOUR = timedelta(hours=1)
ZONE = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "mailtriage.db")
    yield opened
    opened.close()


@pytest.fixture
def rules(write_rules: Callable[[str], Path]) -> Rules:
    return load(write_rules(MINIMAL + "language: en\n"))


def add(store: Store, name: str, *, client: str | None = "Acme", deadline: datetime | None = NOW + HOUR,
        opened: datetime = NOW - 2 * HOUR, state: ThreadState = ThreadState.OPEN) -> Thread:
    thread = Thread(f"<{name}@x>", f"{name}@acme.pl", opened, opened, state, client=client, subject=name,
                    deadline=deadline)
    with store.transaction():
        store.insert_thread(thread)
    found = store.thread(thread.id)
    assert found is not None
    return found


def answer(store: Store, thread: Thread, at: datetime, business_seconds: float) -> None:
    with store.transaction():
        store.record_answer(thread, at, AnsweredVia.SENT, business_seconds)


def test_overdue_counts_a_thread_past_its_deadline_without_writing(store: Store) -> None:
    add(store, "late", deadline=NOW - HOUR)  # open, but past due: the next check marks it
    add(store, "marked", deadline=NOW - 2 * HOUR, state=ThreadState.OVERDUE)
    add(store, "today", deadline=NOW + HOUR)
    add(store, "tomorrow", deadline=NOW + 24 * HOUR)
    late, total = reports.overdue(store, NOW, 1)
    assert [t.subject for t in late] == ["marked"] and total == 2  # the earliest deadline first, `limit` listed
    end_of_day = NOW + 12 * HOUR
    due, due_total = reports.due_by(store, NOW, end_of_day, 50)
    assert [t.subject for t in due] == ["today"] and due_total == 1
    assert reports.open_after(store, end_of_day) == 1
    late_thread = store.thread("<late@x>")
    assert late_thread is not None and late_thread.state is ThreadState.OPEN  # nothing was written


def test_summary_gather_reads_only(store: Store, rules: Rules) -> None:
    add(store, "late", deadline=NOW - HOUR)
    moved = add(store, "moved", deadline=NOW + HOUR)
    with store.transaction():
        store.snooze_thread(moved.id, NOW + 48 * HOUR, NOW)
    done = add(store, "done", client=None)
    answer(store, done, NOW - HOUR, 1800.0)
    with store.transaction():
        store.plan_reply(Reply(done.id, done.id, "<mt-1@example.com>", "done@acme.pl", "done@acme.pl",
                               NOW - HOUR, b"x"))
    claimed = store.claim_next()
    assert claimed is not None
    store.finish_reply(claimed.id, ReplyState.FAILED, "kasia@example.com", "550 no such user")
    assert store.path is not None
    before = hashlib.sha256(store.path.read_bytes()).hexdigest()
    data = summary.gather(store, rules, NOW)
    assert hashlib.sha256(store.path.read_bytes()).hexdigest() == before
    assert [(t.subject, t.client) for t in data.overdue] == [("late", "Acme")] and data.overdue_total == 1
    assert data.due_today == [] and data.open_later == 1
    assert [t.subject for t in data.moved] == ["moved"] and data.moved[0].moved_from
    assert [(a.subject, a.client, a.within_window) for a in data.answered] == [("done", "no client", True)]
    assert [(u.recipient, u.why) for u in data.undelivered] == [("done@acme.pl", "550 no such user")]
    assert data.subject == "1 overdue · 0 due today"
    text, html = summary.render(data, rules)
    assert "late" in text and "550 no such user" in text and "<html" in html.lower()


def test_stats_per_client(store: Store) -> None:
    for n, hours in enumerate((1, 3, 8)):
        answer(store, add(store, f"a{n}", deadline=NOW + 4 * HOUR), NOW + hours * HOUR, hours * 1800.0)
    add(store, "waiting", deadline=NOW - HOUR)  # past due, unanswered: judged, not in time
    add(store, "other", client=None)
    add(store, "noise", state=ThreadState.IGNORED)
    add(store, "old", opened=NOW - timedelta(days=40))
    rows = stats.client_stats(store, NOW + 9 * HOUR, 7)
    assert [(r.client, r.threads, r.answered, r.judged, r.in_time) for r in rows] == [
        ("Acme", 4, 3, 4, 2), (None, 1, 0, 1, 0)]  # past due unanswered: judged, late
    assert rows[0].median_hours == 5.0 and rows[0].median_business_hours == 1.5
    assert rows[0].as_dict()["share_in_time"] == 0.5


def test_threads_listing_by_state_client_and_age(store: Store) -> None:
    add(store, "acme")
    add(store, "nobody", client=None)
    add(store, "old", opened=NOW - timedelta(days=40), state=ThreadState.OVERDUE)
    listed = threads.list_threads(store, ZONE, NOW, days=30)
    assert [v.thread.subject for v in listed] == ["nobody", "acme"]  # newest first (same time: higher number)
    assert [v.thread.subject for v in threads.list_threads(store, ZONE, NOW, state="overdue")] == ["old"]
    assert [v.thread.subject for v in threads.list_threads(store, ZONE, NOW, client="ACME")] == ["acme"]
    assert [v.thread.subject for v in threads.list_threads(store, ZONE, NOW, client="no client")] == ["nobody"]
    row = listed[1].as_dict()
    assert row["thread"] == "<acme@x>" and row["state"] == "open" and row["deadline"] == "2026-11-23T13:00:00+01:00"


def test_status_counts_and_marks(store: Store, rules: Rules) -> None:
    add(store, "open")
    add(store, "late", state=ThreadState.OVERDUE)
    with store.transaction():
        store.set_mark("INBOX", Mark(7, 120), NOW, baseline=True)
        store.set_mark("Sent", Mark(3, 40), NOW, baseline=True, kind=FolderKind.SENT)
    status.remember(store, NOW, True, "Mon 23 Nov 12:00: 1 new")
    data = status.gather(store, rules, NOW + 4 * HOUR).as_dict()
    assert data["last_check"] == {"at": "2026-11-23T12:00:00+01:00", "ok": True, "status": "Mon 23 Nov 12:00: 1 new"}
    assert data["folders"] == [
        {"name": "INBOX", "uidvalidity": 7, "last_uid": 120, "checked_at": "2026-11-23T12:00:00+01:00",
         "role": "incoming", "account": "default"},
        {"name": "Sent", "uidvalidity": 3, "last_uid": 40, "checked_at": "2026-11-23T12:00:00+01:00", "role": "sent",
         "account": "default"}]
    assert (data["open"], data["overdue"], data["waiting"], data["failed"]) == (1, 1, 0, 0)
    assert data["next_check"] == "2026-11-23T16:00:00+01:00"
