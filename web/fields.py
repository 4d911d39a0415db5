"""Field types every schema shares: one rule for times, row ids and plain names.

A time the client sends is stored as naive UTC (``control.clock.naive_utc``); one
whose conversion to UTC leaves the calendar (``0001-01-01T00:00:00+01:00``) is a 422
naming the field, not an ``OverflowError`` in the handler. A row id is a positive
integer that fits the tables' ``INTEGER`` keys, in a path, a query string or a body.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo
from typing import Annotated, Any, cast

from falcon.routing import IntConverter
from pydantic import AfterValidator, BeforeValidator, Field

from control.clock import naive_utc
from web.validation import Invalid

# The names a time zone field accepts, for the document (the validator uses ZoneInfo).
TIME_ZONES: list[str] = sorted(zoneinfo.available_timezones())

# AutoField keys are INTEGER (32-bit) on PostgreSQL; SQLite's are wider, the API's not.
MAX_ROW_ID = 2**31 - 1


def _utc(value: dt.datetime) -> dt.datetime:
    try:
        return cast(dt.datetime, naive_utc(value))  # a datetime in, a datetime out
    except OverflowError:
        raise Invalid("out of range: the time must lie between years 1 and 9999 in UTC") from None


def _iso_only(value: Any) -> Any:
    # pydantic reads a number (or a numeric string) as unix seconds: the document says
    # ISO 8601 date-time, and "0.5" is not one
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise Invalid("an ISO 8601 date-time is expected, e.g. 2025-01-15T07:30:00Z")
    return value


UtcDateTime = Annotated[dt.datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]
"""An ISO 8601 time (UTC if it has no zone), converted to naive UTC."""


# They reorder how text displays: a name could read differently from what it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _one_line(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS:
            raise Invalid("must not contain control characters (line breaks, tabs, escapes)")
    return value


PlainText = Annotated[str, AfterValidator(_one_line)]
"""A name or label: one line of text, no control characters (they forge log lines,
break the dashboard's layout and hide what a name says)."""

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id in a query string or a body: 1 to 2**31 - 1."""


class RowIdConverter(IntConverter):
    """Falcon's ``int`` converter bounded to row ids, ASCII digits only.

    ``int()`` reads other scripts' digits (``'٣'`` is 3), so a path could name one row
    many ways; anything but 1-10 ASCII digits in range does not match (404).
    """

    def __init__(self) -> None:
        super().__init__(min=1, max=MAX_ROW_ID)

    def convert(self, value: str) -> Any:
        if not (value.isascii() and value.isdigit()):
            return None
        return super().convert(value)
