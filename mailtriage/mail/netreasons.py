"""Why a connection to a mail server failed, as one line that says what to do.

Both edges (IMAP in imap.py, SMTP in smtp.py) hand their low-level exception here; the line
names the host, never a Python repr, and never a password (none of these exceptions carries one).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from typing import TypeVar

CA_HINT = "set tls_ca_file if it is signed by your own CA"
E = TypeVar("E", bound=BaseException)
LOGIN_ERRORS = ("LoginError", "SMTPAuthenticationError")  # imapclient, aiosmtplib: matched by name, not imported


def describe(exc: BaseException, host: str, port: int, security: str) -> str:
    """One line for a failure to connect, start TLS or log in to `host`:`port` (security tls,
    starttls or none); the caller adds its own prefix, e.g. 'imap mail.example.com:993: '."""
    chain = list(_chain(exc))
    cert = _first(chain, ssl.SSLCertVerificationError)
    if cert is not None:
        return f"certificate of {host} not trusted: {cert.verify_message or cert.reason}; {CA_HINT}"
    tls = _first(chain, ssl.SSLError)
    if tls is not None:
        return _tls_failure(tls, host, port, security)
    login = next((e for e in chain if type(e).__name__ in LOGIN_ERRORS), None)
    if login is not None and not _dropped(login):  # imapclient calls a connection lost in LOGIN a LoginError too
        return f"login refused ({_server_text(login)}): check the username and the password"
    if login is not None:
        return midway(login)
    return _network_failure(chain, host, port, dropped=_dropped(exc)) or _fallback(exc)


def _tls_failure(exc: ssl.SSLError, host: str, port: int, security: str) -> str:
    if exc.reason == "WRONG_VERSION_NUMBER":
        return (f"{host}:{port} did not answer in TLS (security: {security}): the port may expect plain text "
                "first; use security: starttls for ports 143 and 587, security: tls for 993 and 465")
    return f"TLS with {host}:{port} failed: {exc.reason or plain(str(exc))}"


def _network_failure(chain: list[BaseException], host: str, port: int, dropped: bool = False) -> str | None:
    dns = _first(chain, socket.gaierror)
    if dns is not None:
        return f"cannot find the host {host} ({dns.strerror}): check the host name and the network"
    if _first(chain, TimeoutError) is not None:
        return f"no answer from {host}:{port} in time: check the host, the port and any firewall between"
    if _first(chain, ConnectionRefusedError) is not None:
        return f"connection refused by {host}:{port}: is the server running, and is {port} its port?"
    if _first(chain, ConnectionResetError) is not None or _first(chain, EOFError) is not None or dropped:
        return f"{host}:{port} closed the connection: check the port and the security setting (tls, starttls)"
    other = _first(chain, OSError)
    if other is not None and other.strerror:
        return f"cannot connect to {host}:{port}: {other.strerror}"
    return None


def unreachable(exc: BaseException, host: str, port: int) -> str:
    """One line for a server on the internet that could not be reached at all (the sign-in server): what
    failed in words, never an errno, and what to do; its address is fixed, so the network is the suspect."""
    chain = list(_chain(exc))
    cert = _first(chain, ssl.SSLCertVerificationError)
    if cert is not None:
        return (f"the certificate of {host} is not trusted ({cert.verify_message or cert.reason}): a proxy or "
                "firewall may intercept HTTPS; check the network and try again")
    if _first(chain, socket.gaierror) is not None:
        what = f"the name {host} does not resolve"
    elif _first(chain, TimeoutError) is not None:
        what = f"no answer from {host}:{port} in time"
    elif _first(chain, ConnectionRefusedError) is not None:
        what = f"connection refused by {host}:{port}"
    else:
        what = f"the connection to {host}:{port} failed"
    return f"{what}: check the network connection (DNS, a proxy or firewall) and try again"


def midway(exc: BaseException) -> str:
    """One line for a command that failed once connected: a dropped connection or a silent server
    in words, else what the server said, without imaplib's "command: FETCH =>" or a class name."""
    chain = list(_chain(exc))
    if _first(chain, TimeoutError) is not None or "timed out" in str(exc).lower():
        return "the server stopped answering in time: nothing is lost, the next check tries again"
    if _dropped(exc) or any(isinstance(e, (ConnectionError, EOFError, ssl.SSLEOFError)) for e in chain):
        return "the server dropped the connection: nothing is lost, the next check tries again"
    said = re.sub(r"^command: \w+ => ", "", plain(str(exc)))
    return said if len(said) > 12 else _fallback(exc)


def _dropped(exc: BaseException) -> bool:
    """imaplib reports a connection lost mid-command only in its text: 'socket error: EOF'."""
    return re.search(r"socket error|EOF|connection (reset|closed|aborted)", str(exc), re.IGNORECASE) is not None


def _fallback(exc: BaseException) -> str:
    text = plain(str(exc)) or type(exc).__name__
    return text if len(text) > 12 else f"{type(exc).__name__}: {text}"


def _server_text(exc: BaseException) -> str:
    """What the server said: an SMTP reply is code and message, not the tuple str() gives."""
    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    return f"{code} {message}" if code and isinstance(message, str) else plain(str(exc))


def plain(text: str) -> str:
    """Server text without Python's bytes reprs: b'[AUTHENTICATIONFAILED] No.' -> [AUTHENTICATIONFAILED] No."""
    return re.sub(r"""\bb(['"])(.*?)\1""", r"\2", text).strip()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, outermost first: libraries wrap the real reason."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first(chain: list[BaseException], kind: type[E]) -> E | None:
    return next((e for e in chain if isinstance(e, kind)), None)
