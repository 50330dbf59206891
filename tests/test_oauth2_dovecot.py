"""OAuth2 against a real Dovecot that checks every token at our authorization server (RFC 7662 introspection).

Dovecot 2.3's `passdb { driver = oauth2 }` POSTs token=... to introspection_url and accepts the login when
the answer has active=true and username equal to the IMAP user. The config is the private Dovecot's
(mailtriage/demo/localservers.py, with `oauth2_url`), on loopback and a free port.
Dovecot's auth penalty (each failed login from an IP delays the next one 2, 4, 8 s) is switched off: the
tests fail logins on purpose, and "refused once, refreshed, retried" would otherwise wait 4 s.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailtriage.mail.oauth2 import Client, TokenSource, save_tokens
from mailtriage.mail.oauth2_flows import device_sign_in
from mailtriage.mail.oauth2_wire import SignInRequired, provider
from tests.oauth_server import AuthServer
from tests.servers import PrivateDovecot

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
pytestmark = pytest.mark.skipif(not Path(DOVECOT).exists() or os.geteuid() != 0,
                                reason="needs the dovecot binary and root (mail_uid 5000)")


@pytest.fixture
def auth() -> Iterator[AuthServer]:
    server = AuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(auth: AuthServer) -> Iterator[int]:
    """The demo's private Dovecot with its oauth2 passdb (mailtriage/demo/localservers.py: OAUTH2)."""
    server = PrivateDovecot(oauth2_url=auth.url).start()
    yield server.port
    server.cleanup()


def imap_login(port: int, user: str, mechanism: str = "XOAUTH2") -> object:
    def login(token: str) -> IMAPClient:
        imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
        try:
            if mechanism == "XOAUTH2":
                imap.oauth2_login(user, token)
            else:
                imap.oauthbearer_login(user, token)
        except LoginError:
            imap.shutdown()
            raise
        return imap
    return login


def test_dovecot_accepts_our_tokens_and_refresh_keeps_it_so(auth: AuthServer, dovecot: int,
                                                           tmp_path: Path) -> None:
    now = datetime.now(UTC)
    client = Client(provider("custom", token_url=f"{auth.url}/token", device_authorization_url=f"{auth.url}/device",
                             scopes=("offline_access", "imap")), auth.client_id)
    path = tmp_path / "tokens.json"
    save_tokens(path, device_sign_in(client, lambda _: None, account=auth.user, sleep=lambda _: None))
    source = TokenSource(client, path)
    for mechanism in ("XOAUTH2", "OAUTHBEARER"):
        source.call(imap_login(dovecot, auth.user, mechanism), LoginError, now=now).logout()
    with pytest.raises(LoginError):  # a valid token of another user is not this user's key
        imap_login(dovecot, "mallory@example.org")(source.access_token(now=now))

    # 59 minutes on: the token would die at the server within the margin, so it is refreshed before use.
    auth.advance(59 * 60)
    source.call(imap_login(dovecot, auth.user), LoginError, now=now + timedelta(minutes=59)).logout()
    assert auth.grants("/token").count("refresh_token") == 1
    auth.advance(2 * 60)  # the old access token is dead at the server now; the new one is not
    source.call(imap_login(dovecot, auth.user), LoginError, now=now + timedelta(minutes=61)).logout()

    # The server drops access tokens early (a password change): refused once, refreshed once, logged in.
    auth.access.clear()
    source.call(imap_login(dovecot, auth.user), LoginError, now=now + timedelta(minutes=62)).logout()
    assert auth.grants("/token").count("refresh_token") == 2

    # Revoked altogether: one line saying what to do.
    auth.revoke_all()
    with pytest.raises(SignInRequired, match="sign in again with `mailtriage login`"):
        source.call(imap_login(dovecot, auth.user), LoginError, now=now + timedelta(minutes=63))
