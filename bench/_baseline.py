"""An earlier version of this code, served beside today's in one benchmark run.

A benchmark whose target was set on one machine ("2.7 ms of CPU a request") cannot be
checked on another by its absolute figure: the machines here differ by 1.5-2.7x on the
same code, and one machine drifts by a third within an hour. So the code the target was
measured on is checked out (``git worktree``, at a commit of this repository), given a
scratch database migrated and seeded by its own code, and served with this checkout's
virtualenv; the benchmark measures it and today's code in alternation with the same
client, and reports today's figure as a fraction of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import REPO_DIR, environment_with

# Seeds the baseline's database with the baseline's own code (its migrations, its models,
# its benchmark's rows) and prints the password of a user to log in as.
_SEED = """
import sys
from control.db import migrate
from control.db.database import init_database
import {module} as bench
from _common import create_bench_user
db = init_database(sys.argv[1])
migrate.upgrade(db)
db.close()
bench.seed(int(sys.argv[2]), int(sys.argv[3]))
print(create_bench_user(sys.argv[4]))
"""


@contextmanager
def baseline_tree(rev: str) -> Iterator[Path]:
    """This repository at ``rev`` in a temporary worktree; yields its path, always removes
    it. Needs the history (a clone, not an archive)."""
    with tempfile.TemporaryDirectory(prefix="dc-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO_DIR), "worktree", "add", "--detach", "-q", str(tree), rev],
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(REPO_DIR), "worktree", "remove", "--force", str(tree)],
                check=False,
            )


def baseline_env(tree: Path) -> dict[str, str]:
    """The environment that runs the baseline's code with this checkout's virtualenv."""
    return {"PYTHONPATH": f"{tree}{os.pathsep}{tree / 'bench'}"}


def seed_baseline(
    tree: Path, module: str, url: str, apps: int, seed: int, email: str, env: dict[str, str]
) -> str:
    """Migrate and seed ``url`` with the baseline's code (``bench/<module>.py``'s
    ``seed``); the password of the viewer ``email`` it creates."""
    done = subprocess.run(
        [sys.executable, "-c", _SEED.format(module=module), url, str(apps), str(seed), email],
        cwd=tree / "bench",
        env=environment_with(env | baseline_env(tree)),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding the baseline failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]
