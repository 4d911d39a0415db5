"""The queue readers' pure parts: the management API's answers read into depths, the
names of a Dramatiq queue's companions, and which reader a deployment gets."""

from __future__ import annotations

from typing import Any

import pytest

from control.settings import Settings
from control.system import queue_stats
from control.system.queue_stats import (
    QueueName,
    RabbitmqManagementStats,
    RabbitmqPassiveStats,
    RedisStats,
    command_queues,
    dramatiq_queues,
    stats_for_settings,
)

LISTED = [
    {
        "name": "bulk",
        "messages": 7,
        "messages_ready": 5,
        "messages_unacknowledged": 2,
        "consumers": 3,
        "message_stats": {
            "publish_details": {"rate": 1.5},
            "deliver_get_details": {"rate": 0.5},
        },
    },
    {"name": "bulk.XQ", "messages": 1, "consumers": 0},
]
BINDINGS = [
    {"destination": "dc.agent.b", "destination_type": "queue"},
    {"destination": "dc.agent.a", "destination_type": "queue"},
    {"destination": "dc.agent.a", "destination_type": "queue"},  # two patterns, one queue
    {"destination": "elsewhere", "destination_type": "exchange"},
]


class FakeAnswer:
    def __init__(self, body: Any) -> None:
        self.body = body

    def raise_for_status(self) -> None:
        pass

    def json(self) -> Any:
        return self.body


def test_names_of_a_queue_and_its_companions() -> None:
    assert dramatiq_queues(["bulk"]) == [
        QueueName("bulk", "work"),
        QueueName("bulk.DQ", "delay", "bulk"),
        QueueName("bulk.XQ", "dead_letter", "bulk"),
    ]
    assert command_queues(["a"]) == [QueueName("dc.agent.a", "commands")]


def test_management_answers_read_into_depths(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, Any]] = []

    def get(url: str, *, auth: Any, timeout: float) -> FakeAnswer:
        asked.append((url, auth))
        return FakeAnswer(BINDINGS if "bindings" in url else LISTED)

    import httpx

    monkeypatch.setattr(httpx, "get", get)
    stats = RabbitmqManagementStats("http://ops:s%40cret@rabbit:15672/", vhost="/")
    bulk, dq, xq = stats.read(dramatiq_queues(["bulk"]))
    assert bulk.as_dict() == {
        "name": "bulk",
        "kind": "work",
        "of": None,
        "exists": True,
        "messages": 7,
        "consumers": 3,
        "ready": 5,
        "unacknowledged": 2,
        "publish_rate": 1.5,
        "deliver_rate": 0.5,
    }
    assert (dq.exists, dq.messages) == (False, 0)
    assert (xq.exists, xq.messages, xq.publish_rate) == (True, 1, None)
    assert stats.command_queues() == command_queues(["a", "b"])
    url, auth = asked[0]
    assert url.startswith("http://rabbit:15672/api/queues/%2F?")  # no credentials in the URL
    assert auth == ("ops", "s@cret")
    assert asked[1][0] == "http://rabbit:15672/api/exchanges/%2F/dc.commands/bindings/source"


def test_the_deployment_picks_its_readers() -> None:
    amqp = "amqp://guest:guest@127.0.0.1:5672/%2F"
    work, commands = stats_for_settings(Settings(rabbitmq_url=amqp))
    assert isinstance(work, RabbitmqPassiveStats)
    assert commands is work
    managed = Settings(rabbitmq_url=amqp, rabbitmq_management_url="http://127.0.0.1:15672")
    work, _ = stats_for_settings(managed)
    assert isinstance(work, RabbitmqManagementStats)
    redis_broker = Settings(broker="redis", redis_url="redis://127.0.0.1:6379/0")
    work, commands = stats_for_settings(redis_broker)
    assert isinstance(work, RedisStats)
    assert commands is None
    assert stats_for_settings(Settings()) == (None, None)
    assert queue_stats._vhost("amqp://h/tenant%2Fa") == "tenant/a"
