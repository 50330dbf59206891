"""Deterministic, realistic mail for the benchmarks: clients in threads, Polish encoded headers,
list mail, bounces, newsletters, and the replies that fill a Sent folder."""

from __future__ import annotations

import random
from collections.abc import Iterator
from email.header import Header

SUBJECTS = ["Faktura za listopad", "Zamówienie na środę", "Pytanie o ofertę", "Umowa — poprawki",
            "Invoice for November", "Meeting on Thursday", "Contract renewal", "Dostawa żółtych krzeseł"]
NAMES = ["Jan Kowalski", "Zofia Żyłka", "Łukasz Wiśniewski", "Anna Nowak", "Piotr Wójcik", "Mary Smith"]
BODY = "Dzień dobry,\r\n\r\nproszę o informację w tej sprawie.\r\n\r\nPozdrawiam\r\n" * 3


def _encoded(text: str) -> str:
    return Header(text, "utf-8").encode()


def message(i: int, kind: str, *, tag: str = "bench", rng: random.Random | None = None) -> bytes:
    """One message of a kind: client, reply (in a thread), list, bounce, newsletter."""
    rng = rng or random.Random(i)
    name, subject = rng.choice(NAMES), rng.choice(SUBJECTS)
    domain = f"client{i % 997}.example.pl"
    head = [f"Message-ID: <{tag}-{i}@{domain}>", "Date: Mon, 23 Nov 2026 10:00:00 +0100",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
            f"Received: from mx.{domain} by mail.example.com with ESMTPS id {i:08x}; Mon, 23 Nov 2026 10:00:01 +0100"]
    if kind == "list":
        head += [f"From: {_encoded(name)} <member{i}@lists.example.org>", "To: team@lists.example.org",
                 f"Subject: [team] {_encoded(subject)}", "List-Id: <team.lists.example.org>",
                 "List-Unsubscribe: <mailto:leave@lists.example.org>", "Precedence: list"]
    elif kind == "bounce":
        head += ["Return-Path: <>", "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>",
                 "To: kasia@example.com", "Subject: Undelivered Mail Returned to Sender",
                 "Auto-Submitted: auto-replied"]
        head[2:4] = ["MIME-Version: 1.0", "Content-Type: multipart/report; report-type=delivery-status; boundary=b"]
    elif kind == "newsletter":
        head += [f"From: Newsletter <news@shop{i % 50}.example.com>", "To: kasia@example.com",
                 f"Subject: {_encoded('Promocje tygodnia: ' + subject)}", "Precedence: bulk",
                 "List-Unsubscribe: <https://shop.example.com/u>"]
    else:
        head += [f"From: {_encoded(name)} <person{i}.{tag}@{domain}>", "To: Kasia Nowak <kasia@example.com>",
                 f"Subject: {_encoded(('Re: ' if kind == 'reply' else '') + subject)}"]
        if kind == "reply":
            head += [f"In-Reply-To: <{tag}-{i - 1}@{domain}>", f"References: <{tag}-{i - 1}@{domain}>"]
    return ("\r\n".join(head) + "\r\n\r\n" + BODY).encode()


MIX = ["client"] * 45 + ["reply"] * 15 + ["list"] * 20 + ["newsletter"] * 15 + ["bounce"] * 5


def mailbox(count: int, *, tag: str = "old", seed: int = 1) -> Iterator[bytes]:
    """`count` messages in the usual mix."""
    rng = random.Random(seed)
    for i in range(count):
        yield message(i, rng.choice(MIX), tag=tag, rng=rng)


def new_mail(count: int, *, tag: str, needing_reply: float = 0.6, seed: int = 2) -> list[bytes]:
    """Fresh mail from distinct people: about `needing_reply` of it should get a holding reply."""
    rng = random.Random(seed)
    kinds = ["client" if rng.random() < needing_reply else rng.choice(["list", "newsletter", "bounce"])
             for _ in range(count)]
    return [message(i, kind, tag=tag, rng=rng) for i, kind in enumerate(kinds)]


def sent_mail(count: int, *, answering: list[str] | None = None, tag: str = "sent", seed: int = 3) -> Iterator[bytes]:
    """Our own sent mail; with `answering`, replies to those Message-IDs first."""
    targets = answering or []
    for i in range(count):
        reply_to = targets[i] if i < len(targets) else f"<elsewhere-{seed}-{i}@client.example.pl>"
        yield (f"From: Kasia Nowak <kasia@example.com>\r\nTo: someone{i}@client.example.pl\r\n"
               f"Subject: Re: {_encoded('Odpowiedź na pytanie')}\r\nMessage-ID: <{tag}-{seed}-{i}@example.com>\r\n"
               f"In-Reply-To: {reply_to}\r\nReferences: {reply_to}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nW załączeniu.\r\n").encode()
