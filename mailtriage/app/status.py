"""What `mailtriage status` reports: the state of the daemon's work, from the database alone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mailtriage.config.model import Rules
from mailtriage.core.models import Decision, ReplyState, ThreadState
from mailtriage.core.wording import plural, when
from mailtriage.store import reports
from mailtriage.store.db import Store, iso

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from mailtriage.app.check import Report

LAST_CHECK = "last_check"


def remember(store: Store, now: datetime, ok: bool, status: str) -> None:
    """Keep the outcome of the latest check, for `status` and for systemd's STATUS line."""
    store.set_meta(LAST_CHECK, json.dumps({"at": iso(now), "ok": ok, "status": status}))


def describe(report: Report, now: datetime, tz: ZoneInfo) -> str:
    """'Mon 30 Nov 12:00: 14 new, 3 holding replies, 2 overdue'."""
    replies = sum(1 for line in report.lines if line.decision == Decision.REPLY)
    overdue = len(report.overdue)
    text = (f"{when(now, tz, now)}: {len(report.lines)} new, {plural(replies, ('holding reply', 'holding replies'))},"
            f" {overdue} overdue")
    return text + (f"; {report.send_error}" if report.send_error else "")


def gather(store: Store, rules: Rules, upcoming: datetime) -> dict[str, Any]:
    """Last check and its outcome, each folder's mark, the next check, counts, waiting replies."""
    last = store.get_meta(LAST_CHECK)
    counts, replies = reports.thread_counts(store), reports.reply_counts(store)
    folders = [{"name": mark.name, "uidvalidity": mark.uidvalidity, "last_uid": mark.last_uid,
                "checked_at": mark.checked_at.astimezone(rules.tz).isoformat() if mark.checked_at else None,
                "role": str(mark.kind)} for mark in store.folder_marks()]
    last_check = json.loads(last) if last else None
    if last_check:
        last_check["at"] = datetime.fromisoformat(last_check["at"]).astimezone(rules.tz).isoformat()
    return {
        "last_check": last_check,
        "folders": folders,
        "next_check": upcoming.astimezone(rules.tz).isoformat(),
        "open": counts.get(ThreadState.OPEN, 0),
        "overdue": counts.get(ThreadState.OVERDUE, 0),
        "waiting": replies.get(ReplyState.PLANNED, 0),
        "failed": replies.get(ReplyState.FAILED, 0),
    }
