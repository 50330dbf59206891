"""`mailtriage demo`: the whole cycle on this machine, against real servers, touching nothing else.

It starts a private Dovecot (loopback, a random port, its own folder) and a local SMTP server that
keeps what it receives, fills a mailbox with a handful of realistic messages, runs one check,
and shows the holding replies that went out and the threads recorded.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mailtriage.localservers import PrivateDovecot, SmtpSink

PASSWORD = "demo-password"

RULES = """\
timezone: Europe/Warsaw
language: pl
check_times: ["08:00", "12:00", "16:00"]
business_hours: {{days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:00"}}
holidays: {{country: PL, extra: ["2026-12-31"]}}
identity: {{from: "Kasia Nowak <kasia@example.com>", addresses: [kasia@example.com]}}
imap: {{host: 127.0.0.1, port: {imap}, security: none, username: kasia, password_env: MAILTRIAGE_DEMO_PASSWORD}}
smtp: {{host: 127.0.0.1, port: {smtp}, security: none}}
database: mailtriage-demo.db
defaults: {{action: reply, respond_within: 2 business days}}
clients:
  - {{name: Acme, match: {{domains: [acme.pl]}}, respond_within: same business day, language: en}}
  - {{name: Piekarnia, match: {{patterns: ["*@piekarnia-*.pl"]}}, respond_within: 4 business hours}}
  - {{name: Newsletters, match: {{domains: [substack.com]}}, action: ignore}}
"""

MESSAGES = [
    # A client, in English.
    "From: Jan Kowalski <jan.kowalski@acme.pl>\nTo: Kasia Nowak <kasia@example.com>\n"
    "Subject: Invoice for November\nMessage-ID: <demo-1@acme.pl>\n\nCould you send the invoice?\n",
    # A client with a Polish subject (RFC 2047).
    "From: =?utf-8?q?Zofia_=C5=BBy=C5=82ka?= <zofia@piekarnia-krakow.pl>\nTo: kasia@example.com\n"
    "Subject: =?utf-8?b?WmFtw7N3aWVuaWUgY2hsZWJhIG5hIMWbcm9kxJk=?=\nMessage-ID: <demo-2@piekarnia-krakow.pl>\n\n"
    "Prosze o potwierdzenie.\n",
    # Someone new.
    "From: Anna Lis <anna.lis@gmail.com>\nTo: kasia@example.com\nSubject: Pytanie o ofertę\n"
    "Message-ID: <demo-3@gmail.com>\nContent-Type: text/plain; charset=utf-8\n\nDzien dobry!\n",
    # An out-of-office answer.
    "From: Piotr Nowicki <piotr@firma.pl>\nTo: kasia@example.com\nSubject: Out of Office: Oferta\n"
    "Auto-Submitted: auto-replied\nMessage-ID: <demo-4@firma.pl>\n\nI am away until Monday.\n",
    # A bounce.
    "Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: kasia@example.com\n"
    "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <demo-5@mx.example.net>\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\nfailed\n--b--\n",
    # A newsletter from a client set to `ignore`, and a mailing list post.
    "From: Weekly <weekly@substack.com>\nTo: kasia@example.com\nSubject: This week\n"
    "List-Unsubscribe: <mailto:leave@substack.com>\nMessage-ID: <demo-6@substack.com>\n\nNews.\n",
    "From: Alice <alice@example.org>\nTo: python-dev@python.org\nCc: kasia@example.com\n"
    "Subject: [Python-Dev] Release\nList-Id: <python-dev.python.org>\nMessage-ID: <demo-7@example.org>\n\nHi\n",
]


def run_demo(say: Callable[[str], None], keep: bool = False) -> int:
    """Run the demo; `say` prints. Returns the number of holding replies sent."""
    from mailtriage.cli import main as cli_main

    workdir = Path(tempfile.mkdtemp(prefix="mailtriage-demo-"))
    dovecot = PrivateDovecot(password=PASSWORD).start()
    smtp = SmtpSink().start()
    os.environ["MAILTRIAGE_DEMO_PASSWORD"] = PASSWORD
    rules = workdir / "rules.yaml"
    rules.write_text(RULES.format(imap=dovecot.port, smtp=smtp.port))
    try:
        say(f"Private Dovecot on 127.0.0.1:{dovecot.port}, SMTP capture on 127.0.0.1:{smtp.port}, "
            f"files in {workdir}\n")
        say("$ mailtriage check   # first check: records where the mailbox stands, answers nothing old")
        _check(cli_main, rules)
        arrived = datetime.now(UTC) - timedelta(minutes=5)
        imap = dovecot.client("kasia")
        for text in MESSAGES:
            imap.append("INBOX", text.replace("\n", "\r\n").encode("utf-8"), msg_time=arrived)
        imap.logout()
        say(f"\n{len(MESSAGES)} messages arrive. $ mailtriage check")
        _check(cli_main, rules)
        say(f"\nThe SMTP server received {len(smtp.messages)} holding replies:")
        for sent in smtp.messages:
            reply = email.message_from_bytes(sent.data, policy=email.policy.default)
            say("-" * 72)
            for name in ("From", "To", "Subject", "In-Reply-To", "Auto-Submitted"):
                say(f"{name}: {reply[name]}")
            say("")
            say(reply.get_content().rstrip())
        say("-" * 72)
        say("\nThreads recorded (SQLite):")
        _threads(workdir / "mailtriage-demo.db", say)
        return len(smtp.messages)
    finally:
        smtp.stop()
        dovecot.cleanup()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _check(cli_main: Callable[[list[str]], None], rules: Path) -> None:
    try:
        cli_main(["-c", str(rules), "check"])
    except SystemExit as exc:
        if exc.code:
            raise


def _threads(path: Path, say: Callable[[str], None]) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    for client, sender, subject, state, deadline in conn.execute(
            "SELECT client, sender, subject, state, deadline FROM threads ORDER BY first_received, id"):
        local = datetime.fromisoformat(deadline).astimezone(ZoneInfo("Europe/Warsaw")) if deadline else None
        due = f"due {local:%a %Y-%m-%d %H:%M}" if local else "no deadline"
        say(f"  {state:8} {client or '(defaults)':12} {sender:32} {subject[:34]!r:38} {due}")
    conn.close()
