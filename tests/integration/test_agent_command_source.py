"""The agent's RabbitMQ command consumer against the real broker, under faults.

* pika can raise ``ValueError`` mid-handshake (a socket the broker dropped): the
  consumer thread must not die; it says so in the log and reconnects with backoff.
* Two agent processes with one name (so one queue): the second is refused the queue
  (exclusive consumer) before it binds its groups, says so, and takes over once the
  first is gone; meanwhile the first gets every message and only its own groups'.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from control.agent.commands import RabbitMQSource, binding_patterns, queue_name
from control.commands.rabbitmq_transport import RabbitMQTransport
from tests.waiting import wait_until

pytestmark = [pytest.mark.services]

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


class Inbox:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self, message_id: str, body: bytes) -> None:
        self.ids.append(message_id)


@pytest.fixture
def name() -> Iterator[str]:
    agent = f"src-{uuid.uuid4().hex[:8]}"
    yield agent
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        connection.channel().queue_delete(queue_name(agent))
    finally:
        connection.close()


@pytest.fixture
def sources() -> Iterator[Callable[..., RabbitMQSource]]:
    made: list[RabbitMQSource] = []

    def make(agent: str, groups: list[str]) -> RabbitMQSource:
        source = RabbitMQSource(RABBITMQ_URL, queue_name(agent), binding_patterns(groups))
        made.append(source)
        return source

    yield make
    for source in made:
        source.stop()


def _publish(group: str, message_id: str) -> None:
    transport = RabbitMQTransport(RABBITMQ_URL)
    try:
        transport.publish(f"{group}.it.app", b'{"app_id": "x"}', message_id)
    finally:
        transport.close()


def test_a_value_error_in_the_handshake_does_not_end_the_consumer(
    name: str,
    sources: Callable[..., RabbitMQSource],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = pika.BlockingConnection
    failures = {"left": 2}

    def flaky(params: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise ValueError("Expected connected socket, but getpeername() failed")
        return real(params)

    monkeypatch.setattr(pika, "BlockingConnection", flaky)
    group = f"g{uuid.uuid4().hex[:6]}"
    source = sources(name, [group])
    inbox = Inbox()
    with caplog.at_level(logging.INFO, logger="control.agent.commands"):
        source.start(inbox)
        assert wait_until(source.connected.is_set, timeout=15), source.last_error
        _publish(group, "after-the-fault")
        assert wait_until(lambda: inbox.ids == ["after-the-fault"], timeout=10), inbox.ids
    text = caplog.text
    assert "Expected connected socket" in text  # the fault is in the log...
    assert "commands are seen by polling meanwhile" in text  # ...with what it means
    assert "command messages resumed" in text
    assert source.last_error is None


def test_a_second_agent_with_the_same_name_is_refused_the_queue(
    name: str, sources: Callable[..., RabbitMQSource], caplog: pytest.LogCaptureFixture
) -> None:
    mine, theirs = f"m{uuid.uuid4().hex[:6]}", f"t{uuid.uuid4().hex[:6]}"
    first = sources(name, [mine])
    second = sources(name, [theirs])
    first_inbox, second_inbox = Inbox(), Inbox()
    first.start(first_inbox)
    assert wait_until(first.connected.is_set, timeout=15)
    with caplog.at_level(logging.ERROR, logger="control.agent.commands"):
        second.start(second_inbox)
        assert wait_until(lambda: second.last_error is not None, timeout=15)
    assert "ACCESS_REFUSED" in (second.last_error or "")
    assert "consumed by another agent with the same name" in caplog.text
    assert not second.connected.is_set()

    _publish(mine, "for-the-first")
    _publish(theirs, "for-nobody-yet")  # the refused agent bound nothing to the queue
    assert wait_until(lambda: first_inbox.ids == ["for-the-first"], timeout=10)

    first.stop()  # the first agent goes away: the second takes the queue over
    assert wait_until(second.connected.is_set, timeout=15), second.last_error
    _publish(theirs, "for-the-second")
    assert wait_until(lambda: "for-the-second" in second_inbox.ids, timeout=10)
    # the first agent's binding outlives it (a durable queue keeps its bindings), so
    # the second may get messages for the first's group too; never the one it missed
    assert "for-nobody-yet" not in second_inbox.ids
