"""Where a holding reply may go: From, a Reply-To that is plainly the sender's own, or a listed web form's Reply-To.

A Reply-To naming someone else turns an auto-responder into a relay that mails strangers in the
user's name (SUPPRESSION.md 18, 19; RFC 3834 §4; Pigeonhole never answers Reply-To). So Reply-To
is used only when it is the sender's own mailbox (+detail aside), in the sender's own registrable
domain (not a provider shared by strangers, such as gmail.com), or the same client's as From. A
message From a no-reply address is answered at its Reply-To only when that sender is a web form
listed under `forms:` in rules.yaml. Pure: who is a client and which addresses must never be
answered are handed in as functions, so every rule is tested without a mailbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Literal

from mailtriage.config.model import Rules
from mailtriage.core import bulk
from mailtriage.core.addresses import mailboxes, normalise
from mailtriage.core.models import Incoming
from mailtriage.core.senders import is_freemail
from mailtriage.decide.classify import sender_key

Via = Literal["from", "reply-to", "form"]
ClientOf = Callable[[str], str | None]  # address -> the client it matches in rules.yaml, or None
Objection = Callable[[str], str | None]  # address -> why it must never get an automatic reply, or None

# Second-level labels under which anyone may register a name, so the registrable domain has three
# labels there: jan@mail.acme.com.pl and biuro@acme.com.pl are one company, a@x.co.uk and b@y.co.uk
# are not. The generic ones count under any two-letter country code (co.uk, com.au, org.za);
# the rest are the common Polish functional and regional ones. A public suffix missing here makes
# two of its registrants look like one domain: keep the list to what the mailbox actually sees.
_GENERIC_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "gv"})
_PUBLIC_SUFFIXES = frozenset({"biz.pl", "info.pl", "waw.pl", "wroc.pl", "krakow.pl", "gda.pl", "poznan.pl",
                              "lodz.pl", "szczecin.pl", "katowice.pl", "me.uk", "ltd.uk", "plc.uk"})
# Mailbox providers shared by strangers: two people at gmail.com are not one sender, so there the
# same domain does not make a Reply-To the sender's own (the same client still can). The big
# international ones and the common Polish ones; a missing one only weakens this one check.
_SHARED_DOMAINS = frozenset({"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
                             "yahoo.com", "icloud.com", "me.com", "aol.com", "gmx.com", "gmx.de", "web.de",
                             "proton.me", "protonmail.com", "yandex.ru", "mail.ru", "wp.pl", "o2.pl", "onet.pl",
                             "op.pl", "interia.pl", "interia.eu", "tlen.pl", "gazeta.pl", "vp.pl", "poczta.fm"})

# A Reply-To longer than this names no single person (and long runs cost the address search time).
_LONGEST_HEADER = 2000
# The same shape of address parse.py accepts; an encoded-word is never read as part of one.
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")


@dataclass(frozen=True)
class Choice:
    """Where the holding reply goes (None: nowhere), which header gave it, and why, in one sentence."""

    address: str | None
    via: Via
    reason: str
    client: str | None = None  # a form relay listed under a client's forms: that client


@dataclass(frozen=True)
class FormSenders:
    """Web-form senders whose Reply-To may be answered: rules.yaml `forms:`, top level and per client.

    An entry with an '@' is an exact address; otherwise a domain, which covers its subdomains.
    """

    everyone: frozenset[str] = frozenset()
    clients: Mapping[str, frozenset[str]] = field(default_factory=dict)  # client name -> its own entries

    @classmethod
    def from_rules(cls, rules: Rules) -> FormSenders:
        return cls(frozenset(rules.forms), {c.name: frozenset(c.forms) for c in rules.clients if c.forms})

    def listing(self, address: str) -> tuple[str, str | None] | None:
        """(the entry that lists `address`, the client whose forms list it or None), or None."""
        for client, entries in self.clients.items():
            entry = _listed(address, entries)
            if entry is not None:
                return entry, client
        entry = _listed(address, self.everyone)
        return (entry, None) if entry is not None else None


def _listed(address: str, entries: frozenset[str]) -> str | None:
    address = address.lower()
    if address in entries:
        return address
    labels = address.rpartition("@")[2].split(".")
    return next((".".join(labels[i:]) for i in range(len(labels) - 1) if ".".join(labels[i:]) in entries), None)


def registrable_domain(address_or_domain: str) -> str:
    """The part of a domain its owner registered: the last two labels, three under a public suffix."""
    labels = address_or_domain.rpartition("@")[2].lower().rstrip(".").split(".")
    if len(labels) < 3:
        return ".".join(labels)
    second, top = labels[-2], labels[-1]
    public = f"{second}.{top}" in _PUBLIC_SUFFIXES or (len(top) == 2 and second in _GENERIC_SECOND_LEVEL)
    return ".".join(labels[-3:] if public else labels[-2:])


def limit_key(address: str) -> str:
    """The recipient a per-recipient limit counts: SRS/BATV undone, case and +detail ignored."""
    local, _, domain = sender_key(address).rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


def reply_to_addresses(header: str) -> tuple[str, ...]:
    """Every address a Reply-To header's text names, lower-cased, once each, in order.

    Encoded-words are blanked before reading (RFC 2047 forbids them in an address). An address-like
    word outside the angle brackets (a display name "victim@x" <a@b>) counts as well, so a header
    that hides a second address reads as several addresses, never as a clean single one.
    """
    if len(header) > _LONGEST_HEADER:  # no person's Reply-To is this long: read it as several addresses
        return ("(too long)", "(to read)")
    text = _ENCODED_WORD.sub(" ", header)
    found = [address.strip().lower() for _name, address in getaddresses([text])]
    found += [word.lower() for word in _ADDRESS.findall(text)]
    return tuple(dict.fromkeys(a for a in found if _ADDRESS.fullmatch(a)))


def choose(msg: Incoming, client_of: ClientOf, forms: FormSenders, objection: Objection) -> Choice:
    """Where the holding reply for `msg` may go, by the rules in this module's docstring."""
    sender = msg.sender.lower()
    if not sender:
        return Choice(None, "from", "no From address: no reply")
    authors = {normalise(address) for _name, address in mailboxes(msg.header("from")[:_LONGEST_HEADER]) if address}
    if len(authors) > 1:  # RFC 5322: several authors, and Sender names who sent it
        named = reply_to_addresses(msg.header("sender"))
        if len(named) != 1:
            return Choice(None, "from", f"From names {len(authors)} addresses and no single Sender: no reply")
        sender = named[0]
    reply_to, note = _single_reply_to(msg, objection)
    sender_objection = objection(sender) or bulk.form_program(msg)
    if sender_objection is None:
        return _person(sender, reply_to, note, client_of, objection)
    return _relay(sender, sender_objection, reply_to, note, forms, objection)


