"""Every list and aggregate endpoint through the real API server on a fleet-scale database.

Loads (``bench/_fleet_data.py``, COPY) a fleet of 10,000 apps, 1,000,000 runtimes,
10,000,000 log records, 2,000,000 function-log rows, 1,000,000 pipeline tasks and
200,000 audit rows over the last 30 days into a scratch PostgreSQL database migrated by
``dcctl db upgrade``, then measures through ``dcctl serve`` (the lean client, keep-alive,
concurrency 1, as an admin with a bearer token) the apps list with each filter and
sort, groups, fleet health, runtimes, logs with search, function logs, the slowest
functions and trends, pipeline tasks, throughput, errors and stages, and the activity
feed and figures: p50 / p95 of each. For the cursor lists, a deep page (page 50, reached
by following ``next_cursor``) against the first page; for the offset lists, ``page=50``.

Targets (issue 17): each p95 <= 100 ms; a deep page <= 1.2x the first.

``--scale 0.1`` loads a tenth of everything (a quick run). ``--keep`` keeps the loaded
database (``bench_fleet_keep_<scale>``, or ``bench_fleet_keep_<name>`` with ``--name``,
``_<scale>`` added below scale 1) and reuses it on the next run with ``--keep``
(``dcctl db upgrade`` runs again, so a new migration's indexes apply); drop it with
``--drop`` (and the same ``--name``). A database kept from before migration 0018 (time
partitions) is upgraded by copying its rows into the partitioned tables (long at scale
1, not measured), and its days older than 30 days from now land in the default
partition: ``--drop`` it and load afresh to measure the partitioned layout. ``--only
WORD`` measures the endpoints whose name contains WORD.
``--record`` rewrites this benchmark's section of bench/RESULTS.md.

    .venv/bin/python bench/fleet_scale.py [--scale 1] [--keep] [--requests 30] [--record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import importlib
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlparse

import httpx
from _common import (
    ADMIN_URL,
    MACHINE_LOCK,
    REPO_DIR,
    Series,
    busy_cpu_percent,
    create_bench_user,
    dcctl_serve,
    environment_with,
    fmt_ms,
    load_average,
    login,
    machine_description,
    markdown_table,
    now_utc,
    pg_connect,
    postgres_version,
    scratch_database,
    time_api,
    write_results_section,
)
from _fleet_data import Counts, load

from control.db.database import init_database

NAME = "fleet_scale"
API = "/api/v1"
JWT_SECRET = "bench-fleet-scale-signing-secret-0123456789"  # never a real one
BENCH_USER = "bench-fleet-admin@example.com"
# Rate limits that count but never refuse; the web process alone, as production runs it
# (the embedded agent, worker and periodic jobs, among them the health evaluator's pass
# over the 10,000 apps every minute, would add their CPU to whatever is measured then).
SERVER_ENV = {
    "DC_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
    "DC_EMBEDDED_BACKGROUND": "false",
}
# requests per interleaved round of a first and a deep page (3 rounds of each)
DEEP_ROUND_MIN = 10
TARGET_P95 = 0.100
TARGET_DEEP = 1.2
DEEP_PAGE = 50

log = logging.getLogger("bench.fleet_scale")


# --- The database -------------------------------------------------------------------------


def kept_name(scale: float, name: str | None = None) -> str:
    """The kept database of ``scale``: ``bench_fleet_keep_<scale>``, or with a ``name``
    (one per person or branch measuring) ``bench_fleet_keep_<name>[_<scale>]``."""
    tag = f"{scale:g}".replace(".", "_")
    if name is None:
        return f"bench_fleet_keep_{tag}"
    return f"bench_fleet_keep_{name}" + ("" if scale == 1 else f"_{tag}")


def _url_of(name: str) -> str:
    return urlparse(ADMIN_URL)._replace(path=f"/{name}").geturl()


@contextmanager
def kept_database(name: str) -> Iterator[tuple[str, bool]]:
    """``name`` on the admin server, created when missing; yields (URL, existed)."""
    with closing(pg_connect(ADMIN_URL)) as admin, admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        existed = cur.fetchone() is not None
        if not existed:
            cur.execute(f'CREATE DATABASE "{name}"')
    yield _url_of(name), existed


def drop_database(name: str) -> None:
    with closing(pg_connect(ADMIN_URL)) as admin, admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')


def dcctl_upgrade(url: str) -> None:
    """``dcctl db upgrade`` against ``url``, as an operator migrates."""
    env = environment_with({"DC_DATABASE_URL": url, "DC_JWT_SECRET": JWT_SECRET})
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [str(REPO_DIR / ".venv" / "bin" / "dcctl"), "db", "upgrade"],
            cwd=tmp,
            env=env,
            check=True,
            capture_output=True,
        )


def loaded_counts(url: str) -> dict[str, int]:
    """Rows per table (estimates from the statistics for the large ones)."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)",
            (["apps", "runtime", "logs", "function_log", "pipeline_task", "audit_log"],),
        )
        return {name: int(n) for name, n in cur.fetchall()}


