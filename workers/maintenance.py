"""Maintenance actors, sent by the scheduler (``dcctl scheduler``) on their intervals.

Each is thin: it calls a ``control`` function and publishes what changed. None retries
(``max_retries=0``): the next tick is the retry, and a retried metric sample would be
stamped late. Time limits are generous for their work, short enough that a stuck
database connection frees the worker thread well before the next tick.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from control.agent.stale import LOST, close_stale_runtimes
from control.auth.models import RefreshToken
from control.auth.revocation import purge_expired
from control.db.database import connected, database
from control.db.models import Runtime, utcnow
from control.events import EventType, publish
from control.events.types import Event
from control.maintenance.retention import purge_older_than, run_retention
from control.notifications.routing import notify
from control.notifications.rules import from_bus
from control.scheduler.jobs import MAINTENANCE_QUEUE
from control.settings import get_settings
from control.system import metrics
from workers.broker import broker
from workers.notifications import enqueue_delivery

log = logging.getLogger(__name__)

QUEUE = MAINTENANCE_QUEUE


def _metric_event(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in figures.items()}


@dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, time_limit=30_000)
def sample_metrics() -> None:
    """Store one sample of the host's figures and publish it as ``system.metric``."""
    figures = metrics.sample()
    with connected(), database.atomic():
        metrics.record_sample(figures)
    publish(EventType.SYSTEM_METRIC, _metric_event(figures))


@dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, time_limit=10 * 60_000)
def cleanup_tokens() -> None:
    """Delete expired refresh tokens and expired revocations (the database's blacklist)."""
    refresh = purge_older_than(RefreshToken, RefreshToken.expires, utcnow())
    with connected():
        revoked = purge_expired()
    log.info("token cleanup: %s refresh tokens, %s revocations", refresh, revoked)


@dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, time_limit=30 * 60_000)
def apply_retention() -> None:
    """Delete rows past their retention (batched; see ``control.maintenance.retention``)."""
    run_retention(get_settings())


@dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, time_limit=2 * 60_000)
def detect_stale_runtimes() -> None:
    """Close RUNNING runtimes whose agent stopped heart-beating as FAILED, and notify."""
    settings = get_settings()
    closed = close_stale_runtimes(settings.agent_stale_after_seconds)
    for runtime_id in closed:
        with connected():
            runtime = Runtime.get_or_none(Runtime.id == runtime_id)
        if runtime is None:
            continue
        # close_stale_runtimes already published runtime.completed (FAILED); a router
        # may not be listening (pub/sub keeps nothing), so route the notification here.
        # A router that did hear it makes a duplicate the channel's dedup window drops.
        event = Event.of(
            EventType.RUNTIME_COMPLETED,
            {
                "app": runtime.app_id,
                "runtime": runtime_id,
                "status": "FAILED",
                "error": runtime.error or LOST,
                "records_total": runtime.records_total,
                "records_solved": runtime.records_solved,
                "records_failed": runtime.records_failed,
            },
        )
        found = from_bus(event, settings.notification_pipeline_error_rate)
        if found is not None:
            try:
                notify(found, enqueue_delivery)
            except Exception:
                log.exception("could not notify the failure of runtime %s", runtime_id)
