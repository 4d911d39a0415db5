"""One database proxy for the whole process, bound from ``DC_DATABASE_URL``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from control.errors import ConfigurationError

log = logging.getLogger(__name__)

database = DatabaseProxy()

# WAL lets the web process read while a worker or the agent writes; a busy timeout turns
# short lock waits into waits instead of "database is locked" errors.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
}


def connect_url(url: str) -> Database:
    """Build (without connecting) the peewee database a URL names."""
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        # sqlite:///relative/file and sqlite:////absolute/file, as SQLAlchemy reads them
        path = path.removeprefix("/")
        if path not in ("", ":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if scheme in ("postgresql", "postgres"):
        # Pooled: the API opens a connection context per request.
        return PooledPostgresqlDatabase(
            unquote(parsed.path.lstrip("/")),
            max_connections=32,
            stale_timeout=300,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
        )
    if scheme == "mssql":
        from control.db.dialects.mssql import MSSQLDatabase

        return MSSQLDatabase.from_url(url)
    raise ConfigurationError(f"DC_DATABASE_URL: unsupported scheme {scheme!r}")


def init_database(url: str) -> Database:
    """Bind the process-wide proxy to the database at ``url`` and return it."""
    db = connect_url(url)
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
    is locked" when another writer committed in between; IMMEDIATE waits its turn.
    """
    if dialect() == "sqlite":
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()
