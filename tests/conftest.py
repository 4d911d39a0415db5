"""Shared fixtures: settings for tests, and a migrated database on SQLite and PostgreSQL.

Tests marked with the ``db`` fixture run twice: against a SQLite file and against the
real PostgreSQL server (``DC_TEST_POSTGRES_URL``, default the local trust-auth server).

A socket or file a test leaves open is reported (``ResourceWarning``, an error here) when
the garbage collector frees it, which may be many tests later. ``DC_TEST_GC_EACH=1``
collects after every test, so the report lands on the setup of the test right after the
leaker (slower; for hunting leaks, not for every run).
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import psycopg2
import pytest
from peewee import Database

TEST_SECRET = "test-signing-secret-0123456789-abcdefghijklmnop"
os.environ.setdefault("DC_JWT_SECRET", TEST_SECRET)
os.environ.setdefault("DC_ENVIRONMENT", "test")
# In-process apps under test skip the embedded relay/agent/worker unless a test asks for
# them (live servers started by tests/live_server.py get a clean environment and run them).
os.environ.setdefault("DC_EMBEDDED_BACKGROUND", "false")
os.environ.pop("DC_ENV_FILE", None)

from control.db import migrate  # noqa: E402
from control.db.database import database, init_database  # noqa: E402
from control.db.registry import all_models  # noqa: E402
from control.settings import Settings, load_settings  # noqa: E402

POSTGRES_URL = os.environ.get(
    "DC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS_BROKER_URL = "redis://127.0.0.1:6379/0"


def _admin_connection() -> psycopg2.extensions.connection:
    parsed = urlparse(POSTGRES_URL)
    conn = psycopg2.connect(
        dbname=parsed.path.lstrip("/") or "postgres",
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped after."""
    name = f"dc_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_connection()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(POSTGRES_URL)
    url = parsed._replace(path=f"/{name}").geturl()
    yield url
    if not database.is_closed():
        database.close()
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db')}/test.sqlite3"


_migrated: dict[str, Database] = {}


def _bind(url: str) -> Database:
    if url not in _migrated:
        db = init_database(url)
        migrate.upgrade(db)
        db.close()
        _migrated[url] = db
    database.initialize(_migrated[url])
    return _migrated[url]


def _empty_tables(db: Database) -> None:
    with db.connection_context():
        for model in reversed(all_models()):
            model.delete().execute()


def _emptied(url: str) -> Iterator[Database]:
    """The migrated database of ``url`` bound to the models, empty; closed and emptied
    after the test."""
    bound = _bind(url)
    _empty_tables(bound)
    yield bound
    if not bound.is_closed():
        bound.close()
    _empty_tables(bound)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database bound to the models: SQLite, then PostgreSQL."""
    yield from _emptied(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """The SQLite database only, for tests about the embedded default."""
    bound = _bind(sqlite_url)
    _empty_tables(bound)
    yield bound
    _empty_tables(bound)


@pytest.fixture
def postgresql_db(postgresql_url: str) -> Iterator[Database]:
    """The PostgreSQL database only, for what only PostgreSQL has (time partitions); a
    test using it carries the ``postgres`` mark."""
    yield from _emptied(postgresql_url)


@pytest.fixture
def settings(db: Database) -> Settings:
    """Settings for an app built on the bound test database.

    Rate limits are raised so that tests about other things are not throttled; the rate
    limit tests build their own settings.
    """
    return load_settings(
        environment="test", rate_limit_per_minute=100_000, auth_rate_limit_per_minute=100_000
    )


@pytest.fixture(scope="session")
def stub_broker() -> Any:
    """The in-process broker set up as a worker process sets its broker up
    (``workers.broker.setup``): the global one, every actor declared on it."""
    from workers.broker import setup

    return setup(load_settings(broker="memory"))


@pytest.fixture
def stub_tasks(stub_broker: Any) -> Any:
    """A task queue on :func:`stub_broker`, as the composition root hands the API one."""
    from control.tasks.dramatiq import DramatiqTaskQueue

    stub_broker.flush_all()
    return DramatiqTaskQueue(stub_broker)


@pytest.fixture(params=["rabbitmq", "redis"])
def real_broker(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """A Dramatiq broker on the real RabbitMQ, then the real Redis, and a queue name of
    the test's own (declare the actor on it): nothing else consumes its messages."""
    from workers.broker import build_broker

    kind = request.param
    broker = build_broker(
        load_settings(broker=kind, rabbitmq_url=RABBITMQ_URL, redis_url=REDIS_BROKER_URL)
    )
    queue = f"dc_test_bulk_{uuid.uuid4().hex[:10]}"
    yield broker, queue
    if kind == "rabbitmq":
        channel = broker.channel
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    else:
        broker.flush(queue)
    broker.close()


if os.environ.get("DC_TEST_GC_EACH") == "1":

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        yield
        gc.collect()
