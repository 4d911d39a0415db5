"""The domain's exceptions. The web layer maps each to one HTTP answer.

ControlError
├── ConfigurationError   a setting is missing or invalid at start
├── NotFound             the thing asked for does not exist
├── Conflict             the request clashes with the current state
├── PreconditionFailed   an If-Match version is stale
├── InvalidInput         a value is well-formed but not acceptable
└── Unavailable          a backing part (database, broker, Redis) cannot be reached
"""

from __future__ import annotations


class ControlError(Exception):
    """Root of every error the domain raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigurationError(ControlError):
    """Raised at start when a setting is missing or invalid."""


class NotFound(ControlError):
    """Raised when a looked-up object does not exist."""


class Conflict(ControlError):
    """Raised when an action makes no sense in the object's current state."""


class PreconditionFailed(ControlError):
    """Raised when an optimistic-concurrency version no longer matches."""


class InvalidInput(ControlError):
    """Raised when input passes the schema but breaks a domain rule."""


class Unauthenticated(ControlError):
    """Raised when credentials are missing or not valid (the message stays generic)."""


class Forbidden(ControlError):
    """Raised when an authenticated caller may not do what it asked."""


class Throttled(ControlError):
    """Raised when a caller must wait before trying again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ControlError):
    """Raised when a backing server cannot be reached."""
