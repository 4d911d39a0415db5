"""Warnings about a backing part being down, at most one a minute, with a count."""

from __future__ import annotations

import logging
import threading
import time


class ThrottledWarning:
    """Logs the first problem, then at most one line per ``every`` seconds.

    Each line says how many occurrences were not logged since the previous one, so a
    Redis outage during a burst of events costs a few log lines, not one per event.
    """

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self._log = logger
        self._every = every
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._suppressed = 0

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self._every:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        suffix = f" ({suppressed} more since the last warning)" if suppressed else ""
        self._log.warning(message + suffix, *args)
