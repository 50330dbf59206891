"""One thread per watched account in the daemon: an IMAP connection on the INBOX (IDLE, or polling
where the server has none) that runs a push pass (app/push.py) whenever something comes.

A lost connection is rebuilt with backoff (5 s, doubling up to idle.reconnect_max, back to 5 s once
it works) and said once per outage, and once when push works again; whatever arrived meanwhile is
past the INBOX's mark, so the first pass after reconnecting finds it. A pass needs the database's
check lock: when a check holds it, the pass is tried again a few seconds later (the check may have
read the INBOX before the message came). After a pass that found mail, another pass looks past it
at once: mail that came during the pass was announced while the connection was busy, not in IDLE.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from mailtriage.app import alert
from mailtriage.app.push import INBOX, answer_urgent, inbox, requested, wanted
from mailtriage.app.schedule import next_check, skip_reason
from mailtriage.app.status import push_said, remember_push
from mailtriage.config.accounts import Account, for_the_user, resolve
from mailtriage.config.model import Rules
from mailtriage.core.wording import when
from mailtriage.errors import FetchError, MailtriageError
from mailtriage.mail.idle import Watch
from mailtriage.mail.imap import Mailbox
from mailtriage.mail.signin import imap_credential
from mailtriage.store.db import Store
from mailtriage.store.dbfile import DatabaseFault, store_error
from mailtriage.store.lock import CheckRunning, one_check

log = logging.getLogger("mailtriage")
FIRST_BACKOFF = 5.0  # seconds before the first reconnect
BUSY_RETRY = 3.0  # seconds before a pass is tried again while a check holds the lock
LOCK_WAIT = 1.0  # seconds a pass waits for the lock before it steps back
QUIET = 3600.0  # seconds of one wait when nothing is pending (a wait ends at once when mail comes)


class Done(enum.Enum):
    """How a push pass ended."""

    NOTHING = "nothing new"
    FOUND = "new mail"  # look again at once: more may have come during the pass
    AGAIN = "try again soon"  # a check held the lock, or the database failed


class Watcher(threading.Thread):
    """The INBOX of one account, watched until `stop`."""

    def __init__(self, rules: Rules, account: Account) -> None:
        super().__init__(name=f"push-{account.name}", daemon=True)
        self.rules, self.account = rules, account
        self.folder = inbox(account.rules) or INBOX
        self.token = uuid.uuid4().hex  # whose word `status` shows: a later watcher's, after a reload
        self.stopping = threading.Event()
        self.watch: Watch | None = None
        self.looked_to = 0  # the highest INBOX UID a pass looked at, on this connection
        self.outage: float | None = None  # since when the connection is down (monotonic), None when up
        self.delay = FIRST_BACKOFF
        self.database_failing = False
        self.told_unchecked = False  # "waits for the first check" said once
        self.passes = 0

    @property
    def label(self) -> str:
        return f"push {self.account.name}" if self.rules.accounts else "push"

    def said(self, state: str, detail: str) -> None:
        """What `status` shows of this watch; a database that cannot be written is said in the log only."""
        rules = self.account.rules
        try:
            store = Store(rules.database)
            try:
                if state == "stopped" and push_said(store, self.account.name) != self.token:
                    return  # a newer watcher of this account speaks now (a reload)
                remember_push(store, self.account.name, state, detail, datetime.now(UTC), self.token)
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
        while not self.stopping.is_set():
            try:
                self.connected()
                break  # stopped
            except MailtriageError as exc:
                if self.stopping.is_set():
                    break
                self.down(str(exc))
            except Exception:  # noqa: BLE001 - a bug must not end push for good: logged whole, then retried
                log.exception("%s: unexpected error", self.label)
                self.down("unexpected error (in the log)")
            finally:
                self.watch = None
            if self.stopping.wait(self.delay):
                break
            self.delay = min(self.delay * 2, self.account.rules.idle.reconnect_max.total_seconds())
        self.said("stopped", "the daemon stopped or reloaded its rules")

    def down(self, why: str) -> None:
        """The connection failed: said once per outage (the log and `status`), then retried quietly."""
        if self.outage is None:
            self.outage = time.monotonic()
            log.warning("%s: %s; connecting again (with backoff) until it works", self.label, why)
            self.said("out", f"{why}; connecting again")

    def up(self, how: str) -> None:
        """Connected and watching: an outage is over, the backoff starts again from the first step."""
        if self.outage is not None:
            log.info("%s: works again after %d s: watching the INBOX (%s)", self.label,
                     time.monotonic() - self.outage, how)
        else:
            log.info("%s: watching the INBOX (%s)", self.label, how)
        self.outage, self.delay = None, FIRST_BACKOFF
        self.said("watching", f"the INBOX, by {how}")

    def connected(self) -> None:
        """One connection's life: select, pass, wait, pass... Returns only on stop; raises when it fails."""
        rules = self.account.rules
        idle = rules.idle
        with Mailbox(rules.imap, imap_credential(rules)) as mailbox:
            watch = Watch(mailbox, self.folder, idle.renew.total_seconds(), idle.poll.total_seconds())
            self.watch = watch
            try:
                state = watch.start()
                self.up("IDLE" if watch.idle else f"polling every {int(idle.poll.total_seconds())} s (no IDLE)")
                self.looked_to, pending = 0, Done.FOUND  # a new connection: anything past the mark is looked at
                while not self.stopping.is_set():
                    if pending != Done.NOTHING:
                        pending = self.one_pass(watch, state.uidvalidity)
                        if pending == Done.FOUND:
                            continue
                    if watch.wait(BUSY_RETRY if pending == Done.AGAIN else QUIET, self.stopping.is_set):
                        pending = Done.FOUND
            except FetchError:
                watch.close()  # no LOGOUT into a connection that failed: it could wait out the timeout
                raise

    def one_pass(self, watch: Watch, uidvalidity: int) -> Done:
        """A push pass under the check lock; the alert, if any, after the lock is released."""
        rules = self.account.rules
        if skip_reason(rules, datetime.now(rules.tz).date()):
            return Done.NOTHING  # no checks today (a weekend, a holiday): the first check after answers it
        now = datetime.now(UTC)
        user = for_the_user(self.rules)
        try:
            with one_check(rules.database, LOCK_WAIT):
                store = Store(rules.database, account=self.account.name)
                try:
                    with watch.paused() as mailbox:
                        done = answer_urgent(rules, store, mailbox, uidvalidity, now, self.looked_to, self.folder)
                    told = alert.gather(user, rules, self.account.name, store, done.lines, now)
                    unchecked = store.mark(self.folder) is None
                finally:
                    store.close()
        except CheckRunning:
            return Done.AGAIN
        except DatabaseFault as exc:
            if not self.database_failing:
                log.error("%s: %s", self.label, store_error(exc, rules.database))
            self.database_failing = True
            return Done.AGAIN
        self.database_failing = False
        if unchecked and not self.told_unchecked:  # push answers only past the mark the first check sets
            self.told_unchecked = True
            first = when(next_check(rules, now), rules.tz, now)
            log.info("%s: waits for the INBOX's first check (%s): what is there by then gets no reply, and push "
                     "answers what comes after it", self.label, first)
            self.said("waiting", f"for the INBOX's first check ({first}), then the INBOX, by IDLE or polling")
        self.looked_to = max(self.looked_to, done.looked_to)
        self.passes += 1
        for line in done.lines:
            log.info("%s: %s", self.label, line.text(rules.tz, now))
        if done.error:
            log.error("%s: %s", self.label, done.error)
        if told is not None:
            try:
                alert.post(told, user, now)
            except MailtriageError as exc:
                log.error("%s: %s", self.label, exc)
        return Done.FOUND if done.found else Done.NOTHING


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
    """Stop the watchers; one still busy after `wait` (a pass sending over a slow server) is said so."""
    for watcher in watchers:
        watcher.stop()
    end = time.monotonic() + wait
    for watcher in watchers:
        watcher.join(max(0.0, end - time.monotonic()))
        if watcher.is_alive():
            log.warning("%s: still finishing a pass after %d s; it ends on its own", watcher.label, wait)
