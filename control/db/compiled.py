"""Hot queries rendered to SQL once, then only executed.

peewee renders a query's SQL text and parameters anew on every execution: about 0.4 ms
of CPU each for the app list's COUNT and SELECT, more than the database takes to answer
them. :func:`rows` and :func:`count` keep the rendered statement per ``key`` (and bound
database) in a bounded LRU and send it again as it is; the rows come back as peewee
makes them (models, joined models under their ``attr``), through the query's own cursor
wrapper. :func:`tuple_rows` also keeps the columns' converters (each selected field's
``python_value``, as peewee chose them the first time) and reads the rows with
``fetchall``, without the cursor wrapper's per-row machinery.

A query may be given as a function that builds it: it is then built only when its
statement or converters are not kept yet (building a list's query with its joins,
filters and sort costs more CPU than reading the page's kept answer takes).

The rule for callers: ``key`` must determine the statement completely, i.e. be made of
every argument the query is built from (a frozen filter, the sort, the page): the same
key, the same SQL and the same parameters. A query that reads the clock or anything else
outside its arguments must not be keyed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeAlias, TypeVar

from cachetools import LRUCache
from peewee import SQL, Database, Model, ModelSelect, Select, fn

from control.db.database import database

MAX_STATEMENTS = 1024

M = TypeVar("M", bound=Model)
# the query, or how to build it (a string: peewee's classes are generic in its stubs only)
Query: TypeAlias = "ModelSelect[M] | Callable[[], ModelSelect[M]]"
Statement = tuple[str, tuple[Any, ...]]
Slot = tuple[Database, str, Hashable]
Converters = tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, python_value)

_lock = threading.Lock()
_statements: LRUCache[Slot, Statement] = LRUCache(MAX_STATEMENTS)
_converters: LRUCache[Slot, Converters] = LRUCache(MAX_STATEMENTS)


def builder(query: Query[M]) -> Callable[[], ModelSelect[M]]:
    """The function that builds ``query`` (which may be that function already)."""
    if callable(query):
        return query
    return lambda: query


def _rendered(kind: str, key: Hashable, build: Any) -> Statement:
    """The statement for ``key``: kept, or ``build()`` rendered now and kept."""
    bound: Database = database.obj
    slot = (bound, kind, key)
    with _lock:
        kept = _statements.get(slot)
    if kept is not None:
        return kept
    context: Any = bound.get_sql_context()  # peewee's Context is untyped
    sql, params = context.sql(build()).query()
    statement = (sql, tuple(params))
    with _lock:
        _statements[slot] = statement
    return statement


def _hydrated(query: Any, cursor: Any) -> list[Any]:
    # the rows as executing ``query`` makes them: its own cursor wrapper (peewee's
    # ``_execute`` does exactly this with the SQL it has just rendered)
    return list(query._get_cursor_wrapper(cursor))


def rows(key: Hashable, query: Query[M]) -> list[M]:
    """``list(query)``, with the SQL rendered once per ``key``."""
    built = builder(query)()  # its cursor wrapper makes the models
    sql, params = _rendered("rows", key, lambda: built)
    cursor = database.execute_sql(sql, params)
    return _hydrated(built, cursor)


def count(key: Hashable, query: Query[M]) -> int:
    """``query.count()`` (peewee's own statement), rendered once per ``key``."""
    build = builder(query)

    def counting() -> Select:
        wrapped: Any = build().order_by().alias("_wrapped")
        if wrapped._count_can_project_one():
            wrapped = wrapped.select(SQL("1"))
        return Select([wrapped], [fn.COUNT(SQL("1"))])

    sql, params = _rendered("count", key, counting)
    row = database.execute_sql(sql, params).fetchone()
    return int(row[0]) if row else 0


def tuple_rows(key: Hashable, query: Query[M]) -> list[tuple[Any, ...]]:
    """``list(query.tuples())``, with the SQL rendered once per ``key``, and the values
    converted by the converters peewee chose for the first answer that had a row."""
    build = builder(query)
    sql, params = _rendered("tuples", key, lambda: build().tuples())
    cursor = database.execute_sql(sql, params)
    slot = (database.obj, "tuples", key)
    with _lock:
        converters = _converters.get(slot)
    if converters is None:
        as_tuples: Any = build().tuples()  # peewee's cursor wrapper is untyped
        wrapper = as_tuples._get_cursor_wrapper(cursor)
        rows: list[tuple[Any, ...]] = list(wrapper)
        if rows:  # peewee resolves the columns on the first row
            kept = tuple((i, c) for i, c in enumerate(wrapper.converters) if c is not None)
            with _lock:
                _converters[slot] = kept
        return rows
    return [_converted(row, converters) for row in cursor.fetchall()]


def _converted(row: tuple[Any, ...], converters: Converters) -> tuple[Any, ...]:
    values = list(row)
    for i, convert in converters:
        values[i] = convert(values[i])
    return tuple(values)
