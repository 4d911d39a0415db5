"""The Dramatiq broker, built from settings and installed before any actor exists.

``DC_BROKER`` picks it: ``rabbitmq`` (production default when ``DC_RABBITMQ_URL`` is
set; publisher confirms on), ``redis`` (``DC_REDIS_URL``) or ``memory`` (Dramatiq's
``StubBroker``, the embedded default: a real ``Worker`` runs it inside the web process,
``workers/embedded.py``). Importing ``workers`` runs :func:`setup` first, so an actor
never lands on the broker ``dramatiq.get_broker()`` would otherwise invent.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from control.settings import Settings, get_settings
from workers.dead_letters import DeadLetters

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3  # actors set their own; this is for one that forgets
DEFAULT_MIN_BACKOFF_MS = 1_000
DEFAULT_MAX_BACKOFF_MS = 5 * 60_000
DEFAULT_TIME_LIMIT_MS = 5 * 60_000


class DatabaseBinding(Middleware):
    """Binds the database when a worker boots in a process that has not (``dramatiq``)."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from control.db.database import database, init_database

        if database.obj is None:
            init_database(get_settings().database_url)


def middleware() -> list[Middleware]:
    """Dramatiq's defaults, ours, in an order that matters: ``DeadLetters`` is listed
    before ``Retries`` so that, hooks running in reverse after processing, it sees the
    message ``Retries`` has just failed."""
    return [
        DatabaseBinding(),
        AgeLimit(),
        TimeLimit(time_limit=DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        DeadLetters(),
        Retries(
            max_retries=DEFAULT_MAX_RETRIES,
            min_backoff=DEFAULT_MIN_BACKOFF_MS,
            max_backoff=DEFAULT_MAX_BACKOFF_MS,
        ),
        CurrentMessage(),
    ]


def build_broker(settings: Settings) -> dramatiq.Broker:
    """The broker ``settings`` name (not installed, not connected)."""
    kind = settings.broker or ("rabbitmq" if settings.rabbitmq_url else "memory")
    if kind == "rabbitmq":
        return RabbitmqBroker(
            url=settings.rabbitmq_url, middleware=middleware(), confirm_delivery=True
        )
    if kind == "redis":
        return RedisBroker(url=settings.redis_url, middleware=middleware())
    return StubBroker(middleware=middleware())


def is_in_process(broker: dramatiq.Broker) -> bool:
    """Whether ``broker`` lives in this process only (no worker elsewhere can see it)."""
    return isinstance(broker, StubBroker)


def setup(settings: Settings | None = None) -> dramatiq.Broker:
    """Build the broker from ``settings`` (the environment's) and make it the global one."""
    broker = build_broker(settings or get_settings())
    dramatiq.set_broker(broker)
    log.debug("dramatiq broker: %s", type(broker).__name__)
    return broker


broker = setup()
