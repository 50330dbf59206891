"""The IMAP edge (imapclient): connect safely, read a folder's state, fetch new headers only.

Folders are selected read-only and bodies fetched with BODY.PEEK, so a check never sets \\Seen:
a message unread before a check is unread after it. Every socket has connect and read timeouts.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from mailtriage.config.servers import Imap, Server, is_loopback
from mailtriage.errors import FetchError, OAuthError
from mailtriage.mail.netreasons import describe, midway

if TYPE_CHECKING:
    from mailtriage.mail.oauth2 import RetryOnce

HEADER_ITEMS = [b"BODY.PEEK[HEADER]", b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]
# A header block with no header in it (the message starts with a blank line) is re-read from the
# start of the message, where its real headers are; only this much of it.
START_ITEM = b"BODY.PEEK[]<0.16384>"
BATCH = 200
T = TypeVar("T")  # what an IMAP command returns, passed through `command`

SENT_ITEMS = [b"BODY.PEEK[HEADER.FIELDS (FROM MESSAGE-ID IN-REPLY-TO REFERENCES AUTO-SUBMITTED)]",
              b"INTERNALDATE"]


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None = None


@dataclass(frozen=True)
class Fetched:
    uid: int
    header: bytes
    flags: tuple[str, ...]
    internaldate: datetime
    size: int


def tls_context(server: Server) -> ssl.SSLContext:
    """Certificate and host name checks on. A loopback host (a local relay or test) is exempt,
    unless tls_ca_file is given: then its certificate is checked against that CA like any other."""
    if server.tls_ca_file:
        return ssl.create_default_context(cafile=server.tls_ca_file)
    context = ssl.create_default_context()
    if is_loopback(server.host):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def no_delay(sock: socket.socket) -> None:
    """Each command goes out at once. imapclient writes a command and its closing CRLF apart, and
    Nagle's algorithm holds the CRLF back until the server acknowledges the first part: with a
    delayed ACK that is 40 ms for every SEARCH or ENABLE (TLS keeps the setting: one socket)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a test's socket pair): nothing to wait for
        pass


