"""Holding replies: rendered from a jinja2 template, built as an EmailMessage, sent over SMTP.

Built with `email.message.EmailMessage` (policy SMTP; SMTPUTF8 only for a non-ASCII mailbox), so a
CR or LF hidden in a subject or a display name cannot start a new header; the subject and name are
also flattened to one line, and a stranger's subject is echoed only in part. Message ids are
written raw (`RawHeader`), as clients thread only on ids they can match byte for byte. Replies go
to one address only (Reply-To, else From) and carry the headers that stop other responders from
answering them (RFC 3834).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, Policy
from email.quoprimime import body_encode
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from mailtriage.config.model import Rules
from mailtriage.core.addresses import ascii_form, needs_smtputf8
from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.models import OUR_ID_PREFIX, Incoming, Verdict
from mailtriage.core.wording import clock, day_text, deadline_text, join

if TYPE_CHECKING:
    import jinja2

_REPLY_PREFIX = re.compile(r"^\s*((re|odp|aw|sv|vs|antw|antwort|r|réf|rif|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID = re.compile(r"<[^<>\s\x00-\x1f\x7f\\]+>")  # a backslash: an id parse() escaped, matching nothing
_ECHO_MAX = 150  # a subject is the sender's text: echo enough to recognise it, never a page of it
_NAME_MAX = 100


def reply_subject(subject: str) -> str:
    """'Re: ' once, whatever reply prefixes (Re:, RE:, Odp:, AW:) the subject already had."""
    rest = echo(_REPLY_PREFIX.sub("", one_line(subject)).strip())
    return f"Re: {rest}" if rest else "Re: your message"


def echo(text: str) -> str:
    """At most the first ~150 characters of a stranger's text, on one line, cut at a word with '…'."""
    text = one_line(text)
    if len(text) <= _ECHO_MAX:
        return text
    cut = text[:_ECHO_MAX]
    word_end = cut.rfind(" ")
    return (cut[:word_end] if word_end > _ECHO_MAX // 2 else cut).rstrip(" ,;:.-") + "…"


def greeting_name(name: str) -> str:
    """The name a greeting uses: 'Nowak, Ewa' (a directory's 'Last, First') reads 'Ewa Nowak'."""
    last, comma, first = name.partition(",")
    if comma and first.strip() and last.strip() and "," not in first and " " not in last.strip():
        return f"{first.strip()} {last.strip()}"
    return name


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
    values = {
        "name": greeting_name(one_line(msg.sender_name)),
        "subject": echo(_REPLY_PREFIX.sub("", one_line(msg.subject)).strip()),
        "client": verdict.client,
        "deadline": deadline_text(verdict.deadline, language, today=today),
        "check_times": [t.strftime("%H:%M") for t in sorted(rules.check_times)],
        "check_times_text": join([clock(t, language) for t in sorted(rules.check_times)], language),
        "every_day": rules.check_on_days_off,  # checks run on days off too (check_on_days_off)
        # The older bare forms (for templates written before the *_text ones) and the prose forms.
        "away_until": day_text(away[0], language, today=today, role="until", bare=True) if away else None,
        "back_on": day_text(away[1], language, today=today, role="on", bare=True) if away else None,
        "away_until_text": day_text(away[0], language, today=today, role="until") if away else None,
        "back_text": day_text(away[1], language, today=today, role="on") if away else None,
        "identity_name": rules.identity.name,
    }
    return env.get_template(f"holding_reply.{language}.txt.j2").render(values)


def build(msg: Incoming, text: str, rules: Rules, now: datetime, message_id: str) -> EmailMessage:
    """The holding reply as a message: one recipient, threaded, marked as automatic."""
    utf8 = needs_smtputf8(msg.reply_to)  # only a non-ASCII local part needs UTF-8 headers (RFC 6532)
    reply = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    for name, value in _headers(msg, rules, now, message_id, utf8):
        reply[name] = value
    reply.set_content(text, cte="quoted-printable")
    return reply


def build_bytes(msg: Incoming, text: str, rules: Rules, now: datetime, message_id: str) -> bytes:
    """Exactly `build(...).as_bytes(policy=SMTP)`, the reply as it is sent, at a fraction of the cost.

    The same headers go through the same header classes and folding of the email package, but each
    (name, value) is folded once per process: From, Date and the fixed headers are the same in every
    reply of a check. The body is quoted-printable as `set_content` writes it, its three headers
    made once by the email package itself. tests/test_reply.py compares the two byte for byte."""
    utf8 = needs_smtputf8(msg.reply_to)
    head = b"".join(_folded(name, value) for name, value in _headers(msg, rules, now, message_id, utf8))
    return head + _body_head() + _body(text)


HeaderValue = Address | str


def _headers(msg: Incoming, rules: Rules, now: datetime, message_id: str,
             utf8: bool) -> list[tuple[str, HeaderValue]]:
    """The reply's headers, in order, as values the email package takes."""
    identity = rules.identity
    headers: list[tuple[str, HeaderValue]] = [
        ("From", Address(one_line(identity.display_name), addr_spec=identity.address))]
    recipient_name = one_line(msg.sender_name) if msg.reply_to == msg.sender else ""
    headers.append(("To", _recipient(recipient_name, msg.reply_to)))
    headers.append(("Subject", reply_subject(msg.subject)))
    headers.append(("Date", format_datetime(now.astimezone(rules.tz))))
    headers.append(("Message-ID", message_id))
    if parent := _ids("In-Reply-To", [msg.message_id], utf8):
        headers.append(("In-Reply-To", parent))
    # Keep References short: the thread's first id and the most recent ones are what clients use.
    references = [i for i in dict.fromkeys((*msg.references, msg.message_id)) if _ids("References", [i], utf8)]
    if references:
        headers.append(("References", RawHeader("References", references[:1] + references[1:][-9:])))
    headers.append(("Auto-Submitted", "auto-replied"))
    headers.append(("X-Auto-Response-Suppress", "All"))
    return headers


def _folded(name: str, value: HeaderValue) -> bytes:
    """One header as BytesGenerator writes it with policy SMTP (`Policy.fold_binary` of what
    `Policy.header_store_parse` stores): a RawHeader folds itself, anything else is folded once."""
    if isinstance(value, RawHeader):  # cheap, and folded by itself
        return SMTP.fold_binary(*SMTP.header_store_parse(name, value))
    if isinstance(value, Address):  # unhashable: keyed by what its header text is made of
        return _folded_once(name, value.display_name, value.username, value.domain, True)
    return _folded_once(name, value, "", "", False)


@lru_cache(maxsize=512)
def _folded_once(name: str, text: str, username: str, domain: str, address: bool) -> bytes:
    value: HeaderValue = Address(text, username, domain) if address else text
    # SMTP and SMTPUTF8 share one header factory: the header stored is the same under either.
    return SMTP.fold_binary(*SMTP.header_store_parse(name, value))


@lru_cache(maxsize=1)
def _body_head() -> bytes:
    """Content-Type, Content-Transfer-Encoding and MIME-Version as set_content writes them for
    a text/plain UTF-8 quoted-printable body (they do not depend on the text), and the blank line."""
    model = EmailMessage(policy=SMTP)
    model.set_content("-", cte="quoted-printable")
    return model.as_bytes(policy=SMTP).partition(b"\r\n\r\n")[0] + b"\r\n\r\n"


_NEWLINE = re.compile(r"\r\n|\r|\n")
_LINE_MAX = SMTP.max_line_length or 78  # what set_content passes to the quoted-printable encoder (78)


def _body(text: str) -> bytes:
    """The body as set_content (quoted-printable, UTF-8, 78 columns) and BytesGenerator write it."""
    lines = text.encode("utf-8").splitlines()
    data = body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _LINE_MAX)
    parts = _NEWLINE.split(data)
    return ("".join(part + "\r\n" for part in parts[:-1]) + parts[-1]).encode("ascii", "surrogateescape")


