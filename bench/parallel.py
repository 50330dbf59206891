"""`python bench/parallel.py -c rules.yaml check`: mailtriage's CLI with the number of accounts checked at
once (app/accounts.PARALLEL, 4) taken from MAILTRIAGE_BENCH_PARALLEL, for bench/accounts.py --sweep.

The package is not changed: this wrapper sets check_accounts' default before the CLI runs.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailtriage.app import accounts  # noqa: E402
from mailtriage.cli.main import main  # noqa: E402

defaults = accounts.check_accounts.__kwdefaults__
assert defaults is not None and "parallel" in defaults
defaults["parallel"] = int(os.environ["MAILTRIAGE_BENCH_PARALLEL"])
main()
