"""The shape of rules.yaml: frozen, validated settings (pydantic), and the JSON Schema derived from them.

Only per-field rules live here; rules that relate several parts of the file (duplicate client
names, overlapping matches, unknown countries) are in rulesfile.py, which also reads the YAML
and turns every error into `file:line: path: message`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from datetime import date, time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mailtriage.core import typed
from mailtriage.core.addresses import normalise
from mailtriage.core.businessdays import WEEKDAYS, BusinessCalendar
from mailtriage.core.windows import WINDOW_FORMS, Window, parse_window


def _error(kind: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to a message meant for people.
    return PydanticCustomError(kind, message)


def _clock(value: object) -> time:
    if isinstance(value, time):
        return value
    text = str(value).strip()
    found = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59 or int(found.group(3) or 0) > 59:
        raise _error("clock", f"not a time of day: {text!r}; write HH:MM, e.g. \"08:00\" (quoted)")
    return time(int(found.group(1)), int(found.group(2)), int(found.group(3) or 0))


def clock_text(value: time) -> str:
    """08:00, or 08:00:30 when seconds were given."""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _window(value: object) -> Window:
    if isinstance(value, Window):
        return value
    try:
        return parse_window(str(value))
    except ValueError as exc:
        raise _error("window", str(exc)) from None


def _zone(value: object) -> str:
    name = str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        import difflib

        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (an IANA name such as 'Europe/Warsaw')"
        raise _error("timezone", f"unknown time zone {name!r}{hint}") from None
    return name


def _address(value: object) -> str:
    """A bare, lower-cased address; 'Name <a@b>' is accepted and reduced to a@b."""
    text = str(value).strip()
    address = parseaddr(text)[1] or text
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
        raise _error("address", f"not an email address: {text!r}")
    return normalise(address)  # the form senders are compared in (IDN domains as U-labels)


def _domain(value: object) -> str:
    text = str(value).strip().lower().lstrip("@")
    if not re.fullmatch(r"[\w-]+(\.[\w-]+)+", text) or "_" in text:  # letters of any script: IDN domains too
        raise _error("domain", f"not a domain: {value!r} (write it like 'acme.pl', without '*' or '@')")
    return normalise(f"x@{text}").partition("@")[2]  # xn--w-uga1v8h.pl and żółw.pl are one domain


def _form_sender(value: object) -> str:
    """A web-form sender under `forms:`: an address when it has an '@' (past a leading one), else a domain."""
    if not isinstance(value, str):
        kind = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
        raise _error("form", f"should be a web form's address or domain, not {kind}")
    text = value.strip()
    return _address(text) if "@" in text.lstrip("@") else _domain(text)


Clock = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(clock_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}(:\d{2})?$", "examples": ["08:00"]}),
]
WindowText = Annotated[
    Window,
    BeforeValidator(_window),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": f"{WINDOW_FORMS}", "examples": ["1 business day"]}),
]
def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return typed.duration(str(value))
    except ValueError as exc:
        raise _error("duration", str(exc)) from None


Zone = Annotated[str, BeforeValidator(_zone)]
Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(lambda d: f"{int(d.total_seconds() // 3600)} hours", return_type=str),
    WithJsonSchema({"type": "string", "pattern": typed.DURATION_PATTERN, "examples": ["3 days"]}),
]
Address = Annotated[str, BeforeValidator(_address), WithJsonSchema({"type": "string", "format": "email"})]
Domain = Annotated[str, BeforeValidator(_domain)]
FormSender = Annotated[str, BeforeValidator(_form_sender), WithJsonSchema(
    {"type": "string", "description": "an address (noreply@site.example) or a domain (site.example)",
     "examples": ["noreply@wix.com", "formspree.io"]})]
FORMS_HELP = ("web-form senders (addresses, or domains with their subdomains) whose mail comes From a "
              "no-reply address: their Reply-To, the person who filled in the form, gets the holding reply")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Language = Literal["pl", "en"]
# 'auto': Polish for a sender in .pl or with Polish letters in the name or subject, else English.
DefaultLanguage = Literal["pl", "en", "auto"]
Action = Literal["reply", "record", "ignore"]


class Section(BaseModel):
    """Every section refuses unknown keys, so a typo is an error instead of a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BusinessHours(Section):
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: Clock = time(8, 0)
    end: Clock = time(16, 0)

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end <= self.start:
            raise _error("hours", "end must be later than start (business hours within one day)")
        return self


class Holidays(Section):
    country: str | None = Field(default=None, description="ISO 3166 code, e.g. PL; public holidays")
    subdivision: str | None = Field(default=None, description="region code, e.g. BY for Bavaria")
    extra: list[date] = Field(default=[], description="own days off")


