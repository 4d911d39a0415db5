"""``python -m workers``: ``dramatiq workers.broker:setup workers`` with the Procfile's
options."""

from __future__ import annotations

import sys

from dramatiq.cli import main as dramatiq_main

ARGS = [
    "workers.broker:setup",
    "workers",
    "--processes",
    "2",
    "--threads",
    "4",
    "--worker-shutdown-timeout",
    "25000",
]

if __name__ == "__main__":
    sys.argv = ["dramatiq", *ARGS, *sys.argv[1:]]
    sys.exit(dramatiq_main())  # type: ignore[no-untyped-call]  # dramatiq's CLI is untyped
