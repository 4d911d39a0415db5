"""Shared helpers for the whole-deployment benchmarks (``load_mix.py``, ``scale_out.py``).

Every part a real process as the ``Procfile`` starts it: the web process under gunicorn
with ``ops/gunicorn.conf.py``, Dramatiq workers, ``dcctl relay`` and ``dcctl agent``, each
in a scratch working directory (no ``.env`` of the checkout read) with its output in
``<name>.log`` there; a scratch RabbitMQ vhost; WebSocket viewers on the dashboard feed;
the resident memory of a process tree.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import orjson
import psutil
from _common import HEALTH_PATH, MACHINE_LOCK, REPO_DIR, environment_with, free_port

log = logging.getLogger("bench.fleet")

VENV_BIN = REPO_DIR / ".venv" / "bin"
RABBITMQ_URL = os.environ.get("DC_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("DC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
FEED = "/api/v1/ws/dashboard"
# Counted per token, per address and per login; high enough that nothing is refused
# (every load client comes from 127.0.0.1 with one token).
RATE_LIMITS = {
    "DC_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
    # WebSocket connections per address and web process (50): every viewer comes from
    # 127.0.0.1 here, from its own address in a deployment
    "DC_WS_MAX_CONNECTIONS_PER_IP": "100000",
}
# The Procfile's worker-long line: the bulk and maintenance queues, prefetch 1.
WORKER_ARGV = [
    str(VENV_BIN / "dramatiq"),
    "workers.broker:setup",
    "workers",
    "--queues",
    "bulk",
    "maintenance",
    "--processes",
    "1",
    "--threads",
    "2",
    "--worker-shutdown-timeout",
    "4000",
]
WORKER_ENV = {"dramatiq_queue_prefetch": "1"}


# --- Stopping ---------------------------------------------------------------------------


def exit_on_sigterm() -> None:
    """SIGTERM (and SIGINT, which a background shell job ignores) raise SystemExit, so
    every process started and every scratch database and vhost is cleaned up."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)


# --- The machine lock, with a bound -------------------------------------------------------


class _LockTimeout(Exception):
    pass


@contextmanager
def machine_lock(timeout: float) -> Iterator[bool]:
    """``_common.exclusive_machine()``, but waiting at most ``timeout`` seconds; yields
    whether it was taken (the caller records when it measured without it). A blocking
    wait, so it queues with the other benchmarks' (a polling one would be overtaken)."""

    def expire(signum: int, frame: object) -> None:
        raise _LockTimeout

    with MACHINE_LOCK.open("a") as handle:
        previous = signal.signal(signal.SIGALRM, expire)
        signal.alarm(max(1, int(timeout)))
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            locked = True
        except _LockTimeout:
            locked = False
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        if not locked:
            log.warning("the machine lock is still held after %.0f s: measuring anyway", timeout)
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


# --- RabbitMQ -----------------------------------------------------------------------------


def _rabbitmqctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        done = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("rabbitmqctl %s: %s", args[0], exc)
        return False
    return done.returncode == 0


