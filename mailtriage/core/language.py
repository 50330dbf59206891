"""Which language a holding reply is written in when `defaults.language` is `auto`."""

from __future__ import annotations

from email.utils import parseaddr

POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")


def pick_language(setting: str, sender: str, name: str, subject: str) -> str:
    """`setting` itself, unless it is 'auto': then Polish for an address in .pl or Polish letters in
    the display name or subject, English otherwise (a stranger is better served by English)."""
    if setting != "auto":
        return setting
    domain = (parseaddr(sender)[1] or sender).strip().lower().rstrip(">").rpartition("@")[2].rstrip(".")
    if domain.endswith(".pl") or any(letter in POLISH_LETTERS for letter in f"{name}{subject}"):
        return "pl"
    return "en"
