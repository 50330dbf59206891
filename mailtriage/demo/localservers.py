"""Private mail servers on loopback, for the demo, the tests and the benchmarks.

`PrivateDovecot` runs the system's dovecot binary with its own config, state and mail folders
under one temporary directory, on 127.0.0.1 and a free port, and stops it by its own pid: the
system Dovecot service is never touched. `SmtpSink` is an aiosmtpd server that keeps every
message it accepts, byte for byte, so a test can read exactly what a client would get.
`CountingRelay` sits between a client and a server and counts the bytes each side sent.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAIL_UID = 5000  # Dovecot refuses to open mail as root: mail is owned by this numeric uid/gid.

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
info_log_path = {root}/log/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
first_valid_gid = 1
{login_users}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  {chroot}
}}
protocol imap {{
  mail_max_userip_connections = 100
  imap_capability = +SPECIAL-USE
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f}s")


@dataclass
class PrivateDovecot:
    """A Dovecot of our own: `start()`, use `port` with any user and `password`, `stop()`."""

    password: str = "secret"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mailtriage-dovecot-")))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    detach: bool = False  # its own session: it outlives the process that started it (`demo --keep`)

    def start(self) -> PrivateDovecot:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
        self.root = self.root.resolve()  # Dovecot needs absolute paths in its config
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # mkdtemp makes 0700; the mail user must traverse it
        for name in ("run", "state", "log", "mail"):
            (self.root / name).mkdir(exist_ok=True)
        uid, gid = (MAIL_UID, MAIL_UID) if os.geteuid() == 0 else (os.getuid(), os.getgid())
        if os.geteuid() == 0:
            os.chown(self.root / "mail", uid, gid)
            login_users, chroot = "", ""
        else:
            user = _user_name()
            # Every service runs as us: Dovecot's own "dovecot" group is not ours to chown sockets to.
            group = _group_name()
            login_users = (f"default_login_user = {user}\ndefault_internal_user = {user}\n"
                           f"default_internal_group = {group}")
            chroot = "chroot ="  # only root may chroot
        self.port = self.port or free_port()
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, uid=uid, gid=gid, port=self.port,
                                        password=self.password, login_users=login_users, chroot=chroot))
        # Its stderr goes to a file, never a pipe: a pipe nobody reads can fill up, and one held by a
        # kept server would keep whoever reads our output waiting for an end that never comes.
        with open(self.root / "log" / "stderr.log", "ab") as stderr:
            self.process = subprocess.Popen([binary, "-F", "-c", str(config)], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=stderr,
                                            start_new_session=self.detach)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"dovecot did not start: {self.log()[-2000:]}") from None
        return self

    def stop(self) -> None:
        """Stop our instance by its pid (and only it); its files stay until `cleanup()`."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """Dovecot's log; what it said on stderr when it failed before opening its log."""
        for path in (self.root / "log" / "dovecot.log", self.root / "log" / "stderr.log"):
            if path.exists() and path.stat().st_size:
                return path.read_text(errors="replace")
        return ""

    def client(self, user: str = "kasia") -> Any:
        """A logged-in imapclient connection, for putting mail in and looking at it."""
        from imapclient import IMAPClient

        imap = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        imap.login(user, self.password)
        return imap


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _group_name() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


@dataclass
class Captured:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    at: float = 0.0  # time.monotonic() when it arrived
    mail_options: tuple[str, ...] = ()


class SmtpSink:
    """An aiosmtpd server on loopback that keeps what it receives in `messages`.

    With `password` set it requires AUTH (over plain text: loopback only); with
    `refuse_null_sender` it answers MAIL FROM:<> with 550, like many submission servers; with
    `spool` it also writes each message there as 0001.eml, 0002.eml, ... for other processes.
    """

    def __init__(self, password: str | None = None, refuse_null_sender: bool = False, smtputf8: bool = True,
                 spool: Path | None = None, port: int = 0) -> None:
        self.messages: list[Captured] = []
        # recipient -> answers to give its RCPT TO, one per attempt ("451 4.7.1 try later"); then 250
        self.rcpt_answers: dict[str, list[str]] = {}
        self.connections = 0
        self.password = password
        self.refuse_null_sender = refuse_null_sender
        self.smtputf8 = smtputf8
        self.spool = spool
        self.port = port
        self._controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                                  options: list[str]) -> str:
                if sink.refuse_null_sender and address in ("", "<>"):
                    return "550 5.7.1 null sender not accepted here"
                envelope.mail_from = address
                envelope.mail_options.extend(options)
                return "250 OK"

            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                                  options: list[str]) -> str:
                answers = sink.rcpt_answers.get(address)
                if answers:
                    return answers.pop(0)
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(options)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append(Captured(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                              time.monotonic(), tuple(envelope.mail_options)))
                if sink.spool is not None:
                    sink.keep(envelope.original_content)
                return "250 2.0.0 Ok: queued"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            from aiosmtpd.smtp import AuthResult

            ok = getattr(auth_data, "password", b"") == (sink.password or "").encode()
            return AuthResult(success=ok, handled=False)

        class CountingController(Controller):
            def factory(self) -> Any:
                sink.connections += 1
                return super().factory()  # type: ignore[no-untyped-call]

        self.port = self.port or free_port()
        options: dict[str, Any] = {"decode_data": False, "enable_SMTPUTF8": self.smtputf8}
        if self.password is not None:
            options.update(authenticator=authenticate, auth_require_tls=False)
        self._controller = CountingController(Handler(), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        self.connections = 0  # the controller's own readiness probe is not a client
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keep(self, data: bytes) -> None:
        """Write one message to the spool; renamed into place, so a reader never sees half of it."""
        assert self.spool is not None
        self.spool.mkdir(parents=True, exist_ok=True)
        path = self.spool / f"{len(self.messages):04d}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.rename(path)


class CountingRelay:
    """A loopback TCP relay that counts the bytes a server sends its clients: an exact measure of
    what a check costs on the wire, without the noise of timing."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server_bytes = 0
        self.client_bytes = 0
        self.cut_after: int | None = None  # drop every connection once the server has sent this many bytes
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> CountingRelay:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def reset(self) -> None:
        with self._lock:
            self.server_bytes = self.client_bytes = 0

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    if from_server:
                        self.server_bytes += len(data)
                    else:
                        self.client_bytes += len(data)
                    cut = self.cut_after is not None and from_server and self.server_bytes > self.cut_after
                if cut:
                    break  # a dropped connection, in the middle of whatever the server was saying
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def fill_maildir(server: PrivateDovecot, user: str, messages: Iterable[bytes], when: float | None = None,
                 folder_name: str = "INBOX") -> int:
    """Write messages straight into a user's maildir folder (fast: no IMAP round trips), as the
    mail user; Dovecot gives them UIDs when the folder is next opened. Returns how many."""
    folder = server.root / "mail" / user
    if folder_name != "INBOX":
        folder = folder / f".{folder_name}"  # Maildir++ layout, as Dovecot's default
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(when or time.time())
    count = 0
    for count, raw in enumerate(messages, start=1):
        path = folder / "cur" / f"{stamp}.M{count}P{os.getpid()}.mailtriage,S={len(raw)}:2,"
        path.write_bytes(raw)
        os.utime(path, (stamp, stamp))
    if os.geteuid() == 0:
        for dirpath, _dirs, files in os.walk(server.root / "mail" / user):
            os.chown(dirpath, MAIL_UID, MAIL_UID)
            for name in files:
                os.chown(os.path.join(dirpath, name), MAIL_UID, MAIL_UID)
    return count
