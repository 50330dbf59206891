"""rules.yaml loading: the example works, and every mistake is reported as file:line: key: problem."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from mailtriage.config.model import Rules
from mailtriage.config.rulesfile import load
from mailtriage.decide.recipient import FormSenders
from mailtriage.errors import ConfigError
from tests.conftest import EXAMPLE, MINIMAL

Write = Callable[..., Path]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_the_example_rules_file_loads() -> None:
    rules = load(EXAMPLE)
    assert [c.name for c in rules.clients] == ["Acme", "Piekarnia", "Newsletters"]
    assert rules.timezone == "Europe/Warsaw"
    assert rules.imap.effective_port == 993


def test_database_path_is_relative_to_the_rules_file(write_rules: Write, tmp_path: Path) -> None:
    rules = load(write_rules(MINIMAL + "database: state/triage.db\n"))
    assert rules.database == (tmp_path / "state" / "triage.db").resolve()


def test_unknown_key_is_reported_with_its_line_and_a_suggestion(write_rules: Write) -> None:
    path = write_rules(MINIMAL + "clients:\n  - name: Acme\n    match:\n      domian: [acme.pl]\n")
    assert problems_of(path) == [
        f"{path}:10: clients[0].match: unknown key 'domian' (did you mean 'domains'?)"
    ]


def test_every_problem_is_reported_not_just_the_first(write_rules: Write) -> None:
    path = write_rules(MINIMAL.replace("Europe/Warsaw", "Europe/Warsw").replace('"12:00"', '"25:00"')
                       + "language: de\nbuisness_hours: {}\n")
    found = problems_of(path)
    assert found == [
        f"{path}:1: timezone: unknown time zone 'Europe/Warsw' (did you mean 'Europe/Warsaw'?)",
        f"{path}:2: check_times[1]: not a time of day: '25:00'; write HH:MM, e.g. \"08:00\" (quoted)",
        f"{path}:7: language: input should be 'pl' or 'en' (got 'de')",
        f"{path}:8: unknown key 'buisness_hours' (did you mean 'business_hours'?)",
    ]


@pytest.mark.parametrize(
    ("extra", "offset", "expected"),
    [
        ("business_hours: {start: '16:00', end: '08:00'}\n", 0, "business_hours: end must be later than start"),
        ("business_hours: {days: [mon, fry]}\n", 0, "business_hours.days[1]: input should be 'mon'"),
        ("away: [{from: 2026-08-14, to: 2026-08-03}]\n", 0, "away[0]: 'to' (2026-08-03) is before 'from'"),
        ("defaults: {respond_within: 2 businness days}\n", 0, "defaults.respond_within: not a window"),
        ("defaults: {respond_within: 0 business hours}\n", 0, "defaults.respond_within: business hours must be"),
        ("summary: {to: not-an-address}\n", 0, "summary.to: not an email address"),
        ("clients:\n  - {name: A, match: {}}\n", 1, "clients[0].match: matches nothing"),
        ("clients:\n  - {name: A}\n", 1, "clients[0]: missing required key 'match'"),
        ("holidays: {country: XX}\n", 0, "holidays.country: unknown country 'XX'"),
        ("holidays: {country: DE, subdivision: QQ}\n", 0, "holidays.subdivision: unknown subdivision 'QQ' of DE"),
        ("imap: foo\n", 0, "imap: should be a mapping of keys"),
        ("clients:\n  - {name: A, match: {domains: [a.pl]}, report_to: nobody}\n", 1,
         "clients[0].report_to: not an email address"),
        ("reports: weekly\n", 0, "reports: input should be 'monthly' or 'off'"),
        ("calendar: {alarm: 1 hour}\n", 0, "calendar: missing required key 'file'"),
        ("calendar: {file: d.ics, alarm: soon}\n", 0, "calendar.alarm: "),
        ("calendar: {file: d.ics, every: 1 hour}\n", 0, "calendar: unknown key 'every'"),
        ("reminders: {before: 2 business days}\n", 0, "reminders.before: write it as 'N business hours'"),
        ("reminders: {bfore: 2 business hours}\n", 0, "reminders: unknown key 'bfore' (did you mean 'before'?)"),
        ("reminders: {before: 2 business hours}\n", 0, "reminders: reminders go to summary.to"),
        ("overdue_notice: maybe\n", 0, "overdue_notice: input should be a valid boolean"),
        ("retention: {threads: 12 moons}\n", 0, "retention.threads: not a length of time to keep records"),
        ("retention: {threads: forever}\n", 0, "retention.threads: not a length of time to keep records: "
         "'forever'; write e.g. '12 months', '2 years', '90 days'; `retention: null` (at the top level) keeps "
         "records forever"),
        ("retention: {thread: 12 months}\n", 0, "retention: unknown key 'thread' (did you mean 'threads'?)"),
        ("clients:\n  - {name: A, match: {domains: [a.pl]}, retention: {threads: 0 months}}\n", 1,
         "clients[0].retention.threads: not a length of time"),
        ("store_subjects: sometimes\n", 0, "store_subjects: input should be a valid boolean"),
    ],
)
def test_each_kind_of_mistake_names_line_key_and_problem(write_rules: Write, extra: str, offset: int,
                                                         expected: str) -> None:
    key = extra.split(":")[0]
    base = "".join(line for line in MINIMAL.splitlines(keepends=True) if not line.startswith(key + ":"))
    path = write_rules(base + extra)
    line = len(base.splitlines()) + 1 + offset
    found = problems_of(path)
    assert any(p.startswith(f"{path}:{line}: {expected}") for p in found), found


def test_duplicate_names_and_overlapping_matches_are_refused(write_rules: Write) -> None:
    path = write_rules(MINIMAL + """\
