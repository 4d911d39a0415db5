"""The run's logger: records go to Logs in batches and out as log.entry events."""

from __future__ import annotations

import datetime as dt
import logging
import time

from control.agent.context import AppContext
from control.agent.logwriter import LogBatcher
from control.events import Event, EventType
from control.events.memory import MemoryBus
from control.events.publish import install, uninstall
from control.logs.models import Logs
from tests.agent_apps import wait_for
from tests.factories import make_app


def _collector() -> tuple[list[tuple[EventType, dict]], object]:
    events: list[tuple[EventType, dict]] = []
    return events, lambda kind, data: events.append((kind, data))


def test_a_full_batch_is_written_by_the_logging_thread(db):
    app = make_app()
    events, publish = _collector()
    batcher = LogBatcher(batch_size=10, interval=60, publisher=publish)
    ctx = AppContext(app_id=app.id, runtime_id="r1", settings={}, batcher=batcher, logger_name="x")
    for i in range(9):
        ctx.log.info("record %s", i)
    assert Logs.select().count() == 0  # not full yet, and the timer is far away
    ctx.log.info("record 9")
    rows = list(Logs.select().order_by(Logs.id))
    assert [r.message for r in rows] == [f"record {i}" for i in range(10)]
    assert {(r.app, r.runtime, r.level, r.module) for r in rows} == {(app.id, "r1", 20, "x")}
    assert rows[0].function == "test_a_full_batch_is_written_by_the_logging_thread"
    # one event per row, with the row's id, shaped like the API's log item
    assert [kind for kind, _ in events] == [EventType.LOG_ENTRY] * 10
    assert [data["id"] for _, data in events] == [r.id for r in rows]
    assert events[0][1]["level"] == "INFO"
    assert events[0][1]["level_no"] == 20
    assert events[0][1]["runtime"] == "r1"


def test_a_partial_batch_is_written_within_the_interval(db):
    app = make_app()
    batcher = LogBatcher(batch_size=1000, interval=0.2, publish_events=False).start()
    try:
        ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
        began = time.monotonic()
        ctx.log.warning("lonely")
        ctx.log.debug("debug is kept too")
        wait_for(lambda: Logs.select().count() == 2, timeout=3)
        assert time.monotonic() - began < 2
        levels = sorted(level for (level,) in Logs.select(Logs.level).tuples())
        assert levels == [logging.DEBUG, logging.WARNING]
    finally:
        batcher.close()


def test_exceptions_are_logged_with_their_traceback(db):
    app = make_app()
    batcher = LogBatcher(batch_size=1, publish_events=False)
    ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
    try:
        raise ValueError("bad row")
    except ValueError:
        ctx.log.exception("parsing failed")
    row = Logs.get()
    assert row.level == logging.ERROR
    assert row.message.startswith("parsing failed\nTraceback")
    assert "ValueError: bad row" in row.message


def test_close_writes_what_is_left_and_a_muted_run_writes_nothing(db):
    app = make_app()
    batcher = LogBatcher(batch_size=100, interval=60, publish_events=False).start()
    ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
    ctx.log.info("kept")
    ctx.mute()
    ctx.log.info("dropped")
    batcher.close()
    assert [m for (m,) in Logs.select(Logs.message).tuples()] == ["kept"]
    assert batcher.written == 1


def test_rows_wait_while_the_database_is_unreachable(db, monkeypatch):
    app = make_app()
    batcher = LogBatcher(batch_size=2, interval=60, publish_events=False, max_buffer=3)
    ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)

    def down(rows):
        raise ConnectionError("database down")

    monkeypatch.setattr("control.agent.logwriter.insert_logs", down)
    for i in range(4):
        ctx.log.info("m%s", i)
    assert batcher.written == 0
    assert batcher.dropped == 1  # the buffer keeps the newest 3
    monkeypatch.undo()
    assert batcher.flush() == 3
    assert sorted(m for (m,) in Logs.select(Logs.message).tuples()) == ["m1", "m2", "m3"]


