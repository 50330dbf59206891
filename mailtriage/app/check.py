"""One check: fetch -> parse -> classify -> record (with the high-water mark) -> send.

Crash safety, step by step: a batch of messages, their threads, their planned replies and the
folder's new mark are committed together; replies are sent only after that, each marked
`sending` first. So a crash anywhere leaves either nothing recorded (the batch is fetched again)
or everything recorded and each reply planned (sent next time), sent, or of unknown fate (never
sent again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from email.policy import SMTP
from typing import Any

from mailtriage.app.answered import scan_flags, scan_sent
from mailtriage.app.overdue import enforce
from mailtriage.config.credentials import read_password
from mailtriage.config.model import Rules
from mailtriage.core.addresses import NeedsSmtpUtf8, envelope_recipient
from mailtriage.core.guards import Context, address_objection
from mailtriage.core.language import pick_language
from mailtriage.core.models import IGNORE, RECORD, REPLY, SKIP, Incoming, Verdict
from mailtriage.core.parse import parse, synthetic_id
from mailtriage.core.wording import plural, when
from mailtriage.decide import recipient
from mailtriage.decide.classify import History, classify
from mailtriage.decide.match import Matcher
from mailtriage.errors import MailtriageError, SendError
from mailtriage.mail.imap import Fetched, Mailbox
from mailtriage.mail.reply import build, new_message_id, render
from mailtriage.mail.smtp import FAILED, SENT, UNKNOWN, SmtpSession
from mailtriage.mail.templates import TemplateError, environment
from mailtriage.store.db import Mark, Store, iso
from mailtriage.store.lock import one_check

log = logging.getLogger("mailtriage")
BATCH = 200
RETRY_FOR = timedelta(days=1)  # a planned reply older than this is no longer worth sending
# An arrival ahead of the check (a wrong server clock) is no fair start for a deadline, nor one
# further back than max_arrival_age: the check's own time is used instead.
SANE_FUTURE = timedelta(hours=1)


@dataclass
class Line:
    """What happened to one message: printed as one line, or one JSON object."""

    folder: str
    uid: int
    message_id: str
    sender: str
    client: str | None
    decision: str
    reason: str
    deadline: str | None
    thread: str | None
    guard: str | None = None
    reply_to: str | None = None

    def text(self, tz: Any, now: datetime) -> str:
        where = f"{self.folder} {self.uid} from {self.sender or '(no sender)'}:"
        due = when(datetime.fromisoformat(self.deadline), tz, now) if self.deadline else ""
        who = f" ({self.client})" if self.client else ""
        if self.decision == REPLY:
            return f"{where} holding reply → {self.reply_to}, due {due}{who}"
        if self.decision == IGNORE:
            return f"{where} ignored: {self.reason}"
        if self.decision == SKIP:
            return f"{where} no reply: {self.reason}"
        return f"{where} recorded, no reply: {self.reason}" + (f"; due {due}{who}" if due else "")


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    answered: int = 0
    waiting: int = 0
    send_error: str | None = None


class Check:
    """One whole cycle over every configured folder."""

    def __init__(self, rules: Rules, store: Store, now: datetime, *, dry_run: bool = False,
                 backfill: timedelta | None = None, emit: Callable[[Line], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False, lock_wait: float = 30.0) -> None:
        self.rules, self.store, self.now = rules, store, now
        self.lock_wait = lock_wait
        self.should_stop = should_stop  # asked after every message: a stop commits what is done
        self.dry_run, self.backfill = dry_run, backfill
        self.emit = emit or (lambda line: None)
        self.report = Report()
        self.calendar = rules.calendar(preload_holidays(rules, store, now))
        self.matcher = Matcher(rules)
        self.forms = recipient.FormSenders.from_rules(rules)
        self.context = Context(own_addresses=rules.identity.all_addresses, require_addressed=rules.require_addressed)
        self.templates = environment(rules)

    def run(self) -> Report:
        with self._one_at_a_time():
            lost = self.store.give_up_unknown()
            if lost:
                self.report.notes.append(
                    f"{plural(lost, ('holding reply was', 'holding replies were'))} being sent when a check was "
                    "interrupted: their fate is unknown, so they are not sent again")
            try:
                with Mailbox(self.rules.imap, read_password(self.rules.imap)) as mailbox:
                    for folder in self.rules.imap.folders:
                        if self.should_stop():
                            break
                        self.check_folder(mailbox, folder)
                    if not self.dry_run and not self.should_stop():
                        self.report.answered += scan_sent(mailbox, self.store, self.calendar, self.now)
                        self.report.notes.extend(enforce(mailbox, self.store, self.rules, self.now))
            finally:
                # What was recorded before a connection broke is answered now, not at the next check;
                # on a stop, planned replies wait for the next start.
                if not self.dry_run and not self.should_stop():
                    self.send()
        return self.report

    def _one_at_a_time(self) -> AbstractContextManager[None]:
        """The check lock of this database (a dry run on its private copy needs none)."""
        if self.dry_run or self.store.path is None:
            return nullcontext()
        return one_check(self.store.path, self.lock_wait)

    # --- fetching and recording --------------------------------------------------------------

    def check_folder(self, mailbox: Mailbox, folder: str) -> None:
        mark = self.store.mark(folder)
        if mark is not None and mailbox.condstore and not self.dry_run:
            quick = mailbox.status(folder)
            if (quick.uidvalidity == mark.uidvalidity and quick.uidnext <= mark.last_uid + 1
                    and quick.highestmodseq is not None and quick.highestmodseq == self.store.modseq(folder)):
                return  # nothing new and no flag changed: an idle check of a folder is one STATUS
        state = mailbox.select(folder)
        if mark is None or mark.uidvalidity != state.uidvalidity:
            self.baseline(mailbox, folder, mark, state.uidvalidity, state.uidnext, state.exists)
            return
        if not state.uidnext or state.uidnext > mark.last_uid + 1:  # else nothing new: not even a SEARCH
            uids = mailbox.uids_after(mark.last_uid)
            for start in range(0, len(uids), BATCH):
                batch = uids[start:start + BATCH]
                self.record(folder, state.uidvalidity, mailbox.fetch(batch), Mark(state.uidvalidity, batch[-1]))
                _crash_point("after-record")
                if self.should_stop():
                    return
        if not self.dry_run:
            self.report.answered += scan_flags(mailbox, self.store, folder, state, self.calendar, self.now)

    def baseline(self, mailbox: Mailbox, folder: str, old: Mark | None, uidvalidity: int, uidnext: int,
                 exists: int) -> None:
        """First check of a folder, or its UIDVALIDITY changed: what is there now is not answered."""
        if not uidnext:  # a server that does not say UIDNEXT: ask for the highest UID
            uidnext = max(mailbox.uids_after(0), default=0) + 1
        why = "first check" if old is None else f"UIDVALIDITY changed from {old.uidvalidity} to {uidvalidity}"
        fresh: Iterable[Fetched] = ()
        if self.backfill:
            since = self.now - self.backfill
            # only below UIDNEXT: what arrives after the SELECT is past the mark, for the next check
            wanted = [uid for uid in mailbox.uids_since(since) if uid < uidnext]
            fresh = [f for f in mailbox.fetch(wanted) if f.internaldate >= since]
        note = f"{folder}: {why}: {exists} messages already there get no reply"
        if self.backfill:
            note += f", except {len(list(fresh))} from the last {self.backfill}"
        self.report.notes.append(note)
        log.debug(note)
        self.record(folder, uidvalidity, fresh, Mark(uidvalidity, uidnext - 1), baseline=True)

    def record(self, folder: str, uidvalidity: int, fetched: Iterable[Fetched], mark: Mark,
               *, baseline: bool = False) -> None:
        """Record a batch and move the folder's mark, in one transaction. On a stop, the batch ends
        after the current message, and the mark moves only past what was recorded."""
        lines = []
        with self.store.transaction():
            for item in fetched:
                lines.append(self.record_safely(folder, uidvalidity, item))
                if not baseline and self.should_stop():
                    mark = Mark(uidvalidity, item.uid)
                    break
            self.store.set_mark(folder, mark, self.now, baseline=baseline)
        for line in lines:
            self.report.lines.append(line)
            self.emit(line)

    def record_safely(self, folder: str, uidvalidity: int, item: Fetched) -> Line:
        """One message, in a savepoint of its own: whatever it does, it is recorded (as broken, if
        handling it failed) and the check goes on past it (Mailman's shunt). Only a failing
        database (a full disk, an I/O error) stops the batch: that is no message's fault."""
        try:
            with self.store.savepoint():
                msg = parse(item.header, folder=folder, uid=item.uid, uidvalidity=uidvalidity,
                            received=item.internaldate, flags=item.flags, size=item.size)
                return self.record_one(msg)
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.IntegrityError):
                raise  # a full disk, an I/O error, a damaged file: no message's fault, stop the batch
            return self.shunt(folder, uidvalidity, item, exc)
        except TemplateError as exc:  # the same for every message: stop, record nothing, say so
            raise MailtriageError(f"the holding reply template cannot be used: {exc}; fix it (mailtriage "
                                  "preview shows a reply) and run again: nothing of this batch was recorded") from None
        except Exception as exc:  # noqa: BLE001 - the shunt: one message must never stop a check
            return self.shunt(folder, uidvalidity, item, exc)

    def shunt(self, folder: str, uidvalidity: int, item: Fetched, exc: Exception) -> Line:
        reason = f"could not be handled: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        log.warning("%s %s: %s", folder, item.uid, reason)
        with self.store.savepoint():
            return self.record_broken(folder, uidvalidity, item, reason)

    def record_broken(self, folder: str, uidvalidity: int, item: Fetched, reason: str) -> Line:
        message_id = synthetic_id(item.header)
        self.store.insert("messages", {
            "folder": folder, "uidvalidity": uidvalidity, "uid": item.uid, "message_id": message_id,
            "received_at": iso(item.internaldate), "size": item.size, "decision": SKIP, "guard": "broken",
            "reason": reason, "broken": reason}, or_ignore=True)
        return Line(folder, item.uid, message_id, "", None, SKIP, reason, None, None, "broken")

    def record_one(self, msg: Incoming) -> Line:
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
            thread_state=thread["state"] if thread else None,
            thread_acknowledged=bool(thread and thread["acknowledged_at"]),
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
        if verdict.decision != SKIP and thread_id is None:
            thread_id = self.new_thread_id(msg)
            self.store.insert_thread({**self.thread_row(judged, verdict), "id": thread_id})
        elif thread_id is not None:
            self.store.touch_thread(thread_id, judged.received)
            if verdict.decision != SKIP and history.thread_state in ("answered", "closed"):
                self.store.reopen(thread_id, judged.received, verdict.deadline, verdict.window)
        if thread_id is not None and not history.duplicate:
            self.store.add_ref(msg.message_id, thread_id)
        self.store.insert_message(self.message_row(msg, verdict, thread_id))
        if verdict.decision == REPLY:
            assert thread_id is not None and choice.address is not None
            self.plan_reply(replace(judged, reply_to=choice.address), verdict, thread_id, choice)
            log.debug("%s %s: reply to %s: %s", msg.folder, msg.uid, choice.address, choice.reason)
        log.debug("%s %s: %s (%s)", msg.folder, msg.uid, verdict.decision, verdict.reason)
        return Line(msg.folder, msg.uid, msg.message_id, msg.sender, verdict.client, verdict.decision,
                    verdict.reason, verdict.deadline.isoformat() if verdict.deadline else None, thread_id,
                    verdict.guard, choice.address if verdict.decision == REPLY else None)

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

    def thread_row(self, msg: Incoming, verdict: Verdict) -> dict[str, Any]:
        return {
            "id": msg.message_id, "client": verdict.client, "sender": msg.sender, "sender_name": msg.sender_name,
            "subject": msg.subject, "first_received": iso(msg.received), "last_received": iso(msg.received),
            "opened_at": iso(msg.received),
            "deadline": iso(verdict.deadline) if verdict.deadline else None, "window": verdict.window,
            "state": "ignored" if verdict.decision == IGNORE else "open", "reason": verdict.reason,
            "language": verdict.language,
        }

    def message_row(self, msg: Incoming, verdict: Verdict, thread_id: str | None) -> dict[str, Any]:
        return {
            "folder": msg.folder, "uidvalidity": msg.uidvalidity, "uid": msg.uid, "message_id": msg.message_id,
            "thread_id": thread_id, "sender": msg.sender, "sender_name": msg.sender_name,
            "reply_to": msg.reply_to, "subject": msg.subject, "received_at": iso(msg.received),
            "date_header": iso(msg.date) if msg.date else None, "size": msg.size,
            "decision": verdict.decision, "guard": verdict.guard, "reason": verdict.reason,
            "client": verdict.client, "deadline": iso(verdict.deadline) if verdict.deadline else None,
            "broken": msg.broken, "hits": json.dumps(verdict.hits, ensure_ascii=False) if verdict.hits else None,
            "window": verdict.window,
        }

    def plan_reply(self, msg: Incoming, verdict: Verdict, thread_id: str, choice: recipient.Choice) -> None:
        message_id = new_message_id(self.rules.identity.address)
        text = render(self.templates, msg, verdict, self.rules, self.now, self.calendar)
        data = build(msg, text, self.rules, self.now, message_id).as_bytes(policy=SMTP)
        self.store.plan_reply({
            "thread_id": thread_id, "in_reply_to": msg.message_id, "message_id": message_id,
            "recipient": msg.reply_to, "sender_key": recipient.limit_key(msg.reply_to), "language": verdict.language,
            "planned_at": iso(self.now), "data": data, "reply_via": choice.via, "recipient_reason": choice.reason,
        })

    # --- sending -----------------------------------------------------------------------------

    def send(self) -> None:
        """Send the outbox, claiming one reply at a time just before its own SMTP transaction."""
        if not self.store.expire_replies(self.now, RETRY_FOR):
            return
        if self.rules.smtp is None:
            self.report.waiting = self.store.count_replies("planned")
            self.report.send_error = "no smtp section in rules.yaml: holding replies cannot be sent"
            return
        password = read_password(self.rules.smtp) if self.rules.smtp.username else None
        try:
            with SmtpSession(self.rules.smtp, password, self.rules.identity.address) as session:
                last = 0
                while session.alive and (reply := self.store.claim_next(last)) is not None:
                    last = reply.id
                    try:
                        rcpt = envelope_recipient(reply.recipient, session.smtputf8)
                    except NeedsSmtpUtf8 as exc:  # shown in the summary as a failed reply, with why
                        self.store.fail_reply(reply.id, str(exc))
                        self.count(reply.id, FAILED, str(exc))
                        continue
                    result = session.send(rcpt, reply.data, smtputf8=not rcpt.isascii())
                    _crash_point("after-send")
                    self.store.finish_reply(reply.id, result.state, result.envelope_sender, result.response)
                    self.count(reply.id, result.state, result.response)
        except SendError as exc:
            self.report.send_error = str(exc)
        self.report.waiting = self.store.count_replies("planned")

    def count(self, reply_id: int, state: str, response: str) -> None:
        if state == SENT:
            self.report.sent += 1
            return
        self.report.failed += state in (FAILED, UNKNOWN)
        log.warning("holding reply %d: %s (%s)", reply_id, state, response)


