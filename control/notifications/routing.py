"""Rules: which channels an event goes to, and deduplication.

An event goes to every enabled channel that subscribes to its type, when its severity
is at least the channel's minimum, unless the channel already got a delivery with the
same ``dedup_key`` within its ``dedup_window_seconds``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from control.clock import utcnow
from control.db.database import connected, dialect, write_transaction
from control.notifications import deliveries
from control.notifications.models import NotificationChannel, NotificationDelivery, Severity
from control.tasks.actors import SEND_NOTIFICATION
from control.tasks.interface import TaskQueue

log = logging.getLogger(__name__)

Enqueue = Callable[[int], Any]


@dataclass(frozen=True)
class NotificationEvent:
    """Something to tell the channels: ``type`` is one of ``services.EVENTS``."""

    type: str
    severity: Severity
    title: str
    body: str = ""
    dedup_key: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def _duplicate(channel: NotificationChannel, key: str, now: dt.datetime) -> bool:
    if channel.dedup_window_seconds <= 0:
        return False
    since = now - dt.timedelta(seconds=channel.dedup_window_seconds)
    return (
        NotificationDelivery.select(NotificationDelivery.id)
        .where(
            NotificationDelivery.channel == channel,
            NotificationDelivery.dedup_key == key,
            NotificationDelivery.created >= since,
        )
        .exists()
    )


def route_event(event: NotificationEvent) -> list[NotificationDelivery]:
    """The queued deliveries ``event`` makes, committed; duplicates in a window skipped."""
    severity = Severity(event.severity)
    created: list[NotificationDelivery] = []
    with connected(), write_transaction():
        channels = NotificationChannel.select().where(NotificationChannel.enabled == True)  # noqa: E712
        if dialect() == "postgresql":
            # two processes routing the same event wait for each other: one dedups
            channels = channels.for_update()
        now = utcnow()
        for channel in channels.order_by(NotificationChannel.id):
            if event.type not in channel.events or severity.rank < channel.min_severity.rank:
                continue
            if event.dedup_key and _duplicate(channel, event.dedup_key, now):
                log.debug("notification %s to %s deduplicated", event.dedup_key, channel.name)
                continue
            created.append(
                deliveries.create(
                    channel,
                    event=event.type,
                    severity=severity,
                    title=event.title,
                    body=event.body,
                    data=event.data,
                    dedup_key=event.dedup_key,
                )
            )
    return created


def sender(tasks: TaskQueue) -> Enqueue:
    """Send a committed delivery to the ``send_notification`` actor through ``tasks``."""

    def enqueue(delivery_id: int) -> None:
        tasks.send(SEND_NOTIFICATION, delivery_id)

    return enqueue


def enqueue_all(ids: list[int], enqueue: Enqueue) -> None:
    """Hand committed deliveries to the broker; a failure leaves them for the sweep."""
    for delivery_id in ids:
        try:
            enqueue(delivery_id)
        except Exception:
            log.warning(
                "delivery %s stays queued: the broker refused it (the sweep retries)",
                delivery_id,
                exc_info=True,
            )


def notify(event: NotificationEvent, enqueue: Enqueue) -> list[int]:
    """Route ``event`` and enqueue its deliveries after the commit; their ids."""
    ids = [d.id for d in route_event(event)]
    enqueue_all(ids, enqueue)
    return ids


def requeue_stale(tasks: TaskQueue, older_than: dt.timedelta) -> int:
    """Send again the deliveries queued (or sending) for longer than ``older_than``; how
    many (a send the broker refuses leaves its delivery for the next sweep)."""
    ids = deliveries.stale(older_than)
    enqueue_all(ids, sender(tasks))
    return len(ids)
