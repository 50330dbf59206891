"""Test and benchmark servers: the demo's SMTP server with a test's knobs, a byte-counting relay, and a
fast way to fill a maildir. Not shipped: the runtime package keeps only what `mailtriage demo` needs."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from mailtriage.demo import localservers
from mailtriage.demo.localservers import MAIL_UID, Captured, free_port, wait_for_port

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
    from imapclient import IMAPClient

__all__ = ["Captured", "CountingRelay", "PrivateDovecot", "SmtpSink", "fill_maildir", "free_port", "wait_for_port"]


class PrivateDovecot(localservers.PrivateDovecot):
    """The demo's private Dovecot, and a way in for the test itself."""

    def client(self, user: str = "kasia") -> IMAPClient:
        """A logged-in imapclient connection, for putting mail in and looking at it; the caller logs out."""
        from imapclient import IMAPClient

        imap = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        imap.login(user, self.password)
        return imap


    def crash(self) -> None:
        """Stop the server and every process it started, the IMAP sessions too: a restart of the host's
        Dovecot ends its clients' connections (stop() alone leaves our sessions' processes serving)."""
        assert self.process is not None
        children = _descendants(self.process.pid)
        self.stop()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parents.items() if parent in frontier]
        found += below
        frontier = below
    return found


class SmtpSink(localservers.SmtpSink):
    """The demo's SMTP server, with what tests vary.

    With `password` set it requires AUTH (over plain text: loopback only); with `refuse_null_sender`
    it answers MAIL FROM:<> with 550, like many submission servers; `rcpt_answers` maps a recipient
    to the answers its RCPT TO gets, one per attempt ("451 4.7.1 try later"), then 250;
    `connections` counts the clients that connected.
    """

    def __init__(self, password: str | None = None, refuse_null_sender: bool = False, smtputf8: bool = True,
                 spool: Path | None = None, port: int = 0, introspect_url: str | None = None) -> None:
        super().__init__(spool=spool, port=port)
        self.introspect_url = introspect_url  # then AUTH XOAUTH2 only, each token checked there (RFC 7662)
        self.oauth2_logins: list[tuple[str, bool]] = []  # (user, accepted) of each AUTH XOAUTH2
        self.rcpt_answers: dict[str, list[str]] = {}
        self.connections = 0
        self.password = password
        self.refuse_null_sender = refuse_null_sender
        self.smtputf8 = smtputf8

    def start(self) -> Self:
        super().start()
        self.connections = 0  # the controller's own readiness probe is not a client
        return self

    def refuse_sender(self, address: str) -> str | None:
        return "550 5.7.1 null sender not accepted here" if self.refuse_null_sender and address in ("", "<>") else None

    def refuse_recipient(self, address: str) -> str | None:
        answers = self.rcpt_answers.get(address)
        return answers.pop(0) if answers else None

    def controller(self) -> Controller:
        from aiosmtpd.controller import Controller

        sink = self

        def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                         auth_data: Any) -> AuthResult:
            from aiosmtpd.smtp import AuthResult

            ok = getattr(auth_data, "password", b"") == (sink.password or "").encode()
            return AuthResult(success=ok, handled=False)

        class CountingController(Controller):
            def factory(self) -> SMTP:
                sink.connections += 1
                return super().factory()  # type: ignore[no-untyped-call,no-any-return]

        options: dict[str, Any] = {"decode_data": False, "enable_SMTPUTF8": self.smtputf8}
        if self.password is not None:
            options.update(authenticator=authenticate, auth_require_tls=False)
        if self.introspect_url is not None:
            options.update(authenticator=authenticate, auth_require_tls=False,
                           auth_exclude_mechanism=["PLAIN", "LOGIN"])
            return CountingController(_OAuth2Handler(self), hostname="127.0.0.1", port=self.port, **options)
        return CountingController(localservers._Handler(self), hostname="127.0.0.1", port=self.port, **options)

    def introspect(self, user: str, token: str) -> bool:
        """Ask the authorization server whether TOKEN is a live token of USER, as Dovecot does."""
        import json
        import urllib.parse
        import urllib.request

        assert self.introspect_url is not None
        body = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(self.introspect_url, body, timeout=5) as answer:  # noqa: S310 - loopback
            found = json.loads(answer.read())
        return bool(found.get("active")) and found.get("username") == user


class _OAuth2Handler(localservers._Handler):
    """The sink's handler plus AUTH XOAUTH2 (aiosmtpd takes `auth_<MECHANISM>` methods of the handler)."""

    sink: SmtpSink

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if not session.authenticated:  # aiosmtpd's auth_required warns without TLS: refused here instead
            return "530 5.7.0 Authentication required"
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802 - aiosmtpd's naming
        import asyncio
        import base64
        import binascii

        from aiosmtpd.smtp import AuthResult

        if len(args) != 2:
            return AuthResult(success=False, handled=False, message="501 5.5.2 initial response expected")
        try:
            fields = base64.b64decode(args[1], validate=True).decode().split("\x01")
        except (binascii.Error, UnicodeDecodeError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 cannot decode base64")
        found = dict(f.split("=", 1) for f in fields if "=" in f)
        user, token = found.get("user", ""), found.get("auth", "").removeprefix("Bearer ")
        ok = await asyncio.to_thread(self.sink.introspect, user, token)
        self.sink.oauth2_logins.append((user, ok))
        if not ok:
            return AuthResult(success=False, handled=False, message="535 5.7.8 Username and token not accepted")
        return AuthResult(success=True, auth_data=user)


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
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._silenced: set[int] = set()  # file numbers of client sockets whose traffic is thrown away

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

    def drop(self) -> None:
        """Close every connection now, both ways (a reset route): new ones still get through."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def silence(self) -> None:
        """Every connection open now goes quiet without a word (a NAT box that forgot it, a cable
        pulled): bytes either way are thrown away. New connections still get through."""
        with self._lock:
            self._silenced.update(id(client) for client, _ in self._pairs)

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the server is down: the client sees its connection closed
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(upstream, client, True, id(client)), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, upstream, False, id(client)), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool, key: int = 0) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if key in self._silenced:
                    continue  # lost on the way
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
