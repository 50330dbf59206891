"""The response windows in plain words (core/promises.py): the exact sentences, and each sentence read
as an independent rule and held to `windows.deadline` over three weeks of arrivals, holidays included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.promises import window_words
from mailtriage.core.windows import Window, deadline, parse_window
from mailtriage.core.wording import weekdays_text

WARSAW = ZoneInfo("Europe/Warsaw")
# Polish holidays (11 November, Christmas) and an own day off inside the weeks the arrivals cover.
CALENDAR = BusinessCalendar(WARSAW, country="PL", extra=frozenset({date(2026, 11, 13)}))
CHECKS = (time(8, 0), time(12, 0), time(16, 0), time(18, 0))  # 18:00 lies outside business hours
FIRST = datetime(2026, 11, 9, 0, 0, tzinfo=WARSAW)


def arrivals() -> list[datetime]:
    """Every 20 minutes for three weeks, plus each second around opening and closing."""
    found = [FIRST + timedelta(minutes=20 * i) for i in range(21 * 72)]
    for day in range(21):
        for clock in (time(8, 0), time(16, 0)):
            edge = datetime.combine(FIRST.date() + timedelta(days=day), clock, tzinfo=WARSAW)
            found += [edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
    return found


def counted_day(arrival: datetime) -> date:
    """The words: a message on a business day before closing counts that day, else the next business day."""
    day = arrival.astimezone(WARSAW).date()
    if CALENDAR.is_business_day(day) and arrival.astimezone(WARSAW).time() < time(16, 0):
        return day
    return CALENDAR.next_business_day(day)


def closing(day: date) -> datetime:
    return datetime.combine(day, time(16, 0), tzinfo=WARSAW)


@pytest.mark.parametrize(("window", "language", "expected"), [
    ("same business day", "pl", "tego samego dnia roboczego do 16:00, jeśli wiadomość przyjdzie w dzień roboczy "
     "przed 16:00; wiadomość, która przyjdzie później lub w dzień wolny — do 16:00 najbliższego dnia roboczego"),
    ("same business day", "en", "the same business day, by 16:00, for a message that arrives on a business day "
     "before 16:00; one that arrives later or on a day off, by 16:00 on the next business day"),
    ("1 business day", "pl", "w ciągu 1 dnia roboczego: do 16:00 następnego dnia roboczego po dniu, w którym "
     "wiadomość przyszła; wiadomość, która przyjdzie o 16:00 lub później albo w dzień wolny, liczy się jako "
     "otrzymana w najbliższym dniu roboczym"),
    ("3 business days", "en", "within 3 business days: by 16:00 on the third business day after the day the "
     "message arrives; a message that arrives at 16:00 or later, or on a day off, counts as received on the next "
     "business day"),
    ("1 business hour", "pl", "w ciągu 1 godziny roboczej; liczą się tylko godziny pracy, od 8:00 do 16:00 w dni "
     "robocze, więc dla wiadomości, która przyjdzie o 16:00 lub później albo w dzień wolny, czas liczy się od 8:00 "
     "najbliższego dnia roboczego"),
    ("4 business hours", "en", "within 4 business hours; only working hours count, 08:00 to 16:00 on business "
     "days, so for a message that arrives at 16:00 or later, or on a day off, the time counts from 08:00 on the next "
     "business day"),
    ("next check", "pl", "przy najbliższym przeglądzie poczty po nadejściu wiadomości (w dni robocze o 8:00, "
     "12:00 i 16:00)"),
    ("next check", "en", "at the next mail check after the message arrives (on business days at 08:00, 12:00 "
     "and 16:00)"),
])
def test_each_window_in_words(window: str, language: str, expected: str) -> None:
    assert window_words(parse_window(window), CALENDAR, CHECKS, language) == expected


@pytest.mark.parametrize("n", [2, 5, 22, 12])
def test_polish_hours_take_the_genitive_plural_after_w_ciagu(n: int) -> None:
    assert window_words(Window("business hours", n), CALENDAR, CHECKS, "pl").startswith(
        f"w ciągu {n} godzin roboczych;")


def test_same_business_day_keeps_what_it_says() -> None:
    for arrival in arrivals():
        assert deadline(parse_window("same business day"), arrival, CALENDAR) == closing(counted_day(arrival)), arrival


@pytest.mark.parametrize("n", [1, 2, 3])
def test_n_business_days_keep_what_they_say(n: int) -> None:
    for arrival in arrivals():
        day = counted_day(arrival)
        for _ in range(n):
            day = CALENDAR.next_business_day(day)
        assert deadline(Window("business days", n), arrival, CALENDAR) == closing(day), arrival


@pytest.mark.parametrize("n", [1, 4, 8, 11])
def test_business_hours_keep_what_they_say(n: int) -> None:
    """n hours of working time (8:00-16:00 on business days) after arrival, and not a second later."""
    for arrival in arrivals()[::3]:
        due = deadline(Window("business hours", n), arrival, CALENDAR)
        assert CALENDAR.business_seconds(arrival, due) == n * 3600, arrival
        assert CALENDAR.business_seconds(arrival, due - timedelta(seconds=1)) < n * 3600, arrival
        assert CALENDAR.is_open(due)


def test_next_check_keeps_what_it_says() -> None:
    """The first of 8:00, 12:00 and 16:00 on a business day after the arrival (18:00 is never promised)."""
    for arrival in arrivals():
        day = arrival.astimezone(WARSAW).date()
        slots = [datetime.combine(day + timedelta(days=d), t, tzinfo=WARSAW) for d in range(10)
                 for t in (time(8, 0), time(12, 0), time(16, 0))]
        first = min(s for s in slots if s > arrival and CALENDAR.is_business_day(s.date()))
        assert deadline(parse_window("next check"), arrival, CALENDAR, CHECKS) == first.astimezone(UTC), arrival


def test_working_days_in_words() -> None:
    assert weekdays_text([0, 1, 2, 3, 4], "pl") == "od poniedziałku do piątku"
    assert weekdays_text([0, 1, 2, 3, 4], "en") == "Monday to Friday"
    assert weekdays_text([0, 2, 4], "pl") == "poniedziałek, środa i piątek"
    assert weekdays_text(range(7), "en") == "every day"
