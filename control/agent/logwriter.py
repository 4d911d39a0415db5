"""App log records to the ``Logs`` table in batches, and to ``log.entry`` events.

``LogBatcher`` buffers rows from every run of an agent; a batch is written when it
reaches ``batch_size`` rows or when its oldest row is ``interval`` seconds old. Once
started, its background thread writes a full batch while the logging threads fill the
next ones (the database and the app work at the same time), and then takes everything
that waits as one batch: the busier the database, the larger the batches and the fewer
the statements and commits. When ``max_ahead`` rows wait, the thread that added the
last waits until the writer takes them (or, the writer failing or stuck, writes them
itself), which slows a chatty app down instead of growing the buffer. Not started,
the thread that fills a batch writes it. Each written row is then published as a
``log.entry`` event with its id (the batch's events handed to the bus in one call, see
:func:`control.events.publish.publish_many`). If the database is unreachable the rows
wait for the next attempt, up to ``max_buffer`` rows; beyond that the oldest are
dropped and counted.

``RunLogHandler`` is the ``logging.Handler`` of one run: it turns records into rows for
its app and runtime; ``RunLogger``, the run's logger, hands it plain records' rows
without making a ``LogRecord``.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from control.agent.bulk_insert import insert_rows
from control.db.database import connected
from control.events import EventType, publish, publish_many
from control.logs.models import Logs
from control.logs.services import level_name

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
DEFAULT_INTERVAL = 1.0
MAX_BUFFER = 100_000
MAX_AHEAD = 10_000  # rows the logging threads may be ahead of a busy writer before they wait
YIELD_EVERY = 32  # rows a logging thread adds between yields to a busy writer
WAIT_FOR_WRITER = 5.0  # s a logging thread waits for the background writer, at most
MODULE_MAX = 200
FUNCTION_MAX = 200


_COLUMNS = ("app", "runtime", "level", "module", "function", "message", "timestamp")


def insert_logs(rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one transaction (COPY on PostgreSQL); their ids, in order."""
    return insert_rows(Logs, _COLUMNS, rows)


_level_names: dict[int, str] = {}


def _level_name(level: int) -> str:
    # ``level_name`` goes through the LogLevel enum; a row's level is one of a handful
    name = _level_names.get(level)
    if name is None:
        name = _level_names[level] = level_name(level)
    return name


