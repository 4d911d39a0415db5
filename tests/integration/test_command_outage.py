"""A RabbitMQ outage, or a broker that nacks part of a batch, delays commands and never
loses them (real RabbitMQ, both dialects).

The relay reaches the broker through a TCP proxy this test controls; the real server
keeps running for everyone else. While the proxy is down the API still accepts every
command (202), the relay fails and keeps the rows; once it is up, every command is
published exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import falcon.testing
import orjson
import pika
import pytest

from control.auth.models import User
from control.auth.roles import Role
from control.auth.tokens import new_id
from control.clock import utcnow
from control.commands import services as commands
from control.commands.messages import EXCHANGE
from control.commands.models import Command, CommandStatus, Outbox
from control.commands.rabbitmq_transport import RabbitMQTransport
from control.commands.relay import relay_once
from control.kv.memory import MemoryStore
from control.settings import load_settings
from tests.factories import make_app
from tests.tcp_proxy import TcpProxy
from web.app import create_app
from web.wiring import build_services

pytestmark = pytest.mark.services

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
N = 25


@pytest.fixture
def settings(db):
    """Production mode: no relay inside the web process; the test runs the relay."""
    return load_settings(
        environment="test",
        rate_limit_per_minute=100_000,
        auth_rate_limit_per_minute=100_000,
        rabbitmq_url=RABBITMQ_URL,
    )


@pytest.fixture
def start(settings):
    """POST .../start for each app id as an operator, through one app lifespan (as a server)."""
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    operator = User.create(
        email=f"operator-{new_id()[:8].lower()}@example.com", password_hash="-", role=Role.OPERATOR
    )
    token = services.tokens.issue(
        subject=operator.email,
        role=Role.OPERATOR,
        subject_type="user",
        use="access",
        session_id=new_id(),
    ).token
    headers = {"Authorization": f"Bearer {token}"}

    def post_all(app_ids: list[str]) -> list[falcon.testing.Result]:
        async def run() -> list[falcon.testing.Result]:
            async with falcon.testing.ASGIConductor(app) as conductor:
                return [
                    await conductor.simulate_post(f"/api/v1/apps/{app_id}/start", headers=headers)
                    for app_id in app_ids
                ]

        return asyncio.run(run())

    return post_all


@pytest.fixture
def group() -> str:
    return f"outage{uuid.uuid4().hex[:10]}"


@pytest.fixture
def consumer(group: str) -> Iterator[tuple[pika.adapters.blocking_connection.BlockingChannel, str]]:
    """A queue on the real broker bound to this test's group: what a manager would get."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key=f"{group}.#")
    yield channel, queue
    connection.close()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", 5672) as running:
        yield running


def consume_all(channel, queue: str, expected: int, timeout: float = 10.0) -> list[tuple]:
    """Every message on the queue: ``expected`` of them, then a quiet second for strays."""
    got: list[tuple] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            got.append((method, properties, body))
            quiet_until = None
            continue
        now = time.monotonic()
        if len(got) >= expected:
            quiet_until = quiet_until or now + 1.0
            if now >= quiet_until:
                return got
        elif now >= deadline:
            return got
        channel.connection.sleep(0.05)


