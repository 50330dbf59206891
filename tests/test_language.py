"""`defaults.language: auto`: Polish for Polish senders, English for the rest; a set language wins."""

from __future__ import annotations

import pytest

from mailtriage.core.language import pick_language


@pytest.mark.parametrize(("sender", "name", "subject", "language"), [
    ("jan@acme.pl", "", "Invoice", "pl"),
    ("Jan <jan@firma.com.pl>", "Jan", "", "pl"),
    ("JAN@ACME.PL.", "", "", "pl"),
    ("jan.kowalski@gmail.com", "Jan Kowalski", "Zamówienie", "pl"),
    ("anna@gmail.com", "Anna Wójcik", "Hello", "pl"),
    ("john@example.com", "John Smith", "Invoice", "en"),
    ("pl@example.com", "", "Plan", "en"),  # 'pl' elsewhere than the top-level domain counts for nothing
    ("x@example.pl.com", "", "", "en"),
])
def test_auto_picks_polish_by_domain_or_letters(sender: str, name: str, subject: str, language: str) -> None:
    assert pick_language("auto", sender, name, subject) == language


def test_a_set_language_wins() -> None:
    assert pick_language("en", "jan@acme.pl", "Wójcik", "Zamówienie") == "en"
    assert pick_language("pl", "john@example.com", "John", "Invoice") == "pl"
