"""Load: 200 concurrent API clients for 60 s on a realistic mix, with 100 WebSocket viewers,
against the production web process (gunicorn, ``ops/gunicorn.conf.py``) on PostgreSQL,
RabbitMQ and Redis, with a Dramatiq worker and the relay running as in production.

Every part its own process, as the ``Procfile`` starts it: ``web`` (gunicorn with the
production config: ``DC_API_WORKERS`` uvicorn workers, 4 unless ``--web-workers``),
``worker-long`` (``dramatiq … --queues bulk maintenance``, prefetch 1) and ``relay``
(``dcctl relay``); Dramatiq and the commands on a scratch RabbitMQ vhost, events on Redis
pub/sub on a channel of their own, a scratch PostgreSQL database seeded with ``--apps``
apps (2,000), 5 finished runs for each and ``--logs`` log records (200,000, COPY).

``--clients`` (200) closed-loop clients share one token (an operator's) and one httpx
connection pool in this process, each sending one request after another (``--think``
seconds between, 0 by default: the server is saturated and the latencies include the
queueing) for ``--seconds`` (60). The mix, by weight:

* apps list (35): ``GET /api/v1/apps`` filtered by group (sorted by next run, pages 1-5),
  by run status, by fatal flag, or with a text search;
* app detail (20): ``GET /api/v1/apps/{id}``;
* runtimes (15): ``GET /api/v1/runtimes?app={id}``;
* log search (15): ``GET /api/v1/logs?search=timeout&level=WARNING&app=<group glob>``;
* groups (5): ``GET /api/v1/groups``;
* start (5) / stop (5): ``POST /api/v1/apps/{id}/start`` on an idle app, ``…/stop`` on a
  running one, each app commanded once (when a pool runs out, the client does a detail);
* bulk: one more client sends ``POST /api/v1/bulk/start`` for a group of ``--bulk-apps``
  apps every ``--bulk-every`` seconds (10).

``--viewers`` (100) WebSocket viewers on ``/api/v1/ws/dashboard`` subscribe to
``app.command_sent``; every command issued during the run (single and bulk) must reach
every viewer once: received / expected is counted per command id, with duplicates and
misses. The web processes' resident memory (master and workers, psutil) is read before
the viewers connect and after the load.

Prints tables; ``--record`` rewrites this benchmark's section of bench/RESULTS.md.

    .venv/bin/python bench/load_mix.py [--clients 200] [--seconds 60] [--viewers 100] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import logging
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import (
    busy_cpu_percent,
    code_version,
    create_bench_user,
    fmt_ms,
    load_average,
    login,
    machine_description,
    make_app_rows,
    markdown_table,
    now_utc,
    percentile,
    pg_connect,
    postgres_version,
    scratch_database,
    write_results_section,
)
from _stack import (
    RATE_LIMITS,
    REDIS_URL,
    VENV_BIN,
    WORKER_ARGV,
    WORKER_ENV,
    Viewer,
    backend_cpu,
    background,
    cpu_seconds,
    dc_environment,
    exit_on_sigterm,
    gunicorn_web,
    machine_busy_seconds,
    machine_lock,
    rabbitmq_vhost,
    rss_mib,
    view,
)

from control.apps.models import Apps
from control.db import migrate
from control.db.database import database, init_database
from control.runtimes.models import Runtime

NAME = "load_mix"
JWT_SECRET = "bench-load-mix-signing-secret-0123456789"  # never a real one
BENCH_USER = "bench-load-operator@example.com"
# Viewers: VIEWERS_PER_USER sessions per viewer user, the limit of one user's WebSocket
# connections to one web process (DC_WS_MAX_CONNECTIONS_PER_USER, 10), so none is refused
VIEWERS_PER_USER = 10
START_GROUP = "load_idle"  # START-able apps, each started once
STOP_GROUP = "load_running"  # RUNNING apps, each stopped once
BULK_PREFIX = "load_bulk"
RUNS_PER_APP = 5
WEIGHTS = {
    "apps list": 35,
    "app detail": 20,
    "runtimes": 15,
    "log search": 15,
    "groups": 5,
    "start": 5,
    "stop": 5,
}
EVENT = "app.command_sent"
LOG_WORDS = ("fetched page", "parsed rows", "saved batch", "retrying request", "cursor moved")

log = logging.getLogger("bench.load_mix")


# --- Data ---------------------------------------------------------------------------------


@dataclass
class Fleet:
    """The seeded apps the clients draw from."""

    app_ids: list[str]
    groups: list[str]
    idle: list[str]
    running: list[str]
    bulk_groups: list[str]
    log_globs: list[str]
    source: str
    runs: int = 0
    logs: int = 0


def _idle(row: dict[str, Any]) -> None:
    row.update(disabled=False, fatal_flag="NO_FATAL", fatal_reason=None, command_flag="NONE")
    row.update(run_status="IDLE", progress_current=None, progress_total=None)
    row["progress_updated"] = None


def seed(args: argparse.Namespace) -> Fleet:
    """The apps (a third START-able, a fifth running, ``--bulk-jobs`` groups for the bulk
    client), ``RUNS_PER_APP`` finished runs each and ``--logs`` log records."""
    rows, source = make_app_rows(args.apps, seed=args.seed)
    n_idle, n_running = args.apps // 3, args.apps // 5
    bulk_groups = [f"{BULK_PREFIX}{n:02d}" for n in range(args.bulk_jobs)]
    for n, row in enumerate(rows):
        if n < n_idle:
            row["group"] = START_GROUP
            _idle(row)
        elif n < n_idle + n_running:
            row["group"] = STOP_GROUP
            _idle(row)
            row["run_status"] = "RUNNING"
        elif n < n_idle + n_running + args.bulk_jobs * args.bulk_apps:
            row["group"] = bulk_groups[(n - n_idle - n_running) // args.bulk_apps]
            _idle(row)
    rng = random.Random(args.seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    runs = [
        {
            "id": f"{started:%Y%m%d_%H%M%S}_{row['id']}",
            "app": row["id"],
            "started": started,
            "ended": started + dt.timedelta(seconds=rng.randint(30, 3600)),
            "status": "FAILED" if rng.random() < 0.1 else "COMPLETED",
            "trigger": "schedule",
        }
        for row in rows
        for started in [now - dt.timedelta(hours=6 * k + 1) for k in range(RUNS_PER_APP)]
    ]
    with database.connection_context(), database.atomic():
        for start in range(0, len(rows), 1000):
            Apps.insert_many(rows[start : start + 1000]).execute()
        for start in range(0, len(runs), 2000):
            Runtime.insert_many(runs[start : start + 2000]).execute()
    app_ids = [str(row["id"]) for row in rows]
    groups = sorted({str(row["group"]) for row in rows})
    prefixes = sorted({app_id.rsplit("_", 1)[0] for app_id in app_ids})
    fleet = Fleet(
        app_ids=app_ids,
        groups=groups,
        idle=app_ids[:n_idle],
        running=app_ids[n_idle : n_idle + n_running],
        bulk_groups=bulk_groups,
        log_globs=[f"{p}_*" for p in prefixes[:50]],
        source=source,
        runs=len(runs),
    )
    fleet.logs = copy_logs(args.url, app_ids, args.logs, rng, now)
    with database.connection_context():
        database.execute_sql("VACUUM ANALYZE")
    return fleet


def copy_logs(url: str, app_ids: Sequence[str], count: int, rng: random.Random, now: Any) -> int:
    """``count`` log records over the last 7 days (2% mention a timeout), with COPY."""
    buffer = io.StringIO()
    for i in range(count):
        app = rng.choice(app_ids)
        at = now - dt.timedelta(seconds=7 * 86400 * i / max(count, 1))
        if rng.random() < 0.02:
            level, message = rng.choice((30, 30, 40)), f"timeout after {rng.randint(5, 60)} s"
        else:
            level, message = rng.choice((10, 20, 20, 20, 30)), rng.choice(LOG_WORDS)
        buffer.write(f"{app}\t\\N\t{level}\tcollector.run\tstep\t{message} {i}\t{at}\n")
    buffer.seek(0)
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.copy_expert(
            "COPY logs (app_id, runtime_id, level, module, function, message, timestamp)"
            " FROM STDIN",
            buffer,
        )
    return count


# --- The load -------------------------------------------------------------------------------


@dataclass
class Tally:
    """Latencies by kind, answers by kind and status (or exception name)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, kind: str, status: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses[(kind, status)] += 1

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def errors(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for (_, status), n in self.statuses.items():
            if not status.startswith(("2", "3")):
                found[status] += n
        return found


def request_for(kind: str, fleet: Fleet, rng: random.Random) -> tuple[str, str, Any]:
    """(method, path, JSON body) for one request of ``kind``."""
    if kind == "apps list":
        shape = rng.random()
        if shape < 0.55:
            page = rng.randint(1, 5)
            group = rng.choice(fleet.groups)
            return "GET", f"/api/v1/apps?group={group}&sort=-next_run&per_page=20&page={page}", None
        if shape < 0.75:
            status = rng.choice(("FAILED", "RUNNING", "IDLE", "SCHEDULED"))
            return "GET", f"/api/v1/apps?run_status={status}&per_page=50", None
        if shape < 0.85:
            return "GET", "/api/v1/apps?fatal_flag=FATAL&per_page=50", None
        word = rng.choice(fleet.app_ids).split("_")[2]
        return "GET", f"/api/v1/apps?q={word}&per_page=20", None
    if kind == "app detail":
        return "GET", f"/api/v1/apps/{rng.choice(fleet.app_ids)}", None
    if kind == "runtimes":
        return "GET", f"/api/v1/runtimes?app={rng.choice(fleet.app_ids)}", None
    if kind == "log search":
        glob = rng.choice(fleet.log_globs)
        return "GET", f"/api/v1/logs?search=timeout&level=WARNING&app={glob}&limit=100", None
    if kind == "groups":
        return "GET", "/api/v1/groups", None
    raise ValueError(kind)


async def client_loop(
    client: httpx.AsyncClient,
    fleet: Fleet,
    tally: Tally,
    until: float,
    seed_value: int,
    think: float,
) -> None:
    rng = random.Random(seed_value)
    kinds = list(WEIGHTS)
    weights = list(WEIGHTS.values())
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        if kind == "start" and fleet.idle:
            method, path, body = "POST", f"/api/v1/apps/{fleet.idle.pop()}/start", None
        elif kind == "stop" and fleet.running:
            method, path, body = "POST", f"/api/v1/apps/{fleet.running.pop()}/stop", None
        else:
            if kind in ("start", "stop"):
                kind = "app detail"  # the pool ran out: no app left to command once
            method, path, body = request_for(kind, fleet, rng)
        t0 = time.perf_counter()
        try:
            resp = await client.request(method, path, json=body)
            status = str(resp.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        tally.add(kind, status, time.perf_counter() - t0)
        if think:
            await asyncio.sleep(think)


async def bulk_loop(
    client: httpx.AsyncClient, fleet: Fleet, tally: Tally, until: float, every: float
) -> list[str]:
    """A bulk START of the next bulk group every ``every`` seconds; the job ids."""
    jobs: list[str] = []
    groups = list(fleet.bulk_groups)
    next_at = time.monotonic() + every / 2
    while groups and next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += every
        body = {"filter": {"group": groups.pop(0)}}
        t0 = time.perf_counter()
        try:
            resp = await client.post("/api/v1/bulk/start", json=body)
            status = str(resp.status_code)
            if resp.status_code == 202:
                jobs.append(str(resp.json()["data"]["id"]))
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        tally.add("bulk start", status, time.perf_counter() - t0)
    return jobs


@dataclass
class Outcome:
    tally: Tally
    wall: float
    jobs: list[str]
    viewers: list[Viewer]
    client_cpu: float
    server_cpu: float
    postgres_cpu: float = 0.0  # this database's backends during the load
    machine_cpu: float = 0.0  # every core, everything on the machine


async def run_load(
    base_url: str,
    token: str,
    viewer_tokens: Sequence[str],
    fleet: Fleet,
    args: argparse.Namespace,
    server_pid: int,
) -> Outcome:
    viewers = [Viewer(f"viewer {n}") for n in range(args.viewers)]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in viewers]
    gate = asyncio.Semaphore(20)  # handshakes in flight

    async def one(n: int, viewer: Viewer, ready: asyncio.Event) -> None:
        mine = viewer_tokens[n // VIEWERS_PER_USER]
        async with gate:
            task = asyncio.create_task(
                view(base_url, mine, {EVENT: "command_id"}, viewer, ready, stop)
            )
            await ready.wait()
        await task

    viewer_tasks = [
        asyncio.create_task(one(n, v, r))
        for n, (v, r) in enumerate(zip(viewers, readies, strict=True))
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    log.info(
        "  %d viewers subscribed (%d failed)",
        sum(v.error is None for v in viewers),
        sum(v.error is not None for v in viewers),
    )
    tally = Tally()
    limits = httpx.Limits(
        max_connections=args.clients + 1, max_keepalive_connections=args.clients + 1
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=args.timeout
    ) as client:
        cpu_before, server_before = time.process_time(), cpu_seconds(server_pid)
        machine_before, backends_before = machine_busy_seconds(), backend_cpu(args.url)
        began = time.monotonic()
        until = began + args.seconds
        bulk = asyncio.create_task(bulk_loop(client, fleet, tally, until, args.bulk_every))
        await asyncio.gather(
            *(
                client_loop(client, fleet, tally, until, args.seed * 1000 + n, args.think)
                for n in range(args.clients)
            )
        )
        wall = time.monotonic() - began
        client_cpu, server_cpu = (
            time.process_time() - cpu_before,
            cpu_seconds(server_pid) - server_before,
        )
        machine_cpu = machine_busy_seconds() - machine_before
        postgres_cpu = sum(
            cpu - backends_before.get(pid, 0.0) for pid, cpu in backend_cpu(args.url).items()
        )
        jobs = await bulk
    await wait_jobs(args.url, jobs, args.drain)
    await asyncio.sleep(3.0)  # the last events on their way through Redis
    stop.set()
    await asyncio.gather(*viewer_tasks)
    return Outcome(tally, wall, jobs, viewers, client_cpu, server_cpu, postgres_cpu, machine_cpu)


async def wait_jobs(url: str, jobs: Sequence[str], seconds: float) -> None:
    """Until every bulk job is finished (or ``seconds`` passed)."""
    deadline = time.monotonic() + seconds
    while jobs and time.monotonic() < deadline:
        with closing(pg_connect(url)) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM bulk_job WHERE id = ANY(%s) AND finished IS NULL",
                (list(jobs),),
            )
            row = cur.fetchone()
        if not row or not row[0]:
            return
        await asyncio.sleep(0.5)
    log.warning("bulk jobs still unfinished after %.0f s", seconds)


def commands_issued(url: str) -> set[str]:
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM command")
        return {f"{EVENT}:{row[0]}" for row in cur.fetchall()}


# --- Report -------------------------------------------------------------------------------


def report(
    out: Outcome, expected: set[str], rss_before: dict[int, float], rss_after: dict[int, float]
) -> tuple[str, str, list[str]]:
    tally = out.tally
    kinds = [*WEIGHTS, "bulk start"]
    rows = []
    for kind in kinds:
        lat = tally.latencies.get(kind, [])
        if not lat:
            continue
        statuses = sorted((s, n) for (k, s), n in tally.statuses.items() if k == kind)
        rows.append(
            [
                kind,
                f"{len(lat):,}",
                f"{len(lat) / out.wall:,.1f}",
                fmt_ms(percentile(lat, 50)),
                fmt_ms(percentile(lat, 99)),
                ", ".join(f"{s}: {n:,}" for s, n in statuses),
            ]
        )
    every = [x for lat in tally.latencies.values() for x in lat]
    rows.append(
        [
            "**all**",
            f"{len(every):,}",
            f"{len(every) / out.wall:,.1f}",
            fmt_ms(percentile(every, 50)),
            fmt_ms(percentile(every, 99)),
            ", ".join(
                f"{s}: {n:,}"
                for s, n in sorted(Counter(s for (_, s) in tally.statuses.elements()).items())
            ),
        ]
    )
    table = markdown_table(["kind", "requests", "req/s", "p50 ms", "p99 ms", "answers"], rows)

    ok_viewers = [v for v in out.viewers if v.error is None]
    got = 0
    duplicates = 0
    missing = 0
    stray = 0
    for viewer in ok_viewers:
        seen = Counter(viewer.keys)
        got += sum(1 for key in seen if key in expected)
        duplicates += sum(n - 1 for n in seen.values() if n > 1)
        missing += len(expected - seen.keys())
        stray += sum(1 for key in seen if key not in expected)
    want = len(expected) * len(ok_viewers)
    ws = markdown_table(
        [
            "viewers connected",
            "commands issued",
            "events expected",
            "received once",
            "missing",
            "duplicates",
            "dropped (slow reader)",
        ],
        [
            [
                f"{len(ok_viewers)} of {len(out.viewers)}",
                f"{len(expected):,}",
                f"{want:,}",
                f"{got:,} ({100 * got / want:.2f}%)" if want else "-",
                f"{missing:,}",
                f"{duplicates:,}",
                f"{sum(v.dropped for v in ok_viewers):,}",
            ]
        ],
    )
    lines = [
        f"throughput {tally.total / out.wall:,.0f} requests/s over {out.wall:.1f} s; "
        f"errors {sum(tally.errors().values()):,} of {tally.total:,}"
        + (
            f" ({', '.join(f'{s}: {n:,}' for s, n in sorted(tally.errors().items()))})"
            if tally.errors()
            else ""
        ),
        f"web RSS (gunicorn master + {len(rss_before) - 1} workers): before "
        f"{sum(rss_before.values()):.0f} MiB ({_per_process(rss_before)}), after "
        f"{sum(rss_after.values()):.0f} MiB ({_per_process(rss_after)})",
        f"CPU during the load: web processes {out.server_cpu:.1f} s "
        f"({1000 * out.server_cpu / max(tally.total, 1):.2f} ms per request), load client "
        f"{out.client_cpu:.1f} s "
        f"({1000 * out.client_cpu / max(tally.total, 1):.2f} ms per request), PostgreSQL "
        f"backends of this database {out.postgres_cpu:.1f} s "
        f"({1000 * out.postgres_cpu / max(tally.total, 1):.2f} ms per request); the "
        f"whole machine {out.machine_cpu:.1f} s of {(psutil.cpu_count() or 1) * out.wall:.0f} s "
        f"({psutil.cpu_count()} cores: the rest went to the worker, relay, RabbitMQ, Redis "
        "and other people's work)",
        f"bulk jobs {len(out.jobs)}; commands issued {len(expected):,} (single and bulk)",
    ]
    errors = [v.error for v in out.viewers if v.error]
    if errors:
        lines.append(f"viewer errors: {len(errors)} (first: {errors[0]})")
    if stray:
        lines.append(f"events for commands not in the database: {stray}")
    return table, ws, lines


def _per_process(rss: dict[int, float]) -> str:
    return " / ".join(f"{mib:.0f}" for _, mib in sorted(rss.items()))


# --- Main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=200, help="concurrent API clients")
    parser.add_argument("--seconds", type=float, default=60, help="duration of the load")
    parser.add_argument("--viewers", type=int, default=100, help="WebSocket viewers")
    parser.add_argument("--apps", type=int, default=2000, help="apps seeded")
    parser.add_argument("--logs", type=int, default=200_000, help="log records seeded")
    parser.add_argument("--bulk-every", type=float, default=10, help="seconds between bulk jobs")
    parser.add_argument("--bulk-apps", type=int, default=50, help="apps per bulk job")
    parser.add_argument(
        "--bulk-jobs", type=int, default=6, help="bulk groups seeded (jobs at most)"
    )
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds a client waits between requests"
    )
    parser.add_argument(
        "--web-workers", type=int, default=None, help="DC_API_WORKERS (default: the config's 4)"
    )
    parser.add_argument("--timeout", type=float, default=60, help="seconds a request may take")
    parser.add_argument(
        "--drain", type=float, default=120, help="seconds to wait for the bulk jobs after the load"
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=900,
        help="seconds to wait for the machine-wide benchmark lock",
    )
    parser.add_argument("--seed", type=int, default=11, help="seed of the data and the mix")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    channel = f"bench:load_mix:{uuid.uuid4().hex[:8]}"
    with (
        scratch_database("bench_load") as url,
        tempfile.TemporaryDirectory() as tmp,
        rabbitmq_vhost("bench_load") as amqp_url,
    ):
        args.url = url
        workdir = Path(tmp)
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            began = time.perf_counter()
            fleet = seed(args)
            seed_seconds = time.perf_counter() - began
            log.info(
                "seeded %d apps, %d runs, %d log records in %.1f s",
                len(fleet.app_ids),
                fleet.runs,
                fleet.logs,
                seed_seconds,
            )
            password = create_bench_user(BENCH_USER, "operator")
            viewer_users = {
                f"bench-load-viewer-{n}@example.com": create_bench_user(
                    f"bench-load-viewer-{n}@example.com", "viewer"
                )
                for n in range(-(-args.viewers // VIEWERS_PER_USER))
            }
            pg_version = postgres_version(url)
        finally:
            if not db.is_closed():
                db.close()
        env = dc_environment(
            {
                "DC_JWT_SECRET": JWT_SECRET,
                "DC_DATABASE_URL": url,
                "DC_LOG_LEVEL": "WARNING",
                "DC_RABBITMQ_URL": amqp_url,
                "DC_BROKER": "rabbitmq",
                "DC_EMBEDDED_BACKGROUND": "false",
                "DC_REDIS_URL": REDIS_URL,
                "DC_EVENTS_CHANNEL": channel,
                **RATE_LIMITS,
            }
        )
        log.info("waiting for the machine-wide benchmark lock ...")
        with (
            machine_lock(args.lock_timeout) as locked,
            gunicorn_web("web", env, workdir, args.web_workers) as (base_url, web),
            background("worker", WORKER_ARGV, dict(env, **WORKER_ENV), workdir) as worker,
            background("relay", [str(VENV_BIN / "dcctl"), "relay"], env, workdir) as relay,
        ):
            token = login(base_url, BENCH_USER, password)
            for _ in range(40):  # warm every worker a little
                httpx.get(
                    base_url + "/api/v1/apps?per_page=20",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
            busy_before = busy_cpu_percent()
            load_before = load_average()
            rss_before = rss_mib(web.pid)
            log.info(
                "load: %d clients, %d viewers, %.0f s against %s ...",
                args.clients,
                args.viewers,
                args.seconds,
                base_url,
            )
            viewer_tokens = [login(base_url, e, p) for e, p in viewer_users.items()]
            out = asyncio.run(run_load(base_url, token, viewer_tokens, fleet, args, web.pid))
            rss_after = rss_mib(web.pid)
            load_after = load_average()
            for proc in (web, worker, relay):
                proc.check()
            expected = commands_issued(url)
        machine = machine_description(pg_version)

    table, ws, lines = report(out, expected, rss_before, rss_after)
    print()
    print(table)
    print()
    print(ws)
    print()
    for line in lines:
        print(line)
    print(
        f"CPUs busy before {busy_before:.0f}%; "
        f"load average before {load_before}, after {load_after}"
    )

    if args.record:
        body = "\n".join(
            [
                "## load_mix: 200 clients on a realistic mix with 100 WebSocket viewers, "
                "gunicorn with the production config",
                "",
                f"Run {now_utc()} with `bench/load_mix.py --clients {args.clients} --seconds "
                f"{args.seconds:g} --viewers {args.viewers}` on code {code_version()}.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Other work: {busy_before:.0f}% of the CPUs busy just before; load average "
                f"(1/5/15 min) before {load_before}, after {load_after}"
                + (
                    ""
                    if locked
                    else "; **measured without the machine-wide benchmark lock** "
                    "(another benchmark held it)"
                )
                + ". The load client, PostgreSQL, RabbitMQ and Redis run on the same machine.",
                "",
                f"Parameters: {len(fleet.app_ids):,} apps (rows from {fleet.source}), "
                f"{fleet.runs:,} finished runs, {fleet.logs:,} log records (2% mention a "
                f"timeout), seeded in {seed_seconds:.0f} s. Processes as in the Procfile: "
                "`gunicorn -c ops/gunicorn.conf.py control.cli.asgi:app` "
                f"({args.web_workers or 4} uvicorn workers, `DC_LOG_LEVEL=WARNING`), "
                "`dramatiq … --queues bulk maintenance --processes 1 --threads 2` "
                "(prefetch 1), `dcctl relay`; Dramatiq and "
                "commands on a scratch RabbitMQ vhost, events on Redis pub/sub, rate limits "
                f"raised (one token, one address). {args.clients} closed-loop clients "
                f"(httpx, one process, think time {args.think:g} s: saturation, latencies "
                "include queueing), mix by weight "
                + ", ".join(f"{k} {w}" for k, w in WEIGHTS.items())
                + "; "
                f"a bulk START of {args.bulk_apps} apps every {args.bulk_every:g} s. "
                f"{args.viewers} viewers on `/api/v1/ws/dashboard` subscribed to `{EVENT}` "
                f"({VIEWERS_PER_USER} per viewer user; the per-address WebSocket limit "
                "raised, every viewer coming from 127.0.0.1).",
                "",
                table,
                "",
                ws,
                "",
                *(f"- {line}" for line in lines),
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
