"""The OAuth2 engine against a real authorization server on loopback (tests/oauth_server.py)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtriage.errors import MailtriageError, OAuthError
from mailtriage.mail.oauth2 import (
    Client,
    CommandTokenSource,
    Tokens,
    TokenSource,
    load_tokens,
    save_tokens,
)
from mailtriage.mail.oauth2_flows import browser_sign_in, device_sign_in, pkce_pair, sign_in
from mailtriage.mail.oauth2_wire import (
    SignInRequired,
    b64,
    check_url,
    explain,
    oauthbearer,
    post_form,
    provider,
    xoauth2,
)
from tests.conftest import REPO
from tests.oauth_server import AuthServer

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def auth() -> Iterator[AuthServer]:
    server = AuthServer().start()
    yield server
    server.stop()


def device_client(auth: AuthServer) -> Client:
    return Client(provider("custom", token_url=f"{auth.url}/token", device_authorization_url=f"{auth.url}/device",
                           scopes=("offline_access", "imap", "smtp")), auth.client_id)


def browser_client(auth: AuthServer) -> Client:
    return Client(provider("custom", token_url=f"{auth.url}/token", authorization_url=f"{auth.url}/authorize",
                           scopes=("https://mail.example/",)), auth.client_id)


def signed_in(auth: AuthServer, path: Path, now: datetime = T0) -> Tokens:
    tokens = device_sign_in(device_client(auth), lambda _: None, account=auth.user, sleep=lambda _: None,
                            now=lambda: now)
    save_tokens(path, tokens)
    return tokens


def every_secret(auth: AuthServer, *more: Tokens) -> set[str]:
    found = set(auth.access) | set(auth.refresh)
    for tokens in more:
        found |= {tokens.access_token, tokens.refresh_token or ""}
    return found - {""}


# -- sign-in ---------------------------------------------------------------------------------------------

def test_device_flow_polls_through_pending_and_slow_down(auth: AuthServer) -> None:
    auth.pending, auth.slow_down = 2, True
    shown: list[str] = []
    slept: list[float] = []
    tokens = device_sign_in(device_client(auth), shown.append, account=auth.user, sleep=slept.append)
    # The first poll is told slow_down (+5 s for good), the next two authorization_pending, the fourth succeeds.
    assert slept == [1, 6, 6, 6]
    assert shown == [f"To sign in, open {auth.url}/verify and enter the code WDJB-MJHT"]
    assert tokens.refresh_token in auth.refresh and tokens.access_token in auth.access
    assert tokens.scope == "offline_access imap smtp" and tokens.account == auth.user


def test_who_signed_in_and_how_long_the_refresh_token_lasts(auth: AuthServer, tmp_path: Path) -> None:
    auth.refresh_lifetime = 7 * 86400
    client = Client(provider("custom", token_url=f"{auth.url}/token", device_authorization_url=f"{auth.url}/device",
                             scopes=("openid", "offline_access")), auth.client_id)
    tokens = device_sign_in(client, lambda _: None, account="kasia@example.org", sleep=lambda _: None,
                            now=lambda: T0)
    assert tokens.who == auth.user and tokens.refresh_expires_at == T0 + timedelta(days=7)
    save_tokens(tmp_path / "t.json", tokens)
    assert load_tokens(tmp_path / "t.json") == tokens
    auth.refresh_lifetime = None
    TokenSource(client, tmp_path / "t.json").force_refresh(now=T0 + timedelta(days=1))
    assert load_tokens(tmp_path / "t.json").refresh_expires_at == T0 + timedelta(days=7)  # kept when not told


def test_device_flow_declined_says_so(auth: AuthServer) -> None:
    auth.deny = True
    with pytest.raises(OAuthError, match="declined"):
        device_sign_in(device_client(auth), lambda _: None, sleep=lambda _: None)


def test_device_flow_gives_up_when_the_code_expires(auth: AuthServer) -> None:
    auth.pending = 10**6
    ticks = iter(range(0, 10**6, 100))
    with pytest.raises(SignInRequired, match="not entered in time"):
        device_sign_in(device_client(auth), lambda _: None, sleep=lambda _: None, clock=lambda: next(ticks))


class Browser:
    """A `show` that does what a person does: open the printed URL; the redirect lands on our loopback."""

    def __init__(self, tamper: bool = False) -> None:
        self.tamper = tamper
        self.shown: list[str] = []
        self.failures: list[BaseException] = []

    def __call__(self, text: str) -> None:
        self.shown.append(text)
        if text.splitlines()[-1].startswith("http"):  # the address; not the lines on waiting or on ssh -L
            threading.Thread(target=self.browse, args=(text.splitlines()[-1],), daemon=True).start()

    def browse(self, url: str) -> None:
        try:
            if self.tamper:
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
                url = query["redirect_uri"] + "?code=stolen&state=forged"
            with urllib.request.urlopen(url, timeout=10) as page:
                assert b"close this window" in page.read()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.failures.append(exc)


def test_pkce_code_flow_end_to_end(auth: AuthServer) -> None:
    browser = Browser()
    tokens = sign_in(browser_client(auth), browser, account=auth.user, timeout=20)
    assert browser.failures == []
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.shown[0].splitlines()[-1]).query))
    assert query["code_challenge_method"] == "S256" and query["redirect_uri"].startswith("http://127.0.0.1:")
    assert query["login_hint"] == auth.user and "code_verifier" not in query
    assert tokens.access_token in auth.access and tokens.refresh_token in auth.refresh  # the server checked PKCE
    assert auth.grants("/token") == ["authorization_code"]


def test_pkce_refuses_a_redirect_with_another_state(auth: AuthServer) -> None:
    with pytest.raises(OAuthError, match="different state"):
        browser_sign_in(browser_client(auth), Browser(tamper=True), timeout=20)
    assert auth.grants("/token") == []  # the forged code was never sent anywhere


def test_pkce_declined_in_the_browser(auth: AuthServer) -> None:
    auth.deny = True
    with pytest.raises(OAuthError, match="declined in the browser"):
        browser_sign_in(browser_client(auth), Browser(), timeout=20)


def test_pkce_times_out_when_nobody_comes_back(auth: AuthServer) -> None:
    with pytest.raises(OAuthError, match="within 1 s"):
        browser_sign_in(browser_client(auth), lambda _: None, timeout=1)


def test_pkce_pair_is_rfc7636_s256() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    # RFC 7636 appendix B's example pair, computed the same way
    import base64
    import hashlib
    example = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    digest = base64.urlsafe_b64encode(hashlib.sha256(example.encode()).digest()).decode().rstrip("=")
    assert digest == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert len(challenge) == 43


# -- the token file and refresh --------------------------------------------------------------------------

def test_refresh_only_shortly_before_expiry(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "state" / "tokens.json"
    first = signed_in(auth, path)
    source = TokenSource(device_client(auth), path)
    assert source.access_token(now=T0 + timedelta(minutes=10)) == first.access_token
    assert source.access_token(now=T0 + timedelta(minutes=54)) == first.access_token
    assert auth.grants("/token").count("refresh_token") == 0
    second = source.access_token(now=T0 + timedelta(minutes=56))  # inside the 5-minute margin
    assert second != first.access_token and second in auth.access
    assert auth.grants("/token").count("refresh_token") == 1
    assert source.access_token(now=T0 + timedelta(minutes=57)) == second  # no second refresh
    assert load_tokens(path).expires_at == T0 + timedelta(minutes=56 + 60)


def test_rotated_refresh_token_is_saved_at_once_and_atomically(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "state" / "tokens.json"
    first = signed_in(auth, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    TokenSource(device_client(auth), path).force_refresh(now=T0)
    saved = load_tokens(path)
    assert saved.refresh_token != first.refresh_token and saved.refresh_token in auth.refresh
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]  # no temp left
    status, answer = post_form(f"{auth.url}/token", {"client_id": auth.client_id, "grant_type": "refresh_token",
                                                     "refresh_token": first.refresh_token or ""})
    assert (status, answer["error"]) == (400, "invalid_grant")  # the old one is dead: it had to be saved
    # Another process (a new TokenSource) picks up the rotated token from the file and goes on.
    assert TokenSource(device_client(auth), path).force_refresh(now=T0) in auth.access


def test_a_second_process_uses_the_refresh_another_one_just_did(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    signed_in(auth, path)
    daemon, check = TokenSource(device_client(auth), path), TokenSource(device_client(auth), path)
    stale = daemon.access_token(now=T0)
    fresh = check.force_refresh(now=T0)
    # The daemon is refused with its old token; it must take the one on disk, not burn the rotated refresh token.
    assert daemon.force_refresh(now=T0) == fresh != stale
    assert auth.grants("/token").count("refresh_token") == 1


def test_revoked_sign_in_is_one_line_saying_run_login(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    tokens = signed_in(auth, path)
    secrets_seen = every_secret(auth, tokens)
    auth.revoke_all()
    with pytest.raises(SignInRequired) as caught:
        TokenSource(device_client(auth), path).access_token(now=T0 + timedelta(hours=2))
    message = str(caught.value)
    assert "\n" not in message and "mailtriage login" in message and "AADSTS70008" in message
    assert not any(secret in message for secret in secrets_seen)
    assert isinstance(caught.value, MailtriageError) and caught.value.exit_code == 1


def test_call_refreshes_once_and_retries_once(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    first = signed_in(auth, path)
    source = TokenSource(device_client(auth), path)
    used: list[str] = []

    class Refused(Exception):
        pass

    def login(token: str) -> str:
        used.append(token)
        if len(used) == 1:
            raise Refused("AUTHENTICATE failed")
        return "OK"

    assert source.call(login, Refused, now=T0) == "OK"
    assert used[0] == first.access_token and used[1] != first.access_token and len(used) == 2

    def always(token: str) -> str:
        raise Refused("AUTHENTICATE failed")

    with pytest.raises(Refused):
        source.call(always, Refused, now=T0)
    assert auth.grants("/token").count("refresh_token") == 2  # once per call, never a loop


def test_no_refresh_token_means_sign_in_again(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    tokens = signed_in(auth, path)
    save_tokens(path, Tokens(tokens.access_token, None, T0, "", "", T0))
    with pytest.raises(SignInRequired, match="offline_access"):
        TokenSource(device_client(auth), path).access_token(now=T0)


def test_a_broken_or_absent_server_loses_nothing(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    first = signed_in(auth, path)
    before = path.read_bytes()
    auth.broken = True
    with pytest.raises(OAuthError, match="answered HTTP 502 without a JSON object") as caught:
        TokenSource(device_client(auth), path).force_refresh(now=T0)
    assert not isinstance(caught.value, SignInRequired)  # a passing fault: no new login asked for
    assert path.read_bytes() == before
    auth.broken = False
    assert TokenSource(device_client(auth), path).force_refresh(now=T0) in auth.access  # recovers by itself
    gone = Client(provider("custom", token_url="http://127.0.0.1:9/token", device_authorization_url=
                           "http://127.0.0.1:9/device"), "id")
    with pytest.raises(OAuthError, match="cannot reach the sign-in server http://127.0.0.1:9/token"):
        TokenSource(gone, path).force_refresh(now=T0)
    assert first.refresh_token not in str(caught.value)


def test_a_failed_write_keeps_the_old_token_file(auth: AuthServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.json"
    signed_in(auth, path)
    before = path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mailtriage.mail.oauth2.os.fsync", full_disk)
    source = TokenSource(device_client(auth), path)
    with pytest.raises(OAuthError, match="No space left on device"):
        source.force_refresh(now=T0)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
    with pytest.raises(OAuthError, match="No space left on device"):  # said again at every use, never forgotten
        source.access_token(now=T0)
    monkeypatch.undo()  # space again: the refreshed tokens, held in memory, reach the disk; no new login
    token = source.access_token(now=T0 + timedelta(minutes=30))
    assert load_tokens(path).access_token == token and load_tokens(path).refresh_token in auth.refresh
    assert auth.grants("/token").count("refresh_token") == 1


def test_token_file_problems_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SignInRequired, match="no OAuth2 sign-in yet: run `mailtriage login`"):
        load_tokens(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(OAuthError, match="damaged JSON"):
        load_tokens(tmp_path / "bad.json")
    (tmp_path / "partial.json").write_text(json.dumps({"access_token": "at-x", "obtained_at": T0.isoformat()}))
    with pytest.raises(OAuthError, match="expires_at missing"):
        load_tokens(tmp_path / "partial.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(OAuthError, match="cannot be read"):
        load_tokens(tmp_path / "folder.json")


def test_unwritable_token_folder_is_one_line(auth: AuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    signed_in(auth, path)
    (tmp_path / "tokens.json.lock").mkdir()  # stands in for a folder the service may not write (we are root)
    with pytest.raises(OAuthError, match="must be writable by mailtriage"):
        TokenSource(device_client(auth), path).force_refresh(now=T0)


def test_a_time_without_zone_is_utc(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps({"access_token": "at-x", "expires_at": "2026-11-30T09:00:00",
                                                 "obtained_at": "2026-11-30T08:00:00"}))
    assert load_tokens(tmp_path / "t.json").fresh(T0)


def test_tokens_never_in_repr(auth: AuthServer, tmp_path: Path) -> None:
    tokens = signed_in(auth, tmp_path / "tokens.json")
    client = Client(device_client(auth).provider, "id", client_secret="very-secret-client-secret")
    shown = repr(tokens) + str(tokens) + repr(client) + repr(TokenSource(client, tmp_path / "tokens.json"))
    assert tokens.access_token not in shown and str(tokens.refresh_token) not in shown
    assert "very-secret-client-secret" not in shown


# -- token_command ---------------------------------------------------------------------------------------

def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "token.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def test_token_command_output_is_the_token(tmp_path: Path) -> None:
    source = CommandTokenSource(script(tmp_path, "print('ya29.a0AfH6SMBx-token_value')"))
    assert source.access_token() == "ya29.a0AfH6SMBx-token_value"
    assert source.call(lambda token: token.upper(), ValueError) == "YA29.A0AFH6SMBX-TOKEN_VALUE"


def test_token_command_failures_hide_secrets(tmp_path: Path) -> None:
    leaky = script(tmp_path, "import sys\nprint('ya29.secret-token-on-stdout-123456')\n"
                             "print('refresh failed for ya29.secret-token-on-stdout-123456 and "
                             "1//0gLongRefreshTokenLookingThing_abcdef', file=sys.stderr)\nsys.exit(3)")
    with pytest.raises(OAuthError) as caught:
        CommandTokenSource(leaky).access_token()
    assert "exited 3" in str(caught.value) and "secret-token" not in str(caught.value)
    assert "LongRefreshToken" not in str(caught.value) and "[hidden]" in str(caught.value)
    assert CommandTokenSource(script(tmp_path, "import sys; sys.stdout.buffer.write(b'tok\\xff\\n')"))\
        .access_token() == "tok\ufffd"  # not UTF-8: replaced (the server will refuse it), no crash here
    with pytest.raises(OAuthError, match="printed no access token"):
        CommandTokenSource(script(tmp_path, "pass")).access_token()
    with pytest.raises(OAuthError, match="within 0.5 s"):
        CommandTokenSource(script(tmp_path, "import time; time.sleep(10)"), timeout=0.5).access_token()
    with pytest.raises(OAuthError, match="cannot be run"):
        CommandTokenSource("/nonexistent/oama access").access_token()
    with pytest.raises(OAuthError, match="empty"):
        CommandTokenSource("  ")


# -- endpoints, errors, SASL -----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://example.org/token", "http://10.0.0.1/token", "ftp://127.0.0.1/x",
                                 "https:///nohost"])
def test_http_refused_unless_loopback(url: str) -> None:
    with pytest.raises(OAuthError, match="only https://"):
        provider("custom", token_url=url, device_authorization_url="https://auth.example/device")


@pytest.mark.parametrize("url", ["https://auth.example/token", "http://127.0.0.1:8080/token",
                                 "http://localhost/token", "http://[::1]:9/token", "http://127.1.2.3/t"])
def test_https_and_loopback_http_pass(url: str) -> None:
    assert check_url(url) == url


def test_refused_url_never_shows_credentials() -> None:
    with pytest.raises(OAuthError) as caught:
        check_url("http://admin:hunter2@auth.example/token?secret=1")
    assert "hunter2" not in str(caught.value) and "secret=1" not in str(caught.value)


def test_provider_endpoints() -> None:
    microsoft = provider("microsoft", tenant="contoso.onmicrosoft.com")
    assert microsoft.device_authorization_url == \
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
    assert microsoft.token_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert "offline_access" in microsoft.scopes and "https://outlook.office.com/SMTP.Send" in microsoft.scopes
    assert provider("microsoft").token_url.startswith("https://login.microsoftonline.com/common/")
    google = provider("google")
    assert google.device_authorization_url is None and google.scopes == ("https://mail.google.com/",)
    assert dict(google.extra_authorization) == {"access_type": "offline", "prompt": "consent"}
    with pytest.raises(OAuthError, match="tenant"):
        provider("microsoft", tenant="common/../evil")
    with pytest.raises(OAuthError, match="needs token_url"):
        provider("custom", token_url="https://a.example/token")
    with pytest.raises(OAuthError, match="unknown OAuth2 provider 'yahoo'"):
        provider("yahoo")


@pytest.mark.parametrize(("answer", "expected", "login"), [
    ({"error": "invalid_grant"}, "sign in again with `mailtriage login`", True),
    ({"error": "invalid_grant", "error_description": "AADSTS50076: Due to a configuration change..."},
     "multi-factor", True),
    ({"error": "invalid_grant", "error_description": "AADSTS50079: ..."}, "set up multi-factor", True),
    ({"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented"},
     "consent is missing", False),
    ({"error": "invalid_request", "error_description": "AADSTS50011: The redirect URI ... does not match"},
     "redirect URI is not registered", False),
    ({"error": "unauthorized_client", "error_description": "AADSTS700016: Application with identifier"},
     "not found in this tenant", False),
    ({"error": "unauthorized_client"}, "not allowed to use this sign-in", False),
    ({"error": "invalid_client", "error_description": "AADSTS7000218: The request body must contain ..."},
     "Allow public client flows", False),
    ({"error": "invalid_client"}, "client id or client secret was refused", False),
    ({"error": "temporarily_unavailable"}, "the next check tries again", False),
    ({"error": "weird thing!! ya29.token"}, "refused (weirdthingya29token)", False),
])
def test_provider_errors_become_one_plain_sentence(answer: dict[str, str], expected: str, login: bool) -> None:
    error = explain(answer, "microsoft")
    assert expected in str(error) and "\n" not in str(error)
    assert isinstance(error, SignInRequired) is login


def test_google_invalid_grant_mentions_testing_mode() -> None:
    assert "'Testing'" in str(explain({"error": "invalid_grant"}, "google"))
    assert "Testing" not in str(explain({"error": "invalid_grant"}, "microsoft"))


def test_sasl_strings_have_the_documented_shape() -> None:
    assert xoauth2("test@contoso.onmicrosoft.com", "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA") == (
        "user=test@contoso.onmicrosoft.com\x01auth=Bearer EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\x01\x01")
    assert oauthbearer("a,b=c@x", "tok", "imap.example", 993) == (
        "n,a=a=2Cb=3Dc@x,\x01host=imap.example\x01port=993\x01auth=Bearer tok\x01\x01")
    from aiosmtplib.auth import auth_xoauth2_encode  # what the SMTP side sends must be the same bytes

    assert b64(xoauth2("kasia@example.org", "ya29.tok")).encode() == \
        auth_xoauth2_encode("kasia@example.org", "ya29.tok")
    with pytest.raises(OAuthError) as caught:
        xoauth2("u", "bad token\x01injected")
    assert "injected" not in str(caught.value)


users = st.text(st.characters(codec="utf-8", exclude_characters="\x01"), min_size=1)
tokens_st = st.from_regex(r"\A[A-Za-z0-9\-._~+/]+=*\Z")


@given(users, tokens_st)
def test_xoauth2_parses_back(user: str, token: str) -> None:
    fields = xoauth2(user, token).split("\x01")
    assert fields[0] == f"user={user}" and fields[1] == f"auth=Bearer {token}" and fields[2:] == ["", ""]


@given(users, tokens_st, st.from_regex(r"\A[a-z0-9.-]{1,30}\Z"), st.integers(1, 65535))
def test_oauthbearer_parses_back(user: str, token: str, host: str, port: int) -> None:
    header, *pairs = oauthbearer(user, token, host, port).split("\x01")
    assert header.startswith("n,a=") and header.endswith(",")
    name = header[4:-1]
    assert "," not in name and name.replace("=2C", ",").replace("=3D", "=") == user
    assert pairs == [f"host={host}", f"port={port}", f"auth=Bearer {token}", "", ""]


def test_nothing_imports_the_oauth2_engine_at_start_up() -> None:
    code = "import sys, mailtriage.cli.main; print(sorted(m for m in sys.modules if 'oauth2' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
