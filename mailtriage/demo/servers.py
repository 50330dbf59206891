"""The demo's two servers as processes of their own, so `demo --keep` can leave them running and `demo --stop` end them.

Both live under the demo's folder: Dovecot in `dovecot/`, the SMTP server writes what it receives
to `received/`; `servers.json` records their ports and pids, the one place `--stop` looks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mailtriage.demo.localservers import PrivateDovecot, SmtpSink, free_port, wait_for_port
from mailtriage.errors import MailtriageError

STATE = "servers.json"


class DemoError(MailtriageError):
    """A demo folder that cannot be stopped or started as asked."""


@dataclass
class Servers:
    """The running pair: where they listen, their pids, the folder they keep their files in."""

    folder: Path
    imap_port: int
    smtp_port: int
    dovecot_pid: int
    smtp_pid: int

    @property
    def received(self) -> Path:
        return self.folder / "received"

    def messages(self) -> list[bytes]:
        """What the SMTP server has received so far, oldest first."""
        return [path.read_bytes() for path in sorted(self.received.glob("*.eml"))]

    def save(self) -> None:
        data = {**asdict(self), "folder": str(self.folder)}
        (self.folder / STATE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def start(folder: Path, password: str) -> Servers:
    """Start Dovecot and the SMTP server, each in a session of its own (a closed terminal spares them)."""
    try:
        dovecot = PrivateDovecot(password=password, root=folder / "dovecot", detach=True).start()
    except RuntimeError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise DemoError(_one_line(str(exc))) from None
    assert dovecot.process is not None
    port = free_port()
    with open(folder / "smtp.log", "ab") as log:
        smtp = subprocess.Popen([sys.executable, "-m", "mailtriage.demo.servers", str(port), str(folder / "received")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    servers = Servers(folder, dovecot.port, port, dovecot.process.pid, smtp.pid)
    servers.save()
    try:
        wait_for_port(port)
    except TimeoutError:
        stop(folder)
        raise DemoError(f"the demo's SMTP server did not start: {(folder / 'smtp.log').read_text()[-500:]}") from None
    return servers


def _one_line(problem: str) -> str:
    """Dovecot's failure as one line: the first error its log gives, without the log's timestamps."""
    lines = problem.splitlines() or [problem]
    first = next((found for line in lines if (found := re.search(r" (?:Fatal|Error): (.*)", line))), None)
    return f"{lines[0].split(':', 1)[0]}: {first.group(1)}" if first else lines[0]


def stop(folder: Path, remove: bool = True) -> list[int]:
    """Stop the servers recorded in `folder` (only if they still are ours), remove it; the pids stopped."""
    try:
        data = json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DemoError(f"{folder} holds no demo servers (no readable {STATE}): "
                        "give the folder `mailtriage demo --keep` printed") from None
    stopped = [pid for pid in (data["dovecot_pid"], data["smtp_pid"]) if _ours(pid, folder)]
    for pid in stopped:
        os.kill(pid, signal.SIGTERM)
    for pid in stopped:
        _wait_gone(pid)
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
    return stopped


PREFIX = "mailtriage-demo-"  # run.py's folders, in the system's temporary folder


def kept(root: Path | None = None) -> list[Path]:
    """The folders of demos left running by `demo --keep` in the default place, oldest first."""
    import tempfile

    found = []
    for folder in (root or Path(tempfile.gettempdir())).glob(PREFIX + "*"):
        try:
            data = json.loads((folder / STATE).read_text(encoding="utf-8"))
            pids = [int(data["dovecot_pid"]), int(data["smtp_pid"])]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if any(_ours(pid, folder) for pid in pids):
            found.append(folder)
    return sorted(found, key=lambda folder: folder.stat().st_mtime)


def _ours(pid: int, folder: Path) -> bool:
    """Whether `pid` runs from `folder`: a pid recorded long ago may since belong to another process."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return str(folder).encode() in cmdline and _state(pid) not in ("Z", "")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _wait_gone(pid: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while _state(pid) not in ("Z", "") and time.monotonic() < deadline:
        time.sleep(0.05)
    if _state(pid) not in ("Z", ""):
        os.kill(pid, signal.SIGKILL)  # it ignored SIGTERM for 10 s: it is ours, and the user asked for it gone


def serve_smtp(port: int, spool: Path) -> None:
    """The SMTP server's process: keep what arrives in `spool` until SIGTERM."""
    sink = SmtpSink(spool=spool, port=port).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            signal.pause()
    finally:
        sink.stop()


if __name__ == "__main__":
    serve_smtp(int(sys.argv[1]), Path(sys.argv[2]))
