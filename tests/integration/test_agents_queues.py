"""The machinery in view, on the real servers (issue 14).

* An agent (``dcctl agent``, its own process, with ``dcctl serve`` and ``dcctl relay``
  on PostgreSQL and RabbitMQ) with one slot and three long apps started: one runs, two
  wait for the slot; ``/api/v1/system/agents`` names them and the waiting apps' detail
  says which agent holds them. Killed with SIGKILL, the agent shows offline within its
  heartbeat timeout, still naming its queued apps; its command queue is in
  ``/api/v1/system/queues`` with what RabbitMQ itself reports for it.
* Queue depths read through passive declares and from Redis match what the brokers
  report for the same queues (unique names, deleted after; a few messages only).
* A note on a run round-trips and appears in the audit feed, over HTTP.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pika
import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest

from control.apps.models import Apps
from control.auth.roles import Role
from control.auth.users import create_user
from control.db.database import connect_url, database
from control.runtimes.models import Runtime
from control.system.prometheus import sample_value
from control.system.queue_report import QueueCollector, QueueReport
from control.system.queue_stats import (
    QueueName,
    RabbitmqPassiveStats,
    RedisStats,
    command_queues,
    dramatiq_queues,
)
from tests import agent_apps
from tests.integration.test_agent import (
    EMAIL,
    PASSWORD,
    RABBITMQ_URL,
    Process,
    _delete_queue,
    scratch_url,  # noqa: F401 - a fixture, used by name
    wait_until,
)
from tests.integration.test_agent import Api as AgentApi
from tests.live_server import LiveServer, server_env

pytestmark = [pytest.mark.services, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/0"
HEARTBEAT = 1.0
OFFLINE_AFTER = 3.0
APPS = 3


def _passive(name: str) -> tuple[int, int]:
    """(messages, consumers) as RabbitMQ reports them, on a connection of our own."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        declared = connection.channel().queue_declare(name, passive=True)
        return int(declared.method.message_count), int(declared.method.consumer_count)
    finally:
        connection.close()


