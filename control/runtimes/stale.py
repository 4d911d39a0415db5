"""Stale runtimes: close the RUNNING ones whose agent stopped heart-beating, and notify.

``control.agent.stale`` closes them (FAILED, ``runtime.completed`` published). A
notification router may not be listening (pub/sub keeps nothing), so the failure is
routed to the notification channels here too; a router that did hear it makes a
duplicate the channel's dedup window drops.
"""

from __future__ import annotations

import logging
from typing import Any

from control.agent.stale import LOST, close_stale_runtimes
from control.db.database import connected
from control.events import EventType
from control.events.types import Event
from control.notifications.routing import notify, sender
from control.notifications.rules import from_bus
from control.runtimes.models import Runtime
from control.tasks.interface import TaskQueue

log = logging.getLogger(__name__)


def _completed(runtime: dict[str, Any], runtime_id: str) -> Event:
    return Event.of(
        EventType.RUNTIME_COMPLETED,
        {
            "app": runtime["app"],
            "runtime": runtime_id,
            "status": "FAILED",
            "error": runtime["error"] or LOST,
            "records_total": runtime["records_total"],
            "records_solved": runtime["records_solved"],
            "records_failed": runtime["records_failed"],
        },
    )


def close_and_notify(stale_after_seconds: float, error_rate: float, tasks: TaskQueue) -> list[str]:
    """Close the runtimes silent for longer than ``stale_after_seconds`` as FAILED and
    send the notifications their failure calls for through ``tasks``; their ids."""
    closed = close_stale_runtimes(stale_after_seconds)
    for runtime_id in closed:
        with connected():
            # the row's columns (its app's id, not the app)
            runtime: dict[str, Any] | None = (
                Runtime.select().where(Runtime.id == runtime_id).dicts().first()
            )
        if runtime is None:
            continue
        found = from_bus(_completed(runtime, runtime_id), error_rate)
        if found is not None:
            try:
                notify(found, sender(tasks))
            except Exception:
                log.exception("could not notify the failure of runtime %s", runtime_id)
    return closed
