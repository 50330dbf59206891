"""The deadline calendar: every unanswered thread as an iCalendar event at its deadline, with a reminder.

Each event's UID is derived from the thread's Message-ID, so a calendar app that re-reads the file (a
subscription) updates an event whose deadline moved instead of adding a second one. With `calendar:
{file: PATH}` in rules.yaml the file is rewritten after every check: a temporary file beside it, then
os.replace, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mailtriage.config.model import Rules
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.errors import MailtriageError
from mailtriage.store import reports
from mailtriage.store.db import Store

EVENT_LENGTH = timedelta(minutes=15)
PRODID = "-//mailtriage//deadlines//EN"


@dataclass(frozen=True)
class Event:
    """One thread's deadline, as the calendar shows it."""

    uid: str
    number: int
    deadline: datetime
    summary: str
    description: str
    overdue: bool

    def as_dict(self, tz: ZoneInfo | None = None) -> dict[str, object]:
        """For scripts: the deadline in `tz` (the user's time zone, as `threads --json` gives it)."""
        deadline = self.deadline.astimezone(tz) if tz is not None else self.deadline
        return {"uid": self.uid, "thread": self.number, "deadline": deadline.isoformat(),
                "summary": self.summary, "description": self.description, "overdue": self.overdue}


def uid(thread_id: str, domain: str) -> str:
    """The same UID for a thread every time: a digest of its Message-ID (which may hold anything)."""
    return f"{hashlib.sha256(thread_id.encode()).hexdigest()[:32]}@{domain or 'mailtriage'}"


def events(store: Store, rules: Rules, now: datetime) -> list[Event]:
    """One event per open or overdue thread with a deadline, the earliest first."""
    tz, language = rules.tz, rules.language
    pl = language == "pl"
    found = []
    for t in reports.unanswered(store):
        assert t.deadline is not None  # the query asks for one
        sender = f"{t.sender_name} <{t.sender}>" if t.sender_name else t.sender
        lines = [f"{'Od' if pl else 'From'}: {sender}", f"{'Wątek' if pl else 'Thread'} #{t.number}",
                 f"{'Otrzymano' if pl else 'Received'}: {when(t.opened_at, tz, now, language)}"]
        if t.snoozed_from:
            lines.append(f"{'Pierwotny termin' if pl else 'First promised'}: {when(t.snoozed_from, tz, now, language)}")
        found.append(Event(uid(t.id, rules.identity.domain), t.number, t.deadline,
                           f"{t.client or NO_CLIENT[language]}: {t.subject or ''}".rstrip(),
                           "\n".join(lines), t.deadline < now))
    return found


def to_ical(found: list[Event], rules: Rules, now: datetime) -> bytes:
    """The events as one VCALENDAR, times in UTC, each with a display alarm `calendar.alarm` before it."""
    from icalendar import Alarm, Calendar
    from icalendar import Event as VEvent

    alarm = rules.deadline_calendar.alarm if rules.deadline_calendar else timedelta(hours=1)
    pl = rules.language == "pl"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "mailtriage: terminy" if pl else "mailtriage: deadlines")
    for e in found:
        event = VEvent()
        event.add("uid", e.uid)
        event.add("dtstamp", now.replace(microsecond=0))
        event.add("dtstart", e.deadline)
        event.add("dtend", e.deadline + EVENT_LENGTH)
        event.add("summary", e.summary)
        event.add("description", e.description)
        event.add("transp", "TRANSPARENT")
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", e.summary)
        reminder.add("trigger", -alarm)
        event.add_component(reminder)
        cal.add_component(event)
    return bytes(cal.to_ical())


class CannotWrite(MailtriageError):
    """The calendar file cannot be written (a read-only folder, a parent that is a file)."""


def write_file(path: Path, data: bytes) -> None:
    """`write_atomically`, an OSError turned into one line."""
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise CannotWrite(f"calendar: cannot write {path}: {exc.strerror or exc}") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` whole: a temporary file (mode 0600) in the same folder, then os.replace."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def refresh(store: Store, rules: Rules, now: datetime) -> int | None:
    """After a check: rewrite calendar.file when rules.yaml names one; the number of events, or None."""
    if rules.deadline_calendar is None:
        return None
    found = events(store, rules, now)
    write_atomically(rules.deadline_calendar.file, to_ical(found, rules, now))
    return len(found)
