"""A small OAuth2 authorization server on 127.0.0.1 for the tests: real HTTP, in-memory state.

Endpoints: /device (RFC 8628 device authorization), /authorize (code + PKCE, approves at once and
redirects), /token (device_code, authorization_code and refresh_token grants; every refresh rotates the
refresh token and kills the old one), /revoke (RFC 7009) and /introspect (RFC 7662, for Dovecot's
`passdb { driver = oauth2 }` and a test SMTP server). Access tokens live `lifetime` seconds of `now()`,
which a test moves forward with `advance()`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Grant:
    user: str
    scope: str


@dataclass
class DeviceCode:
    grant: Grant
    pending: int  # polls still answered authorization_pending
    slow_down: bool  # answer slow_down once, at the first poll
    deny: bool = False


@dataclass
class AuthServer:
    """start(), use `url`, stop(). Knobs: pending polls, slow_down once, access token lifetime, deny."""

    user: str = "kasia@example.org"
    client_id: str = "mailtriage-test"
    client_secret: str | None = None
    lifetime: int = 3600
    refresh_lifetime: int | None = None  # sent as refresh_token_expires_in when set (Google does, for some)
    pending: int = 2
    slow_down: bool = False
    deny: bool = False
    broken: bool = False  # /token answers 502 with an HTML page, like a proxy in front of a dead server
    interval: int = 1
    offset: float = 0.0
    access: dict[str, tuple[Grant, float]] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    devices: dict[str, DeviceCode] = field(default_factory=dict)
    codes: dict[str, tuple[Grant, str, str]] = field(default_factory=dict)  # code -> grant, challenge, redirect
    log: list[tuple[str, str]] = field(default_factory=list)  # (path, grant_type or "")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> AuthServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner._get(self)

            def do_POST(self) -> None:  # noqa: N802
                owner._post(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def revoke_all(self) -> None:
        """What an administrator's "revoke sessions" does: every token of every user stops working."""
        with self.lock:
            self.access.clear()
            self.refresh.clear()

    def grants(self, path: str) -> list[str]:
        return [grant for p, grant in self.log if p == path]

    # -- HTTP --------------------------------------------------------------------------------------------

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        self.log.append((parts.path, ""))
        if parts.path != "/authorize":
            return _send(request, 404, {"error": "not_found"})
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _send(request, 400, {"error": "unauthorized_client"})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return _send(request, 400, {"error": "invalid_request"})
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = (Grant(self.user, query.get("scope", "")), query["code_challenge"],
                                query.get("redirect_uri", ""))
            back["code"] = code
        request.send_response(302)
        request.send_header("Location", query.get("redirect_uri", "") + "?" + urllib.parse.urlencode(back))
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(request.rfile.read(length).decode()))
        path = urllib.parse.urlsplit(request.path).path
        self.log.append((path, form.get("grant_type", "")))
        if self.broken and path == "/token":
            page = b"<html><body>502 Bad Gateway</body></html>"
            request.send_response(502)
            request.send_header("Content-Type", "text/html")
            request.send_header("Content-Length", str(len(page)))
            request.end_headers()
            request.wfile.write(page)
            return
        with self.lock:
            status, body = self._answer(path, form, request.headers.get("Authorization", ""))
        _send(request, status, body)

    def _answer(self, path: str, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if path == "/introspect":
            return 200, self._introspect(form.get("token") or authorization.removeprefix("Bearer "))
        if path == "/revoke":
            self.access.pop(form.get("token", ""), None)
            self.refresh.pop(form.get("token", ""), None)
            return 200, {}
        if form.get("client_id") != self.client_id:
            return 400, {"error": "unauthorized_client",
                         "error_description": "AADSTS700016: Application was not found in the directory."}
        if self.client_secret is not None and form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client"}
        if path == "/device":
            code = secrets.token_urlsafe(24)
            self.devices[code] = DeviceCode(Grant(self.user, form.get("scope", "")), self.pending, self.slow_down,
                                            self.deny)
            return 200, {"device_code": code, "user_code": "WDJB-MJHT", "verification_uri": f"{self.url}/verify",
                         "expires_in": 900, "interval": self.interval}
        if path == "/token":
            return self._token(form)
        return 404, {"error": "not_found"}

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        kind = form.get("grant_type")
        if kind == "urn:ietf:params:oauth:grant-type:device_code":
            device = self.devices.get(form.get("device_code", ""))
            if device is None:
                return 400, {"error": "expired_token"}
            if device.slow_down:
                device.slow_down = False
                return 400, {"error": "slow_down"}
            if device.pending > 0:
                device.pending -= 1
                return 400, {"error": "authorization_pending"}
            del self.devices[form["device_code"]]
            return (400, {"error": "access_denied"}) if device.deny else (200, self._issue(device.grant))
        if kind == "authorization_code":
            found = self.codes.pop(form.get("code", ""), None)
            if found is None or found[2] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).decode().rstrip("=") != found[1]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            return 200, self._issue(found[0])
        if kind == "refresh_token":
            grant = self.refresh.pop(form.get("refresh_token", ""), None)  # rotation: the old one dies here
            if grant is None:
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS70008: The refresh token has expired or was revoked."}
            return 200, self._issue(grant)
        return 400, {"error": "unsupported_grant_type"}

    def _issue(self, grant: Grant) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_urlsafe(24), "rt-" + secrets.token_urlsafe(24)
        self.access[access] = (grant, self.now() + self.lifetime)
        self.refresh[refresh] = grant
        answer: dict[str, Any] = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                                  "expires_in": self.lifetime, "scope": grant.scope}
        if self.refresh_lifetime:
            answer["refresh_token_expires_in"] = self.refresh_lifetime
        if "openid" in grant.scope.split():  # an unsigned id_token: the client only shows who signed in
            claims = json.dumps({"preferred_username": grant.user, "aud": self.client_id}).encode()
            answer["id_token"] = "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(claims).decode().rstrip("=") + "."
        return answer

    def _introspect(self, token: str) -> dict[str, Any]:
        found = self.access.get(token)
        if found is None or found[1] <= self.now():
            return {"active": False}
        grant, expires = found
        return {"active": True, "username": grant.user, "scope": grant.scope, "client_id": self.client_id,
                "exp": int(expires), "token_type": "Bearer"}


def _send(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(raw)))
    request.send_header("Cache-Control", "no-store")
    request.end_headers()
    request.wfile.write(raw)
