"""The demo that README's first command runs: real servers, real replies, threads on record."""

from __future__ import annotations

import pytest

from mailtriage.demo import MESSAGES, run_demo
from mailtriage.localservers import PrivateDovecot


def test_the_demo_answers_the_people_and_none_of_the_machines(
        dovecot: PrivateDovecot, capsys: pytest.CaptureFixture[str]) -> None:
    said: list[str] = []
    assert run_demo(said.append) == 3
    text = "\n".join(said)
    assert f"{len(MESSAGES)} messages arrive" in text
    assert "To: Jan Kowalski <jan.kowalski@acme.pl>" in text
    assert "Subject: Re: Zamówienie chleba na środę" in text
    assert "Pełną odpowiedź otrzymają Państwo do " in text
    out = capsys.readouterr().out
    assert "no reply: Auto-Submitted: auto-replied" in out
    assert "no reply: null Return-Path <>" in out
    assert text.count("\n  open ") + text.count("\n  overdue ") == 3  # a deadline may pass meanwhile
