"""reckoning.reckon: the steps behind a deadline, in words, always ending at windows.deadline's answer."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.reckoning import reckon
from mailtriage.core.windows import deadline, parse_window

WARSAW = ZoneInfo("Europe/Warsaw")
POLAND = BusinessCalendar(WARSAW, country="PL")
CHECKS = (time(8), time(12), time(16))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW)


def steps(window: str, received: str, calendar: BusinessCalendar = POLAND,
          check_times: tuple[time, ...] = CHECKS) -> list[str]:
    return list(reckon(parse_window(window), at(received), calendar, check_times).steps)


def test_after_hours_on_a_friday_counts_from_monday_morning() -> None:
    assert steps("4 business hours", "2026-12-04T17:10") == [
        "arrived Fri 4 Dec 17:10, after business hours (08:00–16:00) → counts from Mon 7 Dec 08:00",
        "skipped Sat 5 Dec – Sun 6 Dec: not working days (sat, sun)",
        "4 business hours → due Mon 7 Dec 12:00",
    ]


def test_hours_spanning_a_public_holiday_show_each_day_and_the_holiday() -> None:
    assert steps("4 business hours", "2026-11-10T14:00") == [
        "arrived Tue 10 Nov 14:00, within business hours (08:00–16:00)",
        "Tue 10 Nov 14:00–16:00: 2 h",
        "skipped Wed 11 Nov: public holiday (National Independence Day)",
        "Thu 12 Nov 08:00–10:00: 2 h",
        "4 business hours → due Thu 12 Nov 10:00",
    ]


def test_arrival_on_a_holiday_and_before_opening() -> None:
    assert steps("same business day", "2026-11-11T10:00")[0] == (
        "arrived Wed 11 Nov 10:00, not a business day: public holiday (National Independence Day) → counts from "
        "Thu 12 Nov 08:00")
    assert steps("same business day", "2026-11-23T07:10") == [
        "arrived Mon 23 Nov 07:10, before business hours (08:00–16:00) → counts from Mon 23 Nov 08:00",
        "same business day (Mon 23 Nov), at closing time 16:00 → due Mon 23 Nov 16:00",
    ]


def test_business_days_skip_christmas_and_a_vacation_in_one_step_each() -> None:
    assert steps("2 business days", "2026-12-23T15:00")[1:] == [
        "skipped Thu 24 Dec – Sun 27 Dec: public holidays (Christmas Eve, Christmas Day); not working days (sat, sun)",
        "2 business days after Wed 23 Dec, at closing time 16:00 → due Tue 29 Dec 16:00",
    ]
    away = BusinessCalendar(WARSAW, country="PL", away=((date(2026, 12, 7), date(2026, 12, 18)),))
    assert steps("1 business day", "2026-12-04T15:59", away)[1] == (
        "skipped Sat 5 Dec – Sun 20 Dec: not working days (sat, sun); away 2026-12-07 to 2026-12-18")


def test_next_check_names_the_promised_check_times() -> None:
    assert steps("next check", "2026-11-23T12:30", check_times=(time(7), time(12), time(16))) == [
        "arrived Mon 23 Nov 12:30, within business hours (08:00–16:00)",
        "next check: the first check after arrival on a business day at 12:00, 16:00 (07:00: outside business "
        "hours, never promised) → due Mon 23 Nov 16:00",
    ]


def test_a_long_window_is_shortened_in_the_middle() -> None:
    told = steps("300 business hours", "2026-11-02T10:00")
    assert len(told) <= 11 and any("more steps like these" in step for step in told)
    assert told[-1] == "300 business hours → due Mon 28 Dec 14:00"


def test_a_window_that_cannot_be_computed_says_why() -> None:
    told = reckon(parse_window("next check"), at("2026-11-23T12:30"), POLAND, (time(20),))
    assert told.deadline is None and told.steps[0].startswith("next check cannot be computed: ")


@pytest.mark.parametrize("window", ["4 business hours", "13 business hours", "same business day",
                                    "3 business days", "next check"])
def test_the_steps_end_where_windows_deadline_does_across_a_dst_change_and_holidays(window: str) -> None:
    arrival = at("2026-10-22T06:45")  # over the end of summer time, All Saints' Day and a weekend
    for _ in range(60):
        told = reckon(parse_window(window), arrival, POLAND, CHECKS)
        due = deadline(parse_window(window), arrival, POLAND, CHECKS)
        assert told.deadline == due and told.steps[-1].endswith(f"{due:%H:%M}")
        parts = [step for step in told.steps if re.match(r"\w{3} \d+ \w{3} \d\d:\d\d–\d\d:\d\d: ", step)]
        if parts:  # the business time counted day by day adds up to the window and ends at the deadline
            assert parts[-1].split("–")[1][:5] == f"{due:%H:%M}"
        arrival += timedelta(hours=7, minutes=13)


def test_arrival_on_a_weekend_says_so_once() -> None:
    assert steps("same business day", "2026-11-29T10:00")[0] == (
        "arrived Sun 29 Nov 10:00, not a working day (sun) → counts from Mon 30 Nov 08:00")
