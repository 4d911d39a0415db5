"""Time partitions of ``logs`` (a day each) and ``function_log`` (a week each), PostgreSQL.

Migration 0018 declares both tables ``PARTITION BY RANGE`` on their time column, with a
``DEFAULT`` partition that catches any row outside the created ranges (a clock far off,
an old import), so an insert never fails. This module keeps the ranges ahead of the
clock (:func:`ensure_ahead`, the ``ensure_partitions`` maintenance actor, hourly), lists
them, and drops those wholly past a cut-off (retention, ``control.maintenance.retention``).

Names: ``logs_p20261203`` holds the day 2026-12-03 (``[00:00, 24:00)``, naive UTC as the
column); ``function_log_p2026w49`` the ISO week 49 of 2026 (Monday 00:00 to the next
Monday); ``logs_default`` and ``function_log_default`` the default partitions.

PostgreSQL refuses to create a partition when the default partition already holds rows
of its range; such a range is skipped and reported (a warning, and in the returned
:class:`EnsureReport`), never an error: its rows stay in the default partition, which
retention's batched ``DELETE`` covers. Creating or dropping a partition takes a brief
``ACCESS EXCLUSIVE`` lock on the parent table, so each statement waits at most
``lock_timeout_ms`` for it (a long query on the table would otherwise queue every
insert behind the waiting DDL); a range not created or dropped for that is reported and
the next run tries again.

SQLite and SQL Server keep plain tables: every function here is a no-op there.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from peewee import Database, DatabaseError

from control.clock import utcnow
from control.db.database import database, dialect

log = logging.getLogger(__name__)

AHEAD_DAYS = 7  # the partitions :func:`ensure_ahead` keeps ready beyond today
LOCK_TIMEOUT_MS = 5_000  # how long creating or dropping one partition waits for its lock

Period = Literal["day", "week"]


@dataclass(frozen=True)
class Scheme:
    """How a table is partitioned: by ``column``, one partition per ``period``."""

    table: str
    column: str
    period: Period

    @property
    def default(self) -> str:
        """The name of the default partition."""
        return f"{self.table}_default"

    def start_of(self, at: dt.datetime) -> dt.datetime:
        """The start of the period ``at`` falls in (midnight; a week starts on Monday)."""
        day = dt.datetime(at.year, at.month, at.day)
        if self.period == "week":
            return day - dt.timedelta(days=day.weekday())
        return day

    def step(self) -> dt.timedelta:
        return dt.timedelta(days=7 if self.period == "week" else 1)

    def name(self, start: dt.datetime) -> str:
        """The partition's name for the period starting at ``start``."""
        if self.period == "week":
            year, week, _ = start.isocalendar()
            return f"{self.table}_p{year:04d}w{week:02d}"
        return f"{self.table}_p{start:%Y%m%d}"

    def periods(self, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
        """The starts of every period from the one holding ``first`` to the one holding
        ``last``."""
        start, end = self.start_of(first), self.start_of(last)
        starts = []
        while start <= end:
            starts.append(start)
            start += self.step()
        return starts


LOGS = Scheme("logs", "timestamp", "day")
FUNCTION_LOG = Scheme("function_log", "started", "week")
SCHEMES = (LOGS, FUNCTION_LOG)


@dataclass(frozen=True)
class Partition:
    """One partition; ``start``/``end`` are None for the default partition."""

    name: str
    start: dt.datetime | None
    end: dt.datetime | None

    @property
    def is_default(self) -> bool:
        return self.start is None


@dataclass
class EnsureReport:
    """What :func:`ensure_partitions` did with each period of its range."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    # name -> why not created (rows of its range in the default partition, a lock wait)
    skipped: dict[str, str] = field(default_factory=dict)


def _execute(target: Database, sql: str, params: tuple[object, ...] = ()) -> Any:
    return target.execute_sql(sql, params)  # type: ignore[no-untyped-call]  # peewee stub


def _db(db: Database | None) -> Database:
    return db if db is not None else database.obj


def _literal(at: dt.datetime) -> str:
    return f"'{at:%Y-%m-%d %H:%M:%S}'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_partitioned(scheme: Scheme, db: Database | None = None) -> bool:
    """Whether ``scheme``'s table is a partitioned table (PostgreSQL, migration 0018)."""
    target = _db(db)
    if dialect(target) != "postgresql":
        return False
    row = _execute(
        target, "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", (scheme.table,)
    ).fetchone()
    return row is not None and row[0] == "p"


_BOUNDS = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")


def list_partitions(scheme: Scheme, db: Database | None = None) -> list[Partition]:
    """Every partition of ``scheme``'s table, the default one last, the others by start.
    Empty when the table is not partitioned (or not on PostgreSQL)."""
    target = _db(db)
    if not is_partitioned(scheme, target):
        return []
    rows = _execute(
        target,
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        (scheme.table,),
    ).fetchall()
    ranged, default = [], []
    for name, bound in rows:
        if bound == "DEFAULT":
            default.append(Partition(name, None, None))
            continue
        match = _BOUNDS.search(bound)
        if match is None:  # MINVALUE/MAXVALUE: not one this module makes; left alone
            log.warning("partitions: %s has bounds %s, not a time range; ignored", name, bound)
            continue
        start, end = (dt.datetime.fromisoformat(v) for v in match.groups())
        ranged.append(Partition(name, start, end))
    return sorted(ranged, key=lambda p: p.start or dt.datetime.min) + default


def _default_has_rows(
    scheme: Scheme, start: dt.datetime, end: dt.datetime, target: Database
) -> bool:
    row = _execute(
        target,
        f"SELECT 1 FROM {_quoted(scheme.default)} WHERE {_quoted(scheme.column)} >= %s"
        f" AND {_quoted(scheme.column)} < %s LIMIT 1",
        (start, end),
    ).fetchone()
    return row is not None


def _set_lock_timeout(target: Database, lock_timeout_ms: int | None) -> None:
    if lock_timeout_ms is not None:
        _execute(target, f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")


def ensure_partitions(
    scheme: Scheme,
    first: dt.datetime,
    last: dt.datetime,
    db: Database | None = None,
    *,
    lock_timeout_ms: int | None = LOCK_TIMEOUT_MS,
) -> EnsureReport:
    """Create the partitions of ``scheme``'s table for every period from the one holding
    ``first`` to the one holding ``last`` (naive UTC), each in a transaction of its own.

    Idempotent: a period already covered by a partition (whatever its name) is left as
    it is. A period whose rows already sit in the default partition is skipped and
    reported, as is one whose lock was not had within ``lock_timeout_ms`` (None: wait as
    long as the session allows). A no-op when the table is not partitioned.
    """
    target = _db(db)
    report = EnsureReport()
    if not is_partitioned(scheme, target):
        return report
    partitions = list_partitions(scheme, target)
    has_default = any(p.is_default for p in partitions)
    have = [(p.name, p.start, p.end) for p in partitions if p.start and p.end]
    for start in scheme.periods(first, last):
        end = start + scheme.step()
        name = scheme.name(start)
        overlap = [n for n, lo, hi in have if lo < end and hi > start]
        if overlap:
            report.existing.extend(n for n in overlap if n not in report.existing)
            continue
        if has_default and _default_has_rows(scheme, start, end, target):
            report.skipped[name] = f"rows of its range are in {scheme.default}"
            log.warning(
                "partitions: %s not created: rows of [%s, %s) are in %s",
                name,
                start,
                end,
                scheme.default,
            )
            continue
        try:
            with target.atomic():
                _set_lock_timeout(target, lock_timeout_ms)
                _execute(
                    target,
                    f"CREATE TABLE IF NOT EXISTS {_quoted(name)} PARTITION OF"
                    f" {_quoted(scheme.table)} FOR VALUES FROM ({_literal(start)})"
                    f" TO ({_literal(end)})",
                )
        except DatabaseError as error:
            # a row of the range reached the default partition since the check, or the
            # lock was not had in time: the next run tries again
            report.skipped[name] = str(error).strip().splitlines()[0]
            log.warning("partitions: %s not created: %s", name, report.skipped[name])
            continue
        report.created.append(name)
        have.append((name, start, end))
    if report.created:
        log.info("partitions: created %s", ", ".join(report.created))
    return report


def ensure_ahead(
    db: Database | None = None,
    *,
    now: dt.datetime | None = None,
    days: int = AHEAD_DAYS,
    lock_timeout_ms: int | None = LOCK_TIMEOUT_MS,
) -> dict[str, EnsureReport]:
    """Partitions of every partitioned table from today to ``days`` ahead; a report per
    table (empty on a database without partitioned tables)."""
    target = _db(db)
    if dialect(target) != "postgresql":
        return {}
    now = now or utcnow()
    return {
        scheme.table: ensure_partitions(
            scheme, now, now + dt.timedelta(days=days), target, lock_timeout_ms=lock_timeout_ms
        )
        for scheme in SCHEMES
        if is_partitioned(scheme, target)
    }


def drop_partitions_before(
    scheme: Scheme,
    cutoff: dt.datetime,
    db: Database | None = None,
    *,
    lock_timeout_ms: int | None = LOCK_TIMEOUT_MS,
) -> list[str]:
    """Drop every partition of ``scheme``'s table whose whole range is before ``cutoff``
    (its end at or before it); the names dropped. The partition straddling the cut-off
    and the default one are kept (retention deletes their old rows in batches). One
    transaction per partition; one whose lock is not had in time is left to the next run.
    """
    target = _db(db)
    dropped: list[str] = []
    for partition in list_partitions(scheme, target):
        if partition.end is None or partition.end > cutoff:
            continue
        try:
            with target.atomic():
                _set_lock_timeout(target, lock_timeout_ms)
                _execute(target, f"DROP TABLE IF EXISTS {_quoted(partition.name)}")
        except DatabaseError as error:
            log.warning(
                "partitions: %s not dropped (the next run tries again): %s",
                partition.name,
                str(error).strip().splitlines()[0],
            )
            break
        dropped.append(partition.name)
    if dropped:
        log.info("partitions: dropped %s (before %s)", ", ".join(dropped), cutoff)
    return dropped
