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
from email.headerregistry import HeaderRegistry
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from mailtriage.models import Incoming

_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_MSGID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_registry = HeaderRegistry()


def parse(raw: bytes, *, folder: str, uid: int, uidvalidity: int, received: datetime,
          flags: tuple[str, ...] = (), size: int = 0) -> Incoming:
    """Parse a message's header block; on any failure return it marked broken, never raise."""
    base = dict(folder=folder, uid=uid, uidvalidity=uidvalidity, received=received, flags=flags,
                size=size or len(raw))
    try:
        return _parse(_repair(raw), base)
    except Exception as exc:  # noqa: BLE001 - one unreadable message must never stop a check
        return Incoming(message_id=synthetic_id(raw), broken=f"unreadable headers: {type(exc).__name__}: {exc}",
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
    raw_headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        raw_headers.setdefault(name.lower(), []).append(_unfold(str(value)))
    headers = {name: " ".join(_decoded(name, v) for v in values) for name, values in raw_headers.items()}

    def first(name: str) -> str:
        return raw_headers.get(name, [""])[0]

    senders = _addresses(raw_headers.get("from", []))
    sender = senders[0] if senders else ""
    reply_to = (_addresses(raw_headers.get("reply-to", [])) or [sender])[0]
    recipients = _addresses([v for n in ("to", "cc", "resent-to", "resent-cc") for v in raw_headers.get(n, [])])
    message_id = _message_id(first("message-id")) or synthetic_id(raw)
    defects = ("control characters in Subject",) if _CONTROL.search(_decoded_raw("subject", first("subject"))) else ()
    broken = None if sender else f"no usable sender address in From: {_clean(first('from'))[:80]!r}"
    return Incoming(
        message_id=message_id,
        sender=sender,
        sender_name=_display_name(first("from")),
        reply_to=reply_to,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=_clean(headers.get("subject", "")),
        date=_date(first("date")),
        in_reply_to=tuple(_MSGID.findall(first("in-reply-to"))),
        references=tuple(_MSGID.findall(" ".join(raw_headers.get("references", [])))),
        content_type=_content_type(first("content-type")),
        headers=headers,
        broken=broken,
        defects=defects,
        **base,  # type: ignore[arg-type]
    )


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


def _clean(text: str) -> str:
    """One line of valid text: raw 8-bit bytes read as UTF-8 where they are (else U+FFFD), and
    control characters (a decoded CR/LF included) turned into one space."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(_CONTROL.sub(" ", text).split())


def _decoded(name: str, value: str) -> str:
    return _clean(_decoded_raw(name, value))


def _decoded_raw(name: str, value: str) -> str:
    # Raw 8-bit header bytes arrive as surrogate escapes: read them as the UTF-8 they usually are.
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if "=?" not in value:
        return value  # nothing encoded: the header registry would only cost time (most headers)
    try:
        return str(_registry(name, value))
    except Exception:  # noqa: BLE001 - a malformed encoded-word: keep the raw text
        return value


def _addresses(values: list[str]) -> list[str]:
    """Bare, lower-cased addresses from raw header values; anything that is not one is dropped."""
    found = []
    for _name, address in getaddresses(values):
        address = address.strip().lower()
        if _ADDRESS.fullmatch(address):
            found.append(address)
    return found


def _display_name(value: str) -> str:
    if "=?" not in value:  # the common case: no encoded-word, no need for the full header parser
        return _clean(getaddresses([value])[0][0] if value else "")
    try:
        header = _registry("from", value)
        names = [a.display_name for a in getattr(header, "addresses", ()) if a.display_name]
        if names:
            return _clean(names[0])
    except Exception:  # noqa: BLE001
        pass
    name = getaddresses([value])[0][0] if value else ""
    return _decoded("subject", name)  # decoded as unstructured text: a broken name stays readable


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
