"""The guards: small named checks that each say why a message must not get an automatic reply.

Each guard looks at one message and answers with a reason or None. They run in order and the
first reason wins, so one log line and one database field say *why* a message got no reply.
`machine` guards recognise mail that no person wrote (bounces, lists, auto-replies): such mail
opens no thread. The others (a human wrote it, but answering would be wrong: the sender asked
not to be auto-answered, it was not addressed to us) still record a thread with a deadline.
Sources are in ../shared/SUPPRESSION.md: RFC 3834/5230, Pigeonhole, Zammad, Discourse, FreeScout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailtriage.models import Incoming


@dataclass(frozen=True)
class Context:
    """What the guards know besides the message: who we are and what the user chose."""

    own_addresses: frozenset[str]
    require_addressed: bool = True
    spam_folders: frozenset[str] = frozenset({"junk", "spam"})

    def is_ours(self, address: str) -> bool:
        """Our address, also with a +detail (kasia+invoices@example.com is kasia@example.com)."""
        address = address.lower()
        local, _, domain = address.rpartition("@")
        return address in self.own_addresses or f"{local.split('+', 1)[0]}@{domain}" in self.own_addresses


@dataclass(frozen=True)
class Guard:
    name: str
    description: str
    check: Callable[[Incoming, Context], str | None]
    machine: bool = True


def _local(address: str) -> str:
    return address.rpartition("@")[0]


_SYSTEM_LOCAL = re.compile(
    r"(mailer-daemon|mailerdaemon|listserv|majordomo|mailman|owner-.*|.*-request|.*-errors?|.*-relay|.*-bounces?"
    r"|bounces?(\+.*)?|mailer|daemon|nobody|root|cron|oracle|www-data|apache|nginx|postgres|mysql)"
)
_BY_ROOT = re.compile(r"\(\w+, from userid 0\)")  # Postfix's trace of a local submission by uid 0
_HUMAN_READ_SYSTEM = {"postmaster", "abuse", "hostmaster", "webmaster"}  # RFC 5230: a person reads these
_NOREPLY = re.compile(r"(no|do|dont|do[-_.]?not)[-_.]?reply|noreply|notifications?|alerts?|newsletters?|"
                      r"(mail|e)?[-_.]?marketing|news")
_AUTO_HEADER = re.compile(r"(x-)?auto[-_]?(response|submitted|replied|reply|generated|respond)|"
                          r".*holidayreply|.*machinegenerated|x-autorespond(er)?|x-autoreply|x-loop")
_LIST_HEADERS = ("list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-post", "list-owner",
                 "list-archive", "x-beenthere", "x-mailman-version", "mailing-list", "x-mailing-list")
_NOTIFIER_HEADERS = ("x-jira-fingerprint", "x-github-reason", "x-gitlab-project", "x-redmine-project",
                     "x-bugzilla-product", "x-gerrit-messagetype", "x-jenkins-job", "x-zabbix", "x-mailgun-tag",
                     "x-campaign", "x-campaignid", "x-mc-user", "x-sfmc-stack", "x-ses-outgoing")
_OOO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?\s*(reply|response|antwort)|automatische\s+antwort|autoreply|auto:|"
    r"out\s+of\s+(the\s+)?office|away\s+from\s+(the\s+)?office|on\s+vacation|vacation\s+reply|"
    r"abwesenheit|abwesenheitsnotiz|nicht\s+im\s+b[üu]ro|"
    r"automatyczna\s+odpowied[źz]|odpowied[źz]\s+automatyczna|nieobecno[śs][ćc]|poza\s+biurem|urlop|"
    r"r[ée]ponse\s+automatique|absence|respuesta\s+autom[áa]tica|risposta\s+automatica|"
    r"\[?auto[-\s]?generated\]?)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver(ed|able)|delivery\s+(status\s+notification|failure|has\s+failed|notification)|"
    r"returned\s+mail|mail\s+delivery\s+(failed|failure|system)|failed\s+mail|failure\s+notice|"
    r"non[-\s]?delivery|unzustellbar|nicht\s+zustellbar|niedostarczon|nie\s+mo[żz]na\s+dostarczy)",
    re.IGNORECASE,
)
_SPAM_SUBJECT = re.compile(r"^\s*(\[spam\]|\*{3}\s*spam\s*\*{3}|\{spam\??\})", re.IGNORECASE)


def null_return_path(msg: Incoming, ctx: Context) -> str | None:
    value = msg.header("return-path").strip()
    return "null Return-Path <>: a delivery report" if value in ("<>", "") and "return-path" in msg.headers else None


def own_address(msg: Incoming, ctx: Context) -> str | None:
    return f"from our own address {msg.sender}" if ctx.is_ours(msg.sender) else None


def system_sender(msg: Incoming, ctx: Context) -> str | None:
    for address in (msg.sender, _bare(msg.header("return-path")), _bare(msg.header("sender"))):
        if address and _SYSTEM_LOCAL.fullmatch(_local(address)):
            return f"system sender {address}"
    if _BY_ROOT.search(msg.header("received")):
        return "submitted on a server by root (a script or cron job)"
    return None


def no_reply_sender(msg: Incoming, ctx: Context) -> str | None:
    for address in (msg.sender, msg.reply_to, _bare(msg.header("return-path"))):
        if address and _NOREPLY.search(_local(address).replace(".", "")):
            return f"no-reply sender {address}"
    return None


def auto_submitted(msg: Incoming, ctx: Context) -> str | None:
    value = msg.header("auto-submitted").strip().lower()
    return f"Auto-Submitted: {value}" if value and value.split(";")[0].strip() != "no" else None


def list_mail(msg: Incoming, ctx: Context) -> str | None:
    for name in (*_LIST_HEADERS, *(n for n in msg.headers if n.startswith("list-"))):
        if name in msg.headers:
            return f"mailing list ({name} header)"
    return None


def precedence(msg: Incoming, ctx: Context) -> str | None:
    for name in ("precedence", "x-precedence"):
        value = msg.header(name).strip().lower()
        if value in ("bulk", "list", "junk", "auto_reply", "auto-reply"):
            return f"Precedence: {value}"
    return None


def suppress_header(msg: Incoming, ctx: Context) -> str | None:
    values = {v.strip().lower() for v in msg.header("x-auto-response-suppress").split(",")}
    hit = values & {"all", "oof", "autoreply"}
    return f"X-Auto-Response-Suppress: {', '.join(sorted(hit))} asks for no automatic answer" if hit else None


def autoresponder_headers(msg: Incoming, ctx: Context) -> str | None:
    for name in msg.headers:
        if name not in ("auto-submitted", "x-auto-response-suppress") and _AUTO_HEADER.fullmatch(name):
            return f"autoresponder header {name}"
    return None


def notifier_headers(msg: Incoming, ctx: Context) -> str | None:
    for name in _NOTIFIER_HEADERS:
        if name in msg.headers:
            return f"notification system header {name}"
    return None


def report(msg: Incoming, ctx: Context) -> str | None:
    kind = msg.content_type
    if kind == "multipart/report" or kind.startswith("message/delivery-status") or kind.startswith(
            "message/disposition-notification"):
        return f"delivery or read report ({kind})"
    return None


def bounce_subject(msg: Incoming, ctx: Context) -> str | None:
    return f"delivery failure subject {msg.subject[:60]!r}" if _BOUNCE_SUBJECT.match(msg.subject) else None


def out_of_office_subject(msg: Incoming, ctx: Context) -> str | None:
    return f"automatic reply subject {msg.subject[:60]!r}" if _OOO_SUBJECT.match(msg.subject) else None


def spam(msg: Incoming, ctx: Context) -> str | None:
    if msg.header("x-spam-flag").strip().lower().startswith("yes"):
        return "marked as spam (X-Spam-Flag: YES)"
    if msg.header("x-spam-status").strip().lower().startswith("yes"):
        return "marked as spam (X-Spam-Status: Yes)"
    if _SPAM_SUBJECT.match(msg.subject):
        return "marked as spam (subject tag)"
    if "control characters in Subject" in msg.defects:
        return "forged headers (control characters encoded in the Subject)"
    if msg.folder.rsplit("/", 1)[-1].lower() in ctx.spam_folders:
        return f"in the spam folder {msg.folder}"
    return None


def postmaster(msg: Incoming, ctx: Context) -> str | None:
    local = _local(msg.sender)
    return f"role address {msg.sender}: a person reads it, but it gets no automatic answer" \
        if local in _HUMAN_READ_SYSTEM else None


def not_addressed(msg: Incoming, ctx: Context) -> str | None:
    if not ctx.require_addressed or any(ctx.is_ours(r) for r in msg.recipients):
        return None
    return "not addressed to us (Bcc, a list or a forward)"


def _bare(value: str) -> str:
    found = re.search(r"[^<>\s@]+@[^<>\s@]+", value)
    return found.group(0).lower() if found else ""


# Order matters only for which reason is reported: the most specific evidence first.
GUARDS: tuple[Guard, ...] = (
    Guard("null-return-path", "RFC 3834: never answer a message with an empty return path", null_return_path),
    Guard("own-address", "mail from one of identity.addresses", own_address),
    Guard("report", "a delivery status or read report", report),
    Guard("auto-submitted", "RFC 3834 Auto-Submitted other than 'no'", auto_submitted),
    Guard("system-sender", "MAILER-DAEMON, list robots, owner-/-request/-bounces, system accounts", system_sender),
    Guard("no-reply", "a no-reply or notification sender", no_reply_sender),
    Guard("list", "a mailing-list header (List-Id, List-Unsubscribe, X-BeenThere, ...)", list_mail),
    Guard("precedence", "Precedence bulk, list, junk or auto_reply", precedence),
    Guard("autoresponder", "X-Loop, X-Autoreply and other autoresponder headers", autoresponder_headers),
    Guard("notifier", "headers of ticket, CI and campaign systems", notifier_headers),
    Guard("bounce-subject", "a delivery failure subject", bounce_subject),
    Guard("out-of-office", "an automatic-reply subject (en, pl, de, fr, es, it)", out_of_office_subject),
    Guard("spam", "flagged as spam or found in a spam folder", spam),
    Guard("suppress", "X-Auto-Response-Suppress: All, OOF or AutoReply", suppress_header, machine=False),
    Guard("postmaster", "postmaster, abuse, hostmaster, webmaster (RFC 5230)", postmaster, machine=False),
    Guard("not-addressed", "none of our addresses in To or Cc (require_addressed)", not_addressed, machine=False),
)


def first_hit(msg: Incoming, ctx: Context) -> tuple[Guard, str] | None:
    """The first guard that objects to answering `msg`, with its reason."""
    for guard in GUARDS:
        reason = guard.check(msg, ctx)
        if reason:
            return guard, reason
    return None