def test_commands_accepted_during_an_outage_are_published_once_after(
    start, db, group, consumer, proxy
):
    channel, queue = consumer
    apps = [
        make_app(id=f"{group}_app_{i:02d}", group=group, parent="registry") for i in range(N + 1)
    ]
    transport = RabbitMQTransport(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F", timeout=1.0)
    try:
        # Before: one command goes through, so the relay holds a live connection.
        (first,) = start([apps[0].id])
        assert first.status_code == 202
        assert relay_once(transport) == 1
        assert proxy.open_connections == 1

        # Outage: the live connection is cut, new ones are reset.
        proxy.down()
        answers = start([app.id for app in apps[1:]])
        assert [r.status_code for r in answers] == [202] * N  # the API never waits for it
        accepted = [r.json["data"]["id"] for r in answers]
        assert len(set(accepted)) == N

        started = time.monotonic()
        assert relay_once(transport) == 0
        assert time.monotonic() - started < 5  # the outage is noticed in a second or two
        unsent = list(Outbox.select().where(Outbox.published_at.is_null()).order_by(Outbox.id))
        assert [row.message_id for row in unsent] == accepted
        head = unsent[0]
        assert head.attempts == 1
        assert "RabbitMQ did not confirm" in head.last_error
        assert head.available_at > head.created  # backing off
        assert all(row.attempts == 0 for row in unsent[1:])  # order kept: they wait behind
        assert relay_once(transport) == 0  # still backing off: not even tried
        assert Outbox.get_by_id(head.id).attempts == 1
        statuses = {c.status for c in Command.select().where(Command.id.in_(accepted))}
        assert statuses == {CommandStatus.PENDING}
        assert proxy.refused >= 1

        # Back: run the relay until the outbox is empty.
        proxy.up()
        deadline = time.monotonic() + 30
        published = 0
        while Outbox.select().where(Outbox.published_at.is_null()).exists():
            assert time.monotonic() < deadline, "outbox not drained after the broker came back"
            published += relay_once(transport)
            time.sleep(0.1)
        assert published == N
    finally:
        transport.close()

    messages = consume_all(channel, queue, expected=N + 1)
    ids = [properties.message_id for _, properties, _ in messages]
    assert len(ids) == N + 1  # none lost, none twice
    assert sorted(ids) == sorted([first.json["data"]["id"], *accepted])
    assert ids[1:] == accepted  # and in the order they were accepted
    for method, properties, body in messages:
        payload = orjson.loads(body)
        assert payload["command_id"] == properties.message_id
        assert payload["command"] == "START"
        assert method.routing_key == f"{group}.registry.{payload['app_id']}"
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
    commands = Command.select().where(Command.id.in_(ids))
    assert {c.status for c in commands} == {CommandStatus.PUBLISHED}
    assert all(c.published_at is not None for c in commands)


@pytest.fixture
def full_queue(
    group: str,
) -> Iterator[tuple[pika.adapters.blocking_connection.BlockingChannel, str]]:
    """A queue bound to this test's group that holds two messages and has the broker nack
    the publish of any more (``x-overflow: reject-publish``)."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare(
        "",
        exclusive=True,
        auto_delete=True,
        arguments={"x-max-length": 2, "x-overflow": "reject-publish"},
    ).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key=f"{group}.#")
    yield channel, queue
    connection.close()


def test_a_batch_the_broker_nacks_in_part_is_finished_by_later_passes(db, group, full_queue):
    channel, queue = full_queue
    apps = [make_app(id=f"{group}_app_{i}", group=group, parent="registry") for i in range(5)]
    ids = [commands.issue_command(app.id, "START", commands.Actor("t")).id for app in apps]
    transport = RabbitMQTransport(RABBITMQ_URL)
    consumed: list[str] = []
    try:
        # One pass, one batch of five: the queue takes two, the broker nacks the third.
        assert relay_once(transport, batch=10) == 2
        status = {c.id: c.status for c in Command.select().where(Command.id.in_(ids))}
        assert [status[i] for i in ids] == [CommandStatus.PUBLISHED] * 2 + [
            CommandStatus.PENDING
        ] * 3
        rows = {r.message_id: r for r in Outbox.select().where(Outbox.message_id.in_(ids))}
        assert all(rows[i].published_at is not None for i in ids[:2])
        nacked = rows[ids[2]]
        assert (nacked.published_at, nacked.attempts) == (None, 1)
        assert "nacked" in nacked.last_error
        assert nacked.available_at > utcnow()  # backing off, the two behind it wait
        assert [(rows[i].published_at, rows[i].attempts) for i in ids[3:]] == [(None, 0)] * 2
        assert relay_once(transport, batch=10) == 0  # still backing off: not even tried

        # A manager takes the two; each time the backoff ends the next pass goes further.
        deadline = time.monotonic() + 30
        while (
            Outbox.select()
            .where(Outbox.message_id.in_(ids), Outbox.published_at.is_null())
            .exists()
        ):
            assert time.monotonic() < deadline, "the outbox was not drained"
            consumed += [
                p.message_id for _, p, _ in consume_all(channel, queue, expected=2, timeout=1)
            ]
            Outbox.update(available_at=utcnow()).where(Outbox.message_id.in_(ids)).execute()
            relay_once(transport, batch=10)
    finally:
        transport.close()
    consumed += [p.message_id for _, p, _ in consume_all(channel, queue, expected=1, timeout=1)]
    assert consumed == ids  # every command once, in order: a nacked message was not queued
    statuses = {c.status for c in Command.select().where(Command.id.in_(ids))}
    assert statuses == {CommandStatus.PUBLISHED}
