"""`mailtriage doctor` against the real private Dovecot, SMTP sinks and TLS servers on loopback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailtriage.app.doctor import EXAMPLE_ADDRESSES, EXAMPLE_HOSTS, database_step, example_values, password_step
from mailtriage.config.rulesfile import load
from mailtriage.config.servers import Imap
from tests.cli import run_cli
from tests.conftest import DATA, EXAMPLE, IMAP_PASSWORD, SMTP_PASSWORD, Mailbox
from tests.servers import PrivateDovecot, SmtpSink, free_port
from tests.test_edges import TinyImap, pki, tls_smtp  # noqa: F401 - fixtures, used by name

OWN = "kasia@biuro-nowak.pl"  # the tests' mailbox rules use the example's address: a real user's is this


def own(box: Mailbox, *changes: tuple[str, str]) -> Path:
    """The mailbox's rules.yaml with our own address, and each (old, new) text replaced."""
    text = box.rules.read_text().replace("kasia@example.com", OWN)
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    box.rules.write_text(text)
    return box.rules


def doctor(capsys: pytest.CaptureFixture[str], rules: Path, *args: str) -> tuple[int, list[str]]:
    """`mailtriage doctor` in-process: its exit code and its lines; never a password, a traceback or a repr."""
    code, out, err = run_cli(capsys, "-c", rules, "doctor", *args)
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, "wrong-password-77"):
        assert secret not in out + err
    assert "Traceback" not in out + err and "b'" not in out and err == ""
    return code, out.splitlines()


def line(lines: list[str], step: str) -> str:
    found = [each for each in lines if each[2:].startswith(step + ":")]
    assert len(found) == 1, (step, lines)
    return found[0]


def test_a_correct_setup_is_all_green_and_changes_nothing(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = mailbox()
    box.deliver_file("client_acme.eml")
    code, lines = doctor(capsys, own(box))
    assert code == 0, lines
    assert all(each.startswith("✔ ") for each in lines), lines
    for step in ("rules", "example values", "database", "imap password", "smtp password", "imap DNS", "imap TCP",
                 "imap greeting", "imap login", "imap folder INBOX", "imap Sent folder", "imap capabilities",
                 "smtp DNS", "smtp TCP", "smtp greeting", "smtp login", "smtp sender", "smtp SMTPUTF8"):
        line(lines, step)
    assert "CONDSTORE, SPECIAL-USE, IDLE, UIDPLUS" in line(lines, "imap capabilities")
    assert "'Sent'" in line(lines, "imap Sent folder")
    assert "does not exist yet" in line(lines, "database")
    assert not (box.rules.parent / "state").exists()  # not created: doctor changes nothing
    assert smtp.messages == []
    imap: Any = box.imap()
    try:
        imap.select_folder("INBOX", readonly=True)
        assert [b"\\Seen" in flags for flags in imap.get_flags(imap.search()).values()] == [False]  # still unread
    finally:
        imap.logout()


def test_json_is_a_list_of_steps(capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox],
                                 smtp: SmtpSink) -> None:
    code, lines = doctor(capsys, own(mailbox()), "--json")
    steps = json.loads("\n".join(lines))
    assert code == 0 and isinstance(steps, list) and len(steps) > 10
    for step in steps:
        assert set(step) == {"step", "status", "detail", "fix"} and step["status"] == "ok"
    code, lines = doctor(capsys, EXAMPLE, "--json")
    statuses = {step["status"] for step in json.loads("\n".join(lines))}
    assert code == 1 and statuses <= {"ok", "fail", "warn", "skip"} and "fail" in statuses


