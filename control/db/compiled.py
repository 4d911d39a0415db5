"""Hot queries rendered to SQL once, then only executed.

peewee renders a query's SQL text and parameters anew on every execution: about 0.4 ms
of CPU each for the app list's COUNT and SELECT, more than the database takes to answer
them. :func:`rows` and :func:`count` keep the rendered statement per ``key`` (and bound
database) in a bounded LRU and send it again as it is; the rows come back as peewee
makes them (models, joined models under their ``attr``), through the query's own cursor
wrapper. :func:`tuple_rows` also keeps the columns' converters (each selected field's
``python_value``, as peewee chose them from the first answer's columns, less those that
change nothing psycopg2 returns) and reads the rows with ``fetchall``, without the
cursor wrapper's per-row machinery; :func:`counted_tuple_rows` reads an offset page and
the count of the whole query in one statement.

A keyset page's statement differs from the last one only in the values of its "after
this key" condition: :func:`spliced_rows` and :func:`spliced_tuple_rows` keep it per
shape and splice the condition's parameters in (a deep page costs what the first does).

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
from peewee import (
    SQL,
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    DoubleField,
    FieldAlias,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    ModelSelect,
    PostgresqlDatabase,
    Select,
    SmallIntegerField,
    TextField,
    fn,
)

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
# a spliced statement: its SQL, its part's SQL, the parameters before and after the part's
_spliced_statements: LRUCache[Slot, tuple[str, str, tuple[Any, ...], tuple[Any, ...]]] = LRUCache(
    MAX_STATEMENTS
)


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
    statement = rendered(build())
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


def _counting(build: Callable[[], ModelSelect[M]]) -> Select:
    # peewee's own ``query.count()``: the rows of the query, unordered, counted
    wrapped: Any = build().order_by().alias("_wrapped")
    if wrapped._count_can_project_one():
        wrapped = wrapped.select(SQL("1"))
    return Select([wrapped], [fn.COUNT(SQL("1"))])


def count(key: Hashable, query: Query[M]) -> int:
    """``query.count()`` (peewee's own statement), rendered once per ``key``."""
    build = builder(query)
    sql, params = _rendered("count", key, lambda: _counting(build))
    row = database.execute_sql(sql, params).fetchone()
    return int(row[0]) if row else 0


def with_count(
    page: Callable[[], ModelSelect[M]], whole: Callable[[], ModelSelect[M]]
) -> Callable[[], ModelSelect[M]]:
    """The function that builds ``page()`` with one more column, last: the count of the
    rows of ``whole()``, a scalar subquery that refers to nothing outside itself, so the
    database computes it once (PostgreSQL's InitPlan). Read with :func:`split_count`."""
    return lambda: page().select_extend(_counting(whole).alias("_total"))


def split_count(
    found: list[tuple[Any, ...]], otherwise: Callable[[], int]
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of a statement built by :func:`with_count` without the count, and the
    count; a page past the end has no row to carry it: ``otherwise()`` then."""
    if not found:
        return [], otherwise()
    return [row[:-1] for row in found], int(found[0][-1])


def counted_tuple_rows(
    key: Hashable, query: Query[M], page: int, per_page: int
) -> tuple[list[tuple[Any, ...]], int]:
    """Offset page ``page`` of :func:`tuple_rows` and :func:`count` of the whole query,
    in one statement (:func:`with_count`); past the last page the count is a statement
    of its own."""
    build = builder(query)
    counted = with_count(lambda: build().paginate(page, per_page), build)

    def statement() -> Any:
        return counted().tuples()

    sql, params = _rendered("counted", (key, page, per_page), statement)
    found = _read_tuples((database.obj, "counted", key), sql, params, statement)
    return split_count(found, lambda: count(key, build) if page > 1 else 0)


def tuple_rows(key: Hashable, query: Query[M]) -> list[tuple[Any, ...]]:
    """``list(query.tuples())``, with the SQL rendered once per ``key``, and the values
    converted by the converters peewee chose for the first answer's columns."""
    build = builder(query)
    sql, params = _rendered("tuples", key, lambda: build().tuples())
    return _read_tuples((database.obj, "tuples", key), sql, params, build)


def spliced_tuple_rows(
    key: Hashable, query: Query[M], part: tuple[str, tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """:func:`tuple_rows` of ``query``, which holds an expression (``part``: its SQL and
    parameters) whose values change with every call, as a keyset page's "after this
    key" does: see :func:`_spliced`."""
    build = builder(query)
    slot, sql, params = _spliced("spliced-tuples", key, lambda: build().tuples(), part)
    return _read_tuples(slot, sql, params, build)


def spliced_rows(
    key: Hashable,
    query: ModelSelect[M],
    part: tuple[str, tuple[Any, ...]],
    whole: Callable[[], ModelSelect[M]],
) -> list[M]:
    """The models of the statement ``whole()`` builds, which is ``query`` (the same
    columns: its cursor wrapper makes the models) narrowed by an expression (``part``:
    its SQL and parameters) whose values change with every call: see :func:`_spliced`.
    ``whole`` is called only when the statement is not kept."""
    _slot, sql, params = _spliced("spliced-rows", key, whole, part)
    return _hydrated(query, database.execute_sql(sql, params))


def _spliced(
    kind: str, key: Hashable, build: Callable[[], Any], part: tuple[str, tuple[Any, ...]]
) -> tuple[Slot | None, str, tuple[Any, ...]]:
    """The statement of ``build()`` with ``part``'s parameters, and its slot (None when
    it is not kept).

    The statement is rendered once per ``key``; each call then splices ``part``'s
    parameters in where the first rendering had them. ``key`` must determine the
    statement but for ``part``'s parameters (for a keyset page: the filter, the sort,
    the page size, which key values are NULL). Where ``part`` is other SQL than it was
    for ``key``, the statement is rendered anew; where its parameters are not found
    exactly once among the statement's, it is not kept.
    """
    part_sql, part_params = part
    bound: Database = database.obj
    slot = (bound, kind, key)
    with _lock:
        kept = _spliced_statements.get(slot)
    if kept is None or kept[1] != part_sql:
        sql, params = rendered(build())
        n = len(part_params)
        at = [i for i in range(len(params) - n + 1) if params[i : i + n] == part_params]
        if len(at) != 1:
            return None, sql, params
        kept = (sql, part_sql, params[: at[0]], params[at[0] + n :])
        with _lock:
            _spliced_statements[slot] = kept
    sql, _, before, after = kept
    return slot, sql, (*before, *part_params, *after)


def rendered(node: Any) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of an expression, as the bound database renders it."""
    context: Any = database.obj.get_sql_context()  # peewee's Context is untyped
    sql, params = context.sql(node).query()
    return sql, tuple(params)


def _read_tuples(
    slot: Slot | None, sql: str, params: tuple[Any, ...], build: Callable[[], Any]
) -> list[tuple[Any, ...]]:
    """The rows of the statement, converted by the converters kept for ``slot`` (found
    from the answer's columns the first time; every time for no slot)."""
    cursor = database.execute_sql(sql, params)
    converters = None
    if slot is not None:
        with _lock:
            converters = _converters.get(slot)
    if converters is None:
        as_tuples: Any = build().tuples()  # peewee's cursor wrapper is untyped
        wrapper = as_tuples._get_cursor_wrapper(cursor)
        # peewee resolves the columns lazily, on the first row; from the cursor's
        # description they resolve alike with no row at all (a page without verdicts)
        wrapper.initialize()
        converters = tuple(
            (i, c)
            for i, c in enumerate(wrapper.converters)
            if c is not None and not _native(c, database.obj)
        )
        if slot is not None:
            with _lock:
                _converters[slot] = converters
    return [_converted(row, converters) for row in cursor.fetchall()]


# The peewee fields whose python_value leaves psycopg2's values as they are (an int, a
# str, a datetime, a bool already): on PostgreSQL their converters are skipped, hundreds
# of calls a list page. The other dialects' drivers return other types (SQLite: 0/1 for
# a bool, text for a datetime), so every converter runs there.
_NATIVE_ON_POSTGRESQL = frozenset(
    {
        BigAutoField,
        AutoField,
        BigIntegerField,
        IntegerField,
        SmallIntegerField,
        FloatField,
        DoubleField,
        CharField,
        TextField,
        DateTimeField,
        BooleanField,
    }
)


def _native(converter: Callable[[Any], Any], bound: Database) -> bool:
    """Whether ``converter`` (a field's ``python_value``) changes nothing that the
    database's driver returns."""
    if not isinstance(bound, PostgresqlDatabase):
        return False
    field = getattr(converter, "__self__", None)
    while isinstance(field, FieldAlias | ForeignKeyField):
        field = field.field if isinstance(field, FieldAlias) else field.rel_field
    return type(field) in _NATIVE_ON_POSTGRESQL


def _converted(row: tuple[Any, ...], converters: Converters) -> tuple[Any, ...]:
    values = list(row)
    for i, convert in converters:
        values[i] = convert(values[i])
    return tuple(values)
