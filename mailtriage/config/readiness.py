"""Is a valid rules.yaml ready to run? Things `validate` only warns about, and `doctor` may treat as failures.

Each warning is one line that says what to do. Nothing here touches the network or reads a secret's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from mailtriage.config.model import Rules
from mailtriage.config.oauth2 import CLIENT_ID_PLACEHOLDER
from mailtriage.config.servers import Server, is_loopback

# Values of the example rules.yaml shipped with mailtriage: left in place, they mean "not filled in yet".
# Other `.example` names are not placeholders (tests and demos use them on purpose).
PLACEHOLDER_HOSTS = frozenset({"imap.example.com", "smtp.example.com"})
PLACEHOLDER_ADDRESSES = frozenset({"kasia@example.com"})
# The mailbox of `mailtriage demo` (a reserved .example name): fine on the demo's loopback servers, where
# the demo's own rules.yaml should pass doctor; a placeholder like the example's anywhere else.
DEMO_ADDRESS = "kasia@demo.example"

# Hosts that accept only OAuth2 sign-in: with auth: password they cannot work.
OAUTH_ONLY_HOSTS = frozenset({"outlook.office365.com", "smtp.office365.com"})


def warnings(rules: Rules, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every reason this valid configuration will not work yet, one line each, saying what to do."""
    env = os.environ if environ is None else environ
    found: list[str] = []
    for name, server in (("imap", rules.imap), ("smtp", rules.smtp)):
        if server is not None:
            found += _server(name, server, env)
    found += _oauth2(rules, env)
    found += _push(rules)
    for key, address in _addresses(rules):
        if address.lower() in PLACEHOLDER_ADDRESSES:
            found.append(f"{key}: {address} is the example's placeholder address; put your own address there")
        elif address.lower() == DEMO_ADDRESS and not loopback_only(rules):
            found.append(f"{key}: {address} is the demo's address; put your own address there")
    return found


def loopback_only(rules: Rules) -> bool:
    """Every server on this machine: the demo's setup (or a test's), where the demo's address is at home."""
    return all(server is None or is_loopback(server.host) for server in (rules.imap, rules.smtp))


def _server(name: str, server: Server, env: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    host = server.host.lower()
    if host in PLACEHOLDER_HOSTS:
        found.append(f"{name}.host: {server.host} is the example's placeholder; put your provider's {name.upper()} "
                     "server there (`mailtriage init --help` lists providers)")
    elif host in OAUTH_ONLY_HOSTS and server.auth == "password":
        found.append(f"{name}.host: {server.host} accepts only OAuth2 sign-in: set {name}.auth: oauth2 and add "
                     "an oauth2 block (README, \"Microsoft 365 / Outlook.com\")")
    if server.password_env and not env.get(server.password_env):
        found.append(f"{name} password: the environment variable {server.password_env} is not set; set it where "
                     "mailtriage runs, or switch to password_file (systemd credentials, see README)")
    if server.password_file and "$" not in os.path.expandvars(server.password_file):
        path = os.path.expandvars(server.password_file)
        if not os.path.isfile(path):
            found.append(f"{name} password: password_file {path} does not exist; create it (readable by "
                         "mailtriage only) or change password_file")
    return found


def _oauth2(rules: Rules, env: Mapping[str, str]) -> list[str]:
    """The sign-in not done yet, a client secret not set, a block nobody uses."""
    block = rules.oauth2
    servers = [s for s in (rules.imap, rules.smtp) if s is not None]
    users = [s for s in servers if s.auth == "oauth2" and not s.token_command]
    if block is None:
        return []
    if not users:
        return ["oauth2: no server uses it: set imap.auth / smtp.auth: oauth2, or remove the oauth2 block"]
    found: list[str] = []
    if block.client_id == CLIENT_ID_PLACEHOLDER:
        found.append("oauth2.client_id: still the placeholder `mailtriage init` wrote: register your own app and "
                     "put its client id there (README: Microsoft 365 / Outlook.com, Gmail / Google Workspace)")
    if block.token_file is not None and not block.token_file.exists():
        found.append(f"oauth2: `mailtriage login` has not been run yet ({block.token_file} does not exist): "
                     "run it once to sign in")
    if block.client_secret_env and not env.get(block.client_secret_env):
        found.append(f"oauth2: the environment variable {block.client_secret_env} (client_secret_env) is not set")
    if block.client_secret_file and "$" not in os.path.expandvars(block.client_secret_file):
        if not os.path.isfile(os.path.expandvars(block.client_secret_file)):
            found.append(f"oauth2: client_secret_file {os.path.expandvars(block.client_secret_file)} does not exist")
    return found


def _addresses(rules: Rules) -> list[tuple[str, str]]:
    pairs = [("identity.from", rules.identity.address), *(("identity.addresses", a) for a in rules.identity.addresses)]
    if rules.summary is not None:
        pairs.append(("summary.to", rules.summary.to))
    return pairs  # every one a bare address: the model reduced 'Name <a@b>' to a@b


def _push(rules: Rules) -> list[str]:
    """Urgent clients that push cannot answer between checks, and why."""
    urgent = [c.name for c in rules.clients if c.urgent]
    if urgent and rules.push == "off":
        return [f"push: off: the urgent clients ({', '.join(urgent)}) are answered at check times only; remove "
                "push: off to answer them as their mail comes"]
    if (urgent or rules.push == "all") and all(folder.upper() != "INBOX" for folder in rules.imap.folders):
        return ["push watches the INBOX, and the folders checked do not include it: push is off; add INBOX to "
                "folders (imap.folders, or an account's folders) to answer "
                + (f"{', '.join(urgent)} as their mail comes" if urgent else "mail as it comes")]
    return []
