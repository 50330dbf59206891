"""Decide what to do with one message: the guards, the client's rules, then the thread's history.

Pure: what the database knows is handed in as `History`, the time as the message's arrival.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from mailtriage.businessdays import BusinessCalendar
from mailtriage.guards import Context, first_hit
from mailtriage.match import Decision
from mailtriage.models import IGNORE, RECORD, REPLY, SKIP, Incoming, Verdict
from mailtriage.windows import deadline


@dataclass(frozen=True)
class History:
    """What the records say about a message's past."""

    duplicate: bool = False  # its Message-ID was recorded before
    thread_state: str | None = None  # None: it starts a new thread
    thread_acknowledged: bool = False
    sender_limited: str | None = None  # why the per-sender limit forbids another reply, if it does
    quiet_for: timedelta | None = None  # an answered thread: time since anything last happened in it


def classify(msg: Incoming, ctx: Context, decision: Decision, history: History,
             calendar: BusinessCalendar, check_times: Sequence[time],
             reacknowledge_after: timedelta = timedelta(days=3)) -> Verdict:
    """The verdict for `msg`, with the one reason that decided it."""
    base: dict[str, Any] = {"client": decision.client, "language": decision.language, "window": str(decision.window)}
    if msg.broken:
        return Verdict(SKIP, f"broken message: {msg.broken}", guard="broken", **base)
    if history.duplicate:
        return Verdict(SKIP, f"duplicate of a recorded message {msg.message_id}", guard="duplicate", **base)
    hit = first_hit(msg, ctx)
    if hit and hit[0].machine:
        return Verdict(SKIP, hit[1], guard=hit[0].name, **base)
    if decision.action == IGNORE:
        return Verdict(IGNORE, f"client {decision.label}: action ignore", **base)
    due = deadline(decision.window, msg.received, calendar, check_times)
    base.update(deadline=due)
    if hit:
        return Verdict(RECORD, hit[1], guard=hit[0].name, **base)
    if decision.action == RECORD:
        return Verdict(RECORD, f"client {decision.label}: action record", **base)
    reopened = history.thread_state in ("answered", "closed")
    why = f"{decision.reason}; within {decision.window}"
    if reopened:
        quiet = history.quiet_for or timedelta(0)
        if quiet < reacknowledge_after:
            return Verdict(RECORD, f"thread reopened after {_span(quiet)} of quiet: an active conversation gets "
                                   f"no new holding reply (reacknowledge_after: {_span(reacknowledge_after)})",
                           guard="thread", **base)
        why = f"thread reopened after {_span(quiet)} of quiet; {why}"
    elif history.thread_acknowledged:
        return Verdict(RECORD, "thread already acknowledged", guard="thread", **base)
    if history.sender_limited:
        return Verdict(RECORD, history.sender_limited, guard="sender-limit", **base)
    return Verdict(REPLY, why, **base)


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


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