def log_entry(row_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """The ``log.entry`` event data of a written row (``control.logs.services.item``)."""
    return {
        "id": row_id,
        "app": row["app"],
        "runtime": row["runtime"],
        "level": _level_name(row["level"]),
        "level_no": row["level"],
        "module": row["module"],
        "function": row["function"],
        "message": row["message"],
        "timestamp": row["timestamp"],
    }


class LogBatcher:
    """Buffers log rows and writes them in batches (see the module docstring)."""

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH,
        interval: float = DEFAULT_INTERVAL,
        publish_events: bool = True,
        max_buffer: int = MAX_BUFFER,
        max_ahead: int = MAX_AHEAD,
        publisher: Callable[[EventType, dict[str, Any]], Any] = publish,
    ) -> None:
        self.batch_size = batch_size
        self.interval = interval
        self.publish_events = publish_events
        self.max_buffer = max_buffer
        self.max_ahead = max(max_ahead, 2 * batch_size)
        self._publish = publisher
        # the process's bus takes a batch's events in one call (each still delivered on
        # its own, in order); another publisher (a test's) gets them one by one
        self._publish_batch = publish_many if publisher is publish else None
        self.written = 0
        self.dropped = 0
        self._rows: list[dict[str, Any]] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # the writer took the buffer
        self._failing = False  # the last write failed
        self._writing = False  # a batch is on its way to the database
        self._write_lock = threading.Lock()  # batches go out in the order they filled
        self._stop = threading.Event()
        self._wake = threading.Event()  # a full batch for the background thread
        self._thread: threading.Thread | None = None

    def start(self) -> LogBatcher:
        """Start the thread that writes batches older than ``interval``."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dc-agent-logs", daemon=True)
            self._thread.start()
        return self

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row; write the batch now if it is full."""
        with self._lock:
            if not self._rows:
                self._oldest = time.monotonic()
            self._rows.append(row)
            pending = len(self._rows)
        if pending % YIELD_EVERY == 0 and self._writing:
            # Let the writer have the interpreter: back from the database it waits for the
            # GIL, up to the switch interval (5 ms) each time, while this thread logs on
            # and the database waits for its next statement (measured on a busy 2-core
            # machine: the ids' round trip took 17 ms a batch instead of 2-6)
            time.sleep(0)
        if pending < self.batch_size:
            return
        if self._thread is None:
            self.flush()
            return
        if not self._wake.is_set():  # once: the writer clears it before it takes rows
            self._wake.set()  # the background thread writes it while this one goes on
        if pending >= self.max_ahead and not self._wait_for_room():
            self.flush()

    def _wait_for_room(self) -> bool:
        """Two batches wait: pause until the background thread takes them.

        The logging thread goes on as soon as the writer has the buffer, so the app logs
        while the database takes the previous rows (writing them itself, it would wait
        for the earlier write and then for its own). False when the writer is failing,
        gone or still busy after ``WAIT_FOR_WRITER`` s: then the caller writes itself.
        """
        if threading.current_thread() is self._thread:  # logging from the writer itself
            return False
        deadline = time.monotonic() + WAIT_FOR_WRITER
        with self._room:
            while len(self._rows) >= self.max_ahead:
                left = deadline - time.monotonic()
                if left <= 0 or self._failing or self._thread is None:
                    return False
                self._room.wait(left)
        return True

    def flush(self) -> int:
        """Write what is buffered; the number of rows written (0 if the write failed)."""
        with self._write_lock:
            with self._lock:
                rows, self._rows = self._rows, []
                self._room.notify_all()
            if not rows:
                return 0
            try:
                self._writing = True
                ids = insert_logs(rows)
            except Exception:
                log.exception("could not write %s log rows; kept for the next try", len(rows))
                self._requeue(rows)
                return 0
            finally:
                self._writing = False
            self._failing = False
            self.written += len(rows)
        if self.publish_events:
            entries = [log_entry(row_id, row) for row_id, row in zip(ids, rows, strict=True)]
            if self._publish_batch is not None:
                self._publish_batch(EventType.LOG_ENTRY, entries)
            else:
                for entry in entries:
                    self._publish(EventType.LOG_ENTRY, entry)
        return len(rows)

    def _requeue(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            self._failing = True
            self._room.notify_all()  # a waiting logging thread writes (or drops) itself
            self._rows = rows + self._rows
            excess = len(self._rows) - self.max_buffer
            if excess > 0:
                del self._rows[:excess]
                self.dropped += excess
                log.warning("log buffer full: dropped the %s oldest rows", excess)
            self._oldest = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(min(0.25, self.interval))
            self._wake.clear()  # before looking: a batch filled after this wakes us again
            if self._stop.is_set():
                break
            with self._lock:
                full = len(self._rows) >= self.batch_size
                due = bool(self._rows) and time.monotonic() - self._oldest >= self.interval
            if full or due:
                # one connection for a burst of batches: no pool checkout (and its ping)
                # per batch; given back once no full batch waits (or a write failed)
                try:
                    with connected():
                        while self.flush() and self._full() and not self._stop.is_set():
                            pass
                except Exception:  # noqa: BLE001 - no connection: flush logs it, keeps the rows
                    self.flush()

    def _full(self) -> bool:
        with self._lock:
            return len(self._rows) >= self.batch_size

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            thread, self._thread = self._thread, None
            self._room.notify_all()
        if thread is not None:
            thread.join(timeout=5)
        self.flush()


_EPOCH = dt.datetime(1970, 1, 1)


def _utc(created: float) -> dt.datetime:
    """A record's ``created`` (seconds since the epoch) as a naive UTC datetime.

    The same microsecond as ``fromtimestamp(created, UTC).replace(tzinfo=None)`` at a
    third of its cost (``replace`` was most of the handler's own time a record).
    """
    return _EPOCH + dt.timedelta(0, created)


class RunLogHandler(logging.Handler):
    """Sends one run's records to a ``LogBatcher`` as ``Logs`` rows."""

    def __init__(
        self, batcher: LogBatcher, app_id: str, runtime_id: str | None, level: int = logging.DEBUG
    ) -> None:
        super().__init__(level)
        self.batcher = batcher
        self.app_id = app_id
        self.runtime_id = runtime_id
        self.muted = False  # set when the run is abandoned: late records are dropped

    def handle(self, record: logging.LogRecord) -> bool:
        # ``Handler.handle`` without the handler's lock around ``emit``: the batcher has
        # its own, and the lock cost more than the rest of the handler (a record each)
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self.muted:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                trace = self.formatter_or_default().formatException(record.exc_info)
                message = f"{message}\n{trace}"
            self.add(record.levelno, record.name, record.funcName, message, record.created)
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise
            self.handleError(record)

    def add(
        self, level: int, name: str, function: str | None, message: str, created: float
    ) -> None:
        """Queue the row of one record (``created`` in seconds since the epoch).

        A NUL character becomes U+FFFD: PostgreSQL text cannot hold one, and the COPY
        of its whole batch would fail with it (kept the same on every database)."""
        if "\x00" in message:
            message = message.replace("\x00", "\ufffd")
        self.batcher.add(
            {
                "app": self.app_id,
                "runtime": self.runtime_id,
                "level": level,
                "module": name[:MODULE_MAX],
                "function": (function or "")[:FUNCTION_MAX],
                "message": message,
                "timestamp": _utc(created),
            }
        )

    def formatter_or_default(self) -> logging.Formatter:
        return self.formatter or logging.Formatter()


_LOGGING_FILE = logging.Logger._log.__code__.co_filename  # frames the caller search skips


class RunLogger(logging.Logger):
    """A run's logger, outside the logging tree (so runs do not pile up in it).

    While its ``RunLogHandler`` is its only handler and nothing else looks at records (no
    filters, no ``exc_info``, ``extra``, ``stack_info`` or ``stacklevel``, no lone mapping
    as the arguments), ``_log`` (the one funnel of ``debug`` … ``log``) hands the handler
    the row itself: the same row as through ``RunLogHandler.emit``, without a
    ``LogRecord`` (its path split, thread and process names) or ``Logger.handle``:
    a quarter of the CPU a record cost (``ctx.log.log`` to a batcher that keeps nothing:
    23 µs → 5.7 µs thread CPU on a busy 2-core machine). Anything else, and a message that does not
    format, takes the standard path (which reports the error as ``logging`` does).
    """

    def __init__(self, name: str, handler: RunLogHandler) -> None:
        super().__init__(name, logging.DEBUG)
        self.addHandler(handler)
        self.propagate = False
        self._run_handler = handler

    def _log(
        self,
        level: int,
        msg: object,
        args: Any,
        exc_info: Any = None,
        extra: Mapping[str, object] | None = None,
        stack_info: bool = False,
        stacklevel: int = 1,
    ) -> None:
        handler = self._run_handler
        if (
            exc_info
            or extra is not None
            or stack_info
            or stacklevel != 1
            or self.disabled
            or self.filters
            or handler.filters
            or len(self.handlers) != 1
            or self.handlers[0] is not handler
            or (len(args) == 1 and isinstance(args[0], Mapping))
        ):
            self._standard_log(level, msg, args, exc_info, extra, stack_info, stacklevel)
            return
        if handler.muted or level < handler.level:
            return
        created = time.time()
        try:
            message = str(msg) % args if args else str(msg)
        except Exception:  # noqa: BLE001 - the standard path reports it
            self._standard_log(level, msg, args)
            return
        caller = sys._getframe(1)  # as ``findCaller``: the first frame outside logging
        while caller.f_back is not None and caller.f_code.co_filename == _LOGGING_FILE:
            caller = caller.f_back
        try:
            handler.add(level, self.name, caller.f_code.co_name, message, created)
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise
            code = caller.f_code
            handler.handleError(
                self.makeRecord(
                    self.name,
                    level,
                    code.co_filename,
                    caller.f_lineno,
                    msg,
                    args,
                    None,
                    code.co_name,
                )
            )

    def _standard_log(
        self,
        level: int,
        msg: object,
        args: Any,
        exc_info: Any = None,
        extra: Mapping[str, object] | None = None,
        stack_info: bool = False,
        stacklevel: int = 1,
    ) -> None:
        # ``findCaller`` skips logging's frames, not this module's: two more levels
        super()._log(level, msg, args, exc_info, extra, stack_info, stacklevel + 2)


def run_logger(name: str, handler: RunLogHandler) -> logging.Logger:
    """A run's logger (see ``RunLogger``) with ``handler``."""
    return RunLogger(name, handler)
