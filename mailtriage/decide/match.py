"""Sender -> client: exact address, then domain (and its subdomains), then pattern, then defaults.

Address and domain lookups are dictionary lookups (a domain costs one lookup per label), so ten
thousand clients cost what ten do; patterns are tried in file order after both have missed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from fnmatch import translate

from mailtriage.config.model import Client, Rules
from mailtriage.core.addresses import normalise
from mailtriage.core.windows import Window


@dataclass(frozen=True)
class Decision:
    """What to do with mail from one sender, and which rule said so."""

    client: str | None  # None: no client matched, the defaults apply
    action: str
    window: Window
    language: str  # 'auto' until pick_language() has seen the message
    reason: str

    @property
    def label(self) -> str:
        """'client Acme', or 'no client (defaults)' for a sender the defaults apply to."""
        return f"client {self.client}" if self.client else "no client (defaults)"


class Matcher:
    """Built once per rule set (at load or reload); `match()` is then cheap and pure."""

    def __init__(self, rules: Rules) -> None:
        self._rules = rules
        self._by_address: dict[str, Client] = {}
        self._by_domain: dict[str, Client] = {}
        self._patterns: list[tuple[re.Pattern[str], str, Client]] = []
        for client in rules.clients:
            for address in client.match.addresses:
                self._by_address.setdefault(address.lower(), client)
            for domain in client.match.domains:
                self._by_domain.setdefault(domain.lower(), client)
            for pattern in client.match.patterns:
                self._patterns.append((re.compile(translate(pattern.lower())), pattern, client))

    def match(self, sender: str) -> Decision:
        """The decision for `sender` ('a@b' or 'Name <a@b>'), with the reason in words."""
        address = normalize(sender)
        client = self._by_address.get(address)
        if client is not None:
            return self._decide(client, f"address {address}")
        domain = address.rpartition("@")[2]
        labels = domain.split(".")
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            client = self._by_domain.get(suffix)
            if client is not None:
                how = "domain" if i == 0 else "parent domain"
                return self._decide(client, f"{how} {suffix}")
        for compiled, pattern, client in self._patterns:
            if compiled.match(address):
                return self._decide(client, f"pattern {pattern}")
        return self._decide(None, "no client matched: defaults")

    def form_of(self, name: str, form: str) -> Decision:
        """The decision for a web form listed under client `name`: that client's rules."""
        client = next(c for c in self._rules.clients if c.name == name)
        return self._decide(client, f"form {form} of client {name}")

    def _decide(self, client: Client | None, reason: str) -> Decision:
        defaults = self._rules.defaults
        language = (client and client.language) or defaults.language or self._rules.language
        return Decision(
            client=client.name if client else None,
            action=(client and client.action) or defaults.action,
            window=(client and client.respond_within) or defaults.respond_within,
            language=language,
            reason=reason,
        )


def normalize(sender: str) -> str:
    """The bare, lower-cased address of a sender."""
    return normalise(parseaddr(sender)[1] or sender)
