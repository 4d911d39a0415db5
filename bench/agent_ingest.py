"""Log ingestion from the agent into PostgreSQL, beside a raw COPY of the same rows.

One run, side by side, on a scratch PostgreSQL database (migrated: the ``logs`` table
with its indexes, the full-text GIN index included), the same ``--rows`` records each
time (50 apps, mostly INFO, messages of 40-160 characters):

* the agent's path: records logged on a run's ``ctx.log`` (``logging.Logger.log``), the
  ``RunLogger`` handing its ``RunLogHandler`` the rows, the ``LogBatcher`` writing
  batches of 500 or more (its background thread takes whatever waits while the run goes
  on logging; ids from the sequence in one round trip, then ``COPY … FROM STDIN``) and
  publishing one ``log.entry`` event per row on the in-process bus (as the embedded
  agent does; nobody subscribed).
  From one thread (one run logging), from ``--threads`` threads at once (that many runs
  logging), and from one thread with the events off;
* ``COPY logs (…) FROM STDIN`` with psycopg2 of the same rows, the text buffer built
  inside the timing.

The one-run agent series and COPY alternate for ``--rounds`` rounds (a burst of other
work on a shared machine then falls on both) and the table keeps each one's median.

Each series starts on an empty table (``TRUNCATE``) and ends when every row is
committed. Prints a table and the ratio; ``--record`` rewrites this benchmark's section
of bench/RESULTS.md.

    .venv/bin/python bench/agent_ingest.py [--rows 200000] [--threads 4] [--rounds 3] [--record]
    .venv/bin/python bench/agent_ingest.py --profile 20000 [--top 20]   # where the time goes
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import logging
import pstats
import random
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from _common import (
    code_version,
    exclusive_machine,
    load_average,
    machine_description,
    markdown_table,
    now_utc,
    pg_connect,
    postgres_version,
    scratch_database,
    write_results_section,
)

from control.agent.context import AppContext
from control.agent.logwriter import DEFAULT_BATCH, MAX_AHEAD, LogBatcher
from control.db import migrate
from control.db.database import init_database
from control.events.memory import MemoryBus
from control.events.publish import install

NAME = "agent_ingest"
APPS = [f"scraper_bench_{i:02d}" for i in range(50)]
LEVELS = (10, 20, 20, 20, 20, 20, 20, 30, 30, 40)
WORDS = [
    "fetched",
    "page",
    "listing",
    "record",
    "registry",
    "timeout",
    "retrying",
    "stored",
    "parsed",
    "company",
    "invoice",
    "validation",
    "failed",
    "proxy",
    "session",
    "batch",
    "rows",
    "transformed",
    "loaded",
    "warehouse",
    "source",
]
COLUMNS = ("app_id", "runtime_id", "level", "module", "function", "message", "timestamp")

log = logging.getLogger("bench.agent_ingest")


@dataclass(frozen=True)
class Record:
    app: str
    level: int
    message: str


@dataclass
class Result:
    series: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def make_records(count: int, seed: int) -> list[Record]:
    """``count`` log records of 50 apps, mostly INFO, 40-160 characters each."""
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        words = []
        while sum(len(w) + 1 for w in words) < rng.randint(40, 160):
            words.append(rng.choice(WORDS))
        message = " ".join(words).capitalize() + f" #{rng.randint(1, 99_999)}"
        records.append(Record(rng.choice(APPS), rng.choice(LEVELS), message))
    return records


def truncate(url: str) -> None:
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE logs RESTART IDENTITY")


def count_rows(url: str) -> int:
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM logs")
        row = cur.fetchone()
    return int(row[0]) if row else 0


def through_agent(
    url: str, records: Sequence[Record], threads: int, events: bool, label: str
) -> Result:
    """Log ``records`` on run contexts from ``threads`` threads; until all are committed."""
    truncate(url)
    batcher = LogBatcher(batch_size=DEFAULT_BATCH, interval=1.0, publish_events=events).start()
    contexts: dict[str, AppContext] = {}
    for app in APPS:
        runtime = f"{dt.datetime(2025, 1, 15, 7, 30):%Y%m%d_%H%M%S}_{app}"
        contexts[app] = AppContext(
            app_id=app,
            runtime_id=runtime,
            settings={},
            batcher=batcher,
            logger_name=f"collectors.{app}",
        )
    shares = [records[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def work(share: Sequence[Record]) -> None:
        barrier.wait()
        for record in share:
            contexts[record.app].log.log(record.level, record.message)

    workers = [threading.Thread(target=work, args=(share,)) for share in shares]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    batcher.close()  # writes the last partial batch
    seconds = time.perf_counter() - began
    written = count_rows(url)
    if written != len(records):
        raise RuntimeError(f"{label}: {written} rows written, expected {len(records)}")
    return Result(label, len(records), seconds)


def profile_agent(url: str, records: Sequence[Record], top: int) -> str:
    """cProfile of the one-run agent series, the logging and the writer thread merged:
    the ``top`` entries by own time, as text."""
    profiles: list[cProfile.Profile] = []
    run = LogBatcher._run

    def profiled_run(self: LogBatcher) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            run(self)
        finally:
            profile.disable()

    truncate(url)
    LogBatcher._run = profiled_run  # type: ignore[method-assign]
    try:
        batcher = LogBatcher(batch_size=DEFAULT_BATCH, interval=1.0).start()
    finally:
        LogBatcher._run = run  # type: ignore[method-assign]
    contexts = {
        app: AppContext(
            app_id=app,
            runtime_id=f"20250115_073000_{app}",
            settings={},
            batcher=batcher,
            logger_name=f"collectors.{app}",
        )
        for app in APPS
    }
    main = cProfile.Profile()  # this thread logs, as one run's thread does
    began = time.perf_counter()
    main.enable()
    for record in records:
        contexts[record.app].log.log(record.level, record.message)
    batcher.close()
    main.disable()
    seconds = time.perf_counter() - began
    out = io.StringIO()
    stats = pstats.Stats(main, stream=out)
    for profile in profiles:
        stats.add(profile)
    out.write(f"{len(records):,} rows in {seconds:.2f} s under the profiler\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def raw_copy(url: str, records: Sequence[Record], label: str) -> Result:
    """``COPY logs FROM STDIN`` of the same rows (buffer built inside the timing)."""
    truncate(url)
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
    with closing(pg_connect(url)) as conn:
        conn.autocommit = False
        began = time.perf_counter()
        buffer = io.StringIO()
        for r in records:
            runtime = f"20250115_073000_{r.app}"
            buffer.write(
                f"{r.app}\t{runtime}\t{r.level}\tcollectors.{r.app}\twork\t"
                f"{_escape(r.message)}\t{stamp}\n"
            )
        buffer.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY logs ({', '.join(COLUMNS)}) FROM STDIN", buffer)
        conn.commit()
        seconds = time.perf_counter() - began
    written = count_rows(url)
    if written != len(records):
        raise RuntimeError(f"{label}: {written} rows written, expected {len(records)}")
    return Result(label, len(records), seconds)


ONE_RUN = "agent: `ctx.log` → batches + events, 1 run"
COPY_SERIES = "raw `COPY logs FROM STDIN`, psycopg2"


def median(results: Sequence[Result]) -> Result:
    """The median of ``results`` by time (the upper one of an even count)."""
    return sorted(results, key=lambda r: r.seconds)[len(results) // 2]


def report(results: Sequence[Result], copy: Result) -> tuple[str, list[str]]:
    rows = [
        [
            r.series,
            f"{r.rows:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            f"{copy.rate / r.rate:.1f}x" if r is not copy else "1.0x",
        ]
        for r in results
    ]
    table = markdown_table(["series", "rows", "seconds", "rows/s", "COPY is faster by"], rows)
    agent = results[0]
    ratios = [
        f"agent (1 run logging) / COPY: **{agent.rate / copy.rate:.2f}** "
        f"({agent.rate:,.0f} vs {copy.rate:,.0f} rows/s)",
    ]
    return table, ratios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000, help="log records per series")
    parser.add_argument("--threads", type=int, default=4, help="runs logging at once")
    parser.add_argument("--seed", type=int, default=7, help="seed of the records")
    parser.add_argument(
        "--rounds", type=int, default=3, help="agent/COPY rounds, alternating (median kept)"
    )
    parser.add_argument("--note", default="", help="a sentence recorded under the table")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="ROWS",
        help="instead: cProfile the one-run agent series on ROWS records (both threads), "
        "print its top entries",
    )
    parser.add_argument("--top", type=int, default=20, help="entries --profile prints")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    install(MemoryBus())  # the embedded agent's bus; publishing never blocks on a reader

    if args.profile:
        records = make_records(args.profile, args.seed)
        with scratch_database("bench_agent_ingest") as url:
            db = init_database(url)
            try:
                migrate.upgrade(db)
                db.close()
                through_agent(url, records[:5000], 1, True, "warm-up")
                print(profile_agent(url, records, args.top))
            finally:
                if hasattr(db, "close_all"):
                    db.close_all()
        return 0

    records = make_records(args.rows, args.seed)
    with scratch_database("bench_agent_ingest") as url:
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            pg_version = postgres_version(url)
            log.info("warming up ...")
            through_agent(url, records[:5000], 1, True, "warm-up")
            with exclusive_machine():
                load_before = load_average()
                # agent and COPY alternate, so a burst of other work on a shared machine
                # falls on both; each keeps its median round
                ones, copies = [], []
                for round_no in range(1, args.rounds + 1):
                    log.info("round %d: agent handler, 1 thread, then raw COPY ...", round_no)
                    ones.append(through_agent(url, records, 1, True, ONE_RUN))
                    copies.append(raw_copy(url, records, COPY_SERIES))
                one, copy = median(ones), median(copies)
                log.info("agent handler, %d threads ...", args.threads)
                many = through_agent(
                    url,
                    records,
                    args.threads,
                    True,
                    f"agent: `ctx.log` → batches + events, {args.threads} runs at once",
                )
                log.info("agent handler, events off ...")
                quiet = through_agent(
                    url, records, 1, False, "agent: `ctx.log` → batches, no events, 1 run"
                )
                load_after = load_average()
        finally:
            if not db.is_closed():
                db.close()
            if hasattr(db, "close_all"):
                db.close_all()

    results = [one, many, quiet, copy]
    table, ratios = report(results, copy)
    machine = machine_description(pg_version)
    print()
    print(table)
    print()
    rounds = ", ".join(f"{c.seconds / a.seconds:.2f}" for a, c in zip(ones, copies, strict=True))
    ratios.append(f"agent / COPY in each round (alternating): {rounds}; the table keeps medians")
    for line in ratios:
        print(line.replace("**", ""))
    print(f"load average before {load_before}, after {load_after}")

    if args.record:
        body = "\n".join(
            [
                "## agent_ingest: log records from the agent into PostgreSQL, beside COPY",
                "",
                f"Run {now_utc()} with `bench/agent_ingest.py --rows {args.rows} "
                f"--threads {args.threads} --rounds {args.rounds}` on code {code_version()}.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Load average (1/5/15 min) before the measurements {load_before}, "
                f"after {load_after}.",
                "",
                f"Parameters: {args.rows:,} records of {len(APPS)} apps (mostly INFO, "
                "40-160 characters) per series, each series on an emptied `logs` table "
                "with its indexes (GIN full-text included), timed until every row is "
                "committed. Agent = `AppContext.log` (a `RunLogger`) → `RunLogHandler` → "
                f"`LogBatcher` (a batch at {DEFAULT_BATCH} rows, then the writer thread "
                "takes whatever waits, the run waiting only when "
                f"{MAX_AHEAD:,} rows do: ids by one `SELECT nextval(…) FROM "
                "generate_series(…)`, then `COPY … FROM STDIN` with those ids, written by "
                "the batcher's thread while the run logs on; a "
                "`log.entry` event per row on the in-process bus), as `dcctl agent` runs "
                "it. COPY = the same rows as text through psycopg2's `copy_expert`, the "
                "buffer built inside the timing.",
                "",
                table,
                "",
                *(f"- {line}" for line in ratios),
                *([f"- {args.note}"] if args.note else []),
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
