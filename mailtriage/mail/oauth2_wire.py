"""OAuth2 on the wire: provider endpoints, the https-only rule, form POSTs, errors as one sentence, SASL strings.

Endpoint facts, checked before use (2026-11-29):
- Microsoft identity platform, device authorization grant: POST
  https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode, then poll .../oauth2/v2.0/token with
  grant_type=urn:ietf:params:oauth:grant-type:device_code; tenant is common, consumers, organizations or
  the directory's id (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code; MicrosoftDocs/
  entra-docs docs/identity-platform/v2-oauth2-device-code.md). A refresh token comes only with
  offline_access (same page).
- Microsoft IMAP/SMTP scopes: https://outlook.office.com/IMAP.AccessAsUser.All and
  https://outlook.office.com/SMTP.Send, plus offline_access for a refresh token (learn.microsoft.com/exchange/
  client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth).
- Google: the scope for IMAP, POP and SMTP is https://mail.google.com/ (developers.google.com/gmail/imap/
  xoauth2-protocol); the device flow allows only a limited set of scopes, so desktop and command-line
  apps use the authorization code flow with PKCE and a loopback redirect on 127.0.0.1
  (developers.google.com/identity/protocols/oauth2/limited-input-device and .../oauth2/native-app);
  endpoints https://accounts.google.com/o/oauth2/v2/auth and https://oauth2.googleapis.com/token.
  A refresh token comes reliably only with access_type=offline and prompt=consent (pdobsan/oama#36).
- AADSTS codes: learn.microsoft.com/entra/identity-platform/reference-error-codes (65001 consent missing,
  50011 redirect URI mismatch, 700016 app not found in the tenant, 50076/50079 MFA required).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from mailtriage.errors import OAuthError
from mailtriage.mail.netreasons import unreachable

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
MICROSOFT_SCOPES = ("offline_access", "https://outlook.office.com/IMAP.AccessAsUser.All",
                    "https://outlook.office.com/SMTP.Send")
GOOGLE_AUTHORIZATION = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPES = ("https://mail.google.com/",)
LOGIN_HINT = "sign in again with `mailtriage login`"


class SignInRequired(OAuthError):
    """Only a new `mailtriage login` helps: no token file yet, or the refresh token was refused."""


class Unreachable(OAuthError):
    """The sign-in server could not be reached: the network, not the sign-in, is at fault."""


@dataclass(frozen=True)
class Provider:
    """Where to sign in and what to ask for; a device URL means the device flow, else code + PKCE."""

    name: str
    token_url: str
    device_authorization_url: str | None = None
    authorization_url: str | None = None
    scopes: tuple[str, ...] = ()
    extra_authorization: tuple[tuple[str, str], ...] = ()


def provider(name: str, *, tenant: str = "common", scopes: tuple[str, ...] | None = None,
             device_authorization_url: str | None = None, token_url: str | None = None,
             authorization_url: str | None = None) -> Provider:
    """The endpoints of microsoft, google or a custom server, every URL checked by `check_url`."""
    if name == "microsoft":
        if not re.fullmatch(r"[A-Za-z0-9.-]+", tenant):
            raise OAuthError(f"tenant {tenant!r} is not a tenant name or id")
        base = f"{MICROSOFT_LOGIN}/{tenant}/oauth2/v2.0"
        found = Provider(name, f"{base}/token", f"{base}/devicecode", None, scopes or MICROSOFT_SCOPES)
    elif name == "google":
        found = Provider(name, GOOGLE_TOKEN, None, GOOGLE_AUTHORIZATION, scopes or GOOGLE_SCOPES,
                         (("access_type", "offline"), ("prompt", "consent")))
    elif name == "custom":
        if not token_url or not (device_authorization_url or authorization_url):
            raise OAuthError("provider custom needs token_url and device_authorization_url or authorization_url")
        found = Provider(name, token_url, device_authorization_url, authorization_url, scopes or ())
    else:
        raise OAuthError(f"unknown OAuth2 provider {name!r}: use microsoft, google or custom")
    for url in (found.token_url, found.device_authorization_url, found.authorization_url):
        if url:
            check_url(url)
    return found


def check_url(url: str) -> str:
    """URL itself if it is https://, or http:// to a loopback host; tokens never travel in the clear."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise OAuthError(f"{_shown(url)}: only https:// is allowed (http:// only to 127.0.0.1, ::1 or localhost)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    """The URL without user:password@, query or fragment: safe to put into a message."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def post_form(url: str, fields: Mapping[str, str], timeout: float = 30.0) -> tuple[int, dict[str, object]]:
    """POST FIELDS form-encoded; the HTTP status and the JSON object answered (errors included)."""
    body = urllib.parse.urlencode(dict(fields)).encode()
    request = urllib.request.Request(check_url(url), data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - scheme checked above
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        parts = urllib.parse.urlsplit(url)
        words = unreachable(reason if isinstance(reason, BaseException) else exc, parts.hostname or "",
                            parts.port or (443 if parts.scheme == "https" else 80))
        raise Unreachable(f"cannot reach the sign-in server {_shown(url)}: {words}") from None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise OAuthError(f"the sign-in server {_shown(url)} answered HTTP {status} without a JSON object")
    return status, parsed


# Provider error codes, most specific first: AADSTS numbers from error_description, then OAuth error codes.
AADSTS = {
    "65001": "consent is missing: accept the requested permissions when you sign in with `mailtriage login`, "
             "or ask an administrator to grant consent for the app registration",
    "50011": "the redirect URI is not registered: add it under Authentication in the app registration",
    "700016": "the app (client_id) was not found in this tenant: check client_id and tenant",
    "50076": f"your organisation requires multi-factor authentication: {LOGIN_HINT} and complete it",
    "50079": f"your organisation requires you to set up multi-factor authentication: {LOGIN_HINT} and complete it",
    "7000218": "the app registration treats mailtriage as a confidential client: switch on 'Allow public "
               "client flows' under Authentication",
    "700025": "the app registration is a public client and takes no secret: remove client_secret_env / "
              "client_secret_file",
}
ERRORS = {
    "invalid_grant": f"the sign-in has expired or was revoked: {LOGIN_HINT}",
    "unauthorized_client": "the app (client_id) is not allowed to use this sign-in in this tenant: check "
                           "client_id and tenant, and that the app registration allows public client flows",
    "invalid_client": "the client id or client secret was refused: check client_id and "
                      "client_secret_env / client_secret_file",
    "access_denied": "the sign-in was declined in the browser: run `mailtriage login` again and accept",
    "authorization_declined": "the sign-in was declined in the browser: run `mailtriage login` again and accept",
    "expired_token": "the code was not entered in time: run `mailtriage login` again",
    "invalid_scope": "the server refused the requested scopes: check scopes in the oauth2 block",
    "temporarily_unavailable": "the sign-in server is busy or down for now: the next check tries again",
    "server_error": "the sign-in server had an internal error: the next check tries again",
}
GOOGLE_TESTING = (" (a Google Cloud project left in 'Testing' ends every sign-in after 7 days: set its "
                  "publishing status to 'In production')")
NEEDS_LOGIN = {"invalid_grant", "expired_token", "50076", "50079"}


def explain(answer: Mapping[str, object], provider_name: str = "") -> OAuthError:
    """One plain sentence for an error answer; only codes are used, never the server's free text."""
    error = str(answer.get("error", ""))
    found = re.search(r"AADSTS(\d+)", str(answer.get("error_description", "")))
    code = found.group(1) if found else ""
    if code in AADSTS:
        message, key = AADSTS[code], code
    elif error in ERRORS:
        message, key = ERRORS[error], error
    else:
        shown = re.sub(r"[^a-z0-9_]", "", error.lower())[:40] or "no error code"
        return OAuthError(f"the sign-in server refused ({shown}" + (f", AADSTS{code}" if code else "") + ")")
    if error == "invalid_grant" and provider_name == "google":
        message += GOOGLE_TESTING
    if code:
        message += f" (AADSTS{code})"
    return SignInRequired(message) if key in NEEDS_LOGIN else OAuthError(message)


B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 section 2.1


def _checked(user: str, token: str) -> None:
    if "\x01" in user or not user:
        raise OAuthError("the user name for OAuth2 is empty or holds a control character")
    if not B64TOKEN.fullmatch(token):
        raise OAuthError("the access token has characters a bearer token cannot have")


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (Google's and Microsoft's format)."""
    _checked(user, token)
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """The SASL OAUTHBEARER initial response (RFC 7628 section 3.1), before base64."""
    _checked(user, token)
    if "\x01" in host:
        raise OAuthError("the host name holds a control character")
    saslname = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={saslname},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def b64(text: str) -> str:
    """TEXT as the base64 a SASL exchange carries."""
    return base64.b64encode(text.encode()).decode("ascii")


