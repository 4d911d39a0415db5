"""The broker chosen by settings, its middleware, and the embedded worker's lifecycle.

Brokers are built, not connected: RabbitMQ and Redis connect lazily, so the URLs they
would use are checked on the objects.
"""

from __future__ import annotations

import asyncio
import threading

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Retries, TimeLimit

import workers  # noqa: F401 - declares every actor on the process-wide broker
from control.errors import ConfigurationError
from control.notifications.interfaces import DeliveryFailedPermanently
from control.scheduler.jobs import periodic_jobs
from control.settings import load_settings
from workers import broker as broker_module
from workers.dead_letters import DeadLetters
from workers.embedded import EmbeddedWorker, embedded_middleware
from workers.notifications import send_notification


def settings(**overrides):
    return load_settings(**{"rabbitmq_url": None, "redis_url": None, **overrides})


def test_no_urls_means_the_in_process_broker():
    chosen = settings()
    assert chosen.broker == "memory"
    built = broker_module.build_broker(chosen)
    assert isinstance(built, StubBroker)
    assert broker_module.is_in_process(built)


def test_a_rabbitmq_url_means_rabbitmq_with_publisher_confirms():
    chosen = settings(rabbitmq_url="amqp://dc:pw@rabbit.internal:5673/dc-vhost")
    assert chosen.broker == "rabbitmq"
    built = broker_module.build_broker(chosen)
    assert isinstance(built, RabbitmqBroker)
    assert built.confirm_delivery is True
    params = built.parameters
    assert (params.host, params.port, params.virtual_host) == ("rabbit.internal", 5673, "dc-vhost")
    assert params.credentials.username == "dc"
    assert not broker_module.is_in_process(built)


def test_redis_when_asked_for():
    chosen = settings(broker="redis", redis_url="redis://cache.internal:6380/3")
    built = broker_module.build_broker(chosen)
    assert isinstance(built, RedisBroker)
    kwargs = built.client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.internal", 6380, 3)


def test_redis_wins_over_a_rabbitmq_url_when_chosen():
    chosen = settings(broker="redis", redis_url="redis://r:6379/0", rabbitmq_url="amqp://x/")
    assert isinstance(broker_module.build_broker(chosen), RedisBroker)


def test_memory_can_be_forced_beside_urls():
    chosen = settings(broker="memory", rabbitmq_url="amqp://x/")
    assert isinstance(broker_module.build_broker(chosen), StubBroker)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"broker": "redis"}, "DC_BROKER=redis needs DC_REDIS_URL"),
        ({"broker": "rabbitmq"}, "DC_BROKER=rabbitmq needs DC_RABBITMQ_URL"),
        ({"broker": "kafka"}, "DC_BROKER"),
    ],
)
def test_a_broker_without_its_url_fails_at_start(overrides, message):
    with pytest.raises(ConfigurationError, match=message):
        settings(**overrides)


def test_dead_letters_sit_before_retries_so_they_see_its_verdict():
    names = [type(m) for m in broker_module.middleware()]
    assert names.index(DeadLetters) < names.index(Retries)
    assert CurrentMessage in names
    assert TimeLimit in names


def test_the_global_broker_is_set_before_the_actors():
    # in tests no URL is set: the process-wide broker is the in-process one
    assert dramatiq.get_broker() is broker_module.broker
    assert isinstance(broker_module.broker, StubBroker)
    assert send_notification.broker is broker_module.broker
    options = send_notification.options
    assert options["max_retries"] == 5
    assert options["time_limit"] == 30_000
    assert options["max_backoff"] == 60_000
    assert options["throws"] == (DeliveryFailedPermanently,)
    assert send_notification.queue_name == "notifications"


def test_the_embedded_worker_is_only_there_for_the_in_process_broker(monkeypatch):
    assert [type(m) for m in embedded_middleware(settings())] == [EmbeddedWorker]
    monkeypatch.setattr(broker_module, "broker", RabbitmqBroker(url="amqp://127.0.0.1:1/"))
    import workers.embedded as embedded

    monkeypatch.setattr(embedded, "default_broker", broker_module.broker)
    assert embedded_middleware(settings()) == []


def test_the_embedded_worker_runs_actors_between_startup_and_shutdown():
    stub = StubBroker(middleware=broker_module.middleware())
    done = threading.Event()

    @dramatiq.actor(broker=stub, queue_name="embedded_test", max_retries=0)
    def mark() -> None:
        done.set()

    lifecycle = EmbeddedWorker(settings(), broker=stub, worker_timeout=50)
    asyncio.run(lifecycle.process_startup({}, {}))
    try:
        assert lifecycle.worker is not None
        mark.send()
        assert done.wait(5)
        # the scheduler's periodic jobs run in the web process too, on the same broker
        assert lifecycle.scheduler is not None
        scheduled = {job.id for job in lifecycle.scheduler.schedule().get_jobs()}
        assert scheduled == {job.name for job in periodic_jobs(settings())}
    finally:
        asyncio.run(lifecycle.process_shutdown({}, {}))
    assert lifecycle.worker is None
    assert lifecycle.scheduler is None


def test_every_scheduled_job_names_an_actor_on_its_queue():
    # the scheduler sends by name without importing the actors: a typo would be silent
    for job in periodic_jobs(load_settings()):
        actor = broker_module.broker.get_actor(job.actor)
        assert actor.queue_name == job.queue, job.name
