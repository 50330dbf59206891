"""Benchmarks of issue 14: twenty mailboxes in one daemon, and push.

    python bench/accounts.py [--rounds 3] [--accounts 20] [--samples 40] [--sweep]

Standalone (it puts its own key, "accounts", into bench/results.json and its own section into
bench/RESULTS.md, leaving the rest as bench/run.py wrote it); bench/run.py also runs it as its last
step and writes the same section. One private Dovecot with one user per account (each its own
maildir of 300 messages, cached in bench/cache/), an SMTP sink in this process. Three measurements:

1. `mailtriage -c R check` of a file with 20 idle accounts (baselines taken) against the same for a
   file with one of them, whole processes under GNU time: wall time (median of rounds) and peak RSS.
   With --sweep, the same through bench/parallel.py at app/accounts.PARALLEL = 1, 4, 8, 20
   (the package is not changed: the wrapper sets the default from MAILTRIAGE_BENCH_PARALLEL).
2. Push latency: `mailtriage -c R run` with an urgent client in every account (check times far away);
   a message of that client is APPENDed to one account's INBOX at a time, cycling through the
   accounts; the latency is from the APPEND's return to the holding reply's arrival at the sink (both
   time.monotonic() of this process).
3. The daemon's peak RSS (VmHWM of /proc/PID/status) once all 20 IDLE connections are up and again
   after the samples.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from run import Bench  # noqa: E402

from mailtriage.demo.rules import CHECK_TIMES, loopback_rules  # noqa: E402

MESSAGES = 300  # already in each account's INBOX
CLIENTS = """\
clients:
  - {name: Acme, match: {domains: [acme.pl]}, respond_within: same business day, language: en, urgent: true}
  - {name: Piekarnia, match: {patterns: ["*@piekarnia-*.pl"]}, respond_within: 4 business hours, language: pl}
