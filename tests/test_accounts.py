"""`accounts:` in rules.yaml: one Account per mailbox, the top level as defaults, errors as file:line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mailtriage.config.accounts import DEFAULT, resolve, select
from mailtriage.config.rulesfile import load
from mailtriage.errors import ConfigError
from tests.conftest import MINIMAL

Write = Callable[..., Path]

TOP = """\
timezone: Europe/Warsaw
check_times: ["08:00", "12:00", "16:00"]
holidays: {country: PL}
smtp: {host: 127.0.0.1, port: 1025, security: none, username: kasia, password_env: MT_TEST_SMTP}
clients:
  - {name: Acme, match: {domains: [acme.pl]}}
"""
BIURO = """\
  - name: biuro
    identity: {from: "Biuro <biuro@example.com>"}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: biuro, password_env: MT_TEST_IMAP}
"""
KASIA = """\
  - name: kasia
    identity: {from: "Kasia Nowak <kasia@example.com>"}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: kasia, password_env: MT_TEST_IMAP,
           folders: [INBOX, Zlecenia]}
    language: pl
    clients:
      - {name: Piekarnia, match: {domains: [piekarnia.pl]}}
    sender_limit: null
"""


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_a_file_without_accounts_is_one_account_named_default(write_rules: Write) -> None:
    rules = load(write_rules(MINIMAL))
    (account,) = resolve(rules)
    assert account.name == DEFAULT and account.rules is rules and account.where == ()


def test_an_account_takes_what_it_does_not_set_from_the_top_level(write_rules: Write) -> None:
    rules = load(write_rules(TOP + "language: en\naccounts:\n" + BIURO + KASIA))
    biuro, kasia = resolve(rules)
    assert (biuro.name, biuro.where, kasia.where) == ("biuro", ("accounts", 0), ("accounts", 1))
    assert biuro.rules.identity.address == "biuro@example.com"
    assert [c.name for c in biuro.rules.clients] == ["Acme"] and biuro.rules.language == "en"
    assert biuro.rules.sender_limit is not None and biuro.rules.imap.folders == ["INBOX"]
    assert [c.name for c in kasia.rules.clients] == ["Piekarnia"] and kasia.rules.language == "pl"
    assert kasia.rules.sender_limit is None and kasia.rules.imap.folders == ["INBOX", "Zlecenia"]
    assert biuro.rules.smtp == kasia.rules.smtp == rules.smtp
    assert biuro.rules.accounts == [] and biuro.rules.timezone == rules.timezone
    # commands that do not know accounts yet read the first account's identity and imap
    assert rules.identity == biuro.rules.identity and rules.imap.username == "biuro"
    assert [a.name for a in select(rules, "kasia")] == ["kasia"] and select(rules, "nobody") == ()


def test_folders_and_sent_folder_of_an_account_come_first(write_rules: Write) -> None:
    top = TOP + "imap: {host: h.example.com, username: x, password_env: P, folders: [INBOX, Work], sent_folder: Wys}\n"
    rules = load(write_rules(top + "identity: {from: a@example.com}\naccounts:\n" + BIURO + """\
  - name: own
    folders: [Klienci]
  - name: inherits
    imap: {host: other.example.com, username: y, password_env: P}
"""))
    biuro, own, inherits = resolve(rules)
    assert biuro.rules.imap.folders == ["INBOX", "Work"] and biuro.rules.imap.sent_folder == "Wys"
    assert own.rules.imap.folders == ["Klienci"] and own.rules.imap.host == "h.example.com"
    assert inherits.rules.imap.folders == ["INBOX", "Work"] and inherits.rules.imap.host == "other.example.com"


def test_each_account_has_a_token_file_of_its_own(write_rules: Write, tmp_path: Path) -> None:
    oauth2 = "oauth2: {provider: google, client_id: abc}\n"
    rules = load(write_rules(TOP + oauth2 + "accounts:\n" + BIURO + """\
  - name: default
    identity: {from: b@example.com}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: b, password_env: P}
  - name: own
    identity: {from: c@example.com}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: c, password_env: P}
    oauth2: {provider: microsoft, client_id: def, token_file: tokens/own.json}
  - name: ownnofile
    identity: {from: d@example.com}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: d, password_env: P}
    oauth2: {provider: microsoft, client_id: ghi}
"""))
    files = {a.name: a.rules.oauth2.token_file if a.rules.oauth2 else None for a in resolve(rules)}
    assert files == {"biuro": tmp_path / "oauth2-tokens.biuro.json", "default": tmp_path / "oauth2-tokens.json",
                     "own": tmp_path / "tokens" / "own.json", "ownnofile": tmp_path / "oauth2-tokens.ownnofile.json"}


def test_account_mistakes_are_reported_with_their_line(write_rules: Write) -> None:
    path = write_rules(TOP + "accounts:\n" + BIURO + BIURO.replace("username: biuro", "username: other") + """\
  - name: Big Name
    identity: {from: c@example.com}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: c, password_env: P, passwd: x}
