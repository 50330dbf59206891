"""The CLI: thin commands, --json for scripts, one clear line and exit 2 for a bad rules.yaml."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from mailtriage.cli.main import cli
from tests.cli import run_cli as run
from tests.conftest import EXAMPLE, MINIMAL, REPO


def test_validate_summarises_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "validate")
    assert code == 0
    assert "OK" in out and "3 (Acme, Piekarnia, Newsletters)" in out and "08:00, 12:00, 16:00" in out
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "validate", "--json")
    data = json.loads(out)
    assert data["ok"] and data["clients"] == ["Acme", "Piekarnia", "Newsletters"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT(08|12|16):00:00\+0[12]:00", data["next_check"])


def test_validate_prints_every_problem_and_exits_2_without_traceback(
        capsys: pytest.CaptureFixture[str], write_rules: Callable[..., Path]) -> None:
    path = write_rules(MINIMAL + "langauge: pl\nclients: [{name: A, match: {domian: [a.pl]}}]\n")
    code, out, err = run(capsys, "-c", str(path), "validate")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{path}:7: unknown key 'langauge' (did you mean 'language'?)",
        f"{path}:8: clients[0].match: unknown key 'domian' (did you mean 'domains'?)",
    ]
    assert "Traceback" not in err


def test_validate_says_no_login_for_a_server_without_one_as_doctor_does(
        capsys: pytest.CaptureFixture[str], write_rules: Callable[..., Path]) -> None:
    from mailtriage.demo.rules import loopback_rules

    path = write_rules(loopback_rules(1143, 1025))  # the demo's SMTP: no username, no password
    code, out, _ = run(capsys, "-c", str(path), "validate")
    assert code == 0 and "  smtp: no login configured" in out.splitlines()
    assert "None" not in out and "imap password: environment variable MAILTRIAGE_IMAP_PASSWORD" in out


@pytest.mark.parametrize(
    ("args", "deadline"),
    [
        (["--received", "2026-11-30T12:30", "--window", "1 business day"], "2026-12-01T16:00:00+01:00"),
        (["--received", "2026-12-04T17:10", "--from", "orders@piekarnia-rynek.pl"], "2026-12-07T12:00:00+01:00"),
        (["--received", "2026-11-30T11:30:00Z", "--window", "same business day"], "2026-11-30T16:00:00+01:00"),
    ],
)
def test_deadline_json(capsys: pytest.CaptureFixture[str], args: list[str], deadline: str) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "deadline", *args, "--json")
    assert code == 0
    assert json.loads(out)["deadline"] == deadline


def test_deadline_json_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "deadline", "--received", "2026-11-30T12:30",
                       "--from", "a@acme.pl", "--json")
    assert json.loads(out) == {"received": "2026-11-30T12:30:00+01:00", "client": "Acme",
                               "window": "same business day", "deadline": "2026-11-30T16:00:00+01:00"}


def test_times_are_shown_one_way_and_json_carries_the_offset_of_timezone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "deadline", "--received", "2026-11-30T11:30:00Z",
                       "--window", "same business day")
    year = "" if datetime.now().year == 2026 else " 2026"  # the year is shown when it is not this year
    assert (code, out) == (0, f"due Mon 30 Nov{year} 16:00 (same business day for a message received "
                              f"Mon 30 Nov{year} 12:30)\n")
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "deadline", "--received", "2026-11-30T11:30:00Z",
                       "--window", "same business day", "--json")
    assert json.loads(out)["received"] == "2026-11-30T12:30:00+01:00"
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "validate")
    assert re.search(r"\n  next check:  (Mon|Tue|Wed|Thu|Fri) \d{1,2} [A-Z][a-z]{2}( \d{4})? (08|12|16):00\n", out)


def test_an_empty_database_says_so_in_one_line(capsys: pytest.CaptureFixture[str],
                                               write_rules: Callable[..., Path]) -> None:
    path = write_rules(MINIMAL + "database: state.db\n")
    assert run(capsys, "-c", str(path), "threads") == (0, "no threads in the last 30 days\n", "")
    assert run(capsys, "-c", str(path), "threads", "--state", "overdue", "--client", "acme") == \
        (0, "no threads in state overdue for client acme\n", "")
    assert run(capsys, "-c", str(path), "threads", "--json") == (0, "", "")
    assert run(capsys, "-c", str(path), "stats") == (0, "no threads in the last 30 days\n", "")
    assert run(capsys, "-c", str(path), "stats", "--json") == (0, "", "")
    code, out, _ = run(capsys, "-c", str(path), "status")
    assert code == 0 and "last check:  never\n  no folder checked yet\nnext check:  " in out


def test_deadline_usage_mistakes_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "-c", str(EXAMPLE), "deadline", "--received", "2026-11-30")[0] == 2
    code, _, err = run(capsys, "-c", str(EXAMPLE), "deadline", "--window", "2 weeks")
    assert code == 2 and "not a window" in err
    code, _, err = run(capsys, "-c", str(EXAMPLE), "deadline", "--received", "yesterday", "--window", "next check")
    assert code == 2 and "not a date or time" in err


def test_match_says_which_client_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "match", "Jan <jan.kowalski@GMAIL.com>")
    assert code == 0 and "Acme (address jan.kowalski@gmail.com)" in out
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "match", "x@substack.com", "--json")
    assert json.loads(out)["action"] == "ignore"


def test_schema_is_json_schema_of_every_top_level_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and schema["type"] == "object"
    for key in ("timezone", "language", "check_times", "business_hours", "holidays", "away", "identity",
                "imap", "smtp", "database", "summary", "defaults", "clients"):
        assert key in schema["properties"], key
    assert schema["additionalProperties"] is False


def test_python_dash_m_and_the_console_script_both_work() -> None:
    for command in ([sys.executable, "-m", "mailtriage"], [str(Path(sys.executable).parent / "mailtriage")]):
        if not Path(command[0]).exists():
            pytest.skip(f"{command[0]} is not installed")
        done = subprocess.run([*command, "-c", str(EXAMPLE), "validate"], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert re.search(rf"mailtriage (-c \S+ )?{name}\b", readme), f"README does not show `{name}`"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"```sh\n(.*?)\n```", readme.split("## Test", 1)[1], re.S)
    assert command, "README has a ## Test section with a sh block"
    assert command.group(1).strip() in ci


def test_commands_that_send_nothing_do_not_load_jinja2() -> None:
    """The template environment (mail/templates.py) is imported only where something is rendered."""
    code = ("import sys\nfrom mailtriage.cli.main import main\n"
            "import mailtriage.app.status, mailtriage.app.threads, mailtriage.app.answered, mailtriage.app.summary\n"
            "try:\n    main(['-c', sys.argv[1], 'validate'])\nexcept SystemExit:\n    pass\n"
            "print('jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, check=False,
                          cwd=REPO)
    assert done.stdout.splitlines()[-1] == "False", done.stderr


def test_the_readme_examples_hold(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert all(readme.count(f"\n{fence}") % 2 == 0 for fence in ("```",)), "a code block in README is not closed"
    assert readme.count("\n```") % 2 == 0 and "END:VEVENT\n```\n" in readme
    code, out, err = run(capsys, "-c", str(EXAMPLE), "deadline", "--received", "2026-12-23T16:30",
                         "--from", "jan.kowalski@gmail.com")
    assert code == 0 and out.startswith("due Mon 28 Dec 16:00 (same business day"), err
    assert "due Monday 28 December, 16:00" in readme
    code, out, err = run(capsys, "-c", str(EXAMPLE), "snooze", "1", "04/12/2026")
    assert code == 2 and "all-digit dates other than 2026-12-04 are refused as ambiguous" in err
    assert 'write 2026-12-04, 2026-12-04T12:00 or "4 Dec 12:00"' in err and "refused as ambiguous" in readme


def test_match_says_no_client_once_and_the_same_business_day_with_its_article(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "match", "nobody@example.org")
    assert out == ("nobody@example.org: no client matched, the defaults apply; action reply, within 2 business days, "
                   "language pl\n")
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "match", "jan.kowalski@gmail.com")
    assert ", within the same business day, language en\n" in out
