"""OAuth2 against a real Dovecot that checks every token at our authorization server (RFC 7662 introspection).

Dovecot 2.3's `passdb { driver = oauth2 }` POSTs token=... to introspection_url and accepts the login when
the answer has active=true and username equal to the IMAP user. The config is our own, on loopback and
a free port, like tests/conftest.py's private Dovecot (copied here, not shared: that module is moving).
Dovecot's auth penalty (each failed login from an IP delays the next one 2, 4, 8 s) is switched off: the
tests fail logins on purpose, and "refused once, refreshed, retried" would otherwise wait 4 s.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
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

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
pytestmark = pytest.mark.skipif(not Path(DOVECOT).exists() or os.geteuid() != 0,
                                reason="needs the dovecot binary and root (mail_uid 5000)")

# The whole of what Dovecot 2.3.19 needs to check OAuth2 tokens at an RFC 7662 endpoint.
OAUTH2_EXT = """\
introspection_mode = post
introspection_url = {url}/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
"""
CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
mail_uid = 5000
mail_gid = 5000
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid=5000 gid=5000 home={root}/mail/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def auth() -> Iterator[AuthServer]:
    server = AuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(auth: AuthServer) -> Iterator[int]:
    root = Path(tempfile.mkdtemp(prefix="mailtriage-oauth-dovecot-"))
    root.chmod(0o755)
    for name in ("run", "state", "log", "mail"):
        (root / name).mkdir()
    os.chown(root / "mail", 5000, 5000)
    port = free_port()
    (root / "dovecot-oauth2.conf.ext").write_text(OAUTH2_EXT.format(url=auth.url))
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=port))
    with open(root / "log" / "stderr.log", "ab") as stderr:
        process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (root / "log" / "stderr.log").read_text()
                    raise RuntimeError(f"dovecot did not start: {log}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


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
