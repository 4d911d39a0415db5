"""One database proxy for the whole process, bound from ``DC_DATABASE_URL``."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from peewee import (
    Database,
    DatabaseProxy,
    Model,
    ModelSelect,
    PostgresqlDatabase,
    SqliteDatabase,
)

from control.db import sqlite
from control.db.pool import PooledPostgres
from control.errors import ConfigurationError

log = logging.getLogger(__name__)

database = DatabaseProxy()

# WAL lets the web process read while a worker or the agent writes; a busy timeout turns
# short lock waits into waits instead of "database is locked" errors.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": sqlite.BUSY_TIMEOUT_MS,
    "synchronous": "normal",
}


# Every PostgreSQL connection: no JIT compilation. The product's statements are short
# (a page, a count, a rollup hour); JIT's compile time went to planner cost estimates,
# not run time: 80-135 ms added to a 10,000-app list sorted by "Last run" that runs in
# less (bench/fleet_scale.py). PostgreSQL's docs: JIT pays off for long analytical queries.
# And random_page_cost 1.1, the usual value for SSDs and data in memory, instead of the
# default 4 (spinning disks): with 4 the planner searched one app's logs by walking the
# whole fleet's newest rows (the time index, in heap order) rather than the app's own
# rows (its index, scattered in the heap): 40-260 ms instead of 3-7 ms on 10,000,000
# records (bench/fleet_scale.py, "logs search+app").
SESSION = "-c jit=off -c random_page_cost=1.1"

# Worker connections (PostgreSQL): a statement stuck on a lock or a huge scan ends well
# inside its actor's time limit, instead of outliving it and holding locks.
WORKER_STATEMENT_TIMEOUT_MS = 60_000
WORKER_LOCK_TIMEOUT_MS = 10_000
WORKER_SESSION = (
    f"-c statement_timeout={WORKER_STATEMENT_TIMEOUT_MS} -c lock_timeout={WORKER_LOCK_TIMEOUT_MS}"
)


def connect_url(url: str, *, session_options: str | None = None) -> Database:
    """Build (without connecting) the peewee database a URL names; on PostgreSQL,
    :data:`SESSION` and ``session_options`` (its ``options``, e.g. :data:`WORKER_SESSION`)
    set on each connection."""
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        # sqlite:///relative/file and sqlite:////absolute/file, as SQLAlchemy reads them
        path = path.removeprefix("/")
        if path not in ("", ":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite.TurnTakingSqlite(
            path or ":memory:", pragmas=SQLITE_PRAGMAS, check_same_thread=False
        )
    if scheme in ("postgresql", "postgres"):
        # Pooled: the API opens a connection context per request; no ping per checkout
        # of a connection that was in use a moment ago (control/db/pool.py).
        pooled: Database = PooledPostgres(
            unquote(parsed.path.lstrip("/")),
            max_connections=32,
            stale_timeout=300,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
            options=f"{SESSION} {session_options}" if session_options else SESSION,
        )
        return pooled
    if scheme == "mssql":
        from control.db.dialects.mssql import MSSQLDatabase

        return MSSQLDatabase.from_url(url)
    raise ConfigurationError(f"DC_DATABASE_URL: unsupported scheme {scheme!r}")


def init_database(url: str, *, session_options: str | None = None) -> Database:
    """Bind the process-wide proxy to the database at ``url`` and return it."""
    db = connect_url(url, session_options=session_options)
    database.initialize(db)
    return db


def dialect(db: Database | None = None) -> str:
    """'sqlite', 'postgresql' or 'mssql' for the bound database."""
    target = db if db is not None else database.obj
    if isinstance(target, SqliteDatabase):
        return "sqlite"
    if isinstance(target, PostgresqlDatabase):
        return "postgresql"
    return "mssql"


@contextlib.contextmanager
def connected() -> Iterator[None]:
    """A connection for the block, reusing the thread's open one (and its transaction)."""
    if database.is_closed():
        with database.connection_context():
            yield
    else:
        yield


def write_transaction() -> Any:
    """A transaction that takes the write lock up front on SQLite (``BEGIN IMMEDIATE``).

    A deferred SQLite transaction that reads and then writes fails at once with "database
    is locked" when another writer committed in between; IMMEDIATE waits its turn
    (control/db/sqlite.py).
    """
    if dialect() == "sqlite":
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()


def give_writers_a_turn() -> None:
    """Between two transactions of a long writer (a bulk job's chunks, retention's
    batches): on SQLite, leave the write lock free long enough for a waiting writer to
    take it (control/db/sqlite.py)."""
    if dialect() == "sqlite":
        time.sleep(sqlite.TURN_SECONDS)


_Row = TypeVar("_Row", bound=Model)


def locking(query: ModelSelect[_Row]) -> ModelSelect[_Row]:
    """``SELECT ... FOR UPDATE`` where the dialect has it (SQLite serialises writers)."""
    return query.for_update() if dialect() == "postgresql" else query
