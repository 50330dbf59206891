"""OAuth2 tokens for IMAP and SMTP: the token file, refresh before expiry, retry once, token_command.

Stdlib only, and imported only by what signs in (login, check, daemon, doctor with auth: oauth2), never at
the start of other commands. The sign-in flows live in oauth2_flows; HTTP, provider facts and SASL strings
in oauth2_wire. Tokens are secrets: no repr, message or log line shows one.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from mailtriage.errors import OAuthError
from mailtriage.mail.oauth2_wire import LOGIN_HINT, Provider, SignInRequired, explain, post_form

T = TypeVar("T")
MARGIN = timedelta(minutes=5)  # refresh this long before expiry: a check must not outlive its token


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Client:
    """An app registration at a provider; the secret (Google installed apps have one) is never shown."""

    provider: Provider
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def fields(self, **more: str) -> dict[str, str]:
        """The form fields of a token request: client_id, the secret if any, then MORE."""
        found = {"client_id": self.client_id, **more}
        if self.client_secret:
            found["client_secret"] = self.client_secret
        return found


@dataclass(frozen=True)
class Tokens:
    """What a sign-in gave us; repr and str hide both tokens."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scope: str
    account: str
    obtained_at: datetime
    who: str = ""  # who signed in, from an id_token when the provider sent one: compare with the IMAP user
    refresh_expires_at: datetime | None = None  # only when the server says (refresh_token_expires_in)

    def fresh(self, now: datetime, margin: timedelta = MARGIN) -> bool:
        return now + margin < self.expires_at