@contextmanager
def rabbitmq_vhost(prefix: str, base_url: str = RABBITMQ_URL) -> Iterator[str]:
    """A scratch vhost's URL, always deleted; the vhost of ``base_url`` when
    ``rabbitmqctl`` cannot make one (then another worker on it could take our messages)."""
    parsed = urlparse(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    if not _rabbitmqctl("add_vhost", name):
        log.warning("no scratch vhost (rabbitmqctl unavailable): using the broker's own")
        yield base_url
        return
    try:
        user = parsed.username or "guest"
        if not _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*"):
            raise RuntimeError(f"could not give {user} access to the vhost {name}")
        yield parsed._replace(path="/" + quote(name, safe="")).geturl()
    finally:
        _rabbitmqctl("delete_vhost", name)


# --- Processes ----------------------------------------------------------------------------


def dc_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any ``DC_`` variable, plus ``extra``."""
    # PYTHONPATH: tests.agent_apps for the agents
    return environment_with({"PYTHONPATH": str(REPO_DIR), **extra})


@dataclass
class Proc:
    """A background process in its own session, output in ``<workdir>/<name>.log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def check(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")

    def stop(self, timeout: float = 30) -> None:
        """One SIGTERM (as ops/stop-once.sh sends), then SIGKILL to the whole group."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)


@contextmanager
def background(
    name: str, argv: Sequence[str], env: dict[str, str], workdir: Path
) -> Iterator[Proc]:
    """``argv`` started in ``workdir``; always stopped."""
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as out:
        popen = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Proc(name, popen, log_path)
    try:
        yield proc
    finally:
        proc.stop()


@contextmanager
def gunicorn_web(
    name: str, env: dict[str, str], workdir: Path, workers: int | None = None
) -> Iterator[tuple[str, Proc]]:
    """The Procfile's ``web`` line (gunicorn, ``ops/gunicorn.conf.py``) on a free port of
    127.0.0.1, in a runtime directory of its own (control socket, metrics); yields (base
    URL, the master) once ``/system/health`` answers 200."""
    port = free_port()
    runtime = workdir / f"{name}-run"
    runtime.mkdir()
    env = dict(env, DC_API_HOST="127.0.0.1", DC_API_PORT=str(port), RUNTIME_DIRECTORY=str(runtime))
    if workers is not None:
        env["DC_API_WORKERS"] = str(workers)
    argv = [
        str(VENV_BIN / "gunicorn"),
        "-c",
        str(REPO_DIR / "ops" / "gunicorn.conf.py"),
        "--chdir",
        str(REPO_DIR),
        "control.cli.asgi:app",
    ]
    base_url = f"http://127.0.0.1:{port}"
    with background(name, argv, env, workdir) as proc:
        wait_healthy(base_url, proc, 90)
        yield base_url, proc


def wait_healthy(base_url: str, proc: Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        proc.check()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + HEALTH_PATH, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not healthy in {timeout:.0f} s:\n{proc.tail()}")
        time.sleep(0.2)


def tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants (gunicorn's master and workers)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def rss_mib(pid: int) -> dict[int, float]:
    """Resident memory (MiB) of the process and each descendant, by pid."""
    found: dict[int, float] = {}
    for member in tree(pid):
        with contextlib.suppress(psutil.Error):
            found[member.pid] = member.memory_info().rss / 2**20
    return found


def postgres_connections(pid: int, port: int = 5432) -> int:
    """TCP connections of the process and its descendants to PostgreSQL's ``port``."""
    found = 0
    for member in tree(pid):
        with contextlib.suppress(psutil.Error):
            found += sum(
                1
                for conn in member.net_connections(kind="tcp")
                if conn.raddr and conn.raddr.port == port
            )
    return found


def machine_busy_seconds() -> float:
    """CPU seconds every core spent busy so far (all processes on the machine)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``url``'s database (the
    server on this machine), by pid."""
    from _common import pg_connect

    with contextlib.closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [int(row[0]) for row in cur.fetchall()]
    found: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            found[pid] = times.user + times.system
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process and its descendants so far."""
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


# --- WebSocket viewers ---------------------------------------------------------------------


@dataclass
class Viewer:
    """What one dashboard viewer received: events by type, and the keys it collected."""

    label: str
    received: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    dropped: int = 0
    error: str | None = None


async def view(
    base_url: str,
    token: str,
    keys: dict[str, str],
    viewer: Viewer,
    ready: Any,
    stop: Any,
) -> None:
    """Connect to the dashboard feed, authenticate, subscribe to the event types of
    ``keys``; set ``ready``, then collect ``<type>:<data[keys[type]]>`` of every event
    until ``stop`` is set."""
    import asyncio

    from websockets.asyncio.client import connect

    url = base_url.replace("http://", "ws://") + FEED
    try:
        async with connect(
            url, proxy=None, compression=None, ping_interval=None, open_timeout=60
        ) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            await _until(ws, "subscribed")
            await ws.send(orjson.dumps({"type": "subscribe", "types": list(keys)}).decode())
            await _until(ws, "subscribed")
            ready.set()
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                body = orjson.loads(message)
                kind = body["type"]
                if kind in keys:
                    viewer.received[kind] = viewer.received.get(kind, 0) + 1
                    viewer.keys.append(f"{kind}:{body['data'].get(keys[kind])}")
                elif kind == "dropped":
                    viewer.dropped += int(body["data"]["count"])
    except Exception as exc:  # noqa: BLE001 - counted and reported per viewer
        viewer.error = f"{type(exc).__name__}: {exc}"[:200]
        ready.set()


async def _until(ws: Any, kind: str) -> None:
    while True:
        body = orjson.loads(await ws.recv())
        if body["type"] == kind:
            return
        if body["type"] == "error":
            raise RuntimeError(f"feed error: {body['data']}")
