"""Blocking work off the event loop: database calls, and sends to the broker.

peewee is synchronous and the API is ASGI, so database calls run in worker threads
(``run_db``). Sends to the broker run on an executor of their OWN (``run_send``): a
RabbitMQ under a memory or disk alarm blocks publishers, and a send stuck there must
not take the threads that database calls (every read) need. A send also has a deadline:
past it the caller answers 503 and the work stays queued in the database for the
sweep, while the stuck thread waits for the broker's blocked-connection timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from peewee import PeeweeException

from control.db.database import database
from control.errors import ControlError, Unavailable

P = ParamSpec("P")
T = TypeVar("T")


def _in_connection(call: Callable[[], T]) -> T:
    # A connection for the duration of the call, then back to the pool (PostgreSQL) or
    # closed (SQLite), so idle threads never hold connections.
    with database.connection_context():
        return call()


async def run_db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking service call in a worker thread with its own DB connection."""
    return await asyncio.to_thread(_in_connection, functools.partial(fn, *args, **kwargs))


SEND_TIMEOUT_SECONDS = 5.0  # a bulk POST answers within this, 202 or 503
_senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="broker-send")


async def run_send(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a send to the broker on the senders' executor; Unavailable when the broker
    refuses it or does not take it within ``SEND_TIMEOUT_SECONDS``."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_senders, functools.partial(fn, *args, **kwargs))
    try:
        return await asyncio.wait_for(future, SEND_TIMEOUT_SECONDS)
    except TimeoutError:
        raise Unavailable("The message broker is not taking messages now.") from None
    except ControlError:
        raise  # the service's own answer (NotFound, Conflict, Unavailable…)
    except PeeweeException:
        raise  # the database's: the app's handler answers 503 for it
    except Exception as exc:
        raise Unavailable("The message broker is unreachable.") from exc


async def run_send_db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``run_send`` for a call that also needs a database connection (a requeue that
    stamps a row, then sends)."""
    return await run_send(_in_connection, functools.partial(fn, *args, **kwargs))
