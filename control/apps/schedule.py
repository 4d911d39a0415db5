"""An app's schedule: a five-field cron expression read in an IANA time zone.

The API validates both on every configuration write; the agent asks ``next_fire`` when
the next run is due.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from croniter import croniter

from control.errors import InvalidInput


def validate_schedule(expression: str) -> str:
    """A five-field cron expression, whitespace normalised; InvalidInput otherwise."""
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise InvalidInput(
            "Not a valid cron expression: five fields (minute hour day month weekday).",
            field="schedule",
        )
    return " ".join(fields)


def validate_timezone(name: str) -> str:
    """An IANA time zone name such as ``Europe/Berlin``; InvalidInput otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'.",
            field="timezone",
        ) from None
    return name


def next_fire(schedule: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first time after ``after`` (naive UTC) the schedule fires in ``timezone``, as UTC."""
    start = after.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(timezone))
    fire: dt.datetime = croniter(schedule, start).get_next(dt.datetime)
    return fire.astimezone(dt.UTC).replace(tzinfo=None)
