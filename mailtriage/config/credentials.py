"""Passwords, read only when a connection needs them: from an environment variable, a file
(systemd credentials included) or a command. Never from rules.yaml, never into a log."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from mailtriage.config.servers import Server
from mailtriage.errors import SecretError


def password_source(server: Server) -> str:
    """Where the password comes from, in words safe to print."""
    if server.auth == "oauth2":
        return (f"OAuth2 access token from the command {server.token_command!r}" if server.token_command
                else "OAuth2 sign-in (`mailtriage login`), no password")
    if server.password_env:
        return f"environment variable {server.password_env}"
    if server.password_file:
        return f"file {os.path.expandvars(server.password_file)}"
    if server.password_command:
        return f"command {server.password_command!r}"
    return "no login configured"  # what doctor says of a server without a username (the demo's SMTP)


def read_client_secret(env: str | None, file: str | None) -> str | None:
    """The OAuth2 client secret from client_secret_env or client_secret_file; None when neither is given."""
    if env:
        value = os.environ.get(env)
        if not value:
            raise SecretError(f"the environment variable {env} (oauth2.client_secret_env) is not set")
        return value
    if file:
        path = Path(os.path.expandvars(file))
        if "$" in str(path):
            raise SecretError(f"client_secret_file {file}: a variable in it is not set")
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"cannot read client_secret_file {path}: {exc.strerror}") from None
    return None


def read_password(server: Server) -> str:
    """The password, with a clear SecretError that never contains the secret itself."""
    if server.password_env:
        value = os.environ.get(server.password_env)
        if not value:
            raise SecretError(f"the environment variable {server.password_env} is not set")
        return value
    if server.password_file:
        path = Path(os.path.expandvars(server.password_file))
        if "$" in str(path):
            raise SecretError(f"password_file {server.password_file}: a variable in it is not set")
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"cannot read password_file {path}: {exc.strerror}") from None
    assert server.password_command
    try:
        words = shlex.split(server.password_command)
    except ValueError as exc:  # rules.yaml validation refuses this; a Server built in code may not be checked
        raise SecretError(f"password_command cannot be split into words ({str(exc).lower()}): "
                          "check its quotes in rules.yaml") from None
    try:
        done = subprocess.run(words, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretError(f"password_command failed: {exc}") from None
    if done.returncode != 0:
        # stderr may be useful, stdout may be the secret: show only the former.
        raise SecretError(f"password_command exited {done.returncode}: {done.stderr.strip()[:200]}")
    return done.stdout.rstrip("\r\n")
