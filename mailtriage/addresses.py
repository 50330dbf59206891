"""One form for every address (RFC 6530 mail included), and the forms that go on the wire.

The normal form keeps an internationalised domain as U-labels: NFC, lower-cased, so that
`jan@xn--w-uga1v8h.pl` and `jan@ŻÓŁW.pl` are the same sender and the summary stays readable. An
A-label is decoded only when it round-trips (a fake `xn--` label stays as written); the wire
form (`ascii_form`) re-encodes each label with punycode. Only ASCII letters of a local part are
lower-cased (RFC 5321 leaves case to the receiving server; every real one ignores it for ASCII).
"""

from __future__ import annotations

import unicodedata

# Full stops that IDNA (RFC 3490 3.1) treats as label separators.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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
    """The address for RCPT TO: as is with SMTPUTF8, else with an A-label domain (or NeedsSmtpUtf8)."""
    if smtputf8:
        return address
    ascii_address = ascii_form(address)
    if ascii_address is None:
        raise NeedsSmtpUtf8(f"server lacks SMTPUTF8 for a non-ASCII local part: {address}")
    return ascii_address


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
