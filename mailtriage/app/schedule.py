"""When checks run: the configured check times in the user's zone, on business days unless
`check_on_days_off` says every day. Pure: the caller passes `now`.

A vacation (`away`) stops the summary but not the checks: the holding reply is what tells senders
of the absence and when the answer is due, so it must reach them while the absence lasts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar

CHECK, SUMMARY = "check", "summary"


def skip_reason(rules: Rules, day: date, what: str = CHECK) -> str | None:
    """Why `what` (a check or the summary) does not run on `day`; None when it runs."""
    if rules.check_on_days_off:
        return None
    return _days_of(rules, what).day_off_reason(day)


def _days_of(rules: Rules, what: str) -> BusinessCalendar:
    """The calendar whose business days are the days `what` runs on."""
    calendar = rules.calendar()
    return replace(calendar, away=()) if what == CHECK else calendar  # checks go on while away


def next_check(rules: Rules, now: datetime) -> datetime:
    """The first check time strictly after `now`, in the rules' time zone."""
    calendar, days = rules.calendar(), _days_of(rules, CHECK)
    day = calendar.local_date(now)
    times = sorted(rules.check_times)
    for offset in range(366 * 5):
        candidate = day + timedelta(days=offset)
        if not rules.check_on_days_off and not days.is_business_day(candidate):
            continue
        for clock in times:
            instant = calendar.at(candidate, clock)
            if instant > now.astimezone(UTC):
                return instant.astimezone(calendar.tz)
    raise ValueError("no check day in the next five years")
