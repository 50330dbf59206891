"""The business calendar: which days are worked, and when the office opens and closes on them.

Pure logic, no I/O: every question takes the date or instant it is about. Instants go in and come
out as timezone-aware datetimes; arithmetic is done in UTC, because Python subtracts and compares
two datetimes that share one tzinfo by their wall-clock times, which is wrong across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailtriage.errors import CalendarError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar with no business day in this many days is broken (say, `away` covers years);
# give a clear error instead of looping for ever.
SEARCH_LIMIT_DAYS = 5 * 366


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in one time zone, minus public holidays, own days off and vacations."""

    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset(range(5))  # Monday is 0, as in date.weekday()
    start: time = time(8, 0)
    end: time = time(16, 0)
    country: str | None = None
    subdivision: str | None = None
    extra: frozenset[date] = frozenset()
    away: tuple[tuple[date, date], ...] = ()
    _public: dict[int, dict[date, str]] = field(default_factory=dict, compare=False, repr=False)

    def public_holidays(self, year: int) -> dict[date, str]:
        """Public holidays of `country` in `year`, loaded once per year (the package is slow-ish)."""
        if self.country is None:
            return {}
        if year not in self._public:
            import holidays  # imported here: it is heavy and only the calendar needs it

            found = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
            self._public[year] = {day: str(name) for day, name in found.items()}
        return self._public[year]

    def day_off_reason(self, day: date) -> str | None:
        """Why `day` is not a business day, or None when it is one."""
        if day.weekday() not in self.weekdays:
            return f"not a working day ({WEEKDAYS[day.weekday()]})"
        holiday = self.public_holidays(day.year).get(day)
        if holiday:
            return f"public holiday ({holiday})"
        if day in self.extra:
            return "own day off"
        for first, last in self.away:
            if first <= day <= last:
                return f"away {first.isoformat()} to {last.isoformat()}"
        return None

    def is_business_day(self, day: date) -> bool:
        return self.day_off_reason(day) is None

    def business_days(self, first: date) -> Iterator[date]:
        """Business days from `first` (included when it is one), in order, without end.

        Raises CalendarError after SEARCH_LIMIT_DAYS days in a row with no business day.
        """
        day, idle = first, 0
        while idle < SEARCH_LIMIT_DAYS:
            if self.is_business_day(day):
                idle = 0
                yield day
            else:
                idle += 1
            day += timedelta(days=1)
        raise CalendarError(
            f"no business day in the {SEARCH_LIMIT_DAYS} days from {first.isoformat()}: "
            "check business_hours.days, holidays and away in rules.yaml"
        )

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        return next(iter(self.business_days(day + timedelta(days=1))))

    def at(self, day: date, clock: time) -> datetime:
        """The instant (in UTC) when local wall-clock time `clock` is reached on `day`.

        A wall time skipped by a DST jump maps to the instant of the jump, which keeps the mapping
        monotonic (a later wall time is never an earlier instant); a repeated wall time maps to
        its first occurrence.
        """
        local = datetime.combine(day, clock, tzinfo=self.tz)
        instant = local.astimezone(UTC)
        if instant.astimezone(self.tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return instant
        # Skipped: the jump lies between the readings of the wall time with either offset.
        early = local.replace(fold=1).astimezone(UTC)
        offset = early.astimezone(self.tz).utcoffset()
        step = timedelta(minutes=1)
        while early < instant and (early + step).astimezone(self.tz).utcoffset() == offset:
            early += step
        return early + step if early < instant else instant

    def opening(self, day: date) -> datetime:
        return self.at(day, self.start)

    def closing(self, day: date) -> datetime:
        return self.at(day, self.end)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def is_open(self, instant: datetime) -> bool:
        """True when `instant` lies in business time (opening and closing included)."""
        day = self.local_date(instant)
        return self.is_business_day(day) and self.opening(day) <= instant <= self.closing(day)

    def business_seconds(self, begin: datetime, finish: datetime) -> float:
        """Business time between two instants, in seconds: what a response time is measured in."""
        if finish <= begin:
            return 0.0
        total = 0.0
        for day in self.business_days(self.local_date(begin)):
            if self.opening(day) >= finish:
                break
            lo, hi = max(self.opening(day), begin), min(self.closing(day), finish)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total


def aware(instant: datetime, tz: ZoneInfo) -> datetime:
    """`instant` made timezone-aware: a naive one is read as local time in `tz`."""
    return instant.replace(tzinfo=tz) if instant.tzinfo is None else instant
