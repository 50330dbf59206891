"""`mailtriage demo`: the whole cycle on this machine, against real servers, touching nothing else.

It starts a private Dovecot (loopback, a random port, its own folder) and a local SMTP server that
keeps what it receives, fills a mailbox with a handful of realistic messages, runs the real
commands (`check`, `threads`, `summary --print`) as a user would, and shows what each did and why.
Everything is said on stdout, in order; with `keep` the servers stay up for the user's own tries.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from imapclient import IMAPClient

from mailtriage.config.readiness import DEMO_ADDRESS
from mailtriage.core.models import Decision
from mailtriage.core.wording import when
from mailtriage.demo import servers as demoservers
from mailtriage.demo.rules import loopback_rules

PASSWORD = "demo-password"

MESSAGES = [
    # A client, in English.
    "From: Jan Kowalski <jan.kowalski@acme.pl>\nTo: Kasia Nowak <" + DEMO_ADDRESS + ">\n"
    "Subject: Invoice for November\nMessage-ID: <demo-1@acme.pl>\n\nCould you send the invoice?\n",
    # A client with a Polish subject (RFC 2047).
    "From: =?utf-8?q?Zofia_=C5=BBy=C5=82ka?= <zofia@piekarnia-krakow.pl>\nTo: " + DEMO_ADDRESS + "\n"
    "Subject: =?utf-8?b?WmFtw7N3aWVuaWUgY2hsZWJhIG5hIMWbcm9kxJk=?=\nMessage-ID: <demo-2@piekarnia-krakow.pl>\n\n"
    "Prosze o potwierdzenie.\n",
    # Someone new.
    "From: Anna Lis <anna.lis@gmail.com>\nTo: " + DEMO_ADDRESS + "\nSubject: Pytanie o ofertę\n"
    "Message-ID: <demo-3@gmail.com>\nContent-Type: text/plain; charset=utf-8\n\nDzien dobry!\n",
    # An out-of-office answer.
    "From: Piotr Nowicki <piotr@firma.pl>\nTo: " + DEMO_ADDRESS + "\nSubject: Out of Office: Oferta\n"
    "Auto-Submitted: auto-replied\nMessage-ID: <demo-4@firma.pl>\n\nI am away until Monday.\n",
    # A bounce.
    "Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: " + DEMO_ADDRESS + "\n"
    "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <demo-5@mx.example.net>\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\nfailed\n--b--\n",
    # A newsletter from a client set to `ignore`, and a mailing list post.
    "From: Weekly <weekly@substack.com>\nTo: " + DEMO_ADDRESS + "\nSubject: This week\n"
    "List-Unsubscribe: <mailto:leave@substack.com>\nMessage-ID: <demo-6@substack.com>\n\nNews.\n",
    "From: Alice <alice@example.org>\nTo: python-dev@python.org\nCc: " + DEMO_ADDRESS + "\n"
    "Subject: [Python-Dev] Release\nList-Id: <python-dev.python.org>\nMessage-ID: <demo-7@example.org>\n\nHi\n",
]


ZONE = ZoneInfo("Europe/Warsaw")
Say = Callable[[str], None]


def run_demo(say: Say, keep: bool = False) -> int:
    """Run the demo; `say` prints. Returns the number of holding replies sent."""
    workdir = Path(tempfile.mkdtemp(prefix="mailtriage-demo-"))
    workdir.chmod(0o711)  # Dovecot's mail processes run as another user and must pass through it
    password_file = workdir / "imap-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    servers = demoservers.start(workdir, PASSWORD)
    rules = workdir / "rules.yaml"
    rules.write_text(loopback_rules(
        servers.imap_port, servers.smtp_port, imap_password=f"password_file: {password_file}", language="pl",
        holidays='{country: PL, extra: ["2026-12-31"]}', respond_within="2 business days",
        settings='business_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:00"}',
        extra=f'summary: {{to: {DEMO_ADDRESS}, at: "07:30"}}\n', address=DEMO_ADDRESS))
    kept = False
    try:
        say(f"A private Dovecot listens on 127.0.0.1:{servers.imap_port} (IMAP) and an SMTP server that keeps "
            f"what it receives on 127.0.0.1:{servers.smtp_port};\nrules.yaml, the database and both servers' "
            f"files are in {workdir}\n")
        say(f"$ mailtriage -c {rules} check")
        say("  The first check notes where the mailbox stands: nothing already there gets a reply.")
        _check(rules, say)
        _deliver(servers.imap_port)
        say(f"\n{len(MESSAGES)} messages arrive. $ mailtriage -c {rules} check")
        _check(rules, say)
        sent = servers.messages()
        say(f"\nThe SMTP server received {len(sent)} holding replies ({servers.received}/):")
        for data in sent:
            _show_reply(data, say)
        say("-" * 72)
        say(f"\nThreads recorded in SQLite. $ mailtriage -c {rules} threads")
        say(_indent(_cli(rules, "threads")[0]))
        say(f"\nThe morning summary, as it is mailed to {DEMO_ADDRESS} at 07:30. "
            f"$ mailtriage -c {rules} summary --print")
        say(_indent(_cli(rules, "summary", "--print")[0]))
        if keep:
            _next_steps(servers, rules, say)
            kept = True
        else:
            say(f"\nDone: the servers are stopped and the folder removed. `{program()} demo --keep` leaves them "
                "running, to try the commands yourself.")
        return len(sent)
    finally:
        if not kept:
            demoservers.stop(workdir)


def _cli(rules: Path, *args: str) -> tuple[str, str]:
    """Run `mailtriage -c RULES ARGS` as the user would, in a process of its own: (stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "mailtriage", "-c", str(rules), *args], capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode:
        raise demoservers.DemoError(f"mailtriage {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout, done.stderr


def _check(rules: Path, say: Say) -> None:
    """One check, one line per message naming its sender; check's own totals follow, in order."""
    out, err = _cli(rules, "check", "--json")
    for line in out.splitlines():
        say("  " + _verdict(json.loads(line)))
    say(_indent(err.rstrip()))


def _verdict(line: Mapping[str, str | None]) -> str:
    who = f"{line['sender']} ({line['client'] or 'no client'})"
    due = f", due {when(datetime.fromisoformat(line['deadline']), ZONE, datetime.now(ZONE))}" \
        if line["deadline"] else ""
    if line["decision"] == Decision.REPLY:
        return f"{who}: holding reply to {line['reply_to']}{due}"
    if line["decision"] == Decision.IGNORE:
        return f"{who}: ignored, as its client's action says: {line['reason']}"
    if line["decision"] == Decision.RECORD:
        return f"{who}: recorded, no reply: {line['reason']}{due}"
    return f"{who}: no reply: {line['reason']}"


def _deliver(port: int) -> None:
    """Put the sample messages in the INBOX, as if they had just arrived."""
    arrived = datetime.now(UTC) - timedelta(minutes=5)
    imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
    imap.login("kasia", PASSWORD)
    for text in MESSAGES:
        imap.append("INBOX", text.replace("\n", "\r\n").encode("utf-8"), msg_time=arrived)
    imap.logout()


def _show_reply(data: bytes, say: Say) -> None:
    reply = email.message_from_bytes(data, policy=email.policy.default)
    say("-" * 72)
    for name in ("From", "To", "Subject", "In-Reply-To", "Auto-Submitted"):
        say(f"{name}: {reply[name]}")
    say("")
    say(reply.get_content().rstrip())


def program() -> str:
    """How to call this very mailtriage: its bare name when PATH finds this one, else its full path."""
    script = Path(sys.executable).parent / "mailtriage"
    found = shutil.which("mailtriage")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "mailtriage"
    return str(script) if script.exists() else f"{sys.executable} -m mailtriage"


def _next_steps(servers: demoservers.Servers, rules: Path, say: Say) -> None:
    say(f"\nThe servers keep running (Dovecot pid {servers.dovecot_pid}, SMTP server pid {servers.smtp_pid}); "
        "try next:")
    for args in ("threads", "explain 1", "summary --print", "preview --from jan.kowalski@gmail.com", "status"):
        say(f"  {program()} -c {rules} {args}")
    say(f"New mail for a check: any IMAP client, user kasia, password {PASSWORD}, 127.0.0.1:{servers.imap_port}; "
        f"replies land in {servers.received}/.")
    say(f"Stop the servers and remove the folder:\n  {program()} demo --stop {servers.folder}\n"
        f"  (or: kill {servers.dovecot_pid} {servers.smtp_pid} && rm -r {servers.folder})")


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.rstrip().splitlines())
