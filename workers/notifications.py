"""Sending notifications: one actor per delivery, retried with exponential backoff.

The delivery row is committed (``queued``) before its message is sent, so the message
carries only the id and a lost message loses nothing: ``requeue_stale_notifications``
(fired by the scheduler) sends again the rows left queued. Each attempt is written to
the row: status, attempts, last error, latency.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from control.notifications import deliveries, routing
from control.notifications.interfaces import DeliveryFailed, DeliveryFailedPermanently
from control.settings import Settings, get_settings
from control.tasks.actors import REQUEUE_STALE_NOTIFICATIONS, SEND_NOTIFICATION
from control.tasks.interface import TaskQueue

QUEUE = SEND_NOTIFICATION.queue
MAX_RETRIES = 5


def send_options(settings: Settings) -> dict[str, Any]:
    """``send_notification``'s options (its first backoff from ``settings``)."""
    return {
        "queue_name": QUEUE,
        "max_retries": MAX_RETRIES,  # 6 attempts in all
        "min_backoff": settings.notification_retry_min_backoff_ms,
        "max_backoff": 60_000,
        # senders give up after their own deadline (email: SEND_DEADLINE_SECONDS, 20 s);
        # this catches a stuck one
        "time_limit": 30_000,
        "throws": (DeliveryFailedPermanently,),  # a 4xx or bad credentials: retrying won't help
    }


def _final_attempt(max_retries: int) -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:  # called directly, not by a worker
        return True
    limit = message.options.get("max_retries", max_retries)
    return bool(message.options.get("retries", 0) >= limit)


def deliver(delivery_id: int, max_retries: int = MAX_RETRIES) -> None:
    """Send one delivery; raise so that Dramatiq retries, or stops, as the outcome says
    (``max_retries``: the actor's, when the message does not carry its own)."""
    result = deliveries.attempt(delivery_id, final=_final_attempt(max_retries))
    if result.outcome == "retry":
        raise dramatiq.Retry(result.error or "retry")  # logged quietly, backoff applies
    if result.outcome == "failed":
        raise DeliveryFailed(result.error or "failed")  # retries exhausted: dead job
    if result.outcome == "abandoned":
        raise DeliveryFailedPermanently(result.error or "failed")


def requeue_stale_deliveries(tasks: TaskQueue, minutes: int | None = None) -> int:
    """Send again the deliveries queued (or sending) for longer than ``minutes``
    (``DC_NOTIFICATION_REQUEUE_AFTER_MINUTES``); how many."""
    minutes = minutes or get_settings().notification_requeue_after_minutes
    return routing.requeue_stale(tasks, dt.timedelta(minutes=minutes))


def declare(broker: dramatiq.Broker, tasks: TaskQueue, settings: Settings) -> None:
    """Declare the notification actors on ``broker``; the sweep sends through ``tasks``."""

    def requeue_stale_notifications() -> None:
        """The scheduler's sweep (no retries: the next sweep is the retry)."""
        requeue_stale_deliveries(tasks)

    def send_notification(delivery_id: int) -> None:
        deliver(delivery_id, actor.options["max_retries"])

    actor = dramatiq.actor(
        actor_name=SEND_NOTIFICATION.name, broker=broker, **send_options(settings)
    )(send_notification)
    dramatiq.actor(
        actor_name=REQUEUE_STALE_NOTIFICATIONS.name,
        broker=broker,
        queue_name=QUEUE,
        max_retries=0,
        time_limit=60_000,
    )(requeue_stale_notifications)
