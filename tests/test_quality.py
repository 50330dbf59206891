"""The code stays as the style guide asks: lint-clean (ruff) and typed (mypy --strict)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("ruff", ["check", "mailtriage", "tests", "bench"]),
        ("mypy", ["mailtriage"]),
    ],
)
def test_the_code_passes(tool: str, args: list[str]) -> None:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]' installs it)")
    done = subprocess.run([sys.executable, "-m", tool, *args], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("module", ["run", "inprocess", "bare", "mailgen"])
def test_the_benchmarks_still_import(module: str) -> None:
    # bench/ is run by hand, not by the suite: an API it uses that went away must fail here first.
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, 'bench'); import {module}"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
