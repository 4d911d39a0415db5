"""Database work off the event loop: peewee is synchronous, the API is ASGI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from control.db.database import database

P = ParamSpec("P")
T = TypeVar("T")


def _in_connection(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # A connection for the duration of the call, then back to the pool (PostgreSQL) or
    # closed (SQLite), so idle threads never hold connections.
    with database.connection_context():
        return fn(*args, **kwargs)


async def run_db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking service call in a worker thread with its own DB connection."""
    return await asyncio.to_thread(_in_connection, fn, *args, **kwargs)
