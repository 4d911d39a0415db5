"""The import rules hold: ``lint-imports`` keeps every contract of setup.cfg.

``control`` (but its command line, the composition root) imports no edge, ``web``
imports no worker, ``dashboard`` neither ``web`` nor ``workers``. ``make lint`` runs
the same check; this test makes ``make test`` fail on a violation too.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_contracts_are_declared() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    contracts = {
        section.split(":", 2)[2]: config[section]
        for section in config.sections()
        if section.startswith("importlinter:contract:")
    }
    assert contracts["domain"]["source_modules"].split() == ["control"]
    assert set(contracts["domain"]["forbidden_modules"].split()) == {"web", "workers", "dashboard"}
    # only the command line may import the edges
    ignored = contracts["domain"]["ignore_imports"].split("\n")
    assert all(line.strip().startswith("control.cli.") for line in ignored if line.strip())
    assert contracts["web"]["forbidden_modules"].split() == ["workers"]
    assert set(contracts["dashboard"]["forbidden_modules"].split()) == {"web", "workers"}


def test_lint_imports_keeps_every_contract() -> None:
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
