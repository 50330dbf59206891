"""The shape of rules.yaml: frozen, validated settings (pydantic), and the JSON Schema derived from them.

Only per-field rules live here; rules that relate several parts of the file (duplicate client
names, overlapping matches, unknown countries) are in rulesfile.py, which also reads the YAML
and turns every error into `file:line: path: message`.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from mailtriage.config.fields import (
    FORMS_HELP,
    Action,
    Address,
    Age,
    Clock,
    DefaultLanguage,
    Domain,
    Duration,
    FormSender,
    Language,
    Weekday,
    WindowText,
    Zone,
    check_address,
    error,
)
from mailtriage.config.oauth2 import OAuth2
from mailtriage.config.section import Section
from mailtriage.config.servers import Imap, Smtp
from mailtriage.core.addresses import normalise
from mailtriage.core.businessdays import WEEKDAYS, BusinessCalendar
from mailtriage.core.windows import HOURS, Window


class BusinessHours(Section):
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: Clock = time(8, 0)
    end: Clock = time(16, 0)

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end <= self.start:
            raise error("hours", "end must be later than start (business hours within one day)")
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
            raise error("away", f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self


class Identity(Section):
    from_: str = Field(alias="from", description="From header of our replies: 'Name <address>'")
    addresses: list[Address] = Field(default=[], description="every address that is ours")

    @field_validator("from_")
    @classmethod
    def _has_address(cls, value: str) -> str:
        check_address(value)
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


class Summary(Section):
    to: Address
    at: Clock = time(7, 30)
    deliver: Literal["smtp", "imap"] = "smtp"
    alert_urgent: bool = Field(default=False, description="a short alert to `to` when an urgent client's message "
                               "is answered between check times")


PushMode = Literal["urgent", "all", "off"]
PUSH_HELP = ("urgent: the daemon watches the INBOX for urgent clients' mail between check times; all: every "
             "message is answered as it comes; off: only at check times")


class Idle(Section):
    """How the daemon watches an INBOX between check times (push)."""

    renew: Duration = Field(default=timedelta(minutes=9), description="IDLE is ended, the connection proven "
                            "with NOOP and IDLE begun again this often (RFC 2177: under 29 minutes; NAT boxes "
                            "drop quiet connections after 5 to 10)")
    poll: Duration = Field(default=timedelta(minutes=2), description="a server without IDLE is asked this often")
    reconnect_max: Duration = Field(default=timedelta(minutes=5), description="the longest wait between "
                                    "attempts to reconnect (the wait doubles from 5 seconds)")

    @field_validator("renew")
    @classmethod
    def _within_rfc(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=28):
            raise error("renew", "must be between 1 second and 28 minutes: servers may log an idle client out "
                        "after 30 minutes (RFC 2177); 9 minutes suits most")
        return value

    @field_validator("poll", "reconnect_max")
    @classmethod
    def _positive(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        if value < timedelta(seconds=1):
            raise error(str(info.field_name), "must be at least 1 second")
        return value


def _business_hours(value: object) -> Window:
    """Only 'N business hours': any other form, or no form at all, is told so (not the window forms
    that reminders refuse)."""
    from mailtriage.core.windows import parse_window

    try:
        window = value if isinstance(value, Window) else parse_window(str(value))
    except ValueError:
        window = None
    if window is None or window.kind != HOURS:
        raise error("window", f"write it as 'N business hours', e.g. '2 business hours' (got {str(value)!r})")
    return window


class Reminders(Section):
    before: Annotated[WindowText, BeforeValidator(_business_hours), WithJsonSchema(
        {"type": "string", "pattern": r"^\d+\s+business\s+hours?$", "examples": ["2 business hours"]})] = Field(
        description="remind of a deadline this much business time before it, e.g. '2 business hours'")


class Match(Section):
    addresses: list[Address] = []
    domains: list[Domain] = []
    patterns: list[str] = Field(default=[], description="shell-style globs on the whole address")

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        if not (self.addresses or self.domains or self.patterns):
            raise error("match", "matches nothing: give addresses, domains or patterns")
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


class Retention(Section):
    """How long settled threads (closed, answered, ignored) and messages in no thread are kept."""

    threads: Age = Field(default="12 months", description="a thread closed, answered or ignored longer ago than "
                         "this is deleted with its messages and replies")
    messages: Age = Field(default="12 months", description="a message in no thread (not answered: a machine's, "
                          "a list's) received longer ago than this is deleted")


class Client(Section):
    name: str = Field(min_length=1)
    match: Match
    action: Action | None = Field(default=None, description="default: defaults.action")
    respond_within: WindowText | None = Field(default=None, description="default: defaults.respond_within")
    language: Language | None = Field(default=None, description="default: defaults.language, then language")
    forms: list[FormSender] = Field(default=[], description=FORMS_HELP + "; added to the top-level forms, and a "
                                    "relay from one of these belongs to this client")
    report_to: Address | None = Field(default=None, description="where `mailtriage report --send` (and, with "
                                      "reports: monthly, the daemon) mails this client's monthly report")
    urgent: bool = Field(default=False, description="answered between check times too: the daemon watches the "
                         "INBOX (IMAP IDLE) and sends this client's holding reply within seconds")
    retention: Retention | None = Field(default=None, description="this client's own retention of threads; "
                                        "default: the top-level retention")


class DeadlineCalendar(Section):
    file: Path = Field(description="an iCalendar file of open deadlines, rewritten after every check")
    alarm: Duration = Field(default=timedelta(hours=1), description="each event's reminder, this long before")


ACCOUNT_NAME = r"^[a-z0-9][a-z0-9_-]{0,19}$"
# What an account may set for itself; what it leaves out comes from the top level (config/accounts.py).
ACCOUNT_KEYS = ("identity", "imap", "smtp", "oauth2", "clients", "defaults", "language", "sender_limit", "push")


class Account(Section):
    """One mailbox of `accounts:`: its own name and whatever it does not take from the top level."""

    name: str = Field(json_schema_extra={"pattern": ACCOUNT_NAME},
                      description="short and unique: a-z, 0-9, _ and -, at most 20")
    identity: Identity | None = Field(default=None, description="default: the top-level identity")
    imap: Imap | None = Field(default=None, description="default: the top-level imap")
    smtp: Smtp | None = Field(default=None, description="default: the top-level smtp")
    oauth2: OAuth2 | None = Field(default=None, description="default: the top-level oauth2 (with a token file "
                                  "of this account's own)")
    clients: list[Client] | None = Field(default=None, description="default: the top-level clients")
    defaults: Defaults | None = Field(default=None, description="default: the top-level defaults")
    language: Language | None = Field(default=None, description="default: the top-level language")
    folders: list[str] | None = Field(default=None, min_length=1, description="default: imap.folders")
    sent_folder: str | None = Field(default=None, description="default: imap.sent_folder")
    sender_limit: SenderLimit | None = Field(default=None, description="counted per account; default: the "
                                             "top-level sender_limit; null: no limit")
    push: PushMode | None = Field(default=None, description=PUSH_HELP + "; default: the top-level push")

    @field_validator("name")
    @classmethod
    def _short(cls, value: str) -> str:
        if not re.fullmatch(ACCOUNT_NAME, value):
            raise error("name", f"{value!r} is not an account name: 1 to 20 of a-z, 0-9, _ and -, starting "
                        "with a letter or digit (it is stored with every record and typed in --account)")
        return value


# How an account signs in is one choice: when it sets any of these, none of the top level's is kept.
SIGN_IN_KEYS = ("auth", "password_env", "password_file", "password_command", "token_command")


def _server_defaults(top: object, own: object) -> object:
    """An account's imap or smtp: the top level's keys, with the account's own over them (host, port,
    username...), except how it signs in, which is the account's alone when it says anything of it."""
    if not isinstance(top, dict) or not isinstance(own, dict):
        return own
    keep = {k: v for k, v in top.items() if not (k in SIGN_IN_KEYS and any(key in own for key in SIGN_IN_KEYS))}
    return {**keep, **own}