clients:
  - {name: Acme, match: {domains: [acme.pl], addresses: [jan@x.pl]}}
  - {name: acme, match: {domains: [ACME.PL]}}
  - {name: Other, match: {addresses: [Jan@X.pl], patterns: ["*@y.pl"]}}
  - {name: Third, match: {patterns: ["*@y.pl"]}}
""")
    assert problems_of(path) == [
        f"{path}:9: clients[1].name: duplicate client name 'acme' (also clients[0])",
        f"{path}:9: clients[1].match.domains[0]: 'acme.pl' is matched by client 'Acme' too (clients[0]): "
        "it must be one client's",
        f"{path}:10: clients[2].match.addresses[0]: 'jan@x.pl' is matched by client 'Acme' too (clients[0]): "
        "it must be one client's",
        f"{path}:11: clients[3].match.patterns[0]: '*@y.pl' is matched by client 'Other' too (clients[2]): "
        "it must be one client's",
    ]


def test_inline_password_is_refused_and_never_echoed(write_rules: Write) -> None:
    path = write_rules(MINIMAL.replace("password_env: MT_TEST_IMAP", "password: hunter2-secret"))
    found = problems_of(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:5: imap: an inline password is refused")
    assert "hunter2" not in found[0]



def test_a_password_command_that_cannot_be_split_is_refused_without_running_it(
        write_rules: Write, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    command = f"touch {ran}; pass show 'mail"
    path = write_rules(MINIMAL.replace("password_env: MT_TEST_IMAP", f'password_command: "{command}"')
                       .replace("password_env: MT_TEST_SMTP", 'password_command: "  "'))
    assert problems_of(path) == [
        f"{path}:5: imap.password_command: cannot be split into words: no closing quotation; check its quotes "
        "(a quote inside a word needs \\' or the other kind of quote)",
        f"{path}:6: smtp.password_command: is empty: give the command that prints the password",
    ]
    assert not ran.exists()


def test_validate_refuses_an_unbalanced_password_command(write_rules: Write,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli import run_cli

    path = write_rules(MINIMAL.replace("password_env: MT_TEST_IMAP", 'password_command: "pass show \'mail"'))
    code, out, err = run_cli(capsys, "-c", path, "validate")
    assert code == 2
    assert out == "" and err == (f"{path}:5: imap.password_command: cannot be split into words: no closing "
                                 "quotation; check its quotes (a quote inside a word needs \\' or the other "
                                 "kind of quote)\n")


def test_a_duplicated_key_is_refused_without_showing_values(write_rules: Write) -> None:
    path = write_rules(MINIMAL + "timezone: secret-looking-value\n")
    assert problems_of(path) == [f"{path}:7: YAML syntax: duplicate key 'timezone' (first given at line 1)"]


def test_plain_text_transport_is_refused_for_a_remote_host(write_rules: Write) -> None:
    path = write_rules(MINIMAL.replace("host: 127.0.0.1, port: 1143", "host: imap.example.com, port: 143"))
    found = problems_of(path)
    assert len(found) == 1 and found[0].startswith(f"{path}:5: imap: security: none sends the password")


def test_one_password_source_exactly(write_rules: Write) -> None:
    path = write_rules(MINIMAL.replace("password_env: MT_TEST_SMTP", "password_file: /x, password_command: y"))
    assert problems_of(path) == [
        f"{path}:6: smtp: give exactly one of password_env, password_file or password_command "
        "(found password_file, password_command)"
    ]


def test_replies_need_an_smtp_section_unless_nothing_is_answered(write_rules: Write) -> None:
    no_smtp = "".join(x for x in MINIMAL.splitlines(keepends=True) if not x.startswith("smtp:"))
    assert "missing required key 'smtp'" in problems_of(write_rules(no_smtp))[0]
    assert load(write_rules(no_smtp + "defaults: {action: record}\n")).smtp is None


def test_next_check_window_needs_a_check_time_in_business_hours(write_rules: Write) -> None:
    path = write_rules(MINIMAL.replace('["08:00", "12:00", "16:00"]', '["06:00", "20:00"]')
                       + "defaults: {respond_within: next check}\n")
    assert problems_of(path) == [f"{path}:2: check_times: a 'next check' window needs a check time "
                                 "within business hours"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ":1: the file is empty"),
        ("- a\n- b\n", ":1: the top level must be a mapping"),
        ("timezone: [UTC\ncheck_times: 1\n", ":2: YAML syntax:"),
    ],
)
def test_unusable_files_get_one_clear_line(write_rules: Write, text: str, expected: str) -> None:
    path = write_rules(text)
    found = problems_of(path)
    assert len(found) == 1 and found[0].startswith(f"{path}{expected}")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"]


def test_every_problem_line_has_the_promised_shape(write_rules: Write) -> None:
    path = write_rules(MINIMAL + "summary: {to: x, at: '7', colour: red}\nclients: [{name: A, match: {}}]\n")
    for line in problems_of(path):
        assert re.fullmatch(rf"{re.escape(str(path))}:\d+: [\w.\[\]]+: .+", line), line


def test_the_database_path_may_name_systemds_state_directory(write_rules: Write, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    rules = load(write_rules(MINIMAL + "database: ${STATE_DIRECTORY}/mailtriage.db\n"))
    assert rules.database == tmp_path / "state" / "mailtriage.db"
    monkeypatch.delenv("STATE_DIRECTORY")  # run by hand on the server: the service's own folder
    expected = "/var/lib/mailtriage" if os.geteuid() == 0 else str(Path.home() / ".local/state/mailtriage")
    assert load(write_rules(MINIMAL + "database: ${STATE_DIRECTORY}/mailtriage.db\n")).database == Path(
        expected) / "mailtriage.db"
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = write_rules(MINIMAL + "database: ${NOT_SET_ANYWHERE}/mailtriage.db\n")
    assert problems_of(path) == [
        f"{path}:7: database: ${{NOT_SET_ANYWHERE}}/mailtriage.db: a variable in it is not set"]


def test_forms_are_accepted_at_the_top_level_and_in_a_client(write_rules: Write) -> None:
    rules = load(write_rules(MINIMAL + """\
