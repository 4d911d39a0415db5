"""Query building shared by the services: sorting against an allowlist, pages, keysets."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from cachetools import LRUCache
from peewee import (
    SQL,
    BaseQuery,
    Case,
    ColumnBase,
    Field,
    IntegerField,
    Model,
    ModelSelect,
    Node,
    SelectBase,
    Value,
    fn,
)

from control.clock import naive_utc
from control.db import compiled
from control.db.database import database, dialect
from control.errors import InvalidInput

M = TypeVar("M", bound=Model)
"""The model a query selects; the helpers hand back a query of the same model."""
V = TypeVar("V")


def tuples(query: BaseQuery) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as tuples.

    peewee's stubs type ``.tuples()`` as returning the same query, whose iterator yields
    model instances; at run time it yields tuples. This is the one place that says so.
    """
    return cast("Iterator[tuple[Any, ...]]", iter(query.tuples()))


def one_tuple(query: SelectBase) -> tuple[Any, ...]:
    """The one row of ``query`` as a tuple (``.tuples().get()``; see :func:`tuples`)."""
    return cast("tuple[Any, ...]", query.tuples().get())


def primary_key(model: type[Model]) -> Field[Any]:
    """``model``'s primary key field (peewee types it ``Field | False``: every model
    here has one)."""
    key: Field[Any] | Literal[False] = model._meta.primary_key
    if key is False:
        raise TypeError(f"{model.__name__} has no primary key")
    return key


def python_value(field: Field[V], value: object) -> V:
    """A raw column value (from ``.tuples()`` or a subquery) as ``field`` reads it."""
    return cast(V, field.python_value(value))  # type: ignore[no-untyped-call]  # peewee stub


@dataclass(frozen=True)
class SortKey:
    """One sort term: a public field name and its direction."""

    name: str
    descending: bool = False


def parse_sort(text: str | None, allowed: Sequence[str]) -> list[SortKey]:
    """Parse ``-field,other`` into sort keys, refusing names outside ``allowed``."""
    if not text:
        return []
    keys: list[SortKey] = []
    for raw in text.split(","):
        term = raw.strip()
        descending = term.startswith("-")
        name = term.lstrip("+-")
        if name not in allowed:
            raise InvalidInput(
                f"cannot sort by {name!r}; allowed: {', '.join(sorted(allowed))}", field="sort"
            )
        keys.append(SortKey(name, descending))
    return keys


def apply_sort(
    query: ModelSelect[M],
    keys: Sequence[SortKey],
    columns: Mapping[str, ColumnBase],
    tiebreak: ColumnBase,
) -> ModelSelect[M]:
    """Order ``query`` by ``keys`` then by a unique ``tiebreak`` so pages are stable."""
    order = [columns[k.name].desc() if k.descending else columns[k.name].asc() for k in keys]
    if not any(columns[k.name] is tiebreak for k in keys):
        order.append(tiebreak.asc())
    return query.order_by(*order)


def where_given(query: ModelSelect[M], columns: Mapping[Any, Any]) -> ModelSelect[M]:
    """``query`` narrowed to ``column == value`` for each value given: a filter that is
    None means any."""
    for column, value in columns.items():
        if value is not None:
            query = query.where(column == value)
    return query


def within(
    query: ModelSelect[M], column: Any, since: dt.datetime | None, until: dt.datetime | None
) -> ModelSelect[M]:
    """``query`` narrowed to ``since <= column < until`` (naive UTC); a bound that is
    None is open."""
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


@dataclass(frozen=True)
class Page:
    """One offset page of rows and the numbers for ``meta``; a list that also pages by
    keyset gives the key of the page's last row when more rows follow (else None)."""

    rows: list[Any]
    page: int
    per_page: int
    total: int
    next_key: tuple[Any, ...] | None = None

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


def paginate(
    query: compiled.Query[M],
    page: int,
    per_page: int,
    key: Hashable | None = None,
    *,
    as_tuples: bool = False,
) -> Page:
    """Run ``query`` for one offset page and count the whole result.

    With a ``key`` that determines ``query`` completely (control/db/compiled.py), the
    statements are rendered to SQL once per key and page (as tuples, one statement: the
    count rides in the page's SELECT), and a ``query`` given as the function that builds
    it is built only then. ``as_tuples``: the rows are tuples of the selected columns'
    values (``.tuples()``), not models."""
    build = compiled.builder(query)
    if key is not None and as_tuples:
        tuples, total = compiled.counted_tuple_rows(key, build, page, per_page)
        return Page(rows=tuples, page=page, per_page=per_page, total=total)
    if key is not None:
        total = compiled.count(key, build)
        models = compiled.rows((key, page, per_page), lambda: build().paginate(page, per_page))
        return Page(rows=models, page=page, per_page=per_page, total=total)
    built = build()
    total = built.order_by().count()
    rows = list((built.tuples() if as_tuples else built).paginate(page, per_page))
    return Page(rows=rows, page=page, per_page=per_page, total=total)


