"""The scheduler process's notification router: bus events become deliveries.

The router (``control/notifications/router.py``) listens on the Redis bus; each event
that calls for a notification is claimed with the scheduler's own lock, so of several
scheduler replicas exactly one routes it. The deliveries are sent to the workers by
actor name through the task queue, like the periodic jobs: this process never imports
the actors.
"""

from __future__ import annotations

from control.events.interface import EventBus
from control.notifications.router import NotificationRouter
from control.scheduler.lock import TickLock, claim_event
from control.tasks.interface import TaskQueue


def build_router(
    bus: EventBus, lock: TickLock, tasks: TaskQueue, error_rate_threshold: float
) -> NotificationRouter:
    """A router on ``bus`` whose deliveries go to ``send_notification`` through ``tasks``."""
    return NotificationRouter(
        bus, tasks, error_rate_threshold, claim=lambda event: claim_event(lock, event)
    )
