"""Maintenance actors, sent by the scheduler (``dcctl scheduler``) on their intervals.

Each is thin: it calls a ``control`` function and publishes what changed. None retries
(``max_retries=0``): the next tick is the retry, and a retried metric sample would be
stamped late. Time limits are generous for their work, short enough that a stuck
database connection frees the worker thread well before the next tick.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dramatiq

from control.audit import rollup as audit_rollup
from control.auth.models import RefreshToken
from control.auth.revocation import purge_expired
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.events import EventType, publish
from control.health.services import evaluate_all
from control.maintenance import partitions
from control.maintenance.retention import SLICE_SECONDS, purge_older_than, run_retention
from control.performance import pairs
from control.performance import rollup as function_rollup
from control.pipelines import rollup as pipeline_rollup
from control.runtimes import rollup as runtime_rollup
from control.runtimes.stale import close_and_notify
from control.settings import get_settings
from control.system import metrics
from control.tasks import actors
from control.tasks.interface import TaskQueue

log = logging.getLogger(__name__)

QUEUE = actors.SAMPLE_METRICS.queue


def _metric_event(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in figures.items()}


def sample_metrics() -> None:
    """Store one sample of the host's figures and publish it as ``system.metric``."""
    figures = metrics.sample()
    with connected(), write_transaction():
        metrics.record_sample(figures)
    publish(EventType.SYSTEM_METRIC, _metric_event(figures))


def cleanup_tokens() -> None:
    """Delete expired refresh tokens and expired revocations (the database's blacklist)."""
    refresh = purge_older_than(RefreshToken, RefreshToken.expires, utcnow())
    with connected():
        revoked = purge_expired()
    log.info("token cleanup: %s refresh tokens, %s revocations", refresh, revoked)


def apply_retention() -> None:
    """Delete rows past their retention, for one time slice (batched; the next run
    carries on; see ``control.maintenance.retention``)."""
    run_retention(get_settings(), until=time.monotonic() + SLICE_SECONDS)


def ensure_partitions() -> None:
    """Create the logs' and function logs' time partitions up to
    ``partitions.AHEAD_DAYS`` ahead (PostgreSQL; a no-op elsewhere; see
    ``control.maintenance.partitions``)."""
    with connected():
        reports = partitions.ensure_ahead()
    for table, report in reports.items():
        if report.created or report.skipped:
            log.info(
                "partitions of %s: created %s, skipped %s",
                table,
                report.created or "none",
                report.skipped or "none",
            )


def detect_stale_runtimes(tasks: TaskQueue) -> None:
    """Close RUNNING runtimes whose agent stopped heart-beating as FAILED, and notify
    (``control.runtimes.stale``)."""
    settings = get_settings()
    close_and_notify(
        settings.agent_stale_after_seconds, settings.notification_pipeline_error_rate, tasks
    )


def evaluate_health() -> None:
    """Evaluate every app's health verdicts; record and publish the changes
    (``control.health.services``)."""
    changes = evaluate_all()
    if changes:
        log.info("health: %s verdict change(s)", len(changes))


def roll_up_functions() -> None:
    """Rewrite the recent hours of the function log's hourly rollup and move its mark
    (``control.performance.rollup``)."""
    rolled = function_rollup.roll_up()
    if rolled is not None:
        log.info("function rollup: hours %s to %s rewritten", *rolled)


def roll_up_function_pairs() -> None:
    """Rewrite the function log's sums per function and app and move their mark
    (``control.performance.pairs``)."""
    last = pairs.roll_up()
    if last is not None:
        log.info("function pairs: calls up to id %s summed", last)


def roll_up_pipelines() -> None:
    """Rewrite the recent and the changed hours of the pipeline tasks' hourly rollup and
    move its mark (``control.pipelines.rollup``)."""
    rolled = pipeline_rollup.roll_up()
    if rolled is not None:
        log.info("pipeline rollup: hours %s to %s rewritten", *rolled)


def roll_up_audit() -> None:
    """Rewrite the recent hours of the audit log's hourly rollups and move their mark
    (``control.audit.rollup``)."""
    rolled = audit_rollup.roll_up()
    if rolled is not None:
        log.info("audit rollup: hours %s to %s rewritten", *rolled)


def roll_up_runtimes() -> None:
    """Rewrite the recent hours of the runtimes' hourly rollups and move their mark
    (``control.runtimes.rollup``)."""
    rolled = runtime_rollup.roll_up()
    if rolled is not None:
        log.info("runtime rollup: hours %s to %s rewritten", *rolled)


def declare(broker: dramatiq.Broker, tasks: TaskQueue) -> None:
    """Declare the maintenance actors on ``broker``; notifications go through ``tasks``."""

    def detect_stale() -> None:
        detect_stale_runtimes(tasks)

    limits = {
        actors.SAMPLE_METRICS: (sample_metrics, 30_000),
        actors.CLEANUP_TOKENS: (cleanup_tokens, 10 * 60_000),
        # well under RabbitMQ's 30 min consumer_timeout
        actors.APPLY_RETENTION: (apply_retention, 2 * SLICE_SECONDS * 1000),
        # a few DDL statements, each waiting at most partitions.LOCK_TIMEOUT_MS for its lock
        actors.ENSURE_PARTITIONS: (ensure_partitions, 5 * 60_000),
        actors.DETECT_STALE_RUNTIMES: (detect_stale, 2 * 60_000),
        actors.EVALUATE_HEALTH: (evaluate_health, 2 * 60_000),
        actors.ROLL_UP_FUNCTIONS: (roll_up_functions, 5 * 60_000),
        actors.ROLL_UP_FUNCTION_PAIRS: (roll_up_function_pairs, 5 * 60_000),
        actors.ROLL_UP_PIPELINES: (roll_up_pipelines, 5 * 60_000),
        actors.ROLL_UP_AUDIT: (roll_up_audit, 5 * 60_000),
        actors.ROLL_UP_RUNTIMES: (roll_up_runtimes, 5 * 60_000),
    }
    for ref, (fn, time_limit) in limits.items():
        dramatiq.actor(
            actor_name=ref.name,
            broker=broker,
            queue_name=ref.queue,
            max_retries=0,
            time_limit=time_limit,
        )(fn)
