"""The files the package ships besides code: the built-in templates and the commented example rules.yaml."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import jinja2

PACKAGE = "mailtriage"


def example_rules() -> str:
    """The commented example rules.yaml, read from the installed package (a wheel carries a copy)."""
    return files(PACKAGE).joinpath("example-rules.yaml").read_text(encoding="utf-8")


def template_loader(own: Path | None = None) -> jinja2.BaseLoader:
    """The user's own template folder first (if any), then the templates shipped in the package."""
    # PackageLoader finds mailtriage/templates through the import system, as importlib.resources
    # does: the same for a wheel, a zip and an editable checkout, wherever the process runs from.
    shipped = jinja2.PackageLoader(PACKAGE, "templates")
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(own)), shipped]) if own else shipped
