"""`mailtriage standards`: rules.yaml as the working-standards document a client gets with the contract.

The sentences are built here from the rules (windows in words by core/promises.py, days by core/wording.py);
the templates (standards.{txt,md,html}.j2) only lay them out, the same in every language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from mailtriage.config.model import Client, Rules
from mailtriage.core.businessdays import WEEKDAYS, BusinessCalendar
from mailtriage.core.promises import window_words
from mailtriage.core.windows import Window, deadline
from mailtriage.core.wording import clock, counted, day_text, deadline_text, join, moment_text, plural, weekdays_text

FORMATS = ("text", "markdown", "html")
_SUFFIX = {"text": "txt", "markdown": "md", "html": "html"}
AHEAD_DAYS = 365  # days off are listed for the next twelve months


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    language: str
    title: str
    subtitle: str
    sections: list[Section]

    def as_dict(self) -> dict[str, object]:
        return {"language": self.language, "title": self.title, "subtitle": self.subtitle,
                "sections": [{"title": s.title, "paragraphs": s.paragraphs, "items": s.items} for s in self.sections]}


def find_client(rules: Rules, name: str | None) -> Client | None:
    """The client called `name` (any case); None for no name; ValueError names the known ones."""
    if name is None:
        return None
    for client in rules.clients:
        if client.name.casefold() == name.casefold():
            return client
    known = ", ".join(c.name for c in rules.clients) or "none in rules.yaml"
    raise ValueError(f"no client {name!r} (known: {known})")


def language_of(rules: Rules, client: Client | None, given: str | None) -> str:
    """--language, else the client's, else the default (when not 'auto'), else the top-level language."""
    default = rules.defaults.language if rules.defaults.language in ("pl", "en") else None
    return given or (client.language if client else None) or default or rules.language


def holidays_ahead(rules: Rules, calendar: BusinessCalendar, today: date, language: str) -> list[tuple[date, str]]:
    """Public holidays of the next twelve months that fall on working weekdays, named in `language`
    when the holidays package has it, else in the country's own."""
    if rules.holidays.country is None:
        return []
    import holidays

    last = today + timedelta(days=AHEAD_DAYS)
    years = list(range(today.year, last.year + 1))
    country = holidays.country_holidays(rules.holidays.country, subdiv=rules.holidays.subdivision, years=years)
    wanted = {"pl": "pl", "en": "en_US"}[language]
    if wanted in getattr(country, "supported_languages", ()):
        country = holidays.country_holidays(rules.holidays.country, subdiv=rules.holidays.subdivision,
                                            years=years, language=wanted)
    return sorted((day, str(name)) for day, name in country.items()
                  if today <= day <= last and day.weekday() in calendar.weekdays)


def build(rules: Rules, client: Client | None, language: str, now: datetime) -> Document:
    """The whole document, in `language`, as of `now`."""
    calendar, today = rules.calendar(), now.astimezone(rules.tz).date()
    words = _Words(rules, calendar, language, today)
    pl = language == "pl"
    name = rules.identity.name
    title = "Standardy pracy z pocztą" if pl else "Working standards for email"
    subtitle = (f"{name} · {'klient:' if pl else 'for'} {client.name}" if client else name) + \
        f" · {day_text(today, language, today=date.min)}"
    return Document(language, title, subtitle, [
        words.reading(), words.answers(client), words.days_off(), words.handling(client), words.confidentiality()])


def render(document: Document, rules: Rules, form: str) -> str:
    """The document as text, markdown or HTML (A4, no external assets)."""
    from mailtriage.mail.templates import environment

    env = environment(rules, document.language)
    return env.get_template(f"standards.{_SUFFIX[form]}.j2").render(d=document).removesuffix("\n") + "\n"


