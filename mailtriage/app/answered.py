"""Notice that the human answered: replies in the Sent folder, and \\Answered set by any mail client.

Both are incremental. The Sent folder has its own high-water mark (only messages past it are
read); flags are read only where they changed (CONDSTORE), or else only for the messages of
open threads. Our own holding replies, and anything marked Auto-Submitted, never count.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.models import OUR_ID_PREFIX, AnsweredVia, FolderKind
from mailtriage.mail.imap import FolderState, Mailbox
from mailtriage.store.db import Store
from mailtriage.store.rows import Mark, Thread

log = logging.getLogger("mailtriage")
SENT = FolderKind.SENT


def mark_answered(store: Store, thread: Thread, at: datetime, via: AnsweredVia, calendar: BusinessCalendar) -> None:
    """Close the thread's current period as answered at `at`, measuring the response time."""
    at = max(at, thread.opened_at)
    store.record_answer(thread, at, via, calendar.business_seconds(thread.opened_at, at))


def scan_sent(mailbox: Mailbox, store: Store, calendar: BusinessCalendar, now: datetime) -> int:
    """Threads answered by messages that reached the Sent folder since the last check."""
    folder = mailbox.sent_folder()
    if folder is None:
        return 0
    mark = store.mark(folder, SENT)
    quick = mailbox.status(folder)
    if mark is not None and mark.uidvalidity == quick.uidvalidity and quick.uidnext <= mark.last_uid + 1:
        return 0  # nothing sent since the last check: no SELECT of a folder that may be huge
    state = mailbox.select(folder)
    if mark is None or mark.uidvalidity != state.uidvalidity:
        with store.transaction():  # what was sent before we started watching answers nothing
            store.set_mark(folder, Mark(state.uidvalidity, state.uidnext - 1), now, baseline=True, kind=SENT)
        return 0
    if state.uidnext and state.uidnext <= mark.last_uid + 1:
        return 0
    from mailtriage.core.guards import is_auto_submitted
    from mailtriage.core.parse import parse  # the email package's parser: only when something was sent

    uids = mailbox.uids_after(mark.last_uid)
    answered = 0
    with store.transaction():
        for item in mailbox.fetch_sent(uids):
            msg = parse(item.header, folder=folder, uid=item.uid, uidvalidity=state.uidvalidity,
                        received=item.internaldate)
            if msg.message_id.startswith(OUR_ID_PREFIX) or is_auto_submitted(msg):
                continue  # our holding reply, or another automatic message: not an answer
            thread_id = store.thread_of(msg.parents)
            thread = store.thread(thread_id) if thread_id else None
            if thread is not None:
                store.add_ref(msg.message_id, thread.id)  # the client's reply to it joins the thread
                if thread.waiting:
                    mark_answered(store, thread, item.internaldate, AnsweredVia.SENT, calendar)
                    answered += 1
        if uids:
            store.set_mark(folder, Mark(state.uidvalidity, uids[-1]), now, kind=SENT)
    return answered


def scan_flags(mailbox: Mailbox, store: Store, folder: str, state: FolderState, calendar: BusinessCalendar,
               now: datetime) -> int:
    """Threads whose message got \\Answered in some mail client (the folder is selected)."""
    previous = store.modseq(folder)
    if state.highestmodseq is not None and previous is not None:
        if state.highestmodseq <= previous:
            return 0  # nothing changed at all: no command needed
        candidates = store.open_messages(folder, state.uidvalidity, mailbox.changed_since(previous))
    else:
        candidates = store.open_messages(folder, state.uidvalidity)
    answered = 0
    with store.transaction():
        for uid, flags in mailbox.flags(sorted(candidates)).items():
            thread = store.thread(candidates[uid])
            if "\\Answered" in flags and thread and thread.waiting:
                mark_answered(store, thread, now, AnsweredVia.FLAG, calendar)
                answered += 1
        store.set_modseq(folder, state.highestmodseq)
    return answered
