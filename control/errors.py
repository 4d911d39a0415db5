"""The domain's exceptions. The web layer maps each to one HTTP answer (web/errors.py);
they carry what went wrong (a message, the fields and why), never a status.

ControlError
├── ConfigurationError   a setting is missing or invalid at start
├── NotFound             the thing asked for does not exist
├── Conflict             the request clashes with the current state
├── PreconditionFailed   an If-Match version is stale
├── InvalidInput         a name or value the request may not use
│   └── InvalidValue     a value its type refuses
├── Unauthenticated, Forbidden, Throttled
└── Unavailable          a backing part (database, broker, Redis) cannot be reached
"""

from __future__ import annotations

from collections.abc import Sequence


class ControlError(Exception):
    """Root of every error the domain raises on purpose.

    ``details`` are the (field, reason) pairs of the problems; ``field`` alone stands
    for one detail whose reason is the message. ``field`` is the first detail's field.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[tuple[str, str]] = list(details)
        if field is not None and not self.details:
            self.details = [(field, message)]
        self.field = field if field is not None else (details[0][0] if details else None)


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


class InvalidValue(InvalidInput):
    """Raised when a value is refused by its type (a setting's, checked by the domain)."""


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