def _crash_point(point: str) -> None:
    """For the crash tests only: die at a named point, as a power cut would."""
    if os.environ.get("MAILTRIAGE_TEST_CRASH") == point:
        os._exit(86)


def preload_holidays(rules: Rules, store: Store, now: datetime) -> dict[int, Any]:
    """Last, this and next year's public holidays, from the database's cache."""
    country = rules.holidays.country
    if country is None:
        return {}
    return {year: store.public_holidays(country, rules.holidays.subdivision, year)
            for year in (now.year - 1, now.year, now.year + 1)}


def _quiet_for(thread: dict[str, Any] | None, received: datetime) -> timedelta | None:
    """How long an answered thread had been quiet when this message came."""
    if thread is None or thread["state"] not in ("answered", "closed"):
        return None
    last = max(filter(None, (thread["last_received"], thread["answered_at"], thread["closed_at"])))
    return received - datetime.fromisoformat(last)


def _span(delta: timedelta | None) -> str:
    days, seconds = divmod(int(delta.total_seconds()) if delta else 0, 86400)
    return f"{days} days" if not seconds else f"{days * 24 + seconds // 3600} hours"


def line_dict(line: Line, tz: Any) -> dict[str, Any]:
    """The line as JSON: the deadline in ISO 8601 with the offset of the user's zone, as everywhere."""
    data = asdict(line)
    if line.deadline:
        data["deadline"] = datetime.fromisoformat(line.deadline).astimezone(tz).isoformat()
    return data
