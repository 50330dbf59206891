"""`mailtriage init`: every provider's file passes the real validate; missing flags, overwrites and warnings."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result

from mailtriage.config.model import Rules
from mailtriage.config.providers import PROVIDERS
from mailtriage.config.readiness import warnings
from mailtriage.config.rulesfile import load
from tests.cli import invoke, run_process
from tests.conftest import EXAMPLE, REPO

PASSWORDS = {"MAILTRIAGE_IMAP_PASSWORD": "imap-s3cret-Value", "MAILTRIAGE_SMTP_PASSWORD": "smtp-s3cret-Value"}
HOSTS = ["--imap-host", "mail.firma.example", "--smtp-host", "smtp.firma.example"]


def init(tmp_path: Path, *args: str) -> tuple[Result, Path]:
    path = tmp_path / "rules.yaml"
    return invoke("init", "-o", str(path), *args), path


def validate(path: Path, env: dict[str, str | None] | None = None) -> Result:
    return invoke("-c", str(path), "validate", env={"STATE_DIRECTORY": str(path.parent), **(env or {})})


@pytest.mark.parametrize("key", sorted(PROVIDERS))
def test_every_providers_file_passes_validate(tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    hosts = HOSTS if PROVIDERS[key].imap.host is None else []
    result, path = init(tmp_path, "--provider", key, "--address", "kasia@firma.example", *hosts)
    assert result.exit_code == 0, result.output
    checked = validate(path, env=dict(PASSWORDS))
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith(f"{path}: OK")
    # Microsoft 365 signs in with OAuth2: valid as written, with what is left to do (own client id, login).
    expected = ["oauth2.client_id: still the placeholder", "`mailtriage login` has not been run yet"]
    lines = checked.stderr.splitlines()
    assert len(lines) == (2 if key == "microsoft365" else 0), checked.stderr
    assert all(any(e in line for e in expected) for line in lines)
    rules = load(path)
    preset = PROVIDERS[key]
    assert rules.imap.host == (preset.imap.host or "mail.firma.example")
    assert (rules.imap.effective_port, rules.imap.security) == (preset.imap.port, preset.imap.security)
    assert rules.smtp is not None and rules.smtp.port == preset.smtp.port
    if key == "microsoft365":
        assert rules.imap.auth == rules.smtp.auth == "oauth2" and rules.imap.password_env is None
        assert rules.oauth2 is not None and rules.oauth2.provider == "microsoft"
        assert rules.oauth2.token_file == tmp_path / "oauth2-tokens.json"
        assert "must not be borrowed" in path.read_text() or "Do not borrow" in path.read_text()
    else:
        assert rules.imap.password_env == "MAILTRIAGE_IMAP_PASSWORD"
        assert rules.smtp.password_env == "MAILTRIAGE_SMTP_PASSWORD"
        assert rules.oauth2 is None
    assert [c.strftime("%H:%M") for c in rules.check_times] == ["08:00", "12:00", "16:00"]
    assert rules.holidays.country == "PL" and rules.timezone == "Europe/Warsaw"
    assert rules.summary is not None and rules.summary.to == "kasia@firma.example"
    assert rules.database == tmp_path / "mailtriage.db"


def test_defaults_language_pl_and_the_name_is_the_address(tmp_path: Path) -> None:
    result, path = init(tmp_path, "--provider", "wp", "--address", "Kasia@WP.pl")
    assert result.exit_code == 0, result.output
    rules = load(path)
    assert rules.language == "pl"
    assert rules.identity.from_ == "kasia@wp.pl" and rules.imap.username == "kasia@wp.pl"
    assert "NOT verified" in path.read_text(encoding="utf-8")  # an unconfirmed preset says so in the file
    assert "not confirmed" in result.stderr


def test_init_json_says_what_was_written_and_what_comes_next(tmp_path: Path) -> None:
    import json

    result, path = init(tmp_path, "--provider", "wp", "--address", "kasia@wp.pl", "--json")
    assert result.exit_code == 0, result.output
    said = json.loads(result.stdout)
    assert (said["written"], said["provider"], said["auth"]) == (str(path), "wp", "password")
    assert said["next"].startswith("set MAILTRIAGE_IMAP_PASSWORD") and "not confirmed" in said["note"]
    assert result.stderr == ""  # the note is in the JSON


def test_language_and_name_when_given(tmp_path: Path) -> None:
    name = 'Żaneta "Biuro" Wójcik, VA'
    result, path = init(tmp_path, "--provider", "icloud", "--address", "zaneta@icloud.com", "--name", name,
                        "--language", "en")
    assert result.exit_code == 0, result.output
    rules = load(path)
    assert rules.language == "en"
    from email.utils import parseaddr

    assert parseaddr(rules.identity.from_) == (name, "zaneta@icloud.com")
    assert rules.imap.username == "zaneta"  # Apple: the IMAP user name is the part before @


def test_other_takes_its_hosts_from_flags(tmp_path: Path) -> None:
    result, path = init(tmp_path, "--provider", "other", "--address", "ja@firma.pl", *HOSTS)
    assert result.exit_code == 0, result.output
    rules = load(path)
    assert rules.imap.host == "mail.firma.example" and rules.smtp is not None
    assert rules.smtp.host == "smtp.firma.example"
    assert validate(path, env=dict(PASSWORDS)).stderr == ""  # other .example names are no placeholders


@pytest.mark.parametrize(("args", "flag"), [
    ([], "--provider"),
    (["--provider", "gmail"], "--address"),
    (["--provider", "other", "--address", "ja@firma.pl"], "--imap-host"),
    (["--provider", "homepl", "--address", "ja@firma.pl", "--imap-host", "serwer1.home.pl"], "--smtp-host"),
])
def test_without_a_terminal_a_missing_flag_is_one_line_and_exit_2(tmp_path: Path, args: list[str],
                                                                  flag: str) -> None:
    result, path = init(tmp_path, *args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and flag in result.stderr, result.stderr
    assert result.stdout == "" and not path.exists()


def test_the_installed_command_without_a_terminal(tmp_path: Path) -> None:
    done = run_process("init", "--provider", "gmail", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--address is missing" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "rules.yaml").exists()


def test_a_bad_address_or_zone_is_one_line(tmp_path: Path) -> None:
    result, _ = init(tmp_path, "--provider", "gmail", "--address", "kasia-at-gmail")
    assert result.exit_code == 2 and "--address" in result.stderr and "Traceback" not in result.output
    result, _ = init(tmp_path, "--provider", "gmail", "--address", "k@gmail.com", "--timezone", "Europe/Warsw")
    assert result.exit_code == 2 and "Europe/Warsaw" in result.stderr  # did you mean ...


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("# my rules\n", encoding="utf-8")
    result, _ = init(tmp_path, "--provider", "gmail", "--address", "kasia@gmail.com")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"mailtriage init: {path} already exists; give --force to overwrite it, "
                                          "or --output for another file"]
    assert path.read_text(encoding="utf-8") == "# my rules\n"
    result, _ = init(tmp_path, "--provider", "gmail", "--address", "kasia@gmail.com", "--force")
    assert result.exit_code == 0 and load(path).imap.host == "imap.gmail.com"


def test_the_file_holds_no_password_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    result = invoke("init", "-o", str(path), "--provider", "fastmail", "--address", "k@fastmail.com",
                    env=dict(PASSWORDS))
    assert result.exit_code == 0
    text = path.read_text(encoding="utf-8")
    assert not any(secret in text or secret in result.output for secret in PASSWORDS.values())
    assert "password:" not in text.replace("password_env:", "")
    assert path.stat().st_mode & 0o777 == 0o600
    result = invoke("init", "-o", str(tmp_path / "s.yaml"), "--provider", "fastmail", "--address",
                    "k@fastmail.com", "--passwords", "systemd")
    rules = load(tmp_path / "s.yaml")
    assert rules.imap.password_file == "${CREDENTIALS_DIRECTORY}/imap" and rules.imap.password_env is None


def test_validate_warns_once_per_problem_and_still_exits_0(tmp_path: Path) -> None:
    result, path = init(tmp_path, "--provider", "gmail", "--address", "kasia@gmail.com")
    assert result.exit_code == 0
    checked = validate(path, env={"MAILTRIAGE_SMTP_PASSWORD": PASSWORDS["MAILTRIAGE_SMTP_PASSWORD"]})
    assert checked.exit_code == 0
    assert checked.stderr.splitlines() == [
        "warning: imap password: the environment variable MAILTRIAGE_IMAP_PASSWORD is not set; set it where "
        "mailtriage runs, or switch to password_file (systemd credentials, see README)"]
    assert PASSWORDS["MAILTRIAGE_SMTP_PASSWORD"] not in checked.output
    path.write_text(path.read_text(encoding="utf-8").replace('"imap.gmail.com"', "imap.example.com"),
                    encoding="utf-8")
    checked = validate(path, env=dict(PASSWORDS))
    assert checked.exit_code == 0
    lines = checked.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: imap.host: imap.example.com is the example's")
    as_json = invoke("-c", str(path), "validate", "--json", env={"STATE_DIRECTORY": str(tmp_path), **PASSWORDS})
    assert json.loads(as_json.stdout)["warnings"] == [lines[0].removeprefix("warning: ")]
    assert not any(secret in checked.output + as_json.output for secret in PASSWORDS.values())


def test_readiness_warnings_of_the_shipped_example() -> None:
    rules: Rules = load(EXAMPLE)
    found = warnings(rules, environ={})
    assert any(line.startswith("imap.host: imap.example.com") for line in found)
    assert any(line.startswith("smtp.host: smtp.example.com") for line in found)
    assert any("MAILTRIAGE_IMAP_PASSWORD is not set" in line for line in found)
    assert any(line.startswith("identity.from: kasia@example.com") for line in found)
    assert all("\n" not in line for line in found)
    ready = rules.model_copy(update={"imap": rules.imap.model_copy(update={"host": "imap.firma.example"})})
    assert not any(line.startswith("imap") for line in warnings(ready, environ=dict(PASSWORDS)))


def test_help_shows_examples_and_every_provider() -> None:
    text = invoke("init", "--help").output
    assert "Examples:" in text and "mailtriage init --provider gmail --address" in text
    assert all(key in text for key in PROVIDERS)


def test_in_a_terminal_it_asks_for_what_is_missing(tmp_path: Path) -> None:
    """A real pseudo-terminal on stdin, stdout and stderr: click's prompts, answered one by one."""
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "mailtriage", "init"], cwd=tmp_path, stdin=child,
                               stdout=child, stderr=child, env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(child)
    try:
        for prompt, answer in ((b"Provider (gmail", b"other"), (b"email address", b"ja@firma.pl"),
                               (b"Your name", b"Jan Nowak"), (b"IMAP server", b"mail.firma.example"),
                               (b"SMTP server", b"smtp.firma.example")):
            seen, deadline = b"", time.monotonic() + 20
            while prompt not in seen:
                assert time.monotonic() < deadline, seen
                if select.select([main], [], [], 1)[0]:
                    seen += os.read(main, 1024)
            os.write(main, answer + b"\n")
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        os.close(main)
    rules = load(tmp_path / "rules.yaml")
    assert rules.identity.from_ == "Jan Nowak <ja@firma.pl>" and rules.imap.host == "mail.firma.example"


