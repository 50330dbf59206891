"""The network steps of `mailtriage doctor`: DNS, TCP, TLS, login, then what the server offers.

Read-only throughout: folders are looked at with STATUS and LIST (never SELECT), and SMTP gets
MAIL FROM and RSET, never RCPT or DATA. A step that needs an earlier one that failed is skipped
with one line.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mailtriage.app.steps import FAIL, OK, SKIP, WARN, Step
from mailtriage.config.servers import Imap, Server, Smtp
from mailtriage.errors import MailtriageError
from mailtriage.mail.imap import Mailbox, tls_context
from mailtriage.mail.netreasons import describe

if TYPE_CHECKING:
    from mailtriage.mail.oauth2 import RetryOnce

USUAL_PORTS = {"imap": {"tls": 993, "starttls": 143, "none": 143}, "smtp": {"tls": 465, "starttls": 587, "none": 25}}
APP_PASSWORDS = ("with two-step verification, Gmail, iCloud and Yahoo need an app password, not the account "
                 "password; Microsoft 365 may allow only OAuth2 sign-in, which its admin can relax for this mailbox")
SENT_LIKE = re.compile(r"sent|wys[łl]ane|gesendet|envoy|enviad|inviat|verzonden|odeslan", re.IGNORECASE)
# What a missing capability costs mailtriage; IDLE and UIDPLUS cost nothing, as checks run at set times
# (IDLE does when urgent clients are pushed: then it is asked for).
CAPABILITIES = {
    "CONDSTORE": "each check reads the flags of every open thread's messages, not only the changed ones",
    "SPECIAL-USE": "the Sent folder is found by its name only",
}
NOT_NEEDED = ("IDLE", "UIDPLUS")
AGAIN = "run doctor again; if it repeats, look at the server's log"
# Names that resolve wherever DNS works: when the server's host does not resolve and these do not either,
# the fault is the network, not rules.yaml (two providers, so one provider's outage does not mislead).
WELL_KNOWN = ("imap.gmail.com", "outlook.office365.com")


def imap_steps(config: Imap, password: str | RetryOnce | None, *, placeholder: bool = False,
               push_poll: float | None = None) -> list[Step]:
    """The IMAP steps; `push_poll` (seconds) when urgent clients are pushed: then IDLE is wanted."""
    steps = reach("imap", config, placeholder, _imap_hello)
    if steps[-1].status != OK:  # reach ends with its own "skipped" line when it stops
        return steps
    if password is None:
        return [*steps, _skipped("imap", "login, folders, Sent folder, capabilities", "no password")]
    try:
        mailbox = Mailbox(config, password)
    except MailtriageError as exc:
        return [*steps, _login_failed("imap login", str(exc), config),
                _skipped("imap", "folders, Sent folder, capabilities", "no login")]
    with mailbox:
        steps.append(Step("imap login", OK, f"logged in as {config.username}{_how(password)}"))
        for check in (_folder_steps, _sent_step, lambda box: _capability_steps(box, push_poll)):
            try:
                steps += check(mailbox)
            except MailtriageError as exc:  # the connection broke mid-way: what is left cannot be checked
                return [*steps, Step("imap", FAIL, str(exc), AGAIN)]
    return steps


def smtp_steps(config: Smtp, password: str | RetryOnce | None, identity: str, *,
               placeholder: bool = False) -> list[Step]:
    from mailtriage.mail.smtp import SmtpSession

    steps = reach("smtp", config, placeholder, _smtp_hello)
    if steps[-1].status != OK:
        return steps
    if config.username and password is None:
        return [*steps, _skipped("smtp", "login, sender, SMTPUTF8", "no password")]
    stage = "smtp login"
    try:
        with SmtpSession(config, password, identity) as session:
            steps.append(Step(stage, OK, f"logged in as {config.username}{_how(password)}" if config.username
                              else "no login configured"))
            stage = "smtp"
            steps.append(_sender_step(config, identity, session.probe_sender))
            steps.append(_smtputf8_step(session.smtputf8))
    except MailtriageError as exc:
        return [*steps, _login_failed(stage, str(exc), config) if stage == "smtp login"
                else Step(stage, FAIL, str(exc), AGAIN)]
    except Exception as exc:  # noqa: BLE001 - the connection broke mid-way (aiosmtplib's own errors)
        return [*steps, Step(stage, FAIL, describe(exc, config.host, _port("smtp", config), config.security), AGAIN)]
    return steps


def _resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return True


def _smtputf8_step(offered: bool) -> Step:
    if offered:
        return Step("smtp SMTPUTF8", OK, "offered: replies to any address can be sent")
    return Step("smtp SMTPUTF8", WARN, "not offered: a holding reply to an address with non-ASCII letters "
                "before the @ (zofia.łęcka@…) will fail", "nothing to do unless such senders write to you")


def reach(kind: str, config: Server, placeholder: bool, hello: Callable[[Any], None]) -> list[Step]:
    """DNS, TCP, then TLS (or the plain greeting); stops at the first failure."""
    host, port, security = config.host, _port(kind, config), config.security
    if placeholder:
        return [Step(f"{kind}", SKIP, f"network checks skipped: {host} is the example's placeholder")]
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        others = [name for name in WELL_KNOWN if name != host.lower()]
        if isinstance(exc, socket.gaierror) and not any(_resolves(name) for name in others):
            return [Step(f"{kind} DNS", FAIL, f"cannot find the host {host}, nor {' or '.join(others)}: no DNS / "
                         "no network", "check this machine's network connection and DNS (a VPN, a proxy), not "
                         "rules.yaml; then run doctor again"),
                    _skipped(kind, "TCP, TLS, login and the rest", "no address")]
        return [Step(f"{kind} DNS", FAIL, describe(exc, host, port, security), f"correct {kind}.host"),
                _skipped(kind, "TCP, TLS, login and the rest", "no address")]
    steps = [Step(f"{kind} DNS", OK, f"{host} found")]
    try:
        socket.create_connection((host, port), timeout=config.timeout).close()
    except OSError as exc:
        usual = USUAL_PORTS[kind][security]
        fix = (f"the usual port for security: {security} is {usual}" if port != usual
               else "is the server running, and does a firewall let this machine through?")
        return [*steps, Step(f"{kind} TCP", FAIL, describe(exc, host, port, security), fix),
                _skipped(kind, "TLS, login and the rest", "no connection")]
    steps.append(Step(f"{kind} TCP", OK, f"{host}:{port} answers"))
    name = f"{kind} TLS" if security != "none" else f"{kind} greeting"
    try:
        hello(config)
    except Exception as exc:  # noqa: BLE001 - every way of failing is one line with what to do
        reason = describe(exc, host, port, security)
        return [*steps, Step(name, FAIL, reason, _tls_fix(kind, reason, port, security)),
                _skipped(kind, "login and the rest", "no TLS" if security != "none" else "no greeting")]
    if security == "none":
        return [*steps, Step(name, OK, "plain text (allowed for a loopback host only)")]
    checked = "checked" if tls_context(config).check_hostname else "not checked (a loopback host)"
    how = "TLS from the first byte" if security == "tls" else "STARTTLS"
    return [*steps, Step(name, OK, f"{how}; certificate {checked}")]


def _tls_fix(kind: str, reason: str, port: int, security: str) -> str:
    usual = USUAL_PORTS[kind]
    if "did not answer in TLS" in reason:
        return f"use security: starttls with port {usual['starttls']}, or security: tls with port {usual['tls']}"
    if "certificate" in reason:
        return (f"use the host name on the server's certificate (your provider's documented {kind} host), "
                "or set tls_ca_file: for your own CA")
    if security != "tls" and ("in time" in reason or "closed the connection" in reason):
        return f"if port {port} expects TLS from the first byte (as {usual['tls']} does), use security: tls"
    return f"check {kind}.port and {kind}.security (tls: {usual['tls']}, starttls: {usual['starttls']})"


def _imap_hello(config: Imap) -> None:
    """Connect and start TLS without logging in, to tell a TLS problem from a login problem."""
    from imapclient import IMAPClient
    from imapclient.imapclient import SocketTimeout

    context = tls_context(config)
    client = IMAPClient(config.host, port=config.effective_port, ssl=config.security == "tls",
                        ssl_context=context, timeout=SocketTimeout(connect=config.timeout, read=config.timeout))
    try:
        if config.security == "starttls":
            client.starttls(context)
    finally:
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - a failed handshake closed it already
            try:
                client.shutdown()
            except OSError:  # keep the real reason, not "Bad file descriptor"
                pass


def _smtp_hello(config: Smtp) -> None:
    """Connect, EHLO and TLS without logging in; QUIT."""
    from mailtriage.mail.smtp import SmtpSession

    with SmtpSession(config.model_copy(update={"username": None}), None, ""):
        pass


def _how(password: object) -> str:
    return "" if password is None or isinstance(password, str) else " with an OAuth2 access token"


def _login_failed(name: str, detail: str, config: Server) -> Step:
    kind = name.split()[0]
    if config.auth == "oauth2" and "mailtriage login" in detail:  # no token to be had: the sign-in is the fix
        return Step(name, FAIL, detail, "run: mailtriage login")
    if config.auth == "oauth2":
        return Step(name, FAIL, detail, f"the token was refused: is {config.username} the account that signed in "
                    "(`mailtriage login`), and do the scopes include this protocol? Some servers need IMAP / "
                    "SMTP AUTH switched on for the mailbox")
    if "login refused" not in detail:
        return Step(name, FAIL, detail)
    return Step(name, FAIL, detail, f"check {kind}.username ({config.username}) and the password; {APP_PASSWORDS}")


def _folder_steps(mailbox: Mailbox) -> list[Step]:
    steps = []
    for folder in mailbox.config.folders:
        try:
            state = mailbox.status(folder)
        except MailtriageError as exc:
            names = _folder_names(mailbox)
            close = [n for n in names if n.lower() == folder.lower()] or names[:8]
            steps.append(Step(f"imap folder {folder}", FAIL, str(exc),
                              f"correct imap.folders; this mailbox has: {', '.join(close) or 'no folders listed'}"))
            continue
        steps.append(Step(f"imap folder {folder}", OK, f"{state.exists} messages"))
    return steps


def _sent_step(mailbox: Mailbox) -> list[Step]:
    configured = mailbox.config.sent_folder
    found = mailbox.sent_folder()
    if configured:
        try:
            mailbox.status(configured)
        except MailtriageError:
            found = None
    if found:
        how = "imap.sent_folder" if configured else "found by the server's \\Sent mark or by its name"
        return [Step("imap Sent folder", OK, f"{found!r} ({how}): your answers from any mail program are noticed")]
    likely = [n for n in _folder_names(mailbox) if SENT_LIKE.search(n)]
    what = f"imap.sent_folder {configured!r} does not exist" if configured else "no Sent folder found"
    fix = (f"set imap.sent_folder: one of {', '.join(repr(n) for n in likely)}" if likely
           else "set imap.sent_folder: to the folder your mail program keeps sent mail in")
    return [Step("imap Sent folder", WARN, f"{what}: answers are noticed only by the \\Answered flag", fix)]


def _capability_steps(mailbox: Mailbox, push_poll: float | None = None) -> list[Step]:
    offered = {c.decode().upper() if isinstance(c, bytes) else str(c).upper()
               for c in mailbox.command("capability", mailbox.client.capabilities)}
    steps = [Step(f"imap {name}", WARN, f"not offered: {cost}", "nothing to do; it works, only less well")
             for name, cost in CAPABILITIES.items() if name not in offered]
    if push_poll is not None and "IDLE" not in offered:
        steps.append(Step("imap IDLE", WARN, f"not offered: urgent clients' mail is found by asking every "
                          f"{int(push_poll)} s (idle.poll), not the moment it comes",
                          "nothing to do; a shorter idle.poll answers sooner"))
    not_needed = [name for name in NOT_NEEDED if push_poll is None or name != "IDLE"]
    have = [name for name in (*CAPABILITIES, *NOT_NEEDED) if name in offered]
    lacking = [name for name in not_needed if name not in offered]
    note = f"; no {', '.join(lacking)} (not needed)" if lacking else ""
    return [Step("imap capabilities", OK, f"{', '.join(have) or 'none of note'}{note}"), *steps]


def _folder_names(mailbox: Mailbox) -> list[str]:
    try:
        return [str(name) for _flags, _sep, name in mailbox.command("list", mailbox.client.list_folders)]
    except MailtriageError:
        return []


def _sender_step(config: Smtp, identity: str, probe: Callable[[str], str | None]) -> Step:
    """MAIL FROM of the holding replies, tried and reset (never RCPT or DATA)."""
    sender = identity if config.envelope_sender == "identity" else ""
    refused = probe(sender)
    shown = f"<{sender}>"
    if refused is None:
        why = " (RFC 3834: no bounce comes back to an automatic reply)" if not sender else ""
        return Step("smtp sender", OK, f"MAIL FROM:{shown} accepted{why}")
    if config.envelope_sender == "auto":
        return Step("smtp sender", WARN, f"MAIL FROM:<> refused ({refused}): holding replies will use "
                    f"<{identity}> instead, so a bounce comes back to you",
                    "nothing to do; smtp.envelope_sender: identity skips the first try")
    return Step("smtp sender", FAIL, f"MAIL FROM:{shown} refused ({refused}): no holding reply can be sent",
                "set smtp.envelope_sender: auto" if not sender else "check identity.from against the SMTP account")


def _port(kind: str, config: Server) -> int:
    return config.port or USUAL_PORTS[kind][config.security]


def _skipped(kind: str, what: str, because: str) -> Step:
    return Step(kind, SKIP, f"{what} not checked ({because})")
