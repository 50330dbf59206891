"""The files the package ships besides code: the built-in templates (read by mail/templates.py) and the
commented example rules.yaml."""

from __future__ import annotations

from importlib.resources import files

PACKAGE = "mailtriage"


def example_rules() -> str:
    """The commented example rules.yaml, read from the installed package (a wheel carries a copy)."""
    return files(PACKAGE).joinpath("example-rules.yaml").read_text(encoding="utf-8")