class RawHeader(str):
    """A header written as the words given, whatever the policy: folded only between words, never encoded.

    Python's folding turns any word longer than a line (every Exchange Message-ID) into an RFC 2047
    encoded-word, and a client cannot thread on an encoded id; nor may an SMTPUTF8 address be encoded.
    """

    name: str
    words: tuple[str, ...]

    def __new__(cls, name: str, words: Sequence[str]) -> RawHeader:
        header = super().__new__(cls, " ".join(words))
        header.name, header.words = name, tuple(words)
        return header

    def fold(self, *, policy: Policy) -> str:
        lines = [f"{self.name}:"]
        for word in self.words:
            if len(lines[-1]) + 1 + len(word) > 78 and lines[-1] != f"{self.name}:":
                lines.append("")
            lines[-1] += " " + word
        text = policy.linesep.join(lines) + policy.linesep
        if getattr(policy, "utf8", False):
            return text
        # A 7-bit policy writes headers with 'ascii' and 'surrogateescape': UTF-8 (only ever in a message
        # that must go with SMTPUTF8 anyway) passes as the bytes it is instead of raising.
        return text.encode("utf-8").decode("ascii", "surrogateescape")


def _ids(name: str, ids: Sequence[str], utf8: bool) -> RawHeader | None:
    """The ids that can be written raw: well formed, on one 998-octet line, ASCII unless the reply is UTF-8."""
    fit = [i for i in ids if _MSGID.fullmatch(i) and len(i.encode()) + len(name) + 2 <= 998
           and (utf8 or i.isascii())]
    return RawHeader(name, fit) if fit else None


def _recipient(name: str, address: str) -> Address | RawHeader:
    """The To header: an ASCII address (IDN domain as A-labels) through the email package; else raw UTF-8."""
    wire = ascii_form(address)
    if wire is not None:
        for display in (name, ""):
            try:
                return Address(display, addr_spec=wire)
            except (ValueError, IndexError, HeaderParseError):
                continue
    address = wire or address
    quoted = '"' + name[:_NAME_MAX].replace("\\", "\\\\").replace('"', '\\"') + '"' if name else ""
    return RawHeader("To", [*quoted.split(), f"<{address}>"])


def automatic_message(rules: Rules, to: str, subject: str, text: str, html: str, now: datetime) -> EmailMessage:
    """A message mailtriage writes to a person (the summary, a reminder, a client's report): text and
    HTML alternatives, From the identity, marked Auto-Submitted so that no responder answers it."""
    message = EmailMessage()
    message["From"] = rules.identity.from_
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(rules.tz))
    message["Message-ID"] = new_message_id(rules.identity.address)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message
