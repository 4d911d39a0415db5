"""Run every benchmark in bench/ with ``--record`` (``make bench``).

A benchmark is a ``bench/*.py`` script whose name does not start with ``_`` (helpers)
and is not this runner. Each runs in its own process, one after another, so they do not
compete for the machine; extra arguments are passed to every script.

    .venv/bin/python bench/run_all.py [extra args for each script]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    """The benchmark scripts, by name."""
    return sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if not path.name.startswith("_") and path.name != Path(__file__).name
    )


def main(argv: list[str]) -> int:
    failed: list[str] = []
    for script in benchmarks():
        print(f"== {script.name}", flush=True)
        began = time.perf_counter()
        code = subprocess.run(
            [sys.executable, str(script), "--record", *argv], cwd=BENCH_DIR.parent, check=False
        ).returncode
        print(f"== {script.name}: exit {code} in {time.perf_counter() - began:.0f} s", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"results in {BENCH_DIR / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
