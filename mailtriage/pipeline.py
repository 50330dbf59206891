"""One check: fetch -> parse -> classify -> record (with the high-water mark) -> send.

Crash safety, step by step: a batch of messages, their threads, their planned replies and the
folder's new mark are committed together; replies are sent only after that, each marked
`sending` first. So a crash anywhere leaves either nothing recorded (the batch is fetched again)
or everything recorded and each reply planned (sent next time), sent, or of unknown fate (never
sent again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.policy import SMTP
from typing import Any

from mailtriage.answered import scan_flags, scan_sent
from mailtriage.classify import History, classify, sender_key
from mailtriage.config import Rules
from mailtriage.credentials import read_password
from mailtriage.errors import SendError
from mailtriage.fetch import Fetched, Mailbox
from mailtriage.guards import Context
from mailtriage.match import Matcher
from mailtriage.models import IGNORE, REPLY, SKIP, Incoming, Verdict
from mailtriage.overdue import enforce
from mailtriage.parse import parse
from mailtriage.reply import build, environment, new_message_id, render
from mailtriage.send import Outgoing, Result, crash_hook, send_all
from mailtriage.store import Mark, Store, iso
from mailtriage.wording import short_deadline

log = logging.getLogger("mailtriage")
BATCH = 200
RETRY_FOR = timedelta(days=1)  # a planned reply older than this is no longer worth sending


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

    def text(self, tz: Any) -> str:
        where = f"{self.folder} {self.uid}"
        due = short_deadline(datetime.fromisoformat(self.deadline).astimezone(tz)) if self.deadline else ""
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
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.rules, self.store, self.now = rules, store, now
        self.should_stop = should_stop  # asked after every message: a stop commits what is done
        self.dry_run, self.backfill = dry_run, backfill
        self.emit = emit or (lambda line: None)
        self.report = Report()
        self.calendar = rules.calendar(preload_holidays(rules, store, now))
        self.matcher = Matcher(rules)
        self.context = Context(own_addresses=rules.identity.all_addresses, require_addressed=rules.require_addressed)
        self.templates = environment(rules)

    def run(self) -> Report:
        lost = self.store.give_up_unknown()
        if lost:
            self.report.notes.append(f"{lost} holding replies were being sent when a check was interrupted: "
                                     "their fate is unknown, so they are not sent again")
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
                crash_hook("after-record")
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
            fresh = [f for f in mailbox.fetch(mailbox.uids_since(since)) if f.internaldate >= since]
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
                msg = parse(item.header, folder=folder, uid=item.uid, uidvalidity=uidvalidity,
                            received=item.internaldate, flags=item.flags, size=item.size)
                lines.append(self.record_one(msg))
                if not baseline and self.should_stop():
                    mark = Mark(uidvalidity, item.uid)
                    break
            self.store.set_mark(folder, mark, self.now, baseline=baseline)
        for line in lines:
            self.report.lines.append(line)
            self.emit(line)

    def record_one(self, msg: Incoming) -> Line:
        decision = self.matcher.match(msg.sender)
        thread_id = self.store.thread_of(msg.parents) or self.store.thread_of((msg.message_id,))
        thread = self.store.thread(thread_id) if thread_id else None
        history = History(
            duplicate=self.store.seen_message_id(msg.message_id),
            thread_state=thread["state"] if thread else None,
            thread_acknowledged=bool(thread and thread["acknowledged_at"]),
            sender_limited=self.sender_limited(msg),
            quiet_for=_quiet_for(thread, msg.received),
        )
        verdict = classify(msg, self.context, decision, history, self.calendar, self.rules.check_times,
                           self.rules.reacknowledge_after)
        if verdict.decision != SKIP and thread_id is None:
            thread_id = msg.message_id
            self.store.insert_thread(self.thread_row(msg, verdict))
        elif thread_id is not None:
            self.store.touch_thread(thread_id, msg.received)
            if verdict.decision != SKIP and history.thread_state in ("answered", "closed"):
                self.store.reopen(thread_id, msg.received, verdict.deadline, verdict.window)
        if thread_id is not None and not history.duplicate:
            self.store.add_ref(msg.message_id, thread_id)
        self.store.insert_message(self.message_row(msg, verdict, thread_id))
        if verdict.decision == REPLY:
            assert thread_id is not None
            self.plan_reply(msg, verdict, thread_id)
        log.debug("%s %s: %s (%s)", msg.folder, msg.uid, verdict.decision, verdict.reason)
        return Line(msg.folder, msg.uid, msg.message_id, msg.sender, verdict.client, verdict.decision,
                    verdict.reason, verdict.deadline.isoformat() if verdict.deadline else None, thread_id,
                    verdict.guard, msg.reply_to if verdict.decision == REPLY else None)

    def sender_limited(self, msg: Incoming) -> str | None:
        limit = self.rules.sender_limit
        if limit is None:
            return None
        key = sender_key(msg.reply_to or msg.sender)
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
            "broken": msg.broken,
        }

    def plan_reply(self, msg: Incoming, verdict: Verdict, thread_id: str) -> None:
        message_id = new_message_id(_identity_address(self.rules))
        text = render(self.templates, msg, verdict, self.rules, self.now, self.calendar)
        data = build(msg, text, self.rules, self.now, message_id).as_bytes(policy=SMTP)
        self.store.plan_reply({
            "thread_id": thread_id, "in_reply_to": msg.message_id, "message_id": message_id,
            "recipient": msg.reply_to, "sender_key": sender_key(msg.reply_to), "language": verdict.language,
            "planned_at": iso(self.now), "data": data,
        })

    # --- sending -----------------------------------------------------------------------------

    def send(self) -> None:
        pending = self.store.pending_replies(self.now, RETRY_FOR)
        if not pending:
            return
        if self.rules.smtp is None:
            self.report.waiting = len(pending)
            self.report.send_error = "no smtp section in rules.yaml: holding replies cannot be sent"
            return
        items = [Outgoing(row["id"], row["recipient"], row["data"]) for row in pending]
        password = read_password(self.rules.smtp) if self.rules.smtp.username else None
        self._outcome: list[tuple[int, str, dict[str, Any]]] = []
        try:
            self.report.sent = send_all(self.rules.smtp, password, _identity_address(self.rules), items,
                                        self.before_send, self.after_send)
        except SendError as exc:
            self.report.send_error = str(exc)
        finally:
            if self._outcome:
                self.store.reply_states(*self._outcome, now=datetime.now(UTC))
        self.report.waiting = len(self.store.pending_replies(self.now, RETRY_FOR))

    def before_send(self, item: Outgoing) -> None:
        """Commit `sending` before the SMTP transaction, with the previous reply's outcome: a crash
        between the two leaves that one `sending` too, so it is never sent again either."""
        self.store.reply_states(*self._outcome, (item.reply_id, "sending", {}), now=datetime.now(UTC))
        self._outcome = []

    def after_send(self, result: Result) -> None:
        fields: dict[str, Any] = {"envelope_sender": result.envelope_sender, "smtp_response": result.response}
        if result.state != "sent":
            fields["error"] = result.response
            self.report.failed += result.state in ("failed", "unknown")
            log.warning("holding reply %d: %s (%s)", result.reply_id, result.state, result.response)
        self._outcome = [(result.reply_id, result.state, fields)]


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


def _identity_address(rules: Rules) -> str:
    from email.utils import parseaddr

    return parseaddr(rules.identity.from_)[1].lower()


def line_dict(line: Line) -> dict[str, Any]:
    return asdict(line)
