"""Why a recorded message got what it got: the guards that objected, the client rule, the deadline
step by step, the holding reply's fate and the thread's state (`mailtriage explain`).

Reads the database only. The client rule is the *current* rules' answer for the stored sender and
says so; the deadline is recomputed with windows.deadline and compared with the recorded one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mailtriage.config.accounts import DEFAULT, resolve
from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.guards import GUARDS
from mailtriage.core.models import IGNORE, REPLY, SKIP, JsonObject, ReplyState
from mailtriage.core.reckoning import Reckoning, reckon
from mailtriage.core.windows import parse_window
from mailtriage.core.wording import when
from mailtriage.decide.match import Decision, Matcher
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.rows import Message, Reply, Thread

_DESCRIPTIONS = {guard.name: guard.description for guard in GUARDS}
_DESCRIPTIONS["recipient"] = "no address a holding reply may go to (From, the sender's own Reply-To, a listed form)"
_FOLDER_UID = re.compile(r"(?P<folder>[^@]+):(?P<uid>\d+)")
REPLY_STATES = {
    ReplyState.PLANNED: "waiting: it goes out at the next check",
    ReplyState.SENDING: "being sent, or a check stopped while sending it (the next check marks it unknown)",
    ReplyState.SENT: "accepted by the SMTP server",
    ReplyState.FAILED: "refused for good: this holding reply will not be sent",
    ReplyState.EXPIRED: "never sent: it waited too long, or the thread was settled first",
    ReplyState.UNKNOWN: "a check was interrupted while sending it: it may have gone out, so it is never sent again",
}


class NotRecorded(MailtriageError):
    exit_code = 2


@dataclass(frozen=True)
class Explanation:
    """Everything `explain` says about one recorded message."""

    message: Message
    rule: Decision  # the current rules' answer for the stored sender
    window: str | None  # the window the deadline is recomputed with
    window_source: str
    reckoning: Reckoning | None  # None: the message has no deadline
    reply: Reply | None
    thread: Thread | None

    @property
    def objections(self) -> list[dict[str, str]]:
        return [{"guard": g, "reason": r, "description": _DESCRIPTIONS.get(g, "")} for g, r in self.message.hits]

    @property
    def deadline_moved(self) -> bool:
        """The recomputation disagrees with the record (the rules, calendar or arrival judgement changed)."""
        return bool(self.reckoning and self.message.deadline and self.reckoning.deadline != self.message.deadline)


def find(store: Store, ref: str, accounts: tuple[str, ...] = (DEFAULT,)) -> list[Message]:
    """The recorded messages `ref` names: a thread number (12, #12), FOLDER:UID (in each of `accounts`),
    or a Message-ID (with or without <>; one of our holding replies' ids names the message it answered)."""
    text = ref.strip()
    if re.fullmatch(r"#?\d+", text):
        found = store.messages_of_thread(int(text.lstrip("#")))
    elif not text.startswith("<") and (where := _FOLDER_UID.fullmatch(text)):
        found = []
        for account in accounts:
            store.account = account
            found += store.messages_at(where["folder"], int(where["uid"]))
    else:
        message_id = text if text.startswith("<") else f"<{text}>"
        found = store.messages_by_id(message_id)
        ours = None if found else store.reply_by_id(message_id)
        if ours is not None:
            found = [m for m in store.messages_by_id(ours.in_reply_to) if m.thread_id == ours.thread_id]
    if not found:
        raise NotRecorded(f"no recorded message {text!r} (mail already there at a folder's first check is not "
                          "recorded): `mailtriage threads` lists threads; explain one by its number, e.g. 12")
    return found


def explain(store: Store, rules: Rules, ref: str, calendar: BusinessCalendar) -> list[Explanation]:
    """An explanation of every recorded message `ref` names, each by the rules of its own account."""
    accounts = {account.name: account.rules for account in resolve(rules)}
    matchers: dict[str, Matcher] = {}
    result = []
    for message in find(store, ref, tuple(accounts)):
        own = accounts.get(message.account, rules)
        matcher = matchers.setdefault(message.account, Matcher(own))
        store.account = message.account  # its thread and reply are read in its account
        result.append(_explain(store, own, matcher, calendar, message))
    return result


def _explain(store: Store, rules: Rules, matcher: Matcher, calendar: BusinessCalendar,
             message: Message) -> Explanation:
    thread = store.thread(message.thread_id) if message.thread_id else None
    reply = store.reply_for(message.thread_id, message.message_id) if message.thread_id else None
    rule = matcher.match(message.sender)
    if message.window:
        window, source = message.window, "as recorded"
    elif thread is not None and thread.window and thread.opened_at == message.received:
        window, source = thread.window, "the thread's, as recorded"
    else:
        window, source = str(rule.window), "the current rules'"
    told = None
    if message.deadline is not None:
        try:
            told = reckon(parse_window(window), message.received, calendar, rules.check_times)
        except ValueError as exc:
            told = Reckoning(None, (f"the window {window!r} cannot be read: {exc}",))
    return Explanation(message, rule, window if told else None, source, told, reply, thread)


# --- for people and for scripts ------------------------------------------------------------------

def as_dict(item: Explanation, tz: ZoneInfo) -> JsonObject:
    """One message's explanation as JSON-ready data; times in the rules' time zone."""
    m, rule, told = item.message, item.rule, item.reckoning
    return {
        "account": m.account, "folder": m.folder, "uidvalidity": m.uidvalidity, "uid": m.uid,
        "message_id": m.message_id,
        "sender": m.sender, "sender_name": m.sender_name, "subject": m.subject, "received": _iso(m.received, tz),
        "decision": m.decision, "reason": m.reason, "guard": m.guard, "broken": m.broken,
        "objections": item.objections, "recorded_client": m.client,
        "client_rule": {"client": rule.client, "action": rule.action, "window": str(rule.window),
                        "language": rule.language, "reason": rule.reason, "source": "current rules"},
        "deadline": None if m.deadline is None else {
            "recorded": _iso(m.deadline, tz), "window": item.window, "window_source": item.window_source,
            "recomputed": _iso(told.deadline, tz) if told else None, "moved": item.deadline_moved,
            "steps": list(told.steps) if told else []},
        "reply": None if item.reply is None else _reply_dict(item.reply, tz),
        "thread": None if item.thread is None else _thread_dict(item.thread, tz),
    }


def _reply_dict(reply: Reply, tz: ZoneInfo) -> JsonObject:
    return {"state": reply.state, "meaning": REPLY_STATES.get(reply.state, ""), "recipient": reply.recipient,
            "via": reply.reply_via, "recipient_reason": reply.recipient_reason, "server_answer": reply.smtp_response,
            "error": reply.error, "attempts": reply.attempts, "message_id": reply.message_id,
            "planned_at": _iso(reply.planned_at, tz), "sent_at": _iso(reply.sent_at, tz)}


def _thread_dict(thread: Thread, tz: ZoneInfo) -> JsonObject:
    return {"number": thread.number, "thread": thread.id, "state": thread.state, "client": thread.client,
            "deadline": _iso(thread.deadline, tz), "snoozed_from": _iso(thread.snoozed_from, tz),
            "acknowledged_at": _iso(thread.acknowledged_at, tz), "answered_at": _iso(thread.answered_at, tz),
            "answered_via": thread.answered_via, "closed_at": _iso(thread.closed_at, tz)}


def text(item: Explanation, tz: ZoneInfo, accounts: bool = False) -> list[str]:
    """One message's explanation as lines for people (its account first, with `accounts`)."""
    m = item.message
    who = f"{m.sender_name} <{m.sender}>" if m.sender_name else m.sender or "(no From)"
    where = f"{m.account}: {m.folder}" if accounts else m.folder
    # Without stored subjects a message's is '' and its thread's None: say so rather than show ''.
    unstored = not m.subject and item.thread is not None and item.thread.subject is None
    subject = _subject(None if unstored else m.subject)
    lines = [f"{where}:{m.uid} {m.message_id} from {who}, {subject}, arrived {_at(m.received, tz)}",
             *verdict_lines(item), *deadline_lines(item, tz), *_reply_lines(item, tz)]
    if item.thread is not None:
        lines.append(f"  thread:    {_thread_text(item.thread, tz)}")
    return lines


def verdict_lines(item: Explanation) -> list[str]:
    """The decision, every guard that objected, and the client rule."""
    m, rule = item.message, item.rule
    lines = [f"  decision:  {m.decision}: {m.reason}"]
    if not item.objections:
        lines.append("  guards:    none objected")
    for number, hit in enumerate(item.objections):
        lines.append(f"  {'guards:' if not number else '':10} {hit['guard']}: {hit['reason']}"
                     + (" (decided)" if hit["guard"] == m.guard else "") + f" [{hit['description']}]")
    who = f"{rule.label} ({rule.reason})" if rule.client else "no client matched, the defaults apply"
    lines.append(f"  client:    {who}; action {rule.action}, {rule.window.within}, language "
                 f"{rule.language} (the current rules' answer"
                 + (f"; recorded then: {m.client or 'no client'})" if m.client != rule.client else ")"))
    return lines


def deadline_lines(item: Explanation, tz: ZoneInfo) -> list[str]:
    """The deadline, the window it comes from, and the steps that lead to it."""
    m, told = item.message, item.reckoning
    if m.deadline is None or told is None:
        why = {SKIP: "no person wrote it, so it has no thread to answer",
               IGNORE: "the client's action is ignore"}.get(m.decision, "none was recorded")
        return [f"  deadline:  none: {why}"]
    head = f"  deadline:  {_at(m.deadline, tz)} ({item.window}, window {item.window_source})"
    lines = [head, *(f"{'':13}{step}" for step in told.steps)]
    if item.deadline_moved:
        lines.append(f"{'':13}recorded {_at(m.deadline, tz)}, recomputed now "
                     f"{_at(told.deadline, tz) if told.deadline else 'impossible'}: the rules, the calendar or the "
                     "arrival time counted (see the reason) differ from the check's")
    return lines


def _reply_lines(item: Explanation, tz: ZoneInfo) -> list[str]:
    reply = item.reply
    if reply is None:
        return ["  reply:     none planned" + (f" ({item.message.reason})" if item.message.decision != REPLY else "")]
    when = reply.sent_at or reply.attempted_at or reply.planned_at
    answer = reply.smtp_response or reply.error
    lines = [f"  reply:     {reply.state} to {reply.recipient} ({_at(when, tz)}): {REPLY_STATES.get(reply.state, '')}"]
    if answer:
        lines.append(f"{'':13}server's answer: {answer}")
    why = reply.recipient_reason or "not recorded (planned before the database kept it)"
    lines.append(f"{'':13}why that address: {why}")
    return lines


def _thread_text(thread: Thread, tz: ZoneInfo) -> str:
    out = f"#{thread.number} {thread.state}"
    if thread.deadline and thread.waiting:
        out += f", due {_at(thread.deadline, tz)}"
    if thread.snoozed_from:
        out += f" (moved from {_at(thread.snoozed_from, tz)})"
    if thread.answered_at:
        out += f", answered {_at(thread.answered_at, tz)} ({thread.answered_via})"
    if thread.closed_at:
        out += f", closed {_at(thread.closed_at, tz)}"
    return out + f"; {thread.client or 'no client'}, {thread.sender}, {_subject(thread.subject)}"


def _at(instant: datetime, tz: ZoneInfo) -> str:
    return when(instant, tz, datetime.now(UTC))


def _iso(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return instant.astimezone(tz).isoformat() if instant else None


def _subject(subject: str | None) -> str:
    """The subject quoted, or what stands in for it when none is stored (store_subjects: false)."""
    return repr(subject) if subject is not None else "(subject not stored)"