def tokens_from_answer(answer: Mapping[str, object], *, account: str, now: datetime,
                       previous: Tokens | None = None, scope: str = "") -> Tokens:
    """Tokens from a successful token answer; a refresh answer without refresh_token keeps the old one."""
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("the sign-in server answered without an access token")
    refresh = answer.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:  # not rotated: the old one goes on working
        refresh = previous.refresh_token if previous else None
    refresh_seconds = _int(answer.get("refresh_token_expires_in"))
    return Tokens(
        access_token=access,
        refresh_token=refresh,
        expires_at=now + timedelta(seconds=_int(answer.get("expires_in")) or 3600),
        scope=str(answer.get("scope") or (previous.scope if previous else scope)),
        account=account or (previous.account if previous else ""),
        obtained_at=now,
        who=_who(answer.get("id_token")) or (previous.who if previous else ""),
        refresh_expires_at=now + timedelta(seconds=refresh_seconds) if refresh_seconds else
        (previous.refresh_expires_at if previous else None),
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _who(id_token: object) -> str:
    """The signed-in address from an OpenID id_token, unverified: it is only shown, never trusted."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return ""
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return ""
    if not isinstance(claims, dict):
        return ""
    return next((str(claims[k]) for k in ("email", "preferred_username", "upn") if claims.get(k)), "")


def save_tokens(path: Path, tokens: Tokens) -> None:
    """Write the token file atomically, mode 0600, its folder created 0700: a crash leaves old or new, whole."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat(), "scope": tokens.scope, "account": tokens.account,
            "obtained_at": tokens.obtained_at.isoformat(), "token_type": "Bearer", "who": tokens.who,
            "refresh_expires_at": tokens.refresh_expires_at.isoformat() if tokens.refresh_expires_at else None}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:  # mkstemp already made it 0600
            json.dump(data, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        follow_folder_owner(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a power cut only once the folder is synced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def follow_folder_owner(path: Path | str) -> None:
    """Root writing into a service's folder (`sudo mailtriage login` for a DynamicUser= service): the file
    becomes the folder owner's, or the service could no longer read or replace it."""
    if os.geteuid() != 0:
        return
    folder = os.stat(os.path.dirname(os.path.abspath(path)))
    if folder.st_uid != 0:
        os.chown(path, folder.st_uid, folder.st_gid)


def load_tokens(path: Path) -> Tokens:
    """The token file, or one line saying what is wrong with it and what to do."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SignInRequired(f"{path}: no OAuth2 sign-in yet: run `mailtriage login`") from None
    except OSError as exc:
        raise OAuthError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError:
        raise OAuthError(f"{path}: is not a token file (damaged JSON): run `mailtriage login` to write it again") \
            from None
    try:
        if not isinstance(data["access_token"], str):
            raise TypeError("access_token")
        refresh_expires = data.get("refresh_expires_at")
        return Tokens(data["access_token"], data.get("refresh_token") or None, _utc(data["expires_at"]),
                      str(data.get("scope", "")), str(data.get("account", "")), _utc(data["obtained_at"]),
                      str(data.get("who") or ""), _utc(refresh_expires) if refresh_expires else None)
    except (KeyError, TypeError, ValueError) as exc:
        missing = str(exc).split(":")[0].strip("'\"")
        raise OAuthError(f"{path}: is damaged ({missing} missing or wrong): run `mailtriage login` to write it "
                         "again") from None


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # a hand-edited time without zone: UTC


def refresh(client: Client, tokens: Tokens, now: datetime) -> Tokens:
    """New tokens from the refresh token; a refusal is one sentence (invalid_grant: run `mailtriage login`)."""
    if not tokens.refresh_token:
        raise SignInRequired(f"the sign-in gave no refresh token (is offline_access among the scopes?): {LOGIN_HINT}")
    status, answer = post_form(client.provider.token_url, client.fields(
        grant_type="refresh_token", refresh_token=tokens.refresh_token), client.timeout)
    if status != 200 or "error" in answer:
        raise explain(answer, client.provider.name)
    return tokens_from_answer(answer, account=tokens.account, now=now, previous=tokens)


class RetryOnce:
    """The rule for every connection: use the token; if the server refuses it, refresh once, retry once."""

    def access_token(self, now: datetime | None = None) -> str:
        raise NotImplementedError

    def force_refresh(self, now: datetime | None = None) -> str:
        raise NotImplementedError

    def call(self, use: Callable[[str], T], refused: type[Exception] | tuple[type[Exception], ...],
             now: datetime | None = None) -> T:
        """USE(token); when it raises REFUSED, USE(a freshly refreshed token) once more."""
        try:
            return use(self.access_token(now))
        except refused:
            return use(self.force_refresh(now))


class TokenSource(RetryOnce):
    """A valid access token on demand: refreshed before expiry, the rotated refresh token saved at once.

    Several processes (daemon, a manual check, login) share one token file: a lock file beside it keeps
    two of them from refreshing at once, and the file is re-read first in case another one already did.
    """

    def __init__(self, client: Client, path: Path, *, margin: timedelta = MARGIN,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.client, self.path, self.margin, self.clock = client, path, margin, clock
        self._tokens: Tokens | None = None
        self._unsaved: Tokens | None = None  # refreshed, but the disk refused them: the only live copy
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenSource({self.client.provider.name}, {str(self.path)!r})"

    def access_token(self, now: datetime | None = None) -> str:
        """A token valid for at least the margin from NOW (default: the clock)."""
        now = now or self.clock()
        with self._lock:
            if self._tokens is None or not self._tokens.fresh(now, self.margin):
                self._tokens = self._renew(now, force=False)
            return self._tokens.access_token

    def force_refresh(self, now: datetime | None = None) -> str:
        """A new token even if ours looks valid: the server refused it anyway."""
        now = now or self.clock()
        with self._lock:
            self._tokens = self._renew(now, force=True)
            return self._tokens.access_token

    def _renew(self, now: datetime, force: bool) -> Tokens:
        try:
            if self._unsaved is not None:  # a full disk earlier: save first, or nothing after it is safe
                with self._file_lock():
                    save_tokens(self.path, self._unsaved)
                self._tokens, self._unsaved = self._unsaved, None
            return self._renew_locked(now, force)
        except OSError as exc:  # the lock file or the new token file cannot be written
            raise OAuthError(f"{self.path.parent}: cannot write there ({exc.strerror or exc}): the token file's "
                             "folder must be writable by mailtriage (systemd: StateDirectory=)") from None

    def _renew_locked(self, now: datetime, force: bool) -> Tokens:
        stale = self._tokens
        with self._file_lock():
            tokens = load_tokens(self.path)
            other_process_did_it = stale is not None and tokens.access_token != stale.access_token
            if tokens.fresh(now, self.margin) and not (force and not other_process_did_it):
                return tokens
            new = refresh(self.client, tokens, now)
            self._unsaved = new  # kept in memory until the disk takes it: the old refresh token may be dead
            save_tokens(self.path, new)  # at once: a rotated refresh token is the only one that works now
            self._unsaved = None
            return new

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            follow_folder_owner(lock.name)
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class CommandTokenSource(RetryOnce):
    """token_command: a program we run (no shell) whose standard output is the access token."""

    def __init__(self, command: str, timeout: float = 30.0) -> None:
        try:
            self.words = shlex.split(command)
        except ValueError as exc:
            raise OAuthError(f"token_command cannot be split into words ({str(exc).lower()})") from None
        if not self.words:
            raise OAuthError("token_command is empty: give the command that prints the access token")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"CommandTokenSource({self.words[0]!r})"

    def access_token(self, now: datetime | None = None) -> str:
        try:
            done = subprocess.run(self.words, capture_output=True, timeout=self.timeout, check=False,
                                  stdin=subprocess.DEVNULL, encoding="utf-8", errors="replace")
        except subprocess.TimeoutExpired:
            raise OAuthError(f"token_command {self.words[0]} gave no token within {self.timeout:g} s") from None
        except OSError as exc:
            raise OAuthError(f"token_command {self.words[0]} cannot be run: {exc.strerror or exc}") from None
        token = done.stdout.strip().splitlines()[0].strip() if done.stdout.strip() else ""
        if done.returncode != 0:
            raise OAuthError(f"token_command {self.words[0]} exited {done.returncode}: "
                             f"{summarise(done.stderr, token)}")
        if not token:
            raise OAuthError(f"token_command {self.words[0]} printed no access token")
        return token

    def force_refresh(self, now: datetime | None = None) -> str:
        return self.access_token(now)  # the command keeps its own cache; asking again is all we can do


TOKENISH = re.compile(r"[A-Za-z0-9._~+/=-]{32,}")  # longer than words and most paths


def summarise(stderr: str, *secrets: str) -> str:
    """The last line of STDERR, short, with SECRETS and anything token-shaped hidden."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = lines[-1] if lines else "(nothing on stderr)"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[hidden]")
    return TOKENISH.sub("[hidden]", text)[:200]
