"""Generated wording as a native speaker writes it: prepositions, cases, plurals, lists, decimals, times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mailtriage.core.wording import (
    clock,
    day_text,
    deadline_text,
    decimal,
    duration_text,
    join,
    moved_text,
    plural,
    when,
)

TODAY = date(2026, 11, 30)  # a Monday
WARSAW = ZoneInfo("Europe/Warsaw")
WATKI = ("wątek", "wątki", "wątków")


@pytest.mark.parametrize(("n", "text"), [(0, "0 wątków"), (1, "1 wątek"), (2, "2 wątki"), (4, "4 wątki"),
                                         (5, "5 wątków"), (12, "12 wątków"), (14, "14 wątków"), (22, "22 wątki"),
                                         (25, "25 wątków"), (102, "102 wątki"), (112, "112 wątków")])
def test_polish_plurals_follow_the_last_digits(n: int, text: str) -> None:
    assert plural(n, WATKI) == text


def test_other_polish_nouns_and_english_plurals() -> None:
    answers, messages = ("odpowiedź", "odpowiedzi", "odpowiedzi"), ("wiadomość", "wiadomości", "wiadomości")
    assert [plural(n, answers) for n in (1, 3, 5)] == ["1 odpowiedź", "3 odpowiedzi", "5 odpowiedzi"]
    assert [plural(n, messages) for n in (1, 2, 21)] == ["1 wiadomość", "2 wiadomości", "21 wiadomości"]
    replies = ("holding reply", "holding replies")
    assert [plural(n, replies) for n in (0, 1, 2)] == ["0 holding replies", "1 holding reply", "2 holding replies"]
    assert plural(1, ("thread", "threads")) == "1 thread"


def test_lists_decimals_and_clock_times() -> None:
    hours = [clock(time(h), "pl") for h in (8, 12, 16)]
    assert f"o {join(hours, 'pl')}" == "o 8:00, 12:00 i 16:00"
    assert join([clock(time(h), "en") for h in (8, 12, 16)], "en") == "08:00, 12:00 and 16:00"
    assert join(["8:00"], "pl") == "8:00" and join(["a", "b"], "en") == "a and b"
    assert decimal(0, 1, "pl") == "0,0" and decimal(2.25, 1, "en") == "2.2"
    assert clock(time(0, 30), "pl") == "0:30"


# Monday 30 November 2026 to Sunday 6 December: every weekday, with 'w/we' and 'z/ze'.
@pytest.mark.parametrize(("day", "on", "since", "until"), [
    (date(2026, 11, 30), "w poniedziałek 30 listopada", "z poniedziałku 30 listopada", "do poniedziałku 30 listopada"),
    (date(2026, 12, 1), "we wtorek 1 grudnia", "z wtorku 1 grudnia", "do wtorku 1 grudnia"),
    (date(2026, 12, 2), "we środę 2 grudnia", "ze środy 2 grudnia", "do środy 2 grudnia"),
    (date(2026, 12, 3), "w czwartek 3 grudnia", "z czwartku 3 grudnia", "do czwartku 3 grudnia"),
    (date(2026, 12, 4), "w piątek 4 grudnia", "z piątku 4 grudnia", "do piątku 4 grudnia"),
    (date(2026, 12, 5), "w sobotę 5 grudnia", "z soboty 5 grudnia", "do soboty 5 grudnia"),
    (date(2026, 12, 6), "w niedzielę 6 grudnia", "z niedzieli 6 grudnia", "do niedzieli 6 grudnia"),
])
def test_every_polish_weekday_takes_its_preposition_and_case(day: date, on: str, since: str, until: str) -> None:
    assert day_text(day, "pl", today=TODAY, role="on") == on
    assert day_text(day, "pl", today=TODAY, role="from") == since
    assert day_text(day, "pl", today=TODAY, role="until") == until


@pytest.mark.parametrize(("when_", "language", "text"), [
    (datetime(2026, 12, 1, 16, 0), "pl", "do wtorku 1 grudnia, godz. 16:00"),
    (datetime(2026, 12, 1, 16, 0), "en", "by Tuesday 1 December, 16:00"),
    (datetime(2026, 12, 2, 9, 30), "pl", "do środy 2 grudnia, godz. 9:30"),
    (datetime(2027, 1, 4, 16, 0), "pl", "do poniedziałku 4 stycznia 2027, godz. 16:00"),
    (datetime(2027, 1, 4, 16, 0), "en", "by Monday 4 January 2027, 16:00"),
])
def test_deadlines_are_written_for_people(when_: datetime, language: str, text: str) -> None:
    assert deadline_text(when_, language, today=TODAY) == text


def test_full_sentences_read_as_a_native_speaker_writes_them() -> None:
    back, last = date(2026, 12, 1), date(2026, 11, 30)
    assert (f"Jestem poza biurem {day_text(last, 'pl', today=TODAY, role='until')}; wracam do pracy "
            f"{day_text(back, 'pl', today=TODAY, role='on')}.") == \
        "Jestem poza biurem do poniedziałku 30 listopada; wracam do pracy we wtorek 1 grudnia."
    assert day_text(back, "pl", today=TODAY, role="until", bare=True) == "wtorku 1 grudnia"
    old, new = datetime(2026, 12, 2, 16, 0), datetime(2026, 12, 3, 16, 0)
    assert f"Termin przesunięty {moved_text(old, new, 'pl', today=TODAY)}." == \
        "Termin przesunięty ze środy 2 grudnia, godz. 16:00 na czwartek 3 grudnia, godz. 16:00."
    assert f"Deadline moved {moved_text(old, new, 'en', today=TODAY)}." == \
        "Deadline moved from Wednesday 2 December, 16:00 to Thursday 3 December, 16:00."
    assert f"I am back at work {day_text(back, 'en', today=TODAY, role='on')}." == \
        "I am back at work on Tuesday 1 December."


def test_one_short_format_for_every_time_shown() -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert when(datetime(2026, 11, 30, 15, 0, tzinfo=UTC), WARSAW, now) == "Mon 30 Nov 16:00"
    assert when(datetime(2026, 12, 2, 7, 0, tzinfo=UTC), WARSAW, now, "pl") == "śr. 2 gru 08:00"
    assert when(datetime(2027, 1, 4, 15, 0, tzinfo=UTC), WARSAW, now) == "Mon 4 Jan 2027 16:00"
    assert when(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), WARSAW, now) == "Fri 1 Jan 2027 00:30"


def test_durations_take_plural_days() -> None:
    assert [duration_text(s, "pl") for s in (86400, 2 * 86400 + 7200, 5 * 86400)] == ["1 dzień", "2 dni 2 h", "5 dni"]
    assert duration_text(86400 + 60, "en") == "1 day" and duration_text(7800, "en") == "2 h 10 min"
