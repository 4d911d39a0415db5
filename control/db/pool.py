"""The PostgreSQL connection pool, without a round trip on every checkout.

playhouse's pool checks each connection it hands out with ``SELECT 1``: one more round
trip on every ``connection_context()``, which is most of a short request's database
time. Here a connection that went back to the pool less than
``ping_after_idle`` seconds ago is judged by psycopg2's local state alone (closed, or
its transaction status): under load connections come back within milliseconds and are
never pinged, while after a pause (a database restart takes longer than that) every
idle connection is pinged before use, as before, and a dead one is replaced.

A connection the server drops inside that window fails its first statement; the
request answers 503 (``Retry-After``) and the pool discards the connection on check-in.
"""

from __future__ import annotations

import time
from typing import Any

from playhouse.pool import PooledPostgresqlDatabase

PING_AFTER_IDLE_SECONDS = 1.0


class PooledPostgres(PooledPostgresqlDatabase):  # type: ignore[misc]  # playhouse has no types
    """``PooledPostgresqlDatabase`` that pings only connections idle for a while."""

    def __init__(
        self, database: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any
    ) -> None:
        self._ping_after_idle = ping_after_idle
        self._returned: dict[int, float] = {}  # id(connection) -> when it came back
        super().__init__(database, **kwargs)

    def _is_closed(self, conn: Any) -> bool:
        returned = self._returned.pop(self.conn_key(conn), None)
        recent = returned is not None and time.monotonic() - returned < self._ping_after_idle
        if recent and not conn.closed and self._adapter.txn_status(conn) == self._adapter.txn_idle:
            return False
        return bool(super()._is_closed(conn))  # the ping (or a rollback)

    def _close(self, conn: Any, close_conn: bool = False) -> None:
        if not close_conn:
            self._returned[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn: Any) -> None:
        self._returned.pop(self.conn_key(conn), None)
        super()._close_raw(conn)
