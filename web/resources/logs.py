"""``/api/v1/logs``: application logs, searched and paged, and their export.

The export streams: each batch of records is read in a worker thread with a database
connection of its own (:func:`web.concurrency.run_db`), encoded and sent before the next
one is read, so neither the server nor the database holds the whole result.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import falcon.asgi

from control.clock import naive_utc
from control.logs import services
from web import envelope, media
from web.concurrency import run_db
from web.cursor import CursorCodec
from web.openapi import operation
from web.permissions import READ
from web.routing import uri_template
from web.schemas.logs import LogExportQuery, LogListQuery, LogListResponse
from web.validation import filters

TAGS = ("logs",)
CSV_COLUMNS = (
    "id",
    "timestamp",
    "app",
    "runtime",
    "level",
    "level_no",
    "module",
    "function",
    "message",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection);
# such cells get a leading apostrophe, which makes the spreadsheet show them as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, as web/media.py writes datetimes (naive means UTC)."""
    return cast(dt.datetime, naive_utc(value)).isoformat() + "Z"  # None only for None


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: datetimes in ISO 8601, formulas neutralised, None empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(rows: list[list[Any]]) -> bytes:
    """Rows as CSV (RFC 4180: quoted where needed, CRLF line ends), UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def encode_csv(batch: list[dict[str, Any]]) -> bytes:
    return csv_lines([[csv_cell(item[c]) for c in CSV_COLUMNS] for item in batch])


def encode_ndjson(batch: list[dict[str, Any]]) -> bytes:
    return b"".join(media.dumps(item) + b"\n" for item in batch)


async def stream(
    batches: Iterator[list[dict[str, Any]]],
    encode: Callable[[list[dict[str, Any]]], bytes],
    head: bytes = b"",
) -> AsyncIterator[bytes]:
    """The encoded batches, each read by one ``next()`` in a worker thread."""
    if head:
        yield head
    while True:
        # One query per step, in its own connection context; nothing stays open between
        # steps, so a client that goes away leaves nothing to clean up but the generator.
        batch = await run_db(next, batches, None)
        if batch is None:
            return
        yield encode(batch)


class LogsResource:
    """Log records newest first, in cursor pages."""

    def __init__(self, cursors: CursorCodec) -> None:
        self.cursors = cursors

    @operation(
        "List logs",
        tags=TAGS,
        query=LogListQuery,
        response=LogListResponse,
        errors=(400,),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Records newest first, in cursor pages of ``limit`` (default 100, at most 1000).

        ``app`` is an exact id or a glob (``scraper_*``; ``*`` any characters, ``?`` one);
        ``level`` is the minimum level; ``from`` is inclusive and ``to`` exclusive;
        ``search`` needs every word in the message (full-text index, any case).
        """
        q: LogListQuery = req.context.query
        scope = uri_template(req)
        after = self.cursors.decode(scope, q.cursor) if q.cursor else None
        items, key = await run_db(services.list_logs, filters(services.LogQuery, q), after)
        next_cursor = self.cursors.encode(scope, key) if key else None
        resp.media = envelope.cursor_page(items, next_cursor, q.limit)


class LogExportResource:
    """The records of a log query as a download."""

    @operation("Export logs", tags=TAGS, query=LogExportQuery, roles=READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The filters of the list, streamed newest first as an attachment: ``ndjson``
        (``application/x-ndjson``, one record a line, the list's item shape) or ``csv``
        (``text/csv``, a header row; cells starting with ``=``, ``+``, ``-``, ``@``, a tab
        or a carriage return get a leading ``'`` so spreadsheets do not run them).

        At most ``limit`` records (default and maximum 1,000,000), read in batches of
        1,000.
        """
        q: LogExportQuery = req.context.query
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        resp.content_type = CONTENT_TYPES[q.format]
        resp.set_header("Content-Disposition", f'attachment; filename="logs-{stamp}.{q.format}"')
        batches = services.export_batches(filters(services.LogQuery, q))
        if q.format == "csv":
            resp.stream = stream(batches, encode_csv, head=csv_lines([list(CSV_COLUMNS)]))
        else:
            resp.stream = stream(batches, encode_ndjson)
