"""Threads as the user sees them: listing, closing one answered outside email, moving a deadline.

Every listing is one indexed query; times come back in the user's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mailtriage.app.answered import mark_answered
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.wording import NO_CLIENT
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store, from_iso, iso

FIELDS = ("number", "id", "client", "sender", "sender_name", "subject", "state", "first_received", "opened_at",
          "deadline", "snoozed_from", "answered_at", "answered_via", "response_seconds",
          "response_business_seconds", "closed_at")


class ThreadNotFound(MailtriageError):
    exit_code = 2


@dataclass(frozen=True)
class ThreadView:
    """One thread for people and scripts; `thread` is the Message-ID that started it."""

    row: dict[str, Any]
    tz: ZoneInfo

    def as_dict(self) -> dict[str, Any]:
        out = {"thread": self.row["id"], "number": self.row["number"]}
        for key in FIELDS[2:]:
            value = self.row[key]
            if key in ("first_received", "opened_at", "deadline", "snoozed_from", "answered_at", "closed_at"):
                value = _local(value, self.tz)
            out[key] = value
        return out


def list_threads(store: Store, tz: ZoneInfo, now: datetime, *, state: str | None = None,
                 client: str | None = None, days: int = 30) -> list[ThreadView]:
    """Threads by first arrival, newest first: the last `days` days, or every one in `state`."""
    sql = f"SELECT {', '.join(FIELDS)} FROM threads WHERE 1 = 1"
    params: list[Any] = []
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    else:
        sql += " AND first_received >= ?"
        params.append(iso(now - timedelta(days=days)))
    if client is not None:
        name = client_named(store, client)
        sql += " AND client IS NULL" if name is None else " AND client = ?"
        params += [] if name is None else [name]
    sql += " ORDER BY first_received DESC, number DESC"
    return [ThreadView(row, tz) for row in store.db.query(sql, params)]


def client_named(store: Store, text: str) -> str | None:
    """The recorded client name `text` means, whatever its case; None for senders no client matched
    ('no client', as listings show them, or the older '(defaults)')."""
    wanted = text.strip().casefold()
    if wanted in (NO_CLIENT["en"], "(defaults)"):
        return None
    names = [row["client"] for row in store.db.query("SELECT DISTINCT client FROM threads WHERE client IS NOT NULL")]
    return next((name for name in names if name.casefold() == wanted), text)


def find(store: Store, ref: str) -> dict[str, Any]:
    """A thread by its number (12 or #12) or by its Message-ID."""
    number = ref.lstrip("#")
    row = (store.one("SELECT * FROM threads WHERE number = ?", [int(number)]) if number.isdigit()
           else store.one("SELECT * FROM threads WHERE id = ?", [ref if ref.startswith("<") else f"<{ref}>"]))
    if row is None:
        raise ThreadNotFound(f"no thread {ref!r}: `mailtriage threads` lists them")
    return row


def close(store: Store, ref: str, now: datetime, calendar: BusinessCalendar) -> dict[str, Any]:
    """Close a thread answered outside email (phone, chat): an open one counts as answered now."""
    thread = find(store, ref)
    with store.transaction():
        if thread["state"] in ("open", "overdue"):
            mark_answered(store, thread, now, "done", calendar)
        store.db.conn.execute("UPDATE threads SET state = 'closed', closed_at = ? WHERE id = ?",
                              [iso(now), thread["id"]])
    return find(store, thread["id"])


def snooze(store: Store, ref: str, until: datetime, now: datetime) -> dict[str, Any]:
    """Move a thread's deadline on purpose; the original is kept, and the summary shows the move."""
    thread = find(store, ref)
    if thread["state"] not in ("open", "overdue"):
        raise MailtriageError(f"thread #{thread['number']} is {thread['state']}: only an open or overdue "
                              "thread has a deadline to move")
    with store.transaction():
        store.db.conn.execute(
            "UPDATE threads SET deadline = ?, snoozed_from = coalesce(snoozed_from, deadline),"
            " state = CASE WHEN ? > ? THEN 'open' ELSE state END, overdue_at = NULL WHERE id = ?",
            [iso(until), iso(until), iso(now), thread["id"]])
    return find(store, thread["id"])


def _local(value: str | None, tz: ZoneInfo) -> str | None:
    instant = from_iso(value)
    return instant.astimezone(tz).isoformat() if instant else None