def test_a_wrong_password_is_a_failed_login_with_what_to_do(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = own(mailbox())
    monkeypatch.setenv("MT_TEST_IMAP_PASSWORD", "wrong-password-77")
    code, lines = doctor(capsys, rules)
    assert code == 1
    login = line(lines, "imap login")
    assert login.startswith("✘ imap login: imap 127.0.0.1:") and "login refused ([AUTHENTICATIONFAILED]" in login
    assert "→ check imap.username (user" in login and "app password" in login and "OAuth2" in login
    assert line(lines, "imap") == "– imap: folders, Sent folder, capabilities not checked (no login)"
    assert line(lines, "smtp login").startswith("✔")


def test_nothing_listening_names_host_port_and_the_usual_port(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        dovecot: PrivateDovecot) -> None:
    port = free_port()
    code, lines = doctor(capsys, own(mailbox(), (f"port: {dovecot.port}", f"port: {port}")))
    assert code == 1
    assert line(lines, "imap TCP") == (f"✘ imap TCP: connection refused by 127.0.0.1:{port}: is the server running, "
                                       f"and is {port} its port? → the usual port for security: none is 143")
    assert line(lines, "imap") == "– imap: TLS, login and the rest not checked (no connection)"
    assert not any("imap login" in each for each in lines)


def resolver(monkeypatch: pytest.MonkeyPatch, *known: str) -> None:
    """The system's resolver as it answers on a machine whose DNS knows only KNOWN (to 127.0.0.1), or nothing:
    DNS cannot be switched off for a test, so getaddrinfo is, for names; IP literals go through as ever."""
    import ipaddress
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: object, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host not in known:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_an_unknown_host_is_a_dns_failure(capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox],
                                          smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch, "imap.gmail.com", "outlook.office365.com")  # DNS works: the host is wrong
    code, lines = doctor(capsys, own(mailbox(), (f"host: 127.0.0.1, port: {smtp.port}, security: none",
                                                 f"host: no-such-host.invalid, port: {smtp.port}, security: tls")))
    assert code == 1
    assert line(lines, "smtp DNS").startswith("✘ smtp DNS: cannot find the host no-such-host.invalid (")
    assert line(lines, "smtp DNS").endswith("→ correct smtp.host")
    assert line(lines, "imap login").startswith("✔")


def test_when_no_name_resolves_it_is_the_network_not_the_host(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch)  # offline: no name resolves, a provider's well-known host included
    code, lines = doctor(capsys, own(mailbox(), (f"host: 127.0.0.1, port: {smtp.port}, security: none",
                                                 f"host: smtp.gmail.com, port: {smtp.port}, security: tls")))
    assert code == 1
    assert line(lines, "smtp DNS") == ("✘ smtp DNS: cannot find the host smtp.gmail.com, nor imap.gmail.com or "
                                       "outlook.office365.com: no DNS / no network → check this machine's network "
                                       "connection and DNS (a VPN, a proxy), not rules.yaml; then run doctor again")
    assert "correct smtp.host" not in "\n".join(lines)
    assert line(lines, "imap login").startswith("✔")  # 127.0.0.1 needs no DNS


def test_tls_spoken_to_a_plain_port_suggests_starttls(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        dovecot: PrivateDovecot) -> None:
    rules = own(mailbox(), (f"port: {dovecot.port}, security: none", f"port: {dovecot.port}, security: tls"),
                (f"port: {smtp.port}, security: none", f"port: {smtp.port}, security: tls"))
    code, lines = doctor(capsys, rules)
    assert code == 1
    imap = line(lines, "imap TLS")
    assert imap.startswith(f"✘ imap TLS: 127.0.0.1:{dovecot.port} did not answer in TLS (security: tls)")
    assert imap.endswith("→ use security: starttls with port 143, or security: tls with port 993")
    assert line(lines, "smtp TLS").endswith("→ use security: starttls with port 587, or security: tls with port 465")
    assert line(lines, "imap") == "– imap: login and the rest not checked (no TLS)"


def test_plain_text_spoken_to_a_tls_port_suggests_tls(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        dovecot: PrivateDovecot, pki: dict[str, Any]) -> None:  # noqa: F811
    server = TinyImap(pki["server"], starttls=False)
    try:
        rules = own(mailbox(), (f"port: {dovecot.port}, security: none", f"port: {server.port}, security: starttls"),
                    ("folders: [INBOX], timeout: 10", "folders: [INBOX], timeout: 1"))
        code, lines = doctor(capsys, rules)
    finally:
        server.close()
    assert code == 1
    assert line(lines, "imap TLS") == (f"✘ imap TLS: no answer from 127.0.0.1:{server.port} in time: check the host, "
                                       f"the port and any firewall between → if port {server.port} expects TLS "
                                       "from the first byte (as 993 does), use security: tls")


