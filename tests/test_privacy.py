"""GDPR (issue 15) on a real SQLite file: forget a person, purge a client, expire by retention, export;
the removed names, addresses and subjects are gone from the raw bytes of the database files, while
other people's data is intact. The whole cycle over the real servers is in test_privacy_cycle.py."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.app import privacy
from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.core.models import AnsweredVia, Decision, ReplyState, ThreadState
from mailtriage.demo.rules import loopback_rules
from mailtriage.errors import MailtriageError
from mailtriage.store.db import Store
from mailtriage.store.rows import Message, Reply, Thread
from tests.servers import SmtpSink

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
JAN = "jan.kowalski@acme.pl"
GONE = (b"Kowalski", b"kowalski", b"Zamojski", b"Biuro-tajne")
KEPT = (b"Nowicka", b"ewa@acme.pl", b"Umowa-Nowicka", b"Chlebowski", b"Chleb-zamowienie")


def rules_for(tmp_path: Path, extra: str = "") -> Rules:
    path = tmp_path / "rules.yaml"
    path.write_text(loopback_rules(1143, 1025, database=str(tmp_path / "state" / "mailtriage.db"),
                                   extra=extra), encoding="utf-8")
    return load(path)


def reply_bytes(name: str, address: str, subject: str) -> bytes:
    return (f"From: Kasia Nowak <kasia@example.com>\r\nTo: {name} <{address}>\r\nSubject: Re: {subject}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nDear {name}, thank you for \"{subject}\".\r\n").encode()


def thread_with(store: Store, number_id: str, sender: str, name: str, subject: str, client: str | None,
                at: datetime, *, reply: bool = True, state: ThreadState = ThreadState.OPEN) -> None:
    with store.transaction():
        store.insert_thread(Thread(number_id, sender, at, at, state, client=client, sender_name=name, subject=subject,
                                   deadline=at + timedelta(hours=4)))
        message(store, number_id, number_id, sender, name, subject, client, at)
        if reply:
            store.plan_reply(Reply(number_id, number_id, f"<r-{number_id[1:]}", sender, sender, at,
                                   reply_bytes(name, sender, subject), state=ReplyState.SENT))


def message(store: Store, message_id: str, thread_id: str, sender: str, name: str, subject: str,
            client: str | None, at: datetime, uid: list[int] = [0]) -> None:  # noqa: B006 - a counter
    uid[0] += 1
    store.insert_message(Message("INBOX", 1, uid[0], message_id, at, Decision.REPLY, f"client {client}",
                                 thread_id=thread_id, sender=sender, sender_name=name, subject=subject, client=client))
    store.add_ref(message_id, thread_id)


def fill(path: Path) -> None:
    """Jan in two accounts and in Ewa's thread; Ewa; Piotr of another client; a status naming Jan."""
    at = NOW - timedelta(days=2)
    store = Store(path)
    thread_with(store, "<t1@acme.pl>", JAN, "Jan Kowalski", "Faktura Zamojski", "Acme", at)
    thread_with(store, "<t2@acme.pl>", "ewa@acme.pl", "Ewa Nowicka", "Umowa-Nowicka", "Acme", at)
    with store.transaction():  # Jan writes in Ewa's thread: a shared one
        message(store, "<t2-jan@acme.pl>", "<t2@acme.pl>", "JAN.Kowalski@acme.pl", "Jan Kowalski",
                "Re: Umowa-Nowicka Zamojski", "Acme", at + timedelta(hours=1))
    thread_with(store, "<t5@piekarnia-x.pl>", "piotr@piekarnia-x.pl", "Piotr Chlebowski", "Chleb-zamowienie",
                "Piekarnia", at)
    store.execute("UPDATE messages SET reason = 'reply-to of Jan.Kowalski@acme.pl'"
                  " WHERE sender = 'piotr@piekarnia-x.pl'")
    store.set_meta("last_check", json.dumps({"status": f"1 new from {JAN}"}))
    store.close()
    other = Store(path, account="biuro")
    thread_with(other, "<t4@acme.pl>", JAN, "Jan Kowalski", "Biuro-tajne", "Acme", at)
    other.close()


def raw(path: Path) -> bytes:
    """The bytes of the database and of its -wal and -shm files, as they are on disk."""
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"),
                                             path.with_name(path.name + "-shm")) if p.exists())


