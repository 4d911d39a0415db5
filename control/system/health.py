"""Health checks of the backing parts, each timed."""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import psutil
from peewee import PeeweeException

from control import __version__
from control.db.database import database
from control.errors import Unavailable
from control.kv.interface import KeyValueStore
from control.system.metrics import database_directory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """One part's answer: up or down, and how long it took."""

    up: bool
    latency_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"status": "up" if self.up else "down", "latency_ms": self.latency_ms}


def _timed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def check_database() -> CheckResult:
    """Round-trip ``SELECT 1`` to the database."""
    started = time.perf_counter()
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()
        up = True
    except (PeeweeException, OSError) as exc:
        log.warning("database health check failed: %s", type(exc).__name__)
        up = False
    return CheckResult(up, _timed(started))


def check_store(store: KeyValueStore) -> CheckResult:
    """PING the key-value store (Redis)."""
    started = time.perf_counter()
    try:
        store.ping()
        return CheckResult(True, _timed(started))
    except Unavailable:
        return CheckResult(False, _timed(started))


def check_tcp(url: str, default_port: int, timeout: float = 1.0) -> CheckResult:
    """Open (and close) a TCP connection to the server a URL names."""
    parsed = urlparse(url)
    started = time.perf_counter()
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=timeout
        ):
            pass
        return CheckResult(True, _timed(started))
    except OSError:
        return CheckResult(False, _timed(started))


def detailed_report(
    store: KeyValueStore, redis_url: str | None, rabbitmq_url: str | None, started_at: float
) -> dict[str, Any]:
    """The authenticated health body: version, uptime, each part, disk use.

    Required parts are the database, and Redis and RabbitMQ when configured (else
    ``in-process``); one down makes the status ``unhealthy`` (503) and is named in
    ``failing``. Each check is timed (``latency_ms``).
    """
    checks: dict[str, Any] = {"database": check_database().as_dict()}
    checks["redis"] = check_store(store).as_dict() if redis_url else {"status": "in-process"}
    checks["rabbitmq"] = (
        check_tcp(rabbitmq_url, 5672).as_dict() if rabbitmq_url else {"status": "in-process"}
    )
    path = database_directory()  # the disk that fills up: the SQLite file's, else /
    disk = psutil.disk_usage(path)
    checks["disk_usage_pct"] = disk.percent
    # no path: where the data lives is the operators' business, not any token holder's
    checks["disk"] = {
        "total_bytes": disk.total,
        "used_bytes": disk.used,
        "percent": disk.percent,
    }
    required_down = [
        name for name in ("database", "redis", "rabbitmq") if checks[name]["status"] == "down"
    ]
    return {
        "status": "unhealthy" if required_down else "healthy",
        "version": __version__,
        "uptime_seconds": int(time.time() - started_at),
        "checks": checks,
        "failing": required_down,
    }
