"""OAuth2 end to end, with whole `mailtriage` commands against real servers on loopback: the local
authorization server (tests/oauth_server.py), a private Dovecot whose passdb checks every XOAUTH2 /
OAUTHBEARER token there by RFC 7662 introspection, and an aiosmtpd server that accepts only AUTH XOAUTH2
and checks the token at the same URL. The test plays the user: the server approves the device code.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.demo.rules import loopback_rules
from tests.cli import run_cli
from tests.conftest import DATA, IMAP_PASSWORD, needs_dovecot
from tests.oauth_server import AuthServer
from tests.servers import PrivateDovecot, SmtpSink
from tests.test_check import MONDAY_NOON
from tests.test_daemon import Running, daemons, soon

pytestmark = [needs_dovecot]
__all__ = ["daemons"]  # the fixture, shared with test_daemon
_users = itertools.count(1)


@pytest.fixture(scope="module")
def auth() -> Iterator[AuthServer]:
    server = AuthServer(pending=1, interval=1).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dovecot(auth: AuthServer) -> Iterator[PrivateDovecot]:
    server = PrivateDovecot(password=IMAP_PASSWORD, oauth2_url=auth.url).start()
    yield server
    server.cleanup()


@dataclass
class World:
    auth: AuthServer
    dovecot: PrivateDovecot
    smtp: SmtpSink
    rules: Path
    user: str

    @property
    def token_file(self) -> Path:
        return self.rules.parent / "state" / "oauth2-tokens.json"

    def tokens(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.token_file.read_text())
        return data

    def deliver(self, name: str) -> None:
        raw = (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        imap = self.dovecot.client(self.user)  # the password still works, for putting mail in
        try:
            imap.append("INBOX", raw, msg_time=MONDAY_NOON)
        finally:
            imap.logout()


@pytest.fixture
def world(auth: AuthServer, dovecot: PrivateDovecot, tmp_path: Path) -> Iterator[World]:
    auth.user = f"kasia{next(_users)}@example.org"  # a mailbox of this test's own
    auth.offset = 0.0
    auth.log.clear()
    smtp = SmtpSink(introspect_url=f"{auth.url}/introspect").start()
    rules = tmp_path / "rules.yaml"
    rules.write_text(loopback_rules(
        dovecot.port, smtp.port, user=auth.user, imap_password="auth: oauth2",
        smtp_options=f", username: {auth.user}, auth: oauth2, timeout: 10", imap_options=", timeout: 10",
        settings="check_on_days_off: true",
        extra="max_arrival_age: null\n"
              "oauth2:\n"
              "  provider: custom\n"
              f"  client_id: {auth.client_id}\n"
              f"  device_authorization_url: {auth.url}/device\n"
              f"  token_url: {auth.url}/token\n"
              "  scopes: [offline_access, imap, smtp]\n"))
    yield World(auth, dovecot, smtp, rules, auth.user)
    smtp.stop()


def no_tokens_in(world: World, *texts: str) -> None:
    """No access or refresh token the server ever issued is in TEXTS."""
    secrets = [t for t in (*world.auth.access, *world.auth.refresh) if t]
    if world.token_file.exists():
        secrets += [world.tokens()["access_token"], world.tokens()["refresh_token"]]
    for text in texts:
        assert "at-" not in text and "rt-" not in text
        assert not any(secret in text for secret in secrets)


def login(capsys: pytest.CaptureFixture[str], world: World) -> dict[str, object]:
    code, out, err = run_cli(capsys, "-c", world.rules, "login", "--json")
    assert code == 0, err
    assert f"open {world.auth.url}/verify and enter the code WDJB-MJHT" in err  # what to open, no typed input
    no_tokens_in(world, out, err)
    done: dict[str, object] = json.loads(out)
    return done


def check(capsys: pytest.CaptureFixture[str], world: World) -> tuple[int, str, str]:
    code, out, err = run_cli(capsys, "-c", world.rules, "check", "--json")
    no_tokens_in(world, out, err)
    return code, out, err


def test_login_check_refresh_rotation_and_revocation(capsys: pytest.CaptureFixture[str], world: World) -> None:
    # Before the first login: valid, with a warning; a check says what to do.
    code, out, err = run_cli(capsys, "-c", world.rules, "validate")
    assert code == 0 and "`mailtriage login` has not been run yet" in err
    code, _, err = check(capsys, world)
    assert code == 1 and "run `mailtriage login`" in err and len(err.strip().splitlines()) == 1

    done = login(capsys, world)
    assert done["account"] == world.user and done["token_file"] == str(world.token_file)
    assert stat.S_IMODE(world.token_file.stat().st_mode) == 0o600
    assert "mailtriage login" not in run_cli(capsys, "-c", world.rules, "validate")[2]

    # A check reads the mailbox over XOAUTH2 IMAP and sends the holding reply over XOAUTH2 SMTP.
    assert check(capsys, world)[0] == 0  # the baseline
    world.deliver("client_acme.eml")
    code, out, err = check(capsys, world)
    assert code == 0, err
    assert [json.loads(line)["decision"] for line in out.splitlines()] == ["reply"]
    assert len(world.smtp.messages) == 1 and world.smtp.messages[0].rcpt_tos == ["jan@acme.pl"]
    assert world.smtp.oauth2_logins == [(world.user, True)]
    assert world.auth.grants("/token").count("refresh_token") == 0

    # An hour on: the access token has expired; the next check refreshes it, no new login; the server
    # rotated the refresh token, and the new one is saved at once (0600).
    before = world.tokens()
    expired = dict(before, expires_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    world.token_file.write_text(json.dumps(expired))
    world.auth.advance(3700)
    assert check(capsys, world)[0] == 0
    assert world.auth.grants("/token").count("refresh_token") == 1
    after = world.tokens()
    assert after["refresh_token"] != before["refresh_token"] and after["refresh_token"] in world.auth.refresh
    assert stat.S_IMODE(world.token_file.stat().st_mode) == 0o600

    # The server drops access tokens early (a password change): refused once, refreshed once, retried.
    world.auth.access.clear()
    world.deliver("client_acme.eml")  # something to send, so SMTP logs in too
    assert check(capsys, world)[0] == 0
    assert world.auth.grants("/token").count("refresh_token") == 2

    # Revoked: one line, exit 1; after a new login everything works again.
    world.auth.revoke_all()
    code, out, err = check(capsys, world)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("the sign-in has expired or was revoked: sign in again with `mailtriage login`")
    login(capsys, world)
    assert check(capsys, world)[0] == 0


def test_doctor_checks_the_token_and_both_logins(capsys: pytest.CaptureFixture[str], world: World) -> None:
    code, out, _ = run_cli(capsys, "-c", world.rules, "doctor", "--json")
    steps = {step["step"]: step for step in json.loads(out)}
    assert code == 1 and steps["oauth2 token"]["status"] == "fail"
    assert "mailtriage login" in steps["oauth2 token"]["fix"]
    assert "mailtriage login" not in steps["oauth2 token"]["detail"]  # said once, as the fix
    _, text, _ = run_cli(capsys, "-c", world.rules, "doctor")
    assert [each for each in text.splitlines() if "oauth2 token" in each] == [
        f"✘ oauth2 token: {world.token_file}: no OAuth2 sign-in yet → run mailtriage login"]
    login(capsys, world)
    code, out, err = run_cli(capsys, "-c", world.rules, "doctor", "--json")
    steps = {step["step"]: step for step in json.loads(out)}
    no_tokens_in(world, out, err)
    for name in ("oauth2 token", "oauth2 refresh", "imap sign-in", "smtp sign-in", "imap login", "smtp login"):
        assert steps[name]["status"] == "ok", steps[name]
    assert "OAuth2" in steps["imap login"]["detail"] and "OAuth2" in steps["smtp login"]["detail"]
    assert world.smtp.oauth2_logins == [(world.user, True)]
    assert world.smtp.messages == []  # doctor sends nothing


def test_the_daemon_says_sign_in_again_once_and_recovers_after_login(
        capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path,
        daemons: Callable[..., Running]) -> None:
    login(capsys, world)
    assert check(capsys, world)[0] == 0  # the baseline
    world.auth.revoke_all()
    text = world.rules.read_text().replace('check_times: ["08:00", "12:00", "16:00"]',
                                           f"check_times: {soon(3, 6, 10, 14, 18)}")
    world.rules.write_text(text)
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(15)
    daemon = daemons(_Box(world.rules), {"NOTIFY_SOCKET": path})
    try:
        daemon.wait_for("check failed: the sign-in has expired or was revoked: sign in again with `mailtriage login`")
        statuses = []
        while not any("sign in again" in s for s in statuses):
            statuses.append(listener.recv(4096).decode())
        assert "STATUS=" in statuses[-1] and "failed: the sign-in has expired or was revoked" in statuses[-1]
        code, out, _ = run_cli(capsys, "-c", world.rules, "status", "--json")
        last = json.loads(out)["last_check"]
        assert last["ok"] is False and "sign in again with `mailtriage login`" in last["status"]
        daemon.wait_for("check started", count=2)  # the schedule goes on, without retries
        login(capsys, world)
        daemon.wait_for("signed in again", seconds=15)
        daemon.wait_for("check done:")
        assert len(daemon.wait_for("sign in again with")) == 1  # logged once, not at every check
        assert not [line for line in daemon.lines if "attempt" in line]
        assert daemon.stop() == 0
        no_tokens_in(world, "\n".join(daemon.lines))
    finally:
        listener.close()


@dataclass
class _Box:
    rules: Path


def test_token_command_gives_the_token(capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path) -> None:
    """token_command (oama, mutt_oauth2.py): its output is the access token; no oauth2 block needed."""
    login(capsys, world)
    script = tmp_path / "token.sh"
    script.write_text(f"#!/bin/sh\npython3 -c 'import json; print(json.load(open(\"{world.token_file}\"))"
                      "[\"access_token\"])'\n")
    script.chmod(0o700)
    text = world.rules.read_text().split("oauth2:\n")[0]
    text = text.replace("auth: oauth2", f"auth: oauth2, token_command: {script}")
    world.rules.write_text(text)
    code, _, err = run_cli(capsys, "-c", world.rules, "validate")
    assert code == 0 and "oauth2" not in err, err
    assert check(capsys, world)[0] == 0
    assert os.path.exists(world.token_file)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")
def test_root_writing_the_token_file_gives_it_to_the_folder_owner(tmp_path: Path) -> None:
    """`sudo mailtriage login` for a DynamicUser= service: the token file and its lock stay the service's."""
    from mailtriage.mail.oauth2 import Tokens, save_tokens

    folder = tmp_path / "state"
    folder.mkdir()
    os.chown(folder, 5000, 5000)
    now = datetime.now(UTC)
    save_tokens(folder / "oauth2-tokens.json", Tokens("at", "rt", now, "", "", now))
    found = (folder / "oauth2-tokens.json").stat()
    assert (found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)) == (5000, 5000, 0o600)


