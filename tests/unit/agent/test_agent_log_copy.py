"""Batched log rows: exact text through COPY, ids and events in order, writes overlapped.

Runs on SQLite and on PostgreSQL (where batches go in with ``COPY`` and ids taken from the
sequence beforehand), through the run's real logger.
"""

from __future__ import annotations

import threading

import peewee
import psycopg2
import pytest

from control.agent.context import AppContext
from control.agent.logwriter import LogBatcher, insert_logs
from control.clock import utcnow
from control.events import EventType
from control.logs.models import Logs
from tests.agent_apps import wait_for
from tests.factories import make_app

# everything COPY's text format gives a meaning to, and text around it
AWKWARD = [
    "tab\there and\ttwo",
    "line one\nline two\r\nwindows\rold mac",
    "back\\slash, \\N, \\t, \\., a trailing one\\",
    "\\.",
    "",
    "unicode: é ß 日本語 🚀 \u200b zero-width, \x01\x7f control",
    "   spaces kept   ",
]


def _collector() -> tuple[list[tuple[EventType, dict]], object]:
    events: list[tuple[EventType, dict]] = []
    return events, lambda kind, data: events.append((kind, data))


def test_awkward_text_round_trips_exactly(db):
    app = make_app()
    events, publish = _collector()
    batcher = LogBatcher(batch_size=len(AWKWARD), interval=60, publisher=publish)
    # a runtime spelled like COPY's NULL marker and a logger name with a tab in it
    ctx = AppContext(
        app_id=app.id, runtime_id="\\N", settings={}, batcher=batcher, logger_name="mod\tule"
    )
    for message in AWKWARD:
        ctx.log.warning("%s", message)
    rows = list(Logs.select().order_by(Logs.id))
    assert [r.message for r in rows] == AWKWARD
    assert {(r.runtime, r.module) for r in rows} == {("\\N", "mod\tule")}
    assert [data["message"] for _, data in events] == AWKWARD
    assert [data["id"] for _, data in events] == [r.id for r in rows]


def test_a_null_runtime_stays_null(db):
    app = make_app()
    batcher = LogBatcher(batch_size=1, interval=60, publish_events=False)
    AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher).log.info("x")
    assert Logs.get().runtime is None


def test_ids_follow_the_rows_order_across_batches_and_writers(db):
    app = make_app()
    results: dict[str, list[tuple[EventType, dict]]] = {}

    def run(name: str) -> None:
        events, publish = _collector()
        results[name] = events
        batcher = LogBatcher(batch_size=50, interval=60, publisher=publish)
        ctx = AppContext(app_id=app.id, runtime_id=name, settings={}, batcher=batcher)
        for i in range(230):
            ctx.log.info("%s %03d", name, i)
        batcher.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stored = {r.id: (r.runtime, r.message) for r in Logs.select()}
    assert len(stored) == 460
    for name, events in results.items():
        ids = [data["id"] for _, data in events]
        assert [data["message"] for _, data in events] == [f"{name} {i:03d}" for i in range(230)]
        assert ids == sorted(ids)  # one run's rows keep their order
        assert len(set(ids)) == 230
        assert [stored[i] for i in ids] == [(name, f"{name} {i:03d}") for i in range(230)]


def test_a_refused_batch_leaves_no_rows_behind(db):
    app = make_app()
    good = {"app": app.id, "runtime": None, "level": 20, "module": "m", "function": "f"}
    rows = [
        {**good, "message": "first", "timestamp": Logs.timestamp.default()},
        {**good, "message": "no level", "timestamp": Logs.timestamp.default(), "level": None},
    ]
    with pytest.raises((peewee.IntegrityError, psycopg2.IntegrityError)):
        insert_logs(rows)
    assert Logs.select().count() == 0
    assert len(insert_logs(rows[:1])) == 1  # the connection is usable again
    assert [m for (m,) in Logs.select(Logs.message).tuples()] == ["first"]


def test_a_started_batcher_writes_full_batches_beside_the_logging_thread(db, monkeypatch):
    app = make_app()
    gate, entered = threading.Event(), threading.Event()
    real = insert_logs

    def slow_database(rows):
        entered.set()
        gate.wait(10)
        return real(rows)

    monkeypatch.setattr("control.agent.logwriter.insert_logs", slow_database)
    batcher = LogBatcher(batch_size=10, interval=60, publish_events=False, max_ahead=20).start()
    try:
        ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
        for i in range(15):  # one full batch goes to the background thread; we go on
            ctx.log.info("m%s", i)
        assert entered.wait(5)  # the background thread took a batch (10 to 15 rows)
        assert Logs.select().count() == 0
        # ``max_ahead`` rows more while the first batch is still being written: the
        # logging thread waits for the writer (the buffer stays bounded)
        blocked = threading.Thread(target=lambda: [ctx.log.info("n%s", i) for i in range(20)])
        blocked.start()
        blocked.join(timeout=0.5)
        assert blocked.is_alive()
        gate.set()
        blocked.join(timeout=10)
        wait_for(lambda: Logs.select().count() == 35, timeout=10)
    finally:
        gate.set()
        batcher.close()
    messages = [m for (m,) in Logs.select(Logs.message).order_by(Logs.id).tuples()]
    assert messages == [f"m{i}" for i in range(15)] + [f"n{i}" for i in range(20)]


def test_a_busy_writer_takes_what_waits_in_one_batch_and_the_app_logs_on(db, monkeypatch):
    app = make_app()
    gate, entered = threading.Event(), threading.Event()
    real = insert_logs
    batches: list[int] = []

    def slow_database(rows):
        batches.append(len(rows))
        entered.set()
        gate.wait(10)
        return real(rows)

    monkeypatch.setattr("control.agent.logwriter.insert_logs", slow_database)
    batcher = LogBatcher(batch_size=10, interval=60, publish_events=False).start()
    try:
        ctx = AppContext(app_id=app.id, runtime_id=None, settings={}, batcher=batcher)
        for i in range(10):
            ctx.log.info("m%s", i)
        assert entered.wait(5)  # the writer has the first batch and waits on the database
        logging_thread = threading.Thread(
            target=lambda: [ctx.log.info("n%s", i) for i in range(45)]
        )
        logging_thread.start()
        logging_thread.join(timeout=10)
        assert not logging_thread.is_alive()  # four batches ahead, not held up
        gate.set()
        wait_for(lambda: Logs.select().count() == 55, timeout=10)
    finally:
        gate.set()
        batcher.close()
    # what waited while the database was busy went in as one batch, not 10 at a time
    assert batches[1:] == [45]
    messages = [m for (m,) in Logs.select(Logs.message).order_by(Logs.id).tuples()]
    assert messages == [f"m{i}" for i in range(10)] + [f"n{i}" for i in range(45)]


def test_a_batch_larger_than_one_statement_allows_goes_in_whole_with_its_ids(db):
    app = make_app()
    rows = [
        {
            "app": app.id,
            "runtime": "r1",
            "level": 20,
            "module": "m",
            "function": "f",
            "message": f"row {i}",
            "timestamp": utcnow(),
        }
        for i in range(6000)  # 42,000 values: more than SQLite takes in one statement
    ]
    ids = insert_logs(rows)
    assert ids == sorted(ids)
    assert len(set(ids)) == 6000
    stored = dict(Logs.select(Logs.id, Logs.message).tuples())
    assert [stored[i] for i in ids] == [f"row {i}" for i in range(6000)]
