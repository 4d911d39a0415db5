"""The real ``dcctl serve`` in a subprocess, for end-to-end tests (browser, WebSocket, agent).

Not a test module: import it from tests. Typical use::

    from tests.live_server import LiveServer, migrated_sqlite

    url = migrated_sqlite(tmp_path / "db.sqlite3")
    with LiveServer(url, log_dir=tmp_path) as server:
        httpx.get(f"{server.url}/api/v1/system/health")
        rc = server.stop()            # SIGTERM, wait up to 15 s
    assert "GET /api/v1/system/health" in server.stderr_text()

The public surface is small on purpose:

- ``server_env(database_url, **extra)``: the environment a child process gets. It starts
  from ``os.environ`` without any ``DC_*`` variable (the test session sets some of its own),
  then sets the required settings; ``extra`` adds or overrides ``DC_*`` names, and a value of
  ``None`` removes a name (``server_env(url, DC_JWT_SECRET=None)``).
- ``run_dcctl(*args, env=..., cwd=...)``: run one ``dcctl`` command to completion.
- ``migrated_sqlite(path)``: create a SQLite file, run ``dcctl db upgrade``, return its URL.
- ``LiveServer``: start ``dcctl serve`` on a free 127.0.0.1 port and wait for health;
  ``.url``, ``.process``, ``.stop()``, ``.stdout_path``/``.stderr_path`` and
  ``.stdout_text()``/``.stderr_text()``.

The child runs in its own process group (and working directory, so no stray ``.env`` is
read); whatever is left of it is killed when the ``with`` block ends or at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal as signals
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

DCCTL = Path(sys.executable).with_name("dcctl")
HEALTH_PATH = "/api/v1/system/health"
HOST = "127.0.0.1"
# 48 bytes: comfortably above the 32-byte minimum for HS256.
LIVE_SECRET = "live-server-signing-secret-0123456789-abcdefghij"

# Localhost never goes through a proxy, whatever HTTP(S)_PROXY says.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_running: set[LiveServer] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str | None = None, **extra: str | None) -> dict[str, str]:
    """The child's environment: no inherited ``DC_*``, the required settings, then ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("DC_")}
    env.update(
        {
            "DC_JWT_SECRET": LIVE_SECRET,
            "DC_API_HOST": HOST,
            "DC_ENVIRONMENT": "test",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url is not None:
        env["DC_DATABASE_URL"] = database_url
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_dcctl(
    *args: str,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``dcctl *args`` to completion (text output captured, no check)."""
    workdir = cwd if cwd is not None else tempfile.gettempdir()
    return subprocess.run(
        [str(DCCTL), *args],
        env=dict(env),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def migrated_sqlite(path: str | os.PathLike[str], **extra: str | None) -> str:
    """Create (or upgrade) the SQLite file at ``path`` with ``dcctl db upgrade``; its URL."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"  # absolute path: sqlite:////abs/path
    result = run_dcctl("db", "upgrade", env=server_env(url, **extra), cwd=path.parent)
    if result.returncode != 0:
        raise RuntimeError(
            f"dcctl db upgrade failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return url


class LiveServer:
    """``dcctl serve`` on a free port of 127.0.0.1, started and torn down by a ``with``.

    ``database_url`` must already be migrated (see ``migrated_sqlite``): ``serve`` refuses
    otherwise. ``extra_env`` is passed to ``server_env``. Output goes to
    ``<log_dir>/<name>.stdout.log`` and ``.stderr.log`` (log lines are on stderr).
    """

    def __init__(
        self,
        database_url: str,
        *,
        log_dir: str | os.PathLike[str],
        extra_env: Mapping[str, str | None] | None = None,
        name: str = "server",
        startup_timeout: float = 20.0,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.log_dir / f"{name}.stdout.log"
        self.stderr_path = self.log_dir / f"{name}.stderr.log"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = server_env(database_url, **{"DC_API_PORT": str(self.port), **(extra_env or {})})
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> LiveServer:
        """Start the process and return once health answers 200; raise (and kill) if not."""
        if self.process is not None:
            raise RuntimeError("LiveServer already started")
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [str(DCCTL), "serve"],
                env=self.env,
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # own process group: killpg reaches everything
            )
        _running.add(self)
        try:
            self._wait_healthy()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"dcctl serve exited with {code} before answering health:\n"
                    f"{self.stderr_text()[-4000:]}"
                )
            try:
                with _opener.open(self.url + HEALTH_PATH, timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(
            f"dcctl serve did not answer {HEALTH_PATH} within {self.startup_timeout}s "
            f"(last: {last_error}):\n{self.stderr_text()[-4000:]}"
        )

    def stop(self, signal: int = signals.SIGTERM, timeout: float = 15) -> int:
        """Send ``signal`` to the server, wait up to ``timeout`` s; its return code.

        A negative code means it died of that signal (``subprocess`` convention). If it
        has not exited in time, the whole process group is killed and ``TimeoutError``
        raised. Safe to call more than once.
        """
        if self.process is None:
            raise RuntimeError("LiveServer was never started")
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise TimeoutError(
                    f"dcctl serve did not exit within {timeout}s of signal {signal}"
                ) from None
        self._reap_group()
        _running.discard(self)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group, now (for failures and teardown)."""
        if self.process is None:
            return
        self._reap_group(signals.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        _running.discard(self)

    def _reap_group(self, sig: int = signals.SIGKILL) -> None:
        # The group id is the child's pid (start_new_session); leftovers die with it.
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is None:
            return
        if self.process.poll() is not None:
            self._reap_group()
            _running.discard(self)
            return
        try:
            self.stop()
        except TimeoutError:
            # stop() has killed it; a hang at shutdown is news unless the block already failed.
            if exc_type is None:
                raise

    # -- captured output ---------------------------------------------------------------

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()