# --- What is measured -----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One measured endpoint: a name and the request paths (cycled over the requests)."""

    name: str
    paths: tuple[str, ...]


def _q(path: str, **params: object) -> str:
    shown = {k: v for k, v in params.items() if v is not None}
    return f"{API}{path}?{urlencode(shown)}" if shown else f"{API}{path}"


def samples(url: str) -> dict[str, list[str]]:
    """Ids to ask for: busy and quiet apps, runs, function names."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT app_id FROM runtime GROUP BY app_id ORDER BY count(*) DESC LIMIT 5")
        busy = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM apps ORDER BY md5(id) LIMIT 20")
        some = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM runtime ORDER BY md5(id) LIMIT 20")
        runs = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT group_name FROM apps GROUP BY 1 ORDER BY count(*) DESC LIMIT 4")
        groups = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT parent_name FROM apps GROUP BY 1 ORDER BY count(*) DESC LIMIT 2")
        parents = [r[0] for r in cur.fetchall()]
    return {"busy": busy, "apps": some, "runs": runs, "groups": groups, "parents": parents}


def endpoints(ids: dict[str, list[str]]) -> list[Endpoint]:
    """Every list and aggregate endpoint, each with its variants of parameters."""
    apps, busy, runs = ids["apps"], ids["busy"], ids["runs"]
    week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:00:00Z")
    e = Endpoint
    found: list[Endpoint] = [
        e("apps", (_q("/apps"),)),
        e("apps per_page=100", (_q("/apps", per_page=100),)),
        e("apps group", tuple(_q("/apps", group=g) for g in ids["groups"])),
        e("apps parent", tuple(_q("/apps", parent=p) for p in ids["parents"])),
        e("apps run_status=RUNNING", (_q("/apps", run_status="RUNNING"),)),
        e("apps run_status=FAILED", (_q("/apps", run_status="FAILED"),)),
        e("apps fatal_flag=FATAL", (_q("/apps", fatal_flag="FATAL"),)),
        e("apps disabled", (_q("/apps", disabled="true"),)),
        e("apps is_service", (_q("/apps", is_service="true"),)),
        e("apps q (text)", tuple(_q("/apps", q=w) for w in ("court", "registry_de", "geocode_7"))),
        e("apps health=unhealthy", (_q("/apps", health="unhealthy"),)),
        e("apps health=ok", (_q("/apps", health="ok"),)),
        e(
            "apps group+run_status+sort",
            (_q("/apps", group=ids["groups"][0], run_status="IDLE", sort="-next_run"),),
        ),
    ]
    for field in ("id", "app", "group", "parent", "run_status", "fatal_flag", "next_run"):
        found.append(e(f"apps sort=-{field}", (_q("/apps", sort=f"-{field}"),)))
    for field in ("disabled", "last_run", "updated"):
        found.append(e(f"apps sort=-{field}", (_q("/apps", sort=f"-{field}"),)))
    found += [
        e("groups", (_q("/groups"),)),
        e("health fleet", (_q("/health/fleet"),)),
        e("runtimes", (_q("/runtimes"),)),
        e("runtimes app", tuple(_q("/runtimes", app=a) for a in apps[:5] + busy[:2])),
        e("runtimes app glob", (_q("/runtimes", app="scraper_*"),)),
        e("runtimes status=FAILED", (_q("/runtimes", status="FAILED"),)),
        e("runtimes from 7d ago", (_q("/runtimes", **{"from": week_ago}),)),
        e("runtimes recent (100 apps)", (_q("/runtimes/recent", app_ids=",".join(apps * 5)),)),
        e("logs", (_q("/logs"),)),
        e("logs app", tuple(_q("/logs", app=a) for a in apps[:5] + busy[:2])),
        e("logs runtime", tuple(_q("/logs", runtime=r) for r in runs[:5])),
        e("logs level=ERROR", (_q("/logs", level="ERROR"),)),
        e("logs from 7d ago", (_q("/logs", **{"from": week_ago}),)),
        e("logs search=timeout", (_q("/logs", search="timeout"),)),
        e("logs search=deadlock", (_q("/logs", search="deadlock"),)),
        e(
            "logs search+level+app glob",
            (_q("/logs", search="timeout", level="WARNING", app="scraper_*"),),
        ),
        e("logs search+app", tuple(_q("/logs", search="timeout", app=a) for a in busy[:3])),
        e("functions", (_q("/performance/functions"),)),
        e("functions app", tuple(_q("/performance/functions", app=a) for a in apps[:5])),
        e("functions function_name", (_q("/performance/functions", function_name="ocr_page"),)),
        e("slowest (all time)", (_q("/performance/functions/slowest"),)),
        e("slowest last_24h", (_q("/performance/functions/slowest", period="last_24h"),)),
        e("slowest last_7d", (_q("/performance/functions/slowest", period="last_7d"),)),
        e("trends hour (24 h)", (_q("/performance/functions/trends", bucket="hour"),)),
        e("trends day (30 d)", (_q("/performance/functions/trends", bucket="day"),)),
        e(
            "trends day app",
            tuple(_q("/performance/functions/trends", bucket="day", app=a) for a in apps[:5]),
        ),
        e(
            "functions history app",
            tuple(_q(f"/performance/functions/{a}", bucket="day") for a in apps[:5]),
        ),
        e("pipeline tasks", (_q("/pipelines/tasks"),)),
        e("pipeline tasks status=FAILED", (_q("/pipelines/tasks", status="FAILED"),)),
        e("pipeline tasks document_type", (_q("/pipelines/tasks", document_type="patent"),)),
        e("pipeline tasks app", tuple(_q("/pipelines/tasks", app=a) for a in apps[:5])),
        e("pipelines throughput last_1h", (_q("/pipelines/throughput", period="last_1h"),)),
        e("pipelines throughput last_24h", (_q("/pipelines/throughput", period="last_24h"),)),
        e("pipelines throughput last_7d", (_q("/pipelines/throughput", period="last_7d"),)),
        e("pipelines errors last_24h", (_q("/pipelines/errors", period="last_24h"),)),
        e("pipelines errors last_7d", (_q("/pipelines/errors", period="last_7d"),)),
        e("pipelines stages last_24h", (_q("/pipelines/stages", period="last_24h"),)),
        e("pipelines stages last_7d", (_q("/pipelines/stages", period="last_7d"),)),
        e("activity", (_q("/activity"),)),
        e("activity action=apps.*", (_q("/activity", action="apps.*"),)),
        e("activity actor", (_q("/activity", actor="operator3@example.com"),)),
        e("activity stats last_24h", (_q("/activity/stats", period="last_24h"),)),
        e("activity stats last_7d", (_q("/activity/stats", period="last_7d"),)),
    ]
    return found


CURSOR_LISTS = {
    # the apps list pages by offset or by cursor: deep pages follow next_cursor
    "apps": _q("/apps"),
    "apps sort=-next_run": _q("/apps", sort="-next_run"),
    "runtimes": _q("/runtimes"),
    "logs": _q("/logs"),
    "logs search=timeout": _q("/logs", search="timeout"),
    "functions": _q("/performance/functions"),
    "activity": _q("/activity"),
}
OFFSET_LISTS = {
    "pipeline tasks": _q("/pipelines/tasks"),
}


def deep_path(base_url: str, token: str, first: str, depth: int) -> str:
    """The path of page ``depth`` of a cursor list, by following ``next_cursor``."""
    headers = {"Authorization": f"Bearer {token}"}
    path = first
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        for _ in range(depth - 1):
            resp = client.get(path)
            resp.raise_for_status()
            cursor = resp.json()["meta"]["next_cursor"]
            if cursor is None:
                break
            joiner = "&" if "?" in first else "?"
            path = f"{first}{joiner}{urlencode({'cursor': cursor})}"
    return path


def check(base_url: str, token: str, paths: Sequence[str]) -> None:
    """Every path answers 200 before anything is timed."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=300) as client:
        for path in dict.fromkeys(paths):
            resp = client.get(path)
            if resp.status_code != 200:
                raise RuntimeError(f"GET {path}: {resp.status_code} {resp.text[:300]}")


