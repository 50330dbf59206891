"""Words for people, in Polish and English: dates with the right preposition and case, plurals,
lists, decimals, and the one short format every time is shown in ("Mon 30 Nov 16:00").

Written by hand rather than with strftime or babel: strftime depends on the machine's locale, and
the Polish prepositions (w/we, z/ze) and cases are exactly what a locale library does not do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_PL_WEEKDAYS = ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")
_PL_WEEKDAYS_GENITIVE = ("poniedziałku", "wtorku", "środy", "czwartku", "piątku", "soboty", "niedzieli")
_PL_WEEKDAYS_ACCUSATIVE = ("poniedziałek", "wtorek", "środę", "czwartek", "piątek", "sobotę", "niedzielę")
# 'we' and 'ze' stand where the plain form would be hard to say: we wtorek, we środę, ze środy.
_PL_ON = ("w", "we", "we", "w", "w", "w", "w")
_PL_FROM = ("z", "z", "ze", "z", "z", "z", "z")
_PL_MONTHS_GENITIVE = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
                       "września", "października", "listopada", "grudnia")
_PL_WEEKDAYS_SHORT = ("pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz.")
_PL_MONTHS_SHORT = ("sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_EN_PREPOSITIONS = {"on": "on", "from": "from", "until": "until", "by": "by", "to": "to"}
# Polish: the preposition for each role, and the case of the day name it governs.
_PL_CASES = {"on": _PL_WEEKDAYS_ACCUSATIVE, "from": _PL_WEEKDAYS_GENITIVE, "until": _PL_WEEKDAYS_GENITIVE,
             "by": _PL_WEEKDAYS_GENITIVE, "to": _PL_WEEKDAYS_ACCUSATIVE}
NO_CLIENT = {"pl": "bez klienta", "en": "no client"}  # a sender no client matched, in a list of threads
OTHER_SENDERS = {"pl": "pozostali nadawcy", "en": "other senders"}  # their row in per-client figures


def plural(n: int, forms: Sequence[str]) -> str:
    """'1 wątek', '2 wątki', '5 wątków' (three Polish forms) / '1 thread', '2 threads' (two English)."""
    return f"{n} {plural_form(n, forms)}"


_NUMBER_WORDS = {
    "pl": ("jedno", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć", "dziesięć"),  # neuter
    "en": ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
}


def counted(n: int, forms: Sequence[str], language: str) -> str:
    """`plural` with the number in words from 1 to 10: 'jedno potwierdzenie', 'two acknowledgements'
    (Polish: the neuter forms, for nouns such as 'potwierdzenie')."""
    if 1 <= n <= 10:
        return f"{_NUMBER_WORDS[language][n - 1]} {plural_form(n, forms)}"
    return plural(n, forms)


def plural_form(n: int, forms: Sequence[str]) -> str:
    """The word alone: Polish takes the 2–4 form after 2, 3, 4, 22, 23, 24 … but not after 12–14."""
    n = abs(n)
    if n == 1:
        return forms[0]
    if len(forms) == 2:
        return forms[1]
    few = n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14)
    return forms[1] if few else forms[2]


def join(items: Sequence[str], language: str) -> str:
    """'a, b i c' / 'a, b and c'."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {'i' if language == 'pl' else 'and'} {items[-1]}"


def decimal(value: float, digits: int, language: str) -> str:
    """'0,5' in Polish, '0.5' in English."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "pl" else text


def clock(value: time | datetime, language: str) -> str:
    """'8:00' in Polish prose (no leading zero), '08:00' in English."""
    return f"{value.hour}:{value.minute:02d}" if language == "pl" else f"{value.hour:02d}:{value.minute:02d}"


def day_text(day: date, language: str, *, today: date, role: str | None = None, bare: bool = False) -> str:
    """A day as words, in the form `role` needs, with its preposition:
    'we wtorek 1 grudnia' (role 'on'), 'ze środy 2 grudnia' ('from'), 'do wtorku 1 grudnia' ('until',
    'by'), 'na czwartek 3 grudnia' ('to'); `bare` leaves the preposition out ('wtorku 1 grudnia');
    without a role the plain 'środa 2 grudnia'. The year only when it is not this year's."""
    year = f" {day.year}" if day.year != today.year else ""
    weekday = day.weekday()
    if language == "pl":
        names = _PL_CASES[role] if role else _PL_WEEKDAYS
        words = f"{names[weekday]} {day.day} {_PL_MONTHS_GENITIVE[day.month - 1]}{year}"
        preposition = {"on": _PL_ON[weekday], "from": _PL_FROM[weekday], "to": "na"}.get(role or "", "do")
        return f"{preposition} {words}" if role and not bare else words
    words = f"{_EN_WEEKDAYS[weekday]} {day.day} {_EN_MONTHS[day.month - 1]}{year}"
    return f"{_EN_PREPOSITIONS[role]} {words}" if role and not bare else words


