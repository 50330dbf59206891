"""How well each client's window was kept: threads, share answered in time, median response.

All in SQL over indexed columns (a median by window functions), so 100,000 threads cost a few
queries, not a Python loop. Per client, over threads opened in the period:
- `threads`: threads that needed an answer (ignored ones do not count);
- `in_time` / `judged`: answered by the deadline, out of those answered or already past due;
- `median_business_hours`: median response time, in business hours, of the answered ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from mailtriage.store.db import Store, iso

# Senders no client matched are grouped under '' in SQL (no client may have an empty name), and
# come back as client None, as in every other JSON.
_NO_CLIENT = ""


@dataclass(frozen=True)
class ClientStats:
    client: str | None
    days: int
    threads: int
    answered: int
    judged: int
    in_time: int
    median_business_hours: float | None
    median_hours: float | None

    @property
    def share_in_time(self) -> float | None:
        return self.in_time / self.judged if self.judged else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["share_in_time"] = None if self.share_in_time is None else round(self.share_in_time, 4)
        return data


def client_stats(store: Store, now: datetime, days: int) -> list[ClientStats]:
    """One row per client with threads in the last `days` days, busiest first."""
    since, now_text = iso(now - timedelta(days=days)), iso(now)
    c = f"coalesce(client, '{_NO_CLIENT}')"
    threads = _by_client(store, f"SELECT {c} AS c, count(*) AS n FROM threads WHERE state != 'ignored'"
                                f" AND opened_at >= ? GROUP BY c", [since])
    answers = {row["c"]: row for row in store.db.query(
        f"SELECT {c} AS c, count(*) AS n, sum(within_window) AS in_time FROM answers WHERE opened_at >= ?"
        " GROUP BY c", [since])}
    late = _by_client(store, f"SELECT {c} AS c, count(*) AS n FROM threads WHERE state IN ('open', 'overdue')"
                             " AND opened_at >= ? AND deadline < ? GROUP BY c", [since, now_text])
    medians = {row["c"]: row for row in store.db.query(
        f"WITH r AS (SELECT {c} AS c, business_seconds AS b, response_seconds AS w,"
        f" row_number() OVER (PARTITION BY {c} ORDER BY business_seconds) AS rb,"
        f" row_number() OVER (PARTITION BY {c} ORDER BY response_seconds) AS rw,"
        f" count(*) OVER (PARTITION BY {c}) AS n FROM answers WHERE opened_at >= ?)"
        " SELECT c, avg(CASE WHEN rb IN ((n + 1) / 2, (n + 2) / 2) THEN b END) AS b,"
        " avg(CASE WHEN rw IN ((n + 1) / 2, (n + 2) / 2) THEN w END) AS w FROM r GROUP BY c", [since])}
    result = []
    for client in sorted(set(threads) | set(answers), key=lambda k: (-threads.get(k, 0), k)):
        answered = answers.get(client)
        median = medians.get(client)
        result.append(ClientStats(
            client=None if client == _NO_CLIENT else client, days=days, threads=threads.get(client, 0),
            answered=answered["n"] if answered else 0,
            judged=(answered["n"] if answered else 0) + late.get(client, 0),
            in_time=answered["in_time"] if answered else 0,
            median_business_hours=_hours(median["b"]) if median else None,
            median_hours=_hours(median["w"]) if median else None,
        ))
    return result


def _by_client(store: Store, sql: str, params: list[Any]) -> dict[str, int]:
    return {row["c"]: row["n"] for row in store.db.query(sql, params)}


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)
