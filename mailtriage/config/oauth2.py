"""The oauth2: block of rules.yaml: which provider to sign in at, the app registration (client id; the
secret only by reference), the scopes and where the token file lives. Read by `mailtriage login` and by
every connection whose `auth` is oauth2; the tokens themselves never appear in rules.yaml."""

from __future__ import annotations

import ipaddress
import urllib.parse
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mailtriage.config.fields import error
from mailtriage.config.section import Section

CUSTOM_URLS = ("device_authorization_url", "token_url", "authorization_url")
TOKEN_FILE = "oauth2-tokens.json"  # default: beside the database
CLIENT_ID_PLACEHOLDER = "paste-the-client-id-of-your-own-app-registration"  # what `init` writes without one


def _safe_url(value: str) -> bool:
    parts = urllib.parse.urlsplit(value)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        return False
    if parts.scheme == "https":
        return True
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class OAuth2(Section):
    provider: Literal["microsoft", "google", "custom"] = Field(
        description="microsoft (Microsoft 365, Outlook.com), google (Gmail, Workspace) or custom")
    client_id: str = Field(min_length=1, description="the client id of your own app registration")
    client_secret_env: str | None = Field(default=None, description="environment variable holding the client "
                                          "secret (Google desktop apps have one); never the secret itself")
    client_secret_file: str | None = Field(default=None, description="file holding the client secret; may use "
                                           "${CREDENTIALS_DIRECTORY}")
    tenant: str = Field(default="common", pattern=r"^[A-Za-z0-9.-]+$",
                        description="microsoft: common, organizations, consumers or the directory's id")
    scopes: list[str] | None = Field(default=None, min_length=1, description="default: the provider's mail "
                                     "scopes (microsoft: offline_access, IMAP.AccessAsUser.All, SMTP.Send)")
    token_file: Path | None = Field(default=None, description="default: oauth2-tokens.json beside the database; "
                                    "relative to rules.yaml; may use ${STATE_DIRECTORY}")
    device_authorization_url: str | None = Field(default=None, description="custom: RFC 8628 device endpoint")
    token_url: str | None = Field(default=None, description="custom: the token endpoint")
    authorization_url: str | None = Field(default=None, description="custom: the authorization endpoint "
                                          "(code + PKCE with a loopback redirect)")

    @field_validator(*CUSTOM_URLS)
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not _safe_url(value):
            raise error("url", f"{value!r}: only https:// is allowed (http:// only to 127.0.0.1, ::1 or "
                        "localhost): tokens never travel in clear text")
        return value

    @field_validator("scopes")
    @classmethod
    def _words(cls, value: list[str] | None) -> list[str] | None:
        for scope in value or []:
            if not scope.strip() or any(c.isspace() for c in scope):
                raise error("scope", f"{scope!r} is not one scope: write a list, one scope per item")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OAuth2:
        if self.client_secret_env and self.client_secret_file:
            raise error("secret", "give at most one of client_secret_env or client_secret_file")
        given = [name for name in CUSTOM_URLS if getattr(self, name)]
        if self.provider == "custom":
            if not self.token_url or not (self.device_authorization_url or self.authorization_url):
                raise error("custom", "provider custom needs token_url and device_authorization_url or "
                            "authorization_url")
        elif given:
            raise error("custom", f"{given[0]} is only for provider: custom ({self.provider} has its own)")
        if self.tenant != "common" and self.provider != "microsoft":
            raise error("tenant", "tenant is only for provider: microsoft")
        return self
