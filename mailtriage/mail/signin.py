"""What a connection logs in with: the password, or an OAuth2 token source (the oauth2 block's token file, or
token_command). The app layer asks here; IMAP and SMTP take either and use a token source with retry-once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mailtriage.config.model import Rules
from mailtriage.config.oauth2 import OAuth2
from mailtriage.config.servers import Server

if TYPE_CHECKING:  # the OAuth2 modules (and their HTTP client) load only when a server uses auth: oauth2
    from mailtriage.mail.oauth2 import Client, RetryOnce, TokenSource


def client(block: OAuth2) -> Client:
    """The app registration of the oauth2 block, its secret read now (never shown)."""
    from mailtriage.config.credentials import read_client_secret
    from mailtriage.mail.oauth2 import Client
    from mailtriage.mail.oauth2_wire import provider

    scopes = tuple(block.scopes) if block.scopes else None
    found = provider(block.provider, tenant=block.tenant, scopes=scopes,
                     device_authorization_url=block.device_authorization_url, token_url=block.token_url,
                     authorization_url=block.authorization_url)
    return Client(found, block.client_id, read_client_secret(block.client_secret_env, block.client_secret_file))


def token_file(block: OAuth2) -> Path:
    assert block.token_file is not None, "rulesfile.load sets the token file"
    return block.token_file


_sources: dict[str, TokenSource] = {}


def token_source(block: OAuth2) -> TokenSource:
    """One source per token file in this process: IMAP and SMTP of a check share the access token."""
    from mailtriage.mail.oauth2 import TokenSource

    key = block.model_dump_json()  # a reloaded rules.yaml with another block gets a source of its own
    if key not in _sources:
        _sources[key] = TokenSource(client(block), token_file(block))
    return _sources[key]


def credential(rules: Rules, server: Server) -> str | RetryOnce | None:
    """The password (read now) or the token source of SERVER; None when it logs in with nothing."""
    if server.auth == "oauth2":
        if server.token_command:
            from mailtriage.mail.oauth2 import CommandTokenSource

            return CommandTokenSource(server.token_command, server.timeout)
        assert rules.oauth2 is not None, "rulesfile.cross_check refuses auth: oauth2 without the block"
        return token_source(rules.oauth2)
    if not server.username:
        return None
    from mailtriage.config.credentials import read_password

    return read_password(server)


def imap_credential(rules: Rules) -> str | RetryOnce:
    """What the IMAP login takes: imap always has a username, so never None."""
    found = credential(rules, rules.imap)
    assert found is not None, "imap.username is required"
    return found
