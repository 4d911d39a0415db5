"""The app list through the real API server against the same SQL sent with psycopg2.

One run, side by side, on a scratch PostgreSQL database of 10,000 apps (half with a
finished last runtime, so the list's LEFT JOIN finds rows):

* ``GET /api/v1/apps?group=<g>&sort=-next_run&per_page=20&page=<p>`` against
  ``dcctl serve`` (uvicorn, one process, the web process alone:
  ``DC_EMBEDDED_BACKGROUND=false``) with a lean keep-alive client (``_lean_http``,
  tens of microseconds of CPU a request) at concurrency 1 and at ``--concurrency``, and
  for comparison with ``httpx.AsyncClient`` (2-3.6 ms of CPU a request, taken from the
  server's share of the two cores), as a viewer with a bearer token from
  ``POST /api/v1/auth/token`` (the per-token rate limit is raised so that it counts the
  requests but never refuses one);
* the floor under it: ``bench/_floor_app.py`` (one thread hand-off, ``SELECT 1``, 20
  items as JSON, no middleware) on the same uvicorn, with the same client;
* the service call in-process (``control.apps.services.list_apps``: peewee and the list
  items, no HTTP), sequentially;
* the raw round trip of exactly the SQL that call sends (one SELECT with the LEFT JOIN,
  the health verdicts and the COUNT as subqueries, captured from peewee's logger) on
  plain psycopg2 connections, sequentially and with ``--concurrency`` threads.

The measurements run under the machine-wide benchmark lock, after waiting for other CPU
use to settle (``--quiet-timeout``, ``--max-busy``); what was found is recorded.

Prints a table and the ratios; ``--record`` rewrites this benchmark's section of
bench/RESULTS.md. ``--profile N`` also profiles N list requests in-process with cProfile
(falcon's ASGI test conductor, ``asyncio.to_thread`` run inline so the profiler sees
the work the server does in worker threads).

    .venv/bin/python bench/apps_list.py [--requests 2000] [--concurrency 8] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import logging
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _baseline import baseline_env, baseline_tree, seed_baseline
from _common import (
    REPO_DIR,
    Series,
    Statement,
    busy_warning,
    captured_sql,
    code_version,
    cpu_per_request_lines,
    create_bench_user,
    dcctl_serve,
    exclusive_machine,
    finished_run,
    floor_serve,
    fmt_ms,
    insert_apps_and_runs,
    load_average,
    login,
    machine_description,
    make_app_rows,
    markdown_table,
    now_utc,
    postgres_version,
    scratch_database,
    time_api,
    time_api_side_by_side,
    time_raw_sequential,
    time_raw_threads,
    wait_until_quiet,
    write_results_section,
)

from control.apps import services
from control.db import migrate
from control.db.database import database, init_database
from control.querying import parse_sort

NAME = "apps_list"
# The code issue 17 measured "2.7 ms of server CPU per request" on (its target: 1 ms): the
# benchmark serves it beside today's code (bench/_baseline.py) and reports the fraction.
BASELINE_REV = "7c45ba6b75d1db9eb71c87e1a1428ee8cdf8d498"
BASELINE_CPU_MS = 2.7
TARGET_CPU_MS = 1.0
SORT = "-next_run"
PER_PAGE = 20
PAGES = (2, 3, 4)
JWT_SECRET = "bench-apps-list-signing-secret-0123456789"  # 41 chars, never a real one
LIST = "/api/v1/apps"
BENCH_USER = "bench-viewer@example.com"
# What one list call sends, in order (checked when the SQL is captured).
STATEMENTS = ("SELECT with the LEFT JOIN, and the health verdicts and the COUNT as subqueries",)
# Counted per token; high enough that the benchmark's requests are never refused.
TOKEN_RATE_LIMIT = 1_000_000_000
# The web process alone, as in production (the Procfile's ``web``): the agent, the relay,
# the worker and the periodic jobs (the health evaluator's pass over the fleet: 0.6-0.9 s
# of CPU a minute) run in processes of their own, and their CPU is not the requests'.
SERVER_ENV = {
    "DC_TOKEN_RATE_LIMIT_PER_MINUTE": str(TOKEN_RATE_LIMIT),
    "DC_EMBEDDED_BACKGROUND": "false",
}

log = logging.getLogger("bench.apps_list")

Combo = tuple[str, int]  # (group, page)


# --- Data ---------------------------------------------------------------------------------


def seed(app_count: int, seed_value: int) -> tuple[list[str], int, str]:
    """Insert the apps and a finished runtime for about half of them.

    Returns the groups present, the number of runtimes, and where the rows came from.
    """
    rows, source = make_app_rows(app_count, seed=seed_value)
    rng = random.Random(seed_value + 1)
    base = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    runtimes: list[dict[str, Any]] = []
    for row in rows:
        if rng.random() >= 0.5:
            continue
        started = base - dt.timedelta(minutes=rng.randint(10, 7 * 24 * 60))
        failed = rng.random() < 0.15
        total = rng.randint(100, 5000)
        runtimes.append(
            {
                **finished_run(row["id"], started, failed, rng),
                "records_total": total,
                "records_solved": total - (total // 10 if failed else 0),
                "records_failed": total // 10 if failed else 0,
                "error": "upstream 503" if failed else None,
                "host": "bench-host",
            }
        )
    insert_apps_and_runs(rows, runtimes)
    groups = sorted({str(row["group"]) for row in rows})
    return groups, len(runtimes), source


def workload(groups: Sequence[str], count: int, seed_value: int) -> list[Combo]:
    """``count`` (group, page) pairs: every group, pages 2-4, in a shuffled order."""
    rng = random.Random(seed_value + 2)
    return [(rng.choice(groups), rng.choice(PAGES)) for _ in range(count)]


def list_path(combo: Combo) -> str:
    group, page = combo
    query = urlencode({"group": group, "sort": SORT, "per_page": PER_PAGE, "page": page})
    return f"{LIST}?{query}"


# --- The SQL the service sends --------------------------------------------------------------


def call_service(combo: Combo) -> services.Page:
    group, page = combo
    sort = parse_sort(SORT, list(services.SORTABLE))
    return services.list_apps(services.AppFilter(group=group), sort, page, PER_PAGE)


def capture_sql(combos: Sequence[Combo]) -> dict[Combo, list[Statement]]:
    """The exact statements (with parameters) ``list_apps`` sends for each combination."""
    captured: dict[Combo, list[Statement]] = {}
    for combo in sorted(set(combos)):
        with captured_sql() as statements, database.connection_context():
            call_service(combo)
        captured[combo] = list(statements)
    shapes = {len(s) for s in captured.values()}
    if shapes != {len(STATEMENTS)}:
        raise RuntimeError(f"expected {len(STATEMENTS)} statements per list call, got {shapes}")
    return captured


# --- Measurements ---------------------------------------------------------------------------


def run_service(combos: Sequence[Combo], warmup: int) -> Series:
    def once(combo: Combo) -> None:
        with database.connection_context():
            call_service(combo)

    for combo in combos[:warmup]:
        once(combo)
    latencies: list[float] = []
    began = time.perf_counter()
    for combo in combos:
        t0 = time.perf_counter()
        once(combo)
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - began
    return Series("service call in-process (peewee + list items), sequential", latencies, wall)


def api_label(concurrency: int, client: str = "lean") -> str:
    return f"API `dcctl serve`, {client} keep-alive client, concurrency {concurrency}"


def base_label(concurrency: int) -> str:
    return f"the baseline's API (issue 17's code), lean client, concurrency {concurrency}"


Server = tuple[str, str, int]  # base URL, bearer token, pid


def measure_api(
    ours: Server, old: Server | None, paths: Sequence[str], concurrency: int, warmup: int
) -> tuple[Series, Series | None]:
    """This code's API; with the baseline's beside it in alternating slices (the same
    drift of the machine on both)."""
    base_url, token, pid = ours
    if old is None:
        label = api_label(concurrency)
        return time_api(base_url, token, paths, concurrency, warmup, pid, label), None
    mine, theirs = time_api_side_by_side(
        [(*ours, api_label(concurrency)), (*old, base_label(concurrency))],
        paths,
        concurrency,
        warmup,
    )
    return mine, theirs


def check_answer(base_url: str, token: str, path: str) -> None:
    """One request through the server: a full page of apps."""
    resp = httpx.get(base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    if resp.status_code != 200:
        raise RuntimeError(f"GET {path}: {resp.status_code} {resp.text[:300]}")
    if len(resp.json()["data"]) != PER_PAGE:
        raise RuntimeError(f"expected {PER_PAGE} items per page: {resp.text[:300]}")


# --- Profile --------------------------------------------------------------------------------


def profile_requests(
    url: str, token: str, paths: Sequence[str], count: int, top: int = 25
) -> tuple[str, list[str]]:
    """cProfile of ``count`` list requests in-process (falcon ASGI conductor).

    The database calls (``web.concurrency``'s worker threads) and ``asyncio.to_thread``
    run inline while profiling, because cProfile only sees the thread it was enabled in;
    this changes nothing outside this process.
    """
    import falcon.testing

    # Some modules read the process settings when imported; give them this run's.
    os.environ.update(
        DC_JWT_SECRET=JWT_SECRET,
        DC_DATABASE_URL=url,
        DC_LOG_LEVEL="WARNING",
        DC_TOKEN_RATE_LIMIT_PER_MINUTE=str(TOKEN_RATE_LIMIT),
    )
    from control.settings import load_settings
    from web.app import create_app

    settings = load_settings(
        jwt_secret=JWT_SECRET,
        database_url=url,
        log_level="WARNING",
        token_rate_limit_per_minute=TOKEN_RATE_LIMIT,
    )
    app = create_app(settings, bind_database=False)
    headers = {"Authorization": f"Bearer {token}"}

    async def inline_to_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def inline_database_call(call: Callable[[], Any]) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        try:
            future.set_result(call())
        except Exception as exc:  # noqa: BLE001 - the request answers it, as from a thread
            future.set_exception(exc)
        return future

    async def drive(profiler: cProfile.Profile | None, series: Sequence[str]) -> None:
        async with falcon.testing.ASGIConductor(app) as conductor:
            for path in series:
                route, _, query = path.partition("?")
                if profiler is not None:
                    profiler.enable()
                result = await conductor.simulate_get(route, query_string=query, headers=headers)
                if profiler is not None:
                    profiler.disable()
                if result.status_code != 200:
                    raise RuntimeError(f"in-process request failed: {result.text[:300]}")

    from web import concurrency

    original = asyncio.to_thread
    asyncio.to_thread = inline_to_thread  # type: ignore[assignment]
    threads = concurrency._database_threads
    threads.run = inline_database_call  # type: ignore[method-assign]
    try:
        asyncio.run(drive(None, paths[:50]))
        profiler = cProfile.Profile()
        asyncio.run(drive(profiler, paths[:count]))
    finally:
        asyncio.to_thread = original
        del threads.run
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue(), profile_table(stats, count)


def _where(file: str, line: int, name: str) -> str:
    """``module.py:line(name)`` with the directories up to the package dropped."""
    for marker in ("site-packages/", f"{REPO_DIR}/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{line}({name})" if line else name


def profile_table(stats: pstats.Stats, requests: int, top: int = 12) -> list[str]:
    """The profile's top entries by own time, per request, as a markdown table."""
    entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    rows = [
        [
            f"`{_where(*where)}`",
            f"{calls / requests:.1f}",
            f"{own / requests * 1000:.3f}",
            f"{total / requests * 1000:.3f}",
        ]
        for where, (_prim, calls, own, total, _callers) in entries[:top]
    ]
    headers = ["function", "calls/request", "own ms/request", "cumulative ms/request"]
    return markdown_table(headers, rows).splitlines()


# --- Report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """The four series measured together, one after another: the ratios come from one
    round, so that the machine's drift between rounds cancels out."""

    api_c1: Series
    api: Series
    raw_seq: Series
    raw_par: Series
    base_c1: Series | None = None  # the baseline's code, same client (--baseline)
    base: Series | None = None

    def ratios(self) -> dict[str, float]:
        base = {}
        if self.base_c1 is not None and self.base is not None:
            base = {
                "base_1": _server_cpu(self.base_c1),
                "base_c": _server_cpu(self.base),
                "frac_1": _server_cpu(self.api_c1) / _server_cpu(self.base_c1),
                "frac_c": _server_cpu(self.api) / _server_cpu(self.base),
            }
        return base | {
            "p50_c": self.api.pct(50) / self.raw_par.pct(50),
            "rate_c": self.api.rate / self.raw_par.rate,
            "p50_1": self.api_c1.pct(50) / self.raw_seq.pct(50),
            "rate_1": self.api_c1.rate / self.raw_seq.rate,
            "cpu_1": _server_cpu(self.api_c1),
            "cpu_c": _server_cpu(self.api),
        }


def _server_cpu(series: Series) -> float:
    return (series.cpu_per_op or {}).get("server", 0.0)


def baseline_lines(each: Sequence[dict[str, float]], concurrency: int, rev: str) -> list[str]:
    """Server CPU per request as a fraction of the baseline's, measured in the same rounds,
    and what the issue's target (TARGET_CPU_MS where the baseline took BASELINE_CPU_MS)
    makes of it on this machine."""
    limit = TARGET_CPU_MS / BASELINE_CPU_MS

    def fraction(name: str, bold: str = "") -> str:
        values = [e[name] for e in each]
        rounds_text = ", ".join(f"{v:.2f}" for v in values)
        return f"{bold}{statistics.median(values):.2f}{bold} (rounds: {rounds_text})"

    base_1 = statistics.median(e["base_1"] for e in each) * 1000
    base_c = statistics.median(e["base_c"] for e in each) * 1000
    frac_1 = statistics.median(e["frac_1"] for e in each)
    verdict = "met" if frac_1 <= limit else "NOT met"
    return [
        f"Server CPU per request beside the baseline (`{rev[:7]}`, the code the issue "
        f"measured {BASELINE_CPU_MS} ms on), same client, alternating slices: this code / the "
        f"baseline {fraction('frac_1', '**')} at concurrency 1, {fraction('frac_c')} at "
        f"concurrency {concurrency}; the baseline here: {base_1:.2f} ms and {base_c:.2f} ms",
        f"The target, {TARGET_CPU_MS} ms where the baseline takes {BASELINE_CPU_MS} ms, is a "
        f"fraction of {limit:.2f} on any machine: {verdict} at concurrency 1 "
        f"({frac_1:.2f}; on this machine {limit * base_1:.2f} ms)",
    ]


def report(
    rounds: Sequence[Round],
    others: Sequence[Series],
    concurrency: int,
    httpx_runs: Sequence[Series] = (),
    floor_runs: Sequence[Series] = (),
    baseline: str = "",
) -> tuple[str, list[str]]:
    """The table of the middle round (by API rps / raw qps at ``concurrency``) and the
    other series; each ratio as the median of the rounds, every round's beside it."""
    each = [r.ratios() for r in rounds]
    middle = sorted(rounds, key=lambda r: r.ratios()["rate_c"])[len(rounds) // 2]
    runs = [middle.api_c1, middle.api, *httpx_runs, *floor_runs, *others]
    runs += [s for s in (middle.base_c1, middle.base) if s is not None]
    runs += [middle.raw_seq, middle.raw_par]
    headers = ["series", "ops", "ops/s", "p50 ms", "p99 ms", "errors"]
    rows = [
        [
            r.label,
            str(len(r.latencies)),
            f"{r.rate:.0f}",
            fmt_ms(r.pct(50)),
            fmt_ms(r.pct(99)),
            str(r.errors),
        ]
        for r in runs
    ]

    def line(text: str, name: str, fmt: str, unit: str = "") -> str:
        values = [e[name] for e in each]
        rounds_text = ", ".join(format(v, fmt) + unit for v in values)
        median = format(statistics.median(values), fmt) + unit
        return f"{text}: **{median}** (median of {len(each)} rounds: {rounds_text})"

    ratios = [
        line(f"API p50 / raw p50 at concurrency {concurrency}", "p50_c", ".1f", "x"),
        line(f"API rps / raw qps at concurrency {concurrency}", "rate_c", ".2f"),
        line("API p50 / raw p50 at concurrency 1", "p50_1", ".1f", "x"),
        line("API rps / raw qps at concurrency 1", "rate_1", ".2f"),
    ]
    ratios += [
        f"Server CPU per request at concurrency 1: "
        f"**{statistics.median(e['cpu_1'] for e in each) * 1000:.2f} ms** (median; rounds: "
        + ", ".join(f"{e['cpu_1'] * 1000:.2f}" for e in each)
        + f" ms); at concurrency {concurrency}: "
        f"{statistics.median(e['cpu_c'] for e in each) * 1000:.2f} ms (rounds: "
        + ", ".join(f"{e['cpu_c'] * 1000:.2f}" for e in each)
        + " ms)",
        *cpu_per_request_lines(middle.api_c1, middle.api),
    ]
    if all("frac_1" in e for e in each):
        ratios += baseline_lines(each, concurrency, baseline)
    ratios += [f"with httpx as the client: {line}" for line in cpu_per_request_lines(*httpx_runs)]
    ratios += [
        f"the floor (`bench/_floor_app.py`): {line}" for line in cpu_per_request_lines(*floor_runs)
    ]
    return markdown_table(headers, rows), ratios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per series")
    parser.add_argument("--concurrency", type=int, default=8, help="in-flight requests/threads")
    parser.add_argument("--warmup", type=int, default=100, help="requests before measuring")
    parser.add_argument("--apps", type=int, default=10_000, help="apps in the database")
    parser.add_argument("--seed", type=int, default=7, help="seed of the rows and the workload")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of raw SQL and API series (medians)"
    )
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=600,
        metavar="S",
        help="wait up to S seconds for the other CPU use to drop under --max-busy",
    )
    parser.add_argument(
        "--max-busy", type=float, default=25.0, metavar="PCT", help="CPU %% busy to wait out"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="also cProfile N requests in-process"
    )
    parser.add_argument(
        "--baseline",
        default=BASELINE_REV,
        metavar="REV",
        help="also serve this commit's code beside today's (default: the issue's); '' skips it",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request

    with (
        ExitStack() as stack,
        scratch_database("bench_apps") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            log.info("seeding %d apps ...", args.apps)
            groups, runtime_count, source = seed(args.apps, args.seed)
            log.info("  %d groups, %d runtimes, rows from %s", len(groups), runtime_count, source)
            combos = workload(groups, args.requests, args.seed)
            paths = [list_path(c) for c in combos]
            statements = capture_sql(combos)
            items = [statements[c] for c in combos]
            pg_version = postgres_version(url)
            password = create_bench_user(BENCH_USER)

            baseline = None
            if args.baseline:
                log.info("the baseline %s in a worktree, its database ...", args.baseline[:7])
                baseline = stack.enter_context(baseline_tree(args.baseline))
                base_db = stack.enter_context(scratch_database("bench_apps_base"))
                base_env = baseline_env(baseline)
                base_password = seed_baseline(
                    baseline,
                    NAME,
                    base_db,
                    args.apps,
                    args.seed,
                    BENCH_USER,
                    {"DC_JWT_SECRET": JWT_SECRET, "DC_DATABASE_URL": base_db},
                )

            log.info("waiting for the machine-wide benchmark lock ...")
            with (
                exclusive_machine(),
                dcctl_serve(url, Path(tmp), JWT_SECRET, SERVER_ENV) as (base_url, pid),
                dcctl_serve(base_db, Path(tmp), JWT_SECRET, SERVER_ENV | base_env)
                if baseline is not None
                else nullcontext() as old_served,
            ):
                log.info("server %s (pid %d) is up; waiting for a quiet machine", base_url, pid)
                busy_before = wait_until_quiet(args.max_busy, args.quiet_timeout)
                token = login(base_url, BENCH_USER, password)  # after the wait: tokens live 30 min
                check_answer(base_url, token, paths[0])
                old = None
                if old_served is not None:
                    old_url, old_pid = old_served
                    old = (old_url, login(old_url, BENCH_USER, base_password), old_pid)
                    check_answer(old_url, old[1], paths[0])
                    log.info("the baseline's server %s (pid %d) answers", old_url, old_pid)
                load_before = load_average()
                log.info("  %.0f%% of the CPUs busy before measuring", busy_before)
                log.info("service call in-process ...")
                service = run_service(combos, args.warmup)
                rounds: list[Round] = []
                for number in range(1, args.rounds + 1):
                    log.info("round %d of %d: raw SQL, then the API ...", number, args.rounds)
                    raw_seq = time_raw_sequential(
                        url, items, args.warmup, "raw SQL, psycopg2, sequential (1 connection)"
                    )
                    raw_par = time_raw_threads(
                        url,
                        items,
                        args.concurrency,
                        args.warmup,
                        f"raw SQL, psycopg2, {args.concurrency} threads "
                        f"({args.concurrency} connections)",
                    )
                    ours = (base_url, token, pid)
                    api_c1, base_c1 = measure_api(ours, old, paths, 1, args.warmup)
                    api, base = measure_api(ours, old, paths, args.concurrency, args.warmup)
                    rounds.append(Round(api_c1, api, raw_seq, raw_par, base_c1, base))
                log.info("API with httpx, concurrency 1 and %d ...", args.concurrency)
                httpx_runs = [
                    time_api(
                        base_url, token, paths, c, args.warmup, pid, api_label(c, "httpx"), "httpx"
                    )
                    for c in (1, args.concurrency)
                ]
                log.info(
                    "the floor (bench/_floor_app.py), concurrency 1 and %d ...", args.concurrency
                )
                with floor_serve(url, Path(tmp)) as (floor_url, floor_pid):
                    floor_runs = [
                        time_api(
                            floor_url,
                            token,
                            ["/floor"] * len(paths),
                            c,
                            args.warmup,
                            floor_pid,
                            f"floor: one thread hand-off, `SELECT 1`, 20 items, concurrency {c}",
                        )
                        for c in (1, args.concurrency)
                    ]
                load_after = load_average()

                profile, profile_top = "", []
                if args.profile:
                    try:
                        profile, profile_top = profile_requests(url, token, paths, args.profile)
                    except Exception:  # the profile is an extra: keep the measurements
                        log.exception("profiling in-process failed")
        finally:
            if not db.is_closed():
                db.close()
            if hasattr(db, "close_all"):
                db.close_all()

    table, ratios = report(
        rounds, [service], args.concurrency, httpx_runs, floor_runs, args.baseline
    )
    machine = machine_description(pg_version)
    print()
    print(table)
    print()
    for line in ratios:
        print(line.replace("**", ""))
    print(
        f"CPUs busy before measuring {busy_before:.0f}%; "
        f"load average before {load_before}, after {load_after}"
    )
    if profile:
        print()
        print(profile)

    if args.record:
        body = "\n".join(
            [
                "## apps_list: `GET /api/v1/apps` against its raw SQL",
                "",
                f"Run {now_utc()} with `bench/apps_list.py "
                f"--requests {args.requests} --concurrency {args.concurrency} "
                f"--rounds {args.rounds}` "
                f"on code {code_version()}.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Other work before measuring: {busy_before:.0f}% of the CPUs busy; "
                f"load average (1/5/15 min) before {load_before}, after {load_after}.",
                "",
                f"Parameters: {args.apps} apps in {len(groups)} groups, {runtime_count} with "
                f"a finished last runtime (rows from {source}; VACUUM ANALYZE after); "
                f"`GET {LIST}?group=<g>&sort={SORT}&per_page={PER_PAGE}&page=<2-4>`; "
                f"{args.requests} measured requests per series after {args.warmup} warm-up, "
                "as a viewer with a bearer token from the password grant (per-token rate "
                "limit raised so it counts but never refuses); server `dcctl serve` (uvicorn, "
                "one process, in-process key-value store, revocations in the database, "
                "`DC_EMBEDDED_BACKGROUND=false`: the web process alone) on "
                "the same machine as PostgreSQL and the load client (`bench/_lean_http.py`; "
                "the httpx rows show what a heavier client takes from the two cores). "
                "Raw SQL = the "
                f"statements the service sends ({', '.join(STATEMENTS)}; captured from "
                "peewee), fetched with psycopg2. Latency = one request, or one set of "
                "those statements.",
                *(
                    [
                        "",
                        f"The baseline: `{args.baseline[:7]}`, the code issue 17 measured "
                        f"{BASELINE_CPU_MS} ms of server CPU a request on, checked out in a git "
                        "worktree and run with this virtualenv (`bench/_baseline.py`), on a "
                        "scratch database of its own migrated and seeded by its own code (the "
                        "same rows), served the same way; its series and this code's at the "
                        "same concurrency are measured in alternating slices of 100 requests "
                        "with the same client, so the machine's drift falls on both.",
                    ]
                    if args.baseline
                    else []
                ),
                "",
                *busy_warning(busy_before, args.max_busy, args.quiet_timeout),
                table,
                "",
                *(f"- {line}" for line in ratios),
                *(
                    [
                        "",
                        f"Profile of {args.profile} of these requests in-process (`--profile`: "
                        "cProfile, falcon's ASGI conductor, the worker threads' work run "
                        "inline), top entries by own time; cProfile's overhead inflates "
                        "the times, compare them with each other:",
                        "",
                        *profile_top,
                    ]
                    if profile_top
                    else []
                ),
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    measured = [s for r in rounds for s in (r.api_c1, r.api)] + [*httpx_runs, *floor_runs]
    failed = sum(s.errors for s in measured)
    if failed:
        print(f"{failed} requests failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
