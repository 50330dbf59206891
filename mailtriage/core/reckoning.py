"""Why a deadline falls where it does: windows.deadline's arithmetic retold as steps, for people.

Pure: the window, the arrival instant, the calendar and the check times go in; the deadline (from
windows.deadline itself, so the explanation can never promise another time) and the steps come
out, e.g. "arrived Fri 4 Dec 17:10, after business hours (08:00–16:00) → counts from Mon 7 Dec
08:00", "4 business hours → Mon 7 Dec 12:00".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.windows import DAYS, HOURS, Window, deadline, promised_check_times
from mailtriage.core.wording import duration_text, when
from mailtriage.errors import CalendarError

_UTC = ZoneInfo("UTC")
_MOST_STEPS = 9  # a window of many business days: the first and last days tell the story
_DAY = timedelta(days=1)
_PLURAL = {"not a working day": "not working days", "public holiday": "public holidays"}


@dataclass(frozen=True)
class Reckoning:
    """A deadline and the steps that lead to it (deadline None: it cannot be computed, the last step says why)."""

    deadline: datetime | None
    steps: tuple[str, ...]


def reckon(window: Window, received: datetime, calendar: BusinessCalendar,
           check_times: Sequence[time] = ()) -> Reckoning:
    """The deadline of `window` for a message that arrived at `received`, step by step."""
    try:
        due = deadline(window, received, calendar, check_times)
        arrival, start = _arrival(received, calendar)
        if window.kind == HOURS:
            steps = _hours(window, start, calendar)
        elif window.kind == DAYS:
            steps = _days(window, start, calendar)
        else:
            steps = _next_check(calendar, check_times)
    except (ValueError, CalendarError) as exc:
        return Reckoning(None, (f"{window} cannot be computed: {exc}",))
    return Reckoning(due, (*arrival, *_shorten(steps[:-1]), f"{steps[-1]} → due {_at(due, calendar)}"))


def _arrival(received: datetime, calendar: BusinessCalendar) -> tuple[list[str], datetime]:
    """The arrival step(s), and the instant from which business time counts."""
    day = calendar.local_date(received)
    hours = f"{calendar.start:%H:%M}–{calendar.end:%H:%M}"
    off = calendar.day_off_reason(day)
    said = f"arrived {_at(received, calendar)}"
    if off is None and calendar.opening(day) <= received < calendar.closing(day):
        return [f"{said}, within business hours ({hours})"], received
    if off is None and received < calendar.opening(day):
        start = calendar.opening(day)
        return [f"{said}, before business hours ({hours}) → counts from {_at(start, calendar)}"], start
    why = (f"after business hours ({hours})" if off is None
           else off if off.startswith("not a working day") else f"not a business day: {off}")
    first = calendar.next_business_day(day)
    start = calendar.opening(first)
    return [f"{said}, {why} → counts from {_at(start, calendar)}", *_skipped(day + _DAY, first, calendar)], start


def _hours(window: Window, start: datetime, calendar: BusinessCalendar) -> list[str]:
    """Business time taken day by day, as windows._after_business_hours counts it."""
    remaining, steps, previous = timedelta(hours=window.count), [], None
    for day in calendar.business_days(calendar.local_date(start)):
        if previous is not None:
            steps += _skipped(previous + _DAY, day, calendar)
        previous = day
        begin, close = max(calendar.opening(day), start), calendar.closing(day)
        if begin >= close:
            continue
        used = min(close - begin, remaining)
        remaining -= used
        steps.append(f"{_day(day)} {_clock(begin, calendar)}–{_clock(begin + used, calendar)}: "
                     f"{duration_text(used.total_seconds(), 'en')}")
        if not remaining:
            break
    return [*(steps if len(steps) > 1 else []), str(window)]  # one day's part says no more than the window


def _days(window: Window, start: datetime, calendar: BusinessCalendar) -> list[str]:
    """The arrival business day, then `count` more business days; due at closing time."""
    first = day = calendar.local_date(start)
    steps = []
    for _ in range(window.count):
        following = calendar.next_business_day(day)
        steps += _skipped(day + _DAY, following, calendar)
        day = following
    last = f"{window} after {_day(first)}" if window.count else f"{window} ({_day(first)})"
    return [*steps, f"{last}, at closing time {calendar.end:%H:%M}"]


def _next_check(calendar: BusinessCalendar, check_times: Sequence[time]) -> list[str]:
    """Which check times are promised; the deadline is the first of them after the arrival on a business day."""
    slots = promised_check_times(calendar, check_times)
    outside = [f"{t:%H:%M}" for t in sorted(check_times) if t not in slots]
    step = f"next check: the first check after arrival on a business day at {', '.join(f'{t:%H:%M}' for t in slots)}"
    if outside:
        step += f" ({', '.join(outside)}: outside business hours, never promised)"
    return [step]


def _skipped(first: date, stop: date, calendar: BusinessCalendar) -> list[str]:
    """One step for a run of days off (from `first` up to, not including, `stop`), with why."""
    if first >= stop:
        return []
    kinds: dict[str, list[str]] = {}  # "public holiday" -> ["Christmas Eve", "Christmas Day"]
    day = first
    while day < stop:
        why = calendar.day_off_reason(day) or "a business day"
        kind, _, detail = why.partition(" (")
        named = kinds.setdefault(kind, [])
        if detail and detail[:-1] not in named:
            named.append(detail[:-1])
        day += _DAY
    reasons = [f"{_PLURAL.get(kind, kind) if len(named) > 1 else kind}" + (f" ({', '.join(named)})" if named else "")
               for kind, named in kinds.items()]
    span = _day(first) if stop - first == _DAY else f"{_day(first)} – {_day(stop - _DAY)}"
    return [f"skipped {span}: {'; '.join(reasons)}"]


def _shorten(steps: list[str]) -> list[str]:
    if len(steps) <= _MOST_STEPS:
        return steps
    return [*steps[:4], f"… {len(steps) - 7} more steps like these …", *steps[-3:]]


def _at(instant: datetime, calendar: BusinessCalendar) -> str:
    return when(instant, calendar.tz, instant)  # the steps are of one week: no year needed


def _day(day: date) -> str:
    noon = datetime.combine(day, time(12), tzinfo=_UTC)
    return when(noon, _UTC, noon).rsplit(" ", 1)[0]


def _clock(instant: datetime, calendar: BusinessCalendar) -> str:
    return f"{instant.astimezone(calendar.tz):%H:%M}"
