"""The outbox stage: send the planned holding replies, one SMTP transaction each.

Each reply is claimed `sending` and committed before its own transaction starts; the session
returns its outcome (mail/smtp.py never touches the database) and the outcome is committed at
once, together with the claim of the next reply: sent; 4xx -> planned again; 5xx -> failed;
lost during DATA -> unknown, never sent again. So a crash leaves each reply planned, sent or of
unknown fate, and none goes out twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailtriage.config.model import Rules
from mailtriage.core.models import ReplyState
from mailtriage.errors import SendError
from mailtriage.mail.signin import credential
from mailtriage.mail.smtp import FAILED, SENT, UNKNOWN, SmtpSession
from mailtriage.store.db import Store

log = logging.getLogger("mailtriage")
RETRY_FOR = timedelta(days=1)  # a planned reply older than this is no longer worth sending


@dataclass
class Sending:
    """What the outbox did: replies sent, failed for good or of unknown fate, still waiting."""

    sent: int = 0
    failed: int = 0
    waiting: int = 0
    error: str | None = None  # why nothing more could be sent (no smtp section, a refused login)

    def count(self, reply_id: int, state: ReplyState, response: str) -> None:
        if state == SENT:
            self.sent += 1
            return
        self.failed += state in (FAILED, UNKNOWN)
        log.warning("holding reply %d: %s (%s)", reply_id, state, response)


def send(store: Store, rules: Rules, now: datetime) -> Sending | None:
    """Send the outbox, claiming one reply at a time just before its own SMTP transaction.
    None when nothing is planned (no SMTP connection is made)."""
    planned = store.expire_replies(now, RETRY_FOR)
    if not rules.store_subjects:  # a reply that will not go out keeps no copy of the subject either
        store.drop_settled_texts()
    if not planned:
        return None
    if rules.smtp is None:
        return Sending(waiting=store.count_replies(ReplyState.PLANNED),
                       error="no smtp section in rules.yaml: holding replies cannot be sent")
    from mailtriage.core.addresses import NeedsSmtpUtf8, envelope_recipient

    outcome = Sending()
    password = credential(rules, rules.smtp)
    try:
        with SmtpSession(rules.smtp, password, rules.identity.address) as session:
            reply = store.claim_next() if session.alive else None  # committed `sending` before its send
            while reply is not None:
                try:
                    rcpt, why_not = envelope_recipient(reply.recipient, session.smtputf8), ""
                except NeedsSmtpUtf8 as exc:  # shown in the summary as a failed reply, with why
                    rcpt, why_not = "", str(exc)
                result = session.send(rcpt, reply.data, smtputf8=not rcpt.isascii()) if rcpt else None
                # This reply's outcome and the claim of the next, in one commit (one disk sync per
                # reply): the outcome is recorded right after the send, the next claim still before
                # its own.
                with store.transaction():
                    if result is None:
                        store.fail_reply(reply.id, why_not)
                    else:
                        store.finish_reply(reply.id, result.state, result.envelope_sender, result.response,
                                           keep_text=rules.store_subjects)
                    following = store.claim_next(reply.id) if session.alive else None
                if result is None:
                    outcome.count(reply.id, FAILED, why_not)
                else:
                    outcome.count(reply.id, result.state, result.response)
                reply = following
    except SendError as exc:
        outcome.error = str(exc)
    outcome.waiting = store.count_replies(ReplyState.PLANNED)
    if not rules.store_subjects:  # refused just now (5xx), or lost during DATA
        store.drop_settled_texts()
    return outcome

