"""Logs: the query of the list and of the export, and the records."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from control.enums import LogLevel
from control.logs.services import DEFAULT_LIMIT, EXPORT_MAX_ROWS
from web.fields import UtcDateTime
from web.schemas.common import CursorMeta
from web.validation import Invalid, QueryModel

LEVEL_NAMES = [level.name for level in LogLevel]
MAX_LEVEL = 100
LEVEL_ERROR = f"must be one of {', '.join(LEVEL_NAMES)} (any case) or a number 0-{MAX_LEVEL}"


def _parse_level(value: Any) -> Any:
    """A level name in any case, or a number, as the numeric level it stands for."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        number = value
    else:
        text = str(value).strip()
        if text.isascii() and text.isdigit():  # int() also reads other scripts' digits
            number = int(text)
        else:
            try:
                return int(LogLevel[text.upper()])
            except KeyError:
                raise Invalid(LEVEL_ERROR) from None
    if number is not None and not 0 <= number <= MAX_LEVEL:
        raise Invalid(LEVEL_ERROR)
    return number


Level = Annotated[
    int,
    BeforeValidator(_parse_level),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": LEVEL_NAMES},
                {"type": "integer", "minimum": 0, "maximum": MAX_LEVEL},
            ]
        }
    ),
]


class LogFilters(QueryModel):
    """The filters shared by the log list and the export."""

    # ``from`` is a keyword: the field is ``since`` with the parameter name as its alias
    model_config = ConfigDict(populate_by_name=True)

    app: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="App id, exact, or a glob: * any characters, ? one (scraper_*).",
    )
    level: Level | None = Field(
        None,
        description="Minimum level: DEBUG, INFO, WARNING, ERROR, CRITICAL (any case) or a "
        "number; WARNING returns WARNING, ERROR and CRITICAL.",
    )
    since: UtcDateTime | None = Field(
        None,
        alias="from",
        description="Only records at or after this time (ISO 8601; UTC if no zone).",
    )
    until: UtcDateTime | None = Field(
        None,
        alias="to",
        description="Only records before this time (ISO 8601, exclusive; UTC if no zone).",
    )
    search: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Full-text words in the message, all required, any case; punctuation "
        "and search operators are ignored.",
    )
    runtime: str | None = Field(None, min_length=1, max_length=200, description="Runtime id.")


class LogListQuery(LogFilters):
    """Filters of the log list; newest first, cursor pages."""

    cursor: str | None = Field(None, max_length=512, description="Opaque cursor from meta.")
    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=1000, description="Records per page (1-1000, default 100)."
    )


class LogExportQuery(LogFilters):
    """Filters of the export, its format and a row cap."""

    format: Literal["ndjson", "csv"] = Field(
        "ndjson", description="ndjson: one JSON object a line; csv: a header row, then rows."
    )
    limit: int = Field(
        EXPORT_MAX_ROWS,
        ge=1,
        le=EXPORT_MAX_ROWS,
        description=f"At most this many records, newest first (default and maximum "
        f"{EXPORT_MAX_ROWS:,}).",
    )


class LogItem(BaseModel):
    id: int
    app: str = Field(description="The app's id.")
    runtime: str | None
    level: str = Field(description="DEBUG, INFO, WARNING, ERROR, CRITICAL, or 'Level <n>'.")
    level_no: int = Field(description="The numeric level (Python logging).")
    module: str
    function: str
    message: str
    timestamp: dt.datetime


class LogListResponse(BaseModel):
    data: list[LogItem]
    meta: CursorMeta
