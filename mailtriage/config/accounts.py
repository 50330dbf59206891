"""The accounts of a rules file: one `Account` per mailbox, each with the whole `Rules` it is checked by.

A file without `accounts:` is one account, `default`, of the top-level keys, unchanged. With
`accounts:`, what an account does not set comes from the top level (docs/accounts.md). `resolve` is
pure: the check, the triage and the outbox then read `account.rules` as they read a whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailtriage.config.model import ACCOUNT_KEYS, Rules
from mailtriage.config.model import Account as Section
from mailtriage.config.oauth2 import TOKEN_FILE, OAuth2
from mailtriage.config.servers import Imap

DEFAULT = "default"  # the one account of a file without `accounts:`, and the store's default


@dataclass(frozen=True)
class Account:
    """One mailbox: its name, the rules it is checked by, and where it is written (None: implicit)."""

    name: str
    rules: Rules
    index: int | None = None  # its position in `accounts:`, for file:line errors

    @property
    def where(self) -> tuple[str | int, ...]:
        """The location of this account's section in rules.yaml, () for the implicit one."""
        return () if self.index is None else ("accounts", self.index)


def resolve(rules: Rules) -> tuple[Account, ...]:
    """Every account of `rules`, with the top-level defaults applied."""
    if not rules.accounts:
        return (Account(DEFAULT, rules),)
    return tuple(Account(section.name, apply(rules, section), i) for i, section in enumerate(rules.accounts))


def select(rules: Rules, name: str | None) -> tuple[Account, ...]:
    """The account called `name` (all of them for None); () when there is none by that name."""
    accounts = resolve(rules)
    return accounts if name is None else tuple(a for a in accounts if a.name == name)


def apply(rules: Rules, section: Section) -> Rules:
    """The top-level rules with what one account sets put in: a whole Rules for that mailbox."""
    given = section.model_fields_set
    update: dict[str, object] = {key: getattr(section, key) for key in ACCOUNT_KEYS
                                 if key in given and (getattr(section, key) is not None or key == "sender_limit")}
    update["imap"] = _imap(rules.imap, section)
    oauth2 = section.oauth2 or rules.oauth2
    if oauth2 is not None:
        update["oauth2"] = _token_file(oauth2, rules, section)
    update["accounts"] = []
    return rules.model_copy(update=update)


def _imap(top: Imap, section: Section) -> Imap:
    """The account's imap (or the top-level one); folders and sent_folder by the account's own keys first,
    then its imap's, then the top-level imap's."""
    own = section.imap or top
    update: dict[str, object] = {}
    for key in ("folders", "sent_folder"):
        if getattr(section, key) is not None:
            update[key] = getattr(section, key)
        elif own is not top and key not in own.model_fields_set and key in top.model_fields_set:
            update[key] = getattr(top, key)
    return own.model_copy(update=update) if update else own


def _token_file(oauth2: OAuth2, rules: Rules, section: Section) -> OAuth2:
    """Tokens are one user's: an account's own token_file, else `<top-level token file>.<name>.json`
    beside it; the account named `default` inherits the top-level file itself (today's tokens)."""
    if section.oauth2 is not None and "token_file" in section.oauth2.model_fields_set:
        return oauth2
    top = rules.oauth2.token_file if rules.oauth2 is not None else None
    if section.oauth2 is None and section.name == DEFAULT and top is not None:
        return oauth2
    base = top or Path(rules.database).parent / TOKEN_FILE
    return oauth2.model_copy(update={"token_file": base.with_name(f"{base.stem}.{section.name}{base.suffix}")})


def for_the_user(rules: Rules) -> Rules:
    """The rules a message to the user (the summary, a reminder) is written and sent with: a file without
    `accounts:` as it is; with them, the top-level language and smtp, else the first account's smtp,
    identity and imap (summary.deliver: imap appends to the first account's INBOX)."""
    if not rules.accounts:
        return rules
    first = resolve(rules)[0].rules
    return first.model_copy(update={"language": rules.language, "smtp": rules.smtp or first.smtp})


def grouped(rules: Rules) -> tuple[str, ...]:
    """The names of the accounts a report to the user is grouped by: () when there is only one."""
    accounts = resolve(rules)
    return tuple(a.name for a in accounts) if len(accounts) > 1 else ()