def _single_reply_to(msg: Incoming, objection: Objection) -> tuple[str | None, str]:
    """The one Reply-To address worth considering (None: none, or only From again), and when the
    header named several, a note: appended to the reason if one was kept, the reason if none was."""
    sender = msg.sender.lower()
    found = reply_to_addresses(msg.header("reply-to"))
    parsed = msg.reply_to.lower()  # parse.py's reading of the raw header: Reply-To, else From
    if parsed == sender and sender not in found:
        # parse.py found no address in the raw header, so these came from decoded encoded-words
        # (Incoming.headers holds decoded text): RFC 2047 forbids that, and it is how forgeries look.
        found = ()
    if parsed and parsed != sender and parsed not in found:
        found = (parsed, *found)
    if len(found) <= 1:
        return (found[0] if found and found[0] != sender else None), ""
    usable = [a for a in found if objection(a) is None]
    if len(usable) == 1:
        only = usable[0]
        return (None, "") if only == sender else (only, f" (the only answerable one of {len(found)} in Reply-To)")
    return None, f"Reply-To names {len(found)} addresses, {len(usable)} of them answerable, so none is used"


def _person(sender: str, reply_to: str | None, note: str, client_of: ClientOf, objection: Objection) -> Choice:
    """From is a person: their Reply-To only when it is plainly theirs."""
    if reply_to is None:
        return Choice(sender, "from", f"{note or 'no separate Reply-To'}: replying to From")
    why = objection(reply_to)
    if why is not None:
        return Choice(sender, "from", f"Reply-To {reply_to} must not be answered ({why}){note}: replying to From")
    if limit_key(reply_to) == limit_key(sender):
        return Choice(reply_to, "reply-to", f"Reply-To {reply_to} is the sender's own mailbox{note}: "
                                            "replying to Reply-To")
    domain = reply_to.rpartition("@")[2]
    own = domain == sender.rpartition("@")[2]  # the very same domain: a registrable one is shared by tenants
    if own and domain not in _SHARED_DOMAINS and not is_freemail(sender):
        return Choice(reply_to, "reply-to", f"Reply-To {reply_to} is in the sender's own domain {domain}{note}: "
                                            "replying to Reply-To")
    client = client_of(sender)
    if client is not None and client == client_of(reply_to):
        return Choice(reply_to, "reply-to", f"Reply-To {reply_to} belongs to client {client}, as From {sender} "
                                            f"does{note}: replying to Reply-To")
    if own:
        return Choice(sender, "from", f"Reply-To {reply_to} is another mailbox at {domain}, a provider shared by "
                                      f"strangers, and not the sender's client{note}: replying to From")
    return Choice(sender, "from", f"Reply-To {reply_to} is outside the sender's domain and client{note}: "
                                  "replying to From")


def _relay(sender: str, sender_objection: str, reply_to: str | None, note: str, forms: FormSenders,
           objection: Objection) -> Choice:
    """From must not be answered: only a listed web form's Reply-To may be."""
    if reply_to is None:
        return Choice(None, "from", f"From {sender} must not be answered ({sender_objection}) and "
                                    f"{note or 'there is no other Reply-To'}: no reply")
    why = objection(reply_to)
    if why is not None:
        return Choice(None, "from", f"From {sender} must not be answered ({sender_objection}), nor Reply-To "
                                    f"{reply_to} ({why}){note}: no reply")
    listed = forms.listing(sender)
    if listed is None:
        return Choice(None, "form", f"form relay from {sender} is not listed in forms:{note} (add it under "
                                    "forms: to answer its Reply-To)")
    entry, client = listed
    where = f"client {client}'s forms" if client else "forms"
    return Choice(reply_to, "form", f"form relay from {sender} is listed in {where} ({entry}){note}: replying "
                                    f"to Reply-To {reply_to}", client=client)
