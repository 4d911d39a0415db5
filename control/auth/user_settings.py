"""A user's own preferences: time zone and display options, kept in ``User.settings``.

Which keys exist and what values they take is the web schema's job
(``web.schemas.settings``); here the stored choices are merged over the defaults, and
the one rule a schema cannot express is checked: the time zone must be a real one.

Only the user's explicit choices are stored, never the defaults, so a changed default
reaches everyone who did not choose otherwise. A ``None`` in a change removes the
choice (JSON merge-patch semantics), which restores the default.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from control.auth.models import User
from control.clock import utcnow
from control.db.database import database, write_transaction
from control.errors import InvalidInput, NotFound

DEFAULTS: dict[str, Any] = {
    "timezone": "UTC",
    "display": {"theme": "light", "page_size": 20, "date_format": "iso"},
    # the dashboard's saved views: the user's own names -> {"path": "/dashboard/apps/..."}
    "views": {},
}
# Defaults that are maps of the user's own keys (not sections of fixed keys).
FREE_MAPS = frozenset({"views"})
MAX_VIEWS = 50


def _overlay(defaults: Mapping[str, Any], stored: Any) -> dict[str, Any]:
    """``defaults`` with the stored values of the same keys; unknown keys are dropped.

    A stored value of another type than its default (a number for the time zone, a
    string where a section belongs) is ignored, so a hand-edited row cannot break the
    answer's shape.
    """
    result = copy.deepcopy(dict(defaults))
    if not isinstance(stored, Mapping):
        return result
    for name, default in defaults.items():
        if name not in stored or stored[name] is None:
            continue
        value = stored[name]
        if name in FREE_MAPS:
            if isinstance(value, Mapping):
                result[name] = {k: dict(v) for k, v in value.items() if isinstance(v, Mapping)}
        elif isinstance(default, Mapping):
            result[name] = _overlay(default, value)
        elif type(value) is type(default):
            result[name] = value
    return result


def _apply(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into ``stored`` recursively; ``None`` removes a key."""
    result = dict(stored)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        elif isinstance(value, Mapping):
            current = result.get(name)
            merged = _apply(current if isinstance(current, Mapping) else {}, value)
            if merged:
                result[name] = merged
            else:
                result.pop(name, None)
        else:
            result[name] = value
    return result


def check_timezone(name: str) -> None:
    """Refuse a name ``zoneinfo`` cannot load (unknown, a directory, not a zone file)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"Unknown time zone: {name!r}.", field="timezone") from None


def _user(user_id: int, *, for_update: bool = False) -> User:
    query = User.select().where(User.id == user_id)
    if for_update and getattr(database, "for_update", False):
        query = query.for_update()  # PostgreSQL: concurrent PATCHes do not lose changes
    user: User | None = query.first()
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def get_settings(user_id: int) -> dict[str, Any]:
    """The user's settings: their choices over the defaults."""
    return _overlay(DEFAULTS, _user(user_id).settings)


def update_settings(user_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the user's stored choices and return the whole settings."""
    timezone = changes.get("timezone")
    if timezone is not None:
        check_timezone(timezone)
    with write_transaction():
        user = _user(user_id, for_update=True)
        stored = user.settings if isinstance(user.settings, Mapping) else {}
        merged = _apply(stored, changes)
        if len(merged.get("views") or {}) > MAX_VIEWS:
            raise InvalidInput(f"At most {MAX_VIEWS} saved views.", field="views")
        User.update(settings=merged, updated=utcnow()).where(User.id == user_id).execute()
    return _overlay(DEFAULTS, merged)
