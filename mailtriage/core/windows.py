"""Response windows ("4 business hours", "same business day", "next check") and their deadlines.

Pure logic over a BusinessCalendar; `received` is the message's arrival instant. Every deadline
lies in business time (opening and closing included) and after the arrival, and it never moves
earlier for a later arrival or for a calendar with one more day off: the property tests hold us
to that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from mailtriage.core.businessdays import BusinessCalendar

HOURS, DAYS, NEXT_CHECK = "business hours", "business days", "next check"
MAX_COUNT = 1000

WINDOW_FORMS = "'N business hours', 'same business day', 'N business days' or 'next check'"

_HOURS_RE = re.compile(r"(\d+)\s+business\s+hours?")
_DAYS_RE = re.compile(r"(\d+)\s+business\s+days?")
_SAME_RE = re.compile(r"same\s+business\s+day")
_CHECK_RE = re.compile(r"next\s+check")


@dataclass(frozen=True)
class Window:
    """How long a sender may wait: `count` business hours or days, or until the next check."""

    kind: str
    count: int = 0

    def __str__(self) -> str:
        if self.kind == NEXT_CHECK:
            return "next check"
        if self.kind == DAYS and self.count == 0:
            return "same business day"
        unit = self.kind[:-1] if self.count == 1 else self.kind
        return f"{self.count} {unit}"

    @property
    def within(self) -> str:
        """The window after a verb: 'within 4 business hours', 'within the same business day', 'by the next check'."""
        if self.kind == NEXT_CHECK:
            return "by the next check"
        return f"within the {self}" if self.kind == DAYS and self.count == 0 else f"within {self}"


def parse_window(text: str) -> Window:
    """Parse the rules.yaml spelling of a window; ValueError names the accepted forms."""
    spelled = " ".join(str(text).lower().split())
    if _CHECK_RE.fullmatch(spelled):
        return Window(NEXT_CHECK)
    if _SAME_RE.fullmatch(spelled):
        return Window(DAYS, 0)
    for pattern, kind in ((_HOURS_RE, HOURS), (_DAYS_RE, DAYS)):
        found = pattern.fullmatch(spelled)
        if found:
            count = int(found.group(1))
            if not 1 <= count <= MAX_COUNT:
                raise ValueError(f"{kind} must be between 1 and {MAX_COUNT}, not {count}")
            return Window(kind, count)
    raise ValueError(f"not a window: {text!r}; write {WINDOW_FORMS}")


def deadline(
    window: Window,
    received: datetime,
    calendar: BusinessCalendar,
    check_times: Sequence[time] = (),
) -> datetime:
    """When the real answer to a message that arrived at `received` is due, in the calendar's zone."""
    if received.tzinfo is None:
        raise ValueError("received must be timezone-aware")
    arrival = received.astimezone(UTC)
    if window.kind == HOURS:
        due = _after_business_hours(arrival, window.count, calendar)
    elif window.kind == DAYS:
        due = _after_business_days(arrival, window.count, calendar)
    elif window.kind == NEXT_CHECK:
        due = _next_check(arrival, calendar, check_times)
    else:
        raise ValueError(f"unknown window kind {window.kind!r}")
    return due.astimezone(calendar.tz)


def _after_business_hours(arrival: datetime, hours: int, calendar: BusinessCalendar) -> datetime:
    """Count `hours` of business time from arrival, or from the next opening if the office is shut."""
    remaining = timedelta(hours=hours)
    for day in calendar.business_days(calendar.local_date(arrival)):
        begin = max(calendar.opening(day), arrival)
        close = calendar.closing(day)
        if begin >= close:
            continue
        if close - begin >= remaining:
            return begin + remaining
        remaining -= close - begin
    raise AssertionError("business_days() ends only by raising")  # pragma: no cover


def _arrival_business_day(arrival: datetime, calendar: BusinessCalendar) -> datetime:
    """The closing instant of the day the message counts as received on.

    That is the arrival day when it is a business day and the office has not closed yet,
    otherwise the next business day.
    """
    day = calendar.local_date(arrival)
    if calendar.is_business_day(day) and arrival < calendar.closing(day):
        return calendar.closing(day)
    return calendar.closing(calendar.next_business_day(day))


def _after_business_days(arrival: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """Closing time on the Nth business day after the arrival business day (N=0: that day)."""
    closing = _arrival_business_day(arrival, calendar)
    day = calendar.local_date(closing)
    for _ in range(days):
        day = calendar.next_business_day(day)
    return calendar.closing(day)


def promised_check_times(calendar: BusinessCalendar, check_times: Sequence[time]) -> list[time]:
    """Check times that fall in business hours: only those can be promised as a deadline."""
    return sorted(t for t in check_times if calendar.start <= t <= calendar.end)


def _next_check(arrival: datetime, calendar: BusinessCalendar, check_times: Sequence[time]) -> datetime:
    """The first check after arrival that falls on a business day, within business hours."""
    slots = promised_check_times(calendar, check_times)
    if not slots:
        raise ValueError("'next check' needs a check time within business hours")
    for day in calendar.business_days(calendar.local_date(arrival)):
        for slot in slots:
            instant = calendar.at(day, slot)
            if instant > arrival:
                return instant
    raise AssertionError("business_days() ends only by raising")  # pragma: no cover
