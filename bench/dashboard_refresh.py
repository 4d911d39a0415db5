"""One refresh of the Program Manager's grid, server side, against the API call it makes.

On a scratch PostgreSQL database of 10,000 apps (half of them with 10 finished runs, so
every run strip of a page is full), with the real ``dcctl serve``:

* the dashboard's server-side callback for one grid block
  (``dashboard.callbacks.apps_table.rows_for``: one ``GET /api/v1/apps`` page of 100, the
  block's run strips, the rows built), through the dashboard's own ``ApiClient`` as a
  signed-in viewer, twice: as a poll refreshes (the strips kept since the last poll, so
  ``GET /api/v1/runtimes/recent`` only for apps whose last run changed, none here:
  ``dashboard/run_strips.py``), and for a block seen for the first time (the strips
  forgotten before each call: both API calls);
* beside it, the bare ``GET /api/v1/apps`` page the callback makes (same client, same
  parameters), and the bare ``GET /api/v1/runtimes/recent`` call.

The blocks cycle through the first five pages of the whole fleet sorted by id, by
``-next_run`` and by ``-last_run``, and of one group: what a poll of the grid asks for.
Sequential (one refresh at a time, as one browser tab polls); the four series interleaved
(the i-th call of each in turn), so a busy machine loads them alike. The target (issue 13)
is a callback p50 of at most 150 ms.

    .venv/bin/python bench/dashboard_refresh.py [--refreshes 300] [--record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import (
    Series,
    busy_warning,
    code_version,
    create_bench_user,
    dcctl_serve,
    exclusive_machine,
    finished_run,
    fmt_ms,
    insert_apps_and_runs,
    load_average,
    machine_description,
    make_app_rows,
    markdown_table,
    now_utc,
    postgres_version,
    scratch_database,
    wait_until_quiet,
    write_results_section,
)

from control.db import migrate
from control.db.database import init_database
from dashboard.api_client import ApiClient, password_login
from dashboard.callbacks.apps_table import rows_for
from dashboard.rows import RUN_STRIP_LENGTH
from dashboard.run_strips import strips_of

NAME = "dashboard_refresh"
JWT_SECRET = "bench-dashboard-refresh-secret-0123456789"  # never a real one
BENCH_USER = "bench-dashboard@example.com"
RATE_LIMITS = {"DC_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000000"}
TARGET_MS = 150.0
SORTS = ("id", "-next_run", "-last_run")
PAGES = 5
BLOCK = 100

log = logging.getLogger("bench.dashboard_refresh")


def seed(app_count: int, seed_value: int) -> tuple[int, str, str]:
    """The apps; 10 finished runs for about half of them; (runs, rows' source, a group)."""
    rows, source = make_app_rows(app_count, seed=seed_value)
    rng = random.Random(seed_value + 1)
    base = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    runs: list[dict[str, Any]] = []
    for row in rows:
        if rng.random() >= 0.5:
            continue
        for n in range(RUN_STRIP_LENGTH):
            started = base - dt.timedelta(hours=n * 6 + 1, minutes=rng.randint(0, 59))
            failed = rng.random() < 0.15
            runs.append(finished_run(row["id"], started, failed, rng))
    insert_apps_and_runs(rows, runs)
    return len(runs), source, str(rows[0]["group"])


def workload(group: str, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(grid request, sidebar selection) pairs, cycling through sorts, pages and views."""
    blocks = []
    for sort in SORTS:
        for page in range(PAGES):
            model = [{"colId": sort.lstrip("-"), "sort": "desc" if sort[0] == "-" else "asc"}]
            request = {"startRow": page * BLOCK, "endRow": (page + 1) * BLOCK, "sortModel": model}
            blocks.append((request, {"view": "all"}))
    blocks.append(({"startRow": 0, "endRow": BLOCK}, {"view": "all", "group": group}))
    return [blocks[i % len(blocks)] for i in range(count)]


def timed_together(
    series: Sequence[tuple[str, Sequence[Callable[[], Any]]]], warmup: int
) -> list[Series]:
    """Several series measured interleaved (the i-th call of each, in turn), so each sees
    the same load from the rest of the machine: their ratios hold on a busy machine."""
    count = min(len(calls) for _, calls in series)
    for i in range(min(warmup, count)):
        for _, calls in series:
            calls[i]()
    latencies: list[list[float]] = [[] for _ in series]
    spent = [0.0 for _ in series]
    for i in range(count):
        for n, (_, calls) in enumerate(series):
            start = time.perf_counter()
            calls[i]()
            took = time.perf_counter() - start
            latencies[n].append(took)
            spent[n] += took
    return [Series(label, latencies[n], spent[n]) for n, (label, _) in enumerate(series)]


def measure(
    client: ApiClient, cold_client: ApiClient, group: str, count: int, warmup: int
) -> list[Series]:
    """``client`` polls (its strips kept); ``cold_client``, another session, forgets its
    strips before each call (a block seen for the first time)."""
    work = workload(group, count)

    def callback(
        request: dict[str, Any], selected: dict[str, Any], cold: bool = False
    ) -> Callable[[], Any]:
        def run() -> None:
            if cold:
                strips_of(cold_client).clear()
            answer, _ = rows_for(request, selected, cold_client if cold else client)
            if len(answer["rowData"]) == 0:
                raise RuntimeError("the callback answered no rows")

        return run

    first: dict[tuple[Any, ...], list[str]] = {}

    def api_call(request: dict[str, Any], selected: dict[str, Any]) -> Callable[[], Any]:
        sort = "id"
        for item in request.get("sortModel") or []:
            sort = ("-" if item["sort"] == "desc" else "") + item["colId"]
        page = request["startRow"] // BLOCK + 1
        filters = {"group": selected["group"]} if selected.get("group") else {}

        def run() -> None:
            body = client.apps_page(page, BLOCK, sort, **filters)
            first.setdefault((page, sort), [a["id"] for a in body["data"]])

        return run

    for w in work[: PAGES * len(SORTS) + 1]:  # each block once: its apps, for the strips' call
        api_call(*w)()
    ids = list(first.values())

    def recent(i: int) -> Callable[[], Any]:
        return lambda: client.recent_runs(ids[i % len(ids)], RUN_STRIP_LENGTH)

    for w in work[:warmup]:  # the strips of every block kept, as after the first polls
        callback(*w)()
    return timed_together(
        [
            (
                "dashboard callback `rows_for`, a poll (strips kept: `GET /apps` + rows)",
                [callback(*w) for w in work],
            ),
            (
                "dashboard callback `rows_for`, a block seen first (both calls + rows)",
                [callback(*w, cold=True) for w in work],
            ),
            (
                "API `GET /api/v1/apps` page of 100 (the call it makes)",
                [api_call(*w) for w in work],
            ),
            (
                "API `GET /api/v1/runtimes/recent` for 100 apps (the run strips)",
                [recent(i) for i in range(count)],
            ),
        ],
        warmup,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--refreshes", type=int, default=300, help="measured refreshes")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument("--quiet-timeout", type=float, default=300, metavar="S")
    parser.add_argument("--max-busy", type=float, default=25.0, metavar="PCT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with scratch_database("bench_dash") as url, tempfile.TemporaryDirectory() as tmp:
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            log.info("seeding %d apps ...", args.apps)
            run_count, source, group = seed(args.apps, args.seed)
            pg_version = postgres_version(url)
            password = create_bench_user(BENCH_USER)
            log.info("waiting for the machine-wide benchmark lock ...")
            with (
                exclusive_machine(),
                dcctl_serve(url, Path(tmp), JWT_SECRET, RATE_LIMITS) as (
                    base_url,
                    _pid,
                ),
            ):
                busy_before = wait_until_quiet(args.max_busy, args.quiet_timeout)
                client = ApiClient(base_url, password_login(base_url, BENCH_USER, password))
                cold = ApiClient(base_url, password_login(base_url, BENCH_USER, password))
                load_before = load_average()
                series = measure(client, cold, group, args.refreshes, args.warmup)
                load_after = load_average()
        finally:
            if not db.is_closed():
                db.close()

    headers = ["series", "ops", "p50 ms", "p95 ms", "p99 ms"]
    rows = [
        [s.label, str(len(s.latencies)), fmt_ms(s.pct(50)), fmt_ms(s.pct(95)), fmt_ms(s.pct(99))]
        for s in series
    ]
    table = markdown_table(headers, rows)
    whole, cold, apps, strips = series
    p50 = whole.pct(50) * 1000
    verdict = "within" if p50 <= TARGET_MS else "OVER"
    cold_p50 = cold.pct(50) * 1000
    cold_verdict = "within" if cold_p50 <= TARGET_MS else "OVER"
    lines = [
        f"callback p50 of a poll **{p50:.1f} ms**: {verdict} the {TARGET_MS:.0f} ms target",
        f"callback p50 / its `GET /apps` p50: **{whole.pct(50) / apps.pct(50):.2f}x** "
        f"({fmt_ms(whole.pct(50))} vs {fmt_ms(apps.pct(50))} ms)",
        f"a block seen first (both calls): p50 {cold_p50:.1f} ms, {cold_verdict} the target; "
        f"the run strips' call p50 {fmt_ms(strips.pct(50))} ms",
    ]
    print()
    print(table)
    print()
    for line in lines:
        print(line.replace("**", ""))
    if args.record:
        machine = machine_description(pg_version)
        body = "\n".join(
            [
                "## dashboard_refresh: the grid's server-side refresh against its API call",
                "",
                f"Run {now_utc()} with `bench/dashboard_refresh.py --refreshes "
                f"{args.refreshes}` on code {code_version()}.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Other work before measuring: {busy_before:.0f}% of the CPUs busy; "
                f"load average before {load_before}, after {load_after}.",
                "",
                f"Parameters: {args.apps} apps ({source}), {run_count} finished runs (10 for "
                "about half of the apps); blocks of 100 rows: pages 1-5 sorted by id, "
                "-next_run and -last_run, and one group; sequential, as one tab polls, the "
                "four series interleaved; "
                "the dashboard's ApiClient (httpx) as a viewer against `dcctl serve` "
                "(uvicorn, one process) on the same machine as PostgreSQL.",
                "",
                *busy_warning(busy_before, args.max_busy, args.quiet_timeout),
                table,
                "",
                *(f"- {line}" for line in lines),
            ]
        )
        write_results_section(NAME, body)
        print("\nrecorded in bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