forms: [NoReply@Site.example, "@formspree.io", wix.com]
clients:
  - {name: Piekarnia, match: {domains: [piekarnia.pl]}, forms: [formularz.piekarnia.pl]}
"""))
    assert rules.forms == ["noreply@site.example", "formspree.io", "wix.com"]
    assert rules.clients[0].forms == ["formularz.piekarnia.pl"]
    forms = FormSenders.from_rules(rules)
    assert forms.listing("noreply@www.formularz.piekarnia.pl") == ("formularz.piekarnia.pl", "Piekarnia")
    assert forms.listing("noreply@site.example") == ("noreply@site.example", None)
    assert forms.listing("other@site.example") is None


def test_a_bad_form_entry_is_reported_with_its_line(write_rules: Write) -> None:
    path = write_rules(MINIMAL + """\
forms:
  - noreply@site.example
  - not a domain
clients:
  - name: Acme
    match: {domains: [acme.pl]}
    forms: [formy@, {a: b}, 42]
""")
    assert problems_of(path) == [
        f"{path}:9: forms[1]: not a domain: 'not a domain' (write it like 'acme.pl', without '*' or '@')",
        f"{path}:13: clients[0].forms[0]: not an email address: 'formy@'",
        f"{path}:13: clients[0].forms[1]: should be a web form's address or domain, not a mapping",
        f"{path}:13: clients[0].forms[2]: should be a web form's address or domain, not 42",
    ]


def test_a_form_sender_belongs_to_one_client(write_rules: Write) -> None:
    path = write_rules(MINIMAL + """\
