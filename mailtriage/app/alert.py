"""The urgent alert (`summary: {alert_urgent: true}`): after a push pass, one short email to the user
naming each urgent client's message whose holding reply went out, with its deadline.

It is made under the check lock (it reads the threads and the replies' fate) and posted after the
lock is released (`post`), so a slow mail server never holds up a check. Words are templates
(alert.{pl,en}.{txt,html}.j2), in the user's language (config/accounts.for_the_user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailtriage.app.check import Line
from mailtriage.config.model import Rules
from mailtriage.core.models import ReplyState
from mailtriage.core.wording import NO_CLIENT, when
from mailtriage.store.db import Store

SUBJECT = {"pl": ("Pilne", "Pilne: {n} wiadomości"), "en": ("Urgent", "Urgent: {n} messages")}


@dataclass(frozen=True)
class Item:
    number: int
    client: str
    sender: str
    subject: str | None  # None when subjects are not stored
    deadline_text: str
    account: str  # "" for a file without `accounts:`


@dataclass(frozen=True)
class Alert:
    items: list[Item]
    language: str

    @property
    def several(self) -> bool:
        return len(self.items) > 1

    @property
    def subject(self) -> str:
        """'Urgent: Acme: Server down', or 'Urgent: 3 messages'."""
        one, many = SUBJECT[self.language]
        if self.several:
            return many.format(n=len(self.items))
        first = self.items[0]
        return f"{one}: {first.client}: {first.subject or f'#{first.number}'}"


def gather(user: Rules, account: Rules, account_name: str, store: Store, lines: list[Line],
           now: datetime) -> Alert | None:
    """The alert about `lines` of a push pass, in the user's words: only urgent clients' messages whose
    holding reply was sent (not one still planned or refused); None when there is nothing to say."""
    if user.summary is None or not user.summary.alert_urgent:
        return None
    urgent = {c.name for c in account.clients if c.urgent}
    language, items = user.language, []
    for line in lines:
        if not line.thread or not line.reply_to or line.client not in urgent:
            continue  # not urgent, or no holding reply for this message (a copy, a thread already told)
        thread, reply = store.thread(line.thread), store.holding_recipient(line.thread)
        if thread is None or reply is None or reply.state != ReplyState.SENT or reply.in_reply_to != line.message_id:
            continue
        subject = " ".join(thread.subject.split()) if thread.subject is not None else None  # one line
        items.append(Item(thread.number, thread.client or NO_CLIENT[language], thread.sender, subject,
                          when(thread.deadline, user.tz, now, language) if thread.deadline else "—",
                          account_name if user.accounts else ""))
    return Alert(items, language) if items else None


def message(alert: Alert, user: Rules, now: datetime) -> bytes:
    """The alert as it goes to summary.to: text and HTML, From the user's identity, auto-generated."""
    from email.policy import SMTP

    from mailtriage.mail.reply import automatic_message
    from mailtriage.mail.templates import environment

    assert user.summary is not None
    env = environment(user, alert.language)
    text, page = (env.get_template(f"alert.{alert.language}.{kind}.j2").render({"a": alert}).strip()
                  for kind in ("txt", "html"))
    return automatic_message(user, user.summary.to, f"mailtriage: {alert.subject}", text, page,
                             now).as_bytes(policy=SMTP)


def post(alert: Alert, user: Rules, now: datetime) -> None:
    """Send it (or append it to the INBOX: summary.deliver); a refusal is a MailtriageError."""
    from mailtriage.app.summary import post as deliver

    deliver(user, message(alert, user, now), "the urgent alert")
