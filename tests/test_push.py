"""Push: urgent clients answered between check times by the daemon's IDLE watch, against real Dovecots."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.cli import run_check, run_cli
from tests.conftest import IMAP_PASSWORD, Mailbox, open_db
from tests.servers import CountingRelay, PrivateDovecot, SmtpSink
from tests.test_check import ready
from tests.test_daemon import Running, daemons, with_check_times  # noqa: F401 - the daemons fixture

URGENT = "{name: Acme, match: {domains: [acme.pl]}, respond_within: same business day, language: en}"
# Far from now, so no scheduled check runs during a test unless it says so; every day (it may be a Sunday).
QUIET = "check_on_days_off: true\nflag_overdue: false\nidle: {renew: 3 seconds}\n"


def far_away() -> str:
    hour = (datetime.now(UTC).hour + 12) % 24
    return f'["{hour:02d}:30"]'


def message(sender: str, subject: str, n: int) -> bytes:
    return (f"From: {sender}\r\nTo: Kasia Nowak <kasia@example.com>\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(datetime.now(UTC))}\r\nMessage-ID: <push-{n}-{time.time_ns()}@test>\r\n"
            f"\r\nPlease call me.\r\n").encode()


def urgent_box(make: Callable[..., Mailbox], capsys: pytest.CaptureFixture[str], extra: str = "",
               times: str | None = None, settings: str = QUIET) -> Mailbox:
    """A mailbox whose first check ran, with Acme urgent and no check time near (or `times`)."""
    box = ready(capsys, make, settings + extra)
    text = box.rules.read_text().replace(URGENT, URGENT[:-1] + ", urgent: true}")
    assert "urgent: true" in text
    box.rules.write_text(text)
    with_check_times(box, times or far_away())
    return box


def urgent_box_on(mailbox: Callable[..., Mailbox], capsys: pytest.CaptureFixture[str], server: PrivateDovecot,
                  port: int, settings: str = QUIET) -> Mailbox:
    """`urgent_box` on another server than the session's (our own Dovecot, or a relay to it at `port`)."""
    return urgent_box(lambda extra: on_server(mailbox(extra), server, port), capsys, settings=settings)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Wait for `condition`; how long it took."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def to(smtp: SmtpSink) -> Counter[str]:
    return Counter(rcpt for message in smtp.messages for rcpt in message.rcpt_tos)


