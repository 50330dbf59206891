"""GDPR with several accounts, on a real SQLite file: a client name two accounts each have (two
companies) needs --account for purge and export, and only that account's records go; retention by
account and client; a thread number is never given twice, whatever erased the thread; export refuses
a typo and says when nothing is stored."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from mailtriage.app import privacy
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.core.models import ThreadState
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.rows import Thread
from tests.cli import run_cli
from tests.test_privacy import NOW, raw, rules_for, table, thread_with

IMAP = "{{host: 127.0.0.1, port: 1143, security: none, username: {}, password_env: MT_TEST_IMAP_PASSWORD}}"
# kasia's Acme (acme.pl, keeps threads a month) and biuro's Acme (acme-biuro.pl): two companies.
ACCOUNTS = """\
accounts:
  - name: kasia
    identity: {{from: "Kasia Nowak <kasia@example.com>"}}
    imap: {kasia}
    clients: [{{name: Acme, match: {{domains: [acme.pl]}}, retention: {{threads: 1 month}}}}]
  - name: biuro
    identity: {{from: "Biuro Rachunkowe Nowak <biuro@example.com>"}}
    imap: {biuro}
    language: pl
    clients: [{{name: Acme, match: {{domains: [acme-biuro.pl]}}}}]
"""


def two_accounts(tmp_path: Path, accounts: str = ACCOUNTS) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("\n".join([
        "timezone: Europe/Warsaw", "language: en", 'check_times: ["08:00"]', "holidays: {country: PL}",
        "smtp: {host: 127.0.0.1, port: 1025, security: none}", f"database: {tmp_path / 'state' / 'mailtriage.db'}",
        "defaults: {action: reply, respond_within: 1 business day}",
    ]) + "\n" + accounts.format(kasia=IMAP.format("kasia"), biuro=IMAP.format("biuro")), encoding="utf-8")
    return path


def fill(rules: Rules, *, state: ThreadState = ThreadState.OPEN, days: int = 2) -> None:
    """Jan of kasia's Acme, Ola and Olek of biuro's Acme, Dawny (gone from rules.yaml) in both."""
    at = NOW - timedelta(days=days)
    kasia, biuro = Store(rules.database, account="kasia"), Store(rules.database, account="biuro")
    thread_with(kasia, "<k1@acme.pl>", "jan@acme.pl", "Jan Kowalski", "Kasia-Acme", "Acme", at, state=state)
    thread_with(biuro, "<b1@acme-biuro.pl>", "ola@acme-biuro.pl", "Ola Biurowa", "Biuro-Acme", "Acme", at,
                state=state)
    thread_with(biuro, "<b2@acme-biuro.pl>", "olek@acme-biuro.pl", "Olek Biurowy", "Biuro-Acme-2", "Acme", at,
                state=state)
    thread_with(kasia, "<d1@dawny.pl>", "a@dawny.pl", "Anna Dawna", "Dawny-kasia", "Dawny", at, state=state)
    thread_with(biuro, "<d2@dawny.pl>", "b@dawny.pl", "Bogdan Dawny", "Dawny-biuro", "Dawny", at, state=state)
    kasia.close()
    biuro.close()


def test_purge_and_export_of_a_name_two_accounts_have_need_the_account(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = two_accounts(tmp_path)
    rules = load(path)
    fill(rules)
    for command in (["purge", "--client", "acme"], ["export", "--client", "acme"],
                    ["purge", "--client", "dawny", "--dry-run"]):
        code, out, err = run_cli(capsys, "-c", path, *command)
        assert code == 1 and out == "", command
        name = command[2]
        assert err == f"accounts kasia, biuro each have a client {name!r}: name one with --account\n"
    assert table(rules.database, "SELECT count(*) FROM threads") == [(5,)]

    code, out, err = run_cli(capsys, "-c", path, "export", "--client", "acme", "--account", "biuro", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["about"] == {"client": "Acme", "mailbox": "biuro"}
    assert sorted(t["subject"] for t in document["threads"]) == ["Biuro-Acme", "Biuro-Acme-2"]
    assert "Kasia-Acme" not in out

    store = Store(rules.database)
    for key in ("report_sent:biuro/Acme:2026-10", "report_sent:kasia/Acme:2026-10"):  # app/monthly.py sent_key
        store.set_meta(key, "sent")
    store.close()
    code, out, err = run_cli(capsys, "-c", path, "purge", "--client", "acme", "--account", "biuro",
                             "--reference", "umowa 7/2026", "--json")
    assert code == 0, err
    done = json.loads(out)
    assert (done["account"], done["removed"]["threads"], done["removed"]["messages"]) == ("biuro", 2, 2)
    (said,) = done["confirmation"].values()  # biuro's language and identity: the client's account
    assert list(done["confirmation"]) == ["pl"] and said.startswith("Uprzejmie informuję, że w dniu ")
    assert said.endswith(" r. zostały usunięte wszystkie zapisy dotyczące Państwa korespondencji, prowadzone w "
                         "ramach obsługi Państwa poczty: 2 wątki i 2 wiadomości (nadawcy, tematy, daty oraz wysłane "
                         "potwierdzenia). Usunięcie nie obejmuje samych wiadomości w skrzynce pocztowej. Numer "
                         "referencyjny: umowa 7/2026.\n\nZ poważaniem\nBiuro Rachunkowe Nowak")
    assert table(rules.database, "SELECT account, subject FROM threads ORDER BY number") == [
        ("kasia", "Kasia-Acme"), ("kasia", "Dawny-kasia"), ("biuro", "Dawny-biuro")]
    assert table(rules.database, "SELECT key FROM meta WHERE key LIKE 'report_sent:%'") == [
        ("report_sent:kasia/Acme:2026-10",)]
    data = raw(rules.database)
    assert b"Biuro-Acme" not in data and b"acme-biuro.pl" not in data and b"Kasia-Acme" in data

    # kasia's Acme: in English, signed by Kasia; the name is still biuro's in rules.yaml, so --account stays needed.
    code, out, err = run_cli(capsys, "-c", path, "purge", "--client", "Acme", "--account", "kasia")
    assert code == 0, err
    assert "purge client Acme of account kasia: removed 1 thread (#1), 1 message, 1 reply" in out
    assert "This is to confirm that on " in out and out.rstrip().endswith("Kind regards,\nKasia Nowak")
    code, out, err = run_cli(capsys, "-c", path, "purge", "--client", "Acme", "--account", "kasia", "--language",
                             "pl", "--dry-run")
    assert code == 0 and "would remove 0 threads" in out

    # A name only old records carry, in one account now: no --account needed.
    code, out, err = run_cli(capsys, "-c", path, "purge", "--client", "dawny", "--account", "kasia", "--json")
    assert code == 0 and json.loads(out)["removed"]["threads"] == 1
    code, out, err = run_cli(capsys, "-c", path, "purge", "--client", "dawny", "--json")
    assert code == 0 and json.loads(out)["removed"]["threads"] == 1 and "confirmation" in json.loads(out)
    assert table(rules.database, "SELECT count(*) FROM threads") == [(0,)]

    code, _, err = run_cli(capsys, "-c", path, "export", "--client", "acme", "--account", "nosuch")
    assert code == 1 and err.startswith("no account 'nosuch' in rules.yaml or in the database (its accounts: "
                                        "kasia, biuro)")
    code, _, err = run_cli(capsys, "-c", path, "purge", "--expired", "--account", "kasia")
    assert code == 2 and "--account goes with --client NAME" in err


def test_a_top_level_client_the_accounts_share_is_one_client(tmp_path: Path) -> None:
    own = [line for line in ACCOUNTS.splitlines(keepends=True) if line.startswith("    clients:")]
    shared = "".join(line for line in ACCOUNTS.splitlines(keepends=True) if line not in own)
    shared += "clients: [{{name: Acme, match: {{domains: [acme.pl]}}}}]\n"  # no account has clients of its own
    rules = load(two_accounts(tmp_path, shared))
    fill(rules)
    store = Store(rules.database)
    erasure = privacy.purge_client(store, rules, "ACME", NOW)
    assert erasure.counts["threads"] == 3 and list(erasure.confirmation) == ["en"]
    with pytest.raises(MailtriageError, match="each have a client 'dawny'"):
        privacy.purge_client(store, rules, "dawny", NOW)
    store.close()


def test_a_clients_own_retention_is_its_accounts_alone(tmp_path: Path) -> None:
    rules = load(two_accounts(tmp_path))
    fill(rules, state=ThreadState.CLOSED, days=60)  # closed two months ago
    store = Store(rules.database)
    erasure = privacy.expire(store, rules, NOW)
    store.close()
    assert erasure.counts["threads"] == 1  # kasia's Acme keeps a month; biuro's Acme the default 12 months
    assert table(rules.database, "SELECT account, subject FROM threads ORDER BY number") == [
        ("biuro", "Biuro-Acme"), ("biuro", "Biuro-Acme-2"), ("kasia", "Dawny-kasia"), ("biuro", "Dawny-biuro")]


def new_thread(rules: Rules, n: int) -> int:
    """A new thread in the default account: its number."""
    store = Store(rules.database)
    thread_with(store, f"<new{n}@x.pl>", f"new{n}@x.pl", "Nowy", "Nowy", None, NOW)
    thread = store.thread(f"<new{n}@x.pl>")
    store.close()
    assert isinstance(thread, Thread)
    return thread.number


def test_a_thread_number_is_never_given_twice(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, "retention: {threads: 12 months, messages: 12 months}\n")
    store = Store(rules.database)
    for n in range(1, 13):
        client = "Piekarnia" if n >= 8 else None
        thread_with(store, f"<t{n}@x.pl>", f"p{n}@piekarnia-x.pl" if client else f"a{n}@x.pl", f"Osoba {n}",
                    f"Temat {n}", client, NOW - timedelta(days=1))
    assert store.count("SELECT max(number) FROM threads") == 12
    assert privacy.purge_client(store, rules, "Piekarnia", NOW).numbers == [8, 9, 10, 11, 12]
    store.close()
    assert new_thread(rules, 1) == 13  # not 8: "#8" of the purge's output stays the purged thread's
    store = Store(rules.database)
    privacy.forget(store, rules, "new1@x.pl", NOW)  # #13, the highest, forgotten
    store.close()
    assert new_thread(rules, 2) == 14
    store = Store(rules.database)
    with store.transaction():
        store.execute("UPDATE threads SET state = 'closed', closed_at = ?, last_received = ? WHERE number = 14",
                      ["2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"])
    assert privacy.expire(store, rules, NOW).numbers == [14]
    store.close()
    Store(rules.database).close()  # opened again: the highest number given is in the file
    assert new_thread(rules, 3) == 15
    assert [n for (n,) in table(rules.database, "SELECT number FROM threads ORDER BY number")] == [
        1, 2, 3, 4, 5, 6, 7, 15]


def test_export_refuses_a_typo_and_says_when_nothing_is_stored(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    rules = rules_for(tmp_path)
    path = tmp_path / "rules.yaml"
    store = Store(rules.database)
    thread_with(store, "<t1@acme.pl>", "jan@acme.pl", "Jan Kowalski", "Faktura", "Acme", NOW)
    store.close()
    code, out, err = run_cli(capsys, "-c", path, "export", "--client", "Nieznany")
    assert (code, out, err) == (1, "", "no client named 'Nieznany' in rules.yaml or in the database\n")
    code, _, purged = run_cli(capsys, "-c", path, "purge", "--client", "Nieznany")
    assert code == 1 and purged == err
    for bad in ("bad@", "@acme.pl", "jan"):
        code, out, err = run_cli(capsys, "-c", path, "export", "--address", bad)
        assert (code, out, err) == (1, "", f"not an email address: {bad!r}\n")
        assert run_cli(capsys, "-c", path, "forget", bad)[::2] == (1, err)

    code, out, err = run_cli(capsys, "-c", path, "export", "--address", "Nikt@X.pl")
    assert code == 0 and err == "nothing stored about nikt@x.pl\n"
    document = json.loads(out)
    assert document["about"] == {"email_address": "nikt@x.pl"}
    assert (document["threads"], document["messages"], document["automatic_replies"]) == ([], [], [])
    code, out, err = run_cli(capsys, "-c", path, "export", "--address", "nikt@x.pl", "--json")
    assert code == 0 and err == "" and json.loads(out)["threads"] == []
    code, out, err = run_cli(capsys, "-c", path, "export", "--address", "nikt@x.pl", "--output", tmp_path / "n.json")
    assert code == 0 and out == (f"wrote {tmp_path / 'n.json'}: nothing stored about nikt@x.pl (0 threads, "
                                 "0 messages, 0 automatic replies)\n")
    code, out, err = run_cli(capsys, "-c", path, "export", "--client", "Piekarnia", "--output", tmp_path / "p.json")
    assert code == 0 and "nothing stored about client Piekarnia (0 threads" in out  # in rules.yaml, no records
    code, out, err = run_cli(capsys, "-c", path, "export", "--address", "jan@acme.pl", "--output", tmp_path / "j.json")
    assert code == 0 and out == f"wrote {tmp_path / 'j.json'}: 1 thread, 1 message, 1 automatic reply\n"