def measure(
    base_url: str, token: str, pid: int, name: str, paths: Sequence[str], requests: int, warmup: int
) -> Series:
    cycled = [paths[i % len(paths)] for i in range(requests)]
    return time_api(base_url, token, cycled, 1, warmup, pid, name)


# --- Report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "**over**"


def _fig(s: Series) -> list[str]:
    return [fmt_ms(s.pct(50)), fmt_ms(s.pct(95))]


def endpoint_table(after: Sequence[Series], before: Sequence[Series] | None) -> str:
    """One row per endpoint: (before p50, p95,) p50, p95, max, errors, within target."""
    rows = []
    for i, s in enumerate(after):
        was = _fig(before[i]) if before else []
        ok = verdict(s.pct(95) <= TARGET_P95 and not s.errors)
        rows.append([s.label, *was, *_fig(s), fmt_ms(max(s.latencies)), str(s.errors), ok])
    head = ["endpoint"]
    if before:
        head += ["before p50 ms", "before p95 ms"]
    head += ["p50 ms", "p95 ms", "max ms", "errors", "p95 ≤ 100 ms"]
    return markdown_table(head, rows)


def deep_table(
    after: Sequence[tuple[str, Series, Series]],
    before: Sequence[tuple[str, Series, Series]] | None,
) -> str:
    rows = []
    for i, (name, first, deep) in enumerate(after):
        ratio = deep.pct(50) / first.pct(50)
        was = []
        if before:
            _, b_first, b_deep = before[i]
            was = [f"{b_deep.pct(50) / b_first.pct(50):.2f}x", fmt_ms(b_deep.pct(95))]
        rows.append(
            [
                name,
                *was,
                *_fig(first),
                *_fig(deep),
                f"{ratio:.2f}x",
                verdict(ratio <= TARGET_DEEP and deep.pct(95) <= TARGET_P95),
            ]
        )
    head = ["list"]
    if before:
        head += ["before deep / first", f"before page {DEEP_PAGE} p95 ms"]
    head += [
        "page 1 p50 ms",
        "page 1 p95 ms",
        f"page {DEEP_PAGE} p50 ms",
        f"page {DEEP_PAGE} p95 ms",
        "deep / first (p50)",
        "≤ 1.2x and p95 ≤ 100 ms",
    ]
    return markdown_table(head, rows)


