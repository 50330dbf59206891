"""The one place tests run the command line from: in-process (`run_cli`, `run_check`; `invoke` with its own
environment and stdin), or as a process of its own (`run_process`, `start_process`) where a crash, a signal
or a second copy is the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from mailtriage.cli.main import cli, main

if TYPE_CHECKING:
    from tests.conftest import Mailbox

REPO = Path(__file__).resolve().parent.parent


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """`mailtriage ARGS` in-process, as the console script runs it: the exit code, stdout, stderr."""
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_check(capsys: pytest.CaptureFixture[str], box: Mailbox, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """`mailtriage check --json` in-process; returns the exit code, one dict per message, stderr."""
    code, out, err = run_cli(capsys, "-c", box.rules, "check", "--json", *args)
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


def invoke(*args: str, env: dict[str, str | None] | None = None, input: str | None = None) -> Result:
    """The click command in-process with its own environment and stdin (no terminal, as under cron or a
    pipe); the mailtriage variables a developer may have set are taken away unless given."""
    base: dict[str, str | None] = {"MAILTRIAGE_IMAP_PASSWORD": None, "MAILTRIAGE_SMTP_PASSWORD": None,
                                   "MAILTRIAGE_CONFIG": None}
    return CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, input=input)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, with this checkout importable from any folder, and `extra`."""
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "mailtriage", *map(str, args)]


def run_process(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`mailtriage ARGS` in a process of its own, stdin closed (as under cron), its output captured."""
    return subprocess.run(command(*args), cwd=cwd, env=env or environment(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)


def start_process(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`mailtriage ARGS` started in a process of its own, its output in pipes; the caller waits for it."""
    return subprocess.Popen(command(*args), env=env or environment(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
