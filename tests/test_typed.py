"""What people type: one duration grammar for rules.yaml and --backfill, and dates or times on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtriage.core.typed import duration, moment

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize(("text", "expected"), [
    ("3 days", timedelta(days=3)), ("12 hours", timedelta(hours=12)), ("1 week", timedelta(weeks=1)),
    ("30 seconds", timedelta(seconds=30)), ("1 minute", timedelta(minutes=1)), ("3 Days", timedelta(days=3)),
    ("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)), ("2d", timedelta(days=2)),
    ("2 w", timedelta(weeks=2)),
])
def test_rules_and_command_line_durations_are_one_grammar(text: str, expected: timedelta) -> None:
    assert duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "3", "three days", "3 dayss", "-2d", "1.5h"])
def test_a_bad_duration_is_one_line_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a duration: .*; write e\.g\. '3 days'"):
        duration(text)


@pytest.mark.parametrize(("text", "expected", "has_time"), [
    ("2026-12-04", datetime(2026, 12, 4, tzinfo=WARSAW), False),
    ("2026-12-04T17:10", datetime(2026, 12, 4, 17, 10, tzinfo=WARSAW), True),
    ("2026-12-04 17:10", datetime(2026, 12, 4, 17, 10, tzinfo=WARSAW), True),
    ("4 Dec 2026 17:10", datetime(2026, 12, 4, 17, 10, tzinfo=WARSAW), True),
    ("December 4, 2026", datetime(2026, 12, 4, tzinfo=WARSAW), False),
])
def test_dates_and_times_typed_by_people(text: str, expected: datetime, has_time: bool) -> None:
    assert moment(text, WARSAW, NOW) == (expected, has_time)


NOW = datetime(2026, 12, 28, 9, 0, tzinfo=WARSAW)


def test_a_date_without_a_year_is_this_years_or_for_a_new_deadline_the_next_one_to_come() -> None:
    assert moment("4 Jan 12:00", WARSAW, NOW) == (datetime(2026, 1, 4, 12, 0, tzinfo=WARSAW), True)
    assert moment("4 Jan 12:00", WARSAW, NOW, ahead=True) == (datetime(2027, 1, 4, 12, 0, tzinfo=WARSAW), True)
    assert moment("30 Dec", WARSAW, NOW, ahead=True) == (datetime(2026, 12, 30, tzinfo=WARSAW), False)
    assert moment("28 Dec 8:00", WARSAW, NOW, ahead=True)[0].year == 2026  # today is not the past
    assert moment("29 Feb", WARSAW, NOW, ahead=True)[0] == datetime(2028, 2, 29, tzinfo=WARSAW)
    # the year is the user's: just after midnight on 1 January in Warsaw it is still 2026 in UTC
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert moment("2 Jan", WARSAW, new_year, ahead=True)[0] == datetime(2027, 1, 2, tzinfo=WARSAW)


def test_an_offset_given_is_kept() -> None:
    assert moment("2026-12-04T12:00+00:00", WARSAW, NOW)[0].utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "04/12/2026", "4.12.2026", "soon"])
def test_guesswork_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="^not a date or time: "):
        moment(text, WARSAW, NOW)