class _Words:
    """The sentences of each section, in one language."""

    def __init__(self, rules: Rules, calendar: BusinessCalendar, language: str, today: date) -> None:
        self.rules, self.calendar, self.language, self.today = rules, calendar, language, today
        self.pl = language == "pl"

    def reading(self) -> Section:
        rules, lang = self.rules, self.language
        days = weekdays_text([WEEKDAYS.index(d) for d in rules.business_hours.days], lang)
        hours = f"{clock(rules.business_hours.start, lang)}–{clock(rules.business_hours.end, lang)}"
        checks = join([clock(t, lang) for t in sorted(rules.check_times)], lang)
        if self.pl:
            when = "codziennie, także w dni wolne" if rules.check_on_days_off else "w dni robocze"
            return Section("Kiedy czytam pocztę", [
                f"Dni robocze: {days}, w godzinach {hours}. Poczta jest przeglądana {when} o {checks}.",
                "Wszystkie godziny w tym dokumencie podane są według "
                + ("czasu polskiego (Europe/Warsaw)." if rules.timezone == "Europe/Warsaw" else
                   f"strefy czasowej {rules.timezone}.")])
        when = "every day, days off included" if rules.check_on_days_off else "on business days"
        return Section("When mail is read", [
            f"Business days: {days}, {hours}. Mail is checked {when} at {checks}.",
            "All times in this document are "
            + ("Polish time (Europe/Warsaw)." if rules.timezone == "Europe/Warsaw" else
               f"in the {rules.timezone} time zone.")])

    def answers(self, client: Client | None) -> Section:
        rules, lang = self.rules, self.language
        default = window_words(rules.defaults.respond_within, self.calendar, rules.check_times, lang)
        own = client.respond_within if client else None
        lines = []
        if client is None or own is not None:
            lines.append(f"Standardowo odpowiadam {default}." if self.pl else f"As a rule, I answer {default}.")
        if client is not None and client.action == "ignore":
            lines.append(f"Wiadomości od klienta {client.name} nie są objęte terminami odpowiedzi." if self.pl else
                         f"Messages from {client.name} are not covered by response times.")
            return Section("Jak szybko odpowiadam" if self.pl else "How fast you get an answer", lines)
        window = own or rules.defaults.respond_within
        if client is not None:
            words = window_words(window, self.calendar, rules.check_times, lang)
            lines.append(f"Na wiadomości od klienta {client.name} odpowiadam {words}." if self.pl else
                         f"I answer messages from {client.name} {words}.")
        lines.append("Przykłady:" if self.pl else "Examples:")
        return Section("Jak szybko odpowiadam" if self.pl else "How fast you get an answer", lines,
                       self.examples(window))

    def examples(self, window: Window) -> list[str]:
        """Worked examples computed by windows.deadline itself: a morning and a late arrival on the next
        business day, and one on the next day off (if there is one within two weeks)."""
        calendar, tz, lang = self.calendar, self.rules.tz, self.language
        day = calendar.next_business_day(self.today)
        opening, closing = calendar.opening(day), calendar.closing(day)
        quarter = (closing - opening) / 4
        arrivals = [opening + quarter, closing - min(timedelta(minutes=30), quarter)]
        off = next((self.today + timedelta(days=n) for n in range(1, 15)
                    if not calendar.is_business_day(self.today + timedelta(days=n))), None)
        if off is not None:
            arrivals.append(calendar.at(off, time(11, 0)))
        found = []
        for arrival in sorted(a.replace(second=0, microsecond=0) for a in arrivals):
            due = deadline(window, arrival, calendar, self.rules.check_times)
            received = moment_text(arrival.astimezone(tz), lang, today=self.today, role="on")
            answered = deadline_text(due, lang, today=self.today)
            found.append(f"wiadomość otrzymana {received} — odpowiedź {answered}" if self.pl else
                         f"a message received {received} — answered {answered}")
        return found

    def days_off(self) -> Section:
        lang, today = self.language, self.today
        last = today + timedelta(days=AHEAD_DAYS)
        label = "dzień wolny" if self.pl else "day off"
        dated = holidays_ahead(self.rules, self.calendar, today, lang) + [
            (d, label) for d in self.rules.holidays.extra if today <= d <= last]
        items = [f"{day_text(day, lang, today=today)} — {name}" for day, name in sorted(dated)]
        away = [a for a in self.rules.away if a.to >= today]
        paragraphs = []
        if self.pl:
            paragraphs.append("W te dni nie pracuję; terminy przesuwają się na najbliższy dzień roboczy."
                              if items else "W najbliższych dwunastu miesiącach nie ma dodatkowych dni wolnych.")
        else:
            paragraphs.append("On these days I do not work; deadlines move to the next business day."
                              if items else "There are no further days off in the next twelve months.")
        for a in away:
            since = day_text(a.from_, lang, today=today, role="from", bare=True)
            until = day_text(a.to, lang, today=today, role="until", bare=True)
            paragraphs.append(f"Planowana nieobecność: od {since} do {until}. Poczta jest w tym czasie nadal "
                              "przeglądana, a potwierdzenie podaje termin liczony od mojego powrotu." if self.pl else
                              f"Planned absence: from {since} to {until}. Mail is still checked meanwhile, and the "
                              "acknowledgement states a deadline counted from my return.")
        return Section("Dni wolne" if self.pl else "Days off", paragraphs, items)

    def handling(self, client: Client | None) -> Section:
        action = (client.action if client else None) or self.rules.defaults.action
        limit = self.rules.sender_limit
        title = "Co dzieje się z wiadomością" if self.pl else "What happens to a message"
        if action == "ignore":
            return Section(title, ["Te wiadomości nie są objęte terminami ani potwierdzeniami." if self.pl else
                                   "These messages have no deadline and no acknowledgement."])
        if action == "record":
            return Section(title, [
                "Każda wiadomość jest odnotowana z terminem odpowiedzi; nie wysyłam automatycznych potwierdzeń."
                if self.pl else "Every message is recorded with its deadline; no automatic acknowledgement is sent."])
        if self.pl:
            lines = ["Na każdą wiadomość, która wymaga odpowiedzi, w ciągu kilku minut od najbliższego przeglądu "
                     "poczty przychodzi krótkie automatyczne potwierdzenie z terminem, do którego odpowiem.",
                     "Automatycznych odpowiedzi, newsletterów ani wiadomości z list mailingowych nie potwierdzam."]
            if limit is not None:
                most = counted(limit.replies, ("potwierdzenie", "potwierdzenia", "potwierdzeń"), "pl")
                span = "godziny" if limit.hours == 1 else plural(limit.hours, ("godziny", "godzin", "godzin"))
                lines.append(f"Jeden nadawca dostaje najwyżej {most} "
                             f"w ciągu {span}; kolejne wiadomości "
                             "mają swoje terminy, ale bez ponownego potwierdzenia.")
            if self.rules.overdue_notice:
                lines.append("Jeśli nie zdążę odpowiedzieć w terminie, wysyłam wiadomość z przeprosinami "
                             "i nowym terminem, liczonym tak samo jak pierwszy.")
            return Section("Co dzieje się z wiadomością", lines)
        lines = ["Every message that needs an answer gets a short automatic acknowledgement within minutes of the "
                 "next mail check, stating the time by which I will answer.",
                 "Automatic replies, newsletters and mailing-list messages are not acknowledged."]
        if limit is not None:
            span = "an hour" if limit.hours == 1 else plural(limit.hours, ("hour", "hours"))
            most = counted(limit.replies, ("acknowledgement", "acknowledgements"), "en")
            lines.append(f"One sender gets at most {most} "
                         f"within {span}; later messages keep their deadlines "
                         "without another acknowledgement.")
        if self.rules.overdue_notice:
            lines.append("If I cannot answer by the deadline, I send an apology with a new deadline, counted the "
                         "same way as the first.")
        return Section("What happens to a message", lines)

    def confidentiality(self) -> Section:
        database = self.rules.database.name
        if self.pl:
            return Section("Poufność", [
                "Program, który pilnuje terminów, zapisuje wyłącznie nagłówki wiadomości: nadawcę, temat, datę "
                "i identyfikator. Treści wiadomości ani załączników nie pobiera i nie przechowuje.",
                f"Zapisy są w jednym pliku bazy danych ({database}) na moim serwerze i nie są nikomu przekazywane. "
                "Program niczego nie usuwa sam: zapisy są przechowywane, dopóki ich nie usunę."])
        return Section("Confidentiality", [
            "The program that keeps the deadlines stores message headers only: sender, subject, date and "
            "identifier. It neither downloads nor stores message bodies or attachments.",
            f"The records are kept in one database file ({database}) on my server and are passed to no one. "
            "The program deletes nothing by itself: records are kept until I delete them."])

