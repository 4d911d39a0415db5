"""SQLite writers take turns: a writer waiting for the lock gets it after the long
writer's transaction under way, not after several (control/db/sqlite.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from peewee import OperationalError

from control.db.database import connect_url, give_writers_a_turn
from control.db.database import database as bound
from control.db.sqlite import TurnTakingSqlite

HOLD = 0.15  # seconds each of the long writer's transactions holds the lock


def _database(path: Path) -> TurnTakingSqlite:
    db = connect_url(f"sqlite:///{path}")
    assert isinstance(db, TurnTakingSqlite)
    return db


def test_a_waiting_writer_goes_after_the_transaction_under_way(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    setup = _database(path)
    setup.execute_sql("CREATE TABLE ledger (n INTEGER NOT NULL, who TEXT NOT NULL)")
    setup.close()
    stop = threading.Event()
    started = threading.Event()

    def long_writer() -> None:
        # a bulk job's chunks: one transaction after the other, a turn given between
        db = _database(path)
        n = 0
        while not stop.is_set():
            with db.atomic(lock_type="IMMEDIATE"):
                n += 1
                db.execute_sql("INSERT INTO ledger VALUES (?, 'long')", (n,))
                started.set()
                time.sleep(HOLD)
            give_writers_a_turn()
        db.close()

    previous = getattr(bound, "obj", None)
    bound.initialize(setup)  # give_writers_a_turn asks the bound dialect
    writer = threading.Thread(target=long_writer)
    writer.start()
    try:
        assert started.wait(5)
        time.sleep(HOLD / 3)  # well inside a transaction
        waiter = _database(path)
        asked = time.monotonic()
        with waiter.atomic(lock_type="IMMEDIATE"):
            waited = time.monotonic() - asked
            waiter.execute_sql("INSERT INTO ledger VALUES (0, 'waiter')")
        waiter.close()
    finally:
        stop.set()
        writer.join(10)
        bound.initialize(previous)
    check = _database(path)
    order = [who for (who,) in check.execute_sql("SELECT who FROM ledger ORDER BY rowid")]
    check.close()
    # the waiter's row comes right after the transaction that held the lock when it asked
    assert order.index("waiter") == 1, order
    assert waited < 2 * HOLD


def test_a_writer_gives_up_at_the_busy_timeout(tmp_path: Path, monkeypatch) -> None:
    from control.db import sqlite

    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "held.db"
    holder = _database(path)
    holder.execute_sql("CREATE TABLE t (n INTEGER)")
    waiter = _database(path)
    with holder.atomic(lock_type="IMMEDIATE"):
        holder.execute_sql("INSERT INTO t VALUES (1)")
        asked = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), waiter.atomic(lock_type="IMMEDIATE"):
            pass
        waited = time.monotonic() - asked
    assert 0.2 <= waited < 1.0
    # the connection's busy timeout is back for its other statements
    assert waiter.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 200
    holder.close()
    waiter.close()
