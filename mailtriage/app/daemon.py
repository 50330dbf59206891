"""`mailtriage run`: checks at the configured times, the morning summary, reload and stop.

APScheduler 3.x runs the jobs, one at a time (a single worker thread): checks at the times
`schedule.next_check` gives (the same answer `status` shows), the summary on a cron trigger, both in
the user's time zone. All check times form one job, so after a sleep or an outage that skipped several
of them exactly one catch-up check runs (coalesce, with a misfire grace period). The main thread
only waits: signal handlers set flags, and it reloads, pings the watchdog or stops.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mailtriage.app.notify import Notifier
from mailtriage.app.schedule import next_check, skip_reason
from mailtriage.app.status import describe, remember
from mailtriage.config.fields import clock_text
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.core.wording import plural, when
from mailtriage.errors import ConfigError, MailtriageError, StoreError
from mailtriage.store.db import Store
from mailtriage.store.dbfile import DatabaseFault, store_error
from mailtriage.store.lock import CheckRunning

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.base import BaseTrigger

    from mailtriage.app.watchers import Watcher

log = logging.getLogger("mailtriage")
MISFIRE_GRACE = 24 * 3600  # a check missed by less than a day is caught up (once)


def check_trigger(rules: Rules) -> BaseTrigger:
    """One trigger for every check time, firing at `schedule.next_check`: the one place that says when
    the next check is (business days and holidays, or every day; in the user's zone)."""
    from apscheduler.triggers.base import BaseTrigger

    class NextCheck(BaseTrigger):  # type: ignore[misc]
        def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime:
            # Strictly after the previous run, or from a moment before `now`, so a check due right now runs.
            return next_check(rules, previous or now - timedelta(microseconds=1))

        def __str__(self) -> str:
            return f"next_check({', '.join(clock_text(t) for t in sorted(rules.check_times))})"

    return NextCheck()


def summary_trigger(rules: Rules) -> BaseTrigger:
    from apscheduler.triggers.cron import CronTrigger

    assert rules.summary is not None
    days = "*" if rules.check_on_days_off else ",".join(rules.business_hours.days)
    at = rules.summary.at
    return CronTrigger(day_of_week=days, hour=at.hour, minute=at.minute, second=at.second, timezone=rules.tz)


def schedule(scheduler: BaseScheduler, rules: Rules, check: Callable[[], None], summary: Callable[[], None]) -> None:
    """(Re)place the jobs; they never overlap, and a gap is caught up by one run."""
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE, "replace_existing": True}
    scheduler.add_job(check, check_trigger(rules), id="check", name="check", **options)
    if rules.summary is not None:
        scheduler.add_job(summary, summary_trigger(rules), id="summary", name="summary", **options)
    elif scheduler.get_job("summary"):
        scheduler.remove_job("summary")


