"""``dcctl queues``: messages dead in the broker's own ``.XQ`` are counted and replayed.

A message that failed for good while the database was down never reached the
``dead_job`` table; it is only in ``<queue>.XQ`` (RabbitMQ) or the dead-letter set
(Redis). Here real messages die on the real brokers, ``dcctl queues dead`` counts them
and ``dcctl queues replay`` sends them again, with a fresh retry count.
"""

from __future__ import annotations

import dramatiq
import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest

from control.cli import cli
from control.settings import get_settings
from control.system.prometheus import sample_value
from control.system.queues import (
    DeadLetterCollector,
    DeadLetterQueues,
    RabbitmqDeadLetters,
    for_settings,
)
from tests.conftest import RABBITMQ_URL, REDIS_BROKER_URL
from tests.waiting import wait_until

pytestmark = pytest.mark.services


def test_dead_messages_are_counted_and_replayed(real_broker, monkeypatch):
    broker, queue = real_broker
    kind = "rabbitmq" if "Rabbitmq" in type(broker).__name__ else "redis"
    monkeypatch.setenv("DC_BROKER", kind)
    monkeypatch.setenv("DC_RABBITMQ_URL", RABBITMQ_URL)
    monkeypatch.setenv("DC_REDIS_URL", REDIS_BROKER_URL)
    get_settings.cache_clear()
    calls: list[tuple[str, int]] = []
    failing = {"yes": True}

    def fetch(name: str) -> None:
        calls.append((name, len(calls)))
        if failing["yes"]:
            raise RuntimeError("the database is down")

    actor = dramatiq.actor(
        fetch, actor_name="dc_test_fetch", broker=broker, queue_name=queue, max_retries=0
    )
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    runner = CliRunner()
    try:
        actor.send("a")
        actor.send("b")
        assert wait_until(lambda: len(calls) == 2, 20)

        def depth() -> str:
            return runner.invoke(cli, ["queues", "dead", queue]).output.strip()

        assert wait_until(lambda: depth() == f"{queue}.XQ\t2", 10), depth()
        assert scraped(for_settings(get_settings()), queue) == (2.0, 1.0)
        failing["yes"] = False
        replayed = runner.invoke(cli, ["queues", "replay", queue])
        assert replayed.exit_code == 0, replayed.output
        assert replayed.output.strip() == f"replayed 2 message(s) from {queue}.XQ to {queue}"
        assert wait_until(lambda: len(calls) == 4, 20)
        assert sorted(name for name, _ in calls[2:]) == ["a", "b"]
        assert depth() == f"{queue}.XQ\t0"
    finally:
        worker.stop()
        get_settings.cache_clear()


def scraped(queues: DeadLetterQueues | None, queue: str) -> tuple[float | None, float | None]:
    """(dc_dead_letter_messages{queue}, dc_dead_letters_up) as a scrape shows them."""
    assert queues is not None
    registry = CollectorRegistry()
    registry.register(DeadLetterCollector(queues, names=[queue]))
    text = generate_latest(registry).decode()
    return (
        sample_value(text, "dc_dead_letter_messages", {"queue": queue}),
        sample_value(text, "dc_dead_letters_up"),
    )


def test_a_broker_that_cannot_be_read_is_a_zero_up_gauge_not_an_error():
    unreachable = RabbitmqDeadLetters("amqp://guest:guest@127.0.0.1:1/%2F")
    assert scraped(unreachable, "bulk") == (None, 0.0)


def test_without_a_broker_there_is_no_dead_letter_queue(monkeypatch):
    monkeypatch.setenv("DC_BROKER", "memory")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["queues", "dead"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "in-process broker keeps no dead-letter queue" in result.output
