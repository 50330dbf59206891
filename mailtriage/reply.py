"""Holding replies: rendered from a jinja2 template, built as an EmailMessage, sent over SMTP.

Built with `email.message.EmailMessage` and its default policy, so a CR or LF hidden in a subject
or a display name cannot start a new header; the subject and name are also flattened to one line
before they get there. Replies go to one address only (Reply-To, else From) and carry the headers
that stop other responders from answering them (RFC 3834).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import jinja2

from mailtriage.businessdays import BusinessCalendar
from mailtriage.config import Rules
from mailtriage.models import Incoming, Verdict
from mailtriage.wording import day_text, deadline_text

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_REPLY_PREFIX = re.compile(r"^\s*((re|odp|aw|sv|vs|antw|antwort|r|réf|rif|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]+")
OUR_ID_PREFIX = "<mailtriage."


def template_dirs(rules: Rules) -> list[str]:
    """The user's own template folder first (if any), then the built-in templates."""
    dirs = [str(rules.templates)] if rules.templates else []
    for candidate in (BUILTIN_TEMPLATES, Path(__file__).resolve().parent / "templates"):
        if candidate.is_dir():
            dirs.append(str(candidate))
    return dirs


def environment(rules: Rules) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(template_dirs(rules)), autoescape=False,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def reply_subject(subject: str) -> str:
    """'Re: ' once, whatever reply prefixes (Re:, RE:, Odp:, AW:) the subject already had."""
    rest = _REPLY_PREFIX.sub("", one_line(subject)).strip()
    return f"Re: {rest}" if rest else "Re: your message"


def one_line(text: str) -> str:
    """Text that is safe in a header we write: one line, and no encoded-word left in it.

    Python's email package (before 3.11.10 / 3.12.5) decodes an encoded-word found in a display
    name when it serialises the header, so `=?utf-8?b?...?=` hiding CR LF would become a new
    header line: decode such words here, flatten the result, and break any '=?' that is left.
    """
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (ValueError, LookupError, UnicodeError):
            pass
    return " ".join(_ONE_LINE.sub(" ", text).split()).replace("=?", "= ?")


def new_message_id(identity_address: str) -> str:
    """A Message-ID we recognise later as one of ours (answer detection must ignore our replies)."""
    return f"{OUR_ID_PREFIX}{uuid.uuid4().hex}@{identity_address.rpartition('@')[2]}>"


def away_dates(rules: Rules, day: date, calendar: BusinessCalendar | None = None) -> tuple[date, date] | None:
    """(last day away, first business day back) when `day` falls in a vacation."""
    calendar = calendar or rules.calendar()
    for first, last in ((a.from_, a.to) for a in rules.away):
        if first <= day <= last:
            return last, calendar.next_business_day(last)
    return None


def render(env: jinja2.Environment, msg: Incoming, verdict: Verdict, rules: Rules, now: datetime,
           calendar: BusinessCalendar | None = None) -> str:
    """The text of a holding reply, in the verdict's language."""
    assert verdict.deadline is not None
    today = now.astimezone(rules.tz).date()
    language = verdict.language
    away = (away_dates(rules, msg.received.astimezone(rules.tz).date(), calendar)
            or away_dates(rules, today, calendar))
    identity_name = parseaddr(rules.identity.from_)[0] or parseaddr(rules.identity.from_)[1]
    values = {
        "name": one_line(msg.sender_name),
        "subject": _REPLY_PREFIX.sub("", one_line(msg.subject)).strip(),
        "client": verdict.client,
        "deadline": deadline_text(verdict.deadline, language, today=today),
        "check_times": [t.strftime("%H:%M") for t in sorted(rules.check_times)],
        "away_until": day_text(away[0], language, today=today, until=True) if away else None,
        "back_on": day_text(away[1], language, today=today) if away else None,
        "identity_name": identity_name,
    }
    return env.get_template(f"holding_reply.{language}.txt.j2").render(values)


def build(msg: Incoming, text: str, rules: Rules, now: datetime, message_id: str) -> EmailMessage:
    """The holding reply as a message: one recipient, threaded, marked as automatic."""
    reply = EmailMessage()
    name, address = parseaddr(rules.identity.from_)
    reply["From"] = Address(one_line(name), addr_spec=address)
    recipient_name = one_line(msg.sender_name) if msg.reply_to == msg.sender else ""
    reply["To"] = _address(recipient_name, msg.reply_to)
    reply["Subject"] = reply_subject(msg.subject)
    reply["Date"] = format_datetime(now.astimezone(rules.tz))
    reply["Message-ID"] = message_id
    reply["In-Reply-To"] = msg.message_id
    # Keep References short: the thread's first id and the most recent ones are what clients use.
    references = list(dict.fromkeys((*msg.references, msg.message_id)))
    reply["References"] = " ".join(references[:1] + references[1:][-9:])
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    reply.set_content(text, cte="quoted-printable")
    return reply


def _address(name: str, addr_spec: str) -> Address | str:
    """An Address where the local part is a plain one; the bare string for odd but valid ones."""
    try:
        return Address(name, addr_spec=addr_spec)
    except (ValueError, IndexError):
        return f"<{addr_spec}>"
