"""Passwords come from an environment variable, a file (systemd credentials) or a command; errors never show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config.credentials import password_source, read_password
from mailtriage.config.servers import Smtp
from mailtriage.errors import SecretError


def server(**source: str) -> Smtp:
    return Smtp(host="127.0.0.1", security="none", username="kasia", **source)


def test_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_PW", "s3cret")
    assert read_password(server(password_env="MT_PW")) == "s3cret"
    monkeypatch.delenv("MT_PW")
    with pytest.raises(SecretError, match="MT_PW is not set"):
        read_password(server(password_env="MT_PW"))


def test_password_from_a_systemd_credentials_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "smtp").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    configured = server(password_file="${CREDENTIALS_DIRECTORY}/smtp")
    assert read_password(configured) == "s3cret"
    assert password_source(configured) == f"file {tmp_path}/smtp"


def test_an_unset_variable_in_the_file_path_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(SecretError, match="a variable in it is not set"):
        read_password(server(password_file="${CREDENTIALS_DIRECTORY}/smtp"))


def test_password_from_a_command_and_its_failure_hides_stdout() -> None:
    assert read_password(server(password_command="printf 's3cret\\n'")) == "s3cret"
    with pytest.raises(SecretError) as caught:
        read_password(server(password_command="sh -c 'echo s3cret; echo denied >&2; exit 3'"))
    assert "exited 3: denied" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_an_unsplittable_password_command_is_one_secret_error_line() -> None:
    unchecked = Smtp.model_construct(host="127.0.0.1", security="none", username="kasia",
                                     password_command="pass show 'mail", password_env=None, password_file=None)
    with pytest.raises(SecretError) as caught:
        read_password(unchecked)
    assert str(caught.value) == ("password_command cannot be split into words (no closing quotation): "
                                 "check its quotes in rules.yaml")