def table(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def test_forget_removes_a_person_everywhere_and_leaves_no_byte_of_them(tmp_path: Path) -> None:
    rules = rules_for(tmp_path)
    fill(rules.database)
    assert all(word in raw(rules.database) for word in GONE + KEPT)
    store = Store(rules.database)
    dry = privacy.forget(store, rules, "Jan.Kowalski@ACME.pl", NOW, dry_run=True)
    assert dry.counts["threads"] == 2 and dry.counts["messages"] == 3 and dry.counts["replies"] == 2
    assert table(rules.database, "SELECT count(*) FROM threads") == [(4,)]  # the dry run changed nothing
    reader = Store(rules.database)  # another connection stays open (a daemon between jobs)
    erasure = privacy.forget(store, rules, "Jan.Kowalski@ACME.pl", NOW, reference="REQ-7")
    assert Path(f"{rules.database}-wal").stat().st_size == 0 and Path(f"{rules.database}-shm").exists()
    open_bytes = raw(rules.database)  # while both connections are open, WAL and SHM included
    reader.close()
    store.close()
    assert erasure.counts == dry.counts and erasure.compacted
    assert [word for word in GONE if word in open_bytes] == []
    data = raw(rules.database)
    assert [word for word in GONE if word in data] == []
    assert [word for word in KEPT if word not in data] == []
    # Ewa's thread stays whole but for Jan's message; the other account's thread of Jan is gone too.
    assert table(rules.database, "SELECT account, sender, subject FROM threads ORDER BY number") == [
        ("default", "ewa@acme.pl", "Umowa-Nowicka"), ("default", "piotr@piekarnia-x.pl", "Chleb-zamowienie")]
    assert table(rules.database, "SELECT sender FROM messages ORDER BY id") == [("ewa@acme.pl",),
                                                                                ("piotr@piekarnia-x.pl",)]
    assert table(rules.database, "SELECT recipient FROM replies ORDER BY id") == [("ewa@acme.pl",),
                                                                                 ("piotr@piekarnia-x.pl",)]
    assert table(rules.database, "SELECT kind, reference, threads, messages, replies FROM erasures") == [
        ("forget", "REQ-7", 2, 3, 2)]
    assert table(rules.database, "SELECT value FROM meta WHERE key = 'last_check'") == [
        ('{"status": "1 new from [removed]"}',)]


def test_a_shared_thread_started_by_the_person_passes_to_the_others(tmp_path: Path) -> None:
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    at = NOW - timedelta(days=1)
    thread_with(store, "<s1@acme.pl>", JAN, "Jan Kowalski", "Zamojski start", "Acme", at)
    with store.transaction():
        message(store, "<s1-ewa@acme.pl>", "<s1@acme.pl>", "ewa@acme.pl", "Ewa Nowicka", "Re: Umowa-Nowicka", "Acme",
                at + timedelta(hours=1))
    privacy.forget(store, rules, JAN, NOW)
    store.close()
    assert table(rules.database, "SELECT sender, sender_name, subject FROM threads") == [
        ("ewa@acme.pl", "Ewa Nowicka", "Re: Umowa-Nowicka")]
    assert [word for word in GONE if word in raw(rules.database)] == []


def test_purge_of_a_client_removes_all_of_it_and_says_so_in_the_clients_language(tmp_path: Path) -> None:
    rules = rules_for(tmp_path)
    fill(rules.database)
    store = Store(rules.database)
    store.set_meta("report_sent:Piekarnia:2026-10", "sent")
    erasure = privacy.purge_client(store, rules, "piekarnia", NOW, reference="umowa 3/2025")
    store.close()
    assert (erasure.counts["threads"], erasure.counts["messages"], erasure.counts["replies"]) == (1, 1, 1)
    assert erasure.confirmation == {"pl": (
        "Uprzejmie informuję, że w dniu 29 listopada 2026 r. zostały usunięte wszystkie zapisy dotyczące Państwa "
        "korespondencji, prowadzone w ramach obsługi Państwa poczty: 1 wątek i 1 wiadomość (nadawcy, tematy, daty "
        "oraz wysłane potwierdzenia). Usunięcie nie obejmuje samych wiadomości w skrzynce pocztowej. "
        "Numer referencyjny: umowa 3/2025.\n\nZ poważaniem\nKasia Nowak")}
    data = raw(rules.database)
    assert b"Chlebowski" not in data and b"Chleb-zamowienie" not in data and b"piekarnia-x" not in data
    assert b"Nowicka" in data and b"Kowalski" in data
    assert table(rules.database, "SELECT count(*) FROM meta WHERE key LIKE 'report_sent:%'") == [(0,)]
    with pytest.raises(Exception, match="no client named 'Nobody'"):
        privacy.purge_client(Store(rules.database), rules, "Nobody", NOW)


@pytest.mark.parametrize(("threads", "messages", "language", "text"), [
    (1, 1, "pl", "1 wątek i 1 wiadomość"), (2, 5, "pl", "2 wątki i 5 wiadomości"),
    (3, 12, "pl", "3 wątki i 12 wiadomości"), (4, 2, "pl", "4 wątki i 2 wiadomości"),
    (5, 22, "pl", "5 wątków i 22 wiadomości"), (12, 1, "pl", "12 wątków i 1 wiadomość"),
    (22, 14, "pl", "22 wątki i 14 wiadomości"), (112, 0, "pl", "112 wątków i 0 wiadomości"),
    (1, 1, "en", "1 thread and 1 message"), (12, 40, "en", "12 threads and 40 messages"),
])
def test_the_confirmation_counts_in_good_polish_and_english(threads: int, messages: int, language: str,
                                                            text: str) -> None:
    said = privacy.confirmation(NOW.date(), threads, messages, language, "X", signature="Kasia Nowak")
    if language == "pl":
        assert said == (
            "Uprzejmie informuję, że w dniu 29 listopada 2026 r. zostały usunięte wszystkie zapisy dotyczące Państwa "
            f"korespondencji, prowadzone w ramach obsługi Państwa poczty: {text} (nadawcy, tematy, daty oraz "
            "wysłane potwierdzenia). Usunięcie nie obejmuje samych wiadomości w skrzynce pocztowej. Numer "
            "referencyjny: X.\n\nZ poważaniem\nKasia Nowak")
        assert not any(word in said for word in ("usunęłam", "usunąłem", "mailtriage", "dane"))
    else:
        assert said == (
            "This is to confirm that on 29 November 2026 all records of your correspondence kept while handling "
            f"your mail were deleted: {text} (senders, subjects, dates and the acknowledgements sent). The messages "
            "in the mailbox itself are not covered by this deletion. Reference: X.\n\nKind regards,\nKasia Nowak")
    unsigned = privacy.confirmation(NOW.date(), threads, messages, language, None, subjects=False)
    assert "Reference" not in unsigned and "referencyjny" not in unsigned and "\n" not in unsigned
    assert "subjects" not in unsigned and "tematy" not in unsigned


def test_retention_removes_settled_threads_by_calendar_months_and_a_clients_own(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, "retention: {threads: 12 months, messages: 1 month}\n")
    store = Store(rules.database)
    old, recent = NOW - timedelta(days=370), NOW - timedelta(days=300)
    thread_with(store, "<old-closed@x.pl>", "a@x.pl", "Anna Stara", "Stary-temat", None, old,
                state=ThreadState.CLOSED)
    thread_with(store, "<old-open@x.pl>", "b@x.pl", "Bogdan Otwarty", "Otwarty-temat", None, old)
    thread_with(store, "<recent@x.pl>", "c@x.pl", "Cecylia Nowa", "Nowy-temat", None, recent,
                state=ThreadState.IGNORED)
    with store.transaction():
        store.record_answer(store.thread("<recent@x.pl>") or pytest.fail(), recent, AnsweredVia.SENT, 60)
        store.insert_message(Message("INBOX", 9, 99, "<spam@x.pl>", NOW - timedelta(days=40), Decision.SKIP, "list",
                                     sender="list@x.pl", subject="Lista-stara"))
    assert privacy.expire(store, rules, NOW, dry_run=True).counts["threads"] == 1
    erasure = privacy.expire(store, rules, NOW)
    assert (erasure.counts["threads"], erasure.counts["messages"]) == (1, 2)
    assert table(rules.database, "SELECT id FROM threads ORDER BY number") == [("<old-open@x.pl>",),
                                                                             ("<recent@x.pl>",)]
    data = raw(rules.database)
    assert b"Stary-temat" not in data and b"Lista-stara" not in data and b"Anna Stara" not in data
    assert b"Otwarty-temat" in data and b"Nowy-temat" in data
    assert table(rules.database, "SELECT kind, threads FROM erasures") == [("retention", 1)]
    assert store.removed_since("2026-11-01") == 1
    # A client keeping its threads for 6 months: its thread closed 7 months ago goes, the others stay.
    thread_with(store, "<acme@acme.pl>", "x@acme.pl", "Xawery", "Acme-temat", "Acme", NOW - timedelta(days=210),
                state=ThreadState.CLOSED)
    assert privacy.expire(store, rules, NOW).counts["threads"] == 0
    path = tmp_path / "rules.yaml"
    path.write_text(path.read_text().replace("respond_within: same business day,",
                                             "respond_within: same business day, retention: {threads: 6 months},"))
    assert privacy.expire(store, load(path), NOW).counts["threads"] == 1
    assert table(rules.database, "SELECT id FROM threads ORDER BY number") == [("<old-open@x.pl>",),
                                                                             ("<recent@x.pl>",)]
    store.close()


def test_export_of_a_person_and_of_a_client_in_words_a_person_reads(tmp_path: Path) -> None:
    rules = rules_for(tmp_path)
    fill(rules.database)
    store = Store(rules.database)
    person = privacy.export(store, rules, NOW, address="JAN.KOWALSKI@acme.pl")
    # Acme of rules.yaml (account default), and an Acme in records of an account gone from it (biuro).
    with pytest.raises(MailtriageError, match="accounts default, biuro each have a client 'acme': name one"):
        privacy.export(store, rules, NOW, client="acme")
    client = privacy.export(store, rules, NOW, client="acme", account="default")
    old = privacy.export(store, rules, NOW, client="acme", account="biuro")
    store.close()
    assert old["about"] == {"client": "acme", "mailbox": "biuro"}
    assert [t["subject"] for t in old["threads"]] == ["Biuro-tajne"]  # type: ignore[index]
    assert person["about"] == {"email_address": JAN}
    threads, messages, replies = person["threads"], person["messages"], person["automatic_replies"]
    assert isinstance(threads, list) and isinstance(messages, list) and isinstance(replies, list)
    assert sorted(t["subject"] for t in threads) == ["Biuro-tajne", "Faktura Zamojski"]
    assert {m["from"] for m in messages} == {JAN, "JAN.Kowalski@acme.pl"} and len(messages) == 3
    assert all("Nowicka" not in json.dumps(m) for m in threads)
    assert any("Dear Jan Kowalski" in (r["text"] or "") for r in replies)
    assert set(messages[0]) >= {"received", "from", "from_name", "subject", "what_mailtriage_did", "why"}
    assert client["about"] == {"client": "Acme", "mailbox": "default"}
    assert len(client["threads"]) == 2  # type: ignore[arg-type]
    assert "Chlebowski" not in json.dumps(client, ensure_ascii=False)


def test_the_summary_says_how_many_threads_retention_removed(tmp_path: Path) -> None:
    from mailtriage.app.summary import gather, render

    rules = rules_for(tmp_path, "summary: {to: kasia@example.com}\n")
    store = Store(rules.database)
    for n in range(2):
        thread_with(store, f"<old{n}@x.pl>", "a@x.pl", "Anna", "Temat", None, NOW - timedelta(days=400),
                    state=ThreadState.CLOSED)
    privacy.daily_retention(store, rules, NOW)
    summary = gather(store, rules, NOW + timedelta(hours=1))
    assert summary.removed == 2
    text, html = render(summary, rules)
    assert "RETENTION: 2 threads past the retention period removed from the database" in text
    assert "Past the retention period, removed from the database: 2 threads." in html
    polish = rules.model_copy(update={"language": "pl"})
    text, _ = render(gather(store, polish, NOW + timedelta(hours=1)), polish)
    assert "PRZECHOWYWANIE: z bazy usunięto 2 wątki po upływie okresu przechowywania" in text
    store.close()


def test_the_files_are_the_owners_alone_and_doctor_warns_when_not(tmp_path: Path) -> None:
    from mailtriage.app.doctor import privacy_step

    rules = rules_for(tmp_path)
    store = Store(rules.database)  # open: the WAL and SHM files exist
    thread_with(store, "<t@x.pl>", "a@x.pl", "Anna", "Temat", None, NOW)
    files = [rules.database, Path(f"{rules.database}-wal"), Path(f"{rules.database}-shm")]
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}
    assert oct(rules.database.parent.stat().st_mode & 0o777) == "0o700"
    assert privacy_step(rules).status == "ok"
    files[1].chmod(0o644)
    rules.database.chmod(0o640)
    warned = privacy_step(rules)
    assert warned.status == "warn" and f"{files[1]} (0644)" in warned.detail and "(0640)" in warned.detail
    Store(rules.database).close()  # opening makes the WAL owner-only again (the first store keeps it there)
    assert files[1].stat().st_mode & 0o777 == 0o600
    store.close()


