"""Decide what to do with one message: the guards (guards.GUARDS), the client's rules, the thread's history.

Pure: what the database knows is handed in as `History`, the time as the message's arrival. The
order of the reasons lives in one table, guards.GUARDS; here only what each kind of objection does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import time, timedelta
from typing import Any

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.guards import PERSON, GuardContext, History, all_hits, span
from mailtriage.core.models import IGNORE, RECORD, REPLY, SKIP, Incoming, Verdict
from mailtriage.core.windows import deadline
from mailtriage.decide.match import Decision

__all__ = ["History", "classify", "sender_key"]


def classify(msg: Incoming, ctx: GuardContext, decision: Decision, history: History,
             calendar: BusinessCalendar, check_times: Sequence[time],
             reacknowledge_after: timedelta = timedelta(days=3)) -> Verdict:
    """The verdict for `msg`: the first objection decides, every objection is kept in `hits`."""
    found = all_hits(msg, replace(ctx, history=history, reacknowledge_after=reacknowledge_after))
    base: dict[str, Any] = {"client": decision.client, "language": decision.language,
                            "window": str(decision.window), "hits": tuple((g.name, r) for g, r in found)}
    first = found[0] if found else None
    if first and first[0].machine:  # no person wrote it: no thread, no deadline
        return Verdict(SKIP, first[1], guard=first[0].name, **base)
    if decision.action == IGNORE:
        return Verdict(IGNORE, f"{decision.label}: action ignore", **base)
    base.update(deadline=deadline(decision.window, msg.received, calendar, check_times))
    if first and first[0].kind == PERSON:
        return Verdict(RECORD, first[1], guard=first[0].name, **base)
    if decision.action == RECORD:
        return Verdict(RECORD, f"{decision.label}: action record", **base)
    if first:  # the thread's history or the sender's limit
        return Verdict(RECORD, first[1], guard=first[0].name, **base)
    why = f"{decision.reason}; {decision.window.within}"
    if history.reopened:
        why = f"thread reopened after {span(history.quiet_for or timedelta(0))} of quiet; {why}"
    return Verdict(REPLY, why, **base)


_SRS = re.compile(r"srs[01][=+-][^=]+=[^=]+=(?P<domain>[^=]+)=(?P<local>.+)@.+", re.IGNORECASE)
_SRS1 = re.compile(r"srs1[=+-].*==[^=]+=[^=]+=(?P<domain>[^=]+)=(?P<local>.+)@.+", re.IGNORECASE)
_BATV = re.compile(r"(prvs|btv1|msprvs1)=[^=]+=(?P<local>.+)@(?P<domain>.+)", re.IGNORECASE)


def sender_key(address: str) -> str:
    """The address a per-sender limit counts: SRS and BATV rewriting by forwarders undone."""
    address = address.lower()
    for pattern in (_SRS1, _SRS, _BATV):
        found = pattern.fullmatch(address)
        if found:
            return f"{found.group('local')}@{found.group('domain')}"
    return address
