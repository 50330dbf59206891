"""How well each client's window was kept: threads, share answered in time, median response.

The figures come from `store.reports.client_figures`, all in SQL. Per client, over threads opened
in the period:
- `threads`: threads that needed an answer (ignored ones do not count);
- `in_time` / `judged`: answered by the deadline, out of those answered or already past due;
- `median_business_hours`: median response time, in business hours, of the answered ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from mailtriage.core.models import DEFAULT_ACCOUNT
from mailtriage.store import reports
from mailtriage.store.db import Store


@dataclass(frozen=True)
class ClientStats:
    """One client's figures; senders no client matched come back as client None, as in every other JSON."""

    client: str | None
    days: int
    threads: int
    answered: int
    judged: int
    in_time: int
    median_business_hours: float | None
    median_hours: float | None
    account: str = DEFAULT_ACCOUNT  # rules.yaml `accounts:`; a client of two accounts is a row in each

    @property
    def share_in_time(self) -> float | None:
        return self.in_time / self.judged if self.judged else None

    def as_dict(self) -> dict[str, str | int | float | None]:
        data = asdict(self)
        data["share_in_time"] = None if self.share_in_time is None else round(self.share_in_time, 4)
        return data


def client_stats(store: Store, now: datetime, days: int) -> list[ClientStats]:
    """One row per client (of each account) with threads in the last `days` days, busiest first."""
    return [ClientStats(
        client=None if row.client == reports.NO_CLIENT else row.client, days=days, threads=row.threads,
        answered=row.answered, judged=row.answered + row.late, in_time=row.in_time,
        median_business_hours=_hours(row.median_business_seconds), median_hours=_hours(row.median_seconds),
        account=row.account,
    ) for row in reports.client_figures(store, now - timedelta(days=days), now)]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)
