"""Threads as the user sees them: listing, closing one answered outside email, moving a deadline.

Every listing is one indexed query; times come back in the user's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailtriage.app.answered import mark_answered
from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.models import AnsweredVia, ReplyKind, ReplyState, ThreadState
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.errors import MailtriageError
from mailtriage.store import reports
from mailtriage.store.db import Store
from mailtriage.store.rows import Reply, Thread

JsonValue = str | int | float | None


class ThreadNotFound(MailtriageError):
    exit_code = 2


class Refused(MailtriageError):
    """A time that makes no sense for the command (in the past, earlier than the promise)."""

    exit_code = 2


@dataclass(frozen=True)
class ThreadView:
    """One thread for people and scripts; `thread` is the Message-ID that started it."""

    thread: Thread
    tz: ZoneInfo

    def as_dict(self) -> dict[str, JsonValue]:
        t, tz = self.thread, self.tz
        return {"thread": t.id, "number": t.number, "client": t.client, "sender": t.sender,
                "sender_name": t.sender_name, "subject": t.subject, "state": t.state,
                "first_received": _local(t.first_received, tz), "opened_at": _local(t.opened_at, tz),
                "deadline": _local(t.deadline, tz), "snoozed_from": _local(t.snoozed_from, tz),
                "answered_at": _local(t.answered_at, tz), "answered_via": t.answered_via,
                "response_seconds": t.response_seconds, "response_business_seconds": t.response_business_seconds,
                "closed_at": _local(t.closed_at, tz), "waiting_since": _local(t.waiting_since, tz),
                "waiting_until": _local(t.waiting_until, tz), "account": t.account}


def list_threads(store: Store, tz: ZoneInfo, now: datetime, *, state: str | None = None,
                 client: str | None = None, days: int = 30, account: str | None = None) -> list[ThreadView]:
    """Threads by first arrival, newest first: the last `days` days, or every one in `state`; of one
    account, or of every one."""
    name = client_named(store, client) if client is not None else None
    found = reports.list_threads(store, state=ThreadState(state) if state is not None else None,
                                 since=now - timedelta(days=days), client=name,
                                 no_client=client is not None and name is None, account=account)
    return [ThreadView(thread, tz) for thread in found]


def client_named(store: Store, text: str) -> str | None:
    """The recorded client name `text` means, whatever its case; None for senders no client matched
    ('no client', as listings show them, or the older '(defaults)')."""
    wanted = text.strip().casefold()
    if wanted in (NO_CLIENT["en"], "(defaults)"):
        return None
    return next((name for name in store.client_names() if name.casefold() == wanted), text)


def find(store: Store, ref: str) -> Thread:
    """A thread by its number (12 or #12) or by its Message-ID."""
    number = ref.lstrip("#")
    if number.isdigit():
        thread = store.thread_numbered(int(number))
    else:  # a Message-ID: in any account; the same one in two accounts must be named by number
        found = store.threads_with_id(ref if ref.startswith("<") else f"<{ref}>")
        if len(found) > 1:
            numbers = " or ".join(f"#{t.number} ({t.account})" for t in found)
            raise ThreadNotFound(f"{ref!r} is a thread in {len(found)} accounts: name it by its number, {numbers}")
        thread = found[0] if found else None
    if thread is None:
        raise ThreadNotFound(f"no thread {ref!r}: `mailtriage threads` lists them")
    store.account = thread.account  # what the command then does to it is done in its own account
    return thread


def close(store: Store, ref: str, now: datetime, calendar: BusinessCalendar) -> Thread:
    """Close a thread answered outside email (phone, chat): an open one counts as answered now."""
    thread = find(store, ref)
    with store.transaction():
        if thread.waiting:
            mark_answered(store, thread, now, AnsweredVia.DONE, calendar)
        store.close_thread(thread.id, now)
    return find(store, str(thread.number))


def snooze(store: Store, ref: str, until: datetime, now: datetime) -> Thread:
    """Move a thread's deadline on purpose; the original is kept, and the summary shows the move."""
    return snooze_and_tell(store, ref, until, now, None).thread


@dataclass(frozen=True)
class Moved:
    """A moved deadline, and what became of the notice to the client (with --notify)."""

    thread: Thread
    notice: Reply | None = None  # None: no notice asked for, or this move was announced already
    state: ReplyState | None = None  # the notice's state after the outbox ran
    error: str | None = None  # why the outbox could not send (it is tried again at the next check)


def check_move(store: Store, rules: Rules, ref: str, until: datetime, now: datetime, *, notify: bool) -> list[str]:
    """Refuse a new deadline that makes no sense (in the past; with `notify`, not later than the
    deadline the client was told: an earlier answer needs no apology); the warnings worth a line
    (a day off, outside business hours)."""
    tz = rules.tz
    if until <= now:
        raise Refused(f"{when(until, tz, now)} is in the past: a new deadline must be later than now")
    if notify:
        thread = find(store, ref)
        told, kind = store.told(thread.id)
        # The very move told before is said once by the outbox (plan_notice), not refused here.
        if told is not None and (until < told or (until == told and kind == ReplyKind.HOLDING)):
            raise Refused(f"{when(until, tz, now)} is not later than the deadline the client was told "
                          f"({when(told, tz, now)}): an answer by then needs no apology; move it with "
                          "`snooze` without --notify")
    return move_warnings(rules, until, now)


def move_warnings(rules: Rules, until: datetime, now: datetime) -> list[str]:
    """A time set by hand that falls on a day off or outside business hours."""
    calendar = rules.calendar()
    shown = when(until, rules.tz, now)
    reason = calendar.day_off_reason(calendar.local_date(until))
    if reason is not None:
        return [f"{shown} falls on a day off: {reason}"]
    if not calendar.is_open(until):
        hours = rules.business_hours
        return [f"{shown} is outside business hours ({hours.start:%H:%M}-{hours.end:%H:%M})"]
    return []


def snooze_and_tell(store: Store, ref: str, until: datetime, now: datetime, rules: Rules | None) -> Moved:
    """Move a thread's deadline; with `rules`, also tell the client: the notice is planned in the
    same transaction as the move, then the outbox sends it."""
    thread = find(store, ref)
    if not thread.waiting:
        raise MailtriageError(f"thread #{thread.number} is {thread.state}: only an open or overdue "
                              "thread has a deadline to move")
    notice = None
    with store.transaction():
        if rules is not None:
            from mailtriage.app.notices import plan

            notice = plan(store, rules, thread, until, now, ReplyKind.MOVED)
        store.snooze_thread(thread.id, until, now)
    if rules is None or notice is None:
        return Moved(find(store, str(thread.number)), notice)
    from mailtriage.app.check.outbox import send

    sending = send(store, rules, now)
    after = store.reply_by_id(notice.message_id)
    return Moved(find(store, str(thread.number)), notice, after.state if after else None,
                 sending.error if sending else None)


def wait(store: Store, ref: str, now: datetime, until: datetime | None) -> Thread:
    """The thread waits for the client: no deadline, never overdue, until the client writes again
    (a new deadline from that message); with `until`, the summary asks to chase it from then."""
    thread = find(store, ref)
    if thread.state in (ThreadState.IGNORED, ThreadState.CLOSED):
        raise MailtriageError(f"thread #{thread.number} is {thread.state}: nothing to wait for")
    if until is not None and until <= now:
        raise Refused(f"--until {until:%Y-%m-%d %H:%M} is in the past: "
                      "the time to chase the client must be later than now")
    with store.transaction():
        store.wait_for_client(thread.id, now, until)
    return find(store, str(thread.number))


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None
