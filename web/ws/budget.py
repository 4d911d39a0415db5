"""What one socket may ask of the server: messages per second, backfilled logs per minute.

Both are per socket and in memory: a socket lives in one process, and the connection
limits per user and per address (:mod:`web.ws.hub`) bound how many sockets one person
holds, so per-socket budgets bound what one person can make the server do.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BACKFILL_WINDOW = 60.0  # seconds


class MessageRate:
    """A token bucket: ``burst`` messages at once, refilled at ``per_second``."""

    def __init__(
        self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def allow(self) -> bool:
        """Take one message from the bucket; False when it is empty."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class BackfillBudget:
    """At most ``per_minute`` backfilled log events in any one-minute window of a socket."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._window_start = clock()
        self._spent = 0

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` events may be sent now (possibly 0); they are spent."""
        now = self._clock()
        if now - self._window_start >= BACKFILL_WINDOW:
            self._window_start, self._spent = now, 0
        granted = max(0, min(wanted, self.per_minute - self._spent))
        self._spent += granted
        return granted
