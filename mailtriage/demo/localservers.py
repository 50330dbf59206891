"""Private mail servers on loopback for `mailtriage demo` (the tests build on them in tests/servers.py).

`PrivateDovecot` runs the system's dovecot binary with its own config, state and mail folders
under one temporary directory, on 127.0.0.1 and a free port, and stops it by its own pid: the
system Dovecot service is never touched. `SmtpSink` is an aiosmtpd server that keeps every
message it accepts, byte for byte, so the demo (or a test) can show exactly what a client would get.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

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
auth_mechanisms = plain login{mechanisms}
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
{oauth2}userdb {{
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
{anvil}}}
protocol imap {{
  mail_max_userip_connections = 100
  imap_capability = {capability}
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

# With `oauth2_url`: XOAUTH2 and OAUTHBEARER too, each token checked at that server's RFC 7662 /introspect
# (the password still works, for putting mail in). No auth penalty: tests fail logins on purpose.
OAUTH2 = """\
passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {root}/dovecot-oauth2.conf.ext
}}
auth_failure_delay = 0
"""
NO_PENALTY = """\
  unix_listener anvil-auth-penalty {
    mode = 0
  }
"""
OAUTH2_EXT = """\
introspection_mode = post
introspection_url = {url}/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
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
    oauth2_url: str | None = None  # an OAuth2 authorization server with /introspect: tokens are accepted too
    oauth2_mechanisms: str = "xoauth2 oauthbearer"  # what it offers for them
    capability: str = "+SPECIAL-USE"  # imap_capability: a whole list stands in for a server without IDLE

    def start(self) -> Self:
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
        oauth2, mechanisms, anvil = "", "", ""
        if self.oauth2_url:
            (self.root / "dovecot-oauth2.conf.ext").write_text(OAUTH2_EXT.format(url=self.oauth2_url))
            oauth2 = OAUTH2.format(root=self.root, mechanisms=self.oauth2_mechanisms)
            mechanisms, anvil = " " + self.oauth2_mechanisms, NO_PENALTY
        config.write_text(CONFIG.format(root=self.root, uid=uid, gid=gid, port=self.port,
                                        password=self.password, login_users=login_users, chroot=chroot,
                                        oauth2=oauth2, mechanisms=mechanisms, anvil=anvil,
                                        capability=self.capability))
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
    """An aiosmtpd server on loopback that keeps what it receives in `messages`; with `spool`, it
    also writes each message there as 0001.eml, 0002.eml, ... for other processes."""

    def __init__(self, spool: Path | None = None, port: int = 0) -> None:
        self.messages: list[Captured] = []
        self.spool = spool
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> Self:
        self.port = self.port or free_port()
        self._controller = self.controller()
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def controller(self) -> Controller:
        from aiosmtpd.controller import Controller

        return Controller(_Handler(self), hostname="127.0.0.1", port=self.port, decode_data=False,
                          enable_SMTPUTF8=True)

    def refuse_sender(self, address: str) -> str | None:
        """The answer to MAIL FROM when it is refused; None accepts it."""
        return None

    def refuse_recipient(self, address: str) -> str | None:
        """The answer to RCPT TO when it is refused; None accepts it."""
        return None

    def receive(self, message: Captured) -> None:
        self.messages.append(message)
        if self.spool is not None:
            self.keep(message.data)

    def keep(self, data: bytes) -> None:
        """Write one message to the spool; renamed into place, so a reader never sees half of it."""
        assert self.spool is not None
        self.spool.mkdir(parents=True, exist_ok=True)
        path = self.spool / f"{len(self.messages):04d}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.rename(path)


class _Handler:
    """aiosmtpd's handler: the protocol verbs, each asking the sink what to answer."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        refused = self.sink.refuse_sender(address)
        if refused:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        refused = self.sink.refuse_recipient(address)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.sink.receive(Captured(envelope.mail_from or "", list(envelope.rcpt_tos), data, time.monotonic(),
                                   tuple(envelope.mail_options)))
        return "250 2.0.0 Ok: queued"
