"""When checks run: the configured check times in the user's zone, on business days unless
`check_on_days_off` says every day. Pure: the caller passes `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailtriage.config import Rules


def next_check(rules: Rules, now: datetime) -> datetime:
    """The first check time strictly after `now`, in the rules' time zone."""
    calendar = rules.calendar()
    day = calendar.local_date(now)
    times = sorted(rules.check_times)
    for offset in range(366 * 5):
        candidate = day + timedelta(days=offset)
        if not rules.check_on_days_off and not calendar.is_business_day(candidate):
            continue
        for clock in times:
            instant = calendar.at(candidate, clock)
            if instant > now.astimezone(UTC):
                return instant.astimezone(calendar.tz)
    raise ValueError("no check day in the next five years")
