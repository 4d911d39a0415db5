"""A deep cursor page starts where the cursor points: the SQL of page 50 of the log list
bounds the timestamp index (an index range from the cursor), so it reads about as many
rows as the first page instead of every row before it; and its rows are the right ones."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from control.db.database import dialect
from control.logs import services
from control.logs.models import Logs
from tests.sql_capture import captured_sql

ROWS = 20_000
PAGE = 100
T0 = dt.datetime(2025, 1, 1)


@pytest.fixture
def seeded(db) -> None:
    # two records per second, so that pages also break inside a timestamp
    rows = [
        {
            "app": f"scraper_{i % 40:02d}",
            "level": 20,
            "message": f"Fetched page {i}",
            "timestamp": T0 + dt.timedelta(seconds=i // 2),
        }
        for i in range(ROWS)
    ]
    with db.atomic():
        for start in range(0, ROWS, 1000):
            Logs.insert_many(rows[start : start + 1000]).execute()
    db.execute_sql("VACUUM ANALYZE logs" if dialect(db) == "postgresql" else "ANALYZE logs")


def page_50() -> tuple[list[dict[str, Any]], str, tuple[Any, ...]]:
    """Page 50 reached by following the keys, and the statement that read it."""
    query = services.LogQuery(limit=PAGE)
    after = None
    for _ in range(49):
        _, after = services.list_logs(query, after)
    with captured_sql() as statements:
        items, _ = services.list_logs(query, after)
    (statement,) = statements
    return items, *statement


def test_page_50_holds_the_rows_after_the_cursor(db, seeded):
    items, _, _ = page_50()
    newest_first = sorted(Logs.select(Logs.id, Logs.timestamp), key=lambda r: (r.timestamp, r.id))
    expected = [r.id for r in reversed(newest_first)][49 * PAGE : 50 * PAGE]
    assert [i["id"] for i in items] == expected


@pytest.mark.parametrize(
    "db", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_page_50_is_an_index_range_from_the_cursor(db, seeded):
    _, sql, params = page_50()
    plan = "\n".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall())
    # logs is partitioned by day (migration 0018): the 2025 rows are in the default
    # partition, read through its own copy of the index
    assert re.search(r"Index Scan Backward using logs_(default_)?timestamp", plan), plan
    assert 'Index Cond: ("timestamp" <=' in plan, plan


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_page_50_is_an_index_range_from_the_cursor(db, seeded):
    _, sql, params = page_50()
    plan = [row[3] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
    assert any("USING INDEX logs_timestamp (timestamp<?)" in line for line in plan), plan
