"""One thread per watched account in the daemon: an IMAP connection on the INBOX (IDLE, or polling
where the server has none) that runs a push pass (app/push.py) whenever something comes.

A lost connection is rebuilt with backoff (5 s, doubling up to idle.reconnect_max) and said once
per outage, and once when push works again; whatever arrived meanwhile is past the INBOX's mark,
so the first pass after reconnecting finds it. A pass needs the database's check lock: when a
check holds it, the pass is tried again a few seconds later (the check may have read the INBOX
before the message came).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from mailtriage.app.push import INBOX, alert, answer_urgent, requested, wanted
from mailtriage.app.schedule import skip_reason
from mailtriage.app.status import remember_push
from mailtriage.config.accounts import Account, resolve
from mailtriage.config.model import Rules
from mailtriage.errors import MailtriageError
from mailtriage.mail.idle import Gone, Watch
from mailtriage.mail.imap import Mailbox
from mailtriage.mail.signin import imap_credential
from mailtriage.store.db import Store
from mailtriage.store.dbfile import DatabaseFault, store_error
from mailtriage.store.lock import CheckRunning, one_check

log = logging.getLogger("mailtriage")
FIRST_BACKOFF = 5.0  # seconds before the first reconnect
BUSY_RETRY = 3.0  # seconds before a pass is tried again while a check holds the lock
LOCK_WAIT = 1.0  # seconds a pass waits for the lock before it steps back


class Watcher(threading.Thread):
    """The INBOX of one account, watched until `stop`."""

    def __init__(self, rules: Rules, account: Account) -> None:
        super().__init__(name=f"push-{account.name}", daemon=True)
        self.rules, self.account = rules, account
        self.stopping = threading.Event()
        self.watch: Watch | None = None
        self.looked_to = 0  # the highest INBOX UID a pass looked at, on this connection
        self.passes = 0  # passes run (for tests and the log)

    @property
    def label(self) -> str:
        return f"push {self.account.name}" if self.rules.accounts else "push"

    def said(self, state: str, detail: str) -> None:
        """What `status` shows of this watch; a database that cannot be written is said in the log only."""
        rules = self.account.rules
        try:
            store = Store(rules.database)
            try:
                remember_push(store, self.account.name, state, detail, datetime.now(UTC))
            finally:
                store.close()
        except (MailtriageError, DatabaseFault) as exc:
            log.error("%s: %s", self.label, exc)

    def stop(self) -> None:
        self.stopping.set()
        watch = self.watch
        if watch is not None:
            watch.close()  # a wait on the socket, or a DONE that hangs, returns now

    def run(self) -> None:
        delay, outage = FIRST_BACKOFF, None
        while not self.stopping.is_set():
            try:
                self.connected(outage)
                break  # stopped
            except MailtriageError as exc:
                if self.stopping.is_set():
                    break
                if outage is None:
                    outage = time.monotonic()
                    log.warning("%s: %s; connecting again (with backoff) until it works", self.label, exc)
                    self.said("out", f"{exc}; connecting again")
            except Exception:  # noqa: BLE001 - a bug must not end push for good: logged whole, then retried
                log.exception("%s: unexpected error", self.label)
                outage = outage or time.monotonic()
            finally:
                self.watch = None
            if self.stopping.wait(delay):
                break
            delay = min(delay * 2, self.account.rules.idle.reconnect_max.total_seconds())
        self.said("stopped", "the daemon stopped or reloaded its rules")

    def connected(self, outage: float | None) -> None:
        """One connection's life: select, pass, wait, pass... Returns only on stop; raises when it fails."""
        rules = self.account.rules
        idle = rules.idle
        with Mailbox(rules.imap, imap_credential(rules)) as mailbox:
            watch = Watch(mailbox, INBOX, idle.renew.total_seconds(), idle.poll.total_seconds())
            self.watch = watch
            state = watch.start()
            how = "IDLE" if watch.idle else f"polling every {int(idle.poll.total_seconds())} s (no IDLE)"
            if outage is not None:
                log.info("%s: works again after %d s: watching the INBOX (%s)", self.label,
                         time.monotonic() - outage, how)
            else:
                log.info("%s: watching the INBOX (%s)", self.label, how)
            self.said("watching", f"the INBOX, by {how}")
            self.looked_to, dirty = 0, True  # a new connection: anything since the mark is looked at
            try:
                while not self.stopping.is_set():
                    if dirty:
                        dirty = not self.one_pass(watch, state.uidvalidity)
                    if watch.wait(BUSY_RETRY if dirty else 3600.0, self.stopping.is_set):
                        dirty = True
                    if watch.state is not None:
                        state = watch.state
            except Gone:
                watch.close()  # no LOGOUT into a dead connection: it would wait out the timeout
                raise

    def one_pass(self, watch: Watch, uidvalidity: int) -> bool:
        """A push pass under the check lock; False when a check holds it (try again soon)."""
        rules = self.account.rules
        if skip_reason(rules, datetime.now(rules.tz).date()):
            return True  # no checks today (a weekend, a holiday): the first check after answers it
        try:
            with one_check(rules.database, LOCK_WAIT):
                store = Store(rules.database, account=self.account.name)
                try:
                    with watch.paused() as mailbox:
                        now = datetime.now(UTC)
                        done = answer_urgent(rules, store, mailbox, uidvalidity, now, self.looked_to)
                    self.looked_to = max(self.looked_to, done.looked_to)
                    self.passes += 1
                    for line in done.lines:
                        log.info("%s: %s", self.label, line.text(rules.tz, now))
                    if done.error:
                        log.error("%s: %s", self.label, done.error)
                    alert(rules, store, done.lines, now)
                finally:
                    store.close()
        except CheckRunning:
            return False
        except DatabaseFault as exc:
            log.error("%s: %s", self.label, store_error(exc, rules.database))
        return True


def start(rules: Rules) -> list[Watcher]:
    """A started watcher for each account that wants push (none when none does)."""
    accounts = resolve(rules)
    for account in accounts:
        if requested(account.rules) and not wanted(account.rules):
            where = f"account {account.name}: " if rules.accounts else ""
            log.warning("%spush is off: it watches the INBOX, and the folders checked do not include it", where)
    watchers = [Watcher(rules, account) for account in accounts if wanted(account.rules)]
    for watcher in watchers:
        watcher.start()
    return watchers


def stop(watchers: list[Watcher], wait: float = 10.0) -> None:
    for watcher in watchers:
        watcher.stop()
    end = time.monotonic() + wait
    for watcher in watchers:
        watcher.join(max(0.0, end - time.monotonic()))