def test_an_export_file_is_written_owner_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli import run_cli

    rules = rules_for(tmp_path)
    fill(rules.database)
    output = tmp_path / "jan.json"
    code, out, err = run_cli(capsys, "-c", tmp_path / "rules.yaml", "export", "--address", JAN, "--output", output,
                             "--json")
    assert code == 0, err
    assert json.loads(out) == {"output": str(output), "threads": 2, "messages": 3, "automatic_replies": 2}
    assert output.stat().st_mode & 0o777 == 0o600
    assert json.loads(output.read_text(encoding="utf-8"))["about"] == {"email_address": JAN}
    code, _, err = run_cli(capsys, "-c", tmp_path / "rules.yaml", "export")
    assert code == 2 and "give --address ADDRESS, --client NAME or --erasures" in err
    code, _, err = run_cli(capsys, "-c", tmp_path / "rules.yaml", "forget", JAN, "--reference", "REQ-9", "--json")
    assert code == 0, err
    code, out, err = run_cli(capsys, "-c", tmp_path / "rules.yaml", "export", "--erasures", "--json")
    assert code == 0, err
    (entry,) = json.loads(out)["erasures"]
    assert (entry["kind"], entry["reference"], entry["threads"], entry["messages"]) == ("forget", "REQ-9", 2, 3)
    assert "kowalski" not in out.lower()


