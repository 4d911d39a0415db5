"""The fleet of ``fleet_scale.py``: apps, runtimes, logs, function logs, pipeline tasks,
audit rows and health verdicts, written with COPY into a migrated PostgreSQL database.

Rows are written in the order a live fleet writes them (runs by start, each run's
records and calls a little after its start, tasks and audit rows by time), so the
tables' physical order follows time as appended rows do: reading the newest rows by a
time index touches few pages, as in production.

Counts at scale 1: 10,000 apps, 1,000,000 runtimes, 10,000,000 log records, 2,000,000
function-log rows, 1,000,000 pipeline tasks, 200,000 audit rows; over the 30 days before
the load (the figures endpoints look back from now). Apps are uneven: a few run every
few minutes, most a few times a day (runs per app drawn from a Pareto-like weight). Each
run has its log records and function calls inside it; messages come from templates with
words to search (about 1% mention a timeout, 0.01% a deadlock).

Indexes other than the primary keys are dropped before COPY and rebuilt from their own
definitions after it, then ``VACUUM ANALYZE`` (as a long-lived database would be).

On the partitioned ``logs`` and ``function_log`` (migration 0018) the partitions covering
the loaded days (and the days ahead the maintenance actor keeps) are created first
(``control.maintenance.partitions``), so the rows land in their day's or week's
partition, as a live fleet's do, not all in the default partition.
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import itertools
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from _common import make_app_rows, pg_connect
from _log_messages import draw_message

DAYS = 30
COPY_ROWS = 200_000  # rows per COPY statement
TABLES = ("apps", "runtime", "logs", "function_log", "pipeline_task", "audit_log", "health_verdict")

FUNCTIONS = (
    ("collector.fetch", "fetch_page", 1.2),
    ("collector.fetch", "login", 0.8),
    ("collector.parse", "parse_document", 0.3),
    ("collector.parse", "extract_tables", 2.5),
    ("collector.store", "save_batch", 0.6),
    ("collector.store", "dedupe", 0.2),
    ("collector.ocr", "ocr_page", 6.0),
    ("collector.ner", "tag_entities", 1.8),
    ("collector.export", "export_csv", 4.0),
    ("collector.fetch", "download_attachment", 3.0),
    ("collector.parse", "normalise_dates", 0.05),
    ("collector.validate", "validate_record", 0.1),
)
DOCUMENT_TYPES = (
    "invoice",
    "contract",
    "judgment",
    "filing",
    "tender",
    "notice",
    "annual_report",
    "gazette_entry",
    "patent",
    "permit",
    "article",
    "registry_extract",
)
STAGES = ("RECEIVED", "OCR", "NER", "VALIDATION", "STORED")
PIPELINE_ERRORS = (
    "OCR engine timeout after 120 s",
    "NER model returned no entities",
    "validation failed: missing field date",
    "storage write rejected: duplicate document_ref",
    "unreadable scan (resolution too low)",
)
ACTIONS = (
    ("apps.start", "POST", "/api/v1/apps/{app}/start"),
    ("apps.stop", "POST", "/api/v1/apps/{app}/stop"),
    ("apps.update", "PATCH", "/api/v1/apps/{app}"),
    ("auth.login", "POST", "/api/v1/auth/token"),
    ("auth.login_failed", "POST", "/api/v1/auth/token"),
    ("bulk.start", "POST", "/api/v1/bulk/start"),
    ("settings.update", "PATCH", "/api/v1/settings"),
)
ACTORS = (*(f"operator{n}@example.com" for n in range(25)), "ci-deployer", "dcctl")
VERDICTS = ("slow", "stalled", "missed", "low_output", "failing")


@dataclass(frozen=True)
class Counts:
    """How many rows of each kind a scale loads."""

    apps: int
    runtimes: int
    logs: int
    function_logs: int
    pipeline_tasks: int
    audit: int

    @classmethod
    def at(cls, scale: float) -> Counts:
        def n(full: int) -> int:
            return max(1, round(full * scale))

        return cls(
            apps=n(10_000),
            runtimes=n(1_000_000),
            logs=n(10_000_000),
            function_logs=n(2_000_000),
            pipeline_tasks=n(1_000_000),
            audit=n(200_000),
        )


def _copy(cur: Any, table: str, columns: Sequence[str], lines: Iterable[str]) -> int:
    """COPY the tab-separated ``lines`` (each ending in a newline) into ``table`` in
    statements of :data:`COPY_ROWS`; returns the rows written."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    written = 0
    iterator = iter(lines)
    while True:
        chunk = list(itertools.islice(iterator, COPY_ROWS))
        if not chunk:
            return written
        cur.copy_expert(statement, io.StringIO("".join(chunk)))
        written += len(chunk)


