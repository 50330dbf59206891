"""The client a GDPR command names (`purge --client`, `export --client`): which account's records it
means, and the confirmation the client is told, in its language, signed by its account's identity.

Two accounts may each have a client of one name (kasia's Acme at acme.pl, biuro's Acme at
acme-biuro.pl: two companies): then the command needs --account, as `report --client` does. A
top-level client that the accounts inherit is one client in all of them. A name only old records
still carry (gone from rules.yaml) is a client too, one per account that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mailtriage.config.accounts import resolve
from mailtriage.config.model import Client, Rules
from mailtriage.core.wording import date_text, plural
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store

THREADS = {"pl": ("wątek", "wątki", "wątków"), "en": ("thread", "threads")}
MESSAGES = {"pl": ("wiadomość", "wiadomości", "wiadomości"), "en": ("message", "messages")}


@dataclass(frozen=True)
class Whose:
    """A client as a command means it: the account whose records are read or removed (None: every
    account, when no other account has a client of that name), the rules of its account (its language
    and identity), and its definition (None: only old records name it)."""

    name: str
    account: str | None
    rules: Rules
    client: Client | None

    def language(self, given: str | None = None) -> str:
        """--language, else the client's, else its account's default (when not 'auto'), else its language."""
        default = self.rules.defaults.language if self.rules.defaults.language in ("pl", "en") else None
        return given or (self.client.language if self.client else None) or default or self.rules.language


def whose_client(store: Store, rules: Rules, name: str, account: str | None = None) -> Whose:
    """The client called `name` (any case), in `account` or in the one account that has it; a
    MailtriageError when there is none, or when two accounts each have one and no account is named."""
    accounts = {a.name: a.rules for a in resolve(rules)}
    held = store.client_accounts(name)
    if account is not None and account not in accounts and account not in held:
        raise MailtriageError(f"no account {account!r} in rules.yaml or in the database (its accounts: "
                              f"{', '.join(accounts)})")
    everywhere = _groups(rules, accounts, held, name)
    found = _groups(rules, accounts, held, name, account)
    if not found:
        where = f" in account {account}" if account is not None else ""
        raise MailtriageError(f"no client named {name!r}{where} in rules.yaml or in the database")
    if len(found) > 1:
        named = ", ".join(a for group in found.values() for a in group)
        raise MailtriageError(f"accounts {named} each have a client {name!r}: name one with --account")
    (group,) = found.values()
    own = accounts.get(group[0], rules)
    client = _named(own, name) if group[0] in accounts else None
    whole = len(everywhere) == 1 and list(everywhere.values())[0] == group  # no other account has one
    return Whose(client.name if client else name, None if whole else group[0], own, client)


def _groups(rules: Rules, accounts: dict[str, Rules], held: list[str], name: str,
            only: str | None = None) -> dict[str, list[str]]:
    """The accounts with a client `name`, by client: a top-level client the accounts inherit is one
    (key ''), every other account's is its own."""
    groups: dict[str, list[str]] = {}
    for where in [*accounts, *(a for a in held if a not in accounts)]:
        client = _named(accounts[where], name) if where in accounts else None
        if (only is not None and where != only) or (client is None and where not in held):
            continue
        key = "" if client is not None and rules.accounts and client in rules.clients else where
        groups.setdefault(key, []).append(where)
    return groups


def _named(rules: Rules, name: str) -> Client | None:
    return next((c for c in rules.clients if c.name.casefold() == name.casefold()), None)


def confirmation(day: date, threads: int, messages: int, language: str, reference: str | None, *,
                 signature: str = "", subjects: bool = True) -> str:
    """The confirmation a client gets at the end of a contract, in their language: what was deleted
    (records about their mail, not the mail itself), and by whom. Polish in impersonal forms, whoever
    signs it."""
    if language == "pl":
        what = "nadawcy, tematy, daty" if subjects else "nadawcy, daty"
        text = (f"Uprzejmie informuję, że w dniu {date_text(day, 'pl')} zostały usunięte wszystkie zapisy "
                "dotyczące Państwa korespondencji, prowadzone w ramach obsługi Państwa poczty: "
                f"{plural(threads, THREADS['pl'])} i {plural(messages, MESSAGES['pl'])} ({what} oraz wysłane "
                "potwierdzenia). Usunięcie nie obejmuje samych wiadomości w skrzynce pocztowej.")
        text += f" Numer referencyjny: {reference}." if reference else ""
        return text + (f"\n\nZ poważaniem\n{signature}" if signature else "")
    what = "senders, subjects, dates" if subjects else "senders, dates"
    text = (f"This is to confirm that on {date_text(day, 'en')} all records of your correspondence kept while "
            f"handling your mail were deleted: {plural(threads, THREADS['en'])} and "
            f"{plural(messages, MESSAGES['en'])} ({what} and the acknowledgements sent). The messages in the "
            "mailbox itself are not covered by this deletion.")
    text += f" Reference: {reference}." if reference else ""
    return text + (f"\n\nKind regards,\n{signature}" if signature else "")