def test_readme_providers_table_is_the_data() -> None:
    from mailtriage.config.providers import markdown_table

    assert markdown_table() in (REPO / "README.md").read_text(encoding="utf-8")


def test_gmail_keeps_the_app_password_unless_auth_oauth2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    result, path = init(tmp_path, "--provider", "gmail", "--address", "kasia@gmail.com", "--auth", "oauth2",
                        "--client-id", "1234-abc.apps.googleusercontent.com")
    assert result.exit_code == 0, result.output
    assert "mailtriage -c" in result.stdout and "login" in result.stdout
    text = path.read_text()
    assert "Do not borrow the public client id" in text and "Desktop app" in text and "'In production'" in text
    checked = validate(path, env={"MAILTRIAGE_OAUTH2_CLIENT_SECRET": "s3cret"})
    assert checked.exit_code == 0, checked.output
    assert checked.stderr.splitlines() == [f"warning: oauth2: `mailtriage login` has not been run yet "
                                           f"({tmp_path / 'oauth2-tokens.json'} does not exist): run it once to "
                                           "sign in"]
    rules = load(path)
    assert rules.oauth2 is not None and rules.oauth2.provider == "google"
    assert rules.oauth2.client_id == "1234-abc.apps.googleusercontent.com"
    assert rules.oauth2.client_secret_env == "MAILTRIAGE_OAUTH2_CLIENT_SECRET"
    assert rules.imap.auth == "oauth2" and rules.smtp is not None and rules.smtp.auth == "oauth2"


