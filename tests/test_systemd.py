"""The systemd units: they parse, they reload and restart as promised, and the system unit is hardened."""

from __future__ import annotations

import re
import shutil
import subprocess

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
