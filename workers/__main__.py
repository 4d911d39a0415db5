"""``python -m workers``: the same as ``dramatiq workers`` with the Procfile's options."""

from __future__ import annotations

import sys

from dramatiq.cli import main as dramatiq_main

ARGS = ["workers", "--processes", "2", "--threads", "4", "--worker-shutdown-timeout", "25000"]

if __name__ == "__main__":
    sys.argv = ["dramatiq", *ARGS, *sys.argv[1:]]
    sys.exit(dramatiq_main())
