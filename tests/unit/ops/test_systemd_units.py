"""The shipped systemd units, checked by systemd itself (``systemd-analyze verify``/``security``).

The units name binaries under ``/opt/data-collector``; where that install path is absent
(a developer machine, CI) each unit is copied with that one prefix pointed at a scratch
directory of stub executables, so verify checks everything else as written: directives,
specifiers, ExecStart binaries, dependencies. A warning (an unknown key, a bad value)
fails the test, not only verify's exit code (it exits 0 on "ignoring" warnings).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UNITS = REPO / "ops" / "systemd"
INSTALL = "/opt/data-collector"
BINARIES = ("gunicorn", "dramatiq", "dcctl")
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
# `systemd-analyze security` exposure, in tenths (0 best .. 100 worst, as its --threshold
# takes it); the units were measured at 1.8 "OK"
MAX_EXPOSURE = 20


@pytest.fixture(scope="module")
def unit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("systemd")
    install = Path(INSTALL)
    if not all((install / ".venv" / "bin" / name).exists() for name in BINARIES):
        install = root / "install"
        (install / ".venv" / "bin").mkdir(parents=True)
        for name in BINARIES:
            stub = install / ".venv" / "bin" / name
            stub.write_text("#!/bin/sh\nexit 0\n")
            stub.chmod(0o755)
    units = root / "units"
    units.mkdir()
    for unit in UNITS.iterdir():
        (units / unit.name).write_text(unit.read_text().replace(INSTALL, str(install)))
    return units


def _analyze(unit_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANALYZE, *args], cwd=unit_dir, capture_output=True, text=True, timeout=60, check=False
    )


def _names() -> list[str]:
    names = [p.name for p in sorted(UNITS.iterdir()) if "@." not in p.name]
    return [*names, "dc-agent@ingest.service"]  # the template, as one instance


@pytest.mark.parametrize("unit", _names())
def test_systemd_verify_accepts_the_unit_without_a_warning(unit_dir: Path, unit: str) -> None:
    result = _analyze(unit_dir, "verify", "--man=no", unit)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert result.stdout.strip() == "", result.stdout


@pytest.mark.parametrize("unit", [n for n in _names() if n.endswith(".service")])
def test_every_service_keeps_its_hardening(unit_dir: Path, unit: str) -> None:
    result = _analyze(unit_dir, "security", "--offline=yes", f"--threshold={MAX_EXPOSURE}", unit)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def _exec_start(unit: str) -> str:
    lines = (UNITS / unit).read_text().splitlines()
    return next(line for line in lines if line.startswith("ExecStart="))


def test_the_single_agent_hosts_the_documented_groups() -> None:
    # DC_AGENT_GROUPS (README) decides; a --group on the command line would override it
    text = (UNITS / "dc-agent.service").read_text()
    assert "--group" not in _exec_start("dc-agent.service")
    assert "DC_AGENT_GROUP=" not in text
    assert "${DC_AGENT_GROUP}" not in text


def test_each_agent_instance_has_its_own_name_and_so_its_own_queue() -> None:
    command = _exec_start("dc-agent@.service")
    assert "--group %i" in command
    assert "--name %H-%i" in command


def test_the_workers_restart_on_any_exit() -> None:
    text = (UNITS / "dc-worker.service").read_text()
    assert "\nRestart=always\n" in text
