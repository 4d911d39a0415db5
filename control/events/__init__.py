"""Typed events and the bus that carries them to every web process.

Two implementations behind :class:`EventBus`: Redis pub/sub (production, any number
of processes) and in-process (the embedded default). Code that changes state calls
:func:`control.events.publish.publish`; each web process subscribes once and fans the
events out to its WebSocket clients (``web/ws``).
"""

from control.events.factory import build_bus
from control.events.interface import BusStats, EventBus
from control.events.publish import publish, publish_many
from control.events.types import Event, EventType, InvalidEvent

__all__ = [
    "BusStats",
    "Event",
    "EventBus",
    "EventType",
    "InvalidEvent",
    "build_bus",
    "publish",
    "publish_many",
]