def _first_account_fills(data: object) -> object:
    """With `accounts:`, an account's imap and smtp take the keys they leave out from the top-level
    ones; and the top-level identity and imap may be left out: the first account's stand in for
    commands that speak for one mailbox (see docs/accounts.md)."""
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list) or not data["accounts"]:
        return data
    accounts = [{**account, **{key: _server_defaults(data[key], account[key]) for key in ("imap", "smtp")
                               if key in account and key in data}} if isinstance(account, dict) else account
                for account in data["accounts"]]
    first = accounts[0]
    missing = [key for key in ("identity", "imap") if key not in data and isinstance(first, dict) and key in first]
    # A top-level imap that is only the accounts' defaults (no username of its own) stands as the first
    # account's, whole: it is never checked by itself.
    partial = ("imap" in data and isinstance(data["imap"], dict) and "username" not in data["imap"]
               and isinstance(first, dict) and isinstance(first.get("imap"), dict))
    return {**data, "accounts": accounts, **{key: first[key] for key in missing},
            **({"imap": first["imap"]} if partial else {})}


def _schema_with_accounts(schema: dict[str, Any]) -> None:
    """identity and imap are required at the top level only when there is no `accounts:`."""
    schema["required"] = [key for key in schema.get("required", []) if key not in ("identity", "imap")]
    schema["anyOf"] = [{"required": ["identity", "imap"]}, {"required": ["accounts"]}]


class Rules(Section):
    """The whole of rules.yaml."""

    model_config = ConfigDict(title="mailtriage rules.yaml", json_schema_extra=_schema_with_accounts)

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
    reports: Literal["monthly", "off"] = Field(default="off", description="monthly: the daemon mails each client "
                                               "with report_to last month's report on the month's first business day")
    deadline_calendar: DeadlineCalendar | None = Field(default=None, alias="calendar")
    oauth2: OAuth2 | None = Field(default=None, description="OAuth2 sign-in for imap/smtp with auth: oauth2; "
                                  "run `mailtriage login` once")
    reminders: Reminders | None = Field(default=None, description="one email to summary.to listing the threads "
                                        "due soon, after each check; absent: no reminders")
    overdue_notice: bool = Field(default=False, description="when a thread becomes overdue, tell its sender and "
                                 "count the client's window again from then as the new deadline")
    accounts: list[Account] = Field(default=[], description="several mailboxes in one daemon and database; "
                                    "absent: one account, 'default', of the top-level keys")
    push: PushMode = Field(default="urgent", description=PUSH_HELP)
    idle: Idle = Idle()
    retention: Retention | None = Field(default=Retention(), description="how long records are kept (GDPR); "
                                        "applied daily with the summary and by `mailtriage purge --expired`; "
                                        "null: forever")
    store_subjects: bool = Field(default=True, description="false: no subject is kept in the database (nor in "
                                 "the stored copy of a holding reply once sent); lists show number and sender")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_first_account(cls, data: object) -> object:
        return _first_account_fills(data)

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
