"""One contract, two command transports: the in-process MemoryTransport and RabbitMQ.

For RabbitMQ each test binds its own exclusive queue to the ``dc.commands`` exchange
with routing words unique to the test, so messages other tests publish never count.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson
import pika
import pytest

from control.commands import pipelined_publisher
from control.commands.memory_transport import MemoryTransport, Message, topic_matches
from control.commands.messages import EXCHANGE, command_headers, routing_key
from control.commands.rabbitmq_transport import RabbitMQTransport
from control.commands.transport import CommandTransport, Confirmed, Outgoing
from control.errors import Unavailable
from tests.tcp_proxy import TcpProxy

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1/%2F"


class Receiver:
    """What a consumer bound with one pattern gets."""

    def __init__(self, get: Callable[[float], Message | None]) -> None:
        self._get = get

    def get(self, timeout: float = 3.0) -> Message | None:
        return self._get(timeout)

    def take(self, count: int, timeout: float = 5.0) -> list[Message]:
        """``count`` messages (fewer if they do not come), then check nothing more does."""
        got: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            message = self.get(max(0.05, deadline - time.monotonic()))
            if message is not None:
                got.append(message)
        extra = self.get(0.3)
        if extra is not None:
            got.append(extra)
        return got


@dataclass
class Harness:
    transport: CommandTransport
    bind: Callable[[str], Receiver]
    kind: str


def memory_harness() -> Iterator[Harness]:
    transport = MemoryTransport()

    def bind(pattern: str) -> Receiver:
        inbox: queue.Queue[Message] = queue.Queue()
        transport.subscribe(pattern, inbox.put)

        def get(timeout: float) -> Message | None:
            try:
                return inbox.get(timeout=timeout)
            except queue.Empty:
                return None

        return Receiver(get)

    yield Harness(transport, bind, "memory")
    transport.close()


def rabbitmq_harness() -> Iterator[Harness]:
    transport = RabbitMQTransport(RABBITMQ_URL)
    consumer = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = consumer.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)

    def bind(pattern: str) -> Receiver:
        name = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(name, EXCHANGE, routing_key=pattern)

        def get(timeout: float) -> Message | None:
            deadline = time.monotonic() + timeout
            while True:
                method, properties, body = channel.basic_get(name, auto_ack=True)
                if method is not None:
                    return Message(
                        routing_key=method.routing_key,
                        body=body,
                        message_id=properties.message_id,
                        headers=dict(properties.headers or {}),
                        content_type=properties.content_type,
                        delivery_mode=properties.delivery_mode,
                        exchange=method.exchange,
                    )
                if time.monotonic() >= deadline:
                    return None
                consumer.sleep(0.02)

        return Receiver(get)

    yield Harness(transport, bind, "rabbitmq")
    transport.close()
    consumer.close()


@pytest.fixture(params=["memory", pytest.param("rabbitmq", marks=pytest.mark.services)])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from (memory_harness() if request.param == "memory" else rabbitmq_harness())


@pytest.fixture
def words() -> tuple[str, str]:
    """A group and a parent no other test uses."""
    tag = uuid.uuid4().hex[:10]
    return f"g{tag}", f"p{tag}"


# -- the contract ----------------------------------------------------------------------


def test_a_published_message_arrives_with_its_properties(harness, words):
    group, parent = words
    inbox = harness.bind(f"{group}.#")
    key = routing_key(group, parent, "scraper_one")
    body = orjson.dumps({"version": 1, "command": "START", "app_id": "scraper_one"})
    message_id = uuid.uuid4().hex
    harness.transport.publish(key, body, message_id, command_headers("START", "scraper_one"))
    (message,) = inbox.take(1)
    assert message.routing_key == f"{group}.{parent}.scraper_one"
    assert message.body == body
    assert message.message_id == message_id
    assert message.content_type == "application/json"
    assert message.delivery_mode == 2  # persistent
    assert message.exchange == EXCHANGE
    assert message.headers == {
        "dc-kind": "command",
        "dc-command": "START",
        "dc-app-id": "scraper_one",
    }


def test_topic_bindings_select_by_group_and_parent(harness, words):
    group, parent = words
    by_group = harness.bind(f"{group}.#")
    by_parent = harness.bind(f"*.{parent}.*")
    keys = {
        "a1": f"{group}.{parent}.a1",
        "a2": f"{group}.other.a2",
        "a3": f"x{group}.{parent}.a3",
        "a4": f"{group}.{parent}.a4.extra",
    }
    for name, key in keys.items():
        harness.transport.publish(key, b"{}", name)
    assert sorted(m.message_id for m in by_group.take(3)) == ["a1", "a2", "a4"]
    assert sorted(m.message_id for m in by_parent.take(2)) == ["a1", "a3"]


def test_messages_arrive_in_publishing_order(harness, words):
    group, parent = words
    inbox = harness.bind(f"{group}.{parent}.*")
    ids = [f"m{i:02d}" for i in range(20)]
    for message_id in ids:
        harness.transport.publish(f"{group}.{parent}.app", b"{}", message_id)
    assert [m.message_id for m in inbox.take(20)] == ids


def test_a_batch_arrives_in_order_and_is_confirmed_whole(harness, words):
    group, parent = words
    inbox = harness.bind(f"{group}.{parent}.*")
    batch = [
        Outgoing(f"{group}.{parent}.app{i % 3}", b"{}", f"b{i:03d}", {"dc-kind": "command"})
        for i in range(300)
    ]
    assert harness.transport.publish_many(batch) == Confirmed(300)
    got = inbox.take(300)
    assert [m.message_id for m in got] == [m.message_id for m in batch]
    assert {m.routing_key for m in got} == {f"{group}.{parent}.app{i}" for i in range(3)}
    assert all(m.headers == {"dc-kind": "command"} for m in got)
    assert harness.transport.publish_many([]) == Confirmed(0)


def test_a_message_nobody_binds_is_dropped_without_error(harness, words):
    group, parent = words
    harness.transport.publish(f"{group}.{parent}.unbound", b"{}", "lost")
    inbox = harness.bind(f"{group}.#")
    assert inbox.get(0.3) is None  # bound after: it never sees the earlier message


def test_a_closed_transport_refuses_to_publish(harness, words):
    harness.transport.close()
    with pytest.raises(Unavailable):
        harness.transport.publish(f"{words[0]}.x.y", b"{}", "late")
    harness.transport.close()  # idempotent


# -- routing keys and topic matching ---------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "key"),
    [
        (("de", "registry", "scraper_1"), "de.registry.scraper_1"),
        (("de.north", "registry.v2", "app.x"), "de_north.registry_v2.app_x"),
        (("", "p", "a"), "_.p.a"),
    ],
)
def test_routing_keys_have_three_dot_free_words(parts, key):
    assert routing_key(*parts) == key


def test_routing_keys_fit_amqp_limit():
    key = routing_key("g" * 64, "p" * 64, "ä" * 128)
    assert len(key.encode()) <= 255


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("de.#", "de.registry.a", True),
        ("de.#", "de", True),
        ("de.#", "fr.registry.a", False),
        ("*.registry.*", "de.registry.a", True),
        ("*.registry.*", "de.registry.a.b", False),
        ("#", "", True),
        ("#.a", "de.registry.a", True),
        ("de.*.a", "de.registry.a", True),
        ("de.*", "de.registry.a", False),
        ("#.registry.#", "registry", True),
    ],
)
def test_memory_topic_matching_follows_amqp(pattern, key, matches):
    assert topic_matches(pattern, key) is matches


# -- RabbitMQ specifics ----------------------------------------------------------------


def test_rabbitmq_at_a_closed_port_is_unavailable_quickly():
    transport = RabbitMQTransport(CLOSED_PORT_URL)
    for _ in range(2):  # and again: each publish tries to reconnect
        started = time.monotonic()
        with pytest.raises(Unavailable):
            transport.publish("a.b.c", b"{}", "x")
        assert time.monotonic() - started < 3
    transport.close()


@pytest.mark.services
def test_rabbitmq_exchange_is_a_durable_topic():
    transport = RabbitMQTransport(RABBITMQ_URL)
    transport.publish("declare.the.exchange", b"{}", "x")
    transport.close()
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        # passive declare succeeds only if it exists; a differing type or durability
        # in an active declare closes the channel with PRECONDITION_FAILED
        channel.exchange_declare(EXCHANGE, passive=True)
        channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    finally:
        connection.close()


@pytest.mark.services
def test_rabbitmq_recovers_from_cut_and_refused_connections(words):
    group, parent = words
    harness_iter = rabbitmq_harness()
    harness = next(harness_iter)
    inbox = harness.bind(f"{group}.#")
    with TcpProxy("127.0.0.1", 5672) as proxy:
        transport = RabbitMQTransport(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F")
        key = f"{group}.{parent}.app"
        transport.publish(key, b"{}", "before")
        proxy.cut()  # as a broker restart (or an idle timeout) drops the connection
        transport.publish(key, b"{}", "after-cut")  # one reconnect, transparent
        proxy.down()
        started = time.monotonic()
        with pytest.raises(Unavailable):
            transport.publish(key, b"{}", "during-outage")
        assert time.monotonic() - started < 3
        proxy.up()
        transport.publish(key, b"{}", "after-outage")
        transport.close()
    assert [m.message_id for m in inbox.take(3)] == ["before", "after-cut", "after-outage"]
    with pytest.raises(StopIteration):
        next(harness_iter)


@pytest.mark.services
def test_rabbitmq_a_batch_the_broker_nacks_is_confirmed_up_to_the_first_nack(words):
    group, parent = words
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    # a queue that holds two messages; the broker nacks the publish of any more
    full = channel.queue_declare(
        "",
        exclusive=True,
        auto_delete=True,
        arguments={"x-max-length": 2, "x-overflow": "reject-publish"},
    ).method.queue
    channel.queue_bind(full, EXCHANGE, routing_key=f"{group}.#")
    transport = RabbitMQTransport(RABBITMQ_URL)
    try:
        batch = [Outgoing(f"{group}.{parent}.app", b"{}", f"n{i}") for i in range(5)]
        outcome = transport.publish_many(batch)
        assert outcome.count == 2
        assert isinstance(outcome.error, Unavailable)
        assert "nacked" in str(outcome.error)
        with pytest.raises(Unavailable):
            transport.publish(f"{group}.{parent}.app", b"{}", "still-full")
        channel.queue_purge(full)
        # the connection survives a nack: the same transport goes on
        assert transport.publish_many(batch[2:4]) == Confirmed(2)
    finally:
        transport.close()
        connection.close()


def test_rabbitmq_socket_dropped_during_handshake_is_unavailable(monkeypatch):
    # pika reports a socket the peer closed mid-handshake as a ValueError; the relay
    # must see it as an outage (Unavailable), not crash on it
    def dropped(params: pika.ConnectionParameters, **callbacks: object) -> None:
        raise ValueError("Expected connected socket, but getpeername() failed")

    monkeypatch.setattr(pipelined_publisher, "SelectConnection", dropped)
    transport = RabbitMQTransport("amqp://guest:guest@127.0.0.1:5672/%2F")
    with pytest.raises(Unavailable):
        transport.publish("g.p.app", b"{}", "dropped")
    transport.close()
