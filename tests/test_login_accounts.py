"""`login --account NAME`: a named account signs in to its own token file, against the local OAuth2 server."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtriage.demo.rules import CHECK_TIMES, CLIENTS
from tests.cli import run_cli
from tests.oauth_server import AuthServer


@pytest.fixture
def auth() -> Iterator[AuthServer]:
    server = AuthServer(user="biuro@example.org", pending=1, interval=1).start()
    yield server
    server.stop()


def accounts_rules(tmp_path: Path, auth: AuthServer, *, both: bool = False) -> Path:
    """Accounts `kasia` (a password, or OAuth2 too with `both`) and `biuro` (OAuth2), one top-level oauth2 block."""
    kasia_auth = "auth: oauth2" if both else "password_env: MT_TEST_IMAP_PASSWORD"
    rules = tmp_path / "rules.yaml"
    rules.write_text("\n".join([
        "timezone: Europe/Warsaw", "language: en", CHECK_TIMES, "database: state/mailtriage.db",
        "defaults: {action: reply, respond_within: 1 business day}", "smtp: {host: 127.0.0.1, port: 9, security: none}",
        "oauth2:", "  provider: custom", f"  client_id: {auth.client_id}",
        f"  device_authorization_url: {auth.url}/device", f"  token_url: {auth.url}/token",
        "  scopes: [offline_access, imap]",
        "accounts:",
        '  - {name: kasia, identity: {from: "Kasia <kasia@example.org>"},',
        f"     imap: {{host: 127.0.0.1, port: 9, security: none, username: kasia@example.org, {kasia_auth}}}}}",
        '  - {name: biuro, identity: {from: "Biuro <biuro@example.org>"},',
        "     imap: {host: 127.0.0.1, port: 9, security: none, username: biuro@example.org, auth: oauth2}}",
    ]) + "\n" + CLIENTS, encoding="utf-8")
    return rules


def test_login_account_writes_that_accounts_own_token_file(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, auth: AuthServer) -> None:
    rules = accounts_rules(tmp_path, auth)
    code, out, err = run_cli(capsys, "-c", rules, "login", "--account", "biuro", "--json")
    assert code == 0, err
    done = json.loads(out)
    own = tmp_path / "state" / "oauth2-tokens.biuro.json"
    assert (done["account"], done["token_file"]) == ("biuro@example.org", str(own))  # biuro's user, biuro's file
    assert own.exists() and stat.S_IMODE(own.stat().st_mode) == 0o600
    assert json.loads(own.read_text())["refresh_token"]
    assert not (tmp_path / "state" / "oauth2-tokens.json").exists()  # the top-level (default) file is not touched
    assert not (tmp_path / "state" / "oauth2-tokens.kasia.json").exists()


def test_login_without_account_signs_in_the_one_account_that_uses_oauth2(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, auth: AuthServer) -> None:
    rules = accounts_rules(tmp_path, auth)
    code, out, err = run_cli(capsys, "-c", rules, "login", "--json")
    assert code == 0, err
    assert json.loads(out)["token_file"] == str(tmp_path / "state" / "oauth2-tokens.biuro.json")


def test_login_names_the_account_it_needs_or_does_not_know(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, auth: AuthServer) -> None:
    rules = accounts_rules(tmp_path, auth, both=True)
    code, out, err = run_cli(capsys, "-c", rules, "login")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["2 accounts sign in with OAuth2 (kasia, biuro): name one with --account NAME"]
    code, out, err = run_cli(capsys, "-c", rules, "login", "--account", "nobody")
    assert code == 2 and "no account 'nobody'" in err and "kasia, biuro" in err
    assert auth.log == []  # neither reached the sign-in server
