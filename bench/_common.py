"""Shared helpers for the benchmarks in bench/.

A scratch PostgreSQL database per run, percentiles, a description of the machine, a
free port, rewriting one benchmark's section of ``bench/RESULTS.md``, and (for the
benchmarks after ``apps_list.py``) timed series of raw SQL and API requests, the SQL
peewee sends, and ``dcctl serve`` with a user to log in as. Files whose
name starts with ``_`` are helpers, not benchmarks (``run_all.py`` skips them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import logging
import math
import os
import platform
import random
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psutil
import psycopg2
import psycopg2.extensions
import uvloop
from _lean_http import lean_load, prepared_requests

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "RESULTS.md"

# The server that scratch databases are created on (trust auth in development).
ADMIN_URL = os.environ.get("DC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

RESULTS_HEADER = """# Benchmark results

The latest figures of each benchmark in `bench/`, written by the script itself with
`--record` (see `bench/README.md`). Each section names the machine it ran on; compare
figures only within one section, where every row was measured in the same run.
"""


# --- PostgreSQL ---------------------------------------------------------------------------


def pg_connect(url: str) -> psycopg2.extensions.connection:
    """A plain psycopg2 connection to ``url`` (autocommit, as peewee runs its own), with
    the service's session settings (``control.db.database.SESSION``: the same plans)."""
    from control.db.database import SESSION

    parsed = urlparse(url)
    conn = psycopg2.connect(
        options=SESSION,
        dbname=parsed.path.lstrip("/") or "postgres",
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    return conn


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>`` on the admin server, yield its URL, always drop it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with closing(pg_connect(ADMIN_URL)) as admin:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlparse(ADMIN_URL)._replace(path=f"/{name}").geturl()
        finally:
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')


def postgres_version(url: str) -> str:
    """The server's ``server_version`` (e.g. ``15.20 (Debian 15.20-0+deb12u1)``)."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        row = cur.fetchone()
    return str(row[0]) if row else "unknown"


# --- Numbers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``values``, linearly interpolated."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_ms(seconds: float) -> str:
    """Seconds as milliseconds with two decimals."""
    return f"{seconds * 1000:.2f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub table, columns padded so it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


# --- The machine --------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU model name from ``lscpu`` (or /proc/cpuinfo, or platform)."""
    lscpu = shutil.which("lscpu")
    if lscpu:
        try:
            out = subprocess.run(
                [lscpu], capture_output=True, text=True, check=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for row in out.splitlines():
            key, _, value = row.partition(":")
            if key.strip() == "Model name" and value.strip():
                return value.strip()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    if match:
        return match.group(1).strip()
    return platform.processor() or platform.machine() or "unknown"


def machine_description(postgres: str | None = None) -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python and (when given) the PostgreSQL version."""
    physical = psutil.cpu_count(logical=False)
    logical = psutil.cpu_count(logical=True)
    ram_gib = psutil.virtual_memory().total / 2**30
    virt = ""
    if Path("/sys/hypervisor/type").exists() or "hypervisor" in _cpu_flags():
        virt = " (virtual machine)"
    described = {
        "CPU": f"{cpu_model()}{virt}",
        "Cores": f"{physical or '?'} physical / {logical or '?'} logical",
        "RAM": f"{ram_gib:.1f} GiB",
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    if postgres is not None:
        described["PostgreSQL"] = postgres
    return described


def _cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    match = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1) if match else ""


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews the figures."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def code_version() -> str:
    """The commit measured, and whether tracked files had uncommitted changes (read-only)."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        head = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        # --no-optional-locks: never write the index while others work in the checkout
        changed = subprocess.run(
            [git, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} with uncommitted changes to {len(changed)} files" if changed else head


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


LOCK_DIR = Path(tempfile.gettempdir())  # outside the checkout: no stray files in git status
MACHINE_LOCK = LOCK_DIR / "dc-bench-machine.lock"
RESULTS_LOCK = LOCK_DIR / "dc-bench-results.lock"


@contextmanager
def exclusive_machine() -> Iterator[None]:
    """Hold the machine-wide benchmark lock: two benchmarks never measure at once.

    Every benchmark should take it around its measurements (not around set-up that
    only loads data), so benchmarks started by different people queue instead of
    skewing each other's figures.
    """
    with _locked(MACHINE_LOCK):
        yield


def busy_cpu_percent(interval: float = 2.0) -> float:
    """Percent of all CPUs busy over ``interval`` seconds (while this process idles)."""
    return float(psutil.cpu_percent(interval=interval))


def wait_until_quiet(max_busy: float = 25.0, timeout: float = 600.0) -> float:
    """Wait (up to ``timeout`` s) until under ``max_busy`` % of the CPUs are busy.

    Other work on the machine (test suites, other benchmarks) skews every figure. Returns
    the last reading; the caller records it, and proceeds either way.
    """
    deadline = time.monotonic() + timeout
    busy = busy_cpu_percent()
    while busy >= max_busy and time.monotonic() < deadline:
        busy = busy_cpu_percent(5.0)
    return busy


def cpu_per_request_lines(*series: Series) -> list[str]:
    """``CPU per request at concurrency N: server … ms, load client … ms`` for each API
    series that measured its processes' CPU."""
    return [
        f"CPU per request at concurrency {s.label.rsplit(' ', 1)[-1]}: "
        f"server {fmt_ms(s.cpu_per_op['server'])} ms, "
        f"load client {fmt_ms(s.cpu_per_op['client'])} ms"
        for s in series
        if s.cpu_per_op
    ]


def busy_warning(busy_before: float, max_busy: float, waited: float) -> list[str]:
    """The lines a recorded section starts with when other work kept the machine busy."""
    if busy_before < max_busy:
        return []
    return [
        f"**Measured on a busy machine** ({busy_before:.0f}% of the CPUs busy with other "
        f"work after waiting {waited:.0f} s): the absolute figures are skewed; rerun on a "
        "quiet machine.",
        "",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def now_utc() -> str:
    """The current time, for a results section."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- RESULTS.md ---------------------------------------------------------------------------


def write_results_section(name: str, body: str, path: Path = RESULTS_FILE) -> None:
    """Replace (or append) the ``<!-- name:start -->``..``<!-- name:end -->`` section."""
    start = f"<!-- {name}:start -->"
    end = f"<!-- {name}:end -->"
    section = f"{start}\n{body.strip()}\n{end}"
    # Benchmarks run by different people may finish together: read-modify-write under
    # a lock so that no one's section is lost.
    with _locked(RESULTS_LOCK):
        _replace_section(path, start, end, section)


def _replace_section(path: Path, start: str, end: str, section: str) -> None:
    text = path.read_text() if path.exists() else RESULTS_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    if not text.endswith("\n"):
        text += "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


# --- Rows ---------------------------------------------------------------------------------

GROUPS = ("de", "fr", "uk", "us", "nl", "es", "it", "pl")
PARENTS = ("registry", "gazette", "courts", "procurement", "news")
RUN_STATUSES = ("IDLE", "IDLE", "IDLE", "SCHEDULED", "SCHEDULED", "RUNNING", "FAILED")
SCHEDULES = ("*/15 * * * *", "*/30 * * * *", "0 * * * *", "0 */6 * * *", "30 7 * * *", None)
SEED_TIME = dt.datetime(2025, 1, 15, 7, 30)


def fallback_make_apps(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """App rows for ``Apps.insert_many`` when ``control.demo.seed.make_apps`` is missing.

    Ids ``scraper_<group>_<n>``; eight groups, five parents, mostly idle or scheduled,
    a few running, failed, fatal or disabled; ``next_run`` spread over two days.
    """
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        group = GROUPS[n % len(GROUPS)]
        parent = rng.choice(PARENTS)
        run_status = rng.choice(RUN_STATUSES)
        fatal = run_status == "FAILED" and rng.random() < 0.5
        created = SEED_TIME - dt.timedelta(days=rng.randint(30, 400))
        rows.append(
            {
                "id": f"scraper_{group}_{n:05d}",
                "group": group,
                "parent": parent,
                "app": f"scraper_{group}_{parent}_{n:05d}",
                "description": f"Collects {parent} records for {group.upper()}.",
                "settings": {"batch": rng.choice((50, 100, 500)), "retries": rng.randint(0, 5)},
                "schedule": rng.choice(SCHEDULES),
                "timezone": "UTC",
                "next_run": SEED_TIME + dt.timedelta(minutes=rng.randint(0, 2 * 24 * 60)),
                "run_status": run_status,
                "command_flag": "NONE",
                "fatal_flag": "FATAL" if fatal else "NO_FATAL",
                "fatal_reason": "login rejected" if fatal else None,
                "consecutive_failures": rng.randint(1, 6) if run_status == "FAILED" else 0,
                "disabled": rng.random() < 0.08,
                "is_service": rng.random() < 0.05,
                "progress_current": rng.randint(0, 900) if run_status == "RUNNING" else None,
                "progress_total": 1000 if run_status == "RUNNING" else None,
                "progress_updated": SEED_TIME if run_status == "RUNNING" else None,
                "created": created,
                "updated": created + dt.timedelta(days=rng.randint(0, 29)),
            }
        )
    return rows


def make_app_rows(count: int, seed: int = 0) -> tuple[list[dict[str, Any]], str]:
    """App rows from ``control.demo.seed.make_apps`` when it exists, else the fallback.

    Returns the rows and where they came from (for the results).
    """
    try:
        from control.demo import seed as demo_seed
    except ImportError:
        demo_seed = None
    make_apps = getattr(demo_seed, "make_apps", None)
    if make_apps is not None:
        try:
            rows = list(make_apps(count, seed=seed))
        except TypeError:
            rows = []
        if rows:
            return rows, "control.demo.seed.make_apps"
    return fallback_make_apps(count, seed), "bench/_common.py fallback_make_apps"


def finished_run(
    app_id: str, started: dt.datetime, failed: bool, rng: random.Random
) -> dict[str, Any]:
    """A scheduled run of ``app_id`` that started at ``started`` and ended 30 s to an hour
    later (one draw of ``rng``), failed or completed: a ``Runtime`` row."""
    return {
        "id": f"{started:%Y%m%d_%H%M%S}_{app_id}",
        "app": app_id,
        "started": started,
        "ended": started + dt.timedelta(seconds=rng.randint(30, 3600)),
        "status": "FAILED" if failed else "COMPLETED",
        "trigger": "schedule",
    }


def insert_apps_and_runs(rows: Sequence[dict[str, Any]], runs: Sequence[dict[str, Any]]) -> None:
    """The app rows and their finished runs into the bound database, each app's
    ``last_runtime`` set to its latest run, then ``VACUUM ANALYZE``."""
    from control.apps.models import Apps
    from control.db.database import database
    from control.runtimes.models import Runtime

    with database.connection_context(), database.atomic():
        for start in range(0, len(rows), 1000):
            Apps.insert_many(rows[start : start + 1000]).execute()
        for start in range(0, len(runs), 1000):
            Runtime.insert_many(runs[start : start + 1000]).execute()
        database.execute_sql(
            "UPDATE apps SET last_runtime = r.id FROM (SELECT DISTINCT ON (app_id) app_id, id "
            "FROM runtime ORDER BY app_id, started DESC) r WHERE r.app_id = apps.id"
        )
    with database.connection_context():
        # A settled table, as autovacuum leaves it: visibility map and statistics.
        database.execute_sql("VACUUM ANALYZE")


# --- Measuring series (shared by benchmarks written after apps_list.py) -------------------

Statement = tuple[str, tuple[Any, ...]]


@dataclass
class Series:
    """One measured series: per-operation latencies and the wall time of the series."""

    label: str
    latencies: list[float]
    wall: float
    errors: int = 0
    cpu_per_op: dict[str, float] | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def pct(self, pct: float) -> float:
        return percentile(self.latencies, pct)


class _SqlCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[Statement] = []

    def emit(self, record: logging.LogRecord) -> None:
        # peewee logs each query as the tuple (sql, params); the pool logs plain text.
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            sql, params = record.msg
            self.statements.append((str(sql), tuple(params or ())))


@contextmanager
def captured_sql() -> Iterator[list[Statement]]:
    """The exact (sql, params) statements peewee sends inside the block."""
    logger = logging.getLogger("peewee")
    handler = _SqlCapture()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _raw_once(cur: Any, statements: Sequence[Statement]) -> None:
    for sql, params in statements:
        cur.execute(sql, params)
        cur.fetchall()


def time_raw_sequential(
    url: str, items: Sequence[Sequence[Statement]], warmup: int, label: str
) -> Series:
    """Each item's statements on one psycopg2 connection, one item after another."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        for statements in items[:warmup]:
            _raw_once(cur, statements)
        latencies: list[float] = []
        began = time.perf_counter()
        for statements in items:
            t0 = time.perf_counter()
            _raw_once(cur, statements)
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - began
    return Series(label, latencies, wall)


def time_raw_threads(
    url: str, items: Sequence[Sequence[Statement]], threads: int, warmup: int, label: str
) -> Series:
    """The items spread over ``threads`` threads, each with its own connection."""
    conns = [pg_connect(url) for _ in range(threads)]
    latencies = [0.0] * len(items)
    try:

        def work(worker: int, series: Sequence[Sequence[Statement]], record: bool) -> None:
            with conns[worker].cursor() as cur:
                for i in range(worker, len(series), threads):
                    t0 = time.perf_counter()
                    _raw_once(cur, series[i])
                    if record:
                        latencies[i] = time.perf_counter() - t0

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda w: work(w, items[:warmup], False), range(threads)))
            began = time.perf_counter()
            list(pool.map(lambda w: work(w, items, True), range(threads)))
            wall = time.perf_counter() - began
    finally:
        for conn in conns:
            conn.close()
    return Series(label, latencies, wall)


async def _load(
    client: httpx.AsyncClient, paths: Sequence[str], concurrency: int
) -> tuple[list[float], float, int]:
    latencies = [0.0] * len(paths)
    errors = 0
    todo = iter(range(len(paths)))

    async def worker() -> None:
        nonlocal errors
        for i in todo:  # one shared iterator: each index goes to exactly one worker
            t0 = time.perf_counter()
            resp = await client.get(paths[i])
            latencies[i] = time.perf_counter() - t0
            if resp.status_code != 200:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began, errors


async def _api_series(
    base_url: str,
    token: str,
    paths: Sequence[str],
    concurrency: int,
    warmup: int,
    pid: int,
    label: str,
    client: str,
) -> Series:
    server = psutil.Process(pid)
    headers = {"Authorization": f"Bearer {token}"}

    if client == "lean":
        prepared = prepared_requests(base_url, paths, headers)

        async def load(part: slice) -> tuple[list[float], float, int]:
            return await lean_load(base_url, prepared[part], concurrency)

    else:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        http = httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=120)

        async def load(part: slice) -> tuple[list[float], float, int]:
            return await _load(http, paths[part], concurrency)

    try:
        await load(slice(0, warmup))
        server_before = server.cpu_times()
        client_before = time.process_time()
        latencies, wall, errors = await load(slice(0, len(paths)))
        client_cpu = time.process_time() - client_before
        server_after = server.cpu_times()
    finally:
        if client != "lean":
            await http.aclose()
    server_cpu = (server_after.user - server_before.user) + (
        server_after.system - server_before.system
    )
    cpu = {"server": server_cpu / len(paths), "client": client_cpu / len(paths)}
    return Series(label, latencies, wall, errors, cpu)


def time_api(
    base_url: str,
    token: str,
    paths: Sequence[str],
    concurrency: int,
    warmup: int,
    pid: int,
    label: str,
    client: str = "lean",
) -> Series:
    """GET each path (keep-alive, ``concurrency`` in flight) with a bearer token; also the
    server's and this client's CPU time per request.

    ``client="lean"`` (the default) sends them with ``_lean_http`` on uvloop, a client
    whose own CPU is tens of microseconds a request; ``"httpx"`` with ``httpx.AsyncClient``
    (2-3.6 ms of CPU a request on the machines here, taken from the server's share).
    """
    series = _api_series(base_url, token, paths, concurrency, warmup, pid, label, client)
    return uvloop.run(series) if client == "lean" else asyncio.run(series)


def time_api_side_by_side(
    servers: Sequence[tuple[str, str, int, str]],
    paths: Sequence[str],
    concurrency: int,
    warmup: int,
    slice_size: int = 100,
) -> list[Series]:
    """``time_api`` on several servers (base URL, token, pid, label) at once: the paths in
    slices of ``slice_size``, each slice sent to every server in turn (the order reversed
    every other slice), so that the machine's drift falls on all of them alike; one
    series per server, its CPU summed over its slices."""
    for base_url, token, pid, label in servers:
        time_api(base_url, token, paths[:warmup], concurrency, 0, pid, label)
    parts: list[list[Series]] = [[] for _ in servers]
    for number, start in enumerate(range(0, len(paths), slice_size)):
        chunk = paths[start : start + slice_size]
        order = list(enumerate(servers))
        for index, (base_url, token, pid, label) in order[:: -1 if number % 2 else 1]:
            parts[index].append(time_api(base_url, token, chunk, concurrency, 0, pid, label))
    merged = []
    for (_, _, _, label), series in zip(servers, parts, strict=True):
        count = sum(len(s.latencies) for s in series)
        cpu = {
            side: sum((s.cpu_per_op or {}).get(side, 0.0) * len(s.latencies) for s in series)
            / count
            for side in ("server", "client")
        }
        merged.append(
            Series(
                label,
                [x for s in series for x in s.latencies],
                sum(s.wall for s in series),
                sum(s.errors for s in series),
                cpu,
            )
        )
    return merged


# --- The API server -----------------------------------------------------------------------

HEALTH_PATH = "/api/v1/system/health"
LOGIN_PATH = "/api/v1/auth/token"


@contextmanager
def dcctl_serve(
    database_url: str, workdir: Path, jwt_secret: str, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``dcctl serve`` on a free port of 127.0.0.1; yields (base URL, pid); always stops it.

    The environment has no ``DC_`` variable but these; the scratch ``workdir`` is the
    working directory, so no ``.env`` of the checkout is read.
    """
    port = free_port()
    env = {
        "DC_JWT_SECRET": jwt_secret,
        "DC_DATABASE_URL": database_url,
        "DC_API_HOST": "127.0.0.1",
        "DC_API_PORT": str(port),
        "DC_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    dcctl = REPO_DIR / ".venv" / "bin" / "dcctl"
    with serve_process([str(dcctl), "serve"], env, port, HEALTH_PATH, workdir) as served:
        yield served


@contextmanager
def floor_serve(database_url: str, workdir: Path) -> Iterator[tuple[str, int]]:
    """``bench/_floor_app.py`` under uvicorn (as ``dcctl serve`` runs it: uvloop,
    httptools, no access log) on a free port; yields (base URL, pid)."""
    port = free_port()
    uvicorn = REPO_DIR / ".venv" / "bin" / "uvicorn"
    argv = [str(uvicorn), "--app-dir", str(BENCH_DIR), "_floor_app:app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    env = {"DC_BENCH_FLOOR_DATABASE_URL": database_url}
    with serve_process(argv, env, port, "/floor", workdir) as served:
        yield served


def environment_with(dc_env: dict[str, str]) -> dict[str, str]:
    """This process's environment with no ``DC_`` variable but those of ``dc_env`` (which
    may also set others, e.g. ``PYTHONPATH``)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DC_")} | dc_env


@contextmanager
def serve_process(
    argv: list[str], dc_env: dict[str, str], port: int, ready_path: str, workdir: Path
) -> Iterator[tuple[str, int]]:
    """``argv`` started in ``workdir`` with no ``DC_`` variable but ``dc_env``, until
    ``ready_path`` answers 200 (30 s at most); yields (base URL, pid); always stops it."""
    env = environment_with(dc_env)
    name = Path(argv[0]).name
    log_path = workdir / f"{name}-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{log_path.read_text()}")
            with suppress(httpx.HTTPError):
                if httpx.get(base_url + ready_path, timeout=2, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base_url, proc.pid
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def create_bench_user(email: str, role: str = "viewer") -> str:
    """A user in the bound database to log in with; returns its (random) password."""
    from control.auth.roles import Role
    from control.auth.users import create_user
    from control.db.database import database

    password = secrets.token_urlsafe(24)
    with database.connection_context():
        create_user(email, password, Role(role))
    return password


def login(base_url: str, email: str, password: str) -> str:
    """An access token from the password grant, as the dashboard gets one."""
    resp = httpx.post(
        base_url + LOGIN_PATH, json={"username": email, "password": password}, timeout=30
    )
    if resp.status_code != 200:
        raise RuntimeError(f"login failed ({resp.status_code}): {resp.text[:300]}")
    return str(resp.json()["data"]["access_token"])
