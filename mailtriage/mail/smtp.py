"""The SMTP edge (aiosmtplib): one connection, one message at a time, each outcome by its code.

`SmtpSession.send` runs MAIL, RCPT and DATA as separate steps, so a failure says exactly how far
the message got: refused for now (4xx, or the connection dropped before DATA) -> `planned`, to be
tried again at a later check; refused for good (5xx) -> `failed`; the connection lost during or
after DATA -> `unknown`, since the server may have taken it: never sent again. The caller
records each outcome; this module never touches the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from mailtriage.config.servers import Smtp
from mailtriage.core.models import ReplyState
from mailtriage.errors import OAuthError, SendError
from mailtriage.mail.imap import tls_context
from mailtriage.mail.netreasons import describe

if TYPE_CHECKING:
    from mailtriage.mail.oauth2 import RetryOnce

SENT, PLANNED, FAILED, UNKNOWN = ReplyState.SENT, ReplyState.PLANNED, ReplyState.FAILED, ReplyState.UNKNOWN


@dataclass(frozen=True)
class Result:
    state: ReplyState  # SENT | FAILED | PLANNED (refused for now: try again) | UNKNOWN
    envelope_sender: str
    response: str

    @property
    def connection_lost(self) -> bool:
        return self.response.startswith("connection lost")


class SmtpSession:
    """One SMTP connection; use as a context manager and call `send` for each message."""

    def __init__(self, config: Smtp, password: str | RetryOnce | None, identity: str,
                 envelope: str | None = None) -> None:
        """`envelope` overrides the configured envelope sender (the summary is no auto-reply); PASSWORD may be
        a token source: then AUTH XOAUTH2, the token refreshed and the AUTH retried once when refused."""
        import aiosmtplib

        self.config, self.password, self.identity = config, password, identity
        self.where = f"{config.host}:{config.effective_port}"
        self.envelope = identity if config.envelope_sender == "identity" else ""
        if envelope is not None:
            self.envelope = envelope
        self.runner = asyncio.Runner()
        self.client = aiosmtplib.SMTP(hostname=config.host, port=config.effective_port, timeout=config.timeout,
                                      use_tls=config.security == "tls", start_tls=config.security == "starttls",
                                      tls_context=tls_context(config) if config.security != "none" else None)
        self.alive = False

    def __enter__(self) -> SmtpSession:
        import aiosmtplib

        try:
            self.runner.run(self.client.connect())
            secret, user, client = self.password, self.config.username, self.client
            if user and (secret is None or isinstance(secret, str)):
                self.runner.run(client.login(user, secret or ""))
            elif user and secret is not None and not isinstance(secret, str):
                secret.call(lambda token: self.runner.run(client.auth_xoauth2(user, token)),
                            aiosmtplib.SMTPAuthenticationError)
        except OAuthError:
            self._close()
            raise
        except (TimeoutError, aiosmtplib.SMTPException, OSError, ValueError) as exc:
            self._close()
            reason = describe(exc, self.config.host, self.config.effective_port, self.config.security)
            raise SendError(f"smtp {self.where}: {reason}") from None
        self.alive = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.alive:
            try:
                self.runner.run(self.client.quit())
            except Exception:  # noqa: BLE001 - every outcome is recorded already; a failed QUIT changes nothing
                pass
        self._close()

    def _close(self) -> None:
        try:
            self.runner.run(self._drop())
        except Exception:  # noqa: BLE001 - closing a connection that is already gone changes nothing
            pass
        finally:
            self.runner.close()

    async def _drop(self) -> None:
        try:
            self.client.close()  # a failed connect closed it already (and a second close may raise)
        finally:
            for _ in range(5):  # let the loop run the transports' own closing (TLS takes a few turns)
                await asyncio.sleep(0)

    @property
    def smtputf8(self) -> bool:
        return bool(self.alive and self.client.supports_extension("smtputf8"))

    def send(self, recipient: str, data: bytes, *, smtputf8: bool = False) -> Result:
        """One message to one recipient; never raises for what the server answers."""
        if not self.alive:
            return Result(PLANNED, self.envelope or "<>", "connection lost before this message")
        result = self.runner.run(self._send(recipient, data, smtputf8))
        if result.state == UNKNOWN or result.connection_lost:
            self.alive = False
        return result

    async def _send(self, recipient: str, data: bytes, smtputf8: bool) -> Result:
        import aiosmtplib

        options = ["SMTPUTF8"] if smtputf8 else []
        encoding = "utf-8" if smtputf8 else "ascii"
        step = "MAIL"
        try:
            try:
                await self.client.mail(self.envelope, options=options, encoding=encoding)
            except aiosmtplib.SMTPSenderRefused:
                if self.envelope or self.config.envelope_sender != "auto":
                    raise
                await self._reset()
                self.envelope = self.identity  # this server refuses the null sender: fall back, once and for all
                await self.client.mail(self.envelope, options=options, encoding=encoding)
            step = "RCPT"
            await self.client.rcpt(recipient, encoding=encoding)
            step = "DATA"
            response = await self.client.data(data)
            return Result(SENT, self.envelope or "<>", f"{response.code} {response.message}")
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            state = PLANNED if 400 <= exc.code < 500 else FAILED
            return Result(state, self.envelope or "<>", f"{exc.code} {one_line(exc.message)} (at {step})")
        except UnicodeEncodeError:
            await self._reset()
            return Result(FAILED, self.envelope or "<>", f"the server lacks SMTPUTF8, needed for {recipient}")
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # Before DATA nothing can have been accepted: try again later. During DATA the server
            # may have taken the message although we never heard it say so.
            state = UNKNOWN if step == "DATA" else PLANNED
            return Result(state, self.envelope or "<>", f"connection lost at {step}: {_describe(exc)}")

    def probe_sender(self, address: str) -> str | None:
        """Would MAIL FROM:<address> be accepted? Never goes on to RCPT or DATA: RSET follows at once.
        None when accepted, else the server's answer (`mailtriage doctor`)."""
        import aiosmtplib

        async def probe() -> str | None:
            try:
                await self.client.mail(address)
            except aiosmtplib.SMTPResponseException as exc:
                return f"{exc.code} {one_line(exc.message)}"
            finally:
                await self._reset()
            return None

        return self.runner.run(probe())

    async def _reset(self) -> None:
        try:
            await self.client.rset()
        except Exception:  # noqa: BLE001 - the next command will tell whether the connection lives
            pass


def send_message(config: Smtp, password: str | RetryOnce | None, identity: str, recipient: str, data: bytes,
                 envelope: str | None = None) -> Result:
    """Send one message on a connection of its own (the morning summary)."""
    with SmtpSession(config, password, identity, envelope) as session:
        return session.send(recipient, data)


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def _describe(exc: BaseException) -> str:
    text = one_line(exc) or type(exc).__name__
    return text if len(text) > 12 else f"{type(exc).__name__}: {text}"
