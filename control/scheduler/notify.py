"""The scheduler process's notification router: bus events become deliveries.

The router (``control/notifications/router.py``) listens on the Redis bus; each event
that calls for a notification is claimed with the scheduler's own lock, so of several
scheduler replicas exactly one routes it. The deliveries are sent to the workers by
actor name, like the periodic jobs: this process never imports the actors.
"""

from __future__ import annotations

import dramatiq

from control.events.interface import EventBus
from control.notifications.router import NotificationRouter
from control.scheduler.jobs import NOTIFICATIONS_QUEUE
from control.scheduler.lock import TickLock, claim_event
from control.scheduler.runner import send_by_name

SEND_NOTIFICATION = "send_notification"  # workers/notifications.py's actor


def build_router(
    bus: EventBus, lock: TickLock, broker: dramatiq.Broker, error_rate_threshold: float
) -> NotificationRouter:
    """A router on ``bus`` whose deliveries go to ``send_notification`` on ``broker``."""

    def enqueue(delivery_id: int) -> None:
        send_by_name(broker, NOTIFICATIONS_QUEUE, SEND_NOTIFICATION, args=(delivery_id,))

    return NotificationRouter(
        bus, enqueue, error_rate_threshold, claim=lambda event: claim_event(lock, event)
    )
