"""Read-only queries for the reports: the morning summary, per-client statistics, thread listings
and `status`. Nothing here writes; each is one indexed query (or a few), typed on the way out.

A thread still `open` whose deadline has passed counts as overdue here, as the next check will
mark it: a report reads the moment as it is without writing to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailtriage.core.models import DEFAULT_ACCOUNT, ReplyKind, ReplyState, ThreadState
from mailtriage.store.base import Database
from mailtriage.store.rows import SqlValue, Thread, from_iso, iso

OPEN, OVERDUE, IGNORED, WAITING = (f"'{state}'" for state in (
    ThreadState.OPEN, ThreadState.OVERDUE, ThreadState.IGNORED, ThreadState.WAITING))
LATE = f"(state = {OVERDUE} OR (state = {OPEN} AND deadline < :now))"
DUE_BY = f"state = {OPEN} AND deadline >= :now AND deadline <= :end"
# Senders no client matched are grouped under '' in SQL (no client may have an empty name).
NO_CLIENT = ""
_CLIENT = f"coalesce(client, '{NO_CLIENT}')"


@dataclass(frozen=True)
class Undelivered:
    """A holding reply that did not reach its recipient (failed) or may not have (unknown)."""

    number: int
    client: str | None
    subject: str | None
    recipient: str
    state: ReplyState
    error: str | None
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class Answered:
    """One answered period of a thread, as the statistics keep it."""

    number: int
    client: str | None
    sender: str
    subject: str | None
    answered_at: datetime
    via: str
    response_seconds: float
    business_seconds: float
    within_window: bool
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class ClientFigures:
    """One client's raw figures in one account over threads opened since a time ('' for senders of no client)."""

    client: str
    threads: int  # that needed an answer
    answered: int
    in_time: int
    late: int  # open or overdue, past the deadline
    median_business_seconds: float | None
    median_seconds: float | None
    account: str = DEFAULT_ACCOUNT


def _threads(db: Database, where: str, params: dict[str, SqlValue], limit: int | None = None) -> list[Thread]:
    sql = f"SELECT * FROM threads WHERE {where} ORDER BY deadline, number"
    return [Thread.from_row(row) for row in db.rows(sql + (f" LIMIT {int(limit)}" if limit else ""), params)]


def _count(db: Database, where: str, params: dict[str, SqlValue]) -> int:
    return db.count(f"SELECT count(*) FROM threads WHERE {where}", params)


def overdue(db: Database, now: datetime, limit: int) -> tuple[list[Thread], int]:
    """Threads past their deadline, earliest first (at most `limit`), and how many there are."""
    params: dict[str, SqlValue] = {"now": iso(now)}
    return _threads(db, LATE, params, limit), _count(db, LATE, params)


def due_by(db: Database, now: datetime, end: datetime, limit: int) -> tuple[list[Thread], int]:
    """Open threads due between now and `end` (at most `limit`), and how many there are."""
    params: dict[str, SqlValue] = {"now": iso(now), "end": iso(end)}
    return _threads(db, DUE_BY, params, limit), _count(db, DUE_BY, params)


def moved_after(db: Database, end: datetime) -> list[Thread]:
    """Open threads whose deadline was moved on purpose (snoozed) to after `end`."""
    return _threads(db, f"state = {OPEN} AND snoozed_from IS NOT NULL AND deadline > :end", {"end": iso(end)})


def open_after(db: Database, end: datetime) -> int:
    return _count(db, f"state = {OPEN} AND deadline > :end", {"end": iso(end)})


def undelivered(db: Database, since: str, limit: int) -> list[Undelivered]:
    """Holding replies planned since `since` that failed or may have, with their thread's number."""
    rows = db.rows(
        "SELECT t.number, t.client, t.subject, r.recipient, r.state, r.error, r.account FROM replies r"
        " JOIN threads t ON t.account = r.account AND t.id = r.thread_id"
        " WHERE r.state IN (?, ?) AND r.planned_at > ? ORDER BY r.id LIMIT ?",
        [ReplyState.FAILED, ReplyState.UNKNOWN, since, limit])
    return [Undelivered(r["number"], r["client"], r["subject"], r["recipient"], ReplyState(r["state"]), r["error"],
                        r["account"]) for r in rows]


@dataclass(frozen=True)
class Notice:
    """A client told that a deadline moved (`snooze --notify`, `overdue_notice`)."""

    number: int
    client: str | None
    subject: str | None
    recipient: str
    kind: ReplyKind
    deadline: datetime  # the new one
    sent_at: datetime
    account: str = DEFAULT_ACCOUNT