# --- Main -----------------------------------------------------------------------------------


def prepare(url: str, existed: bool, counts: Counts, seed: int) -> dict[str, object]:
    """Migrate; load the fleet unless the kept database already holds it."""
    began = time.perf_counter()
    dcctl_upgrade(url)
    if existed and loaded_counts(url).get("apps", 0) > 0:
        log.info("reusing the loaded database (dcctl db upgrade run again)")
        roll_up_once(url)
        return {"reused": True}
    log.info(
        "loading %s apps, %s runtimes, %s logs, %s function logs, %s pipeline tasks ...",
        f"{counts.apps:,}",
        f"{counts.runtimes:,}",
        f"{counts.logs:,}",
        f"{counts.function_logs:,}",
        f"{counts.pipeline_tasks:,}",
    )
    figures = load(url, counts, seed, log.info)
    roll_up_once(url)
    figures["load_s"] = time.perf_counter() - began
    figures["reused"] = False
    log.info("loaded in %.0f s; database %s", figures["load_s"], figures["size"])
    return figures


@dataclass(frozen=True)
class Server:
    """One running ``dcctl serve``: the code it runs, where, and a token for it."""

    label: str
    base_url: str
    pid: int
    token: str


@contextmanager
def machine_lock(timeout: float) -> Iterator[bool]:
    """The benchmarks' machine-wide lock, waited for at most ``timeout`` seconds; yields
    whether it was taken (if not, another benchmark measures at the same time)."""
    deadline = time.monotonic() + timeout
    with MACHINE_LOCK.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(1)
                continue
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            return


