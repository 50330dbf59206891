"""A check of several accounts (rules.yaml `accounts:`): one lock for the database, each account in a
thread of its own with its own connections, and one account's failure its own line, never the others' stop.
After the accounts, still under the lock, one reminder over all of them (not one per account).

Why threads are safe here: the check lock is taken once, before the threads start, so nothing else
writes meanwhile; each thread opens its own SQLite connection (a connection never crosses threads)
and its own IMAP and SMTP sessions; SQLite serialises the writes of the threads (`BEGIN IMMEDIATE`,
short transactions, the busy timeout) and each store reads and writes only its account's records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailtriage.app.check import Check, Line, Report
from mailtriage.config.accounts import Account
from mailtriage.config.model import Rules
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.lock import one_check

log = logging.getLogger("mailtriage")
PARALLEL = 4  # accounts checked at once: each holds an IMAP and perhaps an SMTP connection


@dataclass(frozen=True)
class Outcome:
    """What became of one account's check: its report, or the one line saying why it failed."""

    account: str
    report: Report | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.error is None and not self.report.send_error


def check_accounts(rules: Rules, accounts: tuple[Account, ...], now: datetime, *, dry_run: bool = False,
                   backfill: timedelta | None = None, emit: Callable[[str, Line], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False, lock_wait: float = 30.0,
                   parallel: int = PARALLEL, note: Callable[[str], None] = log.info) -> list[Outcome]:
    """Check `accounts` under the database's one check lock, at most `parallel` at once, then send the
    one reminder of the run (`note` says what became of it); the outcomes come back in the order of
    `accounts`. Raises only CheckRunning (another check holds the lock)."""

    def one(account: Account) -> Outcome:
        return check_one(rules, account, now, dry_run=dry_run, backfill=backfill, emit=emit,
                         should_stop=should_stop)

    with _one_at_a_time(rules, dry_run, lock_wait):
        if not dry_run:
            _made(rules)
        if len(accounts) <= 1 or parallel <= 1:
            outcomes = [one(account) for account in accounts]
        else:
            with ThreadPoolExecutor(max_workers=min(parallel, len(accounts)), thread_name_prefix="account") as pool:
                outcomes = list(pool.map(one, accounts))
        if not dry_run and not should_stop():
            said = remind(rules, now)
            if said:
                note(said)
        return outcomes


def remind(rules: Rules, now: datetime) -> str | None:
    """The one reminder of a check run over every account (rules.yaml `reminders:`): what became of it,
    None when nothing was due. A failure is its line; the threads are reminded of at the next check."""
    if rules.reminders is None or rules.summary is None:
        return None
    from mailtriage.app.check import preload_holidays
    from mailtriage.app.reminders import remind_accounts

    try:
        store = Store(rules.database)
        try:
            calendar = rules.calendar(preload_holidays(rules, store, now))
        finally:
            store.close()
        sent = remind_accounts(rules, now, calendar)
    except MailtriageError as exc:
        return f"reminder not sent (tried again at the next check): {exc}"
    return None if sent is None else f"reminder sent to {rules.summary.to}: {sent.subject}"


def _made(rules: Rules) -> None:
    """Create (or migrate) the database before the threads open it: two threads must not both make it."""
    try:
        Store(rules.database).close()
    except MailtriageError:
        pass  # each account then says why it cannot open it


def _one_at_a_time(rules: Rules, dry_run: bool, wait: float) -> AbstractContextManager[None]:
    return nullcontext() if dry_run else one_check(rules.database, wait)


def check_one(rules: Rules, account: Account, now: datetime, *, dry_run: bool = False,
              backfill: timedelta | None = None, emit: Callable[[str, Line], None] | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> Outcome:
    """One account's check, the caller holding the lock; every failure becomes the outcome's line."""
    try:
        store = (Store.snapshot(rules.database, account.name) if dry_run
                 else Store(rules.database, account=account.name))
    except MailtriageError as exc:
        return Outcome(account.name, error=str(exc))
    try:
        report = Check(account.rules, store, now, dry_run=dry_run, backfill=backfill, should_stop=should_stop,
                       emit=(lambda line: emit(account.name, line)) if emit else None, locked=True,
                       remind=False).run()
        return Outcome(account.name, report)
    except MailtriageError as exc:
        return Outcome(account.name, error=str(exc))
    except Exception as exc:  # one account's bug must not stop the others: said, and logged whole
        log.exception("account %s: unexpected error", account.name)
        return Outcome(account.name, error=f"unexpected error: {type(exc).__name__}: {exc}")
    finally:
        store.close()


def failed(outcomes: list[Outcome]) -> list[str]:
    """The names of the accounts whose check failed or whose replies could not be sent."""
    return [o.account for o in outcomes if not o.ok]


def describe_accounts(outcomes: list[Outcome], now: datetime, tz: ZoneInfo) -> str:
    """'Mon 30 Nov 12:00: biuro: 3 new, 1 holding reply, 0 overdue; kasia: failed: ...' (status, systemd)."""
    from mailtriage.app.status import describe
    from mailtriage.core.wording import when

    prefix = f"{when(now, tz, now)}: "
    parts = [f"{o.account}: " + (describe(o.report, now, tz).removeprefix(prefix) if o.report is not None
                                 else f"failed: {o.error}") for o in outcomes]
    return prefix + "; ".join(parts)
