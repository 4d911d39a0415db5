"""What ``GET /api/v1/system/queues`` answers: every queue of the deployment, read from
its broker (:mod:`control.system.queues`), and the command outbox's backlog.

The Dramatiq queues (with their ``.DQ`` and ``.XQ``) are read from Dramatiq's broker
(RabbitMQ or Redis); the command queues from RabbitMQ: those bound to the commands
exchange when the management API is configured, else one per agent that ever beat
(``dc.agent.<name>``). A broker that cannot be read is reported in ``errors`` and its
queues left out; the outbox is always read from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

from control.agents.models import Agent
from control.clock import utcnow
from control.commands.models import Outbox
from control.db.database import connected
from control.settings import Settings
from control.system.queue_stats import (
    QueueDepth,
    QueueName,
    QueueStats,
    command_queues,
    dramatiq_queues,
    stats_for_settings,
)
from control.system.queues import QUEUES

log = logging.getLogger(__name__)


def outbox_backlog(now: dt.datetime | None = None) -> dict[str, Any]:
    """Outbox rows not yet published, the oldest one's time and age (0 when none)."""
    now = now or utcnow()
    with connected():
        unpublished = Outbox.select().where(Outbox.published_at.is_null())
        oldest = unpublished.order_by(Outbox.id.asc()).limit(1).first()
        count = unpublished.count()
    return {
        "unpublished": count,
        "oldest": oldest.created if oldest is not None else None,
        "oldest_id": oldest.id if oldest is not None else None,
        "lag_seconds": max(0.0, (now - oldest.created).total_seconds()) if oldest else 0.0,
    }


def agent_names() -> list[str]:
    """Every agent that ever beat (their command queues, when RabbitMQ cannot list them)."""
    with connected():
        return [row.name for row in Agent.select(Agent.name).order_by(Agent.name)]


class QueueReport:
    """Reads the deployment's queues; built once per process from its settings."""

    def __init__(
        self,
        work: QueueStats | None,
        commands: QueueStats | None,
        broker: str,
        queues: Iterable[str] = QUEUES,
    ) -> None:
        self.work = work
        self.commands = commands
        self.broker = broker
        self.queues = tuple(queues)

    @classmethod
    def for_settings(cls, settings: Settings) -> QueueReport:
        work, commands = stats_for_settings(settings)
        return cls(work, commands, settings.broker or "memory")

    def dramatiq_names(self) -> list[QueueName]:
        """Dramatiq's queues, each with its ``.DQ`` and ``.XQ``."""
        return dramatiq_queues(self.queues)

    def command_names(self) -> list[QueueName]:
        """The command exchange's queues (listed by the broker, or one per agent)."""
        if self.commands is None:
            return []
        listed = self.commands.command_queues()
        return listed if listed is not None else command_queues(agent_names())

    def depths(self) -> tuple[list[QueueDepth], list[dict[str, str]]]:
        """Every queue read, and the parts that could not be read (blocking)."""
        found: list[QueueDepth] = []
        errors: list[dict[str, str]] = []
        parts: list[tuple[str, QueueStats | None, Callable[[], list[QueueName]]]] = [
            ("dramatiq", self.work, self.dramatiq_names),
            ("commands", self.commands, self.command_names),
        ]
        for part, reader, names in parts:
            if reader is None:
                continue
            try:
                found += reader.read(names())
            except Exception as exc:  # noqa: BLE001 - the answer names the broken part
                log.warning("queues: %s not read: %s", part, type(exc).__name__)
                errors.append({"part": part, "error": type(exc).__name__})
        return found, errors

    def report(self) -> dict[str, Any]:
        """``/api/v1/system/queues``: the queues, where they were read, the outbox."""
        found, errors = self.depths()
        return {
            "broker": self.broker,
            "dramatiq_source": self.work.source if self.work else None,
            "commands_source": self.commands.source if self.commands else None,
            "queues": [depth.as_dict() for depth in found],
            "outbox": outbox_backlog(),
            "errors": errors,
            "read_at": utcnow(),
        }


class QueueCollector:
    """``dc_queue_messages{queue, kind}`` and ``dc_queue_consumers{queue, kind}`` read
    from the brokers at scrape time, ``dc_queues_up`` 0 when a broker could not be read.
    (The outbox's figures are ``dc_outbox_*``, from the database collector.)"""

    def __init__(self, report: QueueReport) -> None:
        self.report = report

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not reach the broker

    def collect(self) -> Iterable[Metric]:
        try:
            found, errors = self.report.depths()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer without the broker
            log.warning("metrics: queues not read: %s", type(exc).__name__)
            found, errors = [], [{"part": "all", "error": type(exc).__name__}]
        messages = GaugeMetricFamily(
            "dc_queue_messages", "messages in the queue", labels=["queue", "kind"]
        )
        consumers = GaugeMetricFamily(
            "dc_queue_consumers", "consumers of the queue", labels=["queue", "kind"]
        )
        for depth in found:
            if not depth.exists:
                continue
            messages.add_metric([depth.name, depth.kind], depth.messages)
            if depth.consumers is not None:
                consumers.add_metric([depth.name, depth.kind], depth.consumers)
        up = GaugeMetricFamily(
            "dc_queues_up", "1 when the queues could be read", value=0 if errors else 1
        )
        return [messages, consumers, up]
