"""GDPR for a processor (art. 28): one person's data found, exported and erased (`forget`, `export`),
a client's data at the end of a contract (`purge --client`), and records past their retention
(`purge --expired`, and daily with the summary).

An erasure runs under the check lock, deletes in one transaction with secure_delete on, then rewrites
the file (WAL checkpoint, VACUUM, WAL truncated) and the deadline calendar, and is logged without
personal data. The mailbox itself is never touched: mailtriage stores headers, the mail stays the user's.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from mailtriage.app.privacy_client import MESSAGES as _MESSAGES
from mailtriage.app.privacy_client import THREADS as _THREADS
from mailtriage.app.privacy_client import confirmation, whose_client
from mailtriage.config.accounts import resolve
from mailtriage.config.model import Rules
from mailtriage.core.typed import ago
from mailtriage.core.wording import join, plural
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.privacy import Selection, address_of
from mailtriage.store.rows import Message, Reply, Thread

log = logging.getLogger("mailtriage")
FORGET, PURGE, RETENTION = "forget", "purge", "retention"
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")  # a local part and a domain: 'bad@' is a typo, not a person
STORED = ("headers only (From, Reply-To, Subject, Date, Message-ID, References) and what mailtriage decided; "
          "never the body of a message; the full text of mailtriage's own automatic replies")


@dataclass
class Erasure:
    """What an erasure removed (or, dry, would remove), and what else the user should know."""

    kind: str
    counts: dict[str, int]
    reference: str | None = None
    dry_run: bool = False
    compacted: bool = False  # the file was rewritten and its WAL emptied
    notes: list[str] = field(default_factory=list)
    confirmation: dict[str, str] = field(default_factory=dict)  # purge --client: the text for the client, pl/en
    numbers: list[int] = field(default_factory=list)  # the threads removed, by number (no personal data)

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "kind": self.kind, "removed" if not self.dry_run else "would_remove": self.counts,
            "thread_numbers": self.numbers, "reference": self.reference, "dry_run": self.dry_run,
            "file_rewritten": self.compacted, "notes": self.notes}
        return {**found, "confirmation": self.confirmation} if self.confirmation else found

    def text(self, what: str) -> str:
        c = self.counts
        other = c.get("refs", 0) + c.get("answers", 0) + c.get("reminders", 0) + c.get("meta", 0)
        shown = ", ".join(f"#{n}" for n in self.numbers[:20]) + (", …" if len(self.numbers) > 20 else "")
        counts = join([plural(c["threads"], _THREADS["en"]) + (f" ({shown})" if shown else ""),
                       plural(c["messages"], _MESSAGES["en"]), plural(c["replies"], ("reply", "replies")),
                       plural(other, ("other record", "other records"))], "en")
        head = f"{what}: would remove {counts}; nothing was changed (dry run)" if self.dry_run else \
            f"{what}: removed {counts}" + ("; the database file was rewritten (secure_delete, VACUUM, WAL "
                                           "truncated)" if self.compacted else "")
        return "\n".join([head, *self.notes])


def forget(store: Store, rules: Rules, address: str, now: datetime, *, reference: str | None = None,
           dry_run: bool = False) -> Erasure:
    """Everything about the person at `address`, in every account (art. 17)."""
    _check_address(address)
    erasure, selection = _erase(store, rules, lambda: store.person(address), FORGET, now, reference, dry_run)
    if not (selection.rows or selection.handover):
        erasure.notes.append(f"nothing was stored about {address_of(address)} (the erasure is logged all the same)")
    erasure.notes.append("their mail itself is still in the mailbox: mailtriage never deletes mail")
    return erasure


def purge_client(store: Store, rules: Rules, name: str, now: datetime, *, reference: str | None = None,
                 dry_run: bool = False, language: str | None = None, account: str | None = None) -> Erasure:
    """All of one client's data, at the end of a contract (art. 28(3)(g)), and the text to tell them:
    in its account only when another account has a client of that name (`whose_client`)."""
    whose = whose_client(store, rules, name, account)
    erasure, _ = _erase(store, rules, lambda: store.client_records(whose.name, whose.account), PURGE, now, reference,
                        dry_run)
    chosen = whose.language(language)
    if not dry_run:  # nothing to confirm before it is done
        erasure.confirmation = {chosen: confirmation(
            now.astimezone(rules.tz).date(), erasure.counts["threads"], erasure.counts["messages"], chosen, reference,
            signature=whose.rules.identity.name, subjects=whose.rules.store_subjects)}
    if whose.client is not None:
        erasure.notes.append(f"{whose.client.name} is still in rules.yaml: remove it, or its new mail is recorded "
                             "again")
    return erasure


def expire(store: Store, rules: Rules, now: datetime, *, dry_run: bool = False) -> Erasure:
    """Records past their retention (rules.yaml `retention:`, a client's own first)."""
    if rules.retention is None:
        return Erasure(RETENTION, Selection().counts(), dry_run=dry_run,
                       notes=["retention: null in rules.yaml: nothing expires"])
    cutoffs = {(account.name, c.name): ago(c.retention.threads, now)  # an account may have clients of its own
               for account in resolve(rules) for c in account.rules.clients if c.retention is not None}
    threads, messages = ago(rules.retention.threads, now), ago(rules.retention.messages, now)
    return _erase(store, rules, lambda: store.expired(cutoffs, threads, messages), RETENTION, now, None, dry_run,
                  log_empty=False)[0]


def daily_retention(store: Store, rules: Rules, now: datetime) -> bool:
    """The daemon's daily run, before the summary: a failure is one log line and the summary goes on.
    False when it failed (another check held the lock...): the daemon tries again later that day."""
    from mailtriage.store.dbfile import DatabaseFault, store_error

    try:
        erasure = expire(store, rules, now)
    except MailtriageError as exc:
        log.error("retention failed: %s", exc)
        return False
    except DatabaseFault as exc:
        log.error("retention failed: %s", store_error(exc, rules.database))
        return False
    except Exception:  # noqa: BLE001 - a bug here must not cost the morning summary that follows
        log.exception("retention crashed")
        return False
    if erasure.counts["threads"] or erasure.counts["messages"]:
        log.info("%s", erasure.text("retention"))
    return True


def finish_erasure(store: Store, rules: Rules) -> None:
    """An erasure whose file rewrite was owed (a reader kept the WAL, a crash came between): done now,
    under the check lock; said in the log when it is done, and tried again after the next check if not."""
    from mailtriage.store.dbfile import DatabaseFault, store_error
    from mailtriage.store.lock import one_check

    try:
        if not store.compact_pending():
            return
        with one_check(rules.database, 5.0):
            if store.compact():
                log.info("an earlier erasure's removed bytes have left the database file now")
    except MailtriageError as exc:
        log.warning("the file rewrite an erasure still owes waits: %s", exc)
    except DatabaseFault as exc:
        log.warning("the file rewrite an erasure still owes waits: %s", store_error(exc, rules.database))


def _erase(store: Store, rules: Rules, select: Callable[[], Selection], kind: str, now: datetime,
           reference: str | None, dry_run: bool, *, log_empty: bool = True) -> tuple[Erasure, Selection]:
    """Select and erase under the check lock, so that no check or push pass adds to what is being
    removed between the two (a dry run only selects)."""
    if dry_run:
        selection = select()
        return Erasure(kind, selection.counts(), reference, True, numbers=list(selection.threads)), selection
    from mailtriage.store.lock import one_check

    with one_check(rules.database):  # no check writes meanwhile
        selection = select()
        erasure = Erasure(kind, selection.counts(), reference, False, numbers=list(selection.threads))
        if not selection.rows and not log_empty:
            return erasure, selection
        store.erase(selection, kind, now, reference)
        erasure.compacted = store.compact()
    if not erasure.compacted:
        erasure.notes.append("another process kept the database open: the removed bytes leave the write-ahead "
                             "log when it ends (the daemon finishes the job after its next check), or run this "
                             "again then")
    erasure.notes += _calendar(store, rules, now)
    return erasure, selection


def _calendar(store: Store, rules: Rules, now: datetime) -> list[str]:
    """The deadline calendar holds subjects and senders: rewritten without the removed threads."""
    if rules.deadline_calendar is None:
        return []
    from mailtriage.app.deadline_calendar import refresh

    try:
        refresh(store, rules, now)
    except OSError as exc:
        return [f"calendar: cannot rewrite {rules.deadline_calendar.file} ({exc.strerror or exc}): it may still "
                "name what was removed; delete it"]
    return [f"calendar: {rules.deadline_calendar.file} rewritten without it"]


def _check_address(address: str) -> None:
    from email.utils import getaddresses

    if len([found for _, found in getaddresses([address]) if found]) > 1 or address.count("@") > 1:
        raise MailtriageError(f"one address at a time: {address[:200]!r} names several; run it for each")
    if not _ADDRESS.fullmatch(address_of(address)):
        raise MailtriageError(f"not an email address: {address[:200]!r}")


# --- export ------------------------------------------------------------------------------------


def export(store: Store, rules: Rules, now: datetime, *, address: str | None = None,
           client: str | None = None, account: str | None = None) -> dict[str, object]:
    """Everything stored about a person or a client, with field names a person can read (art. 15, 20).
    A valid address with nothing stored gives empty lists; an unknown client or a typo is refused."""
    if address is not None:
        _check_address(address)
        about: dict[str, str] = {"email_address": address_of(address)}
        selection = store.person(address)
    else:
        assert client is not None
        whose = whose_client(store, rules, client, account)
        about = {"client": whose.name, **({"mailbox": whose.account} if whose.account else {})}
        selection = store.client_records(whose.name, whose.account)
    threads, messages, replies = store.selected(selection)
    tz = rules.tz
    numbers = {(t.account, t.id): t.number for t in threads}
    return {
        "exported_at": now.astimezone(tz).isoformat(), "about": about, "what_is_stored": STORED,
        "threads": [_thread(t, tz) for t in threads],
        "messages": [_message(m, numbers.get((m.account, m.thread_id or "")), tz) for m in messages],
        "automatic_replies": [_reply(r, tz) for r in replies],
    }


def erasure_log(store: Store, rules: Rules) -> dict[str, object]:
    """Every erasure, oldest first: the proof that data was removed, without the data."""
    return {"erasures": [{"when": datetime.fromisoformat(r["at"]).astimezone(rules.tz).isoformat(), "kind": r["kind"],
                          "reference": r["reference"], "threads": r["threads"], "messages": r["messages"],
                          "replies": r["replies"], "rows": r["rows"]} for r in store.erasures()]}


def _time(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return instant.astimezone(tz).isoformat() if instant else None


def _thread(t: Thread, tz: ZoneInfo) -> dict[str, object]:
    return {"thread_number": t.number, "mailbox": t.account, "client": t.client, "started_by": t.sender,
            "started_by_name": t.sender_name, "subject": t.subject, "first_message": _time(t.first_received, tz),
            "last_message": _time(t.last_received, tz), "state": str(t.state), "answer_due": _time(t.deadline, tz),
            "answered": _time(t.answered_at, tz), "closed": _time(t.closed_at, tz)}


def _message(m: Message, number: int | None, tz: ZoneInfo) -> dict[str, object]:
    return {"received": _time(m.received, tz), "mailbox": m.account, "folder": m.folder, "from": m.sender,
            "from_name": m.sender_name, "reply_to": m.reply_to or None, "subject": m.subject,
            "date_written": _time(m.date_header, tz), "message_id": m.message_id, "thread_number": number,
            "client": m.client, "what_mailtriage_did": str(m.decision), "why": m.reason,
            "answer_due": _time(m.deadline, tz)}


def _reply(r: Reply, tz: ZoneInfo) -> dict[str, object]:
    return {"to": r.recipient, "kind": str(r.kind), "state": str(r.state), "planned": _time(r.planned_at, tz),
            "sent": _time(r.sent_at, tz), "mailbox": r.account, "text": _reply_text(r.data)}


def _reply_text(data: bytes) -> str | None:
    """The stored reply as a person reads it: its headers and its plain-text part."""
    if not data:
        return None
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    head = "\n".join(f"{key}: {message[key]}" for key in ("Date", "From", "To", "Subject") if message[key])
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return f"{head}\n\n{text}".rstrip()
