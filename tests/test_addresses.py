"""Addresses: one normal form (IDN as U-labels), the ASCII wire form, and RCPT TO with or without SMTPUTF8."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtriage.core.addresses import (
    NeedsSmtpUtf8,
    ascii_form,
    envelope_recipient,
    mailboxes,
    needs_smtputf8,
    normalise,
)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("jan@xn--w-uga1v8h.pl", "jan@żółw.pl"),
        ("jan@żółw.pl", "jan@żółw.pl"),
        ("Jan@ŻÓŁW.PL", "jan@żółw.pl"),
        ("JAN@Xn--W-UGA1V8H.pl", "jan@żółw.pl"),
        ("dotty@dot.example.", "dotty@dot.example"),
        ("Jan.Kowalski@Acme.PL", "jan.kowalski@acme.pl"),
        ("Jöhn.DÖE@mächine.example", "jöhn.dÖe@mächine.example"),  # only ASCII letters are folded
        ("jdo\u0308e@ma\u0308chine.example", "jdöe@mächine.example"),  # NFC: one spelling of ö
        ("x@xn--abc-.example", "x@xn--abc-.example"),  # a fake A-label (decodes to ASCII) stays as written
        ("x@xn--zz!.pl", "x@xn--zz!.pl"),  # not punycode at all
        ("a@b\u3002pl", "a@b.pl"),  # an ideographic full stop separates labels too
    ],
)
def test_every_spelling_of_an_address_has_one_normal_form(address: str, expected: str) -> None:
    assert normalise(address) == expected


def test_the_ascii_form_puts_the_domain_in_a_labels_and_needs_an_ascii_local_part() -> None:
    assert ascii_form("Jan@żółw.pl") == "jan@xn--w-uga1v8h.pl"
    assert ascii_form("jan@acme.pl.") == "jan@acme.pl"
    assert ascii_form("jdöe@mächine.example") is None
    assert needs_smtputf8("jdöe@example.com") and not needs_smtputf8("jan@żółw.pl")


def test_the_envelope_recipient_follows_what_the_server_offers() -> None:
    # an IDN domain goes as punycode even where SMTPUTF8 is offered: every hop understands that
    assert envelope_recipient("jan@żółw.pl", smtputf8=True) == "jan@xn--w-uga1v8h.pl"
    assert envelope_recipient("jan@żółw.pl", smtputf8=False) == "jan@xn--w-uga1v8h.pl"
    assert envelope_recipient("jdöe@mächine.example", smtputf8=True) == "jdöe@mächine.example"
    with pytest.raises(NeedsSmtpUtf8, match="SMTPUTF8"):
        envelope_recipient("jdöe@mächine.example", smtputf8=False)
    assert issubclass(NeedsSmtpUtf8, ValueError)


@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing_and_the_ascii_form_is_ascii(address: str) -> None:
    once = normalise(address)
    assert normalise(once) == once
    wire = ascii_form(address)
    assert wire is None or wire.isascii()


@given(st.text(alphabet=st.sampled_from('ab@.,;:<>()"\\ =?qQ_é\t'), max_size=60))
def test_splitting_any_address_list_never_raises(value: str) -> None:
    for _name, address in mailboxes(value):
        assert isinstance(address, str)


def test_an_address_list_is_split_on_raw_text_only() -> None:
    assert mailboxes('"Nowak, Ewa" <ewa@x.pl>, friends: (c) o@x.pl;, =?utf-8?q?a@b,c?= <z@x.pl>') == [
        ("Nowak, Ewa", "ewa@x.pl"), ("c", "o@x.pl"), ("=?utf-8?q?a@b,c?=", "z@x.pl")]
    assert mailboxes("undisclosed-recipients:;") == []
    assert mailboxes("Jan <@relay.example:jan@x.pl") == [("Jan", "jan@x.pl")]  # source route, no '>'
