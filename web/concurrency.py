"""Blocking work off the event loop: database calls, and sends to the broker.

peewee is synchronous and the API is ASGI, so database calls run in worker threads
(``run_db``, on :class:`DatabaseThreads`). Sends to the broker run on an executor of
their OWN (``run_send``): a RabbitMQ under a memory or disk alarm blocks publishers,
and a send stuck there must not take the threads that database calls (every read)
need. A send also has a deadline: past it the caller answers 503 and the work stays
queued in the database for the sweep, while the stuck thread waits for the broker's
blocked-connection timeout.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import contextvars
import functools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar, cast

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


# the loop that awaits, its future of the result, the caller's context, the call
_Call = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[[], Any]
]


_WAIT = object()  # a thread that went idle: its next call comes in its own queue


class DatabaseThreads:
    """Worker threads for the database calls of the event loop: what ``asyncio.to_thread``
    does, with less bookkeeping per call (a list request makes one), and the call given
    to the thread that went idle last.

    A call goes to an idle thread's own ``SimpleQueue`` with the asyncio future that
    awaits it (or, all threads busy, to a queue of pending calls that the threads take
    before going idle), and its result is set on that future from the loop
    (``call_soon_threadsafe``). ``asyncio.to_thread`` passes it through a
    ``concurrent.futures.Future`` (a ``threading.Condition`` each) chained to an asyncio
    future, and its executor's work-item bookkeeping. The idle threads are a stack: the
    most recently used one takes the next call, so that a light load keeps one thread
    busy and its CPU's caches warm, instead of waking each thread in turn
    (bench/RESULTS.md, apps_list: 0.1 ms of CPU a request at concurrency 1). The call
    runs in a copy of the caller's context (the request id of the log lines), as there.
    The threads, as many as the loop's default executor has (``min(32, CPUs + 4)``),
    start with the first call and stop at exit, after the calls already queued.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[_Call | None]] = []  # the last to go idle on top
        self._pending: collections.deque[_Call] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def run(self, call: Callable[[], T]) -> asyncio.Future[T]:
        """``call()`` in a worker thread; the future of its result, on the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        item: _Call = (loop, future, contextvars.copy_context(), call)
        with self._lock:
            if self._idle:
                self._idle.pop().put(item)
                return future
            self._pending.append(item)
            if not self._threads:
                self._start()
        return future

    def _start(self) -> None:
        # under self._lock
        self._stopping = False
        for number in range(self.size):
            thread = threading.Thread(target=self._work, name=f"database-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        atexit.register(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the threads finish the queued calls, then end them."""
        with self._lock:
            self._stopping = True
            idle, self._idle = self._idle, []
            threads, self._threads = self._threads, []
        for slot in idle:
            slot.put(None)
        for thread in threads:
            thread.join(timeout)

    def _ready(self, slot: queue.SimpleQueue[_Call | None]) -> _Call | object | None:
        """A pending call; else the thread on top of the idle stack (:data:`_WAIT`: its
        next call comes in ``slot``); None once stopped."""
        with self._lock:
            if self._pending:
                return self._pending.popleft()
            if self._stopping:
                return None
            self._idle.append(slot)
            return _WAIT

    def _work(self) -> None:
        slot: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        ready = self._ready(slot)
        while (item := slot.get() if ready is _WAIT else cast("_Call | None", ready)) is not None:
            loop, future, context, call = item
            try:
                outcome: tuple[Any, Any] = (_succeeded, context.run(call))
            except BaseException as exc:  # noqa: BLE001  # raised in the awaiting request, as with to_thread
                outcome = (_failed, exc)
            # idle again before the answer wakes the loop: its next call finds this
            # thread on top of the stack
            ready = self._ready(slot)
            self._settle(loop, future, *outcome)
            del item, loop, future, context, call, outcome  # no reference kept while idle

    @staticmethod
    def _settle(
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        settle: Callable[[asyncio.Future[Any], Any], None],
        value: Any,
    ) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody awaits it
            loop.call_soon_threadsafe(settle, future, value)


def _succeeded(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the request may have been cancelled meanwhile
        future.set_result(result)


def _failed(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_database_threads = DatabaseThreads(min(32, (os.cpu_count() or 1) + 4))


async def run_db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking service call in a worker thread with its own DB connection."""
    return await _database_threads.run(
        functools.partial(_in_connection, functools.partial(fn, *args, **kwargs))
    )


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