"""
SECTION = "## Twenty accounts in one daemon, and push (issue 14)"


def user(n: int) -> str:
    return f"acct{n:02d}"


def far_away() -> str:
    """A check time twelve hours from now: no scheduled check runs while push is measured."""
    return f'check_times: ["{(datetime.now(UTC).hour + 12) % 24:02d}:30"]'


def accounts_rules(bench: Bench, folder: Path, count: int, port: int) -> Path:
    """rules.yaml with `accounts:` of `count` users on `port`; one database, the urgent client in each."""
    folder.mkdir(parents=True, exist_ok=True)
    text = loopback_rules(port, bench.smtp.port, user=user(1), language="pl", clients=False,
                          imap_password="password_env: BENCH_PASSWORD", database=folder / "mailtriage.db",
                          settings="check_on_days_off: true\nflag_overdue: false", extra=CLIENTS)
    text = text.replace(CHECK_TIMES, far_away())
    lines = ["accounts:"]
    for n in range(1, count + 1):
        address = f"{user(n)}@example.com"
        lines.append(f'  - {{name: {user(n)}, identity: {{from: "Biuro {n:02d} <{address}>", addresses: [{address}]}}, '
                     f"imap: {{host: 127.0.0.1, port: {port}, security: none, username: {user(n)}, "
                     "password_env: BENCH_PASSWORD}}")
    path = folder / "rules.yaml"
    path.write_text(text + "\n".join(lines) + "\n")
    return path


def urgent_message(n: int, account: int) -> bytes:
    return (f"From: Jan Kowalski <jan.s{n}@acme.pl>\r\nTo: Biuro <{user(account)}@example.com>\r\n"
            f"Subject: Server down {n}\r\nDate: {format_datetime(datetime.now(UTC))}\r\n"
            f"Message-ID: <push-{n}-{time.time_ns()}@acme.pl>\r\n\r\nPlease call me.\r\n").encode()


class Daemon:
    """`mailtriage -c R run` with its log lines collected as they come."""

    def __init__(self, bench: Bench, rules: Path) -> None:
        env = {k: v for k, v in bench.env.items() if k != "JOURNAL_STREAM"}
        self.process = subprocess.Popen([sys.executable, "-m", "mailtriage", "-c", str(rules), "run"], env=env,
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, count: int, seconds: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if sum(text in line for line in self.lines) >= count:
                return time.monotonic() - start
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"no {count} x {text!r} in the daemon's log:\n" + "\n".join(self.lines[-40:]))

    def memory(self) -> dict[str, float]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        fields = dict(re.findall(r"^(\w+):\s+(\d+)", status, re.MULTILINE))
        return {"vmhwm_mb": round(int(fields["VmHWM"]) / 1024, 1), "vmrss_mb": round(int(fields["VmRSS"]) / 1024, 1),
                "threads": int(fields["Threads"])}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.reader.join(timeout=5)
        return code


def prepare(bench: Bench, count: int) -> None:
    for n in range(1, count + 1):
        bench.cached_user(user(n), MESSAGES)


def check_ratio(bench: Bench, count: int, sweep: bool) -> dict[str, Any]:
    many = accounts_rules(bench, bench.work / "accounts-many", count, bench.relay.port)
    one = accounts_rules(bench, bench.work / "accounts-one", 1, bench.relay.port)
    first = bench.mailtriage(many, "check")  # the baselines
    bench.mailtriage(one, "check")
    many_runs, one_runs = [], []
    for _ in range(bench.rounds):
        one_runs.append(bench.mailtriage(one, "check"))
        many_runs.append(bench.mailtriage(many, "check"))
    out: dict[str, Any] = {
        "accounts": count, "messages_each": MESSAGES,
        "first_check_many": bench.summarise([first], "seconds", "imap_bytes", "rss_mb"),
        "one": bench.summarise(one_runs, "seconds", "imap_bytes", "rss_mb"),
        "many": bench.summarise(many_runs, "seconds", "imap_bytes", "rss_mb"),
        "rounds_seconds": {"one": [round(r["seconds"], 3) for r in one_runs],
                           "many": [round(r["seconds"], 3) for r in many_runs]}}
    out["ratio"] = round(out["many"]["seconds"] / out["one"]["seconds"], 3)
    if sweep:
        out["parallel_sweep"] = parallel_sweep(bench, one, many)
    return out


def parallel_sweep(bench: Bench, one: Path, many: Path) -> dict[str, Any]:
    """The same checks at other values of app/accounts.PARALLEL, through bench/parallel.py."""
    env, sweep = bench.env, {}
    try:
        for parallel in (1, 4, 8, 20):
            bench.env = {**env, "MAILTRIAGE_BENCH_PARALLEL": str(parallel)}
            runs: dict[str, list[dict[str, Any]]] = {"one": [], "many": []}
            for _ in range(bench.rounds):
                for name, rules in (("one", one), ("many", many)):
                    runs[name].append(bench.process(sys.executable, str(HERE / "parallel.py"), "-c", str(rules),
                                                    "check"))
            one_s, many_s = bench.median(runs["one"], "seconds"), bench.median(runs["many"], "seconds")
            sweep[str(parallel)] = {"one_seconds": round(one_s, 3), "many_seconds": round(many_s, 3),
                                    "ratio": round(many_s / one_s, 3),
                                    "many_rss_mb": round(bench.median(runs["many"], "rss_mb"), 1)}
            print(f"  PARALLEL={parallel}: {sweep[str(parallel)]}", flush=True)
    finally:
        bench.env = env
    return sweep


def push(bench: Bench, count: int, samples: int) -> dict[str, Any]:
    # Straight to Dovecot, not through the counting relay: its pumping threads would add to the latency.
    rules = accounts_rules(bench, bench.work / "accounts-push", count, bench.dovecot.port)
    bench.mailtriage(rules, "check")  # the baselines: push answers nothing before a mailbox's first check
    daemon = Daemon(bench, rules)
    clients = {}
    try:
        up = daemon.wait_for("watching the INBOX (IDLE)", count, 60)
        time.sleep(1.0)  # let each watcher's first pass (after connecting) finish
        at_start = daemon.memory()
        for n in range(1, count + 1):
            clients[n] = bench.dovecot.client(user(n))
        latencies, accounts_hit, trace = [], [], [at_start["vmrss_mb"]]
        for n in range(samples):
            account = n % count + 1
            rcpt = f"jan.s{n}@acme.pl"
            clients[account].append("INBOX", urgent_message(n, account))
            appended = time.monotonic()
            deadline = appended + 30
            reply = None
            while reply is None and time.monotonic() < deadline:
                reply = next((m for m in list(bench.smtp.messages) if rcpt in m.rcpt_tos), None)
                if reply is None:
                    time.sleep(0.005)
            if reply is None:
                raise RuntimeError(f"no holding reply to {rcpt} within 30 s:\n" + "\n".join(daemon.lines[-40:]))
            latencies.append(reply.at - appended)
            accounts_hit.append(user(account))
            if (n + 1) % count == 0:
                trace.append(daemon.memory()["vmrss_mb"])  # after each turn through the accounts
            time.sleep(0.2)
        time.sleep(2.0)  # any second reply to the same message would come by now
        after = daemon.memory()
        replies = [rcpt for m in bench.smtp.messages for rcpt in m.rcpt_tos if rcpt.startswith("jan.s")]
        problems = [line for line in daemon.lines if " WARNING " in line or " ERROR " in line
                    or "Traceback" in line or "failed" in line]
    finally:
        for client in clients.values():
            client.logout()
        code = daemon.stop()
    return {"accounts": count, "samples": samples, "idle_up_seconds": round(up, 2),
            "latency_median_s": round(statistics.median(latencies), 4), "latency_max_s": round(max(latencies), 4),
            "latency_min_s": round(min(latencies), 4),
            "latency_p90_s": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 4),
            "latencies_s": [round(x, 4) for x in latencies], "replies": len(replies),
            "doubled": len(replies) - len(set(replies)), "memory_idle_up": at_start, "memory_after": after,
            "vmrss_mb_per_turn": trace,
            "log_problems": problems[:20], "exit_code": code}


def bare_idle(bench: Bench, samples: int = 10) -> dict[str, float]:
    """The server's own share: a bare imapclient in IDLE on one INBOX, from the APPEND's return to EXISTS."""
    watcher, writer = bench.dovecot.client(user(1)), bench.dovecot.client(user(1))
    latencies = []
    try:
        watcher.select_folder("INBOX", readonly=True)
        for n in range(samples):
            watcher.idle()
            writer.append("INBOX", urgent_message(10_000 + n, 1))
            appended = time.monotonic()
            responses: list[Any] = []
            while not any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                if time.monotonic() - appended > 30:
                    raise RuntimeError("no EXISTS within 30 s")
                responses = watcher.idle_check(timeout=30)
            latencies.append(time.monotonic() - appended)
            watcher.idle_done()
    finally:
        watcher.logout()
        writer.logout()
    return {"samples": samples, "exists_median_s": round(statistics.median(latencies), 4),
            "exists_max_s": round(max(latencies), 4)}


def measure(bench: Bench, count: int = 20, samples: int = 40, sweep: bool = False) -> None:
    prepare(bench, count)
    result = {"check": check_ratio(bench, count, sweep)}
    print(f"  check: {result['check']['many']} vs {result['check']['one']}", flush=True)
    result["push"] = push(bench, count, samples)
    result["bare_idle"] = bare_idle(bench)
    bench.results["accounts"] = result


def targets(a: dict[str, Any]) -> list[tuple[str, str, bool]]:
    c, p = a["check"], a["push"]
    n = c["accounts"]
    peak = max(p["memory_idle_up"]["vmhwm_mb"], p["memory_after"]["vmhwm_mb"])
    return [(f"{n} idle accounts: one whole-process check ≤ 3× a one-account check", f"{c['ratio']:.2f}×",
             c["ratio"] <= 3),
            (f"push latency, APPEND to the holding reply at the SMTP server, {n} accounts watched: median ≤ 2 s",
             f"{p['latency_median_s']:.3f} s (max {p['latency_max_s']:.3f} s)", p["latency_median_s"] <= 2),
            (f"daemon peak RSS with {n} IDLE connections ≤ 80 MB", f"{peak:.1f} MB", peak <= 80)]


def section(a: dict[str, Any]) -> list[str]:
    c, p = a["check"], a["push"]
    n = c["accounts"]
    lines = ["", SECTION, "",
             f"`{a.get('command', 'python bench/accounts.py')}` on {a.get('date', 'this run')} (also the last step of "
             f"`bench/run.py`): one private Dovecot with {n} users, "
             f"{c['messages_each']} messages in each INBOX, baselines taken; one database; medians of "
             f"{len(c['rounds_seconds']['many'])} rounds for the checks, {p['samples']} push samples.", "",
             "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(a)]
    lines += ["", "| scenario | wall s | IMAP bytes | peak RSS MB | notes |", "|---|---|---|---|---|"]
    first = c["first_check_many"]
    lines.append(f"| first check (baselines), {n} accounts | {first['seconds']:.3f} | {first['imap_bytes']:,.0f} | "
                 f"{first['rss_mb']:.1f} | one round |")
    for name, label in (("one", "idle check, 1 account"), ("many", f"idle check, {n} accounts")):
        d = c[name]
        lines.append(f"| {label} | {d['seconds']:.3f} | {d['imap_bytes']:,.0f} | {d['rss_mb']:.1f} | "
                     f"rounds: {', '.join(f'{s:.3f}' for s in c['rounds_seconds'][name])} |")
    for parallel, d in c.get("parallel_sweep", {}).items():
        lines.append(f"| idle check, {n} accounts, PARALLEL={parallel} (bench/parallel.py) | {d['many_seconds']:.3f} "
                     f"|  | {d['many_rss_mb']:.1f} | 1 account {d['one_seconds']:.3f} s: {d['ratio']:.2f}× |")
    up, after = p["memory_idle_up"], p["memory_after"]
    lines += ["", f"Push, daemon with {n} IDLE connections (up {p['idle_up_seconds']:.1f} s after start): latency "
              f"median {p['latency_median_s']:.3f} s, p90 {p['latency_p90_s']:.3f} s, min {p['latency_min_s']:.3f} s, "
              f"max {p['latency_max_s']:.3f} s over {p['samples']} samples (accounts in turn); {p['replies']} "
              f"holding replies, {p['doubled']} doubled. Daemon memory with all connections up: VmHWM "
              f"{up['vmhwm_mb']:.1f} MB, VmRSS {up['vmrss_mb']:.1f} MB, {up['threads']} threads; after the samples: "
              f"VmHWM {after['vmhwm_mb']:.1f} MB, VmRSS {after['vmrss_mb']:.1f} MB, {after['threads']} threads. "
              f"VmRSS at the start and after each turn through the accounts (MB): "
              f"{', '.join(f'{x:.1f}' for x in p.get('vmrss_mb_per_turn', []))}."]
    if "bare_idle" in a:
        b = a["bare_idle"]
        lines += ["", f"The server's own share: a bare imapclient in IDLE on one INBOX sees EXISTS a median "
                  f"{b['exists_median_s']:.3f} s (max {b['exists_max_s']:.3f} s) after the APPEND returns "
                  f"({b['samples']} samples)."]
    if p["log_problems"]:
        lines += ["", "Warnings and errors in the daemon's log:", "", "```", *p["log_problems"], "```"]
    return lines


def write(bench: Bench, command: str) -> None:
    """Merge this run into bench/results.json and bench/RESULTS.md, leaving bench/run.py's figures."""
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["accounts"] = {**bench.results["accounts"], "command": command,
                           "date": datetime.now(UTC).isoformat(timespec="seconds")}
    path.write_text(json.dumps(results, indent=2) + "\n")
    md = HERE / "RESULTS.md"
    text = md.read_text() if md.exists() else "# Benchmark results\n"
    text = text.split("\n" + SECTION, 1)[0].rstrip("\n") + "\n"
    added = section(results["accounts"])
    md.write_text(text + "\n".join(added) + "\n")
    print("\n".join(added))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--sweep", action="store_true", help="also time the check at PARALLEL = 1, 4, 8, 20")
    args = parser.parse_args()
    bench = Bench(args.rounds, 0)
    try:
        measure(bench, args.accounts, args.samples, args.sweep)
    finally:
        bench.close()
    write(bench, "python " + " ".join(["bench/accounts.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
