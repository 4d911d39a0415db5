"""Stopping the Procfile's processes under honcho stops the Dramatiq workers cleanly.

honcho stops a process by signalling its whole process group, and Dramatiq's master
forwards the signal to its workers: each worker got two SIGTERMs and took the second as
"kill now" (``Killing worker process...``), leaving its message half done. The worker
line runs Dramatiq through ``ops/stop-once.sh``, so the master gets one SIGTERM and
its workers stop gracefully. The test runs the Procfile's own worker line.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import migrated_sqlite, server_env
from tests.waiting import wait_until

pytestmark = [pytest.mark.services]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
READY = "Worker process is ready for action."


def worker_line(name: str) -> str:
    lines = (REPO / "Procfile").read_text().splitlines()
    return next(line for line in lines if line.startswith(f"{name}:"))


@pytest.mark.parametrize("name", ["worker", "worker-long"])
def test_stopping_honcho_lets_the_dramatiq_workers_stop_gracefully(
    tmp_path: Path, name: str
) -> None:
    line = worker_line(name)
    procfile = tmp_path / "Procfile"
    procfile.write_text(line + "\n")
    processes = int(re.search(r"--processes (\d+)", line).group(1))  # type: ignore[union-attr]
    env = server_env(
        migrated_sqlite(tmp_path / "workers.sqlite3"),
        DC_RABBITMQ_URL=RABBITMQ_URL,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "-f", str(procfile), "-d", str(REPO), "start"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = wait_until(lambda: log.read_text().count(READY) >= processes, timeout=60)
        assert ready, log.read_text()[-3000:]
        honcho.send_signal(signal.SIGTERM)  # what Ctrl-C or a service manager does
        honcho.wait(timeout=30)
        output = log.read_text()
        assert output.count("Stopping worker process...") == processes, output[-3000:]
        assert "Killing worker process" not in output, output[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(honcho.pid, signal.SIGKILL)
        # Dramatiq runs in a process group of its own: its master's pid is in its log lines
        # (a failed run can leave it behind; a pid reused since is left alone)
        for pid in {int(p) for p in re.findall(r"\[PID (\d+)\]", log.read_text())}:
            with contextlib.suppress(OSError):
                if b"dramatiq" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