def test_validate_and_schema_know_retention_and_store_subjects(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli import run_cli

    rules_for(tmp_path, "retention: {threads: 2 years, messages: 90 days}\nstore_subjects: false\n")
    path = tmp_path / "rules.yaml"
    path.write_text(path.read_text().replace("language: pl}", "language: pl, retention: {threads: 1 month}}"))
    code, out, err = run_cli(capsys, "-c", path, "validate", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["retention"] == {"threads": "2 years", "messages": "90 days", "clients": {"Piekarnia": "1 month"}}
    assert data["store_subjects"] is False
    code, out, _ = run_cli(capsys, "-c", path, "validate")
    assert "  retention:   threads 2 years, messages 90 days, Piekarnia: threads 1 month; no subjects stored" in out
    code, out, _ = run_cli(capsys, "schema")
    properties = json.loads(out)["properties"]
    assert properties["store_subjects"]["type"] == "boolean"
    assert "retention" in properties and "Retention" in json.dumps(json.loads(out)["$defs"])


def test_forget_takes_whole_addresses_only(tmp_path: Path) -> None:
    """an@acme.pl is not jan.kowalski@acme.pl's tail: nobody else's records go."""
    rules = rules_for(tmp_path)
    fill(rules.database)
    store = Store(rules.database)
    erasure = privacy.forget(store, rules, "kowalski@acme.pl", NOW)
    assert erasure.counts["threads"] == erasure.counts["messages"] == erasure.counts["replies"] == 0
    assert "removed 0 threads, 0 messages, 0 replies" in erasure.text("forget kowalski@acme.pl")
    assert "nothing was stored about kowalski@acme.pl" in erasure.text("forget kowalski@acme.pl")
    store.close()
    assert b"Kowalski" in raw(rules.database) and b"jan.kowalski@acme.pl" in raw(rules.database)
    assert table(rules.database, "SELECT value FROM meta WHERE key = 'last_check'") == [
        (json.dumps({"status": f"1 new from {JAN}"}),)]
    store = Store(rules.database)
    text = privacy.forget(store, rules, JAN, NOW).text(f"forget {JAN}")
    store.close()
    assert text.startswith(f"forget {JAN}: removed 2 threads (#1, #4), 3 messages, 2 replies and ")


def test_the_daemon_applies_retention_once_a_day_before_the_summary(
        tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.app.daemon import Daemon
    from tests.conftest import SMTP_PASSWORD

    monkeypatch.setenv("MT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    path = tmp_path / "rules.yaml"
    path.write_text(loopback_rules(1143, smtp.port, smtp_password="password_env: MT_TEST_SMTP_PASSWORD",
                                   database=str(tmp_path / "state" / "mailtriage.db"),
                                   extra="summary: {to: kasia@example.com}\ncheck_on_days_off: true\n"))
    rules = load(path)
    store = Store(rules.database)
    now = datetime.now(UTC)
    for n in range(3):
        thread_with(store, f"<old{n}@x.pl>", "a@x.pl", "Anna Stara", "Stary-temat", None, now - timedelta(days=400),
                    state=ThreadState.CLOSED)
    store.close()
    Daemon(path, rules).run_summary()
    assert len(smtp.messages) == 1
    assert b"RETENTION: 3 threads past the retention period removed from the database" in smtp.messages[0].data
    assert table(rules.database, "SELECT count(*) FROM threads") == [(0,)]
    assert b"Anna Stara" not in raw(rules.database)


def test_without_a_summary_the_daemon_applies_retention_after_the_first_check_of_the_day(tmp_path: Path) -> None:
    from mailtriage.app.daemon import Daemon

    path = tmp_path / "rules.yaml"
    path.write_text(loopback_rules(1143, 1025, smtp_password="password_env: MT_TEST_SMTP",
                                   database=str(tmp_path / "state" / "mailtriage.db")))
    rules = load(path)
    assert rules.summary is None
    store = Store(rules.database)
    now = datetime.now(UTC)
    thread_with(store, "<old@x.pl>", "a@x.pl", "Anna Stara", "Stary-temat", None, now - timedelta(days=400),
                state=ThreadState.CLOSED)
    daemon = Daemon(path, rules)
    daemon.after_check(store, rules, now)
    assert table(rules.database, "SELECT count(*) FROM threads") == [(0,)]
    thread_with(store, "<old2@x.pl>", "b@x.pl", "Bogdan Stary", "Temat", None, now - timedelta(days=400),
                state=ThreadState.CLOSED)
    daemon.after_check(store, rules, now + timedelta(hours=4))  # the same day: once is enough
    assert table(rules.database, "SELECT count(*) FROM threads") == [(1,)]
    daemon.after_check(store, rules, now + timedelta(days=1))
    assert table(rules.database, "SELECT count(*) FROM threads") == [(0,)]
    store.close()


@pytest.mark.parametrize(("text", "now", "then"), [
    ("1 month", datetime(2026, 3, 31, 9, tzinfo=UTC), datetime(2026, 2, 28, 9, tzinfo=UTC)),
    ("12 months", datetime(2028, 2, 29, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC)),
    ("2 years", datetime(2026, 11, 29, tzinfo=UTC), datetime(2024, 11, 29, tzinfo=UTC)),
    ("90 days", datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 8, 31, tzinfo=UTC)),
])
def test_retention_counts_calendar_months(text: str, now: datetime, then: datetime) -> None:
    from mailtriage.core.typed import ago

    assert ago(text, now) == then


def test_retention_removes_more_threads_than_sqlite_takes_parameters(tmp_path: Path) -> None:
    """40,000 threads at once: the keys go to SQLite as one JSON array, not one ? each (at most 32,766)."""
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    old = "2025-01-01T00:00:00+00:00"
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO threads (id, sender, first_received, last_received, opened_at, state, closed_at)"
            " VALUES (?, 'a@x.pl', ?, ?, ?, 'closed', ?)", [(f"<{n}@x.pl>", old, old, old, old) for n in range(40_000)])
    assert privacy.expire(store, rules, NOW).counts["threads"] == 40_000
    assert store.count("SELECT count(*) FROM threads") == 0
    store.close()


def test_a_name_like_a_client_or_a_json_key_is_not_scrubbed_from_other_peoples_rows(tmp_path: Path) -> None:
    """Forgetting someone named 'Acme' or 'Status' keeps 'client Acme' in others' reasons and status whole."""
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    at = NOW - timedelta(days=2)
    thread_with(store, "<a1@x.pl>", "acme@x.pl", "Acme", "Pytanie", "Acme", at)
    thread_with(store, "<s1@x.pl>", "status@x.pl", "Status", "Pytanie 2", None, at)
    thread_with(store, "<e1@acme.pl>", "ewa@acme.pl", "Ewa Nowicka", "Umowa", "Acme", at)
    store.set_meta("last_check", json.dumps({"at": NOW.isoformat(), "ok": True, "status": "3 new"}))
    privacy.forget(store, rules, "acme@x.pl", NOW)
    privacy.forget(store, rules, "status@x.pl", NOW)
    assert table(rules.database, "SELECT reason FROM messages WHERE sender = 'ewa@acme.pl'") == [("client Acme",)]
    assert json.loads(store.get_meta("last_check") or "") == {"at": NOW.isoformat(), "ok": True, "status": "3 new"}
    store.close()


def test_a_web_forms_thread_for_a_person_goes_with_them(tmp_path: Path) -> None:
    """From the form's no-reply relay, Reply-To the person: their thread, name and subject go too."""
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    at = NOW - timedelta(days=2)
    thread_with(store, "<f1@form.pl>", "noreply@form.pl", "Jan Kowalski via Formularz", "Rozwód Kowalskich", None,
                at, reply=False)
    store.execute("UPDATE messages SET reply_to = ? WHERE message_id = '<f1@form.pl>'", [JAN])
    thread_with(store, "<e1@acme.pl>", "ewa@acme.pl", "Ewa Nowicka", "Umowa", "Acme", at)
    erasure = privacy.forget(store, rules, JAN, NOW, reference=f"request of {JAN}")
    store.close()
    assert erasure.counts["threads"] == 1 and erasure.counts["messages"] == 1
    assert table(rules.database, "SELECT sender FROM threads") == [("ewa@acme.pl",)]
    assert table(rules.database, "SELECT reference FROM erasures") == [("request of [removed]",)]
    data = raw(rules.database)
    assert b"Kowalsk" not in data and b"Rozw" not in data and b"Nowicka" in data


def test_forget_finds_a_name_in_any_case_in_a_thread_where_they_wrote(tmp_path: Path) -> None:
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    at = NOW - timedelta(days=2)
    thread_with(store, "<l1@acme.pl>", "lukasz@acme.pl", "Łukasz Żółkiewski", "Oferta", "Acme", at)
    with store.transaction():  # Łukasz answers in Ewa's thread; his name is quoted in her thread's reason
        store.insert_thread(Thread("<e1@acme.pl>", "ewa@acme.pl", at, at, ThreadState.OPEN, client="Acme",
                                   sender_name="Ewa Nowicka", subject="Umowa", reason="ŁUKASZ ŻÓŁKIEWSKI asked"))
        message(store, "<e1@acme.pl>", "<e1@acme.pl>", "ewa@acme.pl", "Ewa Nowicka", "Umowa", "Acme", at)
    with store.transaction():
        message(store, "<e2@acme.pl>", "<e1@acme.pl>", "lukasz@acme.pl", "Łukasz Żółkiewski", "Re: Umowa", "Acme",
                at + timedelta(hours=1))
    privacy.forget(store, rules, "lukasz@acme.pl", NOW)
    store.close()
    assert table(rules.database, "SELECT reason FROM threads") == [("[removed] asked",)]
    assert "Żółkiewski".encode() not in raw(rules.database) and "ŻÓŁKIEWSKI".encode() not in raw(rules.database)


def test_without_subjects_a_reason_and_a_reply_that_never_went_out_keep_none(tmp_path: Path) -> None:
    from mailtriage.app.check import outbox
    from mailtriage.app.check.record import scrub_subject

    subject = "Invitation: Rozwód Kowalskich @ Mon 30 Nov 2026 10:00 - 11:00"
    reason = f"a calendar system's invitation ({subject[:40]!r})"
    assert scrub_subject(reason, subject) == "a calendar system's invitation ((subject not stored))"
    assert scrub_subject("from 'Jan' about x", "Hello there") == "from 'Jan' about x"  # another quote stays
    rules = rules_for(tmp_path, "store_subjects: false\n").model_copy(update={"smtp": None})
    store = Store(rules.database)
    thread_with(store, "<t1@acme.pl>", JAN, "Jan Kowalski", "Rozwód Kowalskich", "Acme", NOW, reply=False)
    with store.transaction():
        store.plan_reply(Reply("<t1@acme.pl>", "<t1@acme.pl>", "<r1@x>", JAN, JAN, NOW,
                               reply_bytes("Jan Kowalski", JAN, "Rozwód Kowalskich")))
    reply = store.claim_next()
    assert reply is not None
    store.fail_reply(reply.id, "550 no such user")
    outbox.send(store, rules, NOW)  # no smtp: nothing goes out, yet the failed one's text is dropped
    assert table(rules.database, "SELECT state, length(data) FROM replies") == [("failed", 0)]
    store.close()


@pytest.mark.slow  # the checkpoints wait out the busy timeout (10 s each) while the reader holds on
def test_a_reader_that_keeps_the_wal_delays_the_rewrite_and_the_daemon_finishes_it(tmp_path: Path) -> None:
    rules = rules_for(tmp_path)
    fill(rules.database)
    reader = sqlite3.connect(rules.database, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM threads").fetchone()  # a read transaction holds the WAL's old pages
    store = Store(rules.database)
    erasure = privacy.forget(store, rules, JAN, NOW)
    assert not erasure.compacted and store.compact_pending()
    assert "the daemon finishes the job after its next check" in erasure.text("forget")
    reader.close()
    privacy.finish_erasure(store, rules)  # what the daemon does after a check
    assert not store.compact_pending()
    store.close()
    assert [word for word in GONE if word in raw(rules.database)] == []


def test_forget_takes_every_spelling_of_a_person_and_leaves_others_who_only_name_them(tmp_path: Path) -> None:
    """ewa@ and ewa+faktury@ are one person (as the sender limit counts); Bob's message that names
    her in Reply-To stays Bob's, without her address."""
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    at = NOW - timedelta(days=2)
    thread_with(store, "<e1@acme.pl>", "ewa+faktury@acme.pl", "Ewa Nowicka", "Faktura 7", "Acme", at)
    thread_with(store, "<b1@other.pl>", "bob@other.pl", "Bob Smith", "Question", None, at)
    store.execute("UPDATE messages SET reply_to = 'Ewa@Acme.pl' WHERE sender = 'bob@other.pl'")
    erasure = privacy.forget(store, rules, "EWA@acme.pl", NOW)
    store.close()
    assert (erasure.counts["threads"], erasure.counts["messages"], erasure.counts["replies"]) == (1, 1, 1)
    assert table(rules.database, "SELECT sender, reply_to FROM messages") == [("bob@other.pl", None)]
    assert table(rules.database, "SELECT count(*) FROM threads WHERE sender = 'bob@other.pl'") == [(1,)]
    data = raw(rules.database).lower()
    assert b"ewa" not in data and b"nowicka" not in data and b"bob smith" in data


@pytest.mark.parametrize(("address", "said"), [
    ("alice@one.pl, jan@acme.pl", "one address at a time"),
    ("a@b.pl; c@d.pl", "one address at a time"),
    ("bad@", "not an email address"),
])
def test_forget_refuses_anything_but_one_address(tmp_path: Path, address: str, said: str) -> None:
    rules = rules_for(tmp_path)
    store = Store(rules.database)
    with pytest.raises(MailtriageError, match=said):
        privacy.forget(store, rules, address, NOW)
    store.close()


def test_export_output_is_a_new_file_never_mailtriages_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli import run_cli

    rules = rules_for(tmp_path)
    fill(rules.database)
    config = tmp_path / "rules.yaml"
    before = rules.database.read_bytes()
    for output, said in ((rules.database, "is mailtriage's own file"), (config, "is mailtriage's own file"),
                         (tmp_path, "is a folder"), (tmp_path / "nowhere" / "x.json", "does not exist")):
        code, out, err = run_cli(capsys, "-c", config, "export", "--client", "Acme", "--account", "default",
                                 "--output", output)
        assert code == 2 and said in err and "Traceback" not in err, (output, err)
    assert rules.database.read_bytes() == before
    taken = tmp_path / "acme.json"
    taken.write_text("mine")
    code, _, err = run_cli(capsys, "-c", config, "export", "--client", "Acme", "--account", "default",
                           "--output", taken)
    assert code == 2 and "already there" in err and taken.read_text() == "mine"
    code, _, _ = run_cli(capsys, "-c", config, "export", "--client", "Acme", "--account", "default",
                         "--output", taken, "--force")
    assert code == 0 and json.loads(taken.read_text())["threads"]
    code, out, _ = run_cli(capsys, "-c", config, "export", "--client", "Acme", "--account", "default", "--output", "-")
    assert code == 0 and json.loads(out)["threads"] and not (tmp_path / "-").exists()


def test_a_retention_past_a_hundred_years_is_refused_with_its_line(tmp_path: Path) -> None:
    from mailtriage.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        rules_for(tmp_path, "retention: {threads: 3000 years}\n")
    problem = str(caught.value.problems[0])
    assert "rules.yaml:" in problem and "retention.threads" in problem and "at most 100 years" in problem


@pytest.mark.parametrize("reference", ["umowa 1\n\nZ poważaniem\nFAKE", "x" * 201, "  "])
def test_a_reference_is_one_short_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: str) -> None:
    from tests.cli import run_cli

    rules = rules_for(tmp_path)
    fill(rules.database)
    code, out, err = run_cli(capsys, "-c", tmp_path / "rules.yaml", "forget", JAN, "--reference", reference)
    assert code == 2 and "one line of at most 200 characters" in err and out == ""
    assert len(err) < 400  # the refusal does not echo a huge argument back
