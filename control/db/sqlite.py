"""SQLite, the embedded default: writers that take turns.

SQLite lets one writer at a time hold the write lock. Its busy handler makes a waiting
writer sleep ever longer between tries (up to 100 ms), so a process that commits and
begins again within a few milliseconds (a bulk job's chunks, back to back) takes the
lock again and again while the waiter sleeps: a cancel, or an operator's command, waited
for several chunks (tests/integration/test_bulk_brokers.py showed 3 to 5 chunks).

``TurnTakingSqlite`` begins an IMMEDIATE transaction by trying without SQLite's busy
handler every :data:`POLL_SECONDS`, up to the busy timeout; a long writer leaves the lock
free for :data:`TURN_SECONDS` between two of its transactions
(``control.db.database.give_writers_a_turn``: a bulk job's chunks, retention's batches),
longer than a waiter's poll, so the waiter gets it.
"""

from __future__ import annotations

import time
from typing import Any

from peewee import OperationalError, SqliteDatabase

BUSY_TIMEOUT_MS = 10_000
POLL_SECONDS = 0.002
TURN_SECONDS = 0.01


class TurnTakingSqlite(SqliteDatabase):
    """A SqliteDatabase whose ``BEGIN IMMEDIATE`` polls for the write lock."""

    def begin(self, lock_type: str | None = None) -> Any:
        if lock_type != "IMMEDIATE":
            return super().begin(lock_type)
        connection = self.connection()  # type: ignore[no-untyped-call]
        connection.execute("PRAGMA busy_timeout = 0")
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        try:
            while True:
                try:
                    return super().begin(lock_type)
                except OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(POLL_SECONDS)
        finally:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
