"""Health checks of the backing parts, each timed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from peewee import PeeweeException

from control.db.database import database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """One part's answer: up or down, and how long it took."""

    up: bool
    latency_ms: float


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
    return CheckResult(up, round((time.perf_counter() - started) * 1000, 2))
