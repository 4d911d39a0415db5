"""Publishing a batch to RabbitMQ with pipelined publisher confirms.

A pika ``SelectConnection`` with one channel in confirm mode, driven in the caller's
thread: :meth:`PipelinedPublisher.publish` writes every message of the batch, then runs
the connection's I/O loop until the broker has acked or nacked each one (acks may cover
several delivery tags at once), the connection or channel is lost, or ``confirm_timeout``
passes. One round trip a batch rather than one a message, as ``BlockingConnection``'s
confirm mode does.

The caller gets the length of the confirmed prefix: messages after the first one not
acked are reported unconfirmed even if the broker acked them (they are published again,
and consumers dedupe on ``message_id``), so a relay that republishes from there keeps its
order. The I/O loop runs only inside calls (opening, publishing, closing); a connection
the broker dropped while idle shows up as lost at the next publish. Not thread-safe: one
caller at a time (``RabbitMQTransport`` holds a lock).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pika
import pika.exceptions
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from pika.frame import Method
from pika.spec import Basic, BasicProperties

_PENDING, _ACKED, _NACKED = 0, 1, 2


@dataclass(frozen=True)
class Publication:
    """One message as it goes to the exchange."""

    routing_key: str
    body: bytes
    properties: BasicProperties


@dataclass(frozen=True)
class BatchResult:
    """How a batch went: the first ``confirmed`` messages are safe; ``error`` says why the
    next one is not (None when all are); ``lost`` when the connection or channel went."""

    confirmed: int
    error: BaseException | None = None
    lost: bool = False


class NotConfirmed(Exception):
    """The broker nacked a message, or did not confirm it in time."""


class PipelinedPublisher:
    """One connection and confirm-mode channel to ``exchange`` (declared on opening by
    ``declare``), opened on the first batch and again after a loss."""

    def __init__(
        self,
        params: pika.ConnectionParameters | pika.URLParameters,
        exchange: str,
        declare: Callable[[Channel, Callable[[Method], None]], None],
        *,
        open_timeout: float,
        confirm_timeout: float,
    ) -> None:
        self._params = params
        self._exchange = exchange
        self._declare = declare
        self._open_timeout = open_timeout
        self._confirm_timeout = confirm_timeout
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._ready = False  # channel open, exchange declared, confirm mode on
        self._loss: BaseException | None = None
        self._running = False
        # the batch in flight: delivery tag of its first message, each message's state
        self._first_tag = 1
        self._next_tag = 1
        self._states: bytearray = bytearray()
        self._settled = 0  # messages acked or nacked so far
        self._low = 0  # every message before this index is acked or nacked

    @property
    def is_open(self) -> bool:
        """Whether a connection is open (as far as this side knows, between calls)."""
        return self._ready and self._loss is None

    def publish(self, batch: Sequence[Publication]) -> BatchResult:
        """Publish ``batch`` in order and wait for the broker's confirms."""
        if not batch:
            return BatchResult(0)
        try:
            self._open()
            channel = self._channel
            assert channel is not None
            self._first_tag = self._next_tag
            self._states = bytearray(len(batch))
            self._settled = self._low = 0
            for message in batch:
                channel.basic_publish(
                    self._exchange, message.routing_key, message.body, message.properties
                )
                self._next_tag += 1
        except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
            self.close()
            return BatchResult(0, _as_amqp(exc), lost=True)
        self._run_until(
            lambda: self._settled == len(batch) or self._loss is not None, self._confirm_timeout
        )
        pending = self._states.find(_PENDING)
        nacked = self._states.find(_NACKED)
        firsts = [i for i in (pending, nacked) if i >= 0]
        if not firsts:
            return BatchResult(len(batch))
        first = min(firsts)
        if first == nacked:
            return BatchResult(first, NotConfirmed("the broker nacked the message"))
        loss = self._loss
        self.close()  # confirms of this batch may still come: start afresh
        if loss is not None:
            return BatchResult(first, loss, lost=True)
        return BatchResult(
            first, NotConfirmed(f"no confirm within {self._confirm_timeout:g} s"), lost=True
        )

    def close(self) -> None:
        """Close the connection (waiting briefly for the broker's close-ok) and its loop."""
        connection, self._connection, self._channel = self._connection, None, None
        self._ready = False
        if connection is None:
            return
        with contextlib.suppress(Exception):
            if not (connection.is_closed or connection.is_closing):
                connection.close()
            self._connection = connection  # for the close callback's poke
            self._run_until(lambda: connection.is_closed, self._open_timeout)
        self._connection = None
        with contextlib.suppress(Exception):
            connection.ioloop.close()

    # -- the I/O loop ------------------------------------------------------------------

    def _run_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Run the I/O loop until ``done()`` or ``timeout`` seconds; whether it is done.
        Callbacks stop the loop (``_poke``) when something ``done`` may test happened."""
        connection = self._connection
        if connection is None:
            return done()
        deadline = time.monotonic() + timeout
        ioloop = connection.ioloop
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            timer = ioloop.call_later(remaining, ioloop.stop)
            self._running = True
            try:
                ioloop.start()
            finally:
                self._running = False
                ioloop.remove_timeout(timer)
        return True

    def _poke(self) -> None:
        # IOLoop.stop() outside start() would make the next start() return at once
        if self._running and self._connection is not None:
            self._connection.ioloop.stop()

    # -- opening -----------------------------------------------------------------------

    def _open(self) -> None:
        if self.is_open:
            return
        self.close()
        self._loss = None
        self._next_tag = 1
        try:
            self._connection = SelectConnection(
                self._params,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_lost,
                on_close_callback=self._on_lost,
            )
        except ValueError as exc:
            # pika raises ValueError ("Expected connected socket") when the peer drops
            # the socket during the handshake: a connection failure like any other
            raise pika.exceptions.AMQPConnectionError(str(exc)) from exc
        finished = self._run_until(
            lambda: self._ready or self._loss is not None, self._open_timeout
        )
        if self._loss is not None:
            raise _as_amqp(self._loss)
        if not finished:
            raise pika.exceptions.AMQPConnectionError(
                f"not connected within {self._open_timeout:g} s"
            )

    def _on_connection_open(self, connection: pika.connection.Connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_lost)
        self._declare(channel, lambda _frame: self._on_declared(channel))

    def _on_declared(self, channel: Channel) -> None:
        channel.confirm_delivery(self._on_confirm, callback=self._on_confirming)

    def _on_confirming(self, _frame: Method) -> None:
        self._ready = True
        self._poke()

    def _on_lost(self, _source: object, reason: BaseException) -> None:
        if self._loss is None:
            self._loss = reason
        self._ready = False
        self._poke()

    # -- confirms ----------------------------------------------------------------------

    def _on_confirm(self, frame: Method) -> None:
        method = frame.method
        state = _NACKED if isinstance(method, Basic.Nack) else _ACKED
        last = method.delivery_tag - self._first_tag
        if last < 0 or last >= len(self._states):
            return  # a tag of an earlier batch (cannot happen after a reconnect)
        first = self._low if method.multiple else last
        for i in range(first, last + 1):
            if self._states[i] == _PENDING:
                self._states[i] = state
                self._settled += 1
        while self._low < len(self._states) and self._states[self._low] != _PENDING:
            self._low += 1
        if self._settled == len(self._states):
            self._poke()


def _as_amqp(exc: BaseException) -> BaseException:
    if isinstance(exc, pika.exceptions.AMQPError | OSError):
        return exc
    error: BaseException = pika.exceptions.AMQPConnectionError(f"{type(exc).__name__}: {exc}")
    return error