def _nulls_first(descending: bool) -> bool:
    # PostgreSQL sorts NULL above every value (last ascending, first descending);
    # SQLite and SQL Server below every value
    return descending == (dialect() == "postgresql")


def _nullable(column: ColumnBase) -> bool:
    return not isinstance(column, Field) or bool(column.null)


def _beyond(column: ColumnBase, descending: bool, value: Any) -> Any:
    """The rows after ``value`` in ``column``'s order, NULLs where the dialect sorts them."""
    nulls_first = _nulls_first(descending)
    if value is None:
        return column.is_null(False) if nulls_first else SQL("1 = 0")
    beyond = column < value if descending else column > value
    return beyond if nulls_first or not _nullable(column) else beyond | column.is_null()


def _equal(column: ColumnBase, value: Any) -> Any:
    return column.is_null() if value is None else column == value


def keyset_after(
    query: ModelSelect[M], order: Sequence[tuple[ColumnBase, bool]], after: Sequence[Any]
) -> ModelSelect[M]:
    """``query`` narrowed to the rows strictly after the key ``after`` in ``order``:
    :func:`keyset_condition`."""
    return query.where(keyset_condition(order, after))


def keyset_condition(
    order: Sequence[tuple[ColumnBase, bool]],
    after: Sequence[Any],
    mark: Callable[[int, Any], Any] | None = None,
) -> Any:
    """The rows strictly after the key ``after`` in ``order`` ((column, descending), the
    last one unique), as the dialect orders them, NULLs included.

    The condition is ``first <= key AND (first < key OR ...)`` (``>=`` ascending): the
    leading bound alone is a range an index on the first column (or on a filter column
    and it) starts from, so a deep page reads about as many rows as the first instead of
    skipping every row before it. The OR alone is not a range to the planner. (Row
    values, ``(a, b) < (x, y)``, would say the same but SQL Server has none.) Where the
    first key is NULL or NULLs follow it, the bound is left out.

    Where the order is a column that cannot be NULL and an integer id (the logs',
    runtimes', function logs' and activity's ``(time, id)``), the same rows are ``first
    <= key AND id < CASE WHEN first = key THEN key id ELSE <the largest id> END`` (``>``
    and the smallest ascending): one comparison the planner neither matches to an index
    nor estimates, the bound doing the range's work. PostgreSQL plans it far faster on a
    table of many time partitions, each of whose indexes it would otherwise cost the OR
    against (fleet_scale's 10,000,000 logs in 39 partitions, median planning time: the
    first page 0.47 ms; a deep one 0.70 ms so, 0.88 ms with ``NOT (first = key AND
    id >= key id)``, 1.6 ms with the OR).
    """
    if len(after) != len(order):
        raise InvalidInput("cursor does not fit this query", field="cursor")
    if mark is not None:  # each value replaced by what ``mark`` makes of it (not NULLs)
        after = [v if v is None else mark(i, v) for i, v in enumerate(after)]
    first, first_descending = order[0]
    if after[0] is not None and (_nulls_first(first_descending) or not _nullable(first)):
        bound = first <= after[0] if first_descending else first >= after[0]
        if _time_and_id(order) and after[1] is not None:
            last, last_descending = order[1]
            beyond = _ID_MAX if last_descending else _ID_MIN
            tie = Case(None, [(first == after[0], after[1])], beyond)
            return bound & (last < tie if last_descending else last > tie)
        return bound & _after(order, after)
    return _after(order, after)


# beyond every id: literals, not parameters (a keyset part's parameters are key values)
_ID_MAX = SQL(str(2**63 - 1))
_ID_MIN = SQL(str(-(2**63)))


def _time_and_id(order: Sequence[tuple[ColumnBase, bool]]) -> bool:
    """Whether ``order`` is a column that cannot be NULL, then an integer field that
    cannot either (its tiebreak, unique)."""
    return (
        len(order) == 2
        and not any(_nullable(column) for column, _ in order)
        and isinstance(order[1][0], IntegerField)
    )


def _after(order: Sequence[tuple[ColumnBase, bool]], after: Sequence[Any]) -> Any:
    """``a after x OR (a = x AND b after y) OR ...``: the rows after the key."""
    condition = None
    for depth, (column, descending) in enumerate(order):
        term = _beyond(column, descending, after[depth])
        for i in range(depth):
            term = _equal(order[i][0], after[i]) & term
        condition = term if condition is None else condition | term
    return condition


@dataclass(frozen=True)
class _Marked:
    index: int  # of the key value a parameter is


_recipes_lock = threading.Lock()
# per database and shape: the keyset condition's SQL and, per parameter, which key value
# it is and the converter peewee applies to it (None: no recipe, render each time)
_recipes: LRUCache[tuple[Any, Hashable], Any] = LRUCache(1024)


