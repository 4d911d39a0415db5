"""The clock: every timestamp column holds naive UTC, and these helpers make it so."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Naive UTC now: every timestamp column holds UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as the columns hold it: an aware time converted to UTC, its zone
    dropped; a time without a zone is taken as UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)