class Daemon:
    """The long-running process: holds the rules in force and runs jobs against them."""

    def __init__(self, path: Path, rules: Rules, notifier: Notifier | None = None) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.path, self.rules = path, rules
        self.notifier = notifier or Notifier()
        self.stop_requested = threading.Event()
        self.reload_requested = threading.Event()
        self.scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)}, timezone=rules.tz)
        self.running = threading.Lock()  # belt and braces: a check and a summary never run together
        self.sign_in_logged: str | None = None  # "sign in again" is logged once, not at every check
        self.retained_on: date | None = None  # without a summary, retention runs after the day's first check
        self.watchers: list[Watcher] = []  # push: one per account whose INBOX is watched between checks

    # --- jobs ---------------------------------------------------------------------------------

    def run_check(self) -> None:
        """One check, retried with backoff while a server is unreachable; never raises."""
        from mailtriage.app.check import Check, Line

        rules = self.rules
        if self.day_off(rules, "check"):
            return
        if rules.accounts:
            with self.running:
                self.check_accounts(rules)
            return
        with self.running:
            delay = rules.retry.backoff.total_seconds()
            for attempt in range(1, rules.retry.attempts + 1):
                now = datetime.now(UTC)
                log.info("check started")
                try:
                    store = Store(rules.database)
                except StoreError as exc:  # a full disk or a damaged file: retrying now changes nothing
                    log.error("check failed: %s", exc)
                    self.notifier.status(f"{when(now, rules.tz, now)}: failed: {exc}")
                    return
                try:
                    def emit(line: Line, at: datetime = now) -> None:
                        log.info(line.text(rules.tz, at))

                    check = Check(rules, store, now, should_stop=self.stop_requested.is_set, emit=emit)
                    report = check.run()
                    status = describe(report, now, rules.tz)
                    remember(store, now, True, status)
                    if self.sign_in_logged:
                        log.info("signed in again: checks work again")
                        self.sign_in_logged = None
                    log.info("check done: %s", status)
                    self.notifier.status(status)
                    self.after_check(store, rules, now)
                    return
                except DatabaseFault as exc:  # from a commit deep in the check: one line, no retry
                    problem = store_error(exc, rules.database)
                    log.error("check failed: %s", problem)
                    self.notifier.status(f"{when(now, rules.tz, now)}: failed: {problem}")
                    return
                except MailtriageError as exc:
                    status = f"{when(now, rules.tz, now)}: failed: {exc}"
                    try:
                        remember(store, now, False, status)
                    except DatabaseFault as also:
                        log.error("cannot record the failure: %s", store_error(also, rules.database))
                    if sign_in_required(exc):  # only `mailtriage login` helps: no retries; the schedule goes on
                        if self.sign_in_logged != str(exc):
                            log.error("check failed: %s", exc)
                            self.sign_in_logged = str(exc)
                        self.notifier.status(status)
                        return
                    log.error("check failed (attempt %d of %d): %s", attempt, rules.retry.attempts, exc)
                    self.notifier.status(status)
                except Exception:  # noqa: BLE001 - a bug must not kill the daemon; the next check runs
                    log.exception("check crashed")
                    return
                finally:
                    store.close()
                if attempt < rules.retry.attempts and not self.stop_requested.wait(delay):
                    delay *= 2
                    continue
                return

    def check_accounts(self, rules: Rules) -> None:
        """A check of every account (`accounts:`), each failing alone: an account that could not be
        checked is tried again with backoff, the others are done. Never raises."""
        from mailtriage.app.accounts import check_accounts, describe_accounts
        from mailtriage.app.check import Line
        from mailtriage.config.accounts import resolve

        pending, delay = resolve(rules), rules.retry.backoff.total_seconds()
        for attempt in range(1, rules.retry.attempts + 1):
            now = datetime.now(UTC)
            log.info("check started: %s", ", ".join(a.name for a in pending))

            def emit(name: str, line: Line, at: datetime = now) -> None:
                log.info("%s: %s", name, line.text(rules.tz, at))

            try:
                outcomes = check_accounts(rules, pending, now, should_stop=self.stop_requested.is_set, emit=emit)
                status = describe_accounts(outcomes, now, rules.tz)
                store = Store(rules.database)
                try:
                    remember(store, now, all(o.ok for o in outcomes), status)
                    if all(o.report is not None for o in outcomes):
                        self.after_check(store, rules, now)
                finally:
                    store.close()
            except CheckRunning as exc:  # a manual check, or a push pass held up by a slow server: later
                log.error("check failed (attempt %d of %d): %s", attempt, rules.retry.attempts, exc)
                if attempt == rules.retry.attempts or self.stop_requested.wait(delay):
                    return
                delay *= 2
                continue
            except (MailtriageError, DatabaseFault) as exc:  # the disk, a damaged database
                log.error("check failed: %s", exc)
                return
            for outcome in outcomes:
                if outcome.report is None:
                    log.error("%s: check failed (attempt %d of %d): %s", outcome.account, attempt,
                              rules.retry.attempts, outcome.error)
            log.info("check done: %s", status)
            self.notifier.status(status)
            failed = {o.account for o in outcomes if o.report is None}
            pending = tuple(a for a in pending if a.name in failed)
            if not pending or attempt == rules.retry.attempts or self.stop_requested.wait(delay):
                return
            delay *= 2

    def after_check(self, store: Store, rules: Rules, now: datetime) -> None:
        """What follows a good check: the deadline calendar rewritten, the monthly client reports sent,
        and, without a summary to run it, retention once a day. Each may fail on its own (a full disk,
        a refused recipient) without failing the check."""
        from mailtriage.app.aftercheck import after_check
        from mailtriage.app.privacy import daily_retention, finish_erasure

        for problem in after_check(store, rules, now, reports=True):
            log.error("%s", problem)
        today = now.astimezone(rules.tz).date()
        if rules.summary is None and self.retained_on != today and daily_retention(store, rules, now):
            self.retained_on = today
        finish_erasure(store, rules)

    def run_summary(self) -> None:
        from mailtriage.app.privacy import daily_retention
        from mailtriage.app.summary import deliver

        rules = self.rules
        if rules.summary is None or self.day_off(rules, "summary"):
            return
        with self.running:
            try:
                store = Store(rules.database)
            except StoreError as exc:  # a job that raises gets a traceback from the scheduler, not one line
                log.error("summary failed: %s", exc)
                return
            try:
                daily_retention(store, rules, datetime.now(UTC))  # once a day, before the summary that counts it
                sent = deliver(store, rules, datetime.now(UTC))
                log.info("summary sent to %s: %s", rules.summary.to, sent.subject)
            except MailtriageError as exc:
                log.error("summary failed: %s", exc)
            except DatabaseFault as exc:  # remembering when it was sent: a full disk, a damaged file
                log.error("summary failed: %s", store_error(exc, rules.database))
            except Exception:  # noqa: BLE001
                log.exception("summary crashed")
            finally:
                store.close()

    @staticmethod
    def day_off(rules: Rules, what: str) -> bool:
        """The triggers skip weekends (and the check trigger holidays); a caught-up run on a day off, and
        the summary on holidays and vacations, stop here."""
        reason = skip_reason(rules, datetime.now(rules.tz).date(), what)
        if reason:
            log.info("no %s today: %s", what, reason)
        return reason is not None

    # --- life cycle ---------------------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read rules.yaml: a good file takes effect at once, a bad one changes nothing."""
        self.notifier.reloading()
        try:
            rules = load(self.path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload refused: %s", problem)
            log.error("still running on the last good rules")
            self.notifier.ready("reload refused: rules.yaml has errors; running on the last good rules")
            return False
        self.rules = rules
        schedule(self.scheduler, rules, self.run_check, self.run_summary)
        self.restart_push()
        times = ", ".join(clock_text(t) for t in sorted(rules.check_times))
        log.info("rules reloaded: %s, check times %s", plural(len(rules.clients), ("client", "clients")), times)
        self.notifier.ready(f"rules reloaded; check times {times}")
        return True

    def restart_push(self) -> None:
        """(Re)start watching the INBOXes of accounts with urgent clients (or `push: all`), by the rules in force."""
        from mailtriage.app import watchers

        self.stop_push()
        self.watchers = watchers.start(self.rules)

    def stop_push(self) -> None:
        from mailtriage.app import watchers

        watchers.stop(self.watchers)
        self.watchers = []

    def serve(self) -> int:
        """Run until SIGTERM or SIGINT; return the exit code."""
        signal.signal(signal.SIGTERM, lambda *_: self.stop_requested.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop_requested.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())
        Store(self.rules.database).close()  # the database opens (and is created) before READY
        schedule(self.scheduler, self.rules, self.run_check, self.run_summary)
        self.scheduler.start()
        self.restart_push()
        upcoming = self.scheduler.get_job("check").next_run_time
        now = datetime.now(UTC)
        log.info("mailtriage running: next check %s", when(upcoming, self.rules.tz, now) if upcoming else "none")
        self.notifier.ready(f"waiting; next check {when(upcoming, self.rules.tz, now)}" if upcoming else "waiting")
        tick = self.notifier.watchdog_interval or 1.0
        last_ping = 0.0
        while not self.stop_requested.wait(min(tick, 1.0)):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            if self.notifier.watchdog_interval and time.monotonic() - last_ping >= tick:
                self.notifier.watchdog()
                last_ping = time.monotonic()
        log.info("stopping (a check that is running finishes its current message first)")
        self.notifier.stopping()
        self.stop_push()
        self.scheduler.shutdown(wait=True)
        log.info("stopped")
        return 0


def sign_in_required(exc: BaseException) -> bool:
    """The OAuth2 sign-in was refused or never done: retrying cannot help, a new `mailtriage login` does."""
    from mailtriage.errors import OAuthError

    if not isinstance(exc, OAuthError):
        return False
    from mailtriage.mail.oauth2_wire import SignInRequired

    return isinstance(exc, SignInRequired)


def setup_logging() -> None:
    """One event per line on stderr; journald adds timestamps itself, so then we do not."""
    handler = logging.StreamHandler()
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    ours = logging.getLogger("mailtriage")
    ours.handlers[:] = [handler]
    ours.setLevel(logging.INFO)
    ours.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class _JournalFormatter(logging.Formatter):
    """'<3>message': the sd-daemon(3) prefix gives journald the priority of each line."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITY.get(record.levelno, 6)}>{super().format(record)}".replace("\n", " | ")
