"""``publish(type, data)``: the one call that state-changing code makes.

Agents, Dramatiq actors and services call it from any thread, sync or async::

    from control.events import EventType, publish

    publish(EventType.APP_STATUS_CHANGED,
            {"app": app.id, "old_status": "IDLE", "new_status": "RUNNING"})

It never blocks and never raises: a Redis outage, a full queue, an unknown type or
data that does not serialise to JSON is logged (at a limited rate) and counted in the
bus's stats, and ``publish`` returns False. Publish after the database transaction
that made the change has committed, so a client never hears of a change it cannot
read yet.

The process's bus is the one :func:`install` was given (the web process installs the
bus its WebSocket hub listens to, so in the embedded default an in-process agent
reaches the dashboards), else one built from the settings on first use: Redis
pub/sub when ``DC_REDIS_URL`` is set, otherwise an in-process bus.

``data`` per type (keys every publisher should send; more are allowed):

===========================  ===============================================================
``app.status_changed``       ``app``, ``old_status``, ``new_status``
``app.command_sent``         ``app``, ``command``, ``actor``
``app.fatal``                ``app``, ``reason``
``app.health_changed``       ``app``, ``verdict``, ``state`` (raised / cleared), ``evidence``,
                             ``raised_at``, ``cleared_at`` (``control/health``)
``runtime.started``          ``app``, ``runtime``, ``trigger``
``runtime.completed``        ``app``, ``runtime``, ``status``, ``records_total``,
                             ``records_solved``, ``records_failed``, ``duration_seconds``
``runtime.progress``         ``app``, ``runtime``, ``current``, ``total``, ``percent``,
                             ``eta_seconds``, ``updated`` (at most one a second per run)
``log.entry``                ``id``, ``app``, ``runtime``, ``level`` (name), ``level_no``,
                             ``module``, ``function``, ``message``, ``timestamp``
                             (the shape of ``control.logs.services.item``)
``system.metric``            ``cpu_percent``, ``memory_percent``, ``disk_percent``, …
``pipeline.task_updated``    ``app``, ``task_id``, ``document_type``, ``stage``, ``status``
``bulk.job_updated``         ``job_id``, ``status``, ``done``, ``total``
``notification.sent``        ``channel``, ``rule``, ``status``
===========================  ===============================================================

WebSocket filters read ``data.app`` (glob) and, for ``log.entry``, ``data.level_no``
or ``data.level`` (minimum level).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from control.events.factory import build_bus
from control.events.interface import EventBus
from control.events.outage import ThrottledWarning
from control.events.types import Event, EventType, InvalidEvent

log = logging.getLogger(__name__)

_lock = threading.Lock()
_bus: EventBus | None = None
_warning = ThrottledWarning(log)


def install(bus: EventBus) -> None:
    """Make ``bus`` the one :func:`publish` uses in this process."""
    global _bus
    with _lock:
        _bus = bus


def uninstall(bus: EventBus) -> None:
    """Forget ``bus`` if it is the installed one (at shutdown)."""
    global _bus
    with _lock:
        if _bus is bus:
            _bus = None


def current_bus() -> EventBus:
    """The installed bus, or one built from the settings (and installed) on first use."""
    global _bus
    with _lock:
        if _bus is None:
            from control.settings import get_settings

            settings = get_settings()
            _bus = build_bus(settings.redis_url, channel=settings.events_channel)
        return _bus


def publish(type: EventType | str, data: Mapping[str, Any] | None = None) -> bool:
    """Publish an event of ``type`` with ``data`` now; False (never an exception) if lost."""
    try:
        event = Event.of(type, data)
        return current_bus().publish(event)
    except InvalidEvent as exc:
        _warning.warn("event not published: %s", exc)
    except Exception:
        log.exception("event %r not published", type)
    return False


def publish_many(type: EventType | str, datas: Sequence[Mapping[str, Any]]) -> int:
    """Publish one event of ``type`` per mapping of ``datas``, in order; how many went out.

    For a batch written at once (the agent's log rows): the same events as calling
    :func:`publish` for each, delivered one by one to the subscribers, with the per-event
    work done once per batch (one timestamp, one JSON check on the in-process bus). The
    mappings are handed over, not copied: do not change them afterwards. Never raises.
    """
    if not datas:
        return 0
    try:
        events = Event.many(type, datas)
        bus = current_bus()
        many = getattr(bus, "publish_many", None)
        if many is None:  # a bus without batches (a test's fake): one at a time
            return sum(1 for event in events if bus.publish(event))
        return int(many(events))
    except InvalidEvent as exc:
        _warning.warn("events not published: %s", exc)
    except Exception:
        log.exception("%d events %r not published", len(datas), type)
    return 0