def test_an_untrusted_certificate_is_named(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink, dovecot: PrivateDovecot,
        pki: dict[str, Any], tls_smtp: Callable[[str], int]) -> None:  # noqa: F811
    port = tls_smtp("starttls")
    rules = own(mailbox(), (f"port: {smtp.port}, security: none, username: kasia,",
                            f"port: {port}, security: starttls, tls_ca_file: {pki['stranger']}, username: kasia,"))
    code, lines = doctor(capsys, rules)
    assert code == 1
    tls = line(lines, "smtp TLS")
    assert tls.startswith("✘ smtp TLS: certificate of 127.0.0.1 not trusted: ")
    assert tls.endswith("or set tls_ca_file: for your own CA")
    trusted = rules.read_text().replace(pki["stranger"], pki["ca"])
    rules.write_text(trusted.replace("smtp: {host: 127.0.0.1", "smtp: {host: localhost"))
    code, lines = doctor(capsys, rules)
    assert line(lines, "smtp TLS") == "✔ smtp TLS: STARTTLS; certificate checked", lines


def test_an_unset_password_variable_is_named_and_login_skipped(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = own(mailbox())
    monkeypatch.delenv("MT_TEST_IMAP_PASSWORD")
    code, lines = doctor(capsys, rules)
    assert code == 1
    assert line(lines, "imap password").startswith(
        "✘ imap password: the environment variable MT_TEST_IMAP_PASSWORD is not set → set it where mailtriage runs")
    assert line(lines, "imap TCP").startswith("✔")  # reaching the server needs no password
    assert line(lines, "imap") == "– imap: login, folders, Sent folder, capabilities not checked (no password)"
    assert not any(each[2:].startswith("imap login") for each in lines)


def test_a_missing_folder_fails_and_lists_the_real_ones(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    rules = own(mailbox(), ("folders: [INBOX]", "folders: [INBOX, Klienci], sent_folder: Wysłane"))
    code, lines = doctor(capsys, rules)
    assert code == 1
    assert line(lines, "imap folder INBOX").startswith("✔")
    missing = line(lines, "imap folder Klienci")
    assert missing.startswith("✘ imap folder Klienci: imap 127.0.0.1: cannot open folder 'Klienci': ")
    assert "→ correct imap.folders; this mailbox has: " in missing and "INBOX" in missing
    assert line(lines, "imap Sent folder") == (
        "⚠ imap Sent folder: imap.sent_folder 'Wysłane' does not exist: answers are noticed only by the "
        "\\Answered flag → set imap.sent_folder: one of 'Sent'")


@pytest.mark.parametrize("envelope", ["auto", "null"])
def test_a_server_refusing_the_null_sender(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink, envelope: str) -> None:
    refusing = SmtpSink(password=SMTP_PASSWORD, refuse_null_sender=True).start()
    try:
        rules = own(mailbox(), (f"port: {smtp.port}", f"port: {refusing.port}"),
                    ("timeout: 10}\ndatabase", f"timeout: 10, envelope_sender: '{envelope}'}}\ndatabase"))
        code, lines = doctor(capsys, rules)
    finally:
        refusing.stop()
    assert refusing.messages == []  # MAIL FROM, then RSET: never RCPT or DATA
    sender = line(lines, "smtp sender")
    if envelope == "auto":
        assert code == 0
        assert sender == ("⚠ smtp sender: MAIL FROM:<> refused (550 5.7.1 null sender not accepted here): holding "
                          f"replies will use <{OWN}> instead, so a bounce comes back to you → nothing to do; "
                          "smtp.envelope_sender: identity skips the first try")
    else:
        assert code == 1 and sender.startswith("✘ smtp sender: MAIL FROM:<> refused (550 ")
        assert sender.endswith("→ set smtp.envelope_sender: auto")


def test_no_smtputf8_is_a_warning(capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox],
                                  smtp: SmtpSink) -> None:
    ascii_only = SmtpSink(password=SMTP_PASSWORD, smtputf8=False).start()
    try:
        code, lines = doctor(capsys, own(mailbox(), (f"port: {smtp.port}", f"port: {ascii_only.port}")))
    finally:
        ascii_only.stop()
    assert code == 0
    assert line(lines, "smtp SMTPUTF8").startswith("⚠ smtp SMTPUTF8: not offered: a holding reply to an address")


def test_a_placeholder_host_fails_and_is_never_contacted(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    code, lines = doctor(capsys, own(mailbox(), ("imap: {host: 127.0.0.1", "imap: {host: imap.example.com"),
                                     ("security: none, username: user", "security: tls, username: user")))
    assert code == 1
    assert line(lines, "example values") == ("✘ example values: still the example's: imap.host imap.example.com "
                                             "→ put in your own server names and addresses")
    assert line(lines, "imap") == "– imap: network checks skipped: imap.example.com is the example's placeholder"
    assert line(lines, "smtp login").startswith("✔")


def test_the_placeholders_are_the_shipped_examples_values(capsys: pytest.CaptureFixture[str]) -> None:
    example = load(EXAMPLE)
    assert example.smtp is not None and example.summary is not None
    assert {example.imap.host, example.smtp.host} == EXAMPLE_HOSTS
    assert {example.imap.username, example.smtp.username, example.summary.to, *example.identity.addresses} \
        == EXAMPLE_ADDRESSES
    found = example_values(example)
    assert found[:2] == ["imap.host imap.example.com", "smtp.host smtp.example.com"]
    assert found[2].startswith("kasia@example.com in identity.from, identity.addresses, imap.username")
    code, lines = doctor(capsys, EXAMPLE)  # the example's hosts are never looked up or contacted
    assert code == 1 and line(lines, "example values").startswith("✘")


def test_a_bad_rules_file_is_one_failed_step_per_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(EXAMPLE.read_text().replace("domains: [acme.pl]", "domian: [acme.pl]"))
    code, lines = doctor(capsys, rules)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"✘ rules: {rules}:") and "did you mean 'domains'?" in lines[0]
    assert lines[0].endswith(f"→ correct it, then run: mailtriage -c {rules} validate")


# --- the local steps, one by one --------------------------------------------------------------------


def test_the_database_step_opens_reads_and_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mailtriage.db"
    assert database_step(path).status == "ok" and not path.parent.exists()
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE threads (id TEXT)")
    db.close()
    before = sorted(p.name for p in path.parent.iterdir())
    step = database_step(path)
    assert (step.status, step.detail) == ("ok", f"{path} opens (1 tables) and may be written")
    assert sorted(p.name for p in path.parent.iterdir()) == before  # no -wal, no -shm left behind
    path.write_bytes(b"")
    assert database_step(path).detail.startswith(f"{path} is an empty file, not a database")
    path.write_bytes((DATA / "client_acme.eml").read_bytes())
    damaged = database_step(path)
    assert damaged.status == "fail" and damaged.detail.startswith(f"{path} is damaged (file is not a database)")


def test_password_sources_that_fail_are_named_without_the_secret(tmp_path: Path) -> None:
    def server(**source: str) -> Imap:
        return Imap(host="127.0.0.1", username="kasia", **source)

    missing = tmp_path / "no-such-file"
    step, password = password_step("imap", server(password_file=str(missing)))
    assert (step.status, password) == ("fail", None) and str(missing) in step.detail
    step, _ = password_step("imap", server(password_command="sh -c 'echo oops >&2; exit 3'"))
    assert step.detail == "password_command exited 3: oops"
    (tmp_path / "secret").write_text("s3cret-value\n")
    step, password = password_step("imap", server(password_command=f"cat {tmp_path / 'secret'}"))
    assert step.status == "ok" and password == "s3cret-value" and "s3cret" not in step.line()
    (tmp_path / "empty").write_text("\n")
    step, _ = password_step("imap", server(password_file=str(tmp_path / "empty")))
    assert step.status == "fail" and "gives an empty password" in step.detail


def test_the_demos_address_passes_on_loopback_only_and_the_examples_never(tmp_path: Path) -> None:
    from mailtriage.config.readiness import DEMO_ADDRESS, warnings
    from mailtriage.demo.rules import loopback_rules

    path = tmp_path / "rules.yaml"
    path.write_text(loopback_rules(1143, 1025, address=DEMO_ADDRESS))  # what `mailtriage demo` writes
    assert example_values(load(path)) == [] and not any("demo" in w for w in warnings(load(path), {}))
    path.write_text(loopback_rules(1143, 1025, address=DEMO_ADDRESS).replace(
        "host: 127.0.0.1, port: 1025, security: none", "host: smtp.firma.pl, port: 465, security: tls"))
    assert example_values(load(path)) == [f"{DEMO_ADDRESS} in identity.from, identity.addresses"]
    assert f"identity.from: {DEMO_ADDRESS} is the demo's address; put your own address there" in warnings(
        load(path), {})
    path.write_text(loopback_rules(1143, 1025))  # the example's address stays a leftover on loopback too
    assert example_values(load(path)) == ["kasia@example.com in identity.from, identity.addresses"]
