"""The field types of rules.yaml: clock times, windows, zones, addresses, durations, each with its
validator (an error names the problem in one sentence) and its JSON Schema."""

from __future__ import annotations

import re
from datetime import time, timedelta
from email.utils import parseaddr
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BeforeValidator,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from mailtriage.core import typed
from mailtriage.core.addresses import normalise
from mailtriage.core.windows import WINDOW_FORMS, Window, parse_window


def error(kind: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to a message meant for people.
    return PydanticCustomError(kind, message)


def _clock(value: object) -> time:
    if isinstance(value, time):
        return value
    text = str(value).strip()
    found = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59 or int(found.group(3) or 0) > 59:
        raise error("clock", f"not a time of day: {text!r}; write HH:MM, e.g. \"08:00\" (quoted)")
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
        raise error("window", str(exc)) from None


def check_zone(value: object) -> str:
    name = str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        import difflib

        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (an IANA name such as 'Europe/Warsaw')"
        raise error("timezone", f"unknown time zone {name!r}{hint}") from None
    return name


def check_address(value: object) -> str:
    """A bare, lower-cased address; 'Name <a@b>' is accepted and reduced to a@b."""
    text = str(value).strip()
    address = parseaddr(text)[1] or text
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
        raise error("address", f"not an email address: {text!r}")
    return normalise(address)  # the form senders are compared in (IDN domains as U-labels)


def _domain(value: object) -> str:
    text = str(value).strip().lower().lstrip("@")
    if not re.fullmatch(r"[\w-]+(\.[\w-]+)+", text) or "_" in text:  # letters of any script: IDN domains too
        raise error("domain", f"not a domain: {value!r} (write it like 'acme.pl', without '*' or '@')")
    return normalise(f"x@{text}").partition("@")[2]  # xn--w-uga1v8h.pl and żółw.pl are one domain


def _form_sender(value: object) -> str:
    """A web-form sender under `forms:`: an address when it has an '@' (past a leading one), else a domain."""
    if not isinstance(value, str):
        kind = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
        raise error("form", f"should be a web form's address or domain, not {kind}")
    text = value.strip()
    return check_address(text) if "@" in text.lstrip("@") else _domain(text)


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
        raise error("duration", str(exc)) from None


def _age(value: object) -> str:
    try:
        count, unit = typed.age(str(value))
    except ValueError as exc:
        raise error("age", str(exc)) from None
    return f"{count} {unit[:-1] if count == 1 else unit}"


Zone = Annotated[str, BeforeValidator(check_zone)]
# How long records are kept ('12 months'): normalised text, turned into an instant by typed.ago.
Age = Annotated[str, BeforeValidator(_age), WithJsonSchema(
    {"type": "string", "pattern": typed.AGE_PATTERN, "examples": ["12 months"]})]
Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(lambda d: f"{int(d.total_seconds() // 3600)} hours", return_type=str),
    WithJsonSchema({"type": "string", "pattern": typed.DURATION_PATTERN, "examples": ["3 days"]}),
]
Address = Annotated[str, BeforeValidator(check_address), WithJsonSchema({"type": "string", "format": "email"})]
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
