"""Query building shared by the services: sorting against an allowlist, pages, keysets."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import SQL, Field, ModelSelect, Node, fn

from control.db.database import dialect
from control.db.models import naive_utc
from control.errors import InvalidInput


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
    query: ModelSelect,
    keys: Sequence[SortKey],
    columns: Mapping[str, Field],
    tiebreak: Field,
) -> ModelSelect:
    """Order ``query`` by ``keys`` then by a unique ``tiebreak`` so pages are stable."""
    order = [columns[k.name].desc() if k.descending else columns[k.name].asc() for k in keys]
    if not any(columns[k.name] is tiebreak for k in keys):
        order.append(tiebreak.asc())
    return query.order_by(*order)


@dataclass(frozen=True)
class Page:
    """One offset page of rows and the numbers for ``meta``."""

    rows: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


def paginate(query: ModelSelect, page: int, per_page: int) -> Page:
    """Run ``query`` for one offset page and count the whole result."""
    total = query.order_by().count()
    rows = list(query.paginate(page, per_page))
    return Page(rows=rows, page=page, per_page=per_page, total=total)


def keyset_page(
    query: ModelSelect,
    order: Sequence[tuple[Field, bool]],
    after: Sequence[Any] | None,
    limit: int,
) -> tuple[list[Any], tuple[Any, ...] | None]:
    """One keyset page: rows strictly after ``after`` in ``order`` (field, descending).

    The last field of ``order`` must be unique so that the key identifies a row. Returns
    the rows and the key of the last row when more rows follow, else None.
    """
    if after is not None:
        if len(after) != len(order):
            raise InvalidInput("cursor does not fit this query", field="cursor")
        clauses = []
        for depth, (field, descending) in enumerate(order):
            beyond = field < after[depth] if descending else field > after[depth]
            equal_prefix = [order[i][0] == after[i] for i in range(depth)]
            term = beyond
            for equal in equal_prefix:
                term = equal & term
            clauses.append(term)
        condition = clauses[0]
        for clause in clauses[1:]:
            condition = condition | clause
        query = query.where(condition)
    ordering = [field.desc() if descending else field.asc() for field, descending in order]
    rows = list(query.order_by(*ordering).limit(limit + 1))
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


def time_bucket(field: Node, unit: str) -> Node:
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
    return naive_utc(value)
