"""One form for every address (RFC 6530 mail included), and the forms that go on the wire.

The normal form keeps an internationalised domain as U-labels: NFC, lower-cased, so that
`jan@xn--w-uga1v8h.pl` and `jan@ŻÓŁW.pl` are the same sender and the summary stays readable. An
A-label is decoded only when it round-trips (a fake `xn--` label stays as written); the wire
form (`ascii_form`) re-encodes each label with punycode. Only ASCII letters of a local part are
lower-cased (RFC 5321 leaves case to the receiving server; every real one ignores it for ASCII).
"""

from __future__ import annotations

import re
import unicodedata

# Full stops that IDNA (RFC 3490 3.1) treats as label separators.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


class NeedsSmtpUtf8(ValueError):
    """The address has a non-ASCII local part and the server does not offer SMTPUTF8."""


def normalise(address: str) -> str:
    """The one form an address is stored and compared in: see the module docstring."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return _local(domain)
    return f"{_local(local)}@{_domain(domain)}"


def ascii_form(address: str) -> str | None:
    """The address with its domain in A-labels; None when there is none (a non-ASCII local part)."""
    local, at, domain = normalise(address).rpartition("@")
    if not local.isascii():
        return None
    labels = [label if label.isascii() else _a_label(label) for label in domain.split(".")]
    wire = f"{local}{at}{'.'.join(labels)}" if at else domain
    return wire if wire.isascii() else None


def needs_smtputf8(address: str) -> bool:
    """True when no ASCII form exists: only SMTPUTF8 (RFC 6531) can carry this address."""
    return ascii_form(address) is None


def envelope_recipient(address: str, smtputf8: bool) -> str:
    """The address for RCPT TO: with an A-label domain wherever the local part is ASCII (every
    server on the way understands that), as is with SMTPUTF8, else NeedsSmtpUtf8."""
    ascii_address = ascii_form(address)
    if ascii_address is not None:
        return ascii_address
    if smtputf8:
        return address
    raise NeedsSmtpUtf8(f"the SMTP server lacks SMTPUTF8, needed for the non-ASCII address {address}")


def _local(local: str) -> str:
    return unicodedata.normalize("NFC", local).translate(_ASCII_LOWER)


def _domain(domain: str) -> str:
    domain = unicodedata.normalize("NFC", domain.translate(_DOTS).rstrip(".").lower())
    return ".".join(_u_label(label) for label in domain.split("."))


def _u_label(label: str) -> str:
    """An A-label decoded, when it is a real one: it must decode to non-ASCII and encode back."""
    if not label.startswith("xn--"):
        return label
    try:
        decoded = unicodedata.normalize("NFC", label[4:].encode("ascii").decode("punycode")).lower()
    except (UnicodeError, ValueError):
        return label
    return decoded if not decoded.isascii() and _a_label(decoded) == label else label


def _a_label(label: str) -> str:
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError:  # a lone surrogate, say: no A-label, so ascii_form() says there is none
        return label


def mailboxes(value: str) -> list[tuple[str, str]]:
    """(display name, address) for each mailbox of a raw address-list header, both as written.

    Only the raw text decides what the address is: an `@` inside an encoded-word, a quoted
    string or a comment belongs to the name. Group names (`undisclosed-recipients:;`) are dropped.
    The name has its quotes removed but its encoded-words left for the caller to decode.
    """
    found: list[tuple[str, str]] = []
    name: list[str] = []  # the phrase, unquoted: the display name
    bare: list[str] = []  # the same text as written, comments left out: a bare addr-spec
    comments: list[str] = []
    angle: str | None = None
    i = 0
    while i < len(value):
        char = value[i]
        word = _ENCODED_WORD.match(value, i)
        if word:  # whole: Outlook writes raw commas into them (`=?iso-8859-1?Q?B=FCrling,=20A?=`)
            end = word.end()
            name.append(word.group())
            bare.append(word.group())
        elif char == '"':
            end = _closing(value, i, '"') + 1
            name.append(_unescape(value[i + 1:end - 1]))
            bare.append(value[i:end])
        elif char == "(":
            end = _closing(value, i, ")") + 1
            comments.append(_unescape(value[i + 1:end - 1]))
            name.append(f" ({comments[-1]}) ")
            bare.append(" ")
        elif char == "<":
            close = value.find(">", i) % (len(value) + 1)  # not found (-1): up to the end
            angle = value[i + 1:close].rpartition(":")[2]  # an obsolete source route dropped
            end = close + 1
        elif char in ",;:" and (char != ":" or angle is None):
            end = i + 1
            if char != ":":  # a colon ends a group's name, which is no mailbox
                found += _mailbox("".join(name), "".join(bare), comments, angle)
            name, bare, comments, angle = [], [], [], None
        else:
            end = i + 1
            name.append(char)
            bare.append(char)
        i = end
    return found + _mailbox("".join(name), "".join(bare), comments, angle)


def _mailbox(name: str, bare: str, comments: list[str], angle: str | None) -> list[tuple[str, str]]:
    if angle is not None:
        return [(" ".join(name.split()), angle.strip())]
    if bare.strip():  # `a@b.pl (Name)`: the old way of naming a sender, still sent by some
        return [(" ".join(" ".join(comments).split()), bare.strip())]
    return []


def _closing(value: str, start: int, closing: str) -> int:
    """Where the quote or comment opened at `start` closes (nesting and escapes honoured), or the end."""
    depth, i = 0, start + 1
    while i < len(value):
        char = value[i]
        if char == "\\":
            i += 2
            continue
        if char == closing:
            if depth == 0:
                return i
            depth -= 1
        elif char == "(" and closing == ")":
            depth += 1
        i += 1
    return len(value)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)
