"""What users install is the wheel: built from a copy of this checkout, installed into a fresh venv,
run from a folder outside both, against the suite's own Dovecot and SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import IMAP_PASSWORD, REPO, SMTP_PASSWORD, Mailbox, needs_dovecot
from tests.servers import SmtpSink

# What a build needs from the checkout. The sources of the templates and the example rules.yaml
# are at the top; the package reaches them through symlinks, which the copy keeps as symlinks.
SOURCES = ("pyproject.toml", "README.md", "rules.yaml", "templates", "mailtriage")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=180, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with mailtriage installed from a freshly built wheel, and nothing else of ours."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    # Offline: the setuptools already installed builds it, the packages already installed satisfy it.
    run(sys.executable, "-m", "pip", "wheel", "--no-index", "--no-deps", "--no-build-isolation", "-q",
        "-w", root / "dist", ".", cwd=source)
    wheel = next((root / "dist").glob("mailtriage-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"mailtriage/example-rules.yaml", "mailtriage/templates/holding_reply.pl.txt.j2",
            "mailtriage/templates/summary.pl.txt.j2"} <= names
    shutil.rmtree(source)  # nothing of the checkout is left to be found by accident
    env = root / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", env, cwd=root)
    if sys.prefix != sys.base_prefix:  # the tests run in a venv: its packages are the ones to reuse
        inner = next(env.glob("lib/python*/site-packages"))
        (inner / "_reuse_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run(env / "bin" / "python", "-m", "pip", "install", "--no-index", "-q", f"{wheel}[demo]", cwd=root,
        env=clean_env())
    yield env


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything pointing Python at this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "MAILTRIAGE_CONFIG")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return {**env, **extra}


def test_the_wheel_carries_what_it_needs_and_runs_from_the_venv(venv: Path, tmp_path: Path) -> None:
    done = run(venv / "bin" / "python", "-c",
               "import mailtriage, mailtriage.resources as r, mailtriage.mail.templates as t; "
               "print(mailtriage.__file__); "
               "print(r.example_rules().splitlines()[0]); print(t.template_loader().list_templates())",
               cwd=tmp_path, env=clean_env())
    where, first, templates = done.stdout.splitlines()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    assert first.startswith("#")  # the commented example, not an empty stand-in
    assert "holding_reply.pl.txt.j2" in templates and "summary.en.html.j2" in templates
    assert not (Path(where).parent / "templates").is_symlink()  # real files, not links back to a checkout


@needs_dovecot
def test_the_installed_wheel_sends_a_holding_reply(venv: Path, tmp_path: Path, mailbox: Callable[..., Mailbox],
                                                   smtp: SmtpSink) -> None:
    box = mailbox()
    env = clean_env(MT_TEST_IMAP_PASSWORD=IMAP_PASSWORD, MT_TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    check = [venv / "bin" / "mailtriage", "-c", box.rules, "check", "--json"]
    run(*check, cwd=tmp_path, env=env)  # the baseline
    box.deliver(b"From: Zofia <zofia@piekarnia-krakow.pl>\r\nTo: kasia@example.com\r\n"
                b"Subject: Chleb\r\nMessage-ID: <wheel-1@piekarnia-krakow.pl>\r\n\r\nProsze.\r\n")
    done = run(*check, cwd=tmp_path, env=env)
    assert [(line["decision"], line["reply_to"]) for line in map(json.loads, done.stdout.splitlines())] == [
        ("reply", "zofia@piekarnia-krakow.pl")]
    [sent] = smtp.messages
    reply = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert sent.rcpt_tos == ["zofia@piekarnia-krakow.pl"]
    assert reply["Subject"] == "Re: Chleb" and reply["In-Reply-To"] == "<wheel-1@piekarnia-krakow.pl>"
    assert "Chleb" in reply.get_content()  # rendered from the Polish template the wheel carries
    assert reply["Content-Type"].params["charset"] == "utf-8"


@needs_dovecot
def test_the_demo_runs_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    done = run(venv / "bin" / "mailtriage", "demo", cwd=tmp_path, env=clean_env())
    assert done.stderr == ""
    assert "The SMTP server received 3 holding replies" in done.stdout
    assert "Subject: mailtriage: " in done.stdout
