"""The record stage: a batch's triaged messages, their threads, their planned replies and the
folder's new mark, written in one transaction.

Each message has a savepoint of its own: whatever handling it does, it is recorded (as broken,
if handling failed) and the batch goes on past it (Mailman's shunt). Only a failing database
(a full disk, an I/O error) or an unusable template stops the batch: no message's fault.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from mailtriage.app.check.fetch import Batch
from mailtriage.app.check.report import Line
from mailtriage.core.models import IGNORE, SKIP, ThreadState
from mailtriage.errors import TemplateUnusable
from mailtriage.mail.imap import Fetched
from mailtriage.store.db import Store
from mailtriage.store.dbfile import is_database_fault
from mailtriage.store.rows import Mark, Message, Reply, Thread

if TYPE_CHECKING:
    from mailtriage.app.check.triage import Triage, Triaged

log = logging.getLogger("mailtriage")
NOT_STORED = "(subject not stored)"


def batch(store: Store, triage: Triage | None, fetched: Batch, now: datetime,
          should_stop: Callable[[], bool]) -> list[Line]:
    """Record a batch and move the folder's mark, in one transaction. On a stop, the batch ends
    after the current message, and the mark moves only past what was recorded. (`triage` may be
    None only for a batch without messages.)"""
    lines, mark = [], fetched.mark
    with store.transaction():
        done = store.recorded_uids(fetched.folder, fetched.uidvalidity, [item.uid for item in fetched.items])
        for item in fetched.items:
            if item.uid in done:
                continue  # recorded (and answered) by push between checks
            assert triage is not None
            lines.append(safely(store, triage, fetched.folder, fetched.uidvalidity, item))
            if not fetched.baseline and should_stop():
                mark = Mark(fetched.uidvalidity, item.uid)
                break
        store.set_mark(fetched.folder, mark, now, baseline=fetched.baseline)
    return lines


def safely(store: Store, triage: Triage, folder: str, uidvalidity: int, item: Fetched) -> Line:
    """One message in a savepoint of its own; a message whose handling fails is shunted."""
    try:
        with store.savepoint():
            return write(store, triage.fetched(folder, uidvalidity, item), triage.now,
                         keep_subjects=triage.rules.store_subjects)
    except TemplateUnusable:
        raise  # the same for every message: stop, record nothing, say so
    except Exception as exc:  # noqa: BLE001 - the shunt: one message must never stop a check
        if is_database_fault(exc):
            raise  # a full disk, an I/O error, a damaged file: no message's fault, stop the batch
        return shunt(store, folder, uidvalidity, item, exc)


def write(store: Store, t: Triaged, now: datetime, *, keep_subjects: bool) -> Line:
    """What triage decided, written: the thread, the message, the planned reply (without the subject
    anywhere but in the reply still to be sent, with rules.yaml `store_subjects: false`)."""
    msg, verdict = t.msg, t.verdict
    if t.new_thread:
        assert t.thread_id is not None
        thread = thread_row(t, t.thread_id)
        if not keep_subjects:
            reason = scrub_subject(thread.reason, thread.subject) if thread.reason else thread.reason
            thread = replace(thread, subject=None, reason=reason)
        store.insert_thread(thread)
    elif t.thread_id is not None:
        store.touch_thread(t.thread_id, t.judged.received)
        if t.reopen:
            store.reopen(t.thread_id, t.judged.received, verdict.deadline, verdict.window)
    if t.thread_id is not None and not t.duplicate:
        store.add_ref(msg.message_id, t.thread_id)
    store.insert_message(message_row(t) if keep_subjects else without_subject(message_row(t)))
    if t.draft is not None:
        d = t.draft
        assert t.thread_id is not None
        store.plan_reply(Reply(t.thread_id, msg.message_id, d.message_id, d.recipient, d.sender_key, now, d.data,
                               language=d.language, reply_via=d.via, recipient_reason=d.reason))
    return Line(msg.folder, msg.uid, msg.message_id, msg.sender, verdict.client, verdict.decision,
                verdict.reason, verdict.deadline.isoformat() if verdict.deadline else None, t.thread_id,
                verdict.guard, t.draft.recipient if t.draft else None)


def shunt(store: Store, folder: str, uidvalidity: int, item: Fetched, exc: Exception) -> Line:
    """The message is recorded as broken, with why, and the check goes on past it."""
    reason = f"could not be handled: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    log.warning("%s %s: %s", folder, item.uid, reason)
    from mailtriage.core.parse import synthetic_id  # loaded with triage already: only a message is shunted

    with store.savepoint():
        message_id = synthetic_id(item.header)
        store.insert_message(Message(
            folder, uidvalidity, item.uid, message_id, item.internaldate, SKIP, reason, size=item.size,
            guard="broken", broken=reason), or_ignore=True)
        return Line(folder, item.uid, message_id, "", None, SKIP, reason, None, None, "broken")


def without_subject(message: Message) -> Message:
    """The message as recorded when no subject may be kept: none, and none quoted in a guard's reason."""
    return replace(message, subject="", reason=scrub_subject(message.reason, message.subject),
                   hits=tuple((guard, scrub_subject(why, message.subject)) for guard, why in message.hits))


def scrub_subject(text: str, subject: str | None) -> str:
    """`text` (a guard's reason) without the subject, whole or cut short, quoted or not."""
    if not subject or not subject.strip():
        return text
    for length in sorted({40, 50, 60, len(subject)}, reverse=True):
        text = text.replace(repr(subject[:length]), NOT_STORED)

    def quoted(match: re.Match[str]) -> str:  # any quoted start of the subject ('Invitation: Rozwód ...')
        inner = match.group(2)
        return NOT_STORED if len(inner.strip()) >= 8 and subject.startswith(inner) else match.group(0)

    return re.sub(r"(['\"])(.+?)\1", quoted, text).replace(subject, NOT_STORED)


def thread_row(t: Triaged, thread_id: str) -> Thread:
    msg, verdict = t.judged, t.verdict
    return Thread(
        thread_id, msg.sender, msg.received, msg.received,
        ThreadState.IGNORED if verdict.decision == IGNORE else ThreadState.OPEN, client=verdict.client,
        sender_name=msg.sender_name, subject=msg.subject, deadline=verdict.deadline, window=verdict.window,
        reason=verdict.reason, language=verdict.language)


def message_row(t: Triaged) -> Message:
    msg, verdict = t.msg, t.verdict
    return Message(
        msg.folder, msg.uidvalidity, msg.uid, msg.message_id, msg.received, verdict.decision, verdict.reason,
        thread_id=t.thread_id, sender=msg.sender, sender_name=msg.sender_name, reply_to=msg.reply_to,
        subject=msg.subject, date_header=msg.date, size=msg.size, guard=verdict.guard, client=verdict.client,
        deadline=verdict.deadline, window=verdict.window, hits=verdict.hits, broken=msg.broken)
