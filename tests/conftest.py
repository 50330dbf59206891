"""Shared fixtures: rules files written to a temporary folder, and the repository's own example."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "rules.yaml"

MINIMAL = """\
timezone: Europe/Warsaw
check_times: ["08:00", "12:00", "16:00"]
holidays: {country: PL}
identity: {from: "Kasia Nowak <kasia@example.com>", addresses: [kasia@example.com]}
imap: {host: 127.0.0.1, port: 1143, security: none, username: kasia, password_env: MT_TEST_IMAP}
smtp: {host: 127.0.0.1, port: 1025, security: none, username: kasia, password_env: MT_TEST_SMTP}
"""


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[[str], Path]:
    """Write a rules.yaml (dedented) into a fresh folder and return its path."""

    def write(text: str, name: str = "rules.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
