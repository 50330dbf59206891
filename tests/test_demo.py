"""The demo that README's first command runs, as a newcomer sees it: one process, its stdout, its stderr."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from imapclient import IMAPClient

from mailtriage.demo.run import MESSAGES, PASSWORD
from tests.cli import run_process
from tests.conftest import needs_dovecot

pytestmark = needs_dovecot


def mailtriage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`mailtriage ARGS` from this checkout, in a process of its own, from a folder outside it."""
    return run_process(*args, cwd=cwd)


def folder_of(out: str) -> Path:
    found = re.search(r"files are in (\S+)", out)
    assert found, out
    return Path(found.group(1))


def running_from(folder: Path) -> list[int]:
    """Pids of processes whose command line names `folder`."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(folder).encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


def test_the_demo_names_every_sender_replies_to_people_and_shows_the_summary(tmp_path: Path) -> None:
    done = mailtriage("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # one stream, in order: nothing said on the side
    out = done.stdout
    check = out[out.index(f"{len(MESSAGES)} messages arrive"):out.index("The SMTP server received")]
    verdicts = [line.strip() for line in check.splitlines()[1:] if ": " in line and "@" in line.split(":")[0]]
    senders = [re.findall(r"^From: .*<(.+)>$", text, re.MULTILINE)[0].lower() for text in MESSAGES]
    assert [line.split()[0] for line in verdicts] == senders  # every message, in order, by its sender
    assert "anna.lis@gmail.com (no client): holding reply to anna.lis@gmail.com, due " in out
    assert "piotr@firma.pl (no client): no reply: Auto-Submitted: auto-replied" in out
    assert "mailer-daemon@mx.example.net (no client): no reply: null Return-Path <>" in out
    assert check.rstrip().endswith("7 new, 3 holding replies planned, 3 sent")  # the totals after the lines
    assert "The SMTP server received 3 holding replies" in out
    assert "To: Jan Kowalski <jan.kowalski@acme.pl>" in out
    assert "Subject: Re: Zamówienie chleba na środę" in out
    assert "Pełną odpowiedź otrzymają Państwo do " in out
    assert re.search(r"#1 +(open|overdue) .* Acme +jan\.kowalski@acme\.pl +Invoice for November", out)
    summary = out[out.index("The morning summary"):]
    assert "Subject: mailtriage: " in summary and "Acme: " in summary and "Piekarnia: " in summary
    assert "mailtriage demo --keep` leaves them running" in out
    folder = folder_of(out)
    assert not folder.exists() and running_from(folder) == []  # nothing left behind


def test_demo_keep_leaves_both_servers_running_with_commands_to_try_and_stop_ends_them(tmp_path: Path) -> None:
    done = mailtriage("demo", "--keep", cwd=tmp_path)  # returns: the kept servers hold none of its pipes
    assert done.returncode == 0, done.stderr
    folder = folder_of(done.stdout)
    try:
        assert len(running_from(folder)) >= 2
        tries = [shlex.split(line)[1:] for line in done.stdout.splitlines()
                 if re.match(rf"  \S*mailtriage -c {folder}/rules.yaml ", line)]
        assert [args[2:] for args in tries] == [["threads"], ["explain", "1"], ["summary", "--print"],
                                                ["preview", "--from", "jan.kowalski@gmail.com"], ["status"]]
        threads = mailtriage(*tries[0], cwd=tmp_path)
        assert threads.returncode == 0 and threads.stdout.count("\n") == 3, threads.stderr
        port = int(re.search(r"127\.0\.0\.1:(\d+) \(IMAP\)", done.stdout).group(1))  # type: ignore[union-attr]
        imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
        imap.login("kasia", PASSWORD)
        assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == len(MESSAGES)
        imap.logout()
        assert len(list((folder / "received").glob("*.eml"))) == 3
        checked = mailtriage("-c", str(folder / "rules.yaml"), "doctor", cwd=tmp_path)  # a green demo
        assert checked.returncode == 0, checked.stdout
        assert "✔ example values: identity.addresses, identity.from, summary.to: the demo's address " \
               "kasia@demo.example on the demo's loopback" in checked.stdout
        assert re.search(rf"^  \S*mailtriage demo --stop {folder}$", done.stdout, re.MULTILINE)
    finally:
        stop = mailtriage("demo", "--stop", str(folder), cwd=tmp_path)
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.startswith("stopped 2 demo servers")
    assert not folder.exists() and running_from(folder) == []
    again = mailtriage("demo", "--stop", str(folder), cwd=tmp_path)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "holds no demo servers" in again.stderr


def test_demo_stop_without_a_folder_stops_the_one_left_running_or_says_what_runs(tmp_path: Path) -> None:
    import shutil
    import tempfile

    from tests.cli import environment

    temp = Path(tempfile.mkdtemp(prefix="mt-"))  # the demo's default place, of this test alone (and short:
    # Dovecot's sockets live under it)
    temp.chmod(0o711)  # as the demo's own folder: Dovecot's mail processes run as another user
    env = environment(TMPDIR=str(temp))
    none = run_process("demo", "--stop", cwd=tmp_path, env=env)
    assert none.returncode == 1 and none.stdout == ""
    assert none.stderr == "no demo left running by `mailtriage demo --keep` was found\n"
    folders = []
    try:
        for _ in range(2):
            done = run_process("demo", "--keep", cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
            folders.append(folder_of(done.stdout))
        assert all(folder.parent == temp for folder in folders)
        two = run_process("demo", "--stop", cwd=tmp_path, env=env)
        assert two.returncode == 1 and two.stderr.count("\n") == 1
        assert two.stderr == (f"2 demos are running ({folders[0]}, {folders[1]}): give one, mailtriage demo --stop "
                              "FOLDER\n")
        assert run_process("demo", "--stop", str(folders[0]), cwd=tmp_path, env=env).returncode == 0
        one = run_process("demo", "--stop", cwd=tmp_path, env=env)
        assert one.returncode == 0, one.stderr
        assert re.fullmatch(rf"stopped 2 demo servers \(\d+ \d+\); removed {folders[1]}\n", one.stdout)
    finally:
        for folder in folders:
            if folder.exists():
                run_process("demo", "--stop", str(folder), cwd=tmp_path, env=env)
        shutil.rmtree(temp, ignore_errors=True)
    assert not any(folder.exists() or running_from(folder) for folder in folders)
