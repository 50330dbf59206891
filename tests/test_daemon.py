"""The daemon as a subprocess: scheduled checks, sd_notify, reload, outages and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cli import command, run_check
from tests.conftest import IMAP_PASSWORD, SMTP_PASSWORD, Mailbox, open_db
from tests.servers import PrivateDovecot, SmtpSink
from tests.test_check import MONDAY_NOON, WARSAW, ready


def soon(*seconds: int) -> str:
    """check_times a few seconds from now, in the rules' zone."""
    now = datetime.now(WARSAW)
    return "[" + ", ".join(f'"{(now + timedelta(seconds=s)):%H:%M:%S}"' for s in seconds) + "]"


def with_check_times(box: Mailbox, times: str) -> None:
    text = box.rules.read_text().replace('check_times: ["08:00", "12:00", "16:00"]', f"check_times: {times}")
    box.rules.write_text(text)


class Running:
    """A `mailtriage run` subprocess whose log lines are collected as they come."""

    def __init__(self, box: Mailbox, env: dict[str, str] | None = None) -> None:
        full = {**os.environ, "MT_TEST_IMAP_PASSWORD": IMAP_PASSWORD, "MT_TEST_SMTP_PASSWORD": SMTP_PASSWORD,
                **(env or {})}
        full.pop("JOURNAL_STREAM", None)
        self.process = subprocess.Popen(command("-c", box.rules, "run"), env=full, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, seconds: float = 20, count: int = 1) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for line in self.lines if text in line]
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {text!r} in the daemon's log:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


@pytest.fixture
def daemons() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(box: Mailbox, env: dict[str, str] | None = None) -> Running:
        started.append(Running(box, env))
        return started[-1]

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()
        daemon.reader.join(timeout=5)
        assert daemon.process.stderr is not None
        daemon.process.stderr.close()