def notices_sent(db: Database, since: str, limit: int) -> list[Notice]:
    """Notices of a moved deadline sent after `since`, in the order they went."""
    rows = db.rows(
        "SELECT t.number, t.client, t.subject, r.recipient, r.kind, r.about, r.sent_at, r.account FROM replies r"
        " JOIN threads t ON t.account = r.account AND t.id = r.thread_id"
        " WHERE r.kind != ? AND r.state = ? AND r.sent_at > ?"
        " ORDER BY r.sent_at, r.id LIMIT ?", [ReplyKind.HOLDING, ReplyState.SENT, since, limit])
    return [Notice(r["number"], r["client"], r["subject"], r["recipient"], ReplyKind(r["kind"]),
                   datetime.fromisoformat(r["about"]), datetime.fromisoformat(r["sent_at"]), r["account"])
            for r in rows]


def to_chase(db: Database, end: datetime, limit: int) -> list[Thread]:
    """Threads still waiting for the client whose `wait --until` falls by `end`, longest waiting first."""
    return [Thread.from_row(row) for row in db.rows(
        f"SELECT * FROM threads WHERE state = '{ThreadState.WAITING}' AND waiting_until <= ?"
        " ORDER BY waiting_since, number LIMIT ?", [iso(end), limit])]


def answered_since(db: Database, since: str, limit: int) -> list[Answered]:
    """Periods answered after `since`, in the order they were answered."""
    rows = db.rows(
        "SELECT t.number, a.client, t.sender, t.subject, a.answered_at, a.via, a.response_seconds,"
        " a.business_seconds, a.within_window, a.account FROM answers a JOIN threads t ON t.account = a.account"
        " AND t.id = a.thread_id"
        " WHERE a.answered_at > ? ORDER BY a.answered_at LIMIT ?", [since, limit])
    return [Answered(r["number"], r["client"], r["sender"], r["subject"], datetime.fromisoformat(r["answered_at"]),
                     r["via"], r["response_seconds"], r["business_seconds"], bool(r["within_window"]), r["account"])
            for r in rows]


def client_figures(db: Database, since: datetime, now: datetime) -> list[ClientFigures]:
    """Per account and client, over threads opened since `since`: all in SQL (a median by window
    functions), so 100,000 threads cost a few queries, not a Python loop."""
    params: dict[str, SqlValue] = {"since": iso(since), "now": iso(now)}
    c = _CLIENT
    threads = _by_client(db, f"SELECT account, {c} AS c, count(*) AS n FROM threads WHERE state != {IGNORED}"
                             " AND opened_at >= :since GROUP BY account, c", params)
    late = _by_client(db, f"SELECT account, {c} AS c, count(*) AS n FROM threads WHERE state IN ({OPEN}, {OVERDUE})"
                          " AND opened_at >= :since AND deadline < :now GROUP BY account, c", params)
    answers = {(row["account"], row["c"]): row for row in db.rows(
        f"SELECT account, {c} AS c, count(*) AS n, sum(within_window) AS in_time FROM answers"
        " WHERE opened_at >= :since GROUP BY account, c", params)}
    medians = {(row["account"], row["c"]): row for row in db.rows(
        f"WITH r AS (SELECT account, {c} AS c, business_seconds AS b, response_seconds AS w,"
        f" row_number() OVER (PARTITION BY account, {c} ORDER BY business_seconds) AS rb,"
        f" row_number() OVER (PARTITION BY account, {c} ORDER BY response_seconds) AS rw,"
        f" count(*) OVER (PARTITION BY account, {c}) AS n FROM answers WHERE opened_at >= :since)"
        " SELECT account, c, avg(CASE WHEN rb IN ((n + 1) / 2, (n + 2) / 2) THEN b END) AS b,"
        " avg(CASE WHEN rw IN ((n + 1) / 2, (n + 2) / 2) THEN w END) AS w FROM r GROUP BY account, c", params)}
    result = []
    for key in sorted(set(threads) | set(answers), key=lambda k: (-threads.get(k, 0), k[1], k[0])):
        answered, median = answers.get(key), medians.get(key)
        result.append(ClientFigures(
            client=key[1], threads=threads.get(key, 0), answered=answered["n"] if answered else 0,
            in_time=answered["in_time"] if answered else 0, late=late.get(key, 0),
            median_business_seconds=median["b"] if median else None, median_seconds=median["w"] if median else None,
            account=key[0]))
    return result


def _by_client(db: Database, sql: str, params: dict[str, SqlValue]) -> dict[tuple[str, str], int]:
    return {(row["account"], row["c"]): row["n"] for row in db.rows(sql, params)}


