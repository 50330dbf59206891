"""Telling a client that a deadline moved: a short apology with the new time, in their language.

A notice goes out through the outbox like a holding reply (threaded, Auto-Submitted, planned in
the database before it is sent), once per move: `snooze --notify` plans one by hand, and with
`overdue_notice: true` a thread that becomes overdue gets one, its window counted again from then.
It goes where the thread's holding reply went, or else where one would go (decide/recipient.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from mailtriage.config.model import Rules
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.models import SKIP, Incoming, ReplyKind
from mailtriage.core.windows import deadline, parse_window
from mailtriage.core.wording import deadline_text, moment_text
from mailtriage.errors import MailtriageError, TemplateUnusable
from mailtriage.store.db import Store
from mailtriage.store.rows import Message, Reply, Thread, iso

log = logging.getLogger("mailtriage")


class NoOneToTell(MailtriageError):
    """The thread has no address a notice may go to."""


@dataclass(frozen=True)
class Addressee:
    address: str
    via: str
    reason: str


def plan(store: Store, rules: Rules, thread: Thread, new: datetime, now: datetime, kind: ReplyKind) -> Reply | None:
    """Plan the notice that `thread`'s deadline moves to `new` (inside the caller's transaction);
    None when this move was announced already. NoOneToTell when there is nobody to tell."""
    reply = draft(store, rules, thread, new, now, kind)
    return reply if store.plan_notice(reply) else None


def draft(store: Store, rules: Rules, thread: Thread, new: datetime, now: datetime, kind: ReplyKind) -> Reply:
    """The notice as it will go out, not yet planned."""
    from email.policy import SMTP

    from mailtriage.decide.recipient import limit_key
    from mailtriage.mail.reply import build, new_message_id

    messages = [m for m in store.messages_of_thread(thread.number) if m.decision != SKIP]
    if not messages:
        raise NoOneToTell(f"thread #{thread.number} has no recorded message from the client to answer")
    to = addressee(store, rules, thread, messages[-1])
    language = thread.language or rules.language
    text = render(rules, thread, new, now, language, promised=store.told_deadline(thread.id))
    last, first = messages[-1], messages[0]
    msg = Incoming(folder=last.folder, uid=last.uid, uidvalidity=last.uidvalidity, received=last.received,
                   message_id=last.message_id, sender=last.sender, sender_name=last.sender_name, reply_to=to.address,
                   subject=last.subject or thread.subject or "",
                   references=(first.message_id,) if first.message_id != last.message_id else ())
    message_id = new_message_id(rules.identity.address)
    data = build(msg, text, rules, now, message_id).as_bytes(policy=SMTP)
    return Reply(thread.id, last.message_id, message_id, to.address, limit_key(to.address), now, data,
                 language=language, reply_via=to.via, recipient_reason=to.reason, kind=kind, about=iso(new))


def addressee(store: Store, rules: Rules, thread: Thread, last: Message) -> Addressee:
    """Where the thread's holding reply went; without one, where the rules would send one."""
    holding = store.holding_recipient(thread.id)
    if holding is not None:
        return Addressee(holding.recipient, holding.reply_via or "from", "as the holding reply")
    from mailtriage.core.guards import GuardContext, address_objection
    from mailtriage.decide.match import Matcher
    from mailtriage.decide.recipient import FormSenders, choose

    matcher = Matcher(rules)
    context = GuardContext(own_addresses=rules.identity.all_addresses, require_addressed=rules.require_addressed)
    headers = {"from": last.sender, **({"reply-to": last.reply_to} if last.reply_to else {})}
    msg = Incoming(folder=last.folder, uid=last.uid, uidvalidity=last.uidvalidity, received=last.received,
                   message_id=last.message_id, sender=last.sender, sender_name=last.sender_name,
                   reply_to=last.reply_to or last.sender, headers=headers)
    choice = choose(msg, lambda a: matcher.match(a).client, FormSenders.from_rules(rules),
                    lambda a: address_objection(a, context))
    if choice.address is None:
        raise NoOneToTell(f"thread #{thread.number}: nobody to tell ({choice.reason})")
    return Addressee(choice.address, choice.via, choice.reason)


def render(rules: Rules, thread: Thread, new: datetime, now: datetime, language: str, *,
           promised: datetime | None) -> str:
    """The text of the notice (templates deadline_moved.{pl,en}.txt.j2); `promised` is the last
    deadline the client was told (Store.told_deadline), None when they were never told one. A
    deadline moved silently (snooze without --notify) is never named as the promised one."""
    from mailtriage.mail.reply import one_line, reply_subject
    from mailtriage.mail.templates import TemplateError, environment

    tz = rules.tz
    today = now.astimezone(tz).date()
    old = promised.astimezone(tz) if promised is not None else None
    values = {
        "name": one_line(thread.sender_name or ""),
        "subject": reply_subject(thread.subject or "").removeprefix("Re: ") if (thread.subject or "").strip() else "",
        "client": thread.client,
        # "do wtorku 1 grudnia, godz. 16:00"; "" when the client was never told a deadline
        "promised": deadline_text(old, language, today=today) if old else "",
        "promised_at": moment_text(old, language, today=today) if old else "",  # "wtorek 1 grudnia, godz. 16:00"
        "new_deadline": deadline_text(new.astimezone(tz), language, today=today),
        "late": old is not None and old <= now,  # the promised time has passed already
        "identity_name": rules.identity.name,
    }
    name = f"deadline_moved.{language}.txt.j2"
    try:
        return environment(rules, language).get_template(name).render(values)
    except TemplateError as exc:
        raise TemplateUnusable(f"the template {name} cannot be used: {exc}") from None


def renewed_deadline(rules: Rules, thread: Thread, now: datetime, calendar: BusinessCalendar) -> datetime:
    """The client's window counted again from `now`."""
    window = parse_window(thread.window) if thread.window else rules.defaults.respond_within
    return deadline(window, now, calendar, rules.check_times)


def renew(store: Store, rules: Rules, late: list[Thread], now: datetime, calendar: BusinessCalendar) -> list[Thread]:
    """`overdue_notice`: each thread that just became overdue, acknowledged and not renewed before in
    this period, gets a new deadline and its sender a notice; returns the threads as they are now."""
    result = []
    for thread in late:
        renewed = thread
        if thread.acknowledged_at is not None and not store.notices_since(thread.id, ReplyKind.RENEWED,
                                                                           thread.opened_at):
            new = renewed_deadline(rules, thread, now, calendar)
            try:
                with store.transaction():
                    plan(store, rules, thread, new, now, ReplyKind.RENEWED)
                    store.snooze_thread(thread.id, new, now)
                renewed = store.thread(thread.id) or thread
            except (NoOneToTell, TemplateUnusable) as exc:  # the thread stays overdue, the check goes on
                log.warning("overdue notice for #%d not sent: %s", thread.number, exc)
        result.append(renewed)
    return result