def moment_text(instant: datetime, language: str, *, today: date, role: str | None = None) -> str:
    """'do wtorku 1 grudnia, godz. 16:00' / 'by Tuesday 1 December, 16:00': a day and a time in prose."""
    hour = f"godz. {clock(instant, language)}" if language == "pl" else clock(instant, language)
    return f"{day_text(instant.date(), language, today=today, role=role)}, {hour}"


def deadline_text(deadline: datetime, language: str, *, today: date) -> str:
    """'do wtorku 1 grudnia, godz. 16:00' / 'by Tuesday 1 December, 16:00'."""
    return moment_text(deadline, language, today=today, role="by")


def moved_text(old: datetime, new: datetime, language: str, *, today: date) -> str:
    """'ze środy 2 grudnia, godz. 16:00 na czwartek 3 grudnia, godz. 16:00' / 'from … to …'."""
    since, to = (moment_text(day, language, today=today, role=role) for day, role in ((old, "from"), (new, "to")))
    return f"{since} {to}"


def when(instant: datetime, tz: ZoneInfo, now: datetime, language: str = "en") -> str:
    """The one short format of a time shown to people: 'Mon 30 Nov 16:00' / 'pon. 30 lis 16:00' in
    `tz`, with the year when it is not this year."""
    local = instant.astimezone(tz)
    year = f" {local.year}" if local.year != now.astimezone(tz).year else ""
    if language == "pl":
        day, month = _PL_WEEKDAYS_SHORT[local.weekday()], _PL_MONTHS_SHORT[local.month - 1]
    else:
        day, month = _EN_WEEKDAYS[local.weekday()][:3], _EN_MONTHS[local.month - 1][:3]
    return f"{day} {local.day} {month}{year} {local:%H:%M}"


def duration_text(seconds: float, language: str) -> str:
    """'3 days 2 h' / '3 dni 2 h', '2 h 10 min', '25 min'."""
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        unit = plural_form(days, ("dzień", "dni", "dni") if language == "pl" else ("day", "days"))
        return f"{days} {unit}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"


def hours_text(value: float | None, language: str) -> str:
    """'1,5 h' / '1.5 h'; '–' when there is nothing to measure."""
    return "–" if value is None else f"{decimal(value, 1, language)} h"


def weekdays_text(days: Sequence[int], language: str) -> str:
    """Working days (Monday is 0) in words: 'od poniedziałku do piątku' / 'Monday to Friday' for a run of
    three or more, else a list: 'poniedziałek, środa i piątek' / 'Monday, Wednesday and Friday'."""
    ordered = sorted(set(days))
    if len(ordered) == 7:
        return "codziennie" if language == "pl" else "every day"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        if language == "pl":
            return f"od {_PL_WEEKDAYS_GENITIVE[ordered[0]]} do {_PL_WEEKDAYS_GENITIVE[ordered[-1]]}"
        return f"{_EN_WEEKDAYS[ordered[0]]} to {_EN_WEEKDAYS[ordered[-1]]}"
    return join([(_PL_WEEKDAYS if language == "pl" else _EN_WEEKDAYS)[d] for d in ordered], language)


_PL_MONTHS = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień", "wrzesień",
              "październik", "listopad", "grudzień")


def month_text(year: int, month: int, language: str) -> str:
    """'listopad 2026' / 'November 2026': a month as the title of a report."""
    return f"{(_PL_MONTHS if language == 'pl' else _EN_MONTHS)[month - 1]} {year}"


def date_text(day: date, language: str) -> str:
    """'29 listopada 2026 r.' / '29 November 2026': a date in a letter."""
    if language == "pl":
        return f"{day.day} {_PL_MONTHS_GENITIVE[day.month - 1]} {day.year} r."
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"
