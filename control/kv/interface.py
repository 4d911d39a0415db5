"""The contract every key-value store meets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(slots=True)  # not frozen: one or two are made on every API request, and a
class WindowCount:  # frozen dataclass sets each field through object.__setattr__
    """A fixed-window counter after an increment: its value and when the window resets."""

    count: int
    reset_at: int  # unix seconds


class KeyValueStore(Protocol):
    """Counters and flags with expiry. Raises ``control.errors.Unavailable`` when down."""

    # Whether a call may wait on the network (Redis): callers on an event loop run such
    # calls in a worker thread, and call a store that never waits (in-process) directly.
    blocking: bool

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> WindowCount:
        """Add ``amount`` to the counter of the current window for ``key``."""
        ...

    def peek(self, key: str, window_seconds: int) -> WindowCount:
        """The counter of the current window without changing it."""
        ...

    def set_flag(self, key: str, ttl_seconds: int) -> None:
        """Mark ``key`` present for ``ttl_seconds``."""
        ...

    def has_flag(self, key: str) -> bool:
        """Whether ``key`` is marked and not expired."""
        ...

    def ping(self) -> float:
        """Round trip in milliseconds."""
        ...