@pytest.mark.slow
def test_an_urgent_message_is_answered_at_once_and_an_ordinary_one_waits_for_the_check(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:  # noqa: F811
    box = urgent_box(mailbox, capsys, "summary: {to: kasia@example.com, alert_urgent: true}\n")
    daemon = daemons(box)
    daemon.wait_for("push: watching the INBOX (IDLE)")
    box.deliver(message("Piekarnia <zamowienia@piekarnia-kielce.pl>", "Zamówienie na jutro", 1))
    box.deliver(message("Jan Kowalski <jan@acme.pl>", "Server down", 2))
    took = wait_until(lambda: to(smtp)["jan@acme.pl"] == 1, 15, "the urgent holding reply")
    wait_until(lambda: len(smtp.messages) == 2, 10, "the alert")
    assert took < 5
    reply = next(m for m in smtp.messages if m.rcpt_tos == ["jan@acme.pl"])
    parsed = email.message_from_bytes(reply.data, policy=email.policy.default)
    assert parsed["Auto-Submitted"] == "auto-replied" and parsed["Subject"] == "Re: Server down"
    body = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "I check and answer mail every day at " in body  # check_on_days_off: true, not "on business days"
    alert = next(m for m in smtp.messages if m.rcpt_tos == ["kasia@example.com"])
    alerted = email.message_from_bytes(alert.data, policy=email.policy.default)
    assert alerted["Subject"] == "mailtriage: Urgent: Acme: Server down"
    assert alerted["Auto-Submitted"] == "auto-generated"
    assert "jan@acme.pl" in alerted.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    time.sleep(1.5)
    assert to(smtp)["zamowienia@piekarnia-kielce.pl"] == 0  # not urgent: the check answers it
    conn = open_db(box.rules.parent / "state" / "mailtriage.db")
    assert [r[0] for r in conn.execute("SELECT sender FROM messages")] == ["jan@acme.pl"]
    assert conn.execute("SELECT last_uid FROM folders WHERE name = 'INBOX'").fetchone()[0] == 0
    # The next check answers the ordinary one and passes over the urgent one: one reply each.
    code, lines, _ = run_check(capsys, box)
    assert code == 0 and [line["sender"] for line in lines] == ["zamowienia@piekarnia-kielce.pl"]
    assert to(smtp) == Counter({"jan@acme.pl": 1, "zamowienia@piekarnia-kielce.pl": 1, "kasia@example.com": 1})
    assert conn.execute("SELECT last_uid FROM folders WHERE name = 'INBOX'").fetchone()[0] == 2
    code, out, _ = run_cli(capsys, "-c", box.rules, "status")
    assert "\npush:        watching since " in out and ": the INBOX, by IDLE\n" in out
    assert daemon.stop() == 0
    code, out, _ = run_cli(capsys, "-c", box.rules, "status", "--json")
    assert [(p["account"], p["state"]) for p in json.loads(out)["push"]] == [("default", "stopped")]


@pytest.mark.slow
def test_a_scheduled_check_and_push_meet_and_no_reply_is_doubled(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:  # noqa: F811
    from tests.test_daemon import soon

    box = urgent_box(mailbox, capsys, times=soon(4, 5, 6, 7))
    daemon = daemons(box)
    daemon.wait_for("push: watching the INBOX")
    for n in range(12):  # across the scheduled checks: each message seen by push, a check, or both
        box.deliver(message(f"Osoba {n} <osoba{n}@acme.pl>", f"Pilne {n}", n))
        time.sleep(0.4)
    wait_until(lambda: len(to(smtp)) == 12, 30, "a reply to each of 12 senders")
    daemon.wait_for("check done:", seconds=30, count=2)
    time.sleep(1)
    assert max(to(smtp).values()) == 1, to(smtp)
    conn = open_db(box.rules.parent / "state" / "mailtriage.db")
    assert tuple(conn.execute("SELECT count(*), count(DISTINCT uid) FROM messages").fetchone()) == (12, 12)
    assert conn.execute("SELECT count(*) FROM replies WHERE state = 'sent'").fetchone()[0] == 12
    assert daemon.stop() == 0


@pytest.fixture
def own_dovecot() -> Iterator[PrivateDovecot]:
    server = PrivateDovecot(password=IMAP_PASSWORD).start()
    yield server
    server.cleanup()


def on_server(box: Mailbox, server: PrivateDovecot, port: int) -> Mailbox:
    text = box.rules.read_text().replace(f"port: {box.server.port}", f"port: {port}", 1)
    box.rules.write_text(text)
    return Mailbox(box.user, server, box.rules)


@pytest.mark.slow
@pytest.mark.parametrize("cut", ["drop", "silence"])
def test_push_comes_back_after_the_connection_is_cut(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running], dovecot: PrivateDovecot, cut: str) -> None:  # noqa: F811
    relay = CountingRelay(dovecot.port).start()
    try:
        box = urgent_box_on(mailbox, capsys, dovecot, relay.port)
        daemon = daemons(box)
        daemon.wait_for("push: watching the INBOX (IDLE)")
        getattr(relay, cut)()  # a reset route, or a silent one (found by the NOOP of the next renewal)
        daemon.wait_for("connecting again", seconds=30)
        daemon.wait_for("push: works again", seconds=60)
        box.deliver(message("Jan Kowalski <jan@acme.pl>", "After the cut", 1))
        wait_until(lambda: to(smtp)["jan@acme.pl"] == 1, 15, "the holding reply after the cut")
        assert daemon.stop() == 0
    finally:
        relay.stop()


@pytest.mark.slow
def test_a_server_without_idle_is_polled(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running], tmp_path: Path) -> None:  # noqa: F811
    server = PrivateDovecot(password=IMAP_PASSWORD, capability="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS "
                            "CONDSTORE SPECIAL-USE").start()
    try:
        box = urgent_box_on(mailbox, capsys, server, server.port,
                            settings=QUIET.replace("{renew: 3 seconds}", "{renew: 3 seconds, poll: 2 seconds}"))
        code, out, _ = run_cli(capsys, "-c", box.rules, "doctor", "--json")
        idle = [step for step in json.loads(out) if step["step"] == "imap IDLE"]
        assert [s["status"] for s in idle] == ["warn"] and "asking every 2 s (idle.poll)" in idle[0]["detail"]
        daemon = daemons(box)
        daemon.wait_for("push: watching the INBOX (polling every 2 s (no IDLE))")
        box.deliver(message("Jan Kowalski <jan@acme.pl>", "Polled", 1))
        took = wait_until(lambda: to(smtp)["jan@acme.pl"] == 1, 15, "the holding reply found by polling")
        assert took < 6
        assert daemon.stop() == 0
    finally:
        server.cleanup()