class Away(Section):
    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _ordered(self) -> Away:
        if self.to < self.from_:
            raise _error("away", f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self


class Identity(Section):
    from_: str = Field(alias="from", description="From header of our replies: 'Name <address>'")
    addresses: list[Address] = Field(default=[], description="every address that is ours")

    @field_validator("from_")
    @classmethod
    def _has_address(cls, value: str) -> str:
        _address(value)
        return value

    @property
    def address(self) -> str:
        """The address of `from`, lower-cased: the envelope sender, the domain of our Message-IDs."""
        return parseaddr(self.from_)[1].lower()

    @property
    def display_name(self) -> str:
        """The display name of `from`, '' when it has none."""
        return parseaddr(self.from_)[0]

    @property
    def name(self) -> str:
        """The display name, or the address when there is none: it signs the holding reply."""
        return self.display_name or self.address

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def all_addresses(self) -> frozenset[str]:
        """Every address that is ours, in the form senders are compared in."""
        return frozenset([*self.addresses, normalise(self.address)])


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

    @field_validator("password_command")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        """Split as it will be when run (never run here); the message never repeats the command."""
        if value is None:
            return value
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise _error("password_command", f"cannot be split into words: {str(exc).lower()}; "
                         "check its quotes (a quote inside a word needs \\' or the other kind of quote)") from None
        if not words:
            raise _error("password_command", "is empty: give the command that prints the password")
        return value

    @model_validator(mode="after")
    def _safe(self) -> Server:
        sources = [s for s in ("password_env", "password_file", "password_command") if getattr(self, s)]
        if self.username is None and sources:
            raise _error("password", f"{sources[0]} without a username: give the username to log in with")
        if self.username is not None and len(sources) != 1:
            raise _error(
                "password",
                "give exactly one of password_env, password_file or password_command"
                + (f" (found {', '.join(sources)})" if sources else ""),
            )
        if self.security == "none" and not is_loopback(self.host):
            raise _error(
                "security",
                f"security: none sends the password in clear text; it is allowed only for a loopback "
                f"host, not {self.host!r}: use tls or starttls",
            )
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


class Summary(Section):
    to: Address
    at: Clock = time(7, 30)
    deliver: Literal["smtp", "imap"] = "smtp"


class Match(Section):
    addresses: list[Address] = []
    domains: list[Domain] = []
    patterns: list[str] = Field(default=[], description="shell-style globs on the whole address")

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        if not (self.addresses or self.domains or self.patterns):
            raise _error("match", "matches nothing: give addresses, domains or patterns")
        return self


class SenderLimit(Section):
    replies: int = Field(default=1, ge=1, description="holding replies to one sender ...")
    hours: int = Field(default=24, ge=1, le=24 * 90, description="... within this many hours")


class Retry(Section):
    attempts: int = Field(default=3, ge=1, le=10, description="tries of a check whose server is unreachable")
    backoff: Duration = Field(default=timedelta(seconds=30), description="wait before the second try; doubles")


class Defaults(Section):
    action: Action = "reply"
    respond_within: WindowText = Window("business days", 2)
    language: DefaultLanguage | None = Field(default=None, description="pl, en or auto (by the sender's "
                                             "domain and letters); default: language")


class Client(Section):
    name: str = Field(min_length=1)
    match: Match
    action: Action | None = Field(default=None, description="default: defaults.action")
    respond_within: WindowText | None = Field(default=None, description="default: defaults.respond_within")
    language: Language | None = Field(default=None, description="default: defaults.language, then language")
    forms: list[FormSender] = Field(default=[], description=FORMS_HELP + "; added to the top-level forms, and a "
                                    "relay from one of these belongs to this client")


class Rules(Section):
    """The whole of rules.yaml."""

    model_config = ConfigDict(title="mailtriage rules.yaml")

    timezone: Zone
    language: Language = "en"
    check_times: list[Clock] = Field(min_length=1)
    check_on_days_off: bool = False
    business_hours: BusinessHours = BusinessHours()
    holidays: Holidays = Holidays()
    away: list[Away] = []
    identity: Identity
    imap: Imap
    smtp: Smtp | None = None
    database: Path = Path("mailtriage.db")
    summary: Summary | None = None
    require_addressed: bool = True
    reacknowledge_after: Duration = Field(default=timedelta(days=3), description="a reopened thread gets "
                                          "another holding reply only after this much quiet")
    max_arrival_age: Duration | None = Field(
        default=timedelta(days=7), description="a message that arrived longer before the check (an old "
        "message moved back into the INBOX) gets its deadline counted from the check; null: never")
    retry: Retry = Retry()
    flag_overdue: bool = Field(default=True, description="set \\Flagged on an overdue thread's newest message")
    sender_limit: SenderLimit | None = Field(default=SenderLimit(), description="null: no per-sender limit")
    templates: Path | None = Field(default=None, description="a folder of your own reply templates")
    defaults: Defaults = Defaults()
    forms: list[FormSender] = Field(default=[], description=FORMS_HELP)
    clients: list[Client] = []

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def calendar(self, public: dict[int, dict[date, str]] | None = None) -> BusinessCalendar:
        """The business calendar these rules describe; `public` may preload holidays by year."""
        hours = self.business_hours
        return BusinessCalendar(
            _public=dict(public or {}),
            tz=self.tz,
            weekdays=frozenset(WEEKDAYS.index(d) for d in hours.days),
            start=hours.start,
            end=hours.end,
            country=self.holidays.country,
            subdivision=self.holidays.subdivision,
            extra=frozenset(self.holidays.extra),
            away=tuple((a.from_, a.to) for a in self.away),
        )
