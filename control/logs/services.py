"""Reading application logs: filtered pages newest first, full-text search and exports.

The filters of :class:`LogQuery`, all optional and combined with AND:

* ``app``: an app id, exact, or a glob where ``*`` is any run of characters and ``?``
  one character (everything else literal, ``_`` and ``%`` included); see
  :func:`app_matches`. Case-sensitive, like the exact match.
* ``level``: the minimum numeric level (``Logs.level >= level``).
* ``since`` (inclusive) and ``until`` (exclusive) on ``timestamp``, naive UTC.
* ``search``: full-text words in ``message``; every word must occur (AND), in any
  case. Only words count: the text is split on whitespace and chunks without a letter
  or digit are dropped, so no search syntax reaches the engine. A search without any
  word matches nothing.
* ``runtime``: an exact runtime id.

Full-text search goes through each dialect's index, never ``LIKE '%…%'``:

* SQLite: the FTS5 table ``logs_fts`` (external content, rowid = ``logs.id``, kept in
  step by triggers; migration 0001): ``logs.id IN (SELECT rowid FROM logs_fts WHERE
  logs_fts MATCH ?)`` with the words quoted as FTS5 strings and ANDed
  (``"timeout" AND "registry"``), so operators, ``*``, ``NEAR``, column filters and
  stray quotes in the user's text are plain characters.
* PostgreSQL: ``message_tsv @@ plainto_tsquery('simple', %s)``, where ``message_tsv``
  is ``to_tsvector('simple', message)`` stored (a generated column with the GIN index
  ``logs_message_tsv``, migration 0016). The planner picks by the word's frequency (the
  column's statistics): a rare word from the GIN index (a bitmap index scan), a common
  one by walking the newest rows of the ``timestamp`` (or ``(app_id, timestamp)``)
  index and testing each row's stored vector, which stops at a page of matches instead
  of reading all of them (1% of 10,000,000 rows: 100,000) and sorting them.
  ``plainto_tsquery`` ANDs the words and ignores punctuation, like the SQLite form.
* SQL Server: migration 0001 creates no full-text catalog (it needs one the DBA owns),
  so each word must occur as a substring (``message LIKE '%word%'``): a scan, fine on
  small tables only.

The two tokenizers differ at the edges: FTS5's ``unicode61`` also folds diacritics,
PostgreSQL's ``simple`` also keeps compound tokens (``foo-bar``, host names); plain
words match the same rows on both.

Pages are keysets newest first on ``(timestamp DESC, id DESC)``; :func:`export_batches`
walks the same order in batches, so an export never holds more than one batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import OP, SQL, Expression, Field, ModelSelect, NodeList, Value, fn

from control.db.database import dialect
from control.enums import LogLevel
from control.logs.models import MESSAGE_WORDS, Logs
from control.querying import keyset_page, within

# newest first; the id breaks ties between records written in the same instant
ORDER = ((Logs.timestamp, True), (Logs.id, True))
DEFAULT_LIMIT = 100
BATCH_SIZE = 1000
EXPORT_MAX_ROWS = 1_000_000
GLOB_CHARS = frozenset("*?")
_WORD = re.compile(r"[^\W_]")  # a letter or digit, in any script


@dataclass(frozen=True)
class LogQuery:
    """The filters of the log list and export; None means 'any'.

    ``limit`` is the page size of the list and the row cap of an export.
    """

    app: str | None = None
    level: int | None = None
    since: dt.datetime | None = None  # inclusive, naive UTC
    until: dt.datetime | None = None  # exclusive, naive UTC
    search: str | None = None
    runtime: str | None = None
    limit: int = DEFAULT_LIMIT


# --- Building blocks ------------------------------------------------------------------------


def _escaped_like(field: Field, pattern: str) -> Expression:
    # The form peewee's own contains()/startswith() build, which the SQL Server dialect
    # recognises (it also makes a literal '[' safe there).
    return Expression(
        field,
        OP.LIKE,
        NodeList((Value(pattern, converter=False), SQL("ESCAPE"), Value("\\", converter=False))),
    )


def app_matches(field: Field, pattern: str) -> Expression:
    """``field`` equals ``pattern``, or matches it as a glob when it has ``*`` or ``?``.

    PostgreSQL and SQL Server: ``LIKE`` with ``\\`` as the escape character, ``%``,
    ``_`` and ``\\`` of the pattern escaped first (``scraper_*`` becomes
    ``LIKE 'scraper\\_%' ESCAPE '\\'``). SQLite: ``GLOB`` with ``[`` written as ``[[]``;
    unlike SQLite's LIKE it is case-sensitive as on PostgreSQL, and it can use the
    index for a literal prefix.
    """
    if not GLOB_CHARS.intersection(pattern):
        return field == pattern
    if dialect() == "sqlite":
        return Expression(field, "GLOB", Value(pattern.replace("[", "[[]"), converter=False))
    like = (
        pattern.replace("\\", "\\\\")
        .replace("%", "\\%")
        .replace("_", "\\_")
        .replace("*", "%")
        .replace("?", "_")
    )
    return _escaped_like(field, like)


def search_terms(text: str) -> list[str]:
    """The words of a search: whitespace-separated chunks with a letter or a digit."""
    return [chunk for chunk in text.split() if _WORD.search(chunk)]


def fts5_query(terms: Sequence[str]) -> str:
    """An FTS5 query that requires every term, each one quoted as a plain string."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)


def full_text(terms: Sequence[str]) -> Any:
    """The condition 'message contains every term', through the dialect's index."""
    if not terms:
        return SQL("1 = 0")
    kind = dialect()
    if kind == "sqlite":
        return Logs.id.in_(
            SQL("(SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)", (fts5_query(terms),))
        )
    if kind == "postgresql":
        # The stored vector of the message (with the GIN index on it), 'simple' as it is.
        words = fn.plainto_tsquery(SQL("'simple'"), " ".join(terms))
        return Expression(MESSAGE_WORDS, "@@", words)
    condition = Logs.message.contains(terms[0])
    for term in terms[1:]:
        condition &= Logs.message.contains(term)
    return condition


def filtered(q: LogQuery) -> ModelSelect[Logs]:
    """The log rows matching ``q``, unordered and unlimited."""
    query = Logs.select()
    if q.app is not None:
        query = query.where(app_matches(Logs.app, q.app))
    if q.level is not None:
        query = query.where(Logs.level >= q.level)
    query = within(query, Logs.timestamp, q.since, q.until)
    if q.runtime is not None:
        query = query.where(Logs.runtime == q.runtime)
    if q.search is not None:
        query = query.where(full_text(search_terms(q.search)))
    return query


def level_name(level: int) -> str:
    """``WARNING`` for 30; ``Level 25`` (as :mod:`logging` says) for a custom level."""
    try:
        return LogLevel(level).name
    except ValueError:
        return logging.getLevelName(level)


def item(row: Logs) -> dict[str, Any]:
    """One log record as the API shows it."""
    return {
        "id": row.id,
        "app": row.app,
        "runtime": row.runtime,
        "level": level_name(row.level),
        "level_no": row.level,
        "module": row.module,
        "function": row.function,
        "message": row.message,
        "timestamp": row.timestamp,
    }


# --- Reading --------------------------------------------------------------------------------


def list_logs(
    q: LogQuery, after: Sequence[Any] | None = None
) -> tuple[list[dict[str, Any]], tuple[Any, ...] | None]:
    """One page of ``q.limit`` records newest first, after the row key ``after``."""
    rows, key = keyset_page(filtered(q), ORDER, after, q.limit, key=("logs", q))
    return [item(r) for r in rows], key


def export_batches(q: LogQuery, batch_size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    """Every record matching ``q`` (at most ``q.limit``), newest first, in keyset batches.

    Each ``next()`` runs one query of at most ``batch_size + 1`` rows, so the caller can
    step it from a worker thread inside a connection of its own.
    """
    base = filtered(q)
    remaining = q.limit
    after: tuple[Any, ...] | None = None
    while remaining > 0:
        rows, key = keyset_page(base, ORDER, after, min(batch_size, remaining))
        if rows:
            yield [item(r) for r in rows]
        remaining -= len(rows)
        if key is None:
            return
        after = key


def export_rows(q: LogQuery, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """The records of :func:`export_batches` one by one (for synchronous callers)."""
    for batch in export_batches(q, batch_size):
        yield from batch
