"""Benchmarks: a check costs what the new mail costs, not what the mailbox costs.

    python bench/run.py [--rounds 5] [--quick]

Builds private Dovecot mailboxes (1,000 and 100,000 messages, a Sent folder of 50,000; cached in
bench/cache/ between runs), then measures mailtriage against a bare imapclient loop on the same
server in the same run. IMAP bytes are counted exactly by a loopback relay; wall time and peak
RSS are those of whole processes (`mailtriage ... check` as a user runs it). Each figure is the
median of --rounds rounds. The last step is bench/accounts.py (20 accounts in one check and in one
daemon with push; also runnable alone). Writes bench/RESULTS.md and bench/results.json. Needs the dovecot
binary (apt-get install dovecot-imapd); touches no system service.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from mailgen import mailbox, new_mail, sent_mail  # noqa: E402

from mailtriage.demo.rules import loopback_rules  # noqa: E402
from tests.servers import CountingRelay, PrivateDovecot, SmtpSink, fill_maildir  # noqa: E402

PASSWORD = "bench-password"
TIME = shutil.which("time") or "/usr/bin/time"  # GNU time (Debian package `time`)
CACHE = HERE / "cache"


class Bench:
    def __init__(self, rounds: int, big: int) -> None:
        self.rounds, self.big = rounds, big
        self.results: dict[str, Any] = {}
        self.work = Path(tempfile.mkdtemp(prefix="mailtriage-bench-"))
        CACHE.mkdir(exist_ok=True)
        self.dovecot = PrivateDovecot(password=PASSWORD, root=CACHE / "dovecot").start()
        self.relay = CountingRelay(self.dovecot.port).start()
        self.smtp = SmtpSink().start()
        self.env = {**os.environ, "BENCH_PASSWORD": PASSWORD, "PYTHONDONTWRITEBYTECODE": "1"}
        # A user runs an installed wheel, which pip byte-compiles at install time (as it did imapclient,
        # which the bare client imports): the checkout is compiled the same way before anything is
        # measured, or every mailtriage process would compile its own modules from source again.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "mailtriage")], check=True,
                       stdout=subprocess.DEVNULL)

    def close(self) -> None:
        self.smtp.stop()
        self.relay.stop()
        self.dovecot.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- plumbing -----------------------------------------------------------------------------

    def cached_user(self, user: str, count: int, folder: str = "INBOX", maker: Callable[..., Any] = mailbox) -> str:
        """A user whose folder holds `count` messages; built once, then reused from bench/cache."""
        marker = CACHE / f".ready-{user}"
        if not marker.exists():
            print(f"building {user}: {count:,} messages in {folder} ...", flush=True)
            fill_maildir(self.dovecot, user, maker(count), folder_name=folder)
            imap = self.dovecot.client(user)
            imap.select_folder(folder, readonly=True)  # let Dovecot index it now, not during a measurement
            imap.logout()
            marker.touch()
        return user

    def rules(self, user: str, name: str) -> Path:
        folder = self.work / name
        folder.mkdir(exist_ok=True)
        path = folder / "rules.yaml"
        path.write_text(loopback_rules(self.relay.port, self.smtp.port, user=user, language="pl", clients=False,
                                       imap_password="password_env: BENCH_PASSWORD", database=folder / "mailtriage.db"))
        return path

    def process(self, *args: str) -> dict[str, Any]:
        """Run a command; its wall time, peak RSS and the IMAP bytes the server sent meanwhile.

        Peak RSS is read by GNU time, which forks the command from its own small process: a child
        forked from this (larger) Python process would inherit its high-water mark.
        """
        self.relay.reset()
        with tempfile.NamedTemporaryFile() as rss, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            child = subprocess.run([TIME, "-f", "%M", "-o", rss.name, *args], stdout=out, stderr=err,
                                   env=self.env, check=False)
            seconds = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
            peak_kb = int(Path(rss.name).read_text().split()[-1])
        if child.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {child.returncode}: {stderr[-2000:]}")
        time.sleep(0.05)  # let the relay count the last bytes
        return {"seconds": seconds, "rss_mb": peak_kb / 1024, "imap_bytes": self.relay.server_bytes,
                "stdout": stdout, "stderr": stderr}

    def mailtriage(self, rules: Path, *args: str) -> dict[str, Any]:
        return self.process(sys.executable, "-m", "mailtriage", "-c", str(rules), *args)

    def bare(self, user: str, last_uid: int, folder: str = "INBOX") -> dict[str, Any]:
        result = self.process(sys.executable, str(HERE / "bare.py"), str(self.relay.port), user, PASSWORD,
                              str(last_uid), folder)
        count, fetch_seconds = result["stdout"].split()
        return {**result, "fetched": int(count), "fetch_seconds": float(fetch_seconds)}

    def append(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        imap = self.dovecot.client(user)
        for raw in messages:
            imap.append(folder, raw)
        imap.logout()

    def expunge_newer_than(self, user: str, last_uid: int, folder: str = "INBOX") -> None:
        imap = self.dovecot.client(user)
        imap.select_folder(folder)
        uids = [u for u in imap.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid]
        if uids:
            imap.delete_messages(uids)
            imap.expunge()
        imap.logout()

    @staticmethod
    def last_uid(rules: Path, folder: str = "INBOX", kind: str = "incoming") -> int:
        """The folder's mark; the Sent folder's is the row of kind 'sent' (store/marks.py)."""
        conn = sqlite3.connect(rules.parent / "mailtriage.db")
        row = conn.execute("SELECT last_uid FROM folders WHERE name = ? AND kind = ?", [folder, kind]).fetchone()
        conn.close()
        return int(row[0])

    @staticmethod
    def median(rows: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(row[key] for row in rows))

    def summarise(self, rows: list[dict[str, Any]], *keys: str) -> dict[str, float]:
        return {key: round(self.median(rows, key), 4) for key in keys}

    # --- scenarios ----------------------------------------------------------------------------

    def first_run_and_idle(self) -> None:
        user = self.cached_user(f"inbox{self.big}", self.big)
        first, idle = [], []
        for r in range(self.rounds):
            rules = self.rules(user, f"first-{r}")
            first.append(self.mailtriage(rules, "check"))
            idle.append(self.mailtriage(rules, "check"))
        self.results["first_run"] = {"messages": self.big, **self.summarise(first, "seconds", "imap_bytes", "rss_mb")}
        self.results["idle_check"] = {"messages": self.big, **self.summarise(idle, "seconds", "imap_bytes", "rss_mb")}

    def idle_tiny(self) -> None:
        """The most common check of all: a tiny mailbox, nothing new. Start-up is nearly all of it."""
        user = self.cached_user("tiny10", 10)
        rules = self.rules(user, "idle-tiny")
        self.mailtriage(rules, "check")  # the baseline
        ours, bare = [], []
        for _ in range(self.rounds):
            bare.append(self.bare(user, self.last_uid(rules)))
            ours.append(self.mailtriage(rules, "check"))
        self.results["idle_tiny"] = {
            "messages": 10, "mailtriage": self.summarise(ours, "seconds", "imap_bytes", "rss_mb"),
            "bare": self.summarise(bare, "seconds", "imap_bytes", "rss_mb", "fetch_seconds")}

    def hundred_new(self, size: int) -> None:
        user = self.cached_user(f"inbox{size}", size)
        rules = self.rules(user, f"new-{size}")
        self.mailtriage(rules, "check")  # the baseline
        ours, bare, replies, daemon = [], [], [], []
        for r in range(self.rounds):
            last = self.last_uid(rules)
            self.append(user, new_mail(100, tag=f"n{size}r{r}t{int(time.time())}"))
            bare.append(self.bare(user, last))
            before = len(self.smtp.messages)
            ours.append(self.mailtriage(rules, "check"))
            replies.append(len(self.smtp.messages) - before)
            self.expunge_newer_than(user, last)
            # The same again, timed as the daemon runs it (start-up paid once, not per check).
            last = self.last_uid(rules)
            self.append(user, new_mail(100, tag=f"d{size}r{r}t{int(time.time())}"))
            result = self.process(sys.executable, str(HERE / "inprocess.py"), str(rules))
            daemon.append({**result, "check_seconds": float(result["stdout"])})
            self.expunge_newer_than(user, last)
        self.results[f"new_100_at_{size}"] = {
            "mailtriage": self.summarise(ours, "seconds", "imap_bytes", "rss_mb"),
            "bare": {**self.summarise(bare, "seconds", "imap_bytes", "rss_mb", "fetch_seconds"),
                     "fetched": bare[0]["fetched"]},
            "holding_replies": statistics.median(replies),
            "daemon_check_seconds": round(self.median(daemon, "check_seconds"), 4),
        }

    def answer_detection(self, sent_size: int) -> None:
        user = self.cached_user(f"sent{sent_size}", sent_size, folder="Sent", maker=lambda n: sent_mail(n))
        rules = self.rules(user, f"sent-{sent_size}")
        self.mailtriage(rules, "check")  # baselines INBOX and Sent
        inbox_mark = self.last_uid(rules)
        tag = f"open{sent_size}t{int(time.time())}"
        threads = new_mail(1000, tag=tag, needing_reply=1.0, seed=5)
        self.append(user, threads)
        self.mailtriage(rules, "check")  # records 1,000 open threads
        ids = [line.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode() for line in threads]
        sent_mark = self.last_uid(rules, "Sent", kind="sent")
        runs, bare = [], []
        for r in range(self.rounds):
            last_sent = self.last_uid(rules, "Sent", kind="sent")
            self.append(user, list(sent_mail(20, answering=ids[r * 20:(r + 1) * 20], tag=tag, seed=100 + r)), "Sent")
            bare.append(self.bare(user, last_sent, "Sent"))  # the server's own cost of the same 20
            runs.append(self.mailtriage(rules, "check"))
        self.expunge_newer_than(user, inbox_mark)
        self.expunge_newer_than(user, sent_mark, "Sent")
        conn = sqlite3.connect(rules.parent / "mailtriage.db")
        answered = conn.execute("SELECT count(*) FROM threads WHERE state = 'answered'").fetchone()[0]
        conn.close()
        self.results[f"answers_20_with_sent_{sent_size}"] = {
            "open_threads": 1000, "answered": answered, **self.summarise(runs, "seconds", "imap_bytes", "rss_mb"),
            "bare": self.summarise(bare, "seconds", "imap_bytes", "rss_mb", "fetch_seconds")}

    def monday_burst(self) -> None:
        runs = []
        for r in range(min(self.rounds, 3)):
            user = f"burst{r}x{int(time.time())}"
            rules = self.rules(user, f"burst-{r}")
            self.mailtriage(rules, "check")
            fill_maildir(self.dovecot, user, new_mail(2000, tag=user, needing_reply=0.5, seed=7 + r))
            before, connections = len(self.smtp.messages), self.smtp.connections
            result = self.mailtriage(rules, "check")
            sent = self.smtp.messages[before:]
            span = sent[-1].at - sent[0].at if len(sent) > 1 else 0.0
            runs.append({**result, "replies": len(sent), "connections": self.smtp.connections - connections,
                         "replies_per_second": (len(sent) - 1) / span if span else 0.0})
            shutil.rmtree(self.dovecot.root / "mail" / user, ignore_errors=True)
        self.results["monday_burst"] = {"new_messages": 2000, **self.summarise(
            runs, "seconds", "imap_bytes", "rss_mb", "replies", "connections", "replies_per_second")}

    def reports(self) -> None:
        rules = self.rules("nobody", "reports")
        # In a child process, so this one stays small (see `process`).
        subprocess.run([sys.executable, __file__, "--fill-database", str(rules.parent / "mailtriage.db")], check=True)
        out: dict[str, Any] = {"threads": 100_000}
        for name, args in (("threads_json", ["threads", "--json"]), ("summary_print", ["summary", "--print"]),
                           ("stats_json", ["stats", "--json"])):
            runs = [self.mailtriage(rules, *args) for _ in range(self.rounds)]
            out[name] = self.summarise(runs, "seconds", "rss_mb")
        self.results["reports"] = out

    def startup(self) -> None:
        rules = self.rules("nobody", "startup")
        help_runs = [self.process(sys.executable, "-m", "mailtriage", "--help") for _ in range(self.rounds)]
        threads_runs = [self.mailtriage(rules, "threads") for _ in range(self.rounds)]
        self.results["startup"] = {"help": self.summarise(help_runs, "seconds", "rss_mb"),
                                   "threads_empty": self.summarise(threads_runs, "seconds", "rss_mb")}


def many_accounts(bench: Bench) -> None:
    import accounts  # bench/accounts.py (it imports this module for Bench)

    accounts.measure(bench)


def fill_database(path: Path, count: int) -> None:
    """100,000 recorded threads over about three years (a busy assistant's history), with answers."""
    from mailtriage.store.db import Store, iso

    store = Store(path)
    now = datetime.now(UTC)
    clients = ["Acme", "Piekarnia", "Kancelaria", None, "Biuro Rachunkowe", "Sklep"]
    threads, answers = [], []
    for i in range(count):
        opened = now - timedelta(minutes=15 * (count - i))
        deadline = opened + timedelta(hours=8)
        state = "answered" if i % 10 else ("overdue" if i % 20 else "open")
        if i > count - 200:
            state = "open"
        client = clients[i % len(clients)]
        answered_at = opened + timedelta(hours=(i % 13)) if state == "answered" else None
        threads.append({"id": f"<t{i}@client.example>", "client": client, "sender": f"p{i % 3000}@client.example",
                        "sender_name": "Jan Kowalski", "subject": f"Zamówienie nr {i}", "first_received": iso(opened),
                        "last_received": iso(opened), "opened_at": iso(opened), "deadline": iso(deadline),
                        "window": "1 business day", "state": state, "language": "pl",
                        "answered_at": iso(answered_at) if answered_at else None})
        if answered_at:
            seconds = (answered_at - opened).total_seconds()
            answers.append({"thread_id": f"<t{i}@client.example>", "client": client, "opened_at": iso(opened),
                            "deadline": iso(deadline), "answered_at": iso(answered_at), "via": "sent",
                            "response_seconds": seconds, "business_seconds": seconds * 0.7,
                            "within_window": int(answered_at <= deadline)})
    with store.transaction():
        for thread in threads:
            store.insert("threads", thread)
        for answer in answers:
            store.insert("answers", answer)
    store.close()


def targets(r: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the performance issue."""
    rows = idle_tiny_targets(r["idle_tiny"])
    idle, first = r["idle_check"], r["first_run"]
    rows.append(("idle check on 100,000 reads ≤ 8 KiB", f"{idle['imap_bytes']:,.0f} B", idle["imap_bytes"] <= 8192))
    rows.append(("first run on 100,000 reads ≤ 16 KiB", f"{first['imap_bytes']:,.0f} B", first["imap_bytes"] <= 16384))
    small, big = r["new_100_at_1000"], r[f"new_100_at_{idle['messages']}"]
    ratio = big["mailtriage"]["imap_bytes"] / small["mailtriage"]["imap_bytes"]
    rows.append(("100 new: IMAP bytes at 100,000 ≤ 1.3× at 1,000", f"{ratio:.2f}×", ratio <= 1.3))
    for size, d in ((f"{idle['messages']:,}", big), ("1,000", small)):
        wall = d["mailtriage"]["seconds"] / d["bare"]["seconds"]
        rows.append((f"100 new at {size}: whole check, 56 replies sent, ≤ 3× the bare client's fetch "
                     "(both whole processes)", f"{wall:.2f}×", wall <= 3))
    for size, d in ((f"{idle['messages']:,}", big), ("1,000", small)):
        ratio = d["daemon_check_seconds"] / d["bare"]["seconds"]
        rows.append((f"100 new at {size}: the same check inside the running daemon ≤ 3× the bare client",
                     f"{ratio:.2f}×", ratio <= 3))
    many, few = r["answers_20_with_sent_50000"], r["answers_20_with_sent_1000"]
    sent = many["seconds"] / few["seconds"]
    rows.append(("answer detection: 50,000 in Sent ≤ 1.3× 1,000 in Sent (wall)", f"{sent:.2f}×", sent <= 1.3))
    sent_bytes = many["imap_bytes"] / few["imap_bytes"]
    rows.append(("answer detection: 50,000 in Sent ≤ 1.3× 1,000 in Sent (IMAP bytes)", f"{sent_bytes:.2f}×",
                 sent_bytes <= 1.3))
    extra = (many["seconds"] - few["seconds"]) - (many["bare"]["seconds"] - few["bare"]["seconds"])
    rows.append(("answer detection: our own extra time at 50,000 beyond the server's (bare client's) extra",
                 f"{extra * 1000:+.0f} ms", abs(extra) <= 0.3 * few["seconds"]))
    burst = r["monday_burst"]
    rows.append(("Monday burst: one SMTP connection", f"{burst['connections']:.0f}", burst["connections"] <= 2))
    rows.append(("Monday burst: ≥ 100 holding replies per second", f"{burst['replies_per_second']:.0f}/s",
                 burst["replies_per_second"] >= 100))
    for name in ("threads_json", "summary_print", "stats_json"):
        seconds = r["reports"][name]["seconds"]
        rows.append((f"{name.replace('_', ' --')} over 100,000 threads < 1 s", f"{seconds:.2f} s", seconds < 1))
    helps = r["startup"]["help"]["seconds"]
    rows.append(("mailtriage --help < 0.3 s", f"{helps:.2f} s", helps < 0.3))
    checks = [r["first_run"], r["idle_check"], small["mailtriage"], big["mailtriage"], burst,
              r["answers_20_with_sent_50000"], r["answers_20_with_sent_1000"]]
    peak = max(c["rss_mb"] for c in checks)
    rows.append(("peak RSS of every check ≤ 60 MB", f"{peak:.1f} MB", peak <= 60))
    return rows


def idle_tiny_targets(tiny: dict[str, Any]) -> list[tuple[str, str, bool]]:
    wall = tiny["mailtriage"]["seconds"] / tiny["bare"]["seconds"]
    rss = tiny["mailtriage"]["rss_mb"]
    return [("idle check of a tiny mailbox ≤ 3× the bare client (both whole processes)", f"{wall:.2f}×", wall <= 3),
            ("peak RSS of an idle check of a tiny mailbox ≤ 45 MB", f"{rss:.1f} MB", rss <= 45)]


def write_results(r: dict[str, Any], command: str) -> None:
    machine = (f"{platform.node() and 'this machine'}: {platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, {platform.platform(terse=True)}, "
               f"Dovecot {subprocess.run(['dovecot', '--version'], capture_output=True, text=True).stdout.split()[0]}")
    r["machine"], r["command"], r["date"] = machine, command, datetime.now(UTC).isoformat(timespec="seconds")
    (HERE / "results.json").write_text(json.dumps(r, indent=2) + "\n")
    lines = ["# Benchmark results", "", f"`{command}` on {r['date']}, {machine}.",
             f"Medians of {r['rounds']} rounds; wall time and peak RSS of whole processes; IMAP bytes are what the",
             "server sent, counted by a loopback relay.", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(r)]
    lines += ["", "| scenario | wall s | IMAP bytes | peak RSS MB | notes |", "|---|---|---|---|---|"]

    def row(name: str, d: dict[str, Any], note: str = "") -> None:
        lines.append(f"| {name} | {d['seconds']:.3f} | {d.get('imap_bytes', 0):,.0f} | {d['rss_mb']:.1f} | {note} |")

    row("idle check, 10 messages: mailtriage", r["idle_tiny"]["mailtriage"])
    row("idle check, 10 messages: bare imapclient", r["idle_tiny"]["bare"],
        f"fetch alone {r['idle_tiny']['bare']['fetch_seconds']:.3f} s")
    row(f"first run, {r['first_run']['messages']:,} messages", r["first_run"])
    row(f"idle check, {r['idle_check']['messages']:,} messages", r["idle_check"])
    for size in (1000, r["idle_check"]["messages"]):
        d = r[f"new_100_at_{size}"]
        row(f"100 new at {size:,}: mailtriage", d["mailtriage"], f"{d['holding_replies']:.0f} holding replies; "
                                                                  f"in the daemon {d['daemon_check_seconds']:.3f} s")
        row(f"100 new at {size:,}: bare imapclient", d["bare"], f"fetch alone {d['bare']['fetch_seconds']:.3f} s")
    for size in (1000, 50000):
        d = r[f"answers_20_with_sent_{size}"]
        row(f"20 answers, {size:,} in Sent, 1,000 open: mailtriage", d, f"{d['answered']} threads answered in all")
        row(f"20 answers, {size:,} in Sent: bare imapclient", d["bare"],
            f"fetch alone {d['bare']['fetch_seconds']:.3f} s")
    b = r["monday_burst"]
    row("Monday burst: 2,000 new", b, f"{b['replies']:.0f} replies, {b['replies_per_second']:.0f}/s, "
                                      f"{b['connections']:.0f} SMTP connection(s)")
    for name in ("threads_json", "summary_print", "stats_json"):
        row(f"{name.replace('_', ' --')}, 100,000 threads", r["reports"][name])
    row("mailtriage --help", r["startup"]["help"])
    row("threads, empty database", r["startup"]["threads_empty"])
    if "accounts" in r:
        import accounts

        r["accounts"].update(command=command, date=r["date"])
        (HERE / "results.json").write_text(json.dumps(r, indent=2) + "\n")
        lines += accounts.section(r["accounts"])
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def only(bench: Bench, cases: list[str]) -> None:
    """A few cases, side by side with the bare client, printed and not written to RESULTS.md."""
    try:
        if "idle_tiny" in cases:
            bench.idle_tiny()
            for target, measured, met in idle_tiny_targets(bench.results["idle_tiny"]):
                print(f"{target}: {measured} ({'met' if met else 'NOT met'})")
        if "new_1000" in cases:
            bench.hundred_new(1000)
            d = bench.results["new_100_at_1000"]
            wall = d["mailtriage"]["seconds"] / d["bare"]["seconds"]
            verdict = "met" if wall <= 3 else "NOT met"
            print(f"100 new at 1,000, whole check ≤ 3× the bare client: {wall:.2f}× ({verdict})")
    finally:
        bench.close()
    print(json.dumps(bench.results, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 instead of 100,000 messages, 3 rounds")
    parser.add_argument("--only", choices=("idle_tiny", "new_1000"), action="append",
                        help="run only these cases and print their figures (RESULTS.md is left alone)")
    parser.add_argument("--fill-database", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill_database:
        fill_database(Path(args.fill_database), 100_000)
        return
    if not Path(TIME).exists():
        sys.exit("bench/run.py needs GNU time to read peak RSS: apt-get install time")
    rounds, big = (3, 10_000) if args.quick else (args.rounds, 100_000)
    bench = Bench(rounds, big)
    if args.only:
        only(bench, args.only)
        return
    try:
        for step in (bench.idle_tiny, bench.first_run_and_idle, lambda: bench.hundred_new(1000),
                     lambda: bench.hundred_new(big),
                     lambda: bench.answer_detection(1000), lambda: bench.answer_detection(50_000),
                     bench.monday_burst, bench.reports, bench.startup, lambda: many_accounts(bench)):
            started = time.perf_counter()
            step()
            print(f"  step done in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        bench.close()
    bench.results["rounds"] = rounds
    write_results(bench.results, "python bench/run.py" + (" --quick" if args.quick else ""))


if __name__ == "__main__":
    main()
