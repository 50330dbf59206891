"""The systemd units: they parse, they reload and restart as promised, and the system unit is hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

UNITS = REPO / "systemd"


@pytest.mark.parametrize("name", ["mailtriage.service", "mailtriage-user.service"])
def test_units_promise_notify_reload_restart_watchdog_state_and_credentials(name: str) -> None:
    text = (UNITS / name).read_text()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "StateDirectory=mailtriage",
                 "LoadCredential=imap:", "LoadCredential=smtp:", "UMask=0077"):
        assert line in text, f"{name} lacks {line}"
    assert re.search(r"^WatchdogSec=\d+s$", text, re.M)
    assert re.search(r"^ExecStart=\S*mailtriage -c \S+/rules.yaml run$", text, re.M)


def test_the_system_unit_is_rated_ok_by_systemd_analyze_security() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNITS / "mailtriage.service")],
                          capture_output=True, text=True, check=False)
    found = re.search(r"Overall exposure level for mailtriage.service: ([\d.]+) (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0 and found.group(2) in ("OK", "SAFE", "PERFECT")


TEMPLATE = UNITS / "mailtriage@.service"


def test_the_template_unit_is_the_system_unit_per_instance() -> None:
    """mailtriage@NAME: its own rules file, state directory and secrets; everything else as the system unit."""
    text = TEMPLATE.read_text()
    assert re.search(r"^ExecStart=\S*mailtriage -c /etc/mailtriage/%i\.yaml run$", text, re.M)
    assert re.search(r"^ExecStartPre=\S*mailtriage -c /etc/mailtriage/%i\.yaml validate$", text, re.M)
    assert "StateDirectory=mailtriage/%i\n" in text
    assert "LoadCredential=imap:/etc/mailtriage/%i/imap.password" in text
    assert "LoadCredential=smtp:/etc/mailtriage/%i/smtp.password" in text

    def settings(unit: str) -> set[str]:
        return {line for line in unit.splitlines() if line and not line.startswith("#") and "%i" not in line
                and not line.startswith(("Description=", "ExecStart", "StateDirectory=", "LoadCredential="))}

    assert settings(text) == settings((UNITS / "mailtriage.service").read_text())  # hardened the same way


def _instance(tmp_path: Path, executable: str | None = None) -> str:
    """The template as instance `biuro` (systemd-analyze reads a file by its name), perhaps run by `executable`."""
    text = TEMPLATE.read_text()
    if executable is not None:
        text = text.replace("/usr/local/bin/mailtriage", executable)
    unit = tmp_path / "mailtriage@biuro.service"
    unit.write_text(text)
    return str(unit)


def test_an_instance_of_the_template_unit_verifies(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = _instance(tmp_path, shutil.which("true") or "/bin/true")
    done = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "biuro" not in done.stderr, done.stderr


def test_an_instance_of_the_template_unit_is_rated_ok_by_systemd_analyze_security(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", _instance(tmp_path)],
                          capture_output=True, text=True, check=False)
    found = re.search(r"Overall exposure level for mailtriage@biuro.service: ([\d.]+) (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0 and found.group(2) in ("OK", "SAFE", "PERFECT")
