"""The fetch stage: which folders have something new, and their new headers in batches.

A folder unchanged since the last check (CONDSTORE) costs one STATUS; its first check, or a
changed UIDVALIDITY, is a baseline: what is there already gets no reply (but `--backfill`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailtriage.core.wording import duration_text
from mailtriage.mail.imap import Fetched, FolderState, Mailbox
from mailtriage.store.db import Mark, Store

BATCH = 200  # messages recorded in one transaction, with the mark moved past them


@dataclass(frozen=True)
class Batch:
    """Fetched messages of one folder, and the mark the folder gets once they are recorded."""

    folder: str
    uidvalidity: int
    items: Sequence[Fetched]
    mark: Mark
    baseline: bool = False


@dataclass(frozen=True)
class Selected:
    """A selected folder: what the server says beside what was recorded."""

    name: str
    state: FolderState
    mark: Mark | None

    @property
    def first_time(self) -> bool:
        """The folder's first check, or its UIDVALIDITY changed: a baseline is due."""
        return self.mark is None or self.mark.uidvalidity != self.state.uidvalidity


def select(mailbox: Mailbox, store: Store, folder: str, *, quick: bool) -> Selected | None:
    """The folder selected, or None when `quick` and nothing new came and no flag changed."""
    mark = store.mark(folder)
    if mark is not None and mailbox.condstore and quick:
        status = mailbox.status(folder)
        if (status.uidvalidity == mark.uidvalidity and status.uidnext <= mark.last_uid + 1
                and status.highestmodseq is not None and status.highestmodseq == store.modseq(folder)):
            return None  # an idle check of a folder is one STATUS
    return Selected(folder, mailbox.select(folder), mark)


def new_batches(mailbox: Mailbox, folder: Selected) -> Iterator[Batch]:
    """The messages past the mark, a batch at a time (fetched as each batch is asked for)."""
    assert folder.mark is not None
    state = folder.state
    if state.uidnext and state.uidnext <= folder.mark.last_uid + 1:
        return  # nothing new: not even a SEARCH
    uids = mailbox.uids_after(folder.mark.last_uid)
    for start in range(0, len(uids), BATCH):
        batch = uids[start:start + BATCH]
        yield Batch(folder.name, state.uidvalidity, list(mailbox.fetch(batch)), Mark(state.uidvalidity, batch[-1]))


def baseline(mailbox: Mailbox, folder: Selected, now: datetime, backfill: timedelta | None) -> tuple[Batch, str]:
    """The baseline batch (empty, or the backfill) and the note that says what was passed over."""
    state, old = folder.state, folder.mark
    uidnext = state.uidnext
    if not uidnext:  # a server that does not say UIDNEXT: ask for the highest UID
        uidnext = max(mailbox.uids_after(0), default=0) + 1
    why = "first check" if old is None else f"UIDVALIDITY changed from {old.uidvalidity} to {state.uidvalidity}"
    fresh: list[Fetched] = []
    if backfill:
        since = now - backfill
        # only below UIDNEXT: what arrives after the SELECT is past the mark, for the next check
        wanted = [uid for uid in mailbox.uids_since(since) if uid < uidnext]
        fresh = [f for f in mailbox.fetch(wanted) if f.internaldate >= since]
    note = f"{folder.name}: {why}: {state.exists} messages already there get no reply"
    if backfill:
        note += f", except {len(fresh)} from the last {duration_text(backfill.total_seconds(), 'en')}"
    return Batch(folder.name, state.uidvalidity, fresh, Mark(state.uidvalidity, uidnext - 1), baseline=True), note
