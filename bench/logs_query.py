"""The log search through the real API server against the same SQL sent with psycopg2.

One run, side by side, on a scratch PostgreSQL database of 1,000,000 log records from
200 apps (160 ``scraper_*``), mostly INFO, about 1% mentioning a timeout:

* ``GET /api/v1/logs?search=timeout&level=WARNING&app=scraper_*&limit=100`` against
  ``dcctl serve`` (uvicorn, one process) with the lean keep-alive client of
  ``_lean_http.py``, at concurrency 1 and at ``--concurrency``, as a viewer with a bearer token from
  ``POST /api/v1/auth/token`` (the rate limits are raised so that they count the
  requests but never refuse one);
* the service call in-process (``control.logs.services.list_logs``: peewee and the
  items, no HTTP), sequentially;
* the raw round trip of exactly the SQL that call sends (captured from peewee's logger)
  on plain psycopg2 connections, sequentially and with ``--concurrency`` threads;
* for scale, the same SQL with the full-text condition replaced by
  ``message ILIKE '%timeout%'``, sequentially; and both forms for a rare word
  (``deadlock``, about one record in 10,000). Without the full-text index the planner
  either filters every WARNING-or-above record (level index) or walks the timestamp
  index backwards until 100 records match; for a common word the walk is short and the
  gap small, which plan it picks varies between loads. A rare word is where the index
  pays most: either plan then reads most of the table.

The records are loaded with COPY into the migrated table with its indexes dropped, then
the indexes are rebuilt from their own definitions and the table is VACUUM ANALYZEd (as
autovacuum leaves it: the GIN index's pending list merged, statistics current). The
plan of the raw SQL (EXPLAIN ANALYZE) is recorded and must read an index, not the whole
table: the GIN index ``logs_message_tsv`` on the stored word vector (migration 0016), or
for a common word the newest rows by time, testing each row's stored vector.

Prints a table and the ratios; ``--record`` rewrites this benchmark's section of
bench/RESULTS.md.

    .venv/bin/python bench/logs_query.py [--requests 500] [--concurrency 8] [--record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _common import (
    Series,
    Statement,
    captured_sql,
    cpu_per_request_lines,
    create_bench_user,
    dcctl_serve,
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
    time_raw_sequential,
    time_raw_threads,
    write_results_section,
)
from _log_messages import SOURCES, draw_message

from control.db import migrate
from control.db.database import database, init_database
from control.logs import services

NAME = "logs_query"
LIST = "/api/v1/logs"
PARAMS = {"search": "timeout", "level": "WARNING", "app": "scraper_*", "limit": 100}
QUERY = services.LogQuery(search="timeout", level=30, app="scraper_*", limit=100)
RARE_QUERY = services.LogQuery(search="deadlock", level=30, app="scraper_*", limit=100)
JWT_SECRET = "bench-logs-query-signing-secret-0123456789"  # never a real one
BENCH_USER = "bench-viewer@example.com"
# Counted per token and per address; high enough that no benchmark request is refused.
RATE_LIMITS = {
    "DC_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
}
START = dt.datetime(2025, 1, 1)
SPAN = dt.timedelta(days=30)
COPY_CHUNK = 100_000

log = logging.getLogger("bench.logs_query")

# --- Data ---------------------------------------------------------------------------------

GROUPS = ("de", "fr", "uk", "us", "nl", "es", "it", "pl")


def app_ids() -> list[str]:
    """200 apps: 160 scrapers in eight groups, 40 pipeline stages."""
    scrapers = [f"scraper_{g}_{SOURCES[n % 5]}_{n:02d}" for g in GROUPS for n in range(20)]
    others = [f"{kind}_{n:02d}" for kind in ("parser", "ocr", "ner", "export") for n in range(10)]
    return scrapers + others


def record(rng: random.Random, apps: Sequence[str], i: int, count: int) -> tuple[Any, ...]:
    """One record: (app, runtime, level, module, function, message, timestamp).

    1% mention a timeout (60% WARNING, 30% ERROR, 10% INFO), 0.01% a deadlock (ERROR);
    the rest are 80% INFO, 12% DEBUG, 6% WARNING and 2% ERROR.
    """
    level, message = draw_message(rng)
    app = rng.choice(apps)
    at = START + SPAN * i / count
    runtime = f"{at:%Y%m%d}_070000_{app}"
    return (app, runtime, level, "collector.run", "step", message, at)


def _copy_text(rows: Sequence[tuple[Any, ...]]) -> io.StringIO:
    # COPY's text format; the generated values hold no tab, newline or backslash.
    buffer = io.StringIO()
    for app, runtime, level, module, function, message, at in rows:
        buffer.write(f"{app}\t{runtime}\t{level}\t{module}\t{function}\t{message}\t{at}\n")
    buffer.seek(0)
    return buffer


def seed(url: str, count: int, seed_value: int) -> dict[str, Any]:
    """COPY ``count`` records into ``logs`` with its indexes dropped, rebuild them, and
    VACUUM ANALYZE. Returns figures about the data for the results."""
    rng = random.Random(seed_value)
    apps = app_ids()
    began = time.perf_counter()
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'logs' AND indexname <> 'logs_pkey' ORDER BY indexname"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for start in range(0, count, COPY_CHUNK):
            rows = [
                record(rng, apps, i, count) for i in range(start, min(count, start + COPY_CHUNK))
            ]
            cur.copy_expert(
                "COPY logs (app_id, runtime_id, level, module, function, message, timestamp)"
                " FROM STDIN",
                _copy_text(rows),
            )
        loaded = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute("VACUUM ANALYZE logs")
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE level >= 30),"
            " count(*) FILTER (WHERE message_tsv"
            " @@ plainto_tsquery('simple', 'timeout')),"
            " pg_size_pretty(pg_total_relation_size('logs')),"
            " pg_size_pretty(pg_relation_size('logs_message_tsv'))"
            " FROM logs"
        )
        total, warnings, timeouts, size, gin_size = cur.fetchone()
    return {
        "rows": total,
        "apps": len(apps),
        "warnings": warnings,
        "timeouts": timeouts,
        "size": size,
        "gin_size": gin_size,
        "indexes": [name for name, _ in indexes],
        "load_s": loaded - began,
        "index_s": time.perf_counter() - loaded,
    }


# --- The SQL the service sends --------------------------------------------------------------


def service_statement(query: services.LogQuery) -> tuple[Statement, int]:
    """The one statement ``list_logs`` sends for ``query``, and the matching row count."""
    with captured_sql() as statements, database.connection_context():
        services.list_logs(query)
    if len(statements) != 1:
        raise RuntimeError(f"expected one SELECT per list call, got {statements}")
    with database.connection_context():
        matching = services.filtered(query).count()
    return statements[0], matching


def like_statement(statement: Statement) -> Statement:
    """The same SQL with the full-text condition as ``message ILIKE '%word%'``."""
    sql, params = statement
    indexed = '"t1"."message_tsv" @@ plainto_tsquery(\'simple\', %s)'
    if indexed not in sql:
        raise RuntimeError(f"full-text condition not found in {sql}")
    position = sql[: sql.index(indexed)].count("%s")
    swapped = list(params)
    swapped[position] = f"%{params[position]}%"
    return sql.replace(indexed, '"t1"."message" ILIKE %s'), tuple(swapped)


def explain(url: str, statement: Statement) -> str:
    sql, params = statement
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cur.fetchall())


def run_service(count: int, warmup: int) -> Series:
    def once() -> None:
        with database.connection_context():
            services.list_logs(QUERY)

    for _ in range(warmup):
        once()
    latencies: list[float] = []
    began = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        once()
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - began
    return Series("service call in-process (peewee + items), sequential", latencies, wall)


def check_answer(base_url: str, token: str, path: str) -> int:
    """One request through the server: 100 records, each matching the query."""
    resp = httpx.get(base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    if resp.status_code != 200:
        raise RuntimeError(f"GET {path}: {resp.status_code} {resp.text[:300]}")
    items = resp.json()["data"]
    bad = [
        i
        for i in items
        if i["level_no"] < 30
        or not i["app"].startswith("scraper_")
        or "timeout" not in i["message"].lower()
    ]
    if len(items) != QUERY.limit or bad:
        raise RuntimeError(f"unexpected answer: {len(items)} items, {len(bad)} not matching")
    return len(items)


# --- Report ---------------------------------------------------------------------------------


def report(
    runs: Sequence[Series],
    api_c1: Series,
    api: Series,
    raw_seq: Series,
    raw_par: Series,
    like: Series,
    concurrency: int,
) -> tuple[str, list[str]]:
    headers = ["series", "ops", "ops/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    rows = [
        [
            r.label,
            str(len(r.latencies)),
            f"{r.rate:.0f}",
            fmt_ms(r.pct(50)),
            fmt_ms(r.pct(95)),
            fmt_ms(r.pct(99)),
            str(r.errors),
        ]
        for r in runs
    ]
    ratios = [
        f"API p50 / raw p50 at concurrency 1: **{api_c1.pct(50) / raw_seq.pct(50):.1f}x** "
        f"({fmt_ms(api_c1.pct(50))} vs {fmt_ms(raw_seq.pct(50))} ms); p95 "
        f"{fmt_ms(api_c1.pct(95))} vs {fmt_ms(raw_seq.pct(95))} ms",
        f"API p50 / raw p50 at concurrency {concurrency}: "
        f"**{api.pct(50) / raw_par.pct(50):.1f}x** "
        f"({fmt_ms(api.pct(50))} vs {fmt_ms(raw_par.pct(50))} ms); p95 "
        f"{fmt_ms(api.pct(95))} vs {fmt_ms(raw_par.pct(95))} ms",
        f"API rps / raw qps at concurrency 1: **{api_c1.rate / raw_seq.rate:.2f}** "
        f"({api_c1.rate:.0f} vs {raw_seq.rate:.0f} /s)",
        f"API rps / raw qps at concurrency {concurrency}: **{api.rate / raw_par.rate:.2f}** "
        f"({api.rate:.0f} vs {raw_par.rate:.0f} /s)",
        f"ILIKE '%timeout%' p50 / full-text p50 (raw, sequential): "
        f"**{like.pct(50) / raw_seq.pct(50):.1f}x** "
        f"({fmt_ms(like.pct(50))} vs {fmt_ms(raw_seq.pct(50))} ms)",
    ]
    ratios += cpu_per_request_lines(api_c1, api)
    return markdown_table(headers, rows), ratios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=500, help="measured requests per series")
    parser.add_argument("--concurrency", type=int, default=8, help="in-flight requests/threads")
    parser.add_argument("--warmup", type=int, default=50, help="requests before measuring")
    parser.add_argument("--rows", type=int, default=1_000_000, help="log records to load")
    parser.add_argument(
        "--like-requests", type=int, default=20, help="measured ILIKE queries (slow)"
    )
    parser.add_argument("--seed", type=int, default=11, help="seed of the records")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request

    path = f"{LIST}?{urlencode(PARAMS)}"
    paths = [path] * args.requests
    with scratch_database("bench_logs") as url, tempfile.TemporaryDirectory() as tmp:
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            log.info("loading %d log records ...", args.rows)
            data = seed(url, args.rows, args.seed)
            log.info(
                "  %d records, %d at WARNING or above, %d mention a timeout; %s (GIN %s); "
                "COPY %.0f s, indexes and VACUUM ANALYZE %.0f s",
                data["rows"],
                data["warnings"],
                data["timeouts"],
                data["size"],
                data["gin_size"],
                data["load_s"],
                data["index_s"],
            )
            statement, matching = service_statement(QUERY)
            like = like_statement(statement)
            rare, rare_matching = service_statement(RARE_QUERY)
            rare_like = like_statement(rare)
            plan = explain(url, statement)
            if "Seq Scan on logs" in plan:
                raise RuntimeError(f"the plan reads the whole table:\n{plan}")
            like_plan = explain(url, like)
            rare_like_plan = explain(url, rare_like)
            pg_version = postgres_version(url)
            password = create_bench_user(BENCH_USER)

            with dcctl_serve(url, Path(tmp), JWT_SECRET, RATE_LIMITS) as (base_url, pid):
                log.info("server %s (pid %d) is up", base_url, pid)
                token = login(base_url, BENCH_USER, password)
                check_answer(base_url, token, path)
                load_before = load_average()
                log.info("raw SQL, sequential ...")
                raw_seq = time_raw_sequential(
                    url,
                    [[statement]] * args.requests,
                    args.warmup,
                    "raw SQL, psycopg2, sequential (1 connection)",
                )
                log.info("raw SQL, %d threads ...", args.concurrency)
                raw_par = time_raw_threads(
                    url,
                    [[statement]] * args.requests,
                    args.concurrency,
                    args.warmup,
                    f"raw SQL, psycopg2, {args.concurrency} threads "
                    f"({args.concurrency} connections)",
                )
                log.info("raw SQL with ILIKE instead of the index, sequential ...")
                like_seq = time_raw_sequential(
                    url,
                    [[like]] * args.like_requests,
                    2,
                    "raw SQL with `message ILIKE '%timeout%'`, sequential",
                )
                log.info("rare word: full-text and ILIKE, sequential ...")
                rare_seq = time_raw_sequential(
                    url,
                    [[rare]] * args.requests,
                    args.warmup,
                    f"rare word `deadlock` ({rare_matching} matches): raw SQL, full-text",
                )
                rare_like_seq = time_raw_sequential(
                    url,
                    [[rare_like]] * args.like_requests,
                    2,
                    "rare word `deadlock`: raw SQL with `message ILIKE '%deadlock%'`",
                )
                log.info("service call in-process ...")
                service = run_service(args.requests, args.warmup)
                log.info("API, concurrency 1 ...")
                api_c1 = time_api(
                    base_url,
                    token,
                    paths,
                    1,
                    args.warmup,
                    pid,
                    "API `dcctl serve`, lean keep-alive client, concurrency 1",
                )
                log.info("API, concurrency %d ...", args.concurrency)
                api = time_api(
                    base_url,
                    token,
                    paths,
                    args.concurrency,
                    args.warmup,
                    pid,
                    f"API `dcctl serve`, lean keep-alive client, concurrency {args.concurrency}",
                )
                load_after = load_average()
        finally:
            if not db.is_closed():
                db.close()
            if hasattr(db, "close_all"):
                db.close_all()

    runs = [api_c1, api, service, raw_seq, raw_par, like_seq, rare_seq, rare_like_seq]
    table, ratios = report(runs, api_c1, api, raw_seq, raw_par, like_seq, args.concurrency)
    ratios.append(
        f"rare word: ILIKE p50 / full-text p50 (raw, sequential): "
        f"**{rare_like_seq.pct(50) / rare_seq.pct(50):.0f}x** "
        f"({fmt_ms(rare_like_seq.pct(50))} vs {fmt_ms(rare_seq.pct(50))} ms)"
    )
    machine = machine_description(pg_version)
    print()
    print(table)
    print()
    for line in ratios:
        print(line.replace("**", ""))
    print(f"load average before {load_before}, after {load_after}")
    print()
    print(plan)

    if args.record:
        sql, params = statement
        body = "\n".join(
            [
                "## logs_query: `GET /api/v1/logs?search=…&level=WARNING&app=scraper_*` "
                "against its raw SQL",
                "",
                f"Run {now_utc()} with `bench/logs_query.py --requests {args.requests} "
                f"--concurrency {args.concurrency}`.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Load average (1/5/15 min) before the measurements {load_before}, "
                f"after {load_after}.",
                "",
                f"Parameters: {data['rows']:,} log records of {data['apps']} apps (160 "
                f"`scraper_*`) over 30 days, {data['warnings']:,} at WARNING or above, "
                f"{data['timeouts']:,} mentioning a timeout; table with indexes "
                f"{data['size']} (GIN `logs_message_tsv` {data['gin_size']}); loaded with "
                "COPY, indexes rebuilt from their definitions, VACUUM ANALYZE. "
                f"`GET {path}` matches {matching:,} records and returns the newest 100; "
                f"{args.requests} measured requests per series after {args.warmup} warm-up "
                f"(ILIKE: {args.like_requests}), as a viewer with a bearer token from the "
                "password grant (rate limits raised so they count but never refuse); "
                "server `dcctl serve` (uvicorn, one process) on the same machine as "
                "PostgreSQL and the load client. Raw SQL = the one SELECT the service "
                "sends (captured from peewee), fetched with psycopg2.",
                "",
                table,
                "",
                *(f"- {line}" for line in ratios),
                "",
                "The SQL (parameters " + ", ".join(repr(p) for p in params) + "):",
                "",
                "```sql",
                sql,
                "```",
                "",
                "Its plan (`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`):",
                "",
                "```",
                plan,
                "```",
                "",
                "The ILIKE variant's plan (for a common word the planner's choice between "
                "the level index and a backward walk of the timestamp index varies with "
                "the statistics):",
                "",
                "```",
                like_plan,
                "```",
                "",
                "The ILIKE variant's plan for the rare word:",
                "",
                "```",
                rare_like_plan,
                "```",
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    failed = sum(r.errors for r in runs)
    if failed:
        print(f"{failed} requests failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
