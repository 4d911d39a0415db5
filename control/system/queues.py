"""The brokers' own dead-letter queues (``<queue>.XQ``): how deep, and replaying them.

A message that fails for good is normally recorded in the ``dead_job`` table too (the
API's ``/api/v1/jobs/dead``); one that failed while the database was down is only in
the broker's ``.XQ`` (RabbitMQ keeps it until replayed, Redis for a week). This module
reads those queues behind one small interface, :class:`DeadLetterQueues`, with a
RabbitMQ and a Redis implementation (:func:`for_settings` picks one), for the Prometheus
gauge ``dc_dead_letter_messages{queue}`` and ``dcctl queues``.

Every queue, not only the dead letters, is read by :mod:`control.system.queue_stats`.

Replaying moves each message back onto its queue with a fresh retry count (the options a
failed run left behind are dropped), the way ``/api/v1/jobs/dead/{id}/requeue`` does.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, cast

from prometheus_client.core import GaugeMetricFamily, Metric

from control.scheduler.jobs import BULK_QUEUE, MAINTENANCE_QUEUE, NOTIFICATIONS_QUEUE
from control.settings import Settings

log = logging.getLogger(__name__)

QUEUES = ("default", BULK_QUEUE, MAINTENANCE_QUEUE, NOTIFICATIONS_QUEUE)
COMMANDS_EXCHANGE = "dc.commands"  # control.commands.messages.EXCHANGE
AGENT_QUEUE_PREFIX = "dc.agent."  # control.agent.commands.queue_name
# Options a failed run left behind; a replayed message starts afresh without them.
RUN_STATE = frozenset({"retries", "traceback", "eta", "requeue_timestamp"})
TIMEOUT_SECONDS = 5.0


def fresh(body: bytes) -> bytes:
    """``body`` (an encoded Dramatiq message) without its run state; unchanged if it is
    not the JSON Dramatiq writes by default."""
    try:
        data = json.loads(body)
        options = data["options"]
    except (ValueError, KeyError, TypeError):
        return body
    data["options"] = {k: v for k, v in options.items() if k not in RUN_STATE}
    return json.dumps(data, separators=(",", ":")).encode()


class DeadLetterQueues(Protocol):
    """The dead-letter queues of one broker."""

    def depths(self, queues: Iterable[str] = QUEUES) -> dict[str, int]:
        """Messages in each queue's ``.XQ`` (0 for one that does not exist)."""
        ...

    def replay(self, queue: str, limit: int = 1000) -> int:
        """Move up to ``limit`` messages from ``queue``'s ``.XQ`` back to ``queue``; how
        many moved."""
        ...


class RabbitmqDeadLetters:
    """``<queue>.XQ`` queues on RabbitMQ (a short-lived connection per call)."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.contextmanager
    def _channel(self) -> Iterator[Any]:
        import pika

        params = pika.URLParameters(self.url)
        params.blocked_connection_timeout = TIMEOUT_SECONDS
        params.socket_timeout = TIMEOUT_SECONDS
        connection = pika.BlockingConnection(params)
        try:
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def depths(self, queues: Iterable[str] = QUEUES) -> dict[str, int]:
        import pika.exceptions

        found: dict[str, int] = {}
        with self._channel() as connection:
            channel = connection.channel()
            for queue in queues:
                try:
                    declared = channel.queue_declare(f"{queue}.XQ", passive=True)
                    found[queue] = int(declared.method.message_count)
                except pika.exceptions.ChannelClosedByBroker:  # 404: never declared
                    found[queue] = 0
                    channel = connection.channel()
        return found

    def replay(self, queue: str, limit: int = 1000) -> int:
        import pika

        moved = 0
        with self._channel() as connection:
            channel = connection.channel()
            channel.confirm_delivery()  # the copy is on the queue before the original goes
            while moved < limit:
                method, properties, body = channel.basic_get(f"{queue}.XQ")
                if method is None:
                    break
                channel.basic_publish(
                    exchange="",
                    routing_key=queue,
                    body=fresh(body),
                    properties=pika.BasicProperties(
                        delivery_mode=2, priority=getattr(properties, "priority", None)
                    ),
                )
                channel.basic_ack(method.delivery_tag)
                moved += 1
        return moved


class RedisDeadLetters:
    """Dramatiq's Redis layout: ids in the sorted set ``<ns>:<queue>.XQ``, bodies in
    the hash ``<ns>:<queue>.XQ.msgs``; a queue is the list ``<ns>:<queue>`` and the hash
    ``<ns>:<queue>.msgs``."""

    def __init__(self, url: str, namespace: str = "dramatiq") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS)
        self.namespace = namespace

    def _key(self, queue: str) -> str:
        return f"{self.namespace}:{queue}"

    def depths(self, queues: Iterable[str] = QUEUES) -> dict[str, int]:
        return {q: int(self.client.zcard(f"{self._key(q)}.XQ")) for q in queues}

    def replay(self, queue: str, limit: int = 1000) -> int:
        key = self._key(queue)
        # the client decodes nothing (no decode_responses): ids and bodies are bytes
        ids = cast("list[bytes]", self.client.zrange(f"{key}.XQ", 0, limit - 1))
        moved = 0
        for message_id in ids:
            body = cast("bytes | None", self.client.hget(f"{key}.XQ.msgs", message_id))
            pipe = self.client.pipeline(transaction=True)
            if body is not None:
                pipe.hset(f"{key}.msgs", message_id, fresh(body))
                pipe.rpush(key, message_id)
            pipe.zrem(f"{key}.XQ", message_id)
            pipe.hdel(f"{key}.XQ.msgs", message_id)
            pipe.execute()
            moved += body is not None
        return moved


def for_settings(settings: Settings) -> DeadLetterQueues | None:
    """The deployment's dead-letter queues; None for the in-process broker (it has none)."""
    if settings.broker == "rabbitmq" and settings.rabbitmq_url:
        return RabbitmqDeadLetters(settings.rabbitmq_url)
    if settings.broker == "redis" and settings.redis_url:
        return RedisDeadLetters(settings.redis_url)
    return None


class DeadLetterCollector:
    """``dc_dead_letter_messages{queue}`` read from the broker at scrape time, and
    ``dc_dead_letters_up`` 0 when the broker could not be read."""

    def __init__(self, queues: DeadLetterQueues, names: Iterable[str] = QUEUES) -> None:
        self.queues = queues
        self.names = tuple(names)

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not reach the broker

    def collect(self) -> Iterable[Metric]:
        try:
            depths = self.queues.depths(self.names)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer without the broker
            log.warning("metrics: dead-letter queues not read: %s", type(exc).__name__)
            return [self._up(0)]
        family = GaugeMetricFamily(
            "dc_dead_letter_messages",
            "messages in the broker's dead-letter queue (<queue>.XQ)",
            labels=["queue"],
        )
        for queue, depth in depths.items():
            family.add_metric([queue], depth)
        return [family, self._up(1)]

    @staticmethod
    def _up(value: int) -> Metric:
        return GaugeMetricFamily(
            "dc_dead_letters_up", "1 when the dead-letter queues could be read", value=value
        )


# -- every queue: depth, consumers, rates ---------------------------------------------