@contextmanager
def baseline_code(rev: str | None) -> Iterator[Path | None]:
    """The tree of ``rev`` (``git archive``) in a temporary directory, to run the
    baseline server from (``PYTHONPATH`` puts it before the checkout); None without."""
    if rev is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", rev], cwd=REPO_DIR, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def wanted(only: str | None, name: str) -> bool:
    """Whether ``--only`` (comma-separated parts of names) selects ``name``."""
    return only is None or any(part.strip() in name for part in only.split(","))


def _measure_all(
    servers: Sequence[Server], name: str, paths: Sequence[str], requests: int, warmup: int
) -> list[Series]:
    return [measure(s.base_url, s.token, s.pid, name, paths, requests, warmup) for s in servers]


def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    ids = samples(url)
    chosen = [e for e in endpoints(ids) if wanted(args.only, e.name)]
    password = fresh_admin(url)
    with ExitStack() as stack:
        servers: list[Server] = []
        base = stack.enter_context(baseline_code(args.baseline))
        runs = [("after", None)] if base is None else [("before", base), ("after", None)]
        for label, code in runs:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            extra = dict(SERVER_ENV, **({"PYTHONPATH": str(code)} if code else {}))
            base_url, pid = stack.enter_context(dcctl_serve(url, tmp, JWT_SECRET, extra))
            log.info("%s: server %s (pid %d) is up", label, base_url, pid)
            servers.append(Server(label, base_url, pid, login(base_url, BENCH_USER, password)))
        current = servers[-1]
        check(current.base_url, current.token, [p for e in chosen for p in e.paths])
        deep_paths = {
            name: (first, deep_path(current.base_url, current.token, first, DEEP_PAGE))
            for name, first in CURSOR_LISTS.items()
            if wanted(args.only, name)
        }
        for name, first in OFFSET_LISTS.items():
            if wanted(args.only, name):
                joiner = "&" if "?" in first else "?"
                deep_paths[name] = (first, f"{first}{joiner}page={DEEP_PAGE}")
        locked = stack.enter_context(machine_lock(args.lock_timeout))
        busy = busy_cpu_percent()
        load_before = load_average()
        series: dict[str, list[Series]] = {s.label: [] for s in servers}
        for endpoint in chosen:
            measured = _measure_all(
                servers, endpoint.name, endpoint.paths, args.requests, args.warmup
            )
            for server, one in zip(servers, measured, strict=True):
                series[server.label].append(one)
            log.info(
                "  %-34s %s",
                endpoint.name,
                "  ".join(
                    f"{s.label} p50 {fmt_ms(m.pct(50)):>8} p95 {fmt_ms(m.pct(95)):>8}"
                    for s, m in zip(servers, measured, strict=True)
                ),
            )
        pairs: dict[str, list[tuple[str, Series, Series]]] = {s.label: [] for s in servers}
        per_round = max(args.requests // 3, DEEP_ROUND_MIN)
        for name, (first, deep) in deep_paths.items():
            # interleaved rounds, so that the machine's noise hits both alike
            firsts: dict[str, list[Series]] = {s.label: [] for s in servers}
            deeps: dict[str, list[Series]] = {s.label: [] for s in servers}
            for _ in range(3):
                for s in servers:
                    firsts[s.label].append(
                        measure(s.base_url, s.token, s.pid, name, [first], per_round, 2)
                    )
                    deeps[s.label].append(
                        measure(s.base_url, s.token, s.pid, name, [deep], per_round, 2)
                    )
            for s in servers:
                pair = (name, _merge(name, firsts[s.label]), _merge(name, deeps[s.label]))
                pairs[s.label].append(pair)
                log.info(
                    "  deep %-29s %s page 1 p50 %7s  page %d p50 %7s ms",
                    name,
                    s.label,
                    fmt_ms(pair[1].pct(50)),
                    DEEP_PAGE,
                    fmt_ms(pair[2].pct(50)),
                )
        load_after = load_average()
    return {
        "series": series,
        "pairs": pairs,
        "busy": busy,
        "locked": locked,
        "load_before": load_before,
        "load_after": load_after,
    }


def _merge(label: str, parts: Sequence[Series]) -> Series:
    return Series(
        label,
        [x for p in parts for x in p.latencies],
        sum(p.wall for p in parts),
        sum(p.errors for p in parts),
    )


ROLLUPS = (
    "control.performance.rollup",
    "control.performance.pairs",
    "control.pipelines.rollup",
    "control.audit.rollup",
    "control.runtimes.rollup",
)


def roll_up_once(url: str) -> None:
    """Bring the hourly rollups up to date, as the scheduled ``roll_up_*`` jobs keep
    them (those the code has)."""
    db = init_database(url)
    try:
        for name in ROLLUPS:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            began = time.perf_counter()
            rolled = module.roll_up()
            log.info("%s %s in %.1f s", name, rolled, time.perf_counter() - began)
    finally:
        db.close()


def fresh_admin(url: str) -> str:
    """The bench admin, created anew (a kept database has the last run's); its password."""
    from control.auth.models import User
    from control.db.database import database

    db = init_database(url)
    try:
        with database.connection_context():
            User.delete().where(User.email == BENCH_USER).execute()
        return create_bench_user(BENCH_USER, role="admin")
    finally:
        db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full fleet")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--drop", action="store_true", help="drop the kept database and exit")
    parser.add_argument(
        "--name", help="name of the kept database: bench_fleet_keep_NAME (see --keep)"
    )
    parser.add_argument("--requests", type=int, default=30, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="requests before measuring")
    parser.add_argument(
        "--only",
        help="only the endpoints whose name contains one of these (comma-separated)",
    )
    parser.add_argument("--seed", type=int, default=17, help="seed of the data")
    parser.add_argument(
        "--baseline", help="also serve the code of this git revision, measured side by side"
    )
    parser.add_argument(
        "--lock-timeout", type=float, default=600, help="wait this long for the machine lock"
    )
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    counts = Counts.at(args.scale)
    if args.drop:
        drop_database(kept_name(args.scale, args.name))
        return 0

    if args.keep:
        database = kept_database(kept_name(args.scale, args.name))
    else:
        database = _scratch(scratch_database("bench_fleet"))
    with database as (url, existed):
        data = prepare(url, existed, counts, args.seed)
        result = run(url, args)
        rows = loaded_counts(url)
        pg_version = postgres_version(url)

    by_server: dict[str, list[Series]] = result["series"]  # type: ignore[assignment]
    by_pairs: dict[str, list[tuple[str, Series, Series]]] = result["pairs"]  # type: ignore[assignment]
    series, pairs = by_server["after"], by_pairs["after"]
    table = endpoint_table(series, by_server.get("before"))
    deep = deep_table(pairs, by_pairs.get("before"))
    over = [s.label for s in series if s.pct(95) > TARGET_P95 or s.errors]
    deep_over = [
        n for n, f, d in pairs if d.pct(50) / f.pct(50) > TARGET_DEEP or d.pct(95) > TARGET_P95
    ]
    summary = (
        f"{len(series) - len(over)} of {len(series)} endpoints within p95 ≤ 100 ms"
        + (f"; over: {', '.join(over)}" if over else "")
        + f". Deep pages within target: {len(pairs) - len(deep_over)} of {len(pairs)}"
        + (f"; over: {', '.join(deep_over)}" if deep_over else "")
        + "."
    )
    loads = (
        f"CPU busy with other work before measuring {result['busy']:.0f}%; load average "
        f"(1/5/15 min) before {result['load_before']}, after {result['load_after']}"
        + (
            ""
            if result["locked"]
            else f"; another benchmark held the machine lock past {args.lock_timeout:.0f} s, "
            "so it ran at the same time"
        )
    )
    print()
    print(table)
    print()
    print(deep)
    print()
    print(summary.replace("**", ""))
    print(loads)

    if args.record:
        machine = machine_description(pg_version)
        loaded = (
            "reused from an earlier load"
            if data.get("reused")
            else f"loaded with COPY in {data['load_s']:.0f} s ({data['size']})"
        )
        body = "\n".join(
            [
                "## fleet_scale: every list and aggregate endpoint on a fleet-scale database"
                + (" (some endpoints, measured again)" if args.only else ""),
                "",
                f"Run {now_utc()} with `bench/fleet_scale.py --scale {args.scale:g} "
                f"--requests {args.requests}"
                + (f" --baseline {args.baseline}" if args.baseline else "")
                + (f" --only '{args.only}'" if args.only else "")
                + "`.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + f". {loads}.",
                "",
                f"Parameters: {rows.get('apps', 0):,} apps, {rows.get('runtime', 0):,} "
                f"runtimes, {rows.get('logs', 0):,} log records, "
                f"{rows.get('function_log', 0):,} function-log rows, "
                f"{rows.get('pipeline_task', 0):,} pipeline tasks, "
                f"{rows.get('audit_log', 0):,} audit rows over 30 days (row counts from the "
                f"statistics), {loaded}, VACUUM ANALYZE; `dcctl serve` (uvicorn, one "
                "process, the web process alone: `DC_EMBEDDED_BACKGROUND=false`) on the "
                "same machine as PostgreSQL and the client; the lean keep-alive "
                "client (`bench/_lean_http.py`), "
                f"concurrency 1, {args.requests} requests per endpoint after {args.warmup} "
                "warm-up, as an admin. Deep page: page 50 reached by following `next_cursor` "
                "(cursor lists) or `page=50` (offset lists), measured interleaved with page 1 "
                f"(3 rounds of {max(args.requests // 3, DEEP_ROUND_MIN)} requests each)."
                + (
                    f" *before*: a second `dcctl serve` on the same database running the code of "
                    f"`{args.baseline}` (`git archive`), measured interleaved with the current "
                    "code, endpoint by endpoint."
                    if args.baseline
                    else ""
                ),
                "",
                f"**{summary}**",
                "",
                table,
                "",
                deep,
            ]
        )
        # a run of some endpoints (--only) keeps the full run's section
        write_results_section(f"{NAME}_only" if args.only else NAME, body)
        print("\nrecorded in bench/RESULTS.md")
    failed = sum(s.errors for s in series)
    return 1 if failed else 0


@contextmanager
def _scratch(scratch):  # type: ignore[no-untyped-def]
    with scratch as url:
        yield url, False


if __name__ == "__main__":
    sys.exit(main())
