"""RabbitMQ command transport: a durable topic exchange and publisher confirms.

One ``BlockingConnection`` per transport, opened on the first publish and again on the
first publish after a failure; connection attempts are short (``timeout``) so a broker
outage costs the relay a second or two, not a minute. Every pika or socket error is
translated to ``Unavailable`` here, at the boundary.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from control.commands.messages import CONTENT_TYPE, EXCHANGE, EXCHANGE_TYPE
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
    """Publishes to ``exchange`` (declared durable, type topic) and waits for the confirm."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = EXCHANGE,
        timeout: float = 1.5,
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
        self._params = params
        self._exchange = exchange
        self._lock = threading.Lock()  # pika's blocking connection is not thread-safe
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._closed = False

    def publish(
        self,
        routing_key: str,
        body: bytes,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        properties = pika.BasicProperties(
            content_type=CONTENT_TYPE,
            delivery_mode=PERSISTENT,
            message_id=message_id,
            timestamp=int(time.time()),
            headers=dict(headers or {}),
        )
        with self._lock:
            if self._closed:
                raise Unavailable("The RabbitMQ command transport is closed.")
            reused = self._channel is not None
            try:
                self._publish(routing_key, body, properties)
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._drop()
                if not reused:
                    raise Unavailable(_reason(exc)) from exc
                # The broker may have dropped an idle connection (missed heartbeats while
                # the relay had nothing to send): one more try on a fresh connection.
                log.info("RabbitMQ connection lost (%s); reconnecting", type(exc).__name__)
                try:
                    self._publish(routing_key, body, properties)
                except (pika.exceptions.AMQPError, OSError) as again:
                    self._drop()
                    raise Unavailable(_reason(again)) from again

    def _publish(self, routing_key: str, body: bytes, properties: pika.BasicProperties) -> None:
        channel = self._open_channel()
        # confirm mode: returns once the broker acks, raises NackError if it refuses
        channel.basic_publish(
            exchange=self._exchange,
            routing_key=routing_key,
            body=body,
            properties=properties,
            mandatory=False,
        )

    def _open_channel(self) -> BlockingChannel:
        if (
            self._channel is not None
            and self._channel.is_open
            and self._connection is not None
            and self._connection.is_open
        ):
            return self._channel
        self._drop()
        try:
            connection = pika.BlockingConnection(self._params)
        except ValueError as exc:
            # pika raises ValueError ("Expected connected socket") when the peer drops
            # the socket during the handshake: that is a connection failure like any other
            raise pika.exceptions.AMQPConnectionError(str(exc)) from exc
        try:
            channel = connection.channel()
            channel.exchange_declare(self._exchange, exchange_type=EXCHANGE_TYPE, durable=True)
            channel.confirm_delivery()
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        self._connection, self._channel = connection, channel
        return channel

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()
