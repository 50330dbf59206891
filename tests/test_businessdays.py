"""The business calendar: days off with their reasons, DST-safe instants, business time between two instants."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.errors import CalendarError

WARSAW = ZoneInfo("Europe/Warsaw")
PL = BusinessCalendar(tz=WARSAW, country="PL", extra=frozenset([date(2026, 12, 31)]),
                      away=((date(2026, 8, 3), date(2026, 8, 14)),))


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 11, 30), None),
        (date(2026, 11, 28), "not a working day (sat)"),
        (date(2026, 12, 24), "public holiday"),
        (date(2026, 12, 31), "own day off"),
        (date(2026, 8, 3), "away 2026-08-03 to 2026-08-14"),
        (date(2026, 8, 14), "away"),
        (date(2026, 8, 17), None),
    ],
)
def test_each_day_off_says_why(day: date, reason: str | None) -> None:
    found = PL.day_off_reason(day)
    assert (found is None) if reason is None else (found is not None and found.startswith(reason))


def test_subdivision_holidays_apply_only_to_that_region() -> None:
    # Epiphany (6 January) is a public holiday in Bavaria, not in Berlin.
    bavaria = BusinessCalendar(tz=ZoneInfo("Europe/Berlin"), country="DE", subdivision="BY")
    berlin = BusinessCalendar(tz=ZoneInfo("Europe/Berlin"), country="DE", subdivision="BE")
    assert not bavaria.is_business_day(date(2027, 1, 6))
    assert berlin.is_business_day(date(2027, 1, 6))


def test_opening_follows_the_local_clock_across_dst() -> None:
    assert PL.opening(date(2026, 3, 27)).isoformat() == "2026-03-27T07:00:00+00:00"
    assert PL.opening(date(2026, 3, 30)).isoformat() == "2026-03-30T06:00:00+00:00"


def test_a_skipped_wall_time_maps_to_the_moment_of_the_jump() -> None:
    calendar = BusinessCalendar(tz=ZoneInfo("America/New_York"))
    assert calendar.at(date(2026, 3, 8), time(2, 30)) == calendar.at(date(2026, 3, 8), time(3, 0))
    assert calendar.at(date(2026, 3, 8), time(1, 59)) < calendar.at(date(2026, 3, 8), time(2, 30))


def test_business_seconds_count_only_open_hours() -> None:
    friday_three = datetime(2026, 12, 4, 15, 0, tzinfo=WARSAW)
    monday_ten = datetime(2026, 12, 7, 10, 0, tzinfo=WARSAW)
    assert PL.business_seconds(friday_three, monday_ten) == 3 * 3600
    assert PL.business_seconds(monday_ten, friday_three) == 0


def test_business_seconds_across_the_dst_night_are_real_hours() -> None:
    start = datetime(2026, 3, 27, 12, 0, tzinfo=WARSAW)
    end = datetime(2026, 3, 30, 12, 0, tzinfo=WARSAW)
    assert PL.business_seconds(start, end) == 8 * 3600


def test_a_calendar_with_no_business_day_for_years_fails_clearly() -> None:
    never = BusinessCalendar(tz=WARSAW, away=((date(2026, 1, 1), date(2040, 1, 1)),))
    with pytest.raises(CalendarError, match="no business day"):
        never.next_business_day(date(2026, 5, 5))