@pytest.mark.slow
def test_the_daemon_checks_at_the_check_times_one_check_at_a_time(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:
    box = ready(capsys, mailbox, "check_on_days_off: true\nflag_overdue: false\n")
    box.deliver_file("client_acme.eml", when=MONDAY_NOON)
    with_check_times(box, soon(3, 4, 6))
    daemon = daemons(box)
    daemon.wait_for("holding reply → jan@acme.pl")
    daemon.wait_for("check done:", count=3)
    assert len(smtp.messages) == 1
    events = [line for line in daemon.lines if "check started" in line or "check done" in line]
    assert all("started" in a and "done" in b for a, b in zip(events[::2], events[1::2], strict=True))
    assert daemon.stop() == 0


@pytest.mark.slow
def test_systemd_hears_ready_status_watchdog_and_reloading(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running], tmp_path: Path) -> None:
    box = ready(capsys, mailbox, "check_on_days_off: true\n")
    with_check_times(box, soon(3, 6, 10))  # spare times: under load the start may take past the first
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(15)
    daemon = daemons(box, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    heard: list[str] = []

    def hear(text: str) -> int:
        """Wait for a datagram containing `text`; return its index."""
        while True:
            heard.append(listener.recv(4096).decode())
            if text in heard[-1]:
                return len(heard) - 1

    try:
        assert hear("READY=1") == 0
        hear("WATCHDOG=1")
        status = heard[hear("holding replies")]  # STATUS= with the last check's result
        assert status.startswith("STATUS=") and " new, 0 holding replies, 0 overdue" in status
        daemon.process.send_signal(signal.SIGHUP)
        reloading = hear("RELOADING=1")
        assert "MONOTONIC_USEC=" in heard[reloading]
        assert hear("READY=1") > reloading
        assert daemon.stop() == 0
        hear("STOPPING=1")
    finally:
        listener.close()
    assert heard[0].startswith("READY=1\nSTATUS=waiting; next check")


@pytest.mark.slow
def test_sighup_with_a_broken_file_keeps_the_old_rules_and_a_good_one_takes_effect(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:
    box = ready(capsys, mailbox, "check_on_days_off: true\n")
    good = box.rules.read_text()
    daemon = daemons(box)
    daemon.wait_for("mailtriage running")
    box.rules.write_text(good.replace("timezone: Europe/Warsaw", "timezone: Europe/Warsw"))
    daemon.process.send_signal(signal.SIGHUP)
    refused = daemon.wait_for("reload refused:")
    assert f"{box.rules}:1: timezone: unknown time zone 'Europe/Warsw'" in refused[0]
    daemon.wait_for("still running on the last good rules")
    assert daemon.process.poll() is None
    box.rules.write_text(good)
    with_check_times(box, soon(3, 8))  # a spare time: under load the reload may take past the first
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("rules reloaded: 3 clients, check times")
    daemon.wait_for("check done:")  # the new check times are in force
    assert daemon.stop() == 0


@pytest.mark.slow
def test_a_dovecot_outage_is_survived_and_the_next_check_catches_up(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:
    own = PrivateDovecot(password=IMAP_PASSWORD).start()
    try:
        box = mailbox("check_on_days_off: true\nflag_overdue: false\nretry: {attempts: 1}\n")
        box.server = own
        box.rules.write_text(box.rules.read_text().replace("port: " + str(_port(box)), f"port: {own.port}", 1))
        assert run_check(capsys, box)[0] == 0  # the first check (the baseline), by hand
        box.deliver_file("client_acme.eml", when=MONDAY_NOON)
        own.stop()
        with_check_times(box, soon(2, 6))
        daemon = daemons(box)
        daemon.wait_for("check failed (attempt 1 of 1): imap 127.0.0.1")
        assert daemon.process.poll() is None
        own.start()
        daemon.wait_for("holding reply → jan@acme.pl", seconds=15)
        daemon.wait_for("check done:")
        assert len(smtp.messages) == 1
        assert daemon.stop() == 0
    finally:
        own.cleanup()


@pytest.mark.slow
def test_sigterm_exits_0_within_10_seconds_with_a_consistent_database(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:
    box = ready(capsys, mailbox, "check_on_days_off: true\nflag_overdue: false\n")
    for name in ("client_acme.eml", "polish_subject.eml", "newsletter.eml"):
        box.deliver_file(name, when=MONDAY_NOON)
    with_check_times(box, soon(3, 6, 10))  # spare times: under load the start may take past the first
    daemon = daemons(box)
    daemon.wait_for("check started")
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10
    conn = open_db(box.rules.parent / "state" / "mailtriage.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    last = conn.execute("SELECT last_uid FROM folders WHERE name = 'INBOX'").fetchone()[0]
    recorded = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    assert last == recorded  # the mark never runs ahead of what is recorded


@pytest.mark.slow
def test_a_gap_in_the_schedule_is_caught_up_by_exactly_one_check() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from mailtriage.app.daemon import schedule
    from mailtriage.config.rulesfile import load
    from tests.conftest import EXAMPLE

    rules = load(EXAMPLE).model_copy(update={"check_on_days_off": True, "summary": None})
    runs: list[datetime] = []
    scheduler = BackgroundScheduler(timezone=rules.tz)
    scheduler.start(paused=True)
    try:
        schedule(scheduler, rules, lambda: runs.append(datetime.now(WARSAW)), lambda: None)
        job = scheduler.get_job("check")
        # As if the machine slept through the last 20 hours: several check times were missed.
        missed_since = datetime.now(WARSAW) - timedelta(hours=20)
        job.modify(next_run_time=missed_since)
        assert len(job.trigger and job._get_run_times(datetime.now(WARSAW))) >= 3
        scheduler.resume()
        time.sleep(1.5)
    finally:
        scheduler.shutdown(wait=True)
    assert len(runs) == 1


def _port(box: Mailbox) -> int:
    import re

    found = re.search(r"imap: \{host: 127.0.0.1, port: (\d+)", box.rules.read_text())
    assert found
    return int(found.group(1))


@pytest.mark.parametrize("day", ["2026-03-27", "2026-10-23"])  # the Fridays before the DST changes
def test_dst_changes_neither_skip_nor_double_a_check(day: str) -> None:
    from mailtriage.app.daemon import check_trigger
    from mailtriage.config.rulesfile import load
    from tests.conftest import EXAMPLE

    rules = load(EXAMPLE).model_copy(update={"check_on_days_off": True})
    trigger = check_trigger(rules)
    start = datetime.fromisoformat(day).replace(tzinfo=WARSAW)
    fires = []
    when = trigger.get_next_fire_time(None, start)
    while when < start + timedelta(days=4):
        fires.append(when)
        when = trigger.get_next_fire_time(when, when + timedelta(seconds=1))
    assert len(fires) == 4 * 3  # four days, three check times each, across the change
    assert sorted({f"{f:%H:%M}" for f in fires}) == ["08:00", "12:00", "16:00"]


def test_checks_run_on_business_days_and_the_summary_has_its_own_job() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from mailtriage.app.daemon import schedule
    from mailtriage.config.rulesfile import load
    from tests.conftest import EXAMPLE

    rules = load(EXAMPLE)
    scheduler = BackgroundScheduler(timezone=rules.tz)
    scheduler.start(paused=True)
    try:
        schedule(scheduler, rules, lambda: None, lambda: None)
        saturday = datetime(2026, 11, 28, 7, 0, tzinfo=WARSAW)
        check = scheduler.get_job("check").trigger.get_next_fire_time(None, saturday)
        summary = scheduler.get_job("summary").trigger.get_next_fire_time(None, saturday)
    finally:
        scheduler.shutdown()
    assert check == datetime(2026, 11, 30, 8, 0, tzinfo=WARSAW)
    assert summary == datetime(2026, 11, 30, 7, 30, tzinfo=WARSAW)


def test_checks_go_on_while_away_but_not_on_a_public_holiday(caplog: pytest.LogCaptureFixture) -> None:
    """Senders must hear of a vacation while it lasts: only the summary pauses."""
    import logging

    from mailtriage.app.daemon import Daemon
    from mailtriage.config.model import Away, BusinessHours, Holidays
    from mailtriage.config.rulesfile import load
    from tests.conftest import EXAMPLE

    today = datetime.now(WARSAW).date()
    every_day = BusinessHours(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    away = load(EXAMPLE).model_copy(update={"business_hours": every_day, "holidays": Holidays(extra=[]),
                                            "away": [Away(**{"from": today, "to": today})]})
    holiday = away.model_copy(update={"away": [], "holidays": Holidays(extra=[today])})
    with caplog.at_level(logging.INFO, logger="mailtriage"):
        assert Daemon.day_off(away, "check") is False
        assert Daemon.day_off(away, "summary") is True
        assert Daemon.day_off(holiday, "check") is True
        assert Daemon.day_off(holiday.model_copy(update={"check_on_days_off": True}), "check") is False
    assert f"no summary today: away {today.isoformat()} to {today.isoformat()}" in caplog.text
    assert "no check today: own day off" in caplog.text


def test_the_next_check_falls_inside_a_vacation_and_skips_holidays() -> None:
    from datetime import date

    from mailtriage.app.daemon import check_trigger
    from mailtriage.app.schedule import next_check, skip_reason
    from mailtriage.config.model import Away
    from mailtriage.config.rulesfile import load
    from tests.conftest import EXAMPLE

    rules = load(EXAMPLE).model_copy(update={"away": [Away(**{"from": "2026-11-30", "to": "2026-12-04"})]})
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=WARSAW)
    assert next_check(rules, monday) == datetime(2026, 11, 30, 12, 0, tzinfo=WARSAW)
    friday_evening = datetime(2026, 12, 4, 16, 30, tzinfo=WARSAW)
    assert next_check(rules, friday_evening) == datetime(2026, 12, 7, 8, 0, tzinfo=WARSAW)  # the weekend is off
    assert skip_reason(rules, date(2026, 12, 2)) is None
    assert skip_reason(rules, date(2026, 12, 2), "summary") == "away 2026-11-30 to 2026-12-04"
    eve_of_independence_day = datetime(2026, 11, 10, 16, 30, tzinfo=WARSAW)  # 11 November: a public holiday
    assert next_check(rules, eve_of_independence_day) == datetime(2026, 11, 12, 8, 0, tzinfo=WARSAW)
    # The daemon's trigger is the same function: it agrees with `status` and skips the holiday too.
    trigger = check_trigger(rules)
    assert trigger.get_next_fire_time(None, eve_of_independence_day) == datetime(2026, 11, 12, 8, 0, tzinfo=WARSAW)
    due = datetime(2026, 11, 12, 8, 0, tzinfo=WARSAW)
    assert trigger.get_next_fire_time(None, due) == due  # a check due this very moment runs
    assert trigger.get_next_fire_time(due, due) == datetime(2026, 11, 12, 12, 0, tzinfo=WARSAW)


@pytest.mark.slow
def test_the_daemon_and_a_manual_check_together_never_double_a_reply(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        daemons: Callable[..., Running]) -> None:
    from tests.test_hostile import assert_each_once, check_process, fill, person

    box = ready(capsys, mailbox, "check_on_days_off: true\nflag_overdue: false\nsender_limit: null\n")
    fill(box, [person(n) for n in range(300)])
    with_check_times(box, soon(3, 6, 10))  # spare times: under load the start may take past the first
    daemon = daemons(box)
    daemon.wait_for("check started")
    manual = check_process(box)  # started while the daemon's check runs: it waits for the lock
    _, err = manual.communicate(timeout=120)
    daemon.wait_for("check done:")
    assert manual.returncode == 0, err
    assert len(smtp.messages) == 300
    assert_each_once(box, smtp, 300)
    assert daemon.stop() == 0
