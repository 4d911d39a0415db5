"""Portable field types: the same column on SQLite, PostgreSQL and MSSQL."""

from __future__ import annotations

from enum import Enum
from typing import Any

import orjson
from peewee import CharField, TextField


class JSONField(TextField):
    """JSON kept as text, so every dialect stores it alike."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def python_value(self, value: str | None) -> Any:
        return None if value is None else orjson.loads(value)


class EnumField(CharField):
    """An Enum stored by value (its name), so raw SQL and managers read plain strings."""

    def __init__(self, enum_class: type[Enum], **kwargs: Any) -> None:
        self.enum_class = enum_class
        # value -> member: a dict lookup instead of the Enum call (~1 us each, per
        # column of every row read: the app list's 20 rows have 70 of them)
        self.members: dict[Any, Enum] = {m.value: m for m in enum_class}
        kwargs.setdefault("max_length", max(len(str(m.value)) for m in enum_class) + 8)
        super().__init__(**kwargs)

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        stored: str = self.enum_class(value).value
        return stored

    def python_value(self, value: str | None) -> Enum | None:
        if value is None:
            return None
        member = self.members.get(value)
        return member if member is not None else self.enum_class(value)