def list_threads(db: Database, *, state: ThreadState | None, since: datetime,
                 client: str | None = None, no_client: bool = False, account: str | None = None) -> list[Thread]:
    """Threads by first arrival, newest first: every one in `state`, or else those since `since`;
    of one client, or of no client; of one account, or of every one."""
    where, params = ["state = :state" if state is not None else "first_received >= :since"], {
        "state": state, "since": iso(since), "client": client, "account": account}
    if account is not None:
        where.append("account = :account")
    if no_client:
        where.append("client IS NULL")
    elif client is not None:
        where.append("client = :client")
    return [Thread.from_row(row) for row in db.rows(
        f"SELECT * FROM threads WHERE {' AND '.join(where)} ORDER BY first_received DESC, number DESC", params)]


def thread_counts(db: Database) -> dict[ThreadState, int]:
    """How many threads are in each state."""
    return {ThreadState(row["state"]): row["n"]
            for row in db.rows("SELECT state, count(*) AS n FROM threads GROUP BY state")}


def reply_counts(db: Database) -> dict[ReplyState, int]:
    """How many holding replies are in each state."""
    return {ReplyState(row["state"]): row["n"]
            for row in db.rows("SELECT state, count(*) AS n FROM replies GROUP BY state")}


@dataclass(frozen=True)
class Period:
    """One period of a client's thread for the monthly report: answered (from `answers`) or still waiting."""

    number: int
    thread_id: str
    sender: str
    subject: str | None
    opened_at: datetime
    deadline: datetime | None
    answered_at: datetime | None
    business_seconds: float | None
    within_window: bool | None  # None: not answered, and its deadline has not passed
    moved_from: datetime | None  # the deadline first promised, when it was moved (snoozed)
    waiting: bool = False  # waiting for the client (`mailtriage wait`): no deadline runs


def client_periods(db: Database, client: str, start: datetime, end: datetime, now: datetime,
                   account: str | None = None) -> list[Period]:
    """The periods of `client`'s threads opened in [start, end) (in `account`, or in every one): every
    answered one, and the current one of each thread still open, overdue or waiting for the client, by the
    time they opened."""
    params: dict[str, SqlValue] = {"client": client, "start": iso(start), "end": iso(end), "now": iso(now),
                                   "account": account}
    answered = db.rows(
        "SELECT t.number, t.id, t.sender, t.subject, a.opened_at, a.deadline, a.answered_at, a.business_seconds,"
        " a.within_window, CASE WHEN t.opened_at = a.opened_at THEN t.snoozed_from END AS moved_from, 0 AS waiting"
        " FROM answers a JOIN threads t ON t.account = a.account AND t.id = a.thread_id"
        " WHERE a.client = :client AND a.opened_at >= :start AND a.opened_at < :end"
        " AND (:account IS NULL OR a.account = :account)", params)
    waiting = db.rows(
        "SELECT number, id, sender, subject, opened_at, deadline, NULL AS answered_at, NULL AS business_seconds,"
        f" CASE WHEN state != {WAITING} AND deadline < :now THEN 0 END AS within_window, snoozed_from AS moved_from,"
        f" state = {WAITING} AS waiting FROM threads WHERE client = :client AND state IN ({OPEN}, {OVERDUE},"
        f" {WAITING}) AND opened_at >= :start AND opened_at < :end AND (:account IS NULL OR account = :account)",
        params)
    periods = [Period(
        number=r["number"], thread_id=r["id"], sender=r["sender"], subject=r["subject"],
        opened_at=datetime.fromisoformat(r["opened_at"]), deadline=from_iso(r["deadline"]),
        answered_at=from_iso(r["answered_at"]), business_seconds=r["business_seconds"],
        within_window=None if r["within_window"] is None else bool(r["within_window"]),
        moved_from=from_iso(r["moved_from"]), waiting=bool(r["waiting"])) for r in [*answered, *waiting]]
    return sorted(periods, key=lambda p: (p.opened_at, p.number))


def client_message_count(db: Database, client: str, start: datetime, end: datetime,
                         account: str | None = None) -> int:
    """Messages of `client` (in `account`, or in every one) recorded in a thread that arrived in [start, end)."""
    return db.count("SELECT count(*) FROM messages WHERE client = ? AND thread_id IS NOT NULL"
                    " AND received_at >= ? AND received_at < ? AND (? IS NULL OR account = ?)",
                    [client, iso(start), iso(end), account, account])


def unanswered(db: Database) -> list[Thread]:
    """Open and overdue threads that have a deadline, the earliest first: the deadline calendar."""
    return _threads(db, f"state IN ({OPEN}, {OVERDUE}) AND deadline IS NOT NULL", {})
