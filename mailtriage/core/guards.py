"""The guards: small named checks that each say why a message must not get an automatic reply.

One ordered table, `GUARDS`, holds every reason in the order a decision reads them. Each guard looks
at one message and answers with a reason or None; every objection is recorded and the first decides,
so one log line and one database field say *why* a message got no reply. `machine` guards recognise
mail that no person wrote (bounces, lists, auto-replies, mass mail): such mail opens no thread.
`person` guards (a human wrote it, but answering would be wrong: the sender asked not to be
auto-answered, it was not addressed to us, it looks like spam) still record a thread with a deadline,
and so do the `history` guards (the thread is already acknowledged, the sender's limit is reached),
which come after the client's own action. Sources: ../shared/SUPPRESSION.md (RFC 3834/5230,
Pigeonhole, Zammad, Discourse, FreeScout) and SpamAssassin's header rules (bulk.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from mailtriage.core import bulk
from mailtriage.core.models import GuardContext, History, Incoming
from mailtriage.core.senders import NOREPLY, ROLE, SYSTEM, address_kind, address_objection, local_part, squeezed

__all__ = ["GUARDS", "Guard", "GuardContext", "History", "address_objection", "all_hits", "first_hit"]

MACHINE, PERSON, HISTORY = "machine", "person", "history"


@dataclass(frozen=True)
class Guard:
    name: str
    description: str
    check: Callable[[Incoming, GuardContext], str | None]
    kind: str = MACHINE  # MACHINE: skip, no thread; PERSON, HISTORY: record the thread, send nothing

    @property
    def machine(self) -> bool:
        return self.kind == MACHINE


# Postfix's trace of a local submission: uid 0 is root, uids below 500 are system accounts on every
# distribution (33 is Debian's www-data: a web application); people's logins start at 500 or 1000.
_BY_SYSTEM_USER = re.compile(r"\(\w+, from userid ([0-4]?\d{1,2})\)")
_AUTO_HEADER = re.compile(r"(x-)?auto[-_]?(response|submitted|replied|reply|generated|respond)|"
                          r".*holidayreply|.*machinegenerated|x-autorespond(er)?|x-autoreply|x-loop")
_LIST_HEADERS = ("list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-post", "list-owner",
                 "list-archive", "x-beenthere", "x-mailman-version", "mailing-list", "x-mailing-list")
_NOTIFIER_HEADERS = ("x-jira-fingerprint", "x-github-reason", "x-gitlab-project", "x-redmine-project",
                     "x-bugzilla-product", "x-gerrit-messagetype", "x-jenkins-job", "x-zabbix")
# Responders put their marker first ("Automatic reply: <subject>"); words a person might also
# start a subject with (Urlop, Absence) count only in that "word: " form. Lotus Notes and others
# write a sentence instead ("… is out of the office", "… jest nieobecny w biurze").
_OOO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?\s*(reply|response|antwort)|automatische\s+antwort|autoreply|auto:|autoodpowied[źz]|"
    r"out\s+of\s+(the\s+)?office|away\s+from\s+(the\s+)?office|vacation\s+reply|"
    r"abwesenheitsnotiz|abwesend\s*:|nicht\s+im\s+b[üu]ro|"
    r"automatyczna\s+odpowied[źz]|odpowied[źz]\s+automatyczna|"
    r"(urlop|nieobecno[śs][ćc]|poza\s+biurem|absence|abwesenheit|on\s+vacation|holiday)\s*:|"
    r"r[ée]ponse\s+automatique|respuesta\s+autom[áa]tica|risposta\s+automatica|"
    r"\[?auto[-\s]?generated\]?)"
    # a responder's sentence ends the subject ("Mark Jones is out of the office."); a person's
    # question about a colleague goes on or asks ("Anna is out of the office - who signs?")
    r"|\b((is|am|will\s+be)\s+out\s+of\s+(the\s+)?office|jest(em)?\s+nieobecn[ya]|nicht\s+im\s+b[üu]ro|"
    r"jestem\s+na\s+urlopie)\b[^?]{0,40}$|"
    r"^\s*(urlop|nieobecno[śs][ćc]|poza\s+biurem|absence|abwesenheit|on\s+vacation|out\s+of\s+office)\s*[.!]?\s*$",
    re.IGNORECASE,
)
# The subjects MTAs give their bounces; each names the report itself, not a delivery a customer
# writes about ("Delivery failure: pallet 3 never arrived" is a person).
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable\s*:|undelivered\s+mail|delivery\s+status\s+notification|delivery\s+has\s+failed|"
    r"mail\s+delivery\s+(failed|failure|system)|returned\s+mail\s*:|failure\s+notice|"
    r"non[-\s]?delivery\s+(report|notification)|delivery\s+notification\s*:|unzustellbar|nicht\s+zustellbar\s*:|"
    r"niedostarczon[aey]\s+wiadomo|wiadomo[śs][ćc]\s+nie\s+zosta[łl]a\s+dostarczona|zwrot\s+niedostarczonej|"
    r"nie\s+mo[żz]na\s+dostarczy[ćc]\s+wiadomo)",
    re.IGNORECASE,
)
_RECEIPT_SUBJECT = re.compile(r"^\s*((read|odczytano|przeczytano|gelesen|lu|le[íi]do|letto)\s*:|(return|read)\s+receipt"
                              r"\b|potwierdzenie\s+odczytu\b|lesebest[äa]tigung\b)", re.IGNORECASE)
_DMARC_SUBJECT = re.compile(r"report\s+domain:.*submitter:", re.IGNORECASE)
_SPAM_SUBJECT = re.compile(r"^\s*(\[spam\]|\*{3}\s*spam\s*\*{3}|\{spam\??\})", re.IGNORECASE)



def broken(msg: Incoming, ctx: GuardContext) -> str | None:
    return f"broken message: {msg.broken}" if msg.broken else None


def duplicate(msg: Incoming, ctx: GuardContext) -> str | None:
    # RFC 5322: one Message-ID, one message. A copy (a second folder, a re-delivery) is not new mail.
    return f"duplicate of a recorded message {msg.message_id}" if ctx.history.duplicate else None


def null_return_path(msg: Incoming, ctx: GuardContext) -> str | None:
    value = msg.header("return-path").strip()
    return "null Return-Path <>: a delivery report" if value in ("<>", "") and "return-path" in msg.headers else None


def own_address(msg: Incoming, ctx: GuardContext) -> str | None:
    if ctx.is_ours(msg.sender):
        return f"from our own address {msg.sender}"
    return f"Reply-To is our own address {msg.reply_to}: a reply would loop" if ctx.is_ours(msg.reply_to) else None


def system_sender(msg: Incoming, ctx: GuardContext) -> str | None:
    # The sender, where a reply would go, and the envelope: a robot in any of them means a robot wrote.
    for address in (msg.sender, msg.reply_to, _bare(msg.header("return-path")), _bare(msg.header("sender"))):
        found = address_kind(address, ctx)
        if found and found[0] == SYSTEM:
            return found[1]
    trace = _BY_SYSTEM_USER.search(msg.header("received"))
    if trace:
        who = "root" if trace.group(1) == "0" else f"the system account {trace.group(1)}"
        return f"submitted on a server by {who} (a script, a cron job or a web application)"
    envelope = _bare(msg.header("return-path"))
    if envelope and squeezed(local_part(envelope)) in ("postmaster", "mailerdaemon"):
        return f"sent by a mail server (Return-Path {envelope})"
    return None


def no_reply_sender(msg: Incoming, ctx: GuardContext) -> str | None:
    # A no-reply From with a person's Reply-To elsewhere is a web form relaying a visitor: that
    # Reply-To is answered. A no-reply Reply-To is never answered.
    relay = bulk.relays_a_person(msg)
    for address in (msg.reply_to, *(() if relay else (msg.sender, _bare(msg.header("return-path"))))):
        found = address_kind(address, ctx)
        if found and found[0] == NOREPLY:
            return found[1]
    return None


def is_auto_submitted(msg: Incoming) -> str | None:
    """'Auto-Submitted: <value>' when the message says it is automatic (RFC 3834: any value but 'no')."""
    value = msg.header("auto-submitted").strip().lower()
    return f"Auto-Submitted: {value}" if value and value.split(";")[0].strip() != "no" else None


def auto_submitted(msg: Incoming, ctx: GuardContext) -> str | None:
    return is_auto_submitted(msg)


def list_mail(msg: Incoming, ctx: GuardContext) -> str | None:
    for name in (*_LIST_HEADERS, *(n for n in msg.headers if n.startswith("list-"))):
        if name in msg.headers:
            return f"mailing list ({name} header)"
    return None


def precedence(msg: Incoming, ctx: GuardContext) -> str | None:
    for name in ("precedence", "x-precedence"):
        value = msg.header(name).strip().lower()
        if value in ("bulk", "list", "junk", "auto_reply", "auto-reply"):
            return f"Precedence: {value}"
    return None


def suppress_header(msg: Incoming, ctx: GuardContext) -> str | None:
    values = {v.strip().lower() for v in msg.header("x-auto-response-suppress").split(",")}
    hit = values & {"all", "oof", "autoreply"}
    return f"X-Auto-Response-Suppress: {', '.join(sorted(hit))} asks for no automatic answer" if hit else None


def autoresponder_headers(msg: Incoming, ctx: GuardContext) -> str | None:
    for name in msg.headers:
        if name not in ("auto-submitted", "x-auto-response-suppress") and _AUTO_HEADER.fullmatch(name):
            return f"autoresponder header {name}"
    return None


def notifier_headers(msg: Incoming, ctx: GuardContext) -> str | None:
    for name in _NOTIFIER_HEADERS:
        if name in msg.headers:
            return f"notification system header {name}"
    return None


def report(msg: Incoming, ctx: GuardContext) -> str | None:
    kind = msg.content_type
    if kind == "multipart/report" or kind.startswith("message/delivery-status") or kind.startswith(
            "message/disposition-notification"):
        return f"delivery or read report ({kind})"
    if "urn:content-classes:mdn" in msg.header("content-class").lower():
        return "a read receipt (Content-Class: urn:content-classes:mdn)"
    if _RECEIPT_SUBJECT.match(msg.subject):
        return f"a read receipt ({msg.subject[:40]!r})"
    if _DMARC_SUBJECT.search(msg.subject):
        return "a DMARC aggregate report"
    return None


def bounce_subject(msg: Incoming, ctx: GuardContext) -> str | None:
    return f"delivery failure subject {msg.subject[:60]!r}" if _BOUNCE_SUBJECT.match(msg.subject) else None


def out_of_office_subject(msg: Incoming, ctx: GuardContext) -> str | None:
    return f"automatic reply subject {msg.subject[:60]!r}" if _OOO_SUBJECT.search(msg.subject) else None


def spam(msg: Incoming, ctx: GuardContext) -> str | None:
    if msg.header("x-spam-flag").strip().lower().startswith("yes"):
        return "marked as spam (X-Spam-Flag: YES)"
    if msg.header("x-spam-status").strip().lower().startswith("yes"):
        return "marked as spam (X-Spam-Status: Yes)"
    if _SPAM_SUBJECT.match(msg.subject):
        return "marked as spam (subject tag)"
    # Parse reports control characters that an encoded-word smuggled into the Subject (CR, LF, NUL:
    # header injection). A TAB is ordinary white space and is not taken as forgery here.
    if "control characters in Subject" in msg.defects:
        return "forged headers (control characters encoded in the Subject)"
    if msg.folder.rsplit("/", 1)[-1].lower() in ctx.spam_folders:
        return f"in the spam folder {msg.folder}"
    return bulk.spam_verdict(msg)


def postmaster(msg: Incoming, ctx: GuardContext) -> str | None:
    found = address_kind(msg.sender, ctx)
    return found[1] if found and found[0] == ROLE else None


def not_addressed(msg: Incoming, ctx: GuardContext) -> str | None:
    if not ctx.require_addressed or any(ctx.is_ours(r) for r in msg.recipients):
        return None
    return "not addressed to us (Bcc, a list or a forward)"


def thread(msg: Incoming, ctx: GuardContext) -> str | None:
    history, after = ctx.history, ctx.reacknowledge_after
    if history.reopened:
        quiet = history.quiet_for or timedelta(0)
        if quiet < after:
            return (f"thread reopened after {span(quiet)} of quiet: an active conversation gets "
                    f"no new holding reply (reacknowledge_after: {span(after)})")
        return None
    return "thread already acknowledged" if history.thread_acknowledged else None


def sender_limit(msg: Incoming, ctx: GuardContext) -> str | None:
    return ctx.history.sender_limited


def span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def _bare(value: str) -> str:
    found = re.search(r"[^<>\s@]+@[^<>\s@]+", value)
    return found.group(0).lower() if found else ""


def _on_message(check: Callable[[Incoming], str | None]) -> Callable[[Incoming, GuardContext], str | None]:
    """A check that needs only the message (bulk.py) as a guard check."""
    return lambda msg, ctx: check(msg)


# The decision order, read in one place: every objection is recorded, the first decides.
# Machine guards come first (most specific evidence first), then the person guards, then history.
GUARDS: tuple[Guard, ...] = (
    Guard("broken", "a message whose headers cannot be read (no usable From)", broken),
    Guard("duplicate", "a Message-ID already recorded (a copy in another folder, a re-delivery)", duplicate),
    Guard("null-return-path", "RFC 3834: never answer a message with an empty return path", null_return_path),
    Guard("own-address", "mail from one of identity.addresses, or asking for replies to one", own_address),
    Guard("report", "a delivery status or read report", report),
    Guard("auto-submitted", "RFC 3834 Auto-Submitted other than 'no'", auto_submitted),
    Guard("system-sender", "MAILER-DAEMON, list robots (owner-, -request, bounces, VERP), system accounts; "
                           "in From, Reply-To, Sender or Return-Path", system_sender),
    Guard("no-reply", "a no-reply or notification sender (a web form's no-reply From with a visitor's Reply-To "
                      "passes)", no_reply_sender),
    Guard("list", "a mailing-list header (List-Id, List-Unsubscribe, X-BeenThere, ...)", list_mail),
    Guard("precedence", "Precedence bulk, list, junk or auto_reply", precedence),
    Guard("autoresponder", "X-Loop, X-Autoreply and other autoresponder headers", autoresponder_headers),
    Guard("notifier", "headers of ticket and CI systems (X-GitHub-Reason, X-Jira-Fingerprint, ...)",
          notifier_headers),
    Guard("challenge", "a challenge/response system asking the sender to verify (X-Challenge, X-Boxbe-*, "
                       "X-SpamArrest-*, TMDA, ASK)", _on_message(bulk.challenge)),
    Guard("bulk-service", "headers of an email service provider (SendGrid X-SG-EID, SES, Mailgun, Postmark, "
                          "Brevo, Mailjet, X-CSA-Complaints, X-Campaign*)", _on_message(bulk.esp_headers)),
    Guard("mass-mailer", "an X-Mailer of a mass-mailing program or a mail library (PHPMailer, nodemailer, "
                         "MIME::Lite), unless it relays a visitor", _on_message(bulk.mass_mailer)),
    Guard("device", "a scanner or copier sending a scan (its X-Mailer or Message-ID)", _on_message(bulk.device)),
    Guard("role-software", "a role address (info@, sales@, ...) with HTML-only content or no Date/Message-ID",
          _on_message(bulk.role_software)),
    Guard("bounce-subject", "a delivery failure subject", bounce_subject),
    Guard("out-of-office", "an automatic-reply subject (en, pl, de, fr, es, it)", out_of_office_subject),
    Guard("spam", "flagged as spam (X-Spam-*, Rspamd, Exchange SCL/SFV:SPM) or found in a spam folder", spam),
    Guard("suppress", "X-Auto-Response-Suppress: All, OOF or AutoReply", suppress_header, PERSON),
    Guard("postmaster", "postmaster, abuse, hostmaster, webmaster (RFC 5230)", postmaster, PERSON),
    Guard("not-addressed", "none of our addresses in To or Cc (require_addressed)", not_addressed, PERSON),
    Guard("undisclosed", "no visible recipients (undisclosed-recipients:;): mass mail or a Bcc",
          _on_message(bulk.undisclosed), PERSON),
    Guard("many-recipients", "10 or more recipients at 5 or more domains", _on_message(bulk.many_recipients),
          PERSON),
    Guard("suspicious", "spam signs no person's mail shows: abused TLD, free-mail Reply-To elsewhere, a forged "
                        "Outlook, sent straight from a customer line, an all-capitals subject",
          _on_message(bulk.suspicious), PERSON),
    Guard("campaign-domain", "sent from a domain set up for campaigns (news., newsletter-, marketing.)",
          _on_message(bulk.campaign_domain), PERSON),
    Guard("calendar", "an invitation sent by a calendar system", _on_message(bulk.calendar), PERSON),
    Guard("thread", "the thread is already acknowledged, or reopened before reacknowledge_after", thread, HISTORY),
    Guard("sender-limit", "the per-sender limit of automatic replies is reached", sender_limit, HISTORY),
)


def all_hits(msg: Incoming, ctx: GuardContext) -> tuple[tuple[Guard, str], ...]:
    """Every guard that objects to answering `msg`, with its reason, in table order."""
    return tuple((guard, reason) for guard in GUARDS if (reason := guard.check(msg, ctx)))


def first_hit(msg: Incoming, ctx: GuardContext) -> tuple[Guard, str] | None:
    """The first guard that objects to answering `msg`, with its reason."""
    for guard in GUARDS:
        reason = guard.check(msg, ctx)
        if reason:
            return guard, reason
    return None
