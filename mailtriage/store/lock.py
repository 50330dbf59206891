"""One check at a time per database: an OS file lock that dies with its process.

A row in the database could be left behind by `kill -9`; a `flock` cannot: the kernel drops it
when the process ends, however it ends. The lock file sits beside the database and holds the
pid of the check that runs, so the one that waits can say who it waits for.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailtriage.errors import MailtriageError


class CheckRunning(MailtriageError):
    """Another check holds the database; this one did not wait any longer."""

    exit_code = 75  # EX_TEMPFAIL: try again later


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def one_check(database: Path, wait: float = 30.0) -> Iterator[None]:
    """Hold the check lock of `database`, waiting up to `wait` seconds for another check to end."""
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        give_up = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                    raise CheckRunning(f"another check is running on {database} (pid {holder}); it was not "
                                       f"finished after {wait:.0f} s: try again when it ends") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
