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

from control.errors import ConfigurationError
from control.notifications.interfaces import DeliveryFailedPermanently
from control.scheduler.jobs import periodic_jobs
from control.settings import load_settings
from control.tasks import actors
from workers import broker as broker_module
from workers.dead_letters import DeadLetters
from workers.embedded import EmbeddedWorker, embedded_middleware


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
    # an alarm (connection.blocked) raises instead of blocking a send for ever
    assert params.blocked_connection_timeout == broker_module.BLOCKED_TIMEOUT_SECONDS
    assert params.heartbeat == broker_module.HEARTBEAT_SECONDS


def test_the_url_s_own_heartbeat_and_blocked_timeout_win():
    url = broker_module.rabbitmq_url("amqp://h/%2F?heartbeat=5&blocked_connection_timeout=3")
    assert url == "amqp://h/%2F?heartbeat=5&blocked_connection_timeout=3"


@pytest.mark.services
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_worker_connections_carry_statement_and_lock_timeouts(db, postgresql_url):
    from control.db.database import WORKER_SESSION, connect_url

    worker_db = connect_url(postgresql_url, session_options=WORKER_SESSION)
    try:
        with worker_db.connection_context():
            shown = [
                worker_db.execute_sql(f"SHOW {name}").fetchone()[0]
                for name in ("statement_timeout", "lock_timeout", "jit")
            ]
    finally:
        worker_db.close_all()
    assert shown == ["1min", "10s", "off"]


@pytest.mark.services
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_every_connection_runs_without_jit_and_with_the_ssd_page_cost(db, postgresql_url):
    """The server's defaults: JIT (on) compiles costly short statements, 80-135 ms a
    page; random_page_cost 4 made one app's log search walk the fleet's (40-260 ms)."""
    from control.db.database import connect_url

    api_db = connect_url(postgresql_url)
    try:
        with api_db.connection_context():
            shown = [
                api_db.execute_sql(f"SHOW {name}").fetchone()[0]
                for name in ("jit", "random_page_cost")
            ]
    finally:
        api_db.close_all()
    assert shown == ["off", "1.1"]


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


def test_setup_sets_the_global_broker_and_declares_every_actor_on_it(stub_broker):
    assert dramatiq.get_broker() is stub_broker
    assert isinstance(stub_broker, StubBroker)
    assert set(stub_broker.get_declared_actors()) == set(actors.ALL)
    send_notification = stub_broker.get_actor("send_notification")
    assert send_notification.broker is stub_broker
    options = send_notification.options
    assert options["max_retries"] == 5
    assert options["time_limit"] == 30_000
    assert options["max_backoff"] == 60_000
    assert options["throws"] == (DeliveryFailedPermanently,)
    assert send_notification.queue_name == "notifications"


def test_the_embedded_worker_is_only_there_for_the_in_process_broker():
    stub = broker_module.build_broker(settings())
    assert [type(m) for m in embedded_middleware(settings(), stub)] == [EmbeddedWorker]
    rabbitmq = RabbitmqBroker(url="amqp://127.0.0.1:1/")
    assert embedded_middleware(settings(), rabbitmq) == []


def test_the_embedded_worker_runs_actors_between_startup_and_shutdown():
    stub = StubBroker(middleware=broker_module.middleware())
    done = threading.Event()

    @dramatiq.actor(broker=stub, queue_name="embedded_test", max_retries=0)
    def mark() -> None:
        done.set()

    lifecycle = EmbeddedWorker(settings(schedule_metrics_seconds=7), stub, worker_timeout=50)
    asyncio.run(lifecycle.process_startup({}, {}))
    try:
        assert lifecycle.worker is not None
        mark.send()
        assert done.wait(5)
        # the scheduler's periodic jobs run in the web process too, on the same broker
        assert lifecycle.scheduler is not None
        scheduled = {job.id for job in lifecycle.scheduler.schedule().get_jobs()}
        assert scheduled == {job.name for job in periodic_jobs(settings())}
        # with the intervals of the settings it was given, not the environment's
        assert {job.name: job.interval for job in lifecycle.scheduler.jobs}["metrics"] == 7
    finally:
        asyncio.run(lifecycle.process_shutdown({}, {}))
    assert lifecycle.worker is None
    assert lifecycle.scheduler is None


def test_every_scheduled_job_names_an_actor_on_its_queue(stub_broker):
    # the scheduler sends by name without importing the actors: a typo would be silent
    for job in periodic_jobs(load_settings()):
        actor = stub_broker.get_actor(job.actor)
        assert actor.queue_name == job.queue, job.name


def test_every_named_actor_is_declared_on_its_queue(stub_broker):
    for ref in actors.ALL.values():
        assert stub_broker.get_actor(ref.name).queue_name == ref.queue, ref.name
