"""The cancel token an app checks between items to stop cooperatively."""

from __future__ import annotations

import threading

from control.agent.errors import Cancelled


class CancelToken:
    """Set once by the agent on STOP or shutdown; apps check it between items."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    @property
    def cancelled(self) -> bool:
        """Whether a stop was asked."""
        return self._event.is_set()

    def cancel(self, reason: str = "stop requested") -> None:
        """Ask the app to stop (the first reason is kept)."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def raise_if_cancelled(self) -> None:
        """Raise ``Cancelled`` if a stop was asked: call it between items."""
        if self._event.is_set():
            raise Cancelled(self.reason or "stop requested")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on cancel; True if cancelled."""
        return self._event.wait(max(0.0, seconds))
