"""One check, a sequence of stages passing values forward:

    fetch (fetch.py: folders, batches of headers)
    -> triage (triage.py: parse, recipient, classify, draft the holding reply)
    -> record (record.py: one transaction per batch, with the folder's mark)
    -> follow-up (followup.py: answers seen in Sent and flags, overdue threads)
    -> outbox (outbox.py: each reply claimed, sent, its outcome recorded)

Crash safety, step by step: a batch of messages, their threads, their planned replies and the
folder's new mark are committed together; replies are sent only after that, each marked
`sending` first. So a crash anywhere leaves either nothing recorded (the batch is fetched again)
or everything recorded and each reply planned (sent next time), sent, or of unknown fate (never
sent again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from mailtriage.app.check import fetch, followup, outbox, record
from mailtriage.app.check.report import Line, Report, line_dict
from mailtriage.config.model import Rules
from mailtriage.core.wording import plural
from mailtriage.mail.imap import Mailbox
from mailtriage.mail.signin import imap_credential
from mailtriage.store.db import Store
from mailtriage.store.lock import one_check

if TYPE_CHECKING:
    from mailtriage.app.check.triage import Triage

log = logging.getLogger("mailtriage")
__all__ = ["Check", "Line", "Report", "line_dict", "preload_holidays"]


class Check:
    """One whole cycle over every configured folder: the stages, in order."""

    def __init__(self, rules: Rules, store: Store, now: datetime, *, dry_run: bool = False,
                 backfill: timedelta | None = None, emit: Callable[[Line], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False, lock_wait: float = 30.0,
                 locked: bool = False, remind: bool = True) -> None:
        self.rules, self.store, self.now = rules, store, now
        self.reminds = remind  # False: the caller sends one reminder over several accounts (app/accounts.py)
        self.lock_wait = lock_wait
        self.locked = locked  # the caller holds the check lock (several accounts in one check)
        self.should_stop = should_stop  # asked after every message: a stop commits what is done
        self.dry_run, self.backfill = dry_run, backfill
        self.emit = emit or (lambda line: None)
        self.report = Report()
        self.calendar = rules.calendar(preload_holidays(rules, store, now))
        self._triage: Triage | None = None

    @property
    def triage(self) -> Triage:
        """Made when the first message comes: an idle check loads no parser, guard or template."""
        if self._triage is None:
            from mailtriage.app.check.triage import Triage

            self._triage = Triage(self.rules, self.store, self.now, self.calendar, self.backfill)
        return self._triage

    def run(self) -> Report:
        with self._one_at_a_time():
            lost = self.store.give_up_unknown()
            if lost:
                self.report.notes.append(
                    f"{plural(lost, ('holding reply was', 'holding replies were'))} being sent when a check was "
                    "interrupted: their fate is unknown, so they are not sent again")
            try:
                with Mailbox(self.rules.imap, imap_credential(self.rules)) as mailbox:
                    for folder in self.rules.imap.folders:
                        if self.should_stop():
                            break
                        self.check_folder(mailbox, folder)
                    if not self.dry_run and not self.should_stop():
                        done = followup.after_folders(mailbox, self.store, self.rules, self.calendar, self.now)
                        self.report.answered += done.answered
                        self.report.overdue = done.overdue
                        self.report.notes.extend(done.notes)
            finally:
                # What was recorded before a connection broke is answered now, not at the next check;
                # on a stop, planned replies wait for the next start.
                if not self.dry_run and not self.should_stop():
                    self.send()
                    self.remind()
        return self.report

    def _one_at_a_time(self) -> AbstractContextManager[None]:
        """The check lock of this database (a dry run on its private copy needs none)."""
        if self.dry_run or self.store.path is None or self.locked:
            return nullcontext()
        return one_check(self.store.path, self.lock_wait)

    def check_folder(self, mailbox: Mailbox, name: str) -> None:
        folder = fetch.select(mailbox, self.store, name, quick=not self.dry_run)
        if folder is None:
            return  # nothing new and no flag changed
        if folder.first_time:
            batch, note = fetch.baseline(mailbox, folder, self.now, self.backfill)
            self.report.notes.append(note)
            log.debug(note)
            self.record(batch)
            return
        for batch in fetch.new_batches(mailbox, folder):
            self.record(batch)
            if self.should_stop():
                return
        if not self.dry_run:
            self.report.answered += followup.flags(mailbox, self.store, folder, self.calendar, self.now)

    def record(self, batch: fetch.Batch) -> None:
        lines = record.batch(self.store, self.triage if batch.items else None, batch, self.now, self.should_stop)
        for line in lines:
            self.report.lines.append(line)
            self.emit(line)

    def send(self) -> None:
        sending = outbox.send(self.store, self.rules, self.now)
        if sending is not None:
            self.report.sent += sending.sent
            self.report.failed += sending.failed
            self.report.waiting = sending.waiting
            self.report.send_error = sending.error

    def remind(self) -> None:
        """The reminder before deadlines (`reminders:` in rules.yaml), when anything is due soon."""
        if self.rules.reminders is None or not self.reminds:
            return
        from mailtriage.app.reminders import remind
        from mailtriage.errors import MailtriageError

        try:
            sent = remind(self.store, self.rules, self.now, self.calendar)
        except MailtriageError as exc:
            self.report.notes.append(f"reminder not sent (tried again at the next check): {exc}")
            return
        if sent is not None:
            self.report.notes.append(f"reminder sent to {self.rules.summary.to if self.rules.summary else '?'}: "
                                     f"{sent.subject}")


def preload_holidays(rules: Rules, store: Store, now: datetime) -> dict[int, dict[date, str]]:
    """Last, this and next year's public holidays, from the database's cache."""
    country = rules.holidays.country
    if country is None:
        return {}
    return {year: store.public_holidays(country, rules.holidays.subdivision, year)
            for year in (now.year - 1, now.year, now.year + 1)}