""")
    assert problems_of(path) == [
        f"{path}:14: accounts[2].name: 'Big Name' is not an account name: 1 to 20 of a-z, 0-9, _ and -, "
        "starting with a letter or digit (it is stored with every record and typed in --account)",
        f"{path}:16: accounts[2].imap: unknown key 'passwd' (did you mean 'password_env'?)",
    ]
    path = write_rules(TOP + "accounts:\n" + BIURO + BIURO.replace("username: biuro", "username: other") + BIURO)
    assert problems_of(path) == [
        f"{path}:11: accounts[1].name: duplicate account name 'biuro' (also accounts[0])",
        f"{path}:14: accounts[2].name: duplicate account name 'biuro' (also accounts[0])",
        f"{path}:14: accounts[2]: the same IMAP login as accounts[0] (biuro at 127.0.0.1): one mailbox is one account",
    ]


def test_an_account_without_an_identity_anywhere_is_reported_there(write_rules: Write) -> None:
    path = write_rules(TOP + "accounts:\n  - name: bare\n    imap: {host: h.example.com, username: u, "
                       "password_env: P}\n")
    assert problems_of(path) == [f"{path}:8: accounts[0]: missing required key 'identity'"]
    path = write_rules(TOP + "accounts:\n  - name: bad\n    identity: {from: nobody}\n"
                       "    imap: {host: h.example.com, username: u, password_env: P}\n")
    found = problems_of(path)
    assert len(found) == 1 and found[0].startswith(f"{path}:9: accounts[0].identity.from")


def test_cross_checks_run_per_account(write_rules: Write) -> None:
    path = write_rules(TOP.replace("smtp: {host: 127.0.0.1, port: 1025, security: none, username: kasia, "
                                   "password_env: MT_TEST_SMTP}\n", "") + "accounts:\n" + BIURO + """\
  - name: kasia
    identity: {from: k@example.com}
    imap: {host: 127.0.0.1, port: 1143, security: none, username: k, password_env: P}
    smtp: {host: 127.0.0.1, port: 1025, security: none, username: k, password_env: P}
    clients:
      - {name: A, match: {domains: [a.pl]}}
      - {name: a, match: {domains: [b.pl]}}
""")
    assert problems_of(path) == [
        f"{path}:7: accounts[0]: missing required key 'smtp': holding replies (action: reply) are sent over SMTP",
        f"{path}:16: accounts[1].clients[1].name: duplicate client name 'a' (also clients[0])",
    ]


def test_the_schema_knows_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli import run_cli as run

    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and "accounts" in schema["properties"] and "identity" not in schema["required"]
    assert schema["anyOf"] == [{"required": ["identity", "imap"]}, {"required": ["accounts"]}]
    account = schema["$defs"]["Account"]
    assert account["required"] == ["name"] and account["properties"]["name"]["pattern"]


def test_validate_lists_the_accounts(write_rules: Write, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli import run_cli as run

    path = write_rules(TOP + "accounts:\n" + BIURO + KASIA)
    code, out, _ = run(capsys, "-c", str(path), "validate", "--json")
    found = json.loads(out)["accounts"]
    assert code == 0 and [(a["name"], a["clients"], a["folders"]) for a in found] == [
        ("biuro", ["Acme"], ["INBOX"]), ("kasia", ["Piekarnia"], ["INBOX", "Zlecenia"])]
    code, out, _ = run(capsys, "-c", str(path), "validate")
    assert "account kasia: kasia@example.com, imap kasia@127.0.0.1 (INBOX, Zlecenia), clients: Piekarnia" in out


def test_an_accounts_imap_and_smtp_take_what_they_leave_out_from_the_top_level(write_rules: Write) -> None:
    text = TOP + (
        "imap: {host: imap.example.com, username: shared, password_env: MT_TEST_IMAP, timeout: 15}\n"
        "identity: {from: \"Kasia <kasia@example.com>\"}\n"
        "accounts:\n"
        "  - {name: kasia, imap: {username: kasia}}\n"
        "  - {name: biuro, imap: {username: biuro, password_file: /run/credentials/biuro}, smtp: {port: 2525}}\n")
    kasia, biuro = resolve(load(write_rules(text)))
    assert (kasia.rules.imap.host, kasia.rules.imap.username, kasia.rules.imap.password_env,
            kasia.rules.imap.timeout) == ("imap.example.com", "kasia", "MT_TEST_IMAP", 15)
    # How an account signs in is its own when it says anything of it: no password_env beside its file.
    assert (biuro.rules.imap.host, biuro.rules.imap.password_env, biuro.rules.imap.password_file) == (
        "imap.example.com", None, "/run/credentials/biuro")
    assert biuro.rules.smtp is not None and (biuro.rules.smtp.host, biuro.rules.smtp.port) == ("127.0.0.1", 2525)
    assert biuro.rules.smtp.password_env == "MT_TEST_SMTP"


def test_a_top_level_imap_may_be_only_the_accounts_defaults(write_rules: Write) -> None:
    text = TOP + (
        "imap: {host: imap.example.com, password_env: MT_TEST_IMAP}\n"  # no username: each account has its own
        "identity: {from: \"Kasia <kasia@example.com>\"}\n"
        "accounts:\n  - {name: kasia, imap: {username: kasia}}\n  - {name: biuro, imap: {username: biuro}}\n")
    kasia, biuro = resolve(load(write_rules(text)))
    assert [(a.rules.imap.host, a.rules.imap.username) for a in (kasia, biuro)] == [
        ("imap.example.com", "kasia"), ("imap.example.com", "biuro")]
    without = TOP + "imap: {host: imap.example.com, password_env: MT_TEST_IMAP}\n" + \
        "identity: {from: \"Kasia <kasia@example.com>\"}\n"
    assert any("username" in p for p in problems_of(write_rules(without)))  # without accounts it is needed
