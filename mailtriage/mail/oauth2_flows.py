"""The two ways to sign in once, both without typed input: device code (RFC 8628), code + PKCE (RFC 7636).

Each prints what to open through `show` and waits; the caller saves the Tokens with oauth2.save_tokens.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import secrets
import time
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

from mailtriage.errors import OAuthError
from mailtriage.mail.oauth2 import Client, Tokens, tokens_from_answer, utcnow
from mailtriage.mail.oauth2_wire import explain, post_form

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
Show = Callable[[str], None]


def sign_in(client: Client, show: Show, *, account: str = "", timeout: float = 900.0) -> Tokens:
    """The provider's flow: the device code where it has one, else the browser with a loopback redirect."""
    if client.provider.device_authorization_url:
        return device_sign_in(client, show, account=account)
    return browser_sign_in(client, show, account=account, timeout=timeout)


def device_sign_in(client: Client, show: Show, *, account: str = "", sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] = utcnow) -> Tokens:
    """RFC 8628: show the verification URL and user code, then poll until the user has signed in."""
    provider = client.provider
    if not provider.device_authorization_url:
        raise OAuthError(f"provider {provider.name} has no device authorization URL: sign in with the browser")
    scope = " ".join(provider.scopes)
    status, answer = post_form(provider.device_authorization_url, client.fields(scope=scope), client.timeout)
    if status != 200 or "error" in answer:
        raise explain(answer, provider.name)
    device_code, user_code = answer.get("device_code"), answer.get("user_code")
    # RFC 8628 says verification_uri; Google's own device flow still says verification_url.
    where = answer.get("verification_uri") or answer.get("verification_url")
    if not (isinstance(device_code, str) and isinstance(user_code, str) and isinstance(where, str)):
        raise OAuthError("the sign-in server's device answer lacks device_code, user_code or verification_uri")
    interval = _seconds(answer.get("interval"), 5)
    deadline = clock() + _seconds(answer.get("expires_in"), 900)
    complete = answer.get("verification_uri_complete")  # RFC 8628 3.3.1; Microsoft does not send it
    show(f"To sign in, open {where} and enter the code {user_code}"
         + (f" (or open {complete})" if isinstance(complete, str) and complete.startswith("https://") else ""))
    while clock() < deadline:
        sleep(interval)
        status, answer = post_form(provider.token_url, client.fields(grant_type=DEVICE_GRANT, device_code=device_code),
                                   client.timeout)
        error = answer.get("error")
        if status == 200 and not error:
            return tokens_from_answer(answer, account=account, now=now(), scope=scope)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5  # RFC 8628 section 3.5: every slow_down adds 5 seconds, for good
            continue
        raise explain(answer, provider.name)
    raise explain({"error": "expired_token"}, provider.name)


def _seconds(value: object, default: int) -> int:
    try:
        return max(1, int(str(value)))
    except ValueError:
        return default


def pkce_pair() -> tuple[str, str]:
    """A fresh code_verifier and its S256 code_challenge (RFC 7636 section 4.1-4.2)."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of the unreserved set: inside 43..128
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def browser_sign_in(client: Client, show: Show, *, account: str = "", timeout: float = 300.0,
                    now: Callable[[], datetime] = utcnow) -> Tokens:
    """Code + PKCE: print the URL to open; a one-shot server on 127.0.0.1 receives the redirect.

    The redirect URI is http://127.0.0.1:<free port>/, the form Google's desktop-app clients accept with
    any port (developers.google.com/identity/protocols/oauth2/native-app, "Loopback IP address").
    """
    provider = client.provider
    if not provider.authorization_url:
        raise OAuthError(f"provider {provider.name} has no authorization URL: use device_authorization_url")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    scope = " ".join(provider.scopes)
    with _Redirect() as redirect:
        query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect.uri,
                 "scope": scope, "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
                 **dict(provider.extra_authorization)}
        if account:
            query["login_hint"] = account
        joiner = "&" if "?" in provider.authorization_url else "?"
        show(f"To sign in, open this address in a browser:\n{provider.authorization_url}{joiner}"
             f"{urllib.parse.urlencode(query)}")
        port = redirect.uri.rsplit(":", 1)[1].rstrip("/")
        if remote():
            show(f"no display here (ssh?): the browser comes back to 127.0.0.1:{port} on this machine, so first run "
                 f"`ssh -L {port}:127.0.0.1:{port} <this host>` on the machine with the browser, then open the "
                 "address there")
        show(f"waiting for the browser to come back to {redirect.uri} … (Ctrl-C to stop)")
        answer = redirect.wait(timeout)
    if not secrets.compare_digest(answer.get("state", ""), state):
        raise OAuthError("the browser came back with a different state: start again with `mailtriage login`")
    if "error" in answer or "code" not in answer:
        raise explain(answer, provider.name)
    status, tokens = post_form(provider.token_url, client.fields(
        grant_type="authorization_code", code=answer["code"], redirect_uri=redirect.uri, code_verifier=verifier),
        client.timeout)
    if status != 200 or "error" in tokens:
        raise explain(tokens, provider.name)
    return tokens_from_answer(tokens, account=account, now=now(), scope=scope)


def remote() -> bool:
    """No browser here: logged in over ssh, or no graphical display (the README's `ssh -L` case)."""
    return bool(os.environ.get("SSH_CONNECTION")) or not (os.environ.get("DISPLAY")
                                                          or os.environ.get("WAYLAND_DISPLAY"))


class _Redirect:
    """An HTTP server on 127.0.0.1 and a free port that takes the one request carrying code or error."""

    def __init__(self) -> None:
        self.result: dict[str, str] | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                if "code" not in query and "error" not in query:
                    self.send_error(404)  # a favicon or a stray visitor: keep waiting
                    return
                owner.result = query
                done = "Signed in" if "code" in query else f"Sign-in failed ({query.get('error', '')})"
                body = (f"<!doctype html><title>mailtriage</title><p>{html.escape(done)}. "
                        "You can close this window and return to the terminal.</p>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the query holds the authorization code: it goes to no log

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> _Redirect:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while self.result is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OAuthError(f"nobody came back from the browser within {timeout:.0f} s: "
                                 "run `mailtriage login` again")
            self.server.timeout = min(left, 1.0)
            self.server.handle_request()
        return self.result
