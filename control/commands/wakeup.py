"""Wake a relay in another process when a command is written (PostgreSQL LISTEN/NOTIFY).

``issue_command`` sends ``NOTIFY dc_outbox`` inside its transaction; PostgreSQL delivers
it only if the transaction commits, and folds repeats within one transaction. A relay
process (``dcctl relay``) keeps one connection listening on the channel and sets
``outbox_written``, so a command is published within milliseconds instead of at the
next poll. The poll stays as the fallback: a lost notification (the listener was
reconnecting) costs at most ``--idle-sleep``. SQLite has no NOTIFY; there the embedded
web process relays itself and wakes the relay in-process.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

import psycopg2
import psycopg2.extensions

from control.db.database import database, dialect

log = logging.getLogger(__name__)

CHANNEL = "dc_outbox"
RECONNECT_SECONDS = 5.0
POLL_SECONDS = 1.0  # how soon the listener notices stop()


def notify_outbox() -> None:
    """Inside the writing transaction: tell listening relays at commit (PostgreSQL only)."""
    if dialect() == "postgresql":
        database.execute_sql(f"NOTIFY {CHANNEL}")


Connect = Callable[[], psycopg2.extensions.connection]


def connect_like(db: object) -> Connect:
    """Connect with the same parameters as the peewee PostgreSQL database ``db``."""
    name = db.database  # type: ignore[attr-defined]
    params = dict(db.connect_params)  # type: ignore[attr-defined]
    return lambda: psycopg2.connect(dbname=name, **params)


class OutboxListener:
    """A thread that LISTENs on ``dc_outbox`` and sets ``wake`` on each notification."""

    def __init__(self, connect: Connect, wake: threading.Event) -> None:
        self._connect = connect
        self._wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dc-outbox-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg2.Error as exc:
                log.warning(
                    "outbox listener lost its connection (%s); polling until it is back",
                    type(exc).__name__,
                )
            self.listening.clear()
            self._stop.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        conn = self._connect()
        try:
            conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._wake.set()  # rows written while nobody listened
            while not self._stop.is_set():
                ready, _, _ = select.select([conn], [], [], POLL_SECONDS)
                if ready:
                    conn.poll()
                    if conn.notifies:
                        conn.notifies.clear()
                        self._wake.set()
        finally:
            conn.close()