class Api(AgentApi):
    """The API as ``email`` (the operator by default)."""

    def __init__(self, base: str, email: str = EMAIL) -> None:
        self.client = httpx.Client(base_url=base, timeout=10)
        answer = self.client.post(
            "/api/v1/auth/token", json={"username": email, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        self.client.headers["Authorization"] = f"Bearer {answer.json()['data']['access_token']}"


@pytest.fixture
def group() -> str:
    return f"mach{uuid.uuid4().hex[:8]}"


@pytest.fixture
def long_apps(scratch_url: str, group: str) -> list[str]:  # noqa: F811
    previous = database.obj
    db = connect_url(scratch_url)
    database.initialize(db)
    try:
        with db.connection_context():
            create_user(EMAIL, PASSWORD, Role.OPERATOR)
            made = []
            for n in range(APPS):
                app_id = f"{group}_long{n}"
                settings = {"entrypoint": "test.long", "items": 2000, "delay": 0.05}
                Apps.create(id=app_id, group=group, parent="it", app=app_id, settings=settings)
                made.append(app_id)
        return made
    finally:
        db.close()
        database.initialize(previous)


@pytest.fixture
def agent_name(group: str) -> Iterator[str]:
    name = f"{group}-agent"
    yield name
    _delete_queue(f"dc.agent.{name}")


def test_a_killed_agent_turns_offline_and_names_its_queued_apps(
    scratch_url: str,  # noqa: F811
    long_apps: list[str],
    group: str,
    agent_name: str,
    tmp_path: Path,
) -> None:
    timings = {
        "DC_AGENT_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "DC_AGENT_OFFLINE_AFTER_SECONDS": str(OFFLINE_AFTER),
    }
    env = server_env(
        scratch_url,
        DC_RABBITMQ_URL=RABBITMQ_URL,
        DC_AGENT_APPS=agent_apps.AGENT_APPS,
        DC_AGENT_CONCURRENCY="1",
        DC_AGENT_POLL_SECONDS="1",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        **timings,
    )
    started: list[Process] = []
    api: Api | None = None
    try:
        with LiveServer(
            scratch_url, log_dir=tmp_path, extra_env={"DC_RABBITMQ_URL": RABBITMQ_URL, **timings}
        ) as server:
            started.append(Process("relay", ["relay", "--idle-sleep", "0.2"], env, tmp_path))
            agent = Process(
                "agent", ["agent", "--group", group, "--name", agent_name], env, tmp_path
            )
            started.append(agent)
            wait_until(
                lambda: f"consuming dc.agent.{agent_name}" in agent.output(),
                30,
                "agent consuming",
                agent,
            )
            api = Api(server.url)
            for app_id in long_apps:
                api.command(app_id, "start")

            def settled() -> dict | None:
                found = {a["name"]: a for a in api.get("/api/v1/system/agents")}
                mine = found.get(agent_name)
                if mine and mine["online"] and len(mine["running"]) + len(mine["queued"]) == APPS:
                    return mine
                return None

            mine = wait_until(settled, 30, "one app running, two waiting", *started)
            assert mine["slots"] == 1
            assert mine["slots_busy"] == 1
            assert mine["groups"] == [group]
            assert mine["version"]
            queued = mine["queued"]
            assert sorted(mine["running"] + queued) == sorted(long_apps)
            for app_id in queued:
                detail = api.app(app_id)
                assert detail["run_status"] == "SCHEDULED"
                assert detail["agent"] == {
                    "name": agent_name,
                    "online": True,
                    "waiting_for_slot": True,
                }
            running = api.app(mine["running"][0])["agent"]
            assert running == {"name": agent_name, "online": True, "waiting_for_slot": False}

            # its command queue, as RabbitMQ reports it (the agent consumes it: 1 consumer)
            queue = f"dc.agent.{agent_name}"
            report = api.get("/api/v1/system/queues")
            assert report["commands_source"] == "passive"
            assert report["errors"] == []
            (shown,) = [q for q in report["queues"] if q["name"] == queue]
            assert shown["kind"] == "commands"
            assert (shown["messages"], shown["consumers"]) == _passive(queue)
            assert shown["consumers"] == 1
            kinds = {q["kind"] for q in report["queues"]}
            assert {"work", "delay", "dead_letter", "commands"} <= kinds

            agent.kill()  # SIGKILL: no goodbye, the heartbeats just stop
            killed = time.monotonic()

            def offline() -> dict | None:
                found = {a["name"]: a for a in api.get("/api/v1/system/agents")}
                return found[agent_name] if not found[agent_name]["online"] else None

            gone = wait_until(offline, OFFLINE_AFTER + HEARTBEAT + 5, "agent offline", agent)
            assert time.monotonic() - killed <= OFFLINE_AFTER + HEARTBEAT + 5
            assert sorted(gone["queued"]) == sorted(queued)  # still named
            assert api.app(queued[0])["agent"]["online"] is False
            # the queue lost its consumer with the process
            wait_until(lambda: _passive(queue)[1] == 0, 10, "consumer gone")
            report = api.get("/api/v1/system/queues")
            (shown,) = [q for q in report["queues"] if q["name"] == queue]
            assert shown["consumers"] == 0
    finally:
        if api is not None:
            api.close()
        for process in reversed(started):
            process.stop()


@pytest.fixture
def rabbit_queues() -> Iterator[list[QueueName]]:
    base = f"mach{uuid.uuid4().hex[:8]}"
    names = [*dramatiq_queues([base]), *command_queues([f"{base}-agent"])]
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        for counted, queue in zip((3, 1, 2, 4), names, strict=False):
            channel.queue_declare(queue.name, auto_delete=False)
            for n in range(counted):
                channel.basic_publish("", queue.name, f"m{n}".encode())
        yield names
    finally:
        with contextlib.suppress(Exception):
            channel = connection.channel()
            for queue in names:
                channel.queue_delete(queue.name)
        connection.close()


def test_passive_depths_match_rabbitmq(rabbit_queues: list[QueueName]) -> None:
    stats = RabbitmqPassiveStats(RABBITMQ_URL)
    missing = QueueName(f"never{uuid.uuid4().hex[:8]}", "work")

    def read() -> list:
        return stats.read([*rabbit_queues, missing])

    found = wait_until(lambda: (r := read()) and r[0].messages == 3 and r, 10, "published")
    by_name = {d.name: d for d in found}
    for queue in rabbit_queues:
        depth = by_name[queue.name]
        assert depth.exists
        assert depth.kind == queue.kind
        assert (depth.messages, depth.consumers) == _passive(queue.name)
    assert [by_name[q.name].messages for q in rabbit_queues] == [3, 1, 2, 4]
    assert by_name[missing.name].exists is False
    assert by_name[missing.name].messages == 0

    # the Prometheus series read the same queues
    base = rabbit_queues[0].name
    collector = QueueCollector(QueueReport(stats, None, "rabbitmq", queues=[base]))
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    labels = {"queue": f"{base}.XQ", "kind": "dead_letter"}
    assert sample_value(text, "dc_queue_messages", labels) == 2
    assert sample_value(text, "dc_queue_messages", {"queue": base, "kind": "work"}) == 3
    assert sample_value(text, "dc_queues_up") == 1


def test_redis_depths_match_redis() -> None:
    namespace = f"mach{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    names = dramatiq_queues(["work"])
    try:
        client.rpush(f"{namespace}:work", *[f"id{n}" for n in range(3)])
        client.rpush(f"{namespace}:work.DQ", "d1")
        client.zadd(f"{namespace}:work.XQ", {"x1": 1.0, "x2": 2.0})
        found = RedisStats(REDIS_URL, namespace=namespace).read(names)
        assert [d.messages for d in found] == [
            client.llen(f"{namespace}:work"),
            client.llen(f"{namespace}:work.DQ"),
            client.zcard(f"{namespace}:work.XQ"),
        ]
        assert [d.messages for d in found] == [3, 1, 2]
        assert all(d.consumers is None for d in found)
    finally:
        client.delete(*[f"{namespace}:{q.name}" for q in names])
        client.close()


def test_a_note_round_trips_and_reaches_the_audit_feed(
    scratch_url: str,  # noqa: F811
    long_apps: list[str],
    tmp_path: Path,
) -> None:
    previous = database.obj
    db = connect_url(scratch_url)
    database.initialize(db)
    try:
        with db.connection_context():
            run = Runtime.create(id=f"run_{uuid.uuid4().hex[:8]}", app=long_apps[0])
            create_user("admin@example.com", PASSWORD, Role.ADMIN)
    finally:
        db.close()
        database.initialize(previous)
    with LiveServer(scratch_url, log_dir=tmp_path) as server:
        api = Api(server.url)
        try:
            answer = api.client.post(
                f"/api/v1/runtimes/{run.id}/notes", json={"text": "upstream site down"}
            )
            assert answer.status_code == 201, answer.text
            detail = api.get(f"/api/v1/runtimes/{run.id}")
            assert [n["text"] for n in detail["notes"]] == ["upstream site down"]
            assert detail["notes"][0]["author"] == EMAIL
        finally:
            api.close()
        admin = Api(server.url, "admin@example.com")
        try:
            (row,) = admin.get("/api/v1/activity", action="runtimes.note")
            assert row["actor"] == EMAIL
            assert row["summary"]["text"] == "upstream site down"
            assert row["summary"]["runtime"] == run.id
        finally:
            admin.close()
