"""One check as the daemon runs it: everything imported and the rules loaded beforehand, so only
the check itself is timed (the daemon pays the start-up once, not three times a day).

    python bench/inprocess.py RULES_YAML

Prints the seconds Check.run() took.
"""

import sys
import time
from datetime import UTC, datetime

from mailtriage.app.check import Check
from mailtriage.config.rulesfile import load
from mailtriage.mail.smtp import SmtpSession  # noqa: F401 - imported up front, as in the running daemon
from mailtriage.store.db import Store


def main() -> None:
    rules = load(sys.argv[1])
    import aiosmtplib  # noqa: F401

    store = Store(rules.database)
    start = time.perf_counter()
    Check(rules, store, datetime.now(UTC)).run()
    print(f"{time.perf_counter() - start:.6f}")
    store.close()


if __name__ == "__main__":
    main()
