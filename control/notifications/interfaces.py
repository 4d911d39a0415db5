"""What a sender receives and the errors of the notification area.

ControlError
├── InvalidInput
│   └── InvalidValue
│       └── InvalidChannel      a channel's settings break its type's rules
└── DeliveryFailed              one send attempt failed (``retryable`` says whether to retry)
    └── DeliveryFailedPermanently  retrying cannot help (4xx, bad credentials, no channel)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from control.errors import ControlError, InvalidValue


class InvalidChannel(InvalidValue):
    """Raised when a channel's fields break the rules; ``details`` names each field."""

    def __init__(self, details: list[tuple[str, str]]) -> None:
        super().__init__("Invalid channel.", details=details)


class DeliveryFailed(ControlError):
    """Raised by a sender when an attempt failed; the message never holds a secret."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class DeliveryFailedPermanently(DeliveryFailed):
    """Raised by the send actor when retrying cannot help; its actor ``throws`` it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class Message:
    """One notification as the senders see it."""

    delivery_id: int
    event: str
    severity: str
    title: str
    body: str
    created: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The plain-text form: ``[ERROR] title`` then the body."""
        head = f"[{self.severity.upper()}] {self.title}"
        return f"{head}\n\n{self.body}" if self.body else head


class Sender(Protocol):
    """Delivers one message through one channel's settings (public and secret merged)."""

    def __call__(self, config: Mapping[str, Any], message: Message) -> None:
        """Send ``message`` or raise :class:`DeliveryFailed`."""
        ...
