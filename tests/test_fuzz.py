"""Thousands of generated header blocks through the real path: Dovecot -> fetch -> parse ->
classify -> store (a real SQLite file) -> SMTP. Whatever the bytes, every message is recorded
once and the folder's mark reaches the last UID: no message can stop triage."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli import run_check
from tests.conftest import Mailbox
from tests.servers import SmtpSink, fill_maildir
from tests.test_check import MONDAY_NOON, db, ready

NAMES = [b"From", b"To", b"Cc", b"Reply-To", b"Sender", b"Subject", b"Message-ID", b"In-Reply-To", b"References",
         b"Date", b"Content-Type", b"Return-Path", b"Auto-Submitted", b"List-Id", b"Precedence", b"X-Mailer",
         b"X-Auto-Response-Suppress", b"Received", b"X-Spam-Status", b"Resent-To"]
ADDRESSES = [b"jan@acme.pl", b"Jan <jan@acme.pl>", "Jöhn <jdöe@mächine.example>".encode(), "jan@żółw.pl".encode(),
             b"dotty@dot.example.", b"=?utf-8?q?victim@third.example?= <attacker@evil.example>", b"<>",
             b"undisclosed-recipients:;", b"a@b, c@d, \"x, y\" <z@w>", b"kasia@example.com", b"@", b"<@>",
             b"\"unterminated <q@r>", b"noreply@shop.example", b"mailer_daemon@x.example"]
ENCODED = st.builds(lambda charset, kind, text: b"=?" + charset + b"?" + kind + b"?" + text + b"?=",
                    st.sampled_from([b"utf-8", b"iso-8859-2", b"x-unknown", b"", b"utf-8*pl"]),
                    st.sampled_from([b"q", b"B", b"x"]),
                    st.binary(max_size=40).map(lambda b: b.replace(b"?=", b"")))
VALUE = st.one_of(
    st.sampled_from(ADDRESSES),
    ENCODED,
    st.binary(max_size=120),  # raw bytes: 8-bit, controls, bare CR or LF (a fold, or a broken line)
    st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(ENCODED, max_size=4).map(b" ".join),
    st.integers(min_value=1, max_value=12).map(lambda n: b"<" + b"x" * (n * 97) + b"@long.example>"),
    st.integers(min_value=1, max_value=30).map(lambda n: b"word " * (n * 40)),  # long values, folded or not
)
NAME = st.one_of(st.sampled_from(NAMES), st.binary(min_size=1, max_size=12).filter(
    lambda b: b":" not in b and b"\n" not in b and b"\r" not in b))
# Most blocks start like a person's mail, so the generated headers after them reach every stage
# (guards, matching, threads, the reply) instead of stopping at "no usable sender".
START = st.one_of(st.just(b""), st.builds(
    lambda n, domain: b"From: Osoba <osoba%d@%s>\r\nTo: kasia@example.com\r\n" % (n, domain),
    st.integers(min_value=0, max_value=10**6), st.sampled_from([b"firma.pl", b"acme.pl", "żółw.pl".encode()])))
BLOCK = st.builds(lambda start, items: start + b"".join(name + sep + value + b"\r\n" for name, value, sep in items)
                  + b"\r\nbody\r\n", START,
                  st.lists(st.tuples(NAME, VALUE, st.sampled_from([b": ", b":", b":\r\n "])), max_size=14))


@pytest.mark.slow
def test_no_header_block_can_stop_triage(
        capsys: pytest.CaptureFixture[str], mailbox: Callable[..., Mailbox], smtp: SmtpSink) -> None:
    box = ready(capsys, mailbox, "sender_limit: null\nflag_overdue: false\nrequire_addressed: false\n")
    delivered = itertools.count(1)
    total = 0

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.lists(BLOCK, min_size=15, max_size=30))
    def one_check(blocks: list[bytes]) -> None:
        nonlocal total
        fill_maildir(box.server, box.user, blocks, when=MONDAY_NOON.timestamp() + next(delivered))
        total += len(blocks)
        code, lines, err = run_check(capsys, box)
        assert code == 0, err
        assert len(lines) == len(blocks)
        conn = db(box)
        assert conn.execute("SELECT last_uid FROM folders WHERE name = 'INBOX'").fetchone()[0] == total
        assert conn.execute("SELECT count(*) FROM messages WHERE folder = 'INBOX'").fetchone()[0] == total

    one_check()
    assert total >= 1000  # thousands of blocks, in about a hundred checks
    received = [rcpt for message in smtp.messages for rcpt in message.rcpt_tos]
    odd = [rcpt for rcpt in received if "@" not in rcpt or "=?" in rcpt or "<" in rcpt]
    assert odd == []  # named, so that a rare random find shows what it was
    broken = db(box).execute("SELECT count(*) FROM messages WHERE guard = 'broken'").fetchone()[0]
    print(f"{total} generated header blocks, {len(received)} holding replies, {broken} recorded as broken")
