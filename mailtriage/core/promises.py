"""A response window in plain words for a client, in Polish or English: what `windows.deadline` computes,
said so that the words never promise more (or less) than the arithmetic does.

Each kind of window has one sentence; tests/test_promises.py holds every sentence to `windows.deadline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from mailtriage.core.businessdays import BusinessCalendar
from mailtriage.core.windows import DAYS, HOURS, NEXT_CHECK, Window, promised_check_times
from mailtriage.core.wording import clock, join, plural_form

_PL_ORDINAL_GENITIVE = ("pierwszego", "drugiego", "trzeciego", "czwartego", "piątego", "szóstego", "siódmego",
                        "ósmego", "dziewiątego", "dziesiątego")
_EN_ORDINAL = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def _ordinal(n: int, language: str) -> str:
    """'drugiego' / 'second'; digits past ten ('12.' / '12th')."""
    names = _PL_ORDINAL_GENITIVE if language == "pl" else _EN_ORDINAL
    if n <= len(names):
        return names[n - 1]
    if language == "pl":
        return f"{n}."
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def window_words(window: Window, calendar: BusinessCalendar, check_times: Sequence[time], language: str) -> str:
    """The promise of `window` as one sentence (no final full stop), e.g. 'tego samego dnia roboczego do 16:00,
    jeśli wiadomość przyjdzie w dzień roboczy przed 16:00; później — następnego dnia roboczego do 16:00'."""
    pl = language == "pl"
    start, end = clock(calendar.start, language), clock(calendar.end, language)
    if window.kind == HOURS:
        n = window.count
        if pl:
            unit = plural_form(n, ("godziny roboczej", "godzin roboczych", "godzin roboczych"))
            return (f"w ciągu {n} {unit}; liczą się tylko godziny pracy, od {start} do {end} w dni robocze, "
                    f"więc dla wiadomości, która przyjdzie o {end} lub później albo w dzień wolny, czas liczy "
                    f"się od {start} najbliższego dnia roboczego")
        unit = "business hour" if n == 1 else "business hours"
        return (f"within {n} {unit}; only working hours count, {start} to {end} on business days, so for a "
                f"message that arrives at {end} or later, or on a day off, the time counts from {start} on the next "
                "business day")
    if window.kind == DAYS and window.count == 0:
        if pl:
            return (f"tego samego dnia roboczego do {end}, jeśli wiadomość przyjdzie w dzień roboczy przed {end}; "
                    f"wiadomość, która przyjdzie później lub w dzień wolny — do {end} najbliższego dnia roboczego")
        return (f"the same business day, by {end}, for a message that arrives on a business day before {end}; "
                f"one that arrives later or on a day off, by {end} on the next business day")
    if window.kind == DAYS:
        n = window.count
        if pl:
            days = "1 dnia roboczego" if n == 1 else f"{n} dni roboczych"
            which = "następnego dnia roboczego" if n == 1 else f"{_ordinal(n, language)} dnia roboczego"
            return (f"w ciągu {days}: do {end} {which} po dniu, w którym wiadomość przyszła; wiadomość, "
                    f"która przyjdzie o {end} lub później albo w dzień wolny, liczy się jako otrzymana "
                    "w najbliższym dniu roboczym")
        days = "1 business day" if n == 1 else f"{n} business days"
        which = "the next business day" if n == 1 else f"the {_ordinal(n, language)} business day"
        return (f"within {days}: by {end} on {which} after the day the message arrives; a message that arrives "
                f"at {end} or later, or on a day off, counts as received on the next business day")
    if window.kind == NEXT_CHECK:
        slots = join([clock(t, language) for t in promised_check_times(calendar, check_times)], language)
        if pl:
            return f"przy najbliższym przeglądzie poczty po nadejściu wiadomości (w dni robocze o {slots})"
        return f"at the next mail check after the message arrives (on business days at {slots})"
    raise ValueError(f"unknown window kind {window.kind!r}")
