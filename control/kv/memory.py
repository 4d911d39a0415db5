"""In-process key-value store for the embedded default (one process, no Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from control.kv.interface import WindowCount

SWEEP_ABOVE = 10_000  # entries; expired ones are dropped once the maps grow past this


class MemoryStore:
    """Fixed-window counters and expiring flags in dicts, guarded by a lock."""

    blocking = False  # a dict under a lock held for microseconds: no worker thread

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, int, int], int] = {}  # (key, size, window) -> n
        self._flags: dict[str, float] = {}

    def _slot(self, key: str, window_seconds: int) -> tuple[str, int, int]:
        return key, window_seconds, int(self._clock()) // window_seconds

    def _sweep(self) -> None:
        if len(self._counters) <= SWEEP_ABOVE and len(self._flags) <= SWEEP_ABOVE:
            return
        now = self._clock()
        if len(self._counters) > SWEEP_ABOVE:
            self._counters = {
                slot: n for slot, n in self._counters.items() if slot[2] >= int(now) // slot[1]
            }
        if len(self._flags) > SWEEP_ABOVE:
            self._flags = {k: exp for k, exp in self._flags.items() if exp > now}

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> WindowCount:
        with self._lock:
            slot = self._slot(key, window_seconds)
            self._counters[slot] = count = self._counters.get(slot, 0) + amount
            self._sweep()
            return WindowCount(count, (slot[2] + 1) * window_seconds)

    def peek(self, key: str, window_seconds: int) -> WindowCount:
        with self._lock:
            slot = self._slot(key, window_seconds)
            return WindowCount(self._counters.get(slot, 0), (slot[2] + 1) * window_seconds)

    def set_flag(self, key: str, ttl_seconds: int) -> None:
        with self._lock:
            self._flags[key] = self._clock() + ttl_seconds
            self._sweep()

    def has_flag(self, key: str) -> bool:
        with self._lock:
            expires = self._flags.get(key)
            return expires is not None and expires > self._clock()

    def ping(self) -> float:
        return 0.0