def test_auth_oauth2_only_where_init_knows_the_provider(tmp_path: Path) -> None:
    result, path = init(tmp_path, "--provider", "icloud", "--address", "k@icloud.com", "--auth", "oauth2")
    assert result.exit_code == 2 and "microsoft365 and gmail only" in result.stderr
    assert not path.exists()


def test_a_client_id_means_oauth2_and_init_says_so(tmp_path: Path) -> None:
    result, path = init(tmp_path, "--provider", "gmail", "--address", "kasia@gmail.com",
                        "--client-id", "1234-abc.apps.googleusercontent.com")
    assert result.exit_code == 0, result.output
    assert "with OAuth2 sign-in (--client-id given, so --auth oauth2)" in result.stdout
    rules = load(path)
    assert rules.oauth2 is not None and rules.oauth2.client_id == "1234-abc.apps.googleusercontent.com"
    assert rules.imap.auth == "oauth2" and rules.smtp is not None and rules.smtp.auth == "oauth2"
    refused, other = init(tmp_path / "x", "--provider", "gmail", "--address", "kasia@gmail.com", "--auth", "password",
                          "--client-id", "1234-abc.apps.googleusercontent.com")
    assert refused.exit_code == 2 and not other.exists()
    assert refused.stderr.splitlines() == ["mailtriage init: --client-id is for OAuth2 sign-in: give --auth oauth2, "
                                           "or leave out --client-id"]
