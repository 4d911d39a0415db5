"""WebSocket fan-out: ``dcctl serve`` against a bare ``websockets`` broadcast server.

One run, side by side, with the same clients and the same events:

* the bare server: ``websockets.asyncio.server.serve`` subscribed to the Redis channel
  with ``redis.asyncio``, relaying each message with ``websockets.broadcast`` to every
  connection; no authentication, no filters, no queues;
* ``dcctl serve`` (uvicorn, one process) with ``DC_REDIS_URL``: the event bus's listener
  thread, the hub's per-client filters and bounded outboxes, one writer task per client,
  every client authenticated with a JWT in its first message (``/api/v1/ws/dashboard``).

``--clients`` connections (1,000) are spread over ``--procs`` client processes; then
``--rate`` events a second (20) are published into Redis for ``--seconds`` (10) through
``control.events.redis_bus.RedisBus``, as a worker would. Each event carries the
publisher's wall-clock time in ``data.sent``; latency = receive time in the client
process - ``sent`` (the event's ``timestamp`` says the same to the millisecond), so it
includes the Redis hop and the client's own scheduling. Frames/s = event frames received
by all clients / (last receipt - first publish). The server's CPU time during the
publishing window is read with psutil.

Prints a table and the ratios; ``--record`` rewrites this benchmark's section of
bench/RESULTS.md. Needs the local Redis (``DC_BENCH_REDIS_URL``, default db 12); no
PostgreSQL (the user table lives in a scratch SQLite file).

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--rate 20] [--seconds 10] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
if str(REPO_DIR) not in sys.path:  # the worker modes run this file directly
    sys.path.insert(0, str(REPO_DIR))

NAME = "ws_fanout"
REDIS_URL = os.environ.get("DC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
JWT_SECRET = "bench-ws-fanout-signing-secret-0123456789"  # never a real one
BENCH_USER = "bench-ws-viewer@example.com"
HEALTH = "/api/v1/system/health"
FEED = "/api/v1/ws/dashboard"
CONNECT_CONCURRENCY = 50  # handshakes in flight per client process
EVENT_TYPE = "app.status_changed"

log = logging.getLogger("bench.ws_fanout")


# --- Client processes --------------------------------------------------------------------------


async def _client(
    url: str, token: str | None, expect: int, ready: asyncio.Event, go: asyncio.Event, out: dict
) -> None:
    from websockets.asyncio.client import connect

    ws = await connect(url, proxy=None, compression=None, ping_interval=None, open_timeout=120)
    try:
        if token is not None:
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            while orjson.loads(await ws.recv())["type"] != "subscribed":
                pass
        ready.set()
        await go.wait()
        got = 0
        latencies = out["latencies"]
        async for message in ws:
            now = time.time()
            body = orjson.loads(message)
            kind = body["type"]
            if kind == EVENT_TYPE:
                latencies.append(now - body["data"]["sent"])
                out["last"] = max(out["last"], now)
                got += 1
                if got >= expect:
                    break
            elif kind == "dropped":
                out["dropped"] += body["data"]["count"]
    finally:
        await ws.close()


async def _worker(url: str, token: str | None, clients: int, expect: int, deadline: float) -> None:
    from websockets.exceptions import WebSocketException

    out: dict[str, Any] = {"latencies": [], "last": 0.0, "dropped": 0, "received": 0, "errors": 0}
    go = asyncio.Event()
    all_settled = asyncio.Event()  # every client ready (or failed)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    settled = 0

    def settle() -> None:
        nonlocal settled
        settled += 1
        if settled == clients:
            all_settled.set()

    async def one() -> None:
        ready = asyncio.Event()
        async with gate:
            task = asyncio.create_task(_client(url, token, expect, ready, go, out))
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        settle()
        try:
            await task
        except (OSError, TimeoutError, WebSocketException) as exc:  # counted and reported
            out["errors"] += 1
            if out["errors"] <= 3:
                print(f"client error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    tasks = [asyncio.create_task(one()) for _ in range(clients)]
    await all_settled.wait()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the parent says when events start
    go.set()
    await asyncio.wait(tasks, timeout=max(1.0, deadline - time.time()))
    for task in tasks:
        task.cancel()
    out["received"] = len(out["latencies"])
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    sys.stdout.flush()


# --- The bare websockets server -----------------------------------------------------------------


async def _bare_server(port: int, channel: str) -> None:
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve

    async def handler(ws: Any) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None) as server:
        client = aioredis.Redis.from_url(REDIS_URL)
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        print("ready", flush=True)
        async for message in pubsub.listen():
            if message["type"] == "message":
                broadcast(server.connections, message["data"].decode())


# --- The runs -----------------------------------------------------------------------------------


@dataclass
class Series:
    """One server's figures."""

    label: str
    clients: int
    events: int
    latencies: list[float] = field(default_factory=list)
    dropped: int = 0
    errors: int = 0
    window: float = 0.0
    server_cpu: float = 0.0

    @property
    def frames(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.frames / self.window if self.window else 0.0


def _spawn(args: Sequence[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_DIR,
    )


def _wait_line(proc: subprocess.Popen[str], expected: str, timeout: float) -> None:
    assert proc.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not result or result[0].strip() != expected:
        proc.kill()
        raise RuntimeError(f"expected {expected!r} from {proc.args!r}, got {result!r}")


def measure(
    label: str, url: str, token: str | None, server_pid: int, args: argparse.Namespace
) -> Series:
    import psutil

    from control.events import Event, EventType
    from control.events.redis_bus import RedisBus

    events = args.rate * args.seconds
    share, extra = divmod(args.clients, args.procs)
    per_proc = [share + (i < extra) for i in range(args.procs)]
    deadline = time.time() + 120 + args.seconds
    workers = [
        _spawn(
            [
                "--worker-url", url,
                "--worker-token", token or "",
                "--worker-clients", str(n),
                "--worker-expect", str(events),
                "--worker-deadline", str(deadline),
            ]
        )
        for n in per_proc
    ]  # fmt: skip
    try:
        for worker in workers:
            _wait_line(worker, "ready", 120)
        log.info("  %d clients connected to %s", args.clients, label)
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        time.sleep(0.5)
        server = psutil.Process(server_pid)
        bus = RedisBus(REDIS_URL, channel=args.channel)
        cpu_before = server.cpu_times()
        started = time.time()
        for seq in range(events):
            pause = started + seq / args.rate - time.time()
            if pause > 0:
                time.sleep(pause)
            data = {
                "app": f"scraper_bench_{seq % 50:02d}",
                "old_status": "IDLE",
                "new_status": "RUNNING",
                "seq": seq,
                "sent": time.time(),
            }
            bus.publish(Event.of(EventType.APP_STATUS_CHANGED, data))
        bus.close(timeout=10)
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=max(5.0, deadline - time.time() + 10))
            results.append(orjson.loads(out.strip().splitlines()[-1]))
        cpu_after = server.cpu_times()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    series = Series(label, args.clients, events)
    for result in results:
        series.latencies.extend(result["latencies"])
        series.dropped += result["dropped"]
        series.errors += result["errors"]
    last = max((r["last"] for r in results), default=started)
    series.window = max(last - started, 1e-9)
    series.server_cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return series


@contextmanager
def bare_server(channel: str) -> Iterator[tuple[str, int]]:
    from _common import free_port

    port = free_port()
    proc = _spawn(["--bare-server", str(port), "--channel", channel])
    try:
        _wait_line(proc, "ready", 30)
        yield f"ws://127.0.0.1:{port}/", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def api_server(workdir: Path, channel: str, clients: int) -> Iterator[tuple[str, int, str]]:
    """``dcctl serve`` with Redis; yields (ws URL, pid, a viewer's token); always stops it."""
    from _common import environment_with, free_port, serve_process

    from control.auth.roles import Role
    from control.auth.tokens import TokenService, new_id
    from control.auth.users import create_user
    from control.db.database import database, init_database
    from control.settings import load_settings

    port = free_port()
    db_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    dc_env = {
        "DC_JWT_SECRET": JWT_SECRET,
        "DC_DATABASE_URL": db_url,
        "DC_API_HOST": "127.0.0.1",
        "DC_API_PORT": str(port),
        "DC_LOG_LEVEL": "WARNING",
        "DC_REDIS_URL": REDIS_URL,
        "DC_EVENTS_CHANNEL": channel,
        "DC_WS_MAX_CONNECTIONS_PER_USER": str(clients * 2),
        "DC_WS_MAX_CONNECTIONS_PER_IP": str(clients * 2),
        "DC_WS_HEARTBEAT_SECONDS": "3600",
    }
    env = environment_with(dc_env)
    dcctl = REPO_DIR / ".venv" / "bin" / "dcctl"
    upgrade = subprocess.run(
        [str(dcctl), "db", "upgrade"], cwd=workdir, env=env, capture_output=True, text=True
    )
    if upgrade.returncode != 0:
        raise RuntimeError(f"dcctl db upgrade failed:\n{upgrade.stdout}{upgrade.stderr}")
    db = init_database(db_url)
    with database.connection_context():
        create_user(BENCH_USER, secrets.token_urlsafe(24), Role.VIEWER)
    db.close()
    settings = load_settings(jwt_secret=JWT_SECRET, jwt_expiry_minutes=120)
    token = (
        TokenService(settings)
        .issue(
            subject=BENCH_USER,
            role=Role.VIEWER,
            subject_type="user",
            use="access",
            session_id=new_id(),
        )
        .token
    )
    with serve_process([str(dcctl), "serve"], dc_env, port, HEALTH, workdir) as (_, pid):
        yield f"ws://127.0.0.1:{port}{FEED}", pid, token


# --- Report -------------------------------------------------------------------------------------


def report(runs: Sequence[Series]) -> tuple[str, list[str]]:
    from _common import markdown_table, percentile

    headers = [
        "server", "clients", "events", "frames", "dropped", "errors", "frames/s",
        "p50 ms", "p99 ms", "max ms", "server CPU s",
    ]  # fmt: skip
    rows = [
        [
            r.label,
            str(r.clients),
            str(r.events),
            str(r.frames),
            str(r.dropped),
            str(r.errors),
            f"{r.rate:.0f}",
            f"{percentile(r.latencies, 50) * 1000:.2f}",
            f"{percentile(r.latencies, 99) * 1000:.2f}",
            f"{max(r.latencies, default=float('nan')) * 1000:.2f}",
            f"{r.server_cpu:.2f}",
        ]
        for r in runs
    ]
    bare, ours = runs
    cpu_ours = ours.server_cpu / max(ours.frames, 1) * 1e6  # ms per 1,000 frames
    cpu_bare = bare.server_cpu / max(bare.frames, 1) * 1e6
    ratios = [
        f"p50 latency, dcctl serve / bare websockets: "
        f"**{percentile(ours.latencies, 50) / percentile(bare.latencies, 50):.1f}x**",
        f"p99 latency, dcctl serve / bare websockets: "
        f"**{percentile(ours.latencies, 99) / percentile(bare.latencies, 99):.1f}x**",
        f"frames/s, dcctl serve / bare websockets: **{ours.rate / bare.rate:.2f}**",
        f"server CPU per 1,000 frames: dcctl serve {cpu_ours:.0f} ms, bare {cpu_bare:.0f} ms",
    ]
    return markdown_table(headers, rows), ratios


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=1000, help="concurrent WebSocket clients")
    parser.add_argument("--rate", type=int, default=20, help="events published per second")
    parser.add_argument("--seconds", type=int, default=10, help="how long events are published")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument("--channel", default=f"dc:bench:{uuid.uuid4().hex}", help=argparse.SUPPRESS)
    # internal modes: this file is also the client process and the bare server
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-url", help=argparse.SUPPRESS)
    parser.add_argument("--worker-token", help=argparse.SUPPRESS)
    parser.add_argument("--worker-clients", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-expect", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.bare_server:
        asyncio.run(_bare_server(args.bare_server, args.channel))
        return 0
    if args.worker_url:
        asyncio.run(
            _worker(
                args.worker_url,
                args.worker_token or None,
                args.worker_clients,
                args.worker_expect,
                args.worker_deadline,
            )
        )
        return 0

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from _common import load_average, machine_description, now_utc, write_results_section

    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        log.info("bare websockets broadcast server ...")
        with bare_server(args.channel) as (url, pid):
            bare = measure("bare `websockets` broadcast", url, None, pid, args)
        log.info("dcctl serve ...")
        with api_server(Path(tmp), args.channel, args.clients) as (url, pid, token):
            ours = measure("`dcctl serve` /api/v1/ws/dashboard", url, token, pid, args)
    load_after = load_average()

    table, ratios = report([bare, ours])
    print()
    print(table)
    print()
    for line in ratios:
        print(line.replace("**", ""))
    print(f"load average before {load_before}, after {load_after}")

    if args.record:
        import websockets

        machine = machine_description()
        body = "\n".join(
            [
                "## ws_fanout: WebSocket fan-out against a bare `websockets` broadcast",
                "",
                f"Run {now_utc()} with `bench/ws_fanout.py --clients {args.clients} "
                f"--rate {args.rate} --seconds {args.seconds} --procs {args.procs}`.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Load average (1/5/15 min) before {load_before}, after {load_after}.",
                "",
                f"Parameters: {args.clients} concurrent clients in {args.procs} client "
                f"processes (`websockets` {websockets.__version__}, no compression, no "
                f"client pings) on the same machine as the server and Redis; "
                f"{args.rate} `app.status_changed` events a second for {args.seconds} s "
                "published into Redis pub/sub with `RedisBus`; each server in its own "
                "process, one after the other. The bare server relays each Redis message "
                "with `websockets.broadcast` (no auth, no filters, no per-client queue); "
                "`dcctl serve` is uvicorn with one process, the Redis event bus, the hub "
                "(filters, bounded outboxes, a writer task per client) and JWT "
                "authentication in each client's first message. Latency = receipt in "
                "the client process - publisher's clock in `data.sent`; frames/s = event "
                "frames received / (last receipt - first publish). With two cores "
                "shared by the server, Redis and 1,000 clients, latency mostly measures "
                "how long a client process waits for the CPU (more so when the load "
                "average is above the core count); server CPU per frame is the steadier "
                "comparison.",
                "",
                table,
                "",
                *(f"- {line}" for line in ratios),
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    failed = bare.errors + ours.errors
    expected = args.clients * args.rate * args.seconds
    if failed or ours.frames + ours.dropped < expected:
        print(f"{failed} client errors; {ours.frames}/{expected} frames", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
