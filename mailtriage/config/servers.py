"""The imap: and smtp: sections of rules.yaml: where the servers are, how to reach them safely, and
where their password comes from (never the password itself)."""

from __future__ import annotations

import ipaddress
import shlex
from typing import Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailtriage.config.fields import error
from mailtriage.config.section import Section


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses: the only hosts where plain text is allowed."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Server(Section):
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str | None = Field(default=None, description="omit for a server that needs no login")
    password_env: str | None = None
    password_file: str | None = Field(default=None, description="may use ${CREDENTIALS_DIRECTORY}")
    password_command: str | None = None
    tls_ca_file: str | None = Field(default=None, description="CA bundle for a private CA")
    timeout: float = Field(default=30.0, gt=0, le=600, description="seconds, per connect and command")
    auth: Literal["password", "oauth2"] = Field(default="password", description="oauth2: sign in with the "
                                                "oauth2 block (`mailtriage login`) or token_command")
    token_command: str | None = Field(default=None, description="auth: oauth2 without the oauth2 block: a "
                                      "command printing an access token (oama, mutt_oauth2.py)")

    @field_validator("password_command", "token_command")
    @classmethod
    def _parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Split as it will be when run (never run here); the message never repeats the command."""
        if value is None:
            return value
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise error(str(info.field_name), f"cannot be split into words: {str(exc).lower()}; "
                         "check its quotes (a quote inside a word needs \\' or the other kind of quote)") from None
        if not words:
            what = "password" if info.field_name == "password_command" else "access token"
            raise error(str(info.field_name), f"is empty: give the command that prints the {what}")
        return value

    @model_validator(mode="after")
    def _safe(self) -> Server:
        sources = [s for s in ("password_env", "password_file", "password_command") if getattr(self, s)]
        if self.auth == "oauth2" or self.token_command:
            return self._oauth2(sources)
        if self.username is None and sources:
            raise error("password", f"{sources[0]} without a username: give the username to log in with")
        if self.username is not None and len(sources) != 1:
            raise error(
                "password",
                "give exactly one of password_env, password_file or password_command"
                + (f" (found {', '.join(sources)})" if sources else ""),
            )
        if self.security == "none" and not is_loopback(self.host):
            raise error(
                "security",
                f"security: none sends the password in clear text; it is allowed only for a loopback "
                f"host, not {self.host!r}: use tls or starttls",
            )
        return self

    def _oauth2(self, sources: list[str]) -> Server:
        if self.auth != "oauth2":
            raise error("auth", "token_command needs auth: oauth2")
        if self.username is None:
            raise error("auth", "auth: oauth2 needs the username to sign in as")
        if sources:
            raise error("auth", f"auth: oauth2 needs no password: remove {sources[0]}")
        if self.security == "none" and not is_loopback(self.host):
            raise error("security", f"security: none sends the access token in clear text; it is allowed only for "
                        f"a loopback host, not {self.host!r}: use tls or starttls")
        return self


class Imap(Server):
    username: str
    folders: list[str] = Field(default=["INBOX"], min_length=1)
    sent_folder: str | None = Field(default=None, description="when the server has no \\Sent special-use")

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


class Smtp(Server):
    envelope_sender: Literal["auto", "null", "identity"] = Field(
        default="auto", description="MAIL FROM of holding replies: null sender <> (RFC 3834), the identity "
        "address, or auto: <> and, where the server refuses it, the identity address")

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]
