"""The Dramatiq broker, built from settings by an explicit call, with the actors on it.

``DC_BROKER`` picks it: ``rabbitmq`` (production default when ``DC_RABBITMQ_URL`` is
set; publisher confirms on), ``redis`` (``DC_REDIS_URL``) or ``memory`` (Dramatiq's
``StubBroker``, the embedded default: a real ``Worker`` runs it inside the web process,
``workers/embedded.py``). Nothing is built at import: ``dramatiq workers.broker:setup
workers`` (Dramatiq's CLI calls a ``module:callable`` broker argument, then takes
``dramatiq.get_broker()``) and the composition root (``control/cli``) call
:func:`setup`, which sets the broker globally and then declares every actor on it, so
no actor lands on the broker ``dramatiq.get_broker()`` would otherwise invent.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
from workers.actors import declare
from workers.dead_letters import DeadLetters

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3  # actors set their own; this is for one that forgets
DEFAULT_MIN_BACKOFF_MS = 1_000
DEFAULT_MAX_BACKOFF_MS = 5 * 60_000
DEFAULT_TIME_LIMIT_MS = 5 * 60_000
# pika's defaults wait forever on a RabbitMQ memory/disk alarm (connection.blocked): a
# send then hangs in the web process, the scheduler and worker retries. Raise instead
# after BLOCKED_TIMEOUT_SECONDS (Dramatiq's enqueue tries 6 times: ~1 min in all; the
# web process answers 503 sooner, web/concurrency.py); heartbeats find a dead peer
# within ~2 intervals.
HEARTBEAT_SECONDS = 30
BLOCKED_TIMEOUT_SECONDS = 10


class DatabaseBinding(Middleware):
    """Binds the database when a worker boots in a process that has not (``dramatiq``),
    with the worker's statement and lock timeouts (PostgreSQL)."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from control.db.database import WORKER_SESSION, database, init_database

        if database.obj is None:
            init_database(get_settings().database_url, session_options=WORKER_SESSION)


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


def rabbitmq_url(url: str) -> str:
    """``url`` with a heartbeat and a blocked-connection timeout, unless it sets them."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("heartbeat", str(HEARTBEAT_SECONDS))
    query.setdefault("blocked_connection_timeout", str(BLOCKED_TIMEOUT_SECONDS))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_broker(settings: Settings) -> dramatiq.Broker:
    """The broker ``settings`` name (not installed, not connected)."""
    kind = settings.broker or ("rabbitmq" if settings.rabbitmq_url else "memory")
    if kind == "rabbitmq":
        return RabbitmqBroker(
            url=rabbitmq_url(settings.rabbitmq_url or ""),
            middleware=middleware(),
            confirm_delivery=True,
        )
    if kind == "redis":
        # dramatiq's RedisBroker.__init__ is untyped
        return RedisBroker(url=settings.redis_url, middleware=middleware())  # type: ignore[no-untyped-call]
    return StubBroker(middleware=middleware())


def is_in_process(broker: dramatiq.Broker) -> bool:
    """Whether ``broker`` lives in this process only (no worker elsewhere can see it)."""
    return isinstance(broker, StubBroker)


def setup(settings: Settings | None = None) -> dramatiq.Broker:
    """Build the broker from ``settings`` (the environment's), make it the global one and
    declare every actor on it; the broker."""

    settings = settings or get_settings()
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    declare(broker, settings)
    log.debug("dramatiq broker: %s", type(broker).__name__)
    return broker
