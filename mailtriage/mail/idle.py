"""Watching one folder for new mail between checks: IMAP IDLE (RFC 2177), or polling where there is none.

What the design rests on (imapclient 4.1, read in its source, and its issues #403, #449, #565):
- `idle_check` swallows EOF and socket errors and returns what it read, often `[]`: a dead
  connection looks like a quiet mailbox. So `[]` before the timeout (the socket was readable,
  yet no line came) is proven with DONE + NOOP at once, and every `renew` IDLE is ended, the
  connection proven with NOOP and IDLE begun again, well within RFC 2177's 29 minutes and the
  5 to 10 minutes after which NAT boxes forget a quiet connection.
- `idle_done` can hang when the network is cut: after `idle_check` the socket has its read
  timeout again (imap.timeout), so DONE gives up after it; `close` shuts the socket down from
  another thread, which ends any wait at once.
- After a suspend the connection is as good as gone: the watch says so (`Gone`) when the wall of
  time slept (CLOCK_BOOTTIME) ran well ahead of the time awake (CLOCK_MONOTONIC).
Any failure is a `Gone` (a FetchError): the caller connects again; what arrived meanwhile is past
the folder's mark, so it is found either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from mailtriage.errors import FetchError
from mailtriage.mail.imap import FolderState, Mailbox
from mailtriage.mail.netreasons import midway

T = TypeVar("T")  # what an IMAP command returns, passed through `_command`
SLICE = 1.0  # seconds of one wait on the socket: how soon a stop is noticed
SLEPT = 30.0  # seconds the machine slept (suspend) beyond its waking time that end a connection


class Gone(FetchError):
    """The watched connection is gone or cannot be trusted: connect again."""


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


def lost(exc: BaseException) -> str:
    """Why the watched connection failed, in words, without the check's 'the next check tries again'."""
    return midway(exc).split(": nothing is lost")[0]


def slept(awake: float, passed: float, limit: float = SLEPT) -> bool:
    """True when, over one wait, the time that passed (suspend included) exceeds the time awake by `limit`."""
    return passed - awake > limit


class Watch:
    """One folder of one connection, selected read-only and watched: `wait` says when something came."""

    def __init__(self, mailbox: Mailbox, folder: str, renew: float, poll: float) -> None:
        self.mailbox, self.folder = mailbox, folder
        self.renew, self.poll = renew, poll
        self.idle = mailbox.client.has_capability("IDLE")
        self.idling = False
        self.pending = False  # an EXISTS came in the answer to DONE or NOOP: news, said at the next wait
        self.state: FolderState | None = None
        self._renewed = time.monotonic()

    def start(self) -> FolderState:
        """Select the folder (read-only: nothing is marked read) and begin watching it."""
        self.state = self.mailbox.select(self.folder)
        self._begin()
        return self.state

    def wait(self, seconds: float, should_stop: Callable[[], bool]) -> bool:
        """Wait up to `seconds` (or until `should_stop`) for new mail; True when some may have come.
        Raises Gone when the connection failed, was closed by the server, or outlived a suspend."""
        end = time.monotonic() + seconds
        while not should_stop():
            if self.pending:
                self.pending = False
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            if self.idle and time.monotonic() - self._renewed >= self.renew:
                with self.paused():
                    self._noop()
                continue
            awake, passed = time.monotonic(), _boottime()
            news = self._idle_slice(min(left, SLICE)) if self.idle else self._poll_slice(min(left, SLICE))
            if slept(time.monotonic() - awake, _boottime() - passed):
                raise Gone(f"imap {self.mailbox.config.host}: the computer slept: connecting again")
            if news:
                return True
        return False

    @contextmanager
    def paused(self) -> Iterator[Mailbox]:
        """Out of IDLE for other commands (a fetch), and back into it after, whatever happened meanwhile."""
        self._end()
        try:
            yield self.mailbox
        finally:
            self._begin()

    def close(self) -> None:
        """End the connection from any thread: a wait or a DONE that hangs returns at once."""
        try:
            self.mailbox.client.shutdown()
        except Exception:  # noqa: BLE001 - already closed
            pass

    # --- IDLE ---------------------------------------------------------------------------------

    def _begin(self) -> None:
        if self.idle and not self.idling:
            self._command("IDLE", self.mailbox.client.idle)
            self.idling, self._renewed = True, time.monotonic()

    def _end(self) -> None:
        if self.idling:
            self.idling = False
            answer = self._command("DONE", self.mailbox.client.idle_done)
            self._heard(answer[1] if isinstance(answer, tuple) and len(answer) > 1 else [])

    def _noop(self) -> bool:
        """NOOP: proves the connection and brings the session up to date; True when mail came."""
        answer = self._command("NOOP", self.mailbox.client.noop)
        return self._heard(answer[1] if isinstance(answer, tuple) and len(answer) > 1 else [])

    def _heard(self, responses: object) -> bool:
        """Whether untagged answers say mail came (EXISTS, RECENT); if so, it is news for the next wait."""
        came = isinstance(responses, list) and any(
            isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        self.pending = self.pending or came
        return came

    def _idle_slice(self, seconds: float) -> bool:
        started = time.monotonic()
        client = self.mailbox.client
        responses: list[tuple[object, ...]] = self._command("IDLE", lambda: client.idle_check(timeout=seconds))
        for response in responses:
            if len(response) >= 1 and response[0] == b"BYE":
                raise Gone(f"imap {self.mailbox.config.host}: the server closed the connection: "
                           f"{_text(response[1:]) or 'BYE'}")
            if len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT"):
                return True
        if not responses and time.monotonic() - started < seconds * 0.5:
            # Readable yet nothing read: the end of the connection, or a partial line. Prove it.
            with self.paused():
                self._noop()
        return False

    # --- polling (a server without IDLE) ---------------------------------------------------------

    def _poll_slice(self, seconds: float) -> bool:
        """NOOP every `poll`: it brings the session up to date and the server says EXISTS when mail
        came (a STATUS or SEARCH of the selected folder may answer from the session's stale view)."""
        if time.monotonic() - self._renewed < self.poll:
            time.sleep(seconds)
            return False
        self._renewed = time.monotonic()
        came = self._noop()
        self.pending = False  # said now, by returning True
        return came

    def _command(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - whatever broke, the connection is not to be trusted
            raise Gone(f"imap {self.mailbox.config.host}: {what}: {lost(exc)}") from None


def _text(parts: tuple[object, ...]) -> str:
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts).strip()
