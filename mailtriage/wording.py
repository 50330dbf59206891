"""Dates and times written for people, in Polish and English ("do wtorku 1 grudnia, 16:00")."""

from __future__ import annotations

from datetime import date, datetime

_PL_WEEKDAYS_GENITIVE = ("poniedziałku", "wtorku", "środy", "czwartku", "piątku", "soboty", "niedzieli")
_PL_WEEKDAYS_ACCUSATIVE = ("poniedziałek", "wtorek", "środę", "czwartek", "piątek", "sobotę", "niedzielę")
_PL_WEEKDAYS = ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")
_PL_MONTHS_GENITIVE = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
                       "września", "października", "listopada", "grudnia")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")


def day_text(day: date, language: str, *, today: date, until: bool = False, plain: bool = False) -> str:
    """'wtorek 1 grudnia' ('wtorku 1 grudnia' with `until`) / 'Tuesday 1 December'; the year only
    when it is not this year's. Polish needs the genitive after 'do' and the accusative after 'w'.

    Written by hand rather than with strftime, which depends on the machine's locale.
    """
    year = f" {day.year}" if day.year != today.year else ""
    if language == "pl":
        names = _PL_WEEKDAYS_GENITIVE if until else _PL_WEEKDAYS if plain else _PL_WEEKDAYS_ACCUSATIVE
        weekday = names[day.weekday()]
        return f"{weekday} {day.day} {_PL_MONTHS_GENITIVE[day.month - 1]}{year}"
    return f"{_EN_WEEKDAYS[day.weekday()]} {day.day} {_EN_MONTHS[day.month - 1]}{year}"


def deadline_text(deadline: datetime, language: str, *, today: date) -> str:
    """'do wtorku 1 grudnia, 16:00' / 'by Tuesday 1 December, 16:00'."""
    words = day_text(deadline.date(), language, today=today, until=True)
    return f"{'do' if language == 'pl' else 'by'} {words}, {deadline:%H:%M}"


def short_deadline(deadline: datetime) -> str:
    """'Tue 1 Dec 16:00': for log lines, always in English."""
    return f"{_EN_WEEKDAYS[deadline.weekday()][:3]} {deadline.day} {_EN_MONTHS[deadline.month - 1][:3]} " \
           f"{deadline:%H:%M}"


def when_text(instant: datetime, language: str, *, today: date) -> str:
    """'środa 2 grudnia, 16:00' / 'Wednesday 2 December, 16:00': a time in a list."""
    return f"{day_text(instant.date(), language, today=today, plain=True)}, {instant:%H:%M}"


def duration_text(seconds: float, language: str) -> str:
    """'3 days 2 h' / '3 dni 2 h', '2 h 10 min', '25 min'."""
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        unit = ("dzień" if days == 1 else "dni") if language == "pl" else ("day" if days == 1 else "days")
        return f"{days} {unit}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"
