"""A deployment for the remote ``dcctl`` tests: a ``dcctl serve`` with an in-process agent
hosting ``tests/agent_apps.py``, its users and apps, and a user's shell around ``dcctl``.

Not a test module: the ``tests/integration/test_cli_remote*.py`` modules use it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from control.apps.models import Apps
from control.auth.api_keys import create_key
from control.auth.models import ApiKey, User
from control.db.database import connect_url, database
from control.enums import FatalFlag
from tests.agent_apps import AGENT_APPS
from tests.live_server import DCCTL, LiveServer, migrated_sqlite, server_env

REPO = Path(__file__).resolve().parents[1]
ADMIN, ADMIN_PASSWORD = "ops@example.com", "remote-cli-password-0123456789"
VIEWER, VIEWER_PASSWORD = "viewer@example.com", "remote-viewer-password-0123456789"
QUICK = {"entrypoint": "test.quick", "items": 3}
FAILING = {"entrypoint": "test.failing"}
# ``dcctl`` following the ``tail`` group's logs (``following``), one JSON object a line
FOLLOW_TAIL = ("logs", "query", "--app", "tail_*", "--follow", "--ndjson")
APPS: dict[str, dict[str, Any]] = {
    "fleet_quick": {"group": "fleet", "settings": QUICK},
    "fleet_failing": {"group": "fleet", "settings": FAILING},
    "fleet_blocked": {"group": "fleet", "settings": QUICK, "fatal_flag": FatalFlag.FATAL},
    "fleet_long": {"group": "fleet", "settings": {"entrypoint": "test.long", "items": 2000}},
    "fleet_reset": {"group": "fleet", "settings": QUICK, "fatal_flag": FatalFlag.FATAL},
    "other_quick": {"group": "other", "settings": QUICK},
    "tail_quick": {"group": "tail", "settings": QUICK},
    "bulk_ok": {"group": "bulk", "settings": QUICK},
    "bulk_broken": {"group": "bulk", "settings": QUICK},
    "bulk_disabled": {"group": "bulk", "settings": QUICK, "disabled": True},
}
# Stands in for a database fault while one app's command is written: the bulk job
# records that app as failed and goes on with the others.
BROKEN_TRIGGER = """
CREATE TRIGGER broken_command BEFORE INSERT ON command
WHEN NEW.app_id = 'bulk_broken' BEGIN SELECT json('not json'); END
"""


@dataclass
class Deployment:
    server: LiveServer
    database_url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A user's shell: no server settings, no DCCTL_* unless given, own config dir."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DC_", "DCCTL_"))}
        env.update(XDG_CONFIG_HOME=str(self.home / "config"), HOME=str(self.home))
        env.update(extra)
        return env

    def dcctl(
        self, *args: str, stdin: str | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCCTL), *args],
            input=stdin,
            env=self.env(**env),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def json(self, *args: str, **env: str) -> Any:
        result = self.dcctl(*args, "--json", **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def api_key(self, email: str) -> str:
        # create_key's write_transaction() uses the process-wide proxy: bind it for the
        # call (unbound in this test process unless an earlier test happened to bind it)
        db = connect_url(self.database_url)
        previous = database.obj
        database.initialize(db)
        try:
            with db.bind_ctx([User, ApiKey]):
                key = create_key(User.get(User.email == email), "cli test", None).key
        finally:
            database.initialize(previous)
            db.close()
        return key

    def profile_path(self) -> Path:
        return self.home / "config" / "dcctl" / "profiles.json"


def _seed(database_url: str, cwd: Path) -> None:
    for email, password, role in (
        (ADMIN, ADMIN_PASSWORD, "admin"),
        (VIEWER, VIEWER_PASSWORD, "viewer"),
    ):
        created = subprocess.run(
            [str(DCCTL), "user", "create", "--email", email, "--role", role, "--password-stdin"],
            input=password + "\n",
            env=server_env(database_url),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, created.stderr
    db = connect_url(database_url)
    with db.bind_ctx([Apps]):
        for app_id, fields in APPS.items():
            Apps.create(id=app_id, parent="cli", app=app_id, **fields)
    db.execute_sql(BROKEN_TRIGGER)
    db.close()


def read_lines(stream: IO[str], into: queue.Queue[str]) -> None:
    """A reader thread's loop: every line of ``stream`` into ``into``, until EOF."""
    for text in stream:
        into.put(text)


def wait_for_line(lines: queue.Queue[str], needle: str, within: float = 60) -> str:
    """The next line holding ``needle`` (lines before it are dropped)."""
    deadline = time.monotonic() + within
    while True:
        try:
            text = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no line with {needle!r} within {within}s") from None
        if needle in text:
            return text


@contextmanager
def following(
    deployment: Deployment, *args: str
) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str], queue.Queue[str]]]:
    """``dcctl *args`` (a ``--follow``) left running; yields (the process, its stdout lines,
    its stderr lines), each stream read into its queue by a thread. On exit, however the
    block ends: SIGINT, wait for the process (20 s), join the readers, close the pipes;
    its exit code is then the process's ``returncode``."""
    process = subprocess.Popen(
        [str(DCCTL), *args],
        env=deployment.env(),
        cwd=deployment.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    readers = [
        threading.Thread(target=read_lines, args=(stream, into), daemon=True)
        for stream, into in ((process.stdout, out), (process.stderr, err))
    ]
    for reader in readers:
        reader.start()
    try:
        yield process, out, err
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        for reader in readers:
            reader.join(timeout=10)  # EOF once the process is gone
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def deploy(tmp: Path, **server_env_extra: str) -> Iterator[Deployment]:
    """Migrate, seed, serve (``server_env_extra``: more ``DC_*``); yields while it runs."""
    url = migrated_sqlite(tmp / "db.sqlite3")
    _seed(url, tmp)
    extra = {
        "DC_AGENT_APPS": AGENT_APPS,
        "PYTHONPATH": str(REPO),  # the agent imports tests.agent_apps
        "DC_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
        "DC_RATE_LIMIT_PER_MINUTE": "10000",
        **server_env_extra,
    }
    with LiveServer(url, log_dir=tmp, extra_env=extra) as server:
        home = tmp / "home"
        home.mkdir()
        yield Deployment(server, url, home)