def keyset_part(
    shape: Hashable, order: Sequence[tuple[ColumnBase, bool]], after: Sequence[Any]
) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of :func:`keyset_condition` for ``after``.

    Rendered by peewee the first time per ``shape`` (which must determine ``order`` and
    which values of ``after`` are NULL); then, where that rendering with each value
    marked showed which value each parameter is (and computing them gave peewee's own
    parameters), computed from that recipe: rendering the condition was most of what a
    deep page cost more than the first.
    """
    slot = (database.obj, shape)
    with _recipes_lock:
        recipe = _recipes.get(slot, ...)
    if recipe is ...:
        sql, params = compiled.rendered(keyset_condition(order, after))
        marked = keyset_condition(order, after, lambda i, _v: Value(_Marked(i), converter=False))
        marked_sql, marked_params = compiled.rendered(marked)
        converters = [c.db_value if isinstance(c, Field) else None for c, _ in order]
        recipe = None
        if marked_sql == sql and all(isinstance(p, _Marked) for p in marked_params):
            steps = tuple((p.index, converters[p.index]) for p in marked_params)
            if _by_recipe(steps, after) == params:
                recipe = (sql, steps)
        with _recipes_lock:
            _recipes[slot] = recipe
        return sql, params
    if recipe is None:
        return compiled.rendered(keyset_condition(order, after))
    sql, steps = recipe
    return sql, _by_recipe(steps, after)


def _by_recipe(
    steps: Sequence[tuple[int, Callable[[Any], Any] | None]], after: Sequence[Any]
) -> tuple[Any, ...]:
    return tuple(after[i] if convert is None else convert(after[i]) for i, convert in steps)


def keyset_page(
    query: ModelSelect[M],
    order: Sequence[tuple[Field[Any], bool]],
    after: Sequence[Any] | None,
    limit: int,
    key: Hashable | None = None,
) -> tuple[list[Any], tuple[Any, ...] | None]:
    """One keyset page: rows strictly after ``after`` in ``order`` (field, descending;
    :func:`keyset_after`).

    The last field of ``order`` must be unique so that the key identifies a row. Returns
    the rows and the key of the last row when more rows follow, else None.

    With a ``key`` that determines ``query`` completely (control/db/compiled.py) the
    first page's statement is rendered once, and a later page's once per shape of
    ``after`` with its values spliced in: a deep page costs what the first does.
    """
    ordering = [field.desc() if descending else field.asc() for field, descending in order]
    if key is None:
        if after is not None:
            query = keyset_after(query, order, after)
        rows = list(query.order_by(*ordering).limit(limit + 1))
    elif after is None:
        rows = compiled.rows((key, limit), query.order_by(*ordering).limit(limit + 1))
    else:
        shape = (key, limit, tuple(value is None for value in after))
        part = keyset_part(shape, order, after)

        def following() -> ModelSelect[M]:
            beyond = keyset_condition(order, after)
            return query.where(beyond).order_by(*ordering).limit(limit + 1)

        rows = compiled.spliced_rows(shape, query, part, following)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, tuple(getattr(last, field.name) for field, _ in order)


PERIODS: dict[str, dt.timedelta] = {
    "last_1h": dt.timedelta(hours=1),
    "last_24h": dt.timedelta(hours=24),
    "last_7d": dt.timedelta(days=7),
}
"""The named look-back windows the figures endpoints accept."""

BUCKET_UNITS = ("hour", "day")
_SQLITE_BUCKET_FORMATS = {"hour": "%Y-%m-%dT%H:00:00", "day": "%Y-%m-%dT00:00:00"}


def time_bucket(field: Node, unit: str) -> ColumnBase:
    """``field`` truncated to the start of its ``unit`` ('hour' or 'day'), in SQL.

    PostgreSQL ``date_trunc``, SQLite ``strftime`` (ISO text), SQL Server
    ``DATEADD(unit, DATEDIFF(unit, 0, field), 0)``. The unit and format are literals
    from an allowlist, so the select and the GROUP BY render the same expression. Read
    the values back through :func:`bucket_start`.
    """
    if unit not in BUCKET_UNITS:
        raise ValueError(f"unknown time bucket {unit!r}")
    kind = dialect()
    if kind == "postgresql":
        return fn.date_trunc(SQL(f"'{unit}'"), field)
    if kind == "sqlite":
        return fn.strftime(SQL(f"'{_SQLITE_BUCKET_FORMATS[unit]}'"), field)
    return fn.DATEADD(SQL(unit), fn.DATEDIFF(SQL(unit), SQL("0"), field), SQL("0"))


def bucket_start(value: Any) -> dt.datetime:
    """A :func:`time_bucket` value as a naive UTC datetime, whatever the dialect."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    start = naive_utc(value)
    if start is None:
        raise ValueError("a time bucket has no start")
    return start
