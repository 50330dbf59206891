"""One exception hierarchy, so the CLI and the daemon can turn any failure into one clear line."""

from __future__ import annotations

from dataclasses import dataclass


class MailtriageError(Exception):
    """Base of every error mailtriage raises on purpose; its text is meant for the user."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file, located as precisely as we can."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(MailtriageError):
    """rules.yaml cannot be used; carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CalendarError(MailtriageError):
    """The business calendar cannot produce a deadline (for instance: no business day for years)."""


class TemplateUnusable(MailtriageError):
    """The holding reply template cannot be rendered: the same for every message, so a check stops."""


class SecretError(MailtriageError):
    """A password could not be read from its environment variable, file or command."""


class FetchError(MailtriageError):
    """The IMAP server could not be reached, refused the login, or failed a command."""


class SendError(MailtriageError):
    """The SMTP server could not be reached or refused the login; the replies wait for the next check."""


class StoreError(MailtriageError):
    """The database cannot be opened or written: a full disk, a damaged file, no permission."""


class OAuthError(MailtriageError):
    """OAuth2 sign-in or token refresh failed; the text is one plain sentence and never holds a token."""
