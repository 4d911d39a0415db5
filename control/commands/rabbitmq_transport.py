"""RabbitMQ command transport: a durable topic exchange and publisher confirms.

One connection per transport (``PipelinedPublisher``: a pika ``SelectConnection`` with a
channel in confirm mode), opened on the first publish and again on the first publish
after a failure; connection attempts are short (``timeout``) so a broker outage costs the
relay a second or two, not a minute. ``publish_many`` sends a whole batch and then waits
for its confirms together. Every pika or socket error is translated to ``Unavailable``
here, at the boundary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import pika
import pika.exceptions
from pika.channel import Channel
from pika.frame import Method

from control.commands.messages import CONTENT_TYPE, EXCHANGE, EXCHANGE_TYPE
from control.commands.pipelined_publisher import BatchResult, PipelinedPublisher, Publication
from control.commands.transport import Confirmed, Outgoing
from control.errors import Unavailable

log = logging.getLogger(__name__)

PERSISTENT = 2  # delivery_mode: written to disk by a durable queue


def _reason(exc: BaseException) -> str:
    detail = str(exc).strip()
    name = type(exc).__name__
    return (
        f"RabbitMQ did not confirm: {name}: {detail[:300]}"
        if detail
        else f"RabbitMQ did not confirm: {name}"
    )


class RabbitMQTransport:
    """Publishes to ``exchange`` (declared durable, type topic) and waits for the confirms."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = EXCHANGE,
        timeout: float = 1.5,
        confirm_timeout: float = 15.0,
        heartbeat: int = 30,
        connection_name: str = "dc-command-relay",
    ) -> None:
        params = pika.URLParameters(url)
        params.connection_attempts = 1
        params.retry_delay = 0
        params.socket_timeout = timeout
        params.stack_timeout = timeout * 2  # TCP connect plus the AMQP handshake
        params.blocked_connection_timeout = 10  # a broker low on memory blocks publishers
        params.heartbeat = heartbeat
        params.client_properties = {"connection_name": connection_name}

        def declare(channel: Channel, done: Callable[[Method], None]) -> None:
            channel.exchange_declare(
                exchange, exchange_type=EXCHANGE_TYPE, durable=True, callback=done
            )

        self._publisher = PipelinedPublisher(
            params,
            exchange,
            declare,
            open_timeout=timeout * 2,
            confirm_timeout=confirm_timeout,
        )
        self._lock = threading.Lock()  # one batch at a time on the connection
        self._closed = False

    def publish(
        self,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        outcome = self.publish_many([Outgoing(routing_key, body, message_id, headers)])
        if outcome.error is not None:
            raise outcome.error

    def publish_many(self, messages: Sequence[Outgoing]) -> Confirmed:
        stamp = int(time.time())
        batch = [
            Publication(
                m.routing_key,
                m.body,
                pika.BasicProperties(
                    content_type=CONTENT_TYPE,
                    delivery_mode=PERSISTENT,
                    message_id=m.message_id,
                    timestamp=stamp,
                    headers=dict(m.headers or {}),
                ),
            )
            for m in messages
        ]
        with self._lock:
            if self._closed:
                return Confirmed(0, Unavailable("The RabbitMQ command transport is closed."))
            reused = self._publisher.is_open
            result = self._publisher.publish(batch)
            if result.lost and result.confirmed == 0 and reused:
                # The broker may have dropped an idle connection (missed heartbeats while
                # the relay had nothing to send): one more try on a fresh connection.
                log.info("RabbitMQ connection lost (%s); reconnecting", _name(result))
                result = self._publisher.publish(batch)
        if result.error is None:
            return Confirmed(result.confirmed)
        return Confirmed(result.confirmed, Unavailable(_reason(result.error)))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._publisher.close()


def _name(result: BatchResult) -> str:
    return type(result.error).__name__