class Mailbox:
    """One IMAP connection for one check; use as a context manager."""

    def __init__(self, config: Imap, password: str | RetryOnce) -> None:
        """PASSWORD is the password, or a token source: then OAuth2 (XOAUTH2, or OAUTHBEARER when the
        server offers only that), refreshed and retried once when the server refuses the token."""
        from imapclient import IMAPClient
        from imapclient.imapclient import SocketTimeout

        self.config = config
        timeout = SocketTimeout(connect=config.timeout, read=config.timeout)
        try:
            context = tls_context(config) if config.security != "none" else None  # loading CAs costs 25 ms
            self.client = IMAPClient(config.host, port=config.effective_port, ssl=config.security == "tls",
                                     ssl_context=context, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - every way of failing here is one line for the user
            raise self._failed(exc) from None
        self.client.normalise_times = False  # keep INTERNALDATE's own offset: aware datetimes
        no_delay(self.client.socket())
        try:
            if config.security == "starttls":
                self.client.starttls(context)
            if isinstance(password, str):
                self.client.login(config.username, password)
            else:  # imported only by who signs in with OAuth2: a password check loads no HTTP client
                self._oauth2_login(password)
            # CONDSTORE (RFC 7162) lets a check ask "which flags changed since last time?"
            self.condstore = self.client.has_capability("CONDSTORE") and bool(self.client.enable("CONDSTORE"))
        except Exception as exc:  # noqa: BLE001
            try:
                self.client.shutdown()
            except OSError:  # a failed TLS handshake already closed the socket: keep the real reason
                pass
            if isinstance(exc, OAuthError):  # no token to be had: its own line (sign in again ...)
                raise
            raise self._failed(exc) from None

    def _oauth2_login(self, tokens: RetryOnce) -> None:
        from imapclient.exceptions import LoginError

        user = self.config.username
        if self.client.has_capability("AUTH=XOAUTH2") or not self.client.has_capability("AUTH=OAUTHBEARER"):
            tokens.call(lambda token: self.client.oauth2_login(user, token), LoginError)
        else:
            tokens.call(lambda token: self.client.oauthbearer_login(user, token), LoginError)

    def _failed(self, exc: BaseException) -> FetchError:
        config = self.config
        reason = describe(exc, config.host, config.effective_port, config.security)
        return FetchError(f"imap {config.host}:{config.effective_port}: {reason}")

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - the connection may already be gone; nothing to save
            try:
                self.client.shutdown()  # close our end of a dropped connection, or it leaks
            except Exception:  # noqa: BLE001
                pass

    def command(self, what: str, call: Callable[[], T]) -> T:
        """Run one IMAP command; any failure (a timeout, a dropped connection) is one FetchError."""
        try:
            return call()
        except Exception as exc:  # noqa: BLE001
            raise FetchError(f"imap {self.config.host}: {what}: {midway(exc)}") from None

    def select(self, folder: str, readonly: bool = True) -> FolderState:
        info = self.command(f"cannot open folder {folder!r}",
                            lambda: self.client.select_folder(folder, readonly=readonly))
        modseq = info.get(b"HIGHESTMODSEQ")
        return FolderState(int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT", 0)), int(info.get(b"EXISTS", 0)),
                           int(modseq) if modseq is not None and self.condstore else None)

    def status(self, folder: str) -> FolderState:
        """A folder's state without selecting it: much cheaper on a large folder, and enough to know
        that nothing changed since the last check."""
        items = [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"] + ([b"HIGHESTMODSEQ"] if self.condstore else [])
        info = self.command(f"cannot open folder {folder!r}", lambda: self.client.folder_status(folder, items))
        modseq = info.get(b"HIGHESTMODSEQ")
        return FolderState(int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT", 0)), int(info.get(b"MESSAGES", 0)),
                           int(modseq) if modseq is not None else None)

    def sent_folder(self) -> str | None:
        """The Sent folder: SPECIAL-USE \\Sent (RFC 6154), else imap.sent_folder, else none."""
        if self.config.sent_folder:
            return self.config.sent_folder
        found = self.command("list", lambda: self.client.find_special_folder(b"\\Sent"))
        return str(found) if found else None

    def changed_since(self, modseq: int) -> list[int]:
        """UIDs whose flags changed after `modseq` (CONDSTORE)."""
        return sorted(self.command("search", lambda: self.client.search(["MODSEQ", modseq + 1])))

    def flags(self, uids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not uids:
            return {}
        answer = self.command("fetch", lambda: self.client.fetch(list(uids), [b"FLAGS"]))
        return {uid: tuple(_text(f) for f in data.get(b"FLAGS", ())) for uid, data in answer.items() if uid in uids}

    def set_flag(self, uids: Sequence[int], flag: bytes, on: bool) -> None:
        """Add or remove a flag; the folder must be selected read-write."""
        if uids:
            change = self.client.add_flags if on else self.client.remove_flags
            self.command("store", lambda: change(list(uids), [flag], silent=True))

    def append(self, folder: str, data: bytes) -> None:
        self.command(f"cannot append to {folder!r}", lambda: self.client.append(folder, data))

    def fetch_sent(self, uids: Sequence[int]) -> Iterator[Fetched]:
        """The threading headers and dates of sent messages, in batches."""
        for start in range(0, len(uids), BATCH):
            batch = list(uids[start:start + BATCH])
            answer = self.command("fetch", lambda: self.client.fetch(batch, SENT_ITEMS))  # noqa: B023
            for uid in batch:
                data = answer.get(uid)
                if data is None:
                    continue
                header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"") or b""
                yield Fetched(uid, header, (), _aware(data.get(b"INTERNALDATE")), 0)

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above `last_uid`. 'N:*' always includes the highest UID, so filter it again."""
        found = self.command("search", lambda: self.client.search(["UID", f"{last_uid + 1}:*"]))
        return sorted(u for u in found if u > last_uid)

    def uids_since(self, since: datetime) -> list[int]:
        return sorted(self.command("search", lambda: self.client.search(["SINCE", since.date()])))

    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]:
        """Headers, flags, arrival time and size of `uids`, in batches; never a body."""
        for start in range(0, len(uids), BATCH):
            batch = list(uids[start:start + BATCH])
            answer = self.command("fetch", lambda: self.client.fetch(batch, HEADER_ITEMS))  # noqa: B023
            wanted = set(batch)
            empty = [uid for uid, data in answer.items() if uid in wanted and not _has_header(data)]
            starts = self.command("fetch", lambda: self.client.fetch(empty, [START_ITEM])) if empty else {}  # noqa: B023
            for uid in batch:
                data = answer.get(uid)
                if data is None:  # expunged meanwhile, or an unsolicited answer about another message
                    continue
                header = data.get(b"BODY[HEADER]") or b""
                if uid in starts:
                    header = next((v for k, v in starts[uid].items() if k.startswith(b"BODY[")), header) or header
                yield Fetched(uid, header, tuple(_text(f) for f in data.get(b"FLAGS", ())),
                              _aware(data.get(b"INTERNALDATE")), int(data.get(b"RFC822.SIZE", 0)))


def _has_header(data: Mapping[bytes, object]) -> bool:
    header = data.get(b"BODY[HEADER]")
    return isinstance(header, bytes) and any(b":" in line for line in header.split(b"\n")[:3])


def _aware(value: object) -> datetime:
    if not isinstance(value, datetime):
        return datetime.now(UTC)
    return value if value.tzinfo else value.astimezone(UTC)  # imapclient gives local naive


def _text(value: object) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)

