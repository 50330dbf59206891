"""What `mailtriage status` reports: the state of the daemon's work, from the database alone."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mailtriage.config.model import Rules
from mailtriage.core.models import DEFAULT_ACCOUNT, Decision, FolderKind, JsonObject, ReplyState, ThreadState
from mailtriage.core.wording import plural, when
from mailtriage.store import reports
from mailtriage.store.db import Store, iso

if TYPE_CHECKING:
    from mailtriage.app.check import Report

LAST_CHECK = "last_check"
PUSH = "push:"  # + account name: what the daemon's watch of that INBOX last said (app/watchers.py)


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


@dataclass(frozen=True)
class LastCheck:
    at: str  # in the rules' time zone
    ok: bool
    status: str


@dataclass(frozen=True)
class FolderStatus:
    name: str
    uidvalidity: int
    last_uid: int
    checked_at: str | None  # in the rules' time zone
    role: FolderKind
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class PushStatus:
    """The daemon's watch of one account's INBOX, as it last said: watching, out (and why), stopped."""

    account: str
    state: str  # watching | out | stopped | not started
    detail: str
    since: str | None  # in the rules' time zone


def remember_push(store: Store, account: str, state: str, detail: str, now: datetime, by: str = "") -> None:
    """What the daemon's watch of `account` says now; `by` names the watcher that says it."""
    store.set_meta(PUSH + account, json.dumps({"state": state, "detail": detail, "since": iso(now), "by": by}))


def push_said(store: Store, account: str) -> str | None:
    """Which watcher said the last word about `account` (its token), None when none did."""
    said = store.get_meta(PUSH + account)
    return str(json.loads(said).get("by", "")) if said else None


def push_states(store: Store, rules: Rules) -> list[PushStatus]:
    """Each account whose INBOX the daemon watches (urgent clients, push: all), as the watch last said."""
    from mailtriage.app.push import wanted
    from mailtriage.config.accounts import resolve

    states = []
    for account in resolve(rules):
        if not wanted(account.rules):
            continue
        said = store.get_meta(PUSH + account.name)
        if said is None:
            states.append(PushStatus(account.name, "not started", "the daemon (mailtriage run) watches it", None))
            continue
        data = json.loads(said)
        states.append(PushStatus(account.name, str(data["state"]), str(data["detail"]),
                                 _local(datetime.fromisoformat(data["since"]), rules.tz)))
    return states


@dataclass(frozen=True)
class Status:
    """What `status` shows; `as_dict` is its --json."""

    last_check: LastCheck | None
    folders: list[FolderStatus]
    next_check: str
    open: int
    overdue: int
    waiting: int  # holding replies planned, not sent yet
    failed: int
    waiting_threads: int = 0  # threads waiting for the client (`mailtriage wait`)
    push: list[PushStatus] = field(default_factory=list)  # urgent clients answered between checks

    def as_dict(self) -> JsonObject:
        return asdict(self)


def gather(store: Store, rules: Rules, upcoming: datetime) -> Status:
    """Last check and its outcome, each folder's mark, the next check, counts, waiting replies."""
    last = store.get_meta(LAST_CHECK)
    counts, replies = reports.thread_counts(store), reports.reply_counts(store)
    folders = [FolderStatus(mark.name, mark.uidvalidity, mark.last_uid, _local(mark.checked_at, rules.tz), mark.kind,
                            mark.account) for mark in store.folder_marks(every_account=True)]
    last_check = None
    if last:
        data = json.loads(last)
        last_check = LastCheck(_local(datetime.fromisoformat(data["at"]), rules.tz) or "", bool(data["ok"]),
                               str(data["status"]))
    return Status(
        last_check, folders, upcoming.astimezone(rules.tz).isoformat(),
        open=counts.get(ThreadState.OPEN, 0), overdue=counts.get(ThreadState.OVERDUE, 0),
        waiting=replies.get(ReplyState.PLANNED, 0), failed=replies.get(ReplyState.FAILED, 0),
        waiting_threads=counts.get(ThreadState.WAITING, 0), push=push_states(store, rules))


def _local(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return instant.astimezone(tz).isoformat() if instant else None
