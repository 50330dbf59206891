"""What a check would do with a message that has not come (`mailtriage preview`): the holding reply
that sender would get, or the guard or client action that stops it.

The message is written as a header block and handed to the check's own stages (parse,
recipient.choose, the guards, classify, render, build) over an empty database in memory: what
preview shows is what a check would send; no history counts, nothing is stored, nothing is sent.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from zoneinfo import ZoneInfo

from mailtriage.app.check import preload_holidays, record
from mailtriage.app.check.triage import Triage
from mailtriage.app.explain import Explanation, as_dict, explain
from mailtriage.config.model import Rules
from mailtriage.core.models import JsonObject
from mailtriage.errors import MailtriageError
from mailtriage.mail.imap import Fetched
from mailtriage.store.db import Store

PREVIEW_ID = "preview.mailtriage.invalid"


class PreviewError(MailtriageError):
    exit_code = 2


@dataclass(frozen=True)
class Preview:
    """The decision about the imagined message, and the holding reply as it would go out (None: none would)."""

    explanation: Explanation
    reply: EmailMessage | None

    def as_dict(self, tz: ZoneInfo) -> JsonObject:
        found = as_dict(self.explanation, tz)
        data = {key: found[key] for key in ("received", "decision", "reason", "guard", "objections",
                                            "client_rule", "deadline")}
        action = f"client action {self.explanation.rule.action}"
        data["stopped_by"] = None if self.reply else (self.explanation.message.guard or action)
        data["reply"] = None
        if self.reply is not None and self.explanation.reply is not None:
            planned = self.explanation.reply
            data["reply"] = {"to": planned.recipient, "via": planned.reply_via,
                             "recipient_reason": planned.recipient_reason, "headers": headers(self.reply),
                             "text": body(self.reply)}
        return data


def what_if(rules: Rules, sender: str, received: datetime, *, name: str | None = None, subject: str = "",
            to: str | None = None, reply_to: str | None = None) -> Preview:
    """Run one imagined message, received and checked at `received`, through a check's own code."""
    raw = message_header(rules, sender, received, name=name, subject=subject, to=to, reply_to=reply_to)
    folder = rules.imap.folders[0]  # where a check would find it (a spam folder counts as a sign)
    store = Store(None)  # empty, in memory: no history, and nothing written anywhere
    try:
        triage = Triage(rules, store, received, rules.calendar(preload_holidays(rules, store, received)))
        with store.transaction():
            record.safely(store, triage, folder, 1, Fetched(uid=1, header=raw, flags=(), internaldate=received,
                                                           size=len(raw)))
        [item] = explain(store, rules, f"{folder}:1", triage.calendar)
    finally:
        store.close()
    reply = None
    if item.reply is not None:
        reply = email.message_from_bytes(item.reply.data, policy=email.policy.default)
    return Preview(item, reply)


def message_header(rules: Rules, sender: str, received: datetime, *, name: str | None, subject: str,
                   to: str | None, reply_to: str | None) -> bytes:
    """The header block of the imagined message, as a mail client would write it."""
    given_name, address = parseaddr(sender)
    to = to or rules.identity.address
    utf8 = not (address + to + (reply_to or "")).isascii()
    message = EmailMessage(policy=email.policy.SMTPUTF8 if utf8 else email.policy.SMTP)
    for header, option, value, display in (("From", "--from", address, name if name is not None else given_name),
                                           ("To", "--to", to, ""), ("Reply-To", "--reply-to", reply_to, "")):
        if value is None:
            continue
        try:
            if "@" not in value:
                raise ValueError("no @")
            message[header] = Address(display, addr_spec=value)
        except (ValueError, IndexError, HeaderParseError):
            raise PreviewError(f"{option}: not an email address: {value!r} (e.g. jan@acme.pl)") from None
    message["Subject"] = subject
    message["Date"] = format_datetime(received)
    message["Message-ID"] = f"<{int(received.timestamp())}@{PREVIEW_ID}>"
    message.set_content("(preview)")
    return message.as_bytes().partition(b"\r\n\r\n")[0] + b"\r\n\r\n"  # headers only, as fetch gives them


def headers(message: EmailMessage) -> dict[str, str]:
    return {name: str(value) for name, value in message.items()}


def body(message: EmailMessage) -> str:
    return str(message.get_content())
