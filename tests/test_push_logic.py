"""Push without a server: which accounts are watched, what a pass records, how a watch reads IDLE."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mailtriage.app import push
from mailtriage.app.check import fetch, record
from mailtriage.config.accounts import resolve
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.errors import ConfigError
from mailtriage.mail.idle import Gone, Watch, slept
from mailtriage.mail.imap import Fetched
from mailtriage.store.db import Mark, Store
from tests.conftest import MINIMAL
from tests.test_stages import NOW, header, store, triage  # noqa: F401 - the store fixture

CLIENTS = """\
defaults: {action: reply, respond_within: 1 business day}
clients:
  - {name: Acme, match: {domains: [acme.pl]}, urgent: true}
  - {name: Firma, match: {domains: [firma.pl]}}
"""


@pytest.fixture
def rules(write_rules: Callable[[str], Path]) -> Rules:
    """Without smtp: a pass plans replies and says why they wait (no server is reached)."""
    return load(write_rules(MINIMAL + CLIENTS)).model_copy(update={"smtp": None})


class FakeMailbox:
    """The INBOX as a selected IMAP folder: UIDs and their headers."""

    def __init__(self, items: Sequence[Fetched]) -> None:
        self.items = {item.uid: item for item in items}
        self.fetched: list[int] = []

    def uids_after(self, last_uid: int) -> list[int]:
        return sorted(uid for uid in self.items if uid > last_uid)

    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]:
        self.fetched += uids
        return iter([self.items[uid] for uid in uids])


def from_acme(n: int) -> Fetched:
    return header(n, From=f"Jan {n} <jan{n}@acme.pl>", **{"Message-ID": f"<a{n}@acme.pl>"})


def test_only_accounts_with_an_urgent_client_or_push_all_are_watched(rules: Rules) -> None:
    assert push.wanted(rules)
    assert push.urgent(rules, "Acme") and not push.urgent(rules, "Firma") and not push.urgent(rules, None)
    assert not push.wanted(rules.model_copy(update={"push": "off"}))
    elsewhere = rules.model_copy(update={"imap": rules.imap.model_copy(update={"folders": ["Klienci"]})})
    assert push.requested(elsewhere) and not push.wanted(elsewhere)  # only a checked INBOX has a mark to go by
    calm = rules.model_copy(update={"clients": [c.model_copy(update={"urgent": False}) for c in rules.clients]})
    assert not push.wanted(calm)
    everything = calm.model_copy(update={"push": "all"})
    assert push.wanted(everything) and push.urgent(everything, None)


def test_an_account_sets_its_own_push(write_rules: Callable[[str], Path]) -> None:
    text = MINIMAL.replace("identity:", "push: off\nidentity:", 1) + CLIENTS + (
        "accounts:\n  - {name: kasia}\n  - {name: biuro, push: all, imap: {host: 127.0.0.1, port: 1143, "
        "security: none, username: biuro, password_env: MT_TEST_IMAP}}\n")
    accounts = resolve(load(write_rules(text)))
    assert [(a.name, a.rules.push, push.wanted(a.rules)) for a in accounts] == [
        ("kasia", "off", False), ("biuro", "all", True)]


@pytest.mark.parametrize(("idle", "said"), [
    ("{renew: 40 minutes}", "idle.renew: must be between 1 second and 28 minutes"),
    ("{poll: 0 seconds}", "idle.poll: must be at least 1 second"),
])
def test_idle_timings_out_of_range_are_refused_with_the_line(
        write_rules: Callable[[str], Path], idle: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write_rules(MINIMAL + CLIENTS + f"idle: {idle}\n"))
    problem = "\n".join(str(p) for p in caught.value.problems)
    assert said in problem and "rules.yaml:" in problem


def test_a_pass_records_and_answers_urgent_mail_only_and_leaves_the_mark(
        rules: Rules, store: Store) -> None:  # noqa: F811 - the fixture of test_stages
    box = FakeMailbox([header(1), from_acme(2), header(3), from_acme(4)])
    done = push.answer_urgent(rules, store, box, 7, NOW)  # type: ignore[arg-type]
    assert [(line.uid, line.decision, line.client) for line in done.lines] == [(2, "reply", "Acme"),
                                                                               (4, "reply", "Acme")]
    assert done.looked_to == 4 and done.error == "no smtp section in rules.yaml: holding replies cannot be sent"
    assert store.mark("INBOX") == Mark(7, 0)  # the check still reads 1 and 3, as promised
    assert store.recorded_uids("INBOX", 7, [1, 2, 3, 4]) == {2, 4}
    # A second pass looks only past what it looked at; one from the mark fetches only what is not recorded.
    assert push.answer_urgent(rules, store, box, 7, NOW, after=4).lines == []  # type: ignore[arg-type]
    box.fetched.clear()
    assert push.answer_urgent(rules, store, box, 7, NOW).lines == []  # type: ignore[arg-type]
    assert box.fetched == [1, 3]


def test_the_check_passes_over_what_push_recorded(rules: Rules, store: Store) -> None:  # noqa: F811
    box = FakeMailbox([header(1), from_acme(2)])
    push.answer_urgent(rules, store, box, 7, NOW)  # type: ignore[arg-type]
    lines = record.batch(store, triage(rules, store), fetch.Batch("INBOX", 7, [header(1), from_acme(2)], Mark(7, 2)),
                         NOW, lambda: False)
    assert [line.uid for line in lines] == [1]
    assert store.mark("INBOX") == Mark(7, 2)
    assert store.count_replies("planned") == 2  # one each: push's for 2, the check's for 1


def test_no_pass_before_the_first_check_or_after_uidvalidity_changed(rules: Rules) -> None:
    fresh = Store(None)
    try:
        assert push.answer_urgent(rules, fresh, FakeMailbox([from_acme(1)]), 7, NOW).lines == []  # type: ignore[arg-type]
    finally:
        fresh.close()


class FakeClient:
    """imapclient in IDLE: `idle_check` answers from a script, one entry per call."""

    def __init__(self, script: list[Any], idle: bool = True) -> None:
        self.script, self.calls = script, []  # type: list[Any], list[str]
        self.idle_capable = idle

    def has_capability(self, name: str) -> bool:
        return self.idle_capable

    def idle(self) -> None:
        self.calls.append("IDLE")

    def idle_done(self) -> tuple[bytes, list[Any]]:
        self.calls.append("DONE")
        return b"OK", []

    def noop(self) -> tuple[bytes, list[Any]]:
        self.calls.append("NOOP")
        step = self.script.pop(0) if self.script and self.script[0] == "noop-fails" else None
        if step:
            raise OSError("connection reset")
        return b"OK", []

    def idle_check(self, timeout: float) -> list[Any]:
        step = self.script.pop(0) if self.script else []
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[no-any-return]

    def shutdown(self) -> None:
        self.calls.append("shutdown")


class FakeBox:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.config = type("Config", (), {"host": "imap.example.com"})()

    def select(self, folder: str) -> object:
        return type("State", (), {"uidvalidity": 7, "uidnext": 1})()


def watch(script: list[Any], renew: float = 600) -> tuple[Watch, FakeClient]:
    client = FakeClient(script)
    w = Watch(FakeBox(client), "INBOX", renew=renew, poll=60)  # type: ignore[arg-type]
    w.start()
    return w, client


def test_exists_during_idle_is_news() -> None:
    w, client = watch([[(b"OK", b"Still here")], [(3, b"EXISTS")]])
    assert w.wait(5, lambda: False) is True
    assert client.calls == ["IDLE"]


def test_an_empty_answer_before_the_timeout_is_proven_with_noop_and_a_dead_one_is_gone() -> None:
    w, client = watch([[], "noop-fails"])  # readable at once, nothing read: EOF looks like this
    with pytest.raises(Gone, match="imap imap.example.com: NOOP"):
        w.wait(5, lambda: False)
    assert client.calls[:3] == ["IDLE", "DONE", "NOOP"]


def test_bye_is_gone() -> None:
    w, _ = watch([[(b"BYE", b"Server", b"shutting", b"down.")]])
    with pytest.raises(Gone, match="the server closed the connection: Server shutting down."):
        w.wait(5, lambda: False)


def test_idle_is_renewed_with_a_noop_every_renew() -> None:
    w, client = watch([], renew=0.01)
    assert w.wait(0.05, lambda: False) is False
    assert client.calls[:4] == ["IDLE", "DONE", "NOOP", "IDLE"]


def test_a_sleep_of_the_machine_is_told_from_a_quiet_wait() -> None:
    assert slept(awake=1.0, passed=1.2) is False
    assert slept(awake=1.0, passed=3600.0) is True


def test_validate_says_what_push_answers_and_warns_when_it_cannot(
        write_rules: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    from mailtriage.config.readiness import warnings
    from tests.cli import run_cli

    path = write_rules(MINIMAL + CLIENTS)
    code, out, _ = run_cli(capsys, "-c", path, "validate")
    assert code == 0 and "\n  push:        Acme answered as their mail comes (IDLE on the INBOX" in out
    rules = load(path)
    assert not [w for w in warnings(rules) if "push" in w]
    off = warnings(rules.model_copy(update={"push": "off"}))
    assert any(w.startswith("push: off: the urgent clients (Acme) are answered at check times only") for w in off)
    elsewhere = rules.model_copy(update={"imap": rules.imap.model_copy(update={"folders": ["Klienci"]})})
    assert any(w.startswith("push watches the INBOX, and the folders checked do not include it")
               for w in warnings(elsewhere))