def _ts(at: dt.datetime) -> str:
    return at.isoformat(" ")


def _messages(rng: random.Random, count: int) -> list[tuple[int, str]]:
    """A pool of (level, message): 1% timeouts, 0.01% deadlocks, else mostly INFO."""
    return [draw_message(rng) for _ in range(count)]


class Fleet:
    """Generates the rows of one load; the runtimes are kept to hang logs and calls on."""

    def __init__(self, counts: Counts, seed: int, now: dt.datetime) -> None:
        self.counts = counts
        self.rng = random.Random(seed)
        self.now = now.replace(microsecond=0)
        self.start = self.now - dt.timedelta(days=DAYS)
        self.apps, self.app_source = make_app_rows(counts.apps, seed)
        # runs per app: a heavy tail (a few apps run every few minutes)
        weights = [self.rng.paretovariate(1.2) for _ in self.apps]
        self.cumulative = list(itertools.accumulate(weights))
        self.runs: list[tuple[str, str, float]] = []  # (runtime id, app id, start offset s)

    def _app_index(self) -> int:
        return bisect.bisect(self.cumulative, self.rng.random() * self.cumulative[-1])

    # --- apps -------------------------------------------------------------------------

    def app_lines(self) -> Iterator[str]:
        columns = self.app_columns()
        for row in self.apps:
            yield "\t".join(_copy_value(row.get(c)) for c in columns) + "\n"

    def app_columns(self) -> list[str]:
        # the runs are pointed at once they are loaded
        return [c for c in self.apps[0] if c not in ("current_runtime", "last_runtime")]

    # --- runtimes ---------------------------------------------------------------------

    def runtime_lines(self) -> Iterator[str]:
        rng = self.rng
        span = DAYS * 86_400
        running_cut = span - 3_600  # runs started in the last hour may still run
        # in start order, as runs begin (and as their rows lie in the table)
        offsets = sorted(rng.random() * span for _ in range(self.counts.runtimes))
        for j, offset in enumerate(offsets):
            app_id = self.apps[min(self._app_index(), len(self.apps) - 1)]["id"]
            started = self.start + dt.timedelta(seconds=offset)
            run_id = f"{started:%Y%m%d_%H%M%S}_{j:07d}_{app_id}"
            self.runs.append((run_id, app_id, offset))
            duration = rng.lognormvariate(5.5, 1.0)  # about 4 min median
            total = rng.randint(50, 5_000)
            if offset > running_cut and rng.random() < 0.5:
                status, ended, heartbeat = "RUNNING", None, self.now
                solved, failed, error = total // 2, 0, None
            else:
                draw = rng.random()
                status = "COMPLETED" if draw < 0.9 else ("FAILED" if draw < 0.98 else "STOPPED")
                ended = started + dt.timedelta(seconds=duration)
                heartbeat = ended
                failed = rng.randint(0, total // 20)
                solved = total - failed if status == "COMPLETED" else total // 3
                error = "login rejected by upstream" if status == "FAILED" else None
            trigger = "command" if rng.random() < 0.1 else "schedule"
            yield (
                f"{run_id}\t{app_id}\t{_ts(started)}\t{_opt_ts(ended)}\t{status}\t{trigger}\t"
                f"{total}\t{solved}\t{failed}\t{error or NULL}\tworker-{j % 8}\t{_ts(heartbeat)}\n"
            )

    RUNTIME_COLUMNS = (
        "id",
        "app_id",
        "started",
        "ended",
        "status",
        "trigger",
        "records_total",
        "records_solved",
        "records_failed",
        "error",
        "host",
        "heartbeat",
    )

    # --- logs -------------------------------------------------------------------------

    def _per_run(self, total: int) -> Iterator[tuple[str, str, float]]:
        """(run id, app id, seconds since the start) for ``total`` rows spread evenly over
        the runs in start order, each row a little after its run's start (within 10
        min, in order): rows arrive about in time order, runs overlapping, as in a
        live fleet (the table's order then follows time, as appended rows do)."""
        rng = self.rng
        runs = self.runs
        end = DAYS * 86_400
        for i, (run_id, app_id, offset) in enumerate(runs):
            count = (i + 1) * total // len(runs) - i * total // len(runs)
            for after in sorted(rng.random() * 600 for _ in range(count)):
                yield run_id, app_id, min(offset + after, end)

    def log_lines(self) -> Iterator[str]:
        rng = self.rng
        pool = _messages(rng, 50_000)
        functions = [f for _, f, _ in FUNCTIONS]
        for run_id, app_id, offset in self._per_run(self.counts.logs):
            level, message = pool[rng.randrange(len(pool))]
            at = self.start + dt.timedelta(seconds=offset)
            function = functions[rng.randrange(len(functions))]
            yield f"{app_id}\t{run_id}\t{level}\tcollector.run\t{function}\t{message}\t{_ts(at)}\n"

    LOG_COLUMNS = ("app_id", "runtime_id", "level", "module", "function", "message", "timestamp")

    # --- function logs ----------------------------------------------------------------

    def function_log_lines(self) -> Iterator[str]:
        rng = self.rng
        for run_id, app_id, offset in self._per_run(self.counts.function_logs):
            module, name, typical = FUNCTIONS[rng.randrange(len(FUNCTIONS))]
            at = self.start + dt.timedelta(seconds=offset)
            seconds = typical * rng.lognormvariate(0, 0.6)
            size = rng.randint(1, 500)
            failed = rng.randint(0, size // 25)
            yield (
                f"{app_id}\t{run_id}\t{name}\t{module}\t{_ts(at)}\t{seconds:.4f}\t"
                f"{size}\t{size - failed}\t{failed}\n"
            )

    FUNCTION_LOG_COLUMNS = (
        "app_id",
        "runtime_id",
        "function_name",
        "module",
        "started",
        "runtime_seconds",
        "task_size",
        "solved",
        "failed",
    )

    # --- pipeline tasks ---------------------------------------------------------------

    def pipeline_lines(self) -> Iterator[str]:
        rng = self.rng
        runs = self.runs
        span = DAYS * 86_400
        created_at = sorted(rng.random() * span for _ in range(self.counts.pipeline_tasks))
        for j, offset in enumerate(created_at):  # in the order they are taken in
            run_id, app_id, _ = runs[rng.randrange(len(runs))]
            document_type = DOCUMENT_TYPES[min(int(rng.expovariate(0.35)), 11)]
            created = self.start + dt.timedelta(seconds=offset)
            draw = rng.random()
            error = error_stage = NULL
            ended: dt.datetime | None = None
            stage_durations = {s: round(rng.uniform(0.1, 20), 2) for s in STAGES}
            duration = sum(stage_durations.values())
            if draw < 0.85:
                status, stage = "COMPLETED", "STORED"
                ended = created + dt.timedelta(seconds=duration)
            elif draw < 0.93:
                status = "FAILED"
                stage = error_stage = STAGES[rng.randrange(1, len(STAGES))]
                error = PIPELINE_ERRORS[rng.randrange(len(PIPELINE_ERRORS))]
                ended = created + dt.timedelta(seconds=duration / 2)
            else:
                status = ("PENDING", "PROCESSING", "RETRYING")[rng.randrange(3)]
                stage = STAGES[rng.randrange(len(STAGES) - 1)]
            updated = ended or created + dt.timedelta(seconds=5)
            started = created + dt.timedelta(seconds=1)
            retries = 0 if status == "COMPLETED" else rng.randint(0, 3)
            yield (
                f"{app_id}\t{run_id}\t{document_type}\t{document_type}-{j:08d}\t{stage}\t"
                f"{status}\t{retries}\t{error}\t{error_stage}\t{json.dumps(stage_durations)}\t"
                f"{_opt_float(duration if ended else None)}\t{_ts(created)}\t{_ts(started)}\t"
                f"{_opt_ts(ended)}\t{_ts(updated)}\n"
            )

    PIPELINE_COLUMNS = (
        "app_id",
        "runtime_id",
        "document_type",
        "document_ref",
        "stage",
        "status",
        "retries",
        "error",
        "error_stage",
        "stage_durations",
        "duration_seconds",
        "created",
        "started",
        "ended",
        "updated",
    )

    # --- audit rows and verdicts ------------------------------------------------------

    def audit_lines(self) -> Iterator[str]:
        rng = self.rng
        span = DAYS * 86_400
        for offset in sorted(rng.random() * span for _ in range(self.counts.audit)):
            action, method, endpoint = ACTIONS[rng.randrange(len(ACTIONS))]
            app_id = self.apps[rng.randrange(len(self.apps))]["id"]
            at = self.start + dt.timedelta(seconds=offset)
            actor = ACTORS[rng.randrange(len(ACTORS))]
            outcome = "failed" if action == "auth.login_failed" else "success"
            status = 401 if outcome == "failed" else 200
            summary = json.dumps({"app": app_id})
            yield (
                f"{_ts(at)}\t{actor}\tuser\toperator\t10.0.{rng.randrange(256)}.7\t{action}\t"
                f"{method}\t{endpoint.format(app=app_id)}\t{summary}\t{status}\t{outcome}\n"
            )

    AUDIT_COLUMNS = (
        "at",
        "actor",
        "actor_type",
        "role",
        "ip",
        "action",
        "method",
        "endpoint",
        "summary",
        "status",
        "outcome",
    )

    def verdict_lines(self) -> Iterator[str]:
        """About 6% of the apps hold a verdict now; as many were raised and cleared."""
        rng = self.rng
        for row in self.apps:
            if rng.random() < 0.12:
                raised = self.now - dt.timedelta(hours=rng.uniform(1, 200))
                cleared = _ts(raised + dt.timedelta(hours=1)) if rng.random() < 0.5 else NULL
                verdict = VERDICTS[rng.randrange(len(VERDICTS))]
                yield f"{row['id']}\t{verdict}\t{_ts(raised)}\t{cleared}\t{{}}\n"

    VERDICT_COLUMNS = ("app_id", "verdict", "raised_at", "cleared_at", "evidence")


NULL = "\\N"


def _opt_ts(at: dt.datetime | None) -> str:
    return NULL if at is None else _ts(at)


def _opt_float(value: float | None) -> str:
    return NULL if value is None else f"{value:.3f}"


def _copy_value(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return _ts(value)
    if isinstance(value, dict):
        return json.dumps(value)
    if hasattr(value, "value"):  # an enum
        return str(value.value)
    return str(value)


def _app_rows_by_column(fleet: Fleet) -> None:
    """``make_app_rows`` keys rows by field name; COPY wants the columns."""
    renamed = {"group": "group_name", "parent": "parent_name", "app": "app_name"}
    fleet.apps = [{renamed.get(k, k): v for k, v in row.items()} for row in fleet.apps]


def ensure_partitions(url: str, first: dt.datetime, last: dt.datetime) -> dict[str, list[str]]:
    """The time partitions of ``logs`` and ``function_log`` covering ``first`` to
    ``last`` (naive UTC), created where missing; the partitions covering it per table
    (none when the tables are not partitioned: a database before migration 0018)."""
    from control.db.database import connect_url
    from control.maintenance import partitions

    db = connect_url(url)
    covering: dict[str, list[str]] = {}
    try:
        with db.connection_context():
            for scheme in partitions.SCHEMES:
                report = partitions.ensure_partitions(scheme, first, last, db)
                if report.skipped:
                    raise RuntimeError(f"partitions not created: {report.skipped}")
                covering[scheme.table] = sorted(report.existing + report.created)
    finally:
        db.close_all()  # type: ignore[attr-defined]  # the pooled database's
    return covering


def load(url: str, counts: Counts, seed: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Load the fleet into the (migrated, empty) database at ``url``; returns figures."""
    fleet = Fleet(counts, seed, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    _app_rows_by_column(fleet)
    timings: dict[str, float] = {}
    from control.maintenance.partitions import AHEAD_DAYS

    covering = ensure_partitions(url, fleet.start, fleet.now + dt.timedelta(days=AHEAD_DAYS))
    for table, names in covering.items():
        progress(f"  {table}: {len(names)} partitions ({names[0]} to {names[-1]})")
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexname NOT LIKE '%%_pkey' ORDER BY tablename, indexname",
            (list(TABLES),),
        )
        # a partitioned table's own index reads "ON ONLY" (the parent alone): rebuilt on
        # the parent and every partition
        indexes = [(t, n, d.replace(" ON ONLY ", " ON ")) for t, n, d in cur.fetchall()]
        for _, name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        steps: list[tuple[str, str, Sequence[str], Callable[[], Iterable[str]]]] = [
            ("apps", "apps", fleet.app_columns(), fleet.app_lines),
            ("runtimes", "runtime", Fleet.RUNTIME_COLUMNS, fleet.runtime_lines),
            ("logs", "logs", Fleet.LOG_COLUMNS, fleet.log_lines),
            ("function logs", "function_log", Fleet.FUNCTION_LOG_COLUMNS, fleet.function_log_lines),
            ("pipeline tasks", "pipeline_task", Fleet.PIPELINE_COLUMNS, fleet.pipeline_lines),
            ("audit rows", "audit_log", Fleet.AUDIT_COLUMNS, fleet.audit_lines),
            ("health verdicts", "health_verdict", Fleet.VERDICT_COLUMNS, fleet.verdict_lines),
        ]
        for label, table, columns, lines in steps:
            began = time.perf_counter()
            written = _copy(cur, table, columns, lines())
            timings[label] = time.perf_counter() - began
            progress(f"  {label}: {written:,} rows in {timings[label]:.0f} s")
        # each app points at its latest finished run and, when one runs, its current run
        cur.execute(
            "UPDATE apps SET last_runtime = r.id FROM (SELECT DISTINCT ON (app_id) app_id, id"
            " FROM runtime WHERE status <> 'RUNNING' ORDER BY app_id, started DESC) r"
            " WHERE r.app_id = apps.id"
        )
        cur.execute(
            "UPDATE apps SET current_runtime = r.id, run_status = 'RUNNING' FROM"
            " (SELECT DISTINCT ON (app_id) app_id, id FROM runtime WHERE status = 'RUNNING'"
            " ORDER BY app_id, started DESC) r WHERE r.app_id = apps.id"
        )
        began = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        for _, _, definition in indexes:
            cur.execute(definition)
        timings["indexes"] = time.perf_counter() - began
        progress(f"  {len(indexes)} indexes rebuilt in {timings['indexes']:.0f} s")
        began = time.perf_counter()
        for table in TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum"] = time.perf_counter() - began
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        (size,) = cur.fetchone()
    return {"timings": timings, "size": size, "apps_source": fleet.app_source}
