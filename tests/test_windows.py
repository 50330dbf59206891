"""Deadlines in business time: the issue's worked examples, and properties over random calendars."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.windows import DAYS, HOURS, NEXT_CHECK, Window, deadline, parse_window

WARSAW = ZoneInfo("Europe/Warsaw")
PL = BusinessCalendar(tz=WARSAW, country="PL", extra=frozenset([date(2026, 12, 31)]),
                      away=((date(2026, 8, 3), date(2026, 8, 14)),))
CHECKS = (time(8), time(12), time(16))


def due(window: str, received: str, calendar: BusinessCalendar = PL) -> str:
    arrival = datetime.fromisoformat(received).replace(tzinfo=WARSAW)
    return deadline(parse_window(window), arrival, calendar, CHECKS).isoformat(timespec="minutes")


@pytest.mark.parametrize(
    ("window", "received", "expected"),
    [
        ("same business day", "2026-11-30T12:30", "2026-11-30T16:00+01:00"),
        ("1 business day", "2026-11-30T12:30", "2026-12-01T16:00+01:00"),
        ("next check", "2026-11-30T12:30", "2026-11-30T16:00+01:00"),
        ("next check", "2026-11-30T16:30", "2026-12-01T08:00+01:00"),
        ("4 business hours", "2026-12-04T17:10", "2026-12-07T12:00+01:00"),
        ("1 business day", "2026-12-23T15:00", "2026-12-28T16:00+01:00"),
        ("4 business hours", "2026-03-27T15:00", "2026-03-30T11:00+02:00"),
        ("1 business day", "2026-08-05T10:00", "2026-08-18T16:00+02:00"),
    ],
)
def test_issue_examples_give_the_promised_deadlines(window: str, received: str, expected: str) -> None:
    assert due(window, received) == expected


def test_business_hours_count_from_arrival_inside_office_hours() -> None:
    assert due("4 business hours", "2026-11-30T09:15") == "2026-11-30T13:15+01:00"
    assert due("8 business hours", "2026-11-30T09:15") == "2026-12-01T09:15+01:00"


def test_arrival_before_opening_counts_that_day_and_after_closing_the_next() -> None:
    assert due("same business day", "2026-11-30T06:00") == "2026-11-30T16:00+01:00"
    assert due("same business day", "2026-11-30T16:00") == "2026-12-01T16:00+01:00"
    assert due("same business day", "2026-11-28T11:00") == "2026-11-30T16:00+01:00"  # a Saturday


def test_own_day_off_and_new_year_are_skipped() -> None:
    # 31 Dec is an own day off, 1 Jan a public holiday: Wednesday 30 Dec + 1 day is Friday 2 Jan.
    assert due("1 business day", "2026-12-30T10:00") == "2027-01-04T16:00+01:00"


def test_next_check_ignores_check_times_outside_business_hours() -> None:
    calendar = PL
    arrival = datetime(2026, 11, 30, 16, 30, tzinfo=WARSAW)
    result = deadline(Window(NEXT_CHECK), arrival, calendar, (time(7), time(12), time(20)))
    assert result.isoformat() == "2026-12-01T12:00:00+01:00"


def test_next_check_without_a_promisable_check_time_is_an_error() -> None:
    with pytest.raises(ValueError, match="within business hours"):
        deadline(Window(NEXT_CHECK), datetime(2026, 11, 30, 9, tzinfo=WARSAW), PL, (time(6),))


def test_naive_arrival_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        deadline(Window(HOURS, 1), datetime(2026, 11, 30, 9), PL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 business hours", Window(HOURS, 4)),
        ("1 business hour", Window(HOURS, 1)),
        ("  Same  Business Day ", Window(DAYS, 0)),
        ("2 business days", Window(DAYS, 2)),
        ("1 business day", Window(DAYS, 1)),
        ("next check", Window(NEXT_CHECK)),
    ],
)
def test_window_spellings_parse_and_print_back(text: str, expected: Window) -> None:
    window = parse_window(text)
    assert window == expected
    assert parse_window(str(window)) == window


@pytest.mark.parametrize("text", ["2 days", "0 business hours", "business day", "4 hours", "5000 business days"])
def test_bad_window_spellings_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="business"):
        parse_window(text)


# --- properties over random calendars ---------------------------------------------------------

ZONES = ["Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC", "America/Santiago"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start_min = draw(st.integers(0, 23 * 60 - 1))
    end_min = draw(st.integers(start_min + 1, 23 * 60 + 59))
    first = date(2026, 1, 1)
    extra = draw(st.frozensets(st.integers(0, 800).map(lambda n: first + timedelta(days=n)), max_size=20))
    away_starts = draw(st.lists(st.integers(0, 800), max_size=3))
    away = tuple((first + timedelta(days=s), first + timedelta(days=s + draw(st.integers(0, 30))))
                 for s in away_starts)
    return BusinessCalendar(
        tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        weekdays=weekdays,
        start=time(start_min // 60, start_min % 60),
        end=time(end_min // 60, end_min % 60),
        country=draw(st.sampled_from([None, "PL", "US"])),
        extra=extra,
        away=away,
    )


windows = st.one_of(
    st.integers(1, 60).map(lambda n: Window(HOURS, n)),
    st.integers(0, 15).map(lambda n: Window(DAYS, n)),
    st.just(Window(NEXT_CHECK)),
)
arrivals = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1),
                        timezones=st.just(ZoneInfo("UTC")))
check_times = st.lists(st.times().map(lambda t: t.replace(second=0, microsecond=0)), min_size=1, max_size=4)


def _usable(window: Window, calendar: BusinessCalendar, checks: list[time]) -> bool:
    return window.kind != NEXT_CHECK or any(calendar.start <= t <= calendar.end for t in checks)


@settings(max_examples=300, deadline=None)
@given(calendars(), windows, arrivals, check_times)
def test_deadline_is_after_arrival_and_inside_business_time(
    calendar: BusinessCalendar, window: Window, arrival: datetime, checks: list[time]
) -> None:
    assume(_usable(window, calendar, checks))
    result = deadline(window, arrival, calendar, checks)
    assert result > arrival
    assert calendar.is_open(result), f"{result} is outside business time"


@settings(max_examples=300, deadline=None)
@given(calendars(), windows, arrivals, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
       check_times)
def test_a_later_arrival_never_gets_an_earlier_deadline(
    calendar: BusinessCalendar, window: Window, arrival: datetime, later: timedelta, checks: list[time]
) -> None:
    assume(_usable(window, calendar, checks))
    assert deadline(window, arrival + later, calendar, checks) >= deadline(window, arrival, calendar, checks)


@settings(max_examples=300, deadline=None)
@given(calendars(), windows, arrivals, st.integers(-3, 30), check_times)
def test_one_more_day_off_never_brings_a_deadline_earlier(
    calendar: BusinessCalendar, window: Window, arrival: datetime, offset: int, checks: list[time]
) -> None:
    assume(_usable(window, calendar, checks))
    day_off = arrival.astimezone(calendar.tz).date() + timedelta(days=offset)
    fewer = BusinessCalendar(tz=calendar.tz, weekdays=calendar.weekdays, start=calendar.start, end=calendar.end,
                             country=calendar.country, extra=calendar.extra | {day_off}, away=calendar.away)
    assert deadline(window, arrival, fewer, checks) >= deadline(window, arrival, calendar, checks)
