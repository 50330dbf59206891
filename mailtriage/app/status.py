"""What `mailtriage status` reports: the state of the daemon's work, from the database alone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from mailtriage.app.answered import SENT_KEY
from mailtriage.config.model import Rules
from mailtriage.core.wording import plural, when
from mailtriage.store.db import Store, from_iso, iso

if TYPE_CHECKING:
    from mailtriage.app.check import Report

LAST_CHECK = "last_check"


def remember(store: Store, now: datetime, ok: bool, status: str) -> None:
    """Keep the outcome of the latest check, for `status` and for systemd's STATUS line."""
    store.set_meta(LAST_CHECK, json.dumps({"at": iso(now), "ok": ok, "status": status}))


def describe(report: Report, now: datetime, tz: ZoneInfo) -> str:
    """'Mon 30 Nov 12:00: 14 new, 3 holding replies, 2 overdue'."""
    replies = sum(1 for line in report.lines if line.decision == "reply")
    overdue = sum(1 for note in report.notes if note.startswith("overdue:"))
    text = (f"{when(now, tz, now)}: {len(report.lines)} new, {plural(replies, ('holding reply', 'holding replies'))},"
            f" {overdue} overdue")
    return text + (f"; {report.send_error}" if report.send_error else "")


def gather(store: Store, rules: Rules, upcoming: datetime) -> dict[str, Any]:
    """Last check and its outcome, each folder's mark, the next check, counts, waiting replies."""
    last = store.get_meta(LAST_CHECK)
    counts = {row["state"]: row["n"] for row in store.db.query(
        "SELECT state, count(*) AS n FROM threads WHERE state IN ('open', 'overdue') GROUP BY state")}
    replies = {row["state"]: row["n"] for row in store.db.query(
        "SELECT state, count(*) AS n FROM replies WHERE state IN ('planned', 'failed') GROUP BY state")}
    folders = []
    for row in store.db.query("SELECT name, uidvalidity, last_uid, checked_at FROM folders ORDER BY name"):
        checked = from_iso(row["checked_at"])
        sent = row["name"].startswith(SENT_KEY)  # the Sent folder's mark is kept under an internal key
        folders.append({**row, "name": row["name"].removeprefix(SENT_KEY) if sent else row["name"],
                        "role": "sent" if sent else "incoming",
                        "checked_at": checked.astimezone(rules.tz).isoformat() if checked else None})
    last_check = json.loads(last) if last else None
    if last_check:
        last_check["at"] = datetime.fromisoformat(last_check["at"]).astimezone(rules.tz).isoformat()
    return {
        "last_check": last_check,
        "folders": folders,
        "next_check": upcoming.astimezone(rules.tz).isoformat(),
        "open": counts.get("open", 0),
        "overdue": counts.get("overdue", 0),
        "waiting": replies.get("planned", 0),
        "failed": replies.get("failed", 0),
    }
