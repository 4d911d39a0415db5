"""Sending notifications: one actor per delivery, retried with exponential backoff.

The delivery row is committed (``queued``) before ``send_notification.send(id)``, so
the message carries only the id and a lost message loses nothing:
``requeue_stale_notifications`` (fired by the scheduler) sends again the rows left
queued. Each attempt is written to the row: status, attempts, last error, latency.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from control.notifications import deliveries
from control.notifications.interfaces import DeliveryFailed, DeliveryFailedPermanently
from control.notifications.routing import enqueue_all
from control.settings import get_settings
from workers.broker import broker

QUEUE = "notifications"
MAX_RETRIES = 5

SEND_OPTIONS: dict[str, Any] = {
    "queue_name": QUEUE,
    "max_retries": MAX_RETRIES,  # 6 attempts in all
    "min_backoff": get_settings().notification_retry_min_backoff_ms,
    "max_backoff": 60_000,
    "time_limit": 30_000,  # senders time out after 10 s; this catches a stuck one
    "throws": (DeliveryFailedPermanently,),  # a 4xx or bad credentials: retrying won't help
}


def _final_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:  # called directly, not by a worker
        return True
    limit = message.options.get("max_retries", send_notification.options["max_retries"])
    return message.options.get("retries", 0) >= limit


def deliver(delivery_id: int) -> None:
    """Send one delivery; raise so that Dramatiq retries, or stops, as the outcome says."""
    result = deliveries.attempt(delivery_id, final=_final_attempt())
    if result.outcome == "retry":
        raise dramatiq.Retry(result.error or "retry")  # logged quietly, backoff applies
    if result.outcome == "failed":
        raise DeliveryFailed(result.error or "failed")  # retries exhausted: dead job
    if result.outcome == "abandoned":
        raise DeliveryFailedPermanently(result.error or "failed")


send_notification = dramatiq.actor(
    deliver, actor_name="send_notification", broker=broker, **SEND_OPTIONS
)


def enqueue_delivery(delivery_id: int) -> None:
    """Ask a worker to send a committed delivery (raises if the broker is down)."""
    send_notification.send(delivery_id)


def requeue_stale_deliveries(minutes: int | None = None) -> int:
    """Enqueue again the deliveries queued (or sending) for longer than ``minutes``
    (``DC_NOTIFICATION_REQUEUE_AFTER_MINUTES``); how many."""
    minutes = minutes or get_settings().notification_requeue_after_minutes
    ids = deliveries.stale(dt.timedelta(minutes=minutes))
    enqueue_all(ids, enqueue_delivery)
    return len(ids)


@dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, time_limit=60_000)
def requeue_stale_notifications() -> None:
    """The scheduler's sweep (no retries: the next sweep is the retry)."""
    requeue_stale_deliveries()
