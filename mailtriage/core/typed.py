"""What people type: durations ('3 days', '24h') and dates or times ('2026-12-04T17:10', '4 Dec 17:10').

One grammar for each, used by rules.yaml and the command line alike; a `ValueError` says in one
line what was wrong and what to write instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_UNITS = {"s": "seconds", "sec": "seconds", "second": "seconds", "m": "minutes", "min": "minutes",
          "minute": "minutes", "h": "hours", "hour": "hours", "d": "days", "day": "days", "w": "weeks",
          "week": "weeks"}
DURATION = re.compile(r"(\d+)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h|days?|d|weeks?|w)", re.IGNORECASE)
DURATION_PATTERN = r"^\d+\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h|days?|d|weeks?|w)$"
DURATION_EXAMPLES = "e.g. '3 days', '12 hours', '24h', '90m'"


def duration(text: str) -> timedelta:
    """'3 days', '12 hours', '1 week', '24h', '90m', '2d' -> timedelta."""
    found = DURATION.fullmatch(text.strip())
    if not found:
        raise ValueError(f"not a duration: {text!r}; write {DURATION_EXAMPLES}")
    unit = found.group(2).lower()
    unit = unit[:-1] if len(unit) > 1 and unit.endswith("s") else unit  # days -> day, but s stays s
    return timedelta(**{_UNITS[unit]: int(found.group(1))})


AGE = re.compile(r"(\d+)\s*(days?|weeks?|months?|years?)", re.IGNORECASE)
AGE_PATTERN = r"^\d+\s*(days?|weeks?|months?|years?)$"
AGE_EXAMPLES = "e.g. '12 months', '2 years', '90 days'"


_DAYS = {"days": 1, "weeks": 7, "months": 31, "years": 366}
LONGEST_AGE_DAYS = 100 * 366  # a retention longer than this is 'forever' in all but name, and past year 1


def age(text: str) -> tuple[int, str]:
    """'12 months', '1 year', '90 days' -> (12, 'months'): how long records are kept. Months and years
    are calendar ones (`ago`), not a count of days."""
    found = AGE.fullmatch(text.strip())
    if not found or int(found.group(1)) < 1:
        raise ValueError(f"not a length of time to keep records: {text!r}; write {AGE_EXAMPLES}; "
                         "`retention: null` (at the top level) keeps records forever")
    count, unit = int(found.group(1)), found.group(2).lower()
    unit = unit if unit.endswith("s") else unit + "s"
    if count * _DAYS[unit] > LONGEST_AGE_DAYS:
        raise ValueError(f"{text!r} is longer than records can be kept (at most 100 years); "
                         "`retention: null` (at the top level) keeps records forever")
    return count, unit


def ago(text: str, now: datetime) -> datetime:
    """The instant `text` ('12 months') before `now`, by the calendar (31 March - 1 month = 28/29 February)."""
    from dateutil.relativedelta import relativedelta

    count, unit = age(text)
    earlier: datetime = now - relativedelta(**{unit: count})
    return earlier


def moment(text: str, tz: ZoneInfo, now: datetime, *, ahead: bool = False) -> tuple[datetime, bool]:
    """A date or a date and time typed by a person, in `tz` unless it names an offset; and whether it has a time.

    ISO 8601 first (2026-12-04, 2026-12-04T17:10, 2026-12-04 17:10+01:00), then what dateutil reads
    ('4 Dec 2026 17:10', 'Dec 4 17:10'). All-digit forms such as 04/12/2026 are refused as ambiguous: day or month first
    is a guess nobody should have to make about a deadline. A date without a year is in `now`'s year (in
    `tz`); with `ahead` (a new deadline), a day of that year already past means the next year's.
    """
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
        has_time = "T" in text.upper() or " " in text
    except ValueError:
        if not re.search(r"[A-Za-z]", text):
            if re.search(r"\d", text):  # 04/12/2026: the 4th of December or the 12th of April?
                raise ValueError(f"not a date or time: {text!r}: all-digit dates other than 2026-12-04 are "
                                 "refused as ambiguous (day or month first?)") from None
            raise ValueError(f"not a date or time: {text!r}") from None
        parsed, has_time = _dateutil(text, now.astimezone(tz).date(), ahead)
    return (parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed), has_time


def _dateutil(text: str, today: date, ahead: bool) -> tuple[datetime, bool]:
    from dateutil import parser

    # Parsed against two different defaults: what the text left out (the time, the year) comes out
    # different in each. (1 January of two leap years, so a typed 29 February parses in both.)
    try:
        one = parser.parse(text, default=datetime(2024, 1, 1, 0, 0))
        two = parser.parse(text, default=datetime(2028, 1, 1, 1, 1))
    except (ValueError, OverflowError):
        raise ValueError(f"not a date or time: {text!r}") from None
    has_time = (one.hour, one.minute) == (two.hour, two.minute)
    if one.year == two.year:
        return one, has_time
    for year in range(today.year, today.year + 5) if ahead else (today.year,):
        try:
            candidate = one.replace(year=year)
        except ValueError:  # 29 February in a year without one
            continue
        if candidate.date() >= today or not ahead:
            return candidate, has_time
    raise ValueError(f"not a date or time: {text!r} (give the year)")
