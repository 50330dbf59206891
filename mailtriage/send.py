"""The SMTP edge (aiosmtplib): send the outbox over one connection, recording each reply's fate.

The store is told `sending` before each SMTP transaction and `sent` / `failed` after it, so a
crash in between leaves a reply whose fate is unknown, which is never sent again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass

from mailtriage.config import Smtp
from mailtriage.errors import SendError
from mailtriage.fetch import tls_context


@dataclass(frozen=True)
class Outgoing:
    reply_id: int
    recipient: str
    data: bytes


@dataclass(frozen=True)
class Result:
    reply_id: int
    state: str  # sent | failed | planned (refused for now: try again) | unknown
    envelope_sender: str
    response: str


def send_all(config: Smtp, password: str | None, identity: str, items: list[Outgoing],
             before: Callable[[Outgoing], None], after: Callable[[Result], None],
             envelope: str | None = None) -> int:
    """Send every item over one connection; return how many were accepted. Raises SendError
    only when no connection or login is possible (every item then stays as it was). `envelope`
    overrides the configured envelope sender (the summary is no auto-reply: it uses ours)."""
    return asyncio.run(_send_all(config, password, identity, items, before, after, envelope))


async def _send_all(config: Smtp, password: str | None, identity: str, items: list[Outgoing],
                    before: Callable[[Outgoing], None], after: Callable[[Result], None],
                    envelope_override: str | None = None) -> int:
    import aiosmtplib

    where = f"{config.host}:{config.effective_port}"
    client = aiosmtplib.SMTP(hostname=config.host, port=config.effective_port, timeout=config.timeout,
                             use_tls=config.security == "tls", start_tls=config.security == "starttls",
                             tls_context=tls_context(config) if config.security != "none" else None)
    try:
        await client.connect()
        if config.username:
            await client.login(config.username, password or "")
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        raise SendError(f"smtp {where}: {exc or type(exc).__name__}") from None
    envelope = identity if config.envelope_sender == "identity" else ""
    if envelope_override is not None:
        envelope = envelope_override
    accepted = 0
    try:
        for item in items:
            before(item)
            result = await _send_one(client, config, item, envelope, identity)
            if result.state == "sent":
                envelope = "" if result.envelope_sender == "<>" else result.envelope_sender
            after(result)
            accepted += result.state == "sent"
            if result.state == "unknown":
                break  # the connection is gone: the rest stay planned for the next check
    finally:
        try:
            await client.quit()
        except Exception:  # noqa: BLE001 - the replies are already recorded; a failed QUIT changes nothing
            client.close()
    return accepted


async def _send_one(client: object, config: Smtp, item: Outgoing, envelope: str, identity: str) -> Result:
    import aiosmtplib

    assert isinstance(client, aiosmtplib.SMTP)
    try:
        try:
            _, response = await client.sendmail(envelope, [item.recipient], item.data)
        except aiosmtplib.SMTPSenderRefused:
            if envelope or config.envelope_sender != "auto":
                raise
            envelope = identity  # this server refuses the null sender: fall back, once and for all
            _, response = await client.sendmail(envelope, [item.recipient], item.data)
        crash_hook("after-send")
        return Result(item.reply_id, "sent", envelope or "<>", response)
    except aiosmtplib.SMTPResponseException as exc:
        state = "planned" if 400 <= exc.code < 500 else "failed"
        return Result(item.reply_id, state, envelope or "<>", f"{exc.code} {exc.message}")
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return Result(item.reply_id, "failed", envelope or "<>", str(exc))
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        # The connection broke during the transaction: the server may have accepted the message.
        return Result(item.reply_id, "unknown", envelope or "<>", f"connection lost: {exc}")


def crash_hook(point: str) -> None:
    """For the crash tests only: die at a named point, as a power cut would."""
    if os.environ.get("MAILTRIAGE_TEST_CRASH") == point:
        os._exit(86)
