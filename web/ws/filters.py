"""Which events a WebSocket client receives: types, an app glob, a minimum log level.

The glob is the log query's (``control.logs.services``): ``*`` is any run of characters,
``?`` one character, everything else literal, case-sensitive. It applies to events whose
``data.app`` names an app; events about no app (``system.metric``…) pass it. The level
applies to ``log.entry`` events, read from ``data.level_no`` or ``data.level`` (a name
or a number); an entry without a readable level does not pass a level filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from control.enums import LogLevel
from control.events.types import Event, EventType

ALL_TYPES = frozenset(EventType)
DASHBOARD_TYPES = ALL_TYPES - {EventType.LOG_ENTRY}
LOG_TYPES = frozenset({EventType.LOG_ENTRY})


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of an app glob (only ``*`` and ``?`` are special)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def level_of(data: Any) -> int | None:
    """The numeric level of a ``log.entry``'s data, or None."""
    if not isinstance(data, dict):
        return None
    for key in ("level_no", "level"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        try:
            return int(LogLevel.parse(value))
        except (KeyError, ValueError):
            if isinstance(value, int):
                return value  # a custom numeric level still compares
    return None


def level_name(level: int | None) -> str | int | None:
    """``WARNING`` for 30; a custom number as it is."""
    if level is None:
        return None
    try:
        return LogLevel(level).name
    except ValueError:
        return level


@dataclass(frozen=True)
class Filter:
    """A connection's subscription: event types, app glob (None: any), minimum level."""

    types: frozenset[EventType]
    app: str | None = None
    level: int | None = None
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.app is not None and self._regex is None:
            object.__setattr__(self, "_regex", glob_regex(self.app))

    def matches(self, event: Event) -> bool:
        """Whether ``event`` passes this filter."""
        if event.type not in self.types:
            return False
        data = event.data
        if self._regex is not None:
            app = data.get("app")
            if app is not None and (not isinstance(app, str) or not self._regex.fullmatch(app)):
                return False
        if self.level is not None and event.type is EventType.LOG_ENTRY:
            level = level_of(data)
            if level is None or level < self.level:
                return False
        return True

    def describe(self) -> dict[str, Any]:
        """The filter as the ``subscribed`` frame shows it."""
        return {
            "types": sorted(t.value for t in self.types),
            "app": self.app,
            "level": level_name(self.level),
        }
