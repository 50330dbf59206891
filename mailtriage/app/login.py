"""`mailtriage login`: sign in once with the oauth2 block, save the token file (0600), say who and how long.

No typed input: the flow prints what to open (a URL and a code, or a URL) and waits, so it works over
ssh and from scripts. The tokens go to the token file only: nothing here prints or logs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from mailtriage.config.model import Rules
from mailtriage.config.oauth2 import CLIENT_ID_PLACEHOLDER
from mailtriage.core.models import JsonObject
from mailtriage.errors import OAuthError

# How long a refresh token lasts when the server does not say (refresh_token_expires_in).
MICROSOFT_REFRESH = timedelta(days=90)  # learn.microsoft.com/entra/identity-platform/refresh-tokens: 90 days,
# renewed at each use (every check refreshes it well before that)


@dataclass(frozen=True)
class SignedIn:
    """What `login` reports; `as_dict` is its --json (no token in it)."""

    provider: str
    account: str
    who: str
    token_file: str
    access_until: str
    refresh_until: str | None
    note: str

    def as_dict(self) -> JsonObject:
        return asdict(self)

    def text(self) -> str:
        lasts = (f"the refresh token is expected to last until {self.refresh_until[:10]}" if self.refresh_until
                 else "the server did not say how long the refresh token lasts")
        return (f"signed in as {self.who or self.account} ({self.provider}); tokens saved to {self.token_file} "
                f"(mode 0600); {lasts}{'; ' + self.note if self.note else ''}")


def account(rules: Rules) -> str:
    """Who signs in: the user name of the first server that uses the oauth2 block."""
    for server in (rules.imap, rules.smtp):
        if server is not None and server.auth == "oauth2" and not server.token_command and server.username:
            return server.username
    return rules.imap.username


def uses_oauth2(rules: Rules) -> bool:
    """Whether a server of these rules signs in with the oauth2 block's tokens."""
    return any(server is not None and server.auth == "oauth2" and not server.token_command
               for server in (rules.imap, rules.smtp))


def who_signs_in(rules: Rules) -> Rules:
    """`login` without --account in a file with `accounts:`: the one account that uses OAuth2 (the first
    account when none does, which then says why not); more than one must be named."""
    from mailtriage.config.accounts import resolve

    accounts = resolve(rules)
    oauth2 = [a for a in accounts if uses_oauth2(a.rules)]
    if len(oauth2) > 1:
        raise OAuthError(f"{len(oauth2)} accounts sign in with OAuth2 ({', '.join(a.name for a in oauth2)}): "
                         "name one with --account NAME")
    return (oauth2 or list(accounts))[0].rules


def login(rules: Rules, show: Callable[[str], None], now: Callable[[], datetime]) -> SignedIn:
    """Run the provider's flow, save the token file, and say who signed in until when."""
    from mailtriage.mail.oauth2 import save_tokens
    from mailtriage.mail.oauth2_flows import sign_in
    from mailtriage.mail.signin import client, token_file

    block = rules.oauth2
    if block is None:
        raise OAuthError("rules.yaml has no oauth2 block: add one (provider, client_id; see README, "
                         "\"Microsoft 365 / Outlook.com\" or \"Gmail / Google Workspace\"), then run login again")
    if block.client_id == CLIENT_ID_PLACEHOLDER:  # before the network: the provider would only say "not found"
        section = "Gmail / Google Workspace" if block.provider == "google" else "Microsoft 365 / Outlook.com"
        raise OAuthError("oauth2.client_id is still the placeholder `mailtriage init` wrote: register an app of "
                         f"your own and put its client id in rules.yaml (README, \"{section}\")")
    user = account(rules)
    tokens = sign_in(client(block), show, account=user)
    path = token_file(block)
    try:
        save_tokens(path, tokens)
    except OSError as exc:
        raise OAuthError(f"{path}: cannot be written ({exc.strerror or exc}): the token file's folder must be "
                         "writable by mailtriage") from None
    note = ""
    refresh_until = tokens.refresh_expires_at
    if not tokens.refresh_token:
        note = "no refresh token was given: the sign-in ends within the hour (add offline_access to the scopes)"
    elif refresh_until is None and block.provider == "microsoft":
        refresh_until = now() + MICROSOFT_REFRESH
        note = "each check renews it"
    elif refresh_until is None and block.provider == "google":
        note = ("Google's refresh token lasts while it is used, but only 7 days while the Google Cloud project "
                "is in 'Testing': publish it ('In production')")
    if tokens.who and tokens.who.lower() != user.lower():
        note += ("; " if note else "") + f"warning: signed in as {tokens.who}, but rules.yaml logs in as {user}"
    return SignedIn(block.provider, user, tokens.who, str(path), tokens.expires_at.isoformat(),
                    refresh_until.isoformat() if refresh_until else None, note)
