"""Where a holding reply may go: From, a Reply-To that is plainly the sender's, or a listed form's Reply-To."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtriage.core.models import Incoming
from mailtriage.core.parse import parse
from mailtriage.decide.recipient import (
    Choice,
    FormSenders,
    choose,
    limit_key,
    registrable_domain,
    reply_to_addresses,
)

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
NO_FORMS = FormSenders()
CLIENTS = {"acme.pl": "Acme", "acme-group.com": "Acme", "piekarnia.pl": "Piekarnia",
           "jan.kowalski@gmail.com": "Acme"}
_SYSTEM = re.compile(r"mailer-daemon|postmaster|owner-.+|.+-owner|.+-request")
_NOREPLY = re.compile(r"no[-_]?reply|do[-_]?not[-_]?reply")


def objection(address: str) -> str | None:
    """A stand-in for guards.address_objection(address, ctx), which the pipeline passes."""
    local, _, domain = address.lower().rpartition("@")
    if f"{local.split('+', 1)[0]}@{domain}" == "kasia@example.com":
        return "our own address"
    if _SYSTEM.fullmatch(local):
        return f"a list robot or system address ({local})"
    if _NOREPLY.fullmatch(local.split("+", 1)[0]):
        return f"a no-reply address ({local})"
    return None


def client_of(address: str) -> str | None:
    """Like match.Matcher: the address, else its domain or a parent domain."""
    address = address.lower()
    labels = address.rpartition("@")[2].split(".")
    return CLIENTS.get(address) or next(
        (CLIENTS[".".join(labels[i:])] for i in range(len(labels) - 1) if ".".join(labels[i:]) in CLIENTS), None)


def msg(sender: str, reply_to: str | None = None, extra: str = "") -> Incoming:
    """A message as parse.py makes it from raw headers."""
    raw = f"From: {sender}\nTo: kasia@example.com\nSubject: Oferta\nMessage-ID: <1@x.example>\n"
    raw += (f"Reply-To: {reply_to}\n" if reply_to is not None else "") + extra
    return parse(raw.encode(), folder="INBOX", uid=1, uidvalidity=1, received=NOW)


def pick(sender: str, reply_to: str | None = None, forms: FormSenders = NO_FORMS, extra: str = "") -> Choice:
    return choose(msg(sender, reply_to, extra), client_of, forms, objection)


def test_62_strangers_naming_one_victim_in_reply_to_are_answered_at_from() -> None:
    choices = [pick(f"Promo <offer{n}@stranger{n}.example>", f"victim+{n}@third.example") for n in range(31)]
    choices += [pick(f"sales{n}@mx.shop{n}.com.pl", f"Victim+{n}@Third.Example") for n in range(31)]
    assert len(choices) == 62
    assert all(c.via == "from" and c.address and not c.address.endswith("third.example") for c in choices)
    assert choices[0].address == "offer0@stranger0.example"
    assert choices[0].reason == ("Reply-To victim+0@third.example is outside the sender's domain and client: "
                                 "replying to From")
    # Had any been answered, the per-recipient limit would count them as one recipient.
    assert {limit_key(f"Victim+{n}@Third.Example") for n in range(62)} == {"victim@third.example"}


@pytest.mark.parametrize("own", ["kasia@example.com", "Kasia+faktury@EXAMPLE.com"])
def test_reply_to_our_own_address_is_never_used(own: str) -> None:
    choice = pick("jan@acme.pl", own)
    assert (choice.address, choice.via) == ("jan@acme.pl", "from")
    assert "our own address" in choice.reason


@pytest.mark.parametrize("robot", ["python-list-request@python.org", "owner-pl@lists.example.org",
                                   "pl-owner@lists.example.org", "MAILER-DAEMON@acme.pl", "postmaster@acme.pl"])
def test_reply_to_a_list_or_system_address_is_never_used(robot: str) -> None:
    choice = pick("anna@uni.example", robot)
    assert (choice.address, choice.via) == ("anna@uni.example", "from")
    assert choice.reason.startswith(f"Reply-To {robot.lower()} must not be answered (a list robot")


@pytest.mark.parametrize(
    ("sender", "reply_to"),
    [("jan@firma.pl", "Biuro <biuro@firma.pl>"), ("jan@mail.firma.com.pl", "biuro@mail.firma.com.pl"),
     ("tom@shop.co.uk", "orders@shop.co.uk")],
)
def test_reply_to_in_the_senders_own_domain_is_used(sender: str, reply_to: str) -> None:
    choice = pick(sender, reply_to)
    assert choice.via == "reply-to" and choice.address == reply_to_addresses(reply_to)[0]
    assert "in the sender's own domain" in choice.reason


@pytest.mark.parametrize(
    ("sender", "reply_to"),
    # another host under the same name is not proof of one owner: tenants of onmicrosoft.com or
    # shops under sklep.pl share a parent domain with strangers; the writer gets the reply
    [("jan@firmaa.onmicrosoft.com", "ceo@firmab.onmicrosoft.com"), ("jan@sklepa.sklep.pl", "szef@sklepb.sklep.pl"),
     ("jan@mail.firma.com.pl", "biuro@firma.com.pl"), ("tom@sales.shop.co.uk", "orders@shop.co.uk")],
)
def test_reply_to_at_another_host_goes_to_from(sender: str, reply_to: str) -> None:
    choice = pick(sender, reply_to)
    assert (choice.address, choice.via) == (sender, "from")


@pytest.mark.parametrize(("sender", "reply_to"), [("jan@mail.acme.pl", "Biuro <biuro@acme.pl>"),
                                                  ("jan@acme.pl", "zamowienia@sklep.acme.pl")])
def test_reply_to_of_the_same_client_is_used(sender: str, reply_to: str) -> None:
    choice = pick(sender, reply_to)
    assert choice.via == "reply-to" and "belongs to client Acme" in choice.reason


@pytest.mark.parametrize(("sender", "reply_to"), [("a@firma.com.pl", "b@inna.com.pl"), ("a@x.co.uk", "b@y.co.uk")])
def test_a_public_suffix_is_not_a_shared_domain(sender: str, reply_to: str) -> None:
    assert registrable_domain(sender) != registrable_domain(reply_to)
    assert pick(sender, reply_to).address == sender


@pytest.mark.parametrize(("sender", "reply_to"), [("anna@gmail.com", "victim@gmail.com"),
                                                  ("spam@onet.pl", "ofiara@onet.pl"),
                                                  ("anna.nowak88@gmx.net", "k.wisniewski@gmx.net"),
                                                  ("oliver@hotmail.co.uk", "emma@hotmail.co.uk")])
def test_a_shared_mailbox_provider_is_not_the_senders_own_domain(sender: str, reply_to: str) -> None:
    choice = pick(sender, reply_to)
    assert (choice.address, choice.via) == (sender, "from") and "a provider shared by strangers" in choice.reason
    assert pick("jan.kowalski@gmail.com", "jan.kowalski+acme@gmail.com").address == "jan.kowalski+acme@gmail.com"


def test_reply_to_at_another_domain_of_the_same_client_is_used() -> None:
    choice = pick("jan@acme.pl", "office@acme-group.com")
    assert (choice.address, choice.via) == ("office@acme-group.com", "reply-to")
    assert choice.reason == ("Reply-To office@acme-group.com belongs to client Acme, as From jan@acme.pl does: "
                             "replying to Reply-To")
    assert pick("jan.kowalski@gmail.com", "biuro@acme.pl").address == "biuro@acme.pl"
    # Another client's address, or two strangers (None == None), are not "the same client".
    assert pick("jan@acme.pl", "zofia@piekarnia.pl").address == "jan@acme.pl"
    assert pick("x@a.example", "y@b.example").address == "x@a.example"


def test_reply_to_equal_to_from_or_absent_means_from() -> None:
    assert pick("Jan@Acme.pl", "jan@acme.pl") == Choice("jan@acme.pl", "from",
                                                        "no separate Reply-To: replying to From")
    assert pick("jan@acme.pl").address == "jan@acme.pl"


@pytest.mark.parametrize(
    ("sender", "forms", "client"),
    [("noreply@site.example", FormSenders(frozenset({"noreply@site.example"})), None),
     ("Formularz <NoReply@forms.site.example>", FormSenders(frozenset({"site.example"})), None),
     ("noreply@site.example", FormSenders(clients={"Piekarnia": frozenset({"site.example"})}), "Piekarnia")],
)
def test_a_listed_form_relay_is_answered_at_its_reply_to(sender: str, forms: FormSenders,
                                                         client: str | None) -> None:
    choice = pick(sender, "Ola Nowak <Ola.Nowak@gmail.com>", forms)
    assert (choice.address, choice.via, choice.client) == ("ola.nowak@gmail.com", "form", client)
    assert "is listed in" in choice.reason and choice.reason.endswith("replying to Reply-To ola.nowak@gmail.com")


def test_an_unlisted_form_relay_gets_no_reply_and_the_reason_names_forms() -> None:
    forms = FormSenders(frozenset({"other.example", "noreply@site2.example"}))
    choice = pick("no-reply@site.example", "ola@gmail.com", forms)
    assert (choice.address, choice.via) == (None, "form")
    assert choice.reason == ("form relay from no-reply@site.example is not listed in forms: "
                             "(add it under forms: to answer its Reply-To)")


def test_a_listed_form_whose_reply_to_is_a_robot_or_us_gets_no_reply() -> None:
    forms = FormSenders(frozenset({"site.example"}))
    for reply_to in ("kasia@example.com", "noreply@site.example", "list-request@lists.example"):
        assert pick("noreply@site.example", reply_to, forms).address is None


def test_no_reply_sender_without_reply_to_gets_no_reply() -> None:
    choice = pick("Shop <no_reply@shop.example>", forms=FormSenders(frozenset({"shop.example"})))
    assert (choice.address, choice.via) == (None, "from")
    assert choice.reason == ("From no_reply@shop.example must not be answered (a no-reply address (no_reply)) "
                             "and there is no other Reply-To: no reply")


def test_several_reply_to_addresses_are_used_only_when_exactly_one_may_be_answered() -> None:
    both = pick("jan@acme.pl", "biuro@acme.pl, victim@third.example")
    assert both.address == "jan@acme.pl"
    assert both.reason == "Reply-To names 2 addresses, 2 of them answerable, so none is used: replying to From"
    one = pick("jan@acme.pl", "kasia@example.com, Biuro <biuro@acme.pl>")
    assert (one.address, one.via) == ("biuro@acme.pl", "reply-to") and "only answerable one of 2" in one.reason
    stranger = pick("jan@acme.pl", "kasia@example.com, victim@third.example")  # the one left is still a stranger
    assert stranger.address == "jan@acme.pl"
    forms = FormSenders(frozenset({"site.example"}))
    assert pick("noreply@site.example", "ola@gmail.com, piotr@gmail.com", forms).address is None
    assert pick("noreply@site.example", "noreply@site.example, ola@gmail.com", forms).address == "ola@gmail.com"


def test_two_reply_to_headers_count_as_several_addresses() -> None:
    choice = pick("jan@acme.pl", "biuro@acme.pl", extra="Reply-To: victim@third.example\n")
    assert choice.address == "jan@acme.pl" and "so none is used" in choice.reason


def test_an_address_made_of_encoded_words_is_not_an_address() -> None:
    forms = FormSenders(frozenset({"site.example"}))
    assert pick("noreply@site.example", "=?utf-8?q?victim=40third.example?=", forms).address is None
    assert reply_to_addresses("=?utf-8?q?victim=40third.example?= <ola@gmail.com>") == ("ola@gmail.com",)
    # An address hidden in the display name makes the header ambiguous, not simple.
    assert reply_to_addresses('"victim@third.example" <biuro@acme.pl>') == ("biuro@acme.pl", "victim@third.example")


def test_an_incoming_built_without_headers_uses_its_reply_to_field() -> None:
    bare = Incoming(folder="INBOX", uid=1, uidvalidity=1, received=NOW, message_id="<1@x>",
                    sender="jan@acme.pl", reply_to="victim@third.example")
    assert choose(bare, client_of, NO_FORMS, objection).address == "jan@acme.pl"
    assert choose(Incoming(folder="INBOX", uid=1, uidvalidity=1, received=NOW, message_id="<2@x>"),
                  client_of, NO_FORMS, objection).address is None


@pytest.mark.parametrize(
    ("address", "key"),
    [("Jan+Oferta@Acme.PL", "jan@acme.pl"), ("SRS0=HHH=TT=acme.pl=jan+x@fwd.example", "jan@acme.pl"),
     ("prvs=1234abcd=Jan@acme.pl", "jan@acme.pl"), ("+only@acme.pl", "+only@acme.pl")],
)
def test_limit_key_ignores_case_detail_and_forwarder_rewriting(address: str, key: str) -> None:
    assert limit_key(address) == key


@pytest.mark.parametrize(
    ("domain", "registrable"),
    [("mail.acme.pl", "acme.pl"), ("acme.pl", "acme.pl"), ("a.b.firma.com.pl", "firma.com.pl"),
     ("x.shop.co.uk", "shop.co.uk"), ("jan@Mail.Acme.PL", "acme.pl"), ("sklep.waw.pl", "sklep.waw.pl"),
     ("localhost", "localhost")],
)
def test_registrable_domain(domain: str, registrable: str) -> None:
    assert registrable_domain(domain) == registrable


_label = st.from_regex(r"[a-z][a-z0-9-]{0,6}[a-z0-9]", fullmatch=True)
_domain = st.tuples(st.lists(_label, min_size=1, max_size=3),
                    st.sampled_from(["pl", "com", "example", "com.pl", "co.uk", "waw.pl", "de"])).map(
    lambda parts: ".".join([*parts[0], parts[1]]))
_local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}", fullmatch=True)


@settings(max_examples=300)
@given(from_local=_local, from_domain=_domain, rt_local=_local, rt_domain=_domain, sender_is_client=st.booleans(),
       listed=st.lists(_domain, max_size=2), name=st.sampled_from(["", "Victim ", '"Jan, Acme" ']))
def test_a_reply_to_outside_the_senders_domain_and_client_is_never_used(
        from_local: str, from_domain: str, rt_local: str, rt_domain: str, sender_is_client: bool,
        listed: list[str], name: str) -> None:
    sender, reply_to = f"{from_local}@{from_domain}", f"{rt_local}@{rt_domain}"
    forms = FormSenders(frozenset(listed), {"Acme": frozenset(listed[:1])})
    if registrable_domain(reply_to) == registrable_domain(sender) or forms.listing(sender) is not None:
        return
    message = Incoming(folder="INBOX", uid=1, uidvalidity=1, received=NOW, message_id="<1@x>", sender=sender,
                       reply_to=reply_to, headers={"from": sender, "reply-to": f"{name}<{reply_to}>"})
    choice = choose(message, lambda a: "Acme" if sender_is_client and a == sender else None, forms, objection)
    assert choice.address in (sender, None) and choice.via != "reply-to"