clients:
  - {name: A, match: {domains: [a.pl]}, forms: [site.example]}
  - {name: B, match: {domains: [b.pl]}, forms: [Site.Example]}
""")
    assert problems_of(path) == [
        f"{path}:9: clients[1].forms[0]: form sender 'site.example' is listed by client 'A' too (clients[0]): "
        "a form's relays belong to one client"]


def test_the_schema_describes_forms() -> None:
    schema = Rules.model_json_schema(by_alias=True, mode="validation")
    assert schema["properties"]["forms"]["items"]["examples"] == ["noreply@wix.com", "formspree.io"]
    assert "forms" in schema["$defs"]["Client"]["properties"]


def test_the_country_codes_read_from_the_holidays_registry_are_the_registrys_own() -> None:
    from holidays.registry import COUNTRIES

    from mailtriage.config.rulesfile import country_codes

    assert country_codes() == {entry[1] for entry in COUNTRIES.values()}


def test_an_idle_check_loads_no_template_engine_smtp_client_or_holidays() -> None:
    """What a check that finds nothing new needs: none of the reply machinery, no calendars."""
    import subprocess
    import sys

    code = ("import sys; import mailtriage.cli.main, mailtriage.app.check, mailtriage.config.rulesfile; "
            "print(sorted(m for m in ('jinja2', 'aiosmtplib', 'holidays', 'apscheduler', 'email.policy', "
            "'mailtriage.app.check.triage', 'mailtriage.mail.reply') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
def test_the_identity_is_parsed_once_into_address_name_and_domain(write_rules: Write) -> None:
    rules = load(write_rules(MINIMAL.replace('"Kasia Nowak <kasia@example.com>"', '"Kasia Nowak <Kasia@Example.COM>"')))
    identity = rules.identity
    assert (identity.address, identity.display_name, identity.name, identity.domain) == (
        "kasia@example.com", "Kasia Nowak", "Kasia Nowak", "example.com")
    assert identity.all_addresses == {"kasia@example.com"}
    bare = load(write_rules(MINIMAL.replace('"Kasia Nowak <kasia@example.com>"', "kasia@example.com")))
    assert (bare.identity.display_name, bare.identity.name) == ("", "kasia@example.com")


def test_a_report_needs_smtp_and_the_calendar_file_is_relative_to_the_rules(write_rules: Write,
                                                                             tmp_path: Path) -> None:
    no_smtp = "".join(line for line in MINIMAL.splitlines(keepends=True) if not line.startswith("smtp:"))
    path = write_rules(no_smtp + "defaults: {action: record}\nclients:\n"
                       "  - {name: A, match: {domains: [a.pl]}, report_to: biuro@a.pl}\n")
    assert problems_of(path) == [f"{path}:8: clients[0].report_to: a report is mailed over SMTP: add an smtp section"]
    rules = load(write_rules(MINIMAL + "calendar: {file: cal/deadlines.ics}\nreports: monthly\n"))
    assert rules.deadline_calendar is not None and rules.deadline_calendar.file == tmp_path / "cal" / "deadlines.ics"
    assert rules.deadline_calendar.alarm == timedelta(hours=1) and rules.reports == "monthly"


def test_the_schema_describes_reports_calendar_and_report_to() -> None:
    schema = Rules.model_json_schema(by_alias=True, mode="validation")
    assert "calendar" in schema["properties"] and "reports" in schema["properties"]
    assert "report_to" in schema["$defs"]["Client"]["properties"]
OAUTH2_BLOCK = ("oauth2:\n  provider: custom\n  client_id: mailtriage\n"
                "  device_authorization_url: https://login.example.org/device\n"
                "  token_url: https://login.example.org/token\n")


def test_oauth2_needs_no_password_and_its_token_file_defaults_beside_the_database(
        write_rules: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (MINIMAL.replace("password_env: MT_TEST_IMAP", "auth: oauth2")
            .replace("password_env: MT_TEST_SMTP", "auth: oauth2") + "database: state/m.db\n" + OAUTH2_BLOCK)
    rules = load(write_rules(text))
    assert rules.imap.auth == "oauth2" and rules.oauth2 is not None
    assert rules.oauth2.token_file == (tmp_path / "state" / "oauth2-tokens.json").resolve()
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "svc"))
    rules = load(write_rules(text + "  token_file: ${STATE_DIRECTORY}/t.json\n"))
    assert rules.oauth2 is not None and rules.oauth2.token_file == (tmp_path / "svc" / "t.json").resolve()
    rules = load(write_rules(text + "  token_file: tokens/t.json\n"))
    assert rules.oauth2 is not None and rules.oauth2.token_file == (tmp_path / "tokens" / "t.json").resolve()


def test_every_oauth2_mistake_has_its_line(write_rules: Write) -> None:
    imap_oauth2 = MINIMAL.replace("password_env: MT_TEST_IMAP", "auth: oauth2")
    block = imap_oauth2.count("\n") + 1  # the line of `oauth2:`
    path = write_rules(imap_oauth2)
    assert problems_of(path) == [f"{path}:5: imap.auth: auth: oauth2 needs an oauth2 block (provider, client_id; "
                                 "see README) or token_command"]
    path = write_rules(MINIMAL.replace("password_env: MT_TEST_IMAP", "auth: oauth2, password_env: X"))
    assert problems_of(path) == [f"{path}:5: imap: auth: oauth2 needs no password: remove password_env"]
    path = write_rules(MINIMAL.replace("password_env: MT_TEST_IMAP", "token_command: oama access me"))
    assert problems_of(path) == [f"{path}:5: imap: token_command needs auth: oauth2"]
    path = write_rules(imap_oauth2 + OAUTH2_BLOCK.replace("https://login.example.org/token",
                                                          "http://login.example.org/token"))
    assert problems_of(path) == [
        f"{path}:{block + 4}: oauth2.token_url: 'http://login.example.org/token': only https:// is allowed "
        "(http:// only to 127.0.0.1, ::1 or localhost): tokens never travel in clear text"]
    path = write_rules(imap_oauth2 + OAUTH2_BLOCK + "  client_secret: hunter2-secret\n")
    found = problems_of(path)
    assert found == [f"{path}:{block + 5}: oauth2: an inline client secret is refused: rules.yaml gets copied, "
                     "shared and backed up; use client_secret_env or client_secret_file"]
    path = write_rules(imap_oauth2 + "oauth2: {provider: microsoft, client_id: x, scopes: offline_access}\n")
    assert problems_of(path)[0].startswith(f"{path}:{block}: oauth2.scopes: input should be a valid list")
    path = write_rules(imap_oauth2 + "oauth2: {provider: google, client_id: x, token_url: https://a.example/t}\n")
    assert problems_of(path) == [f"{path}:{block}: oauth2: token_url is only for provider: custom (google has its own)"]
    path = write_rules(imap_oauth2 + "oauth2: {provider: custom, client_id: x, token_url: https://a.example/t}\n")
    assert problems_of(path) == [f"{path}:{block}: oauth2: provider custom needs token_url and "
                                 "device_authorization_url or authorization_url"]
    path = write_rules(imap_oauth2 + "oauth2: {provider: microsft, client_id: x}\n")
    assert problems_of(path)[0].startswith(f"{path}:{block}: oauth2.provider: input should be 'microsoft', 'google' or")
    path = write_rules(imap_oauth2 + "oauth2: {provider: microsoft, client_id: x, client_secret_env: A, "
                       "client_secret_file: /b}\n")
    assert problems_of(path) == [f"{path}:{block}: oauth2: give at most one of client_secret_env or client_secret_file"]


def test_validate_before_the_first_login_passes_and_warns(write_rules: Write, tmp_path: Path) -> None:
    from mailtriage.config.readiness import warnings

    text = (MINIMAL.replace("password_env: MT_TEST_IMAP", "auth: oauth2")
            .replace("password_env: MT_TEST_SMTP", "auth: oauth2") + OAUTH2_BLOCK)
    rules = load(write_rules(text))
    assert [w for w in warnings(rules, {}) if "oauth2" in w] == [
        f"oauth2: `mailtriage login` has not been run yet ({tmp_path / 'oauth2-tokens.json'}"
        " does not exist): run it once to sign in"]
