"""Sender matching: address beats domain beats pattern beats defaults, ignoring case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mailtriage.config.rulesfile import load
from mailtriage.decide.match import Matcher
from tests.conftest import EXAMPLE, MINIMAL


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load(EXAMPLE))


@pytest.mark.parametrize(
    ("sender", "client", "reason"),
    [
        ("jan.kowalski@gmail.com", "Acme", "address jan.kowalski@gmail.com"),
        ("Jan Kowalski <JAN.Kowalski@Gmail.COM>", "Acme", "address jan.kowalski@gmail.com"),
        ("boss@acme.pl", "Acme", "domain acme.pl"),
        ("ops@mail.eu.acme.pl", "Acme", "parent domain acme.pl"),
        ("orders@piekarnia-krakow.pl", "Piekarnia", "pattern *@piekarnia-*.pl"),
        ("editor@substack.com", "Newsletters", "domain substack.com"),
        ("someone@notacme.pl", None, "no client matched: defaults"),
        ("anna@gmail.com", None, "no client matched: defaults"),
    ],
)
def test_sender_goes_to_the_expected_client(matcher: Matcher, sender: str, client: str | None, reason: str) -> None:
    decision = matcher.match(sender)
    assert (decision.client, decision.reason) == (client, reason)


def test_client_settings_fall_back_to_defaults_then_top_level(matcher: Matcher) -> None:
    acme, bakery, unknown = (matcher.match(a) for a in ("x@acme.pl", "x@piekarnia-a.pl", "x@y.pl"))
    assert (str(acme.window), acme.language, acme.action) == ("same business day", "en", "reply")
    assert (str(bakery.window), bakery.language, bakery.action) == ("4 business hours", "pl", "reply")
    assert (str(unknown.window), unknown.language, unknown.action) == ("2 business days", "pl", "reply")
    assert matcher.match("x@substack.com").action == "ignore"


def test_exact_address_beats_a_domain_of_another_client(write_rules: Callable[..., Path]) -> None:
    path = write_rules(MINIMAL + """\
clients:
  - {name: Domain, match: {domains: [firma.pl]}}
  - {name: Person, match: {addresses: [ceo@firma.pl], patterns: ["*@firma.pl"]}}
  - {name: Sub, match: {domains: [dev.firma.pl]}}
""")
    matcher = Matcher(load(path))
    assert matcher.match("ceo@firma.pl").client == "Person"
    assert matcher.match("cto@firma.pl").client == "Domain"
    assert matcher.match("x@build.dev.firma.pl").client == "Sub"  # the most specific domain wins


def test_ten_thousand_clients_match_by_dictionary(write_rules: Callable[..., Path]) -> None:
    lines = [f"  - {{name: C{i}, match: {{domains: [c{i}.example.org], addresses: [boss@c{i}.com]}}}}"
             for i in range(10_000)]
    matcher = Matcher(load(write_rules(MINIMAL + "clients:\n" + "\n".join(lines) + "\n")))
    assert matcher.match("anyone@c9876.example.org").client == "C9876"
    assert matcher.match("BOSS@c42.com").client == "C42"
    assert matcher.match("other@c42.com").client is None
    assert not matcher._patterns  # no linear scan was needed for these


def test_an_idn_client_domain_matches_in_either_spelling(write_rules: Callable[[str], Path]) -> None:
    rules = load(write_rules(MINIMAL + "clients:\n  - {name: Żółw, match: {domains: [xn--w-uga1v8h.pl]}}\n"
                                        "  - {name: Kot, match: {addresses: [Ala@KOT.pl]}}\n"))
    matcher = Matcher(rules)
    assert matcher.match("jan@żółw.pl").client == "Żółw"
    assert matcher.match("Jan <jan@XN--W-UGA1V8H.PL>").client == "Żółw"
    assert matcher.match("ala@kot.pl").client == "Kot"