@pytest.mark.slow
def test_each_account_is_watched_alone_and_one_down_stops_no_other(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:  # noqa: F811
    from tests.servers import free_port
    from tests.test_check_accounts import check, db, two_accounts

    rules, kasia, _ = two_accounts(mailbox, smtp, biuro_port=free_port())  # biuro's server is down
    text = rules.read_text().replace('check_times: ["08:00", "12:00", "16:00"]', f"check_times: {far_away()}")
    rules.write_text(text + "check_on_days_off: true\nflag_overdue: false\npush: all\n")
    code, _, err = check(capsys, rules)
    assert code == 1 and "kasia: 0 new" in err  # the baseline of kasia; biuro cannot be reached
    daemon = daemons(Mailbox(kasia.user, kasia.server, rules))
    daemon.wait_for("push kasia: watching the INBOX (IDLE)")
    daemon.wait_for("push biuro: imap 127.0.0.1")
    kasia.deliver(message("Ktoś Nowy <ktos@nowy.pl>", "Pytanie", 1))  # no client: push: all answers it too
    wait_until(lambda: to(smtp)["ktos@nowy.pl"] == 1, 15, "kasia's holding reply while biuro is down")
    assert db(rules).execute("SELECT account FROM messages").fetchall()[0][0] == "kasia"
    time.sleep(6)  # biuro's second attempt, after the 5 s backoff: said once for the whole outage
    assert len([line for line in daemon.lines if "push biuro" in line]) == 1, daemon.lines
    code, out, _ = run_cli(capsys, "-c", rules, "status", "--json")
    said = {p["account"]: (p["state"], p["detail"]) for p in json.loads(out)["push"]}
    assert said["kasia"] == ("watching", "the INBOX, by IDLE")
    assert said["biuro"][0] == "out" and "connecting again" in said["biuro"][1]
    assert daemon.stop() == 0


def test_mail_that_comes_during_a_pass_is_answered_at_once_too(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its EXISTS comes while the connection is out of IDLE (in the pass's FETCH): no IDLE repeats it."""
    from mailtriage.app import watchers
    from mailtriage.config.rulesfile import load
    from mailtriage.mail.imap import Mailbox as Connection

    box = urgent_box(mailbox, capsys)
    fetch, came = Connection.fetch, []

    def fetch_and_meanwhile(self: Connection, uids: list[int]) -> object:
        if not came:
            came.append(True)
            box.deliver(message("Anna Nowak <anna@acme.pl>", "Second", 2))
        return fetch(self, uids)

    monkeypatch.setattr(Connection, "fetch", fetch_and_meanwhile)
    started = watchers.start(load(box.rules))
    try:
        wait_until(lambda: bool(started[0].passes), 10, "the first pass (nothing new)")
        box.deliver(message("Jan Kowalski <jan@acme.pl>", "First", 1))
        wait_until(lambda: to(smtp)["jan@acme.pl"] == 1, 15, "the first holding reply")
        wait_until(lambda: to(smtp)["anna@acme.pl"] == 1, 10, "the second, which came during the first pass")
    finally:
        watchers.stop(started)


def test_the_alert_names_only_replies_that_went_out(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    from mailtriage.app import watchers
    from mailtriage.config.rulesfile import load

    box = urgent_box(mailbox, capsys, "summary: {to: kasia@example.com, alert_urgent: true}\n")
    smtp.rcpt_answers["jan@acme.pl"] = ["550 5.1.1 no such user"] * 5
    started = watchers.start(load(box.rules))
    try:
        wait_until(lambda: bool(started[0].passes), 10, "the first pass (nothing new)")
        box.deliver(message("Jan Kowalski <jan@acme.pl>", "Refused", 1))
        box.deliver(message("Anna Nowak <anna@acme.pl>", "Accepted", 2))
        wait_until(lambda: to(smtp)["kasia@example.com"] == 1, 15, "the alert")
        time.sleep(1)
        alert = next(m for m in smtp.messages if m.rcpt_tos == ["kasia@example.com"])
        text = email.message_from_bytes(alert.data, policy=email.policy.default)
        assert text["Subject"] == "mailtriage: Urgent: Acme: Accepted"
        body = text.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "anna@acme.pl" in body and "jan@acme.pl" not in body  # refused (550): no "has had a reply"
        assert to(smtp) == Counter({"anna@acme.pl": 1, "kasia@example.com": 1})
    finally:
        watchers.stop(started)


@pytest.mark.slow
def test_push_comes_back_after_each_server_restart_said_once_per_outage(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running], own_dovecot: PrivateDovecot) -> None:  # noqa: F811
    box = urgent_box_on(mailbox, capsys, own_dovecot, own_dovecot.port)
    daemon = daemons(box)
    daemon.wait_for("push: watching the INBOX (IDLE)")
    for outage in (1, 2):  # the server restarted under the IDLE connection (its sessions end too), twice
        own_dovecot.crash()
        daemon.wait_for("connecting again", seconds=15, count=outage)
        time.sleep(3)
        own_dovecot.start()  # the same port and mail
        back = daemon.wait_for("push: works again", seconds=30, count=outage)[-1]
        assert int(back.split("works again after ")[1].split(" s")[0]) < 15  # this outage, the first backoff
    box.deliver(message("Jan Kowalski <jan@acme.pl>", "After the restarts", 1))
    wait_until(lambda: to(smtp)["jan@acme.pl"] == 1, 15, "the holding reply after the restarts")
    assert len([line for line in daemon.lines if "connecting again" in line]) == 2  # one line per outage
    assert daemon.stop() == 0


def test_before_the_first_check_push_says_it_waits_for_it(
        mailbox: Callable[..., Mailbox], smtp: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from mailtriage.app import watchers
    from mailtriage.config.rulesfile import load

    box = mailbox(QUIET)  # no check yet: no INBOX mark
    box.rules.write_text(box.rules.read_text().replace(URGENT, URGENT[:-1] + ", urgent: true}"))
    caplog.set_level(logging.INFO, logger="mailtriage")
    started = watchers.start(load(box.rules))
    try:
        wait_until(lambda: bool(started[0].passes), 10, "the first pass")
        box.deliver(message("Jan Kowalski <jan@acme.pl>", "Before any check", 1))
        time.sleep(1.5)
    finally:
        watchers.stop(started)
    said = [r.getMessage() for r in caplog.records if "waits for the INBOX's first check" in r.getMessage()]
    assert len(said) == 1 and "push answers what comes after it" in said[0]
    assert len(smtp.messages) == 0  # nothing answered before the baseline
