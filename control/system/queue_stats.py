"""Every queue: depth, consumers and rates of the Dramatiq queues, their delay (``.DQ``)
and dead-letter (``.XQ``) queues and the command exchange's queues.

:class:`QueueStats` reads them from RabbitMQ's management HTTP API (message rates too),
passive declares, or Redis (:func:`stats_for_settings` picks one), for
``/api/v1/system/queues`` and ``dc_queue_messages{queue, kind}``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from control.settings import Settings
from control.system.queues import (
    AGENT_QUEUE_PREFIX,
    COMMANDS_EXCHANGE,
    QUEUES,
    TIMEOUT_SECONDS,
    RabbitmqDeadLetters,
    RedisDeadLetters,
)


@dataclass(frozen=True)
class QueueName:
    """A queue to read and what it is: ``work`` (a Dramatiq queue), ``delay`` (its
    ``.DQ``), ``dead_letter`` (its ``.XQ``) or ``commands`` (bound to the commands
    exchange: an agent's queue)."""

    name: str
    kind: str
    of: str | None = None  # the Dramatiq queue a .DQ/.XQ belongs to


@dataclass(frozen=True)
class QueueDepth:
    """One queue as read from the broker; ``None`` where the broker does not say."""

    name: str
    kind: str
    of: str | None
    exists: bool
    messages: int
    consumers: int | None = None
    ready: int | None = None
    unacknowledged: int | None = None
    publish_rate: float | None = None  # messages per second (management API only)
    deliver_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dramatiq_queues(queues: Iterable[str] = QUEUES) -> list[QueueName]:
    """Each Dramatiq queue with its delay and dead-letter queues."""
    names: list[QueueName] = []
    for queue in queues:
        names.append(QueueName(queue, "work"))
        names.append(QueueName(f"{queue}.DQ", "delay", queue))
        names.append(QueueName(f"{queue}.XQ", "dead_letter", queue))
    return names


def command_queues(agent_names: Iterable[str]) -> list[QueueName]:
    """The command queues of these agents (``dc.agent.<name>``)."""
    return [QueueName(f"{AGENT_QUEUE_PREFIX}{name}", "commands") for name in agent_names]


class QueueStats(Protocol):
    """Reads queues of one broker."""

    source: str  # management | passive | redis

    def read(self, names: Sequence[QueueName]) -> list[QueueDepth]:
        """Each queue of ``names`` in that order (``exists`` False, 0 messages, for one
        never declared)."""
        ...

    def command_queues(self) -> list[QueueName] | None:
        """The queues bound to the commands exchange, when the broker can list them;
        None when it cannot (the caller names them from the agents' heartbeats)."""
        ...


class RabbitmqPassiveStats(RabbitmqDeadLetters):
    """Passive declares: messages (ready) and consumers; no rates, no listing."""

    source = "passive"

    def read(self, names: Sequence[QueueName]) -> list[QueueDepth]:
        import pika.exceptions

        found: list[QueueDepth] = []
        with self._channel() as connection:
            channel = connection.channel()
            for queue in names:
                try:
                    declared = channel.queue_declare(queue.name, passive=True)
                except pika.exceptions.ChannelClosedByBroker:  # 404: never declared
                    found.append(QueueDepth(queue.name, queue.kind, queue.of, False, 0))
                    channel = connection.channel()
                    continue
                messages = int(declared.method.message_count)
                found.append(
                    QueueDepth(
                        queue.name,
                        queue.kind,
                        queue.of,
                        True,
                        messages,
                        consumers=int(declared.method.consumer_count),
                        ready=messages,
                    )
                )
        return found

    def command_queues(self) -> list[QueueName] | None:
        return None


def _rate(stats: dict[str, Any], key: str) -> float | None:
    details = stats.get(f"{key}_details")
    if not isinstance(details, dict) or "rate" not in details:
        return None
    return float(details["rate"])


class RabbitmqManagementStats:
    """RabbitMQ's management HTTP API (``DC_RABBITMQ_MANAGEMENT_URL``, e.g.
    ``http://guest:guest@127.0.0.1:15672``): depth, ready and unacknowledged messages,
    consumers and publish/deliver rates, and the queues bound to the commands exchange.
    ``vhost`` is the AMQP URL's (``/`` by default)."""

    source = "management"

    def __init__(self, base_url: str, vhost: str = "/", exchange: str = COMMANDS_EXCHANGE) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.user = urllib.parse.unquote(parts.username or "guest")
        self.password = urllib.parse.unquote(parts.password or "guest")
        netloc = parts.hostname or "127.0.0.1"
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        self.base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.vhost = urllib.parse.quote(vhost, safe="")
        self.exchange = urllib.parse.quote(exchange, safe="")

    def _get(self, path: str) -> Any:
        import httpx

        answer = httpx.get(
            f"{self.base}/api/{path}", auth=(self.user, self.password), timeout=TIMEOUT_SECONDS
        )
        answer.raise_for_status()
        return answer.json()

    def read(self, names: Sequence[QueueName]) -> list[QueueDepth]:
        columns = "name,messages,messages_ready,messages_unacknowledged,consumers,message_stats"
        listed = self._get(f"queues/{self.vhost}?columns={columns}")
        by_name = {row["name"]: row for row in listed if isinstance(row, dict)}
        found: list[QueueDepth] = []
        for queue in names:
            row = by_name.get(queue.name)
            if row is None:
                found.append(QueueDepth(queue.name, queue.kind, queue.of, False, 0))
                continue
            stats = row.get("message_stats") or {}
            found.append(
                QueueDepth(
                    queue.name,
                    queue.kind,
                    queue.of,
                    True,
                    int(row.get("messages") or 0),
                    consumers=int(row.get("consumers") or 0),
                    ready=int(row.get("messages_ready") or 0),
                    unacknowledged=int(row.get("messages_unacknowledged") or 0),
                    publish_rate=_rate(stats, "publish"),
                    deliver_rate=_rate(stats, "deliver_get"),
                )
            )
        return found

    def command_queues(self) -> list[QueueName] | None:
        bindings = self._get(f"exchanges/{self.vhost}/{self.exchange}/bindings/source")
        names = sorted(
            {
                row["destination"]
                for row in bindings
                if isinstance(row, dict) and row.get("destination_type") == "queue"
            }
        )
        return [QueueName(name, "commands") for name in names]


class RedisStats(RedisDeadLetters):
    """Dramatiq's Redis layout: a queue and its ``.DQ`` are lists of message ids, a
    ``.XQ`` a sorted set. Redis does not know consumers per queue, nor rates."""

    source = "redis"

    def read(self, names: Sequence[QueueName]) -> list[QueueDepth]:
        found: list[QueueDepth] = []
        for queue in names:
            key = self._key(queue.name)
            if queue.kind == "dead_letter":
                count = int(self.client.zcard(key))
            else:
                count = int(self.client.llen(key))
            exists = bool(count) or bool(self.client.exists(f"{key}.msgs"))
            found.append(QueueDepth(queue.name, queue.kind, queue.of, exists, count, ready=count))
        return found

    def command_queues(self) -> list[QueueName] | None:
        return []  # commands travel over RabbitMQ, not Redis


def _vhost(amqp_url: str) -> str:
    path = urllib.parse.urlsplit(amqp_url).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


def stats_for_settings(settings: Settings) -> tuple[QueueStats | None, QueueStats | None]:
    """The readers of the deployment's queues: (Dramatiq's broker, the commands'
    RabbitMQ); None for a part that runs in process (it has no queues to read)."""
    rabbit: QueueStats | None = None
    if settings.rabbitmq_url:
        if settings.rabbitmq_management_url:
            rabbit = RabbitmqManagementStats(
                settings.rabbitmq_management_url, _vhost(settings.rabbitmq_url)
            )
        else:
            rabbit = RabbitmqPassiveStats(settings.rabbitmq_url)
    if settings.broker == "rabbitmq":
        return rabbit, rabbit
    if settings.broker == "redis" and settings.redis_url:
        return RedisStats(settings.redis_url), rabbit
    return None, rabbit
