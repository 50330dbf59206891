"""What follows a good check, outside the check's stages: the deadline calendar file rewritten (when
rules.yaml names one) and, in the daemon, the monthly client reports. Each is tried on its own, and a
failure is returned as one line: the check itself has succeeded and stays so."""

from __future__ import annotations

import logging
from datetime import datetime

from mailtriage.config.accounts import resolve
from mailtriage.config.model import Rules
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.dbfile import DatabaseFault

log = logging.getLogger("mailtriage")


def after_check(store: Store, rules: Rules, now: datetime, *, reports: bool) -> list[str]:
    """Run the follow-ups; return a line for each that failed (nothing is imported when nothing is on)."""
    problems = []
    if rules.deadline_calendar is not None:
        from mailtriage.app.deadline_calendar import refresh

        try:
            refresh(store, rules, now)
        except OSError as exc:
            problems.append(f"calendar: cannot write {rules.deadline_calendar.file}: {exc.strerror or exc}")
    if reports and rules.reports == "monthly" and any(c.report_to for a in resolve(rules) for c in a.rules.clients):
        from mailtriage.app.monthly import send_due

        try:
            for client in send_due(store, rules, now):
                log.info("monthly report sent to %s", client)
        except (MailtriageError, DatabaseFault) as exc:
            problems.append(f"monthly report: {exc}")
    return problems
