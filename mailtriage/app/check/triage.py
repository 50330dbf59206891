"""The triage stage, one message: parse -> recipient -> classify -> the holding reply drafted.

It reads the records (thread, history, per-sender limit) and writes nothing: what it decides goes
forward as a `Triaged` value, and record.py writes it. The template engine and the message
builder are loaded only when the first holding reply is drafted.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mailtriage.config.model import Rules
from mailtriage.core.guards import GuardContext, address_objection
from mailtriage.core.language import pick_language
from mailtriage.core.models import RECORD, REOPENS, REPLY, SKIP, Incoming, Verdict
from mailtriage.core.parse import parse
from mailtriage.core.wording import when
from mailtriage.decide import recipient
from mailtriage.decide.classify import History, classify
from mailtriage.decide.match import Matcher
from mailtriage.errors import TemplateUnusable
from mailtriage.mail.imap import Fetched
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread

if TYPE_CHECKING:
    import jinja2

    from mailtriage.core.businessdays import BusinessCalendar

log = logging.getLogger("mailtriage")
# An arrival ahead of the check (a wrong server clock) is no fair start for a deadline, nor one
# further back than max_arrival_age: the check's own time is used instead.
SANE_FUTURE = timedelta(hours=1)


@dataclass(frozen=True)
class Draft:
    """A holding reply, rendered and built, ready to be planned in the outbox."""

    message_id: str
    recipient: str
    sender_key: str  # the recipient as the per-sender limit counts it
    language: str
    data: bytes
    via: str
    reason: str


@dataclass(frozen=True)
class Triaged:
    """Everything decided about one message, for record.py to write."""

    msg: Incoming  # as fetched
    judged: Incoming  # as its deadline is judged (an absurd arrival time replaced by the check's)
    verdict: Verdict
    thread_id: str | None
    new_thread: bool  # thread_id is new: the thread is to be made
    reopen: bool  # an answered or closed thread comes back to life
    duplicate: bool  # its Message-ID was recorded before
    draft: Draft | None


class Triage:
    """What triage needs for a whole check: the rules, the clock, and the records to read."""

    def __init__(self, rules: Rules, store: Store, now: datetime, calendar: BusinessCalendar,
                 backfill: timedelta | None = None) -> None:
        self.rules, self.store, self.now, self.calendar, self.backfill = rules, store, now, calendar, backfill
        self.matcher = Matcher(rules)
        self.forms = recipient.FormSenders.from_rules(rules)
        self.context = GuardContext(own_addresses=rules.identity.all_addresses,
                                    require_addressed=rules.require_addressed)
        self._templates: jinja2.Environment | None = None

    def fetched(self, folder: str, uidvalidity: int, item: Fetched) -> Triaged:
        msg = parse(item.header, folder=folder, uid=item.uid, uidvalidity=uidvalidity,
                    received=item.internaldate, flags=item.flags, size=item.size)
        return self.message(msg)

    def message(self, msg: Incoming) -> Triaged:
        choice = recipient.choose(msg, lambda address: self.matcher.match(address).client, self.forms,
                                  lambda address: address_objection(address, self.context))
        decision = self.matcher.match(msg.sender)
        if choice.client is not None and choice.via == "form":
            decision = self.matcher.form_of(choice.client, msg.sender)
        decision = replace(decision, language=pick_language(decision.language, msg.sender, msg.sender_name,
                                                            msg.subject))
        judged, why_now = self.judged_arrival(msg)
        thread_id = self.thread_for(msg, decision.client)
        thread = self.store.thread(thread_id) if thread_id else None
        history = History(
            duplicate=self.store.seen_message(msg.message_id, msg.sender),
            thread_state=thread.state if thread else None,
            thread_acknowledged=bool(thread and thread.acknowledged_at),
            sender_limited=self.sender_limited(choice.address),
            quiet_for=_quiet_for(thread, judged.received),
        )
        verdict = classify(judged, self.context, decision, history, self.calendar, self.rules.check_times,
                           self.rules.reacknowledge_after)
        if verdict.decision == REPLY and choice.address is None:
            verdict = replace(verdict, decision=RECORD, reason=choice.reason, guard="recipient",
                              hits=(*verdict.hits, ("recipient", choice.reason)))
        if why_now and verdict.deadline is not None:
            verdict = replace(verdict, reason=f"{verdict.reason}; {why_now}")
        new_thread = verdict.decision != SKIP and thread_id is None
        if new_thread:
            thread_id = self.new_thread_id(msg)
        draft = None
        if verdict.decision == REPLY:
            assert thread_id is not None and choice.address is not None
            draft = self.draft(replace(judged, reply_to=choice.address), verdict, choice)
            log.debug("%s %s: reply to %s: %s", msg.folder, msg.uid, choice.address, choice.reason)
        log.debug("%s %s: %s (%s)", msg.folder, msg.uid, verdict.decision, verdict.reason)
        reopen = (not new_thread and thread_id is not None and verdict.decision != SKIP
                  and history.thread_state in REOPENS)
        return Triaged(msg, judged, verdict, thread_id, new_thread, reopen, history.duplicate, draft)

    def judged_arrival(self, msg: Incoming) -> tuple[Incoming, str | None]:
        """The message as its deadline is judged: an arrival time far in the past (beyond the
        backfill) or in the future counts as the time of this check, and the reason says so."""
        age = self.rules.max_arrival_age
        oldest = None if age is None else self.now - max(age, self.backfill or timedelta(0))
        if (oldest is None or oldest <= msg.received) and msg.received <= self.now + SANE_FUTURE:
            return msg, None
        arrival = when(msg.received, self.rules.tz, self.now)
        side = "in the future" if msg.received > self.now else f"older than max_arrival_age ({_span(age)})"
        return replace(msg, received=self.now), f"its arrival time {arrival} is {side}: the deadline counts from now"

    def thread_for(self, msg: Incoming, client: str | None) -> str | None:
        """The recorded thread this message continues. It belongs to its participants: a message
        that points into someone else's thread (a stranger's In-Reply-To naming a client's
        message) starts a thread of its own instead of joining, answering or reopening theirs."""
        for candidates in (msg.parents, (msg.message_id,)):
            thread_id = self.store.thread_of(candidates)
            if thread_id and self.store.takes_part(thread_id, msg.sender, client):
                return thread_id
        return None

    def new_thread_id(self, msg: Incoming) -> str:
        """The thread's id is its first Message-ID; when another sender already used that id (a
        collision), the sender's hash makes it this sender's own."""
        if self.store.thread(msg.message_id) is None:
            return msg.message_id
        suffix = hashlib.sha256(msg.sender.encode("utf-8", "replace")).hexdigest()[:10]
        return f"{msg.message_id[:-1]}#{suffix}>"

    def sender_limited(self, address: str | None) -> str | None:
        """The per-recipient limit: +detail, case and forwarders' SRS/BATV rewriting ignored."""
        limit = self.rules.sender_limit
        if limit is None or address is None:
            return None
        key = recipient.limit_key(address)
        if self.store.recent_reply_to(key, self.now - timedelta(hours=limit.hours), limit.replies):
            return f"sender limit: {limit.replies} holding reply to {key} per {limit.hours} h already sent"
        return None

    def draft(self, msg: Incoming, verdict: Verdict, choice: recipient.Choice) -> Draft:
        """The holding reply to `msg` (its reply_to set), as it will go out."""
        from mailtriage.mail.reply import build_bytes, new_message_id, render
        from mailtriage.mail.templates import TemplateError, environment

        if self._templates is None:
            self._templates = environment(self.rules)
        message_id = new_message_id(self.rules.identity.address)
        try:
            text = render(self._templates, msg, verdict, self.rules, self.now, self.calendar)
        except TemplateError as exc:
            raise TemplateUnusable(f"the holding reply template cannot be used: {exc}; fix it (mailtriage "
                                   "preview shows a reply) and run again: nothing of this batch was recorded") from None
        data = build_bytes(msg, text, self.rules, self.now, message_id)
        return Draft(message_id, msg.reply_to, recipient.limit_key(msg.reply_to), verdict.language, data,
                     choice.via, choice.reason)


def _quiet_for(thread: Thread | None, received: datetime) -> timedelta | None:
    """How long an answered (or waiting) thread had been quiet when this message came."""
    if thread is None or thread.state not in REOPENS:
        return None
    return received - max(filter(None, (thread.last_received, thread.answered_at, thread.closed_at,
                                        thread.waiting_since)))


def _span(delta: timedelta | None) -> str:
    days, seconds = divmod(int(delta.total_seconds()) if delta else 0, 86400)
    return f"{days} days" if not seconds else f"{days * 24 + seconds // 3600} hours"