def test_a_batch_goes_out_on_the_process_bus_as_one_event_per_row(db):
    app = make_app()
    bus = MemoryBus()
    received: list[Event] = []
    bus.subscribe(received.append)
    install(bus)
    try:
        batcher = LogBatcher(batch_size=5, interval=60)  # the default publisher: the bus
        ctx = AppContext(app_id=app.id, runtime_id="r1", settings={}, batcher=batcher)
        for i in range(7):
            ctx.log.warning("record %s", i)
        batcher.close()
    finally:
        uninstall(bus)
    rows = list(Logs.select().order_by(Logs.id))
    assert [e.type for e in received] == [EventType.LOG_ENTRY] * 7
    assert [e.data["id"] for e in received] == [r.id for r in rows]
    assert [e.data["message"] for e in received] == [f"record {i}" for i in range(7)]
    first = received[0].data
    assert (first["level"], first["level_no"], first["app"]) == ("WARNING", 30, app.id)
    assert set(first) == {
        "id",
        "app",
        "runtime",
        "level",
        "level_no",
        "module",
        "function",
        "message",
        "timestamp",
    }
    assert bus.stats().published == 7


def test_the_writer_thread_survives_a_database_it_cannot_reach(db, monkeypatch):
    import contextlib

    app = make_app()

    @contextlib.contextmanager
    def unreachable():
        raise ConnectionError("database down")
        yield

    def down(rows):
        raise ConnectionError("database down")

    monkeypatch.setattr("control.agent.logwriter.connected", unreachable)
    monkeypatch.setattr("control.agent.logwriter.insert_logs", down)
    batcher = LogBatcher(batch_size=5, interval=0.05, publish_events=False).start()
    try:
        ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
        for i in range(12):  # two batches and more: the app is not held up by the outage
            ctx.log.info("m%s", i)
        time.sleep(0.3)
        assert batcher.written == 0
        monkeypatch.undo()
        wait_for(lambda: Logs.select().count() == 12, timeout=5)
    finally:
        batcher.close()
    assert [m for (m,) in Logs.select(Logs.message).order_by(Logs.id).tuples()] == [
        f"m{i}" for i in range(12)
    ]


def _log_here(logger: logging.Logger, *args, **kwargs) -> None:
    logger.log(*args, **kwargs)


def test_plain_records_skip_the_log_record_and_give_the_same_row(db, monkeypatch):
    app = make_app()
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args, **kwargs):
        made.append(record := factory(*args, **kwargs))
        return record

    monkeypatch.setattr(logging, "getLogRecordFactory", lambda: counting)
    monkeypatch.setattr(logging, "_logRecordFactory", counting)
    batcher = LogBatcher(batch_size=100, interval=60, publish_events=False)
    ctx = AppContext(app_id=app.id, runtime_id="r1", settings={}, batcher=batcher, logger_name="m")
    before = time.time()
    _log_here(ctx.log, logging.INFO, "plain %s of %d", "row", 1)  # no LogRecord
    ctx.log.info("%(a)s mapping", {"a": "one"})  # the standard path from here on
    _log_here(ctx.log, logging.INFO, "plain %s of %d", "row", 2, extra={"k": 1})
    ctx.log.addFilter(lambda record: True)
    _log_here(ctx.log, logging.INFO, "plain %s of %d", "row", 3)
    batcher.flush()
    assert len(made) == 3
    rows = list(Logs.select().order_by(Logs.id))
    assert [r.message for r in rows] == [
        "plain row of 1",
        "one mapping",
        "plain row of 2",
        "plain row of 3",
    ]
    fast, standard = rows[0], rows[3]
    assert (
        (fast.app, fast.runtime, fast.level, fast.module, fast.function)
        == (
            standard.app,
            standard.runtime,
            standard.level,
            standard.module,
            standard.function,
        )
        == (app.id, "r1", logging.INFO, "m", "_log_here")
    )
    assert before - 1 <= fast.timestamp.replace(tzinfo=dt.UTC).timestamp() <= time.time() + 1


def test_a_message_that_does_not_format_is_reported_as_logging_does(db, capsys):
    app = make_app()
    batcher = LogBatcher(batch_size=100, interval=60, publish_events=False)
    ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
    ctx.log.info("%d apples", "not a number")
    ctx.log.info("after")
    batcher.flush()
    assert "--- Logging error ---" in capsys.readouterr().err
    assert [m for (m,) in Logs.select(Logs.message).tuples()] == ["after"]


def test_a_nul_in_a_message_neither_loses_its_batch_nor_the_record(db):
    """PostgreSQL text holds no NUL character: the record is kept with U+FFFD in its
    place (on every database alike), and the rest of its batch goes in with it."""
    app = make_app()
    batcher = LogBatcher(batch_size=3, publish_events=False)
    ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
    ctx.log.info("before")
    ctx.log.info("binary junk: %s", "a\x00b")
    ctx.log.info("after")
    rows = [r.message for r in Logs.select().order_by(Logs.id)]
    assert rows == ["before", "binary junk: a\ufffdb", "after"]
