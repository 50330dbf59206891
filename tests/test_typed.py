"""What people type: one duration grammar for rules.yaml and --backfill, and dates or times on the command line."""

from __future__ import annotations

from datetime import datetime, timedelta
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
    assert moment(text, WARSAW) == (expected, has_time)


def test_an_offset_given_is_kept() -> None:
    assert moment("2026-12-04T12:00+00:00", WARSAW)[0].utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "04/12/2026", "4.12.2026", "soon"])
def test_guesswork_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="^not a date or time: "):
        moment(text, WARSAW)
