"""The enumerations shared with the fleet's managers (stored as their names)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RunStatus(StrEnum):
    """What an app is doing now."""

    IDLE = "IDLE"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    FAILED = "FAILED"


class CommandFlag(StrEnum):
    """The command waiting for an app's manager; NONE once acknowledged."""

    NONE = "NONE"
    START = "START"
    STOP = "STOP"
    RESTART = "RESTART"
    RESET = "RESET"


class FatalFlag(StrEnum):
    """Whether an app is blocked until an operator resets it."""

    NO_FATAL = "NO_FATAL"
    FATAL = "FATAL"


class RuntimeStatus(StrEnum):
    """The outcome of one run of an app."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


class PipelineStatus(StrEnum):
    """Where a document pipeline task stands."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"


class LogLevel(IntEnum):
    """Python logging levels; logs are stored by number so 'minimum level' is a range."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, value: str | int) -> LogLevel:
        """Accept a level name (any case) or number."""
        if isinstance(value, int) or value.isdigit():
            return cls(int(value))
        return cls[value.upper()]