def test_login_with_the_browser_prints_the_address_and_waits_without_a_terminal(
        auth: AuthServer, tmp_path: Path) -> None:
    """Code + PKCE (Google's way): `login` in a process of its own, stdin closed, prints the address; the test
    plays the browser (the server approves and redirects to the loopback address login listens on)."""
    import urllib.parse
    import urllib.request

    from tests.cli import environment, start_process

    auth.user = "kasia.browser@example.org"
    auth.refresh_lifetime = 7 * 24 * 3600  # a Google project in 'Testing' says so
    rules = tmp_path / "rules.yaml"
    rules.write_text(loopback_rules(1143, 1025, user=auth.user, imap_password="auth: oauth2", settings="")
                     + f"oauth2: {{provider: custom, client_id: {auth.client_id}, token_url: {auth.url}/token, "
                     f"authorization_url: {auth.url}/authorize, scopes: [openid, offline_access, mail]}}\n")
    env = {k: v for k, v in environment(SSH_CONNECTION="192.0.2.7 50000 192.0.2.1 22").items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    process = start_process("-c", rules, "login", env=env)
    try:
        assert process.stderr is not None and process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("To sign in, open this address in a browser")
        address = process.stdout.readline().strip()
        assert address.startswith(f"{auth.url}/authorize?") and "code_challenge_method=S256" in address
        port = urllib.parse.parse_qs(urllib.parse.urlsplit(address).query)["redirect_uri"][0].split(":")[2].strip("/")
        assert process.stdout.readline().strip() == (
            f"no display here (ssh?): the browser comes back to 127.0.0.1:{port} on this machine, so first run "
            f"`ssh -L {port}:127.0.0.1:{port} <this host>` on the machine with the browser, then open the "
            "address there")
        assert process.stdout.readline().strip() == (
            f"waiting for the browser to come back to http://127.0.0.1:{port}/ … (Ctrl-C to stop)")
        with urllib.request.urlopen(address, timeout=10) as page:  # noqa: S310 - loopback
            assert b"Signed in" in page.read()
        out, err = process.communicate(timeout=15)
    finally:
        auth.refresh_lifetime = None
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    until = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    assert f"signed in as {auth.user} (custom)" in out and f"expected to last until {until}" in out
    assert "at-" not in out + err and "rt-" not in out + err
    path = tmp_path / "state" / "oauth2-tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and json.loads(path.read_text())["who"] == auth.user


def test_oauthbearer_when_the_server_offers_only_that(capsys: pytest.CaptureFixture[str], world: World) -> None:
    only = PrivateDovecot(password=IMAP_PASSWORD, oauth2_url=world.auth.url, oauth2_mechanisms="oauthbearer").start()
    try:
        world.rules.write_text(world.rules.read_text().replace(f"port: {world.dovecot.port}", f"port: {only.port}"))
        login(capsys, world)
        from imapclient import IMAPClient

        imap = IMAPClient("127.0.0.1", port=only.port, ssl=False, timeout=10)
        capabilities = imap.capabilities()  # before login: what it offers to sign in with
        imap.logout()
        assert b"AUTH=OAUTHBEARER" in capabilities and b"AUTH=XOAUTH2" not in capabilities
        code, _, err = check(capsys, world)
        assert code == 0, err
    finally:
        only.cleanup()


def test_a_token_the_server_refuses_twice_is_one_line_without_the_token(
        capsys: pytest.CaptureFixture[str], world: World) -> None:
    login(capsys, world)
    text = world.rules.read_text()
    world.rules.write_text(text.replace(f"username: {world.user}, auth: oauth2", "username: mallory@example.org, "
                                        "auth: oauth2", 1))  # the imap line comes first
    code, out, err = check(capsys, world)  # a valid token, but not mallory's: refused, refreshed, refused again
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("imap 127.0.0.1:") and "login refused" in err
    assert world.auth.grants("/token").count("refresh_token") == 1


def oauth2_rules(tmp_path: Path, block: str) -> Path:
    """A rules.yaml signing in to the demo's loopback servers with the oauth2 block BLOCK (flow style)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(loopback_rules(1143, 1025, user="kasia@example.org", imap_password="auth: oauth2")
                     + f"oauth2: {block}\n")
    return rules


def test_login_refuses_the_placeholder_client_id_before_the_network(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mailtriage.config.oauth2 import CLIENT_ID_PLACEHOLDER

    # token_url on a port nobody listens on: reaching the network would say "cannot reach"
    rules = oauth2_rules(tmp_path, f"{{provider: custom, client_id: {CLIENT_ID_PLACEHOLDER}, token_url: "
                                   "http://127.0.0.1:9/token, device_authorization_url: http://127.0.0.1:9/device}")
    code, out, err = run_cli(capsys, "-c", rules, "login")
    assert code == 1 and out == ""
    assert err.splitlines() == ["oauth2.client_id is still the placeholder `mailtriage init` wrote: register an app "
                                "of your own and put its client id in rules.yaml (README, \"Microsoft 365 / "
                                "Outlook.com\")"]


def test_login_without_the_network_says_what_to_do_in_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761): what a machine without DNS sees for login.microsoftonline.com
    rules = oauth2_rules(tmp_path, "{provider: custom, client_id: app-1, token_url: https://login.example.invalid/t, "
                                   "device_authorization_url: https://login.example.invalid/devicecode}")
    code, out, err = run_cli(capsys, "-c", rules, "login")
    assert code == 1 and out == ""
    assert err.splitlines() == ["cannot reach the sign-in server https://login.example.invalid/devicecode: the name "
                                "login.example.invalid does not resolve: check the network connection (DNS, a proxy "
                                "or firewall) and try again"]
    assert "Errno" not in err


def test_the_ssh_hint_only_without_a_display_or_over_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.mail.oauth2_flows import remote

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION"):
        monkeypatch.delenv(name, raising=False)
    assert remote()  # a server without a display
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert not remote()  # a desktop: the browser is here
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.7 50000 192.0.2.1 22")
    assert remote()  # ssh -X still means a browser far from 127.0.0.1 of this machine


def test_with_json_an_error_is_one_line_on_stderr_and_nothing_on_stdout_as_for_check(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The convention of every command (README, Commands): --json changes what success prints, not errors."""
    rules = oauth2_rules(tmp_path, "{provider: custom, client_id: app-1, token_url: http://127.0.0.1:9/token, "
                                   "device_authorization_url: http://127.0.0.1:9/device}")
    code, out, err = run_cli(capsys, "-c", rules, "login", "--json")
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("cannot reach the sign-in server http://127.0.0.1:9/device: connection refused")
    monkeypatch.setenv("MAILTRIAGE_IMAP_PASSWORD", "x")
    rules.write_text(loopback_rules(9, 9))
    code, out, err = run_cli(capsys, "-c", rules, "check", "--json")
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "connection refused" in err


def test_doctor_offline_blames_the_network_not_the_sign_in(capsys: pytest.CaptureFixture[str], world: World) -> None:
    login(capsys, world)
    world.rules.write_text(world.rules.read_text().replace(f"token_url: {world.auth.url}/token",
                                                           "token_url: http://127.0.0.1:9/token"))
    code, out, _ = run_cli(capsys, "-c", world.rules, "doctor", "--json")
    step = {step["step"]: step for step in json.loads(out)}["oauth2 refresh"]
    assert code == 1 and step["status"] == "fail"
    assert step["detail"] == ("cannot reach the sign-in server http://127.0.0.1:9/token: connection refused by "
                              "127.0.0.1:9: check the network connection (DNS, a proxy or firewall) and try again")
    assert step["fix"] == "run doctor again once the network works"


def test_the_summary_and_a_client_report_go_out_over_xoauth2_too(
        capsys: pytest.CaptureFixture[str], world: World) -> None:
    """Every SMTP connection signs in with the token, not only the check's: the summary, the report."""
    login(capsys, world)
    text = world.rules.read_text().replace("{name: Acme, match: {domains: [acme.pl]},",
                                           "{name: Acme, match: {domains: [acme.pl]}, report_to: biuro@acme.pl,")
    world.rules.write_text(text + 'summary: {to: kasia@example.org, at: "07:30"}\n')
    code, out, err = run_cli(capsys, "-c", world.rules, "summary", "--send")
    assert code == 0, err
    code, out2, err2 = run_cli(capsys, "-c", world.rules, "report", "--client", "Acme", "--send")
    assert code == 0, err2
    no_tokens_in(world, out, err, out2, err2)
    assert [m.rcpt_tos for m in world.smtp.messages] == [["kasia@example.org"], ["biuro@acme.pl"]]
