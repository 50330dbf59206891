"""Raw header bytes -> Incoming. Never raises: a message we cannot read is returned with `broken` set.

Addresses are taken from the raw header text, never from decoded encoded-words: RFC 2047 does not
allow them in an address, and decoding one (`=?utf-8?Q?attacker?=@victim.example`) is how a
forged reply address would be made. Display names and subjects are decoded, so Polish survives.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from mailtriage.core.addresses import mailboxes, normalise
from mailtriage.core.models import Incoming

# No specials, controls or U+FFFD (bytes that were not UTF-8): such an address cannot be answered.
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\\x00-\x1f\x7f\ufffd]+@[^@\s<>()\[\],;:\"\\\x00-\x1f\x7f\ufffd]+")
_MSGID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ID_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FORGING = re.compile(r"[\x00-\x08\x0a-\x1f]")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_registry = HeaderRegistry()
_header_classes: dict[str, type[BaseHeader]] = {}


def _header(name: str, value: str) -> BaseHeader:
    """`HeaderRegistry()(name, value)`, with each header class made once: the registry makes a new
    class (the same class, again) at every call, half the cost of decoding a short header."""
    kind = _header_classes.get(name.lower())
    if kind is None:
        kind = _header_classes[name.lower()] = _registry[name]
    return kind(name, value)


def parse(raw: bytes, *, folder: str, uid: int, uidvalidity: int, received: datetime,
          flags: tuple[str, ...] = (), size: int = 0) -> Incoming:
    """Parse a message's header block; on any failure return it marked broken, never raise."""
    base = dict(folder=folder, uid=uid, uidvalidity=uidvalidity, received=received, flags=flags,
                size=size or len(raw))
    try:
        return _parse(_repair(raw), base)
    except Exception as exc:  # noqa: BLE001 - one unreadable message must never stop a check
        return Incoming(message_id=synthetic_id(raw), broken=_clean(f"unreadable headers: {type(exc).__name__}: {exc}"),
                        **base)  # type: ignore[arg-type]


def synthetic_id(raw: bytes) -> str:
    """A stable Message-ID for a message that has none: the same bytes always give the same id."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@mailtriage.invalid>"


_HEADER_LINE = re.compile(rb"[!-9;-~]+:")


def _repair(raw: bytes) -> bytes:
    """Make a header block the standard parser can read, as lenient MTAs do.

    Lines before the first header (blank lines, an mbox 'From ' line, a forwarding banner) are
    dropped; a line inside the block that is neither a header nor indented is taken as the
    continuation it was meant to be, instead of ending the headers early.
    """
    head, sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.split(b"\n")
    while lines and not _HEADER_LINE.match(lines[0]):
        lines.pop(0)
        if not lines and sep:  # the blank line we split on came before any header
            head, sep, body = body.partition(b"\n\n")
            lines = head.split(b"\n")
    fixed = [line if (_HEADER_LINE.match(line) or line[:1] in (b" ", b"\t")) else b" " + line for line in lines]
    return b"\r\n".join(fixed) + b"\r\n\r\n"


def _parse(raw: bytes, base: dict[str, object]) -> Incoming:
    message = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    # compat32 keeps 8-bit bytes as surrogate escapes: `octets` has them, `texts` has them read as UTF-8.
    octets: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        octets.setdefault(_valid(name.lower()), []).append(_unfold(str(value)))
    texts = {name: [_valid(v) for v in values] for name, values in octets.items()}
    # Received headers stay one per line (newest first), so a guard can read the first hop alone.
    headers = {name: ("\n" if name == "received" else " ").join(_decoded(name, v) for v in values)
               for name, values in texts.items()}

    def first(name: str) -> str:
        return texts.get(name, [""])[0]

    senders = _mailboxes(texts.get("from", []))
    sender_name, sender = senders[0] if senders else ("", "")
    reply_to = ([a for _, a in _mailboxes(texts.get("reply-to", []))] or [sender])[0]
    recipients = [a for n in ("to", "cc", "resent-to", "resent-cc") for _, a in _mailboxes(texts.get(n, []))]
    message_id = _message_id(_ids_text(octets.get("message-id", [""])[0])) or synthetic_id(raw)
    defects = ("control characters in Subject",) if _forged(first("subject")) else ()
    broken = None if sender else f"no usable sender address in From: {_clean(first('from'))[:80]!r}"
    return Incoming(
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=_clean(headers.get("subject", "")),
        date=_date(first("date")),
        in_reply_to=tuple(_MSGID.findall(_ids_text(octets.get("in-reply-to", [""])[0]))),
        references=tuple(_MSGID.findall(_ids_text(" ".join(octets.get("references", []))))),
        content_type=_content_type(first("content-type")),
        headers=headers,
        broken=broken,
        defects=defects,
        **base,  # type: ignore[arg-type]
    )


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


def _valid(text: str) -> str:
    """Text that is valid Unicode: 8-bit bytes (surrogate escapes) read as UTF-8 (RFC 6532), else U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate a decoder made (utf-7 encoded-words can)
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _clean(text: str) -> str:
    """One line of valid text: control characters (a decoded CR/LF included) turned into one space."""
    return " ".join(_CONTROL.sub(" ", _valid(text)).split())


def _ids_text(octets: str) -> str:
    """Message-ID text that is safe to store and to write back: bytes that are not UTF-8, and control
    characters, become visible escapes, so two different ids never become the same string."""
    text = octets.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _ID_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _decoded(name: str, value: str) -> str:
    return _clean(_decoded_raw(name, value))


def _decoded_raw(name: str, value: str) -> str:
    if "=?" not in value:
        return value  # nothing encoded: the header registry would only cost time (most headers)
    try:
        return str(_header(name, value))
    except Exception:  # noqa: BLE001 - a malformed encoded-word: keep the raw text
        return value


def _forged(subject: str) -> bool:
    """True when an encoded-word hides a control character (CR, LF, NUL...) that would forge a header.

    Raw TABs and folding whitespace are ordinary whitespace, and raw controls are only cleaned."""
    return any(_FORGING.search(_decoded_raw("subject", word)) for word in _ENCODED_WORD.findall(subject))


def _mailboxes(values: list[str]) -> list[tuple[str, str]]:
    """(decoded display name, normal address) of each mailbox in raw header values; junk dropped."""
    found = []
    for value in values:
        for name, address in mailboxes(value):
            address = normalise(address)
            if _ADDRESS.fullmatch(address):
                found.append((_decoded("subject", name), address))  # a name is unstructured text
    return found


def _message_id(value: str) -> str:
    """The id in angle brackets; a bare one (some gateways omit the brackets) gets them added."""
    found = _MSGID.search(value)
    if found:
        return found.group(0)
    bare = value.strip()
    return f"<{bare}>" if bare and " " not in bare and "@" in bare else ""


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _content_type(value: str) -> str:
    kind = value.split(";", 1)[0].strip().lower()
    return kind if re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", kind) else "text/plain"
