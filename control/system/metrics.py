"""Host metrics with psutil: a sample now, and the sampled history in ``system_metric``.

``sample()`` reads CPU, load, memory, swap, the disk holding the database, process
counts and this process's own figures, without blocking: ``cpu_percent`` is the usage
since the previous call (the module primes psutil once at import, so the first sample
is meaningful too). ``record_sample()`` stores one, so a periodic sampler is one line::

    metrics.record_sample(metrics.sample())

The table keeps the figures charts plot in their own columns (time, CPU, memory, disk,
load, process count) and everything else in ``data``. ``history()`` answers at most
``MAX_POINTS`` points: when a window holds more rows it averages them in time buckets,
in SQL. ``purge_before()`` deletes old rows in bounded batches.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from pathlib import Path
from typing import Any

import psutil
from peewee import SQL, ColumnBase, fn

from control.clock import utcnow
from control.db.database import database, dialect, write_transaction
from control.errors import InvalidInput
from control.querying import tuples
from control.system.models import SystemMetric

MAX_POINTS = 1000
"""The most points ``history()`` answers; longer windows are averaged in buckets."""
MIN_BUCKET_SECONDS = 1
MAX_BUCKET_SECONDS = 7 * 24 * 3600
# Columns of the table (the rest of a sample goes to ``data``).
COLUMNS = ("cpu_percent", "memory_percent", "disk_percent", "load_1", "process_count")

psutil.cpu_percent(interval=None)  # prime: later calls measure since this one


# -- sampling ---------------------------------------------------------------------------


def database_directory() -> str:
    """The directory of the SQLite file when the bound database is one, else ``/``.

    Its disk is the one that fills up; a server database lives on another host.
    """
    target = database.obj
    name = getattr(target, "database", None)
    if target is not None and dialect(target) == "sqlite" and name and name != ":memory:":
        directory = Path(name).resolve().parent
        if directory.is_dir():
            return str(directory)
    return "/"


def _load_average() -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = psutil.getloadavg()
    except (AttributeError, OSError):
        return None
    return round(one, 2), round(five, 2), round(fifteen, 2)


def sample(disk_path: str | None = None) -> dict[str, Any]:
    """The host's figures now; nothing here blocks for a measuring interval.

    The disk measured is ``disk_path``'s (the database's by default); its path is not
    part of the figures: every role reads them, and where data lives is not their business.
    """
    now = time.time()
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    path = disk_path or database_directory()
    disk = psutil.disk_usage(path)
    me = psutil.Process(os.getpid())
    with me.oneshot():
        rss = me.memory_info().rss
        threads = me.num_threads()
        process_started = me.create_time()
    boot = psutil.boot_time()
    load = _load_average()
    return {
        "at": utcnow(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count() or 1,
        "load_1": load[0] if load else None,
        "load_5": load[1] if load else None,
        "load_15": load[2] if load else None,
        "memory_total": memory.total,
        "memory_used": memory.used,
        "memory_available": memory.available,
        "memory_percent": memory.percent,
        "swap_total": swap.total,
        "swap_used": swap.used,
        "swap_percent": swap.percent,
        "disk_total": disk.total,
        "disk_used": disk.used,
        "disk_percent": disk.percent,
        "process_count": len(psutil.pids()),
        "process_rss": rss,
        "process_threads": threads,
        "process_uptime_seconds": max(0, int(now - process_started)),
        "boot_time": dt.datetime.fromtimestamp(boot, dt.UTC).replace(tzinfo=None),
        "uptime_seconds": max(0, int(now - boot)),
    }


def _json_ready(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def record_sample(figures: dict[str, Any]) -> SystemMetric:
    """Store one ``sample()`` (the chart columns apart, the rest in ``data``)."""
    rest = {k: _json_ready(v) for k, v in figures.items() if k not in (*COLUMNS, "at")}
    return SystemMetric.create(
        at=figures.get("at") or utcnow(),
        cpu_percent=figures["cpu_percent"],
        memory_percent=figures["memory_percent"],
        disk_percent=figures["disk_percent"],
        load_1=figures.get("load_1"),
        process_count=figures["process_count"],
        data=rest,
    )


# -- history ----------------------------------------------------------------------------


def _bucket_index(bucket: int) -> ColumnBase:
    """``floor(epoch(at) / bucket)`` in SQL. ``bucket`` is a checked int rendered as a
    literal, so the SELECT and the GROUP BY are the same text (PostgreSQL compares them)."""
    size = SQL(str(int(bucket)))
    kind = dialect()
    if kind == "postgresql":
        return fn.FLOOR(fn.date_part(SQL("'epoch'"), SystemMetric.at) / size)
    if kind == "sqlite":
        return fn.strftime(SQL("'%s'"), SystemMetric.at).cast("INTEGER") / size
    return fn.DATEDIFF_BIG(SQL("second"), SQL("'19700101'"), SystemMetric.at) / size


def _point(row: SystemMetric) -> dict[str, Any]:
    return {
        "at": row.at,
        "cpu_percent": row.cpu_percent,
        "memory_percent": row.memory_percent,
        "disk_percent": row.disk_percent,
        "load_1": row.load_1,
        "process_count": row.process_count,
    }


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def history(
    since: dt.datetime,
    until: dt.datetime,
    bucket: int | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """The samples in ``[since, until)``, oldest first, at most ``max_points`` of them.

    Without ``bucket`` the rows come as stored while they fit; otherwise (or when there
    are more) they are averaged per bucket of ``bucket`` seconds, widened as needed to
    fit ``max_points``. A bucketed point is stamped with its bucket's start and carries
    ``samples``, the number of rows averaged.
    """
    if since >= until:
        raise InvalidInput("'from' must be before 'to'.", field="from")
    if bucket is not None and not MIN_BUCKET_SECONDS <= bucket <= MAX_BUCKET_SECONDS:
        raise InvalidInput(
            f"bucket must be {MIN_BUCKET_SECONDS}-{MAX_BUCKET_SECONDS} seconds", field="bucket"
        )
    window = (SystemMetric.at >= since) & (SystemMetric.at < until)
    if bucket is None:
        rows = list(
            SystemMetric.select()
            .where(window)
            .order_by(SystemMetric.at.asc(), SystemMetric.id.asc())
            .limit(max_points + 1)
        )
        if len(rows) <= max_points:
            return {"bucket_seconds": None, "points": [_point(r) for r in rows]}
    span = (until - since).total_seconds()
    fitted = max(bucket or MIN_BUCKET_SECONDS, math.ceil(span / max_points))
    # the window's start need not fall on a bucket boundary: one more bucket can appear
    if math.ceil(span / fitted) + 1 > max_points:
        fitted += 1
    index = _bucket_index(fitted)
    query = tuples(
        SystemMetric.select(
            index.alias("bucket"),
            fn.COUNT(SystemMetric.id),
            fn.AVG(SystemMetric.cpu_percent),
            fn.AVG(SystemMetric.memory_percent),
            fn.AVG(SystemMetric.disk_percent),
            fn.AVG(SystemMetric.load_1),
            fn.AVG(SystemMetric.process_count),
        )
        .where(window)
        .group_by(index)
        .order_by(index.asc())
        .limit(max_points)
    )
    points = [
        {
            "at": dt.datetime.fromtimestamp(int(number) * fitted, dt.UTC).replace(tzinfo=None),
            "cpu_percent": _round(cpu),
            "memory_percent": _round(memory),
            "disk_percent": _round(disk),
            "load_1": _round(load),
            "process_count": _round(processes, 1),
            "samples": int(count),
        }
        for number, count, cpu, memory, disk, load, processes in query
    ]
    return {"bucket_seconds": fitted, "points": points}


def purge_before(cutoff: dt.datetime, batch: int = 1000, max_batches: int | None = None) -> int:
    """Delete samples older than ``cutoff``, ``batch`` rows per statement; the count.

    Each statement is short, so a sampler writing meanwhile never waits long for it.
    """
    removed = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        ids = [
            row.id
            for row in SystemMetric.select(SystemMetric.id)
            .where(SystemMetric.at < cutoff)
            .order_by(SystemMetric.id.asc())
            .limit(batch)
        ]
        if not ids:
            break
        with write_transaction():
            removed += SystemMetric.delete().where(SystemMetric.id.in_(ids)).execute()
        batches += 1
        if len(ids) < batch:
            break
    return removed
