"""The one jinja2 environment: holding replies, notices of a moved deadline, the summary and reminders,
from the user's folder or the package.

Imported only where something is rendered, so commands that send nothing never load jinja2.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from mailtriage.config.model import Rules
from mailtriage.core.wording import hours_text, plural
from mailtriage.resources import PACKAGE

TemplateError = jinja2.TemplateError


def template_loader(own: Path | None = None) -> jinja2.BaseLoader:
    """The user's own template folder first (if any), then the templates shipped in the package."""
    # PackageLoader finds mailtriage/templates through the import system, as importlib.resources
    # does: the same for a wheel, a zip and an editable checkout, wherever the process runs from.
    shipped = jinja2.PackageLoader(PACKAGE, "templates")
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(own)), shipped]) if own else shipped


def environment(rules: Rules, language: str = "en") -> jinja2.Environment:
    """Templates with filters in `language`: `hours` (0,5 h), `percent`, `plural` ({{ n | plural("wątek",
    "wątki", "wątków") }} -> '5 wątków'). HTML templates (*.html.j2) are escaped, text ones are not; a
    missing value is an error, never an empty string; a template's last newline is kept."""
    env = jinja2.Environment(loader=template_loader(rules.templates), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["percent"] = lambda share: "–" if share is None else f"{share * 100:.0f}%"
    env.filters["hours"] = lambda value: hours_text(value, language)
    env.filters["plural"] = lambda n, *forms: plural(n, forms[0] if len(forms) == 1 else forms)
    # A subject in quotes after `before`; nothing at all when none is stored (store_subjects: false).
    marks = ("„", "”") if language == "pl" else ('"', '"')
    env.filters["quoted"] = lambda subject, before="": f"{before}{marks[0]}{subject}{marks[1]}" if subject else ""
    return env
