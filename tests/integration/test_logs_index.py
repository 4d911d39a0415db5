"""The log search uses the full-text index: EXPLAIN of the SQL the service sends.

The acceptance query ``search=timeout&level=WARNING&app=scraper_*`` over 20,000 records
shaped like production (mostly INFO, about 1% mention a timeout): on PostgreSQL the plan
reads the GIN index ``logs_message_tsv`` on the stored word vector (a bitmap index scan;
migration 0016), on SQLite the FTS5 table
``logs_fts``. The SQL is captured from peewee's query log while the service runs, so it
is exactly what the API sends.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest

from control.db.database import dialect
from control.logs import services
from control.logs.models import Logs
from tests.sql_capture import captured_sql

ROWS = 20_000
QUERY = services.LogQuery(search="timeout", level=30, app="scraper_*", limit=100)
T0 = dt.datetime(2025, 1, 1)
MESSAGES = (
    "Fetched {n} records from page {p}",
    "Parsed {n} items in {s} ms",
    "Saved batch {p} ({n} rows)",
    "Request to registry returned 200 in {s} ms",
    "Skipped {n} duplicates",
    "Next page token received for page {p}",
)
WARNINGS = (
    "Retrying page {p} after HTTP 503",
    "Slow response ({s} ms) from registry",
    "Rate limited, sleeping {n} s",
)


def seed(count: int = ROWS, seed_value: int = 3) -> list[dict[str, Any]]:
    """Records of 100 apps (80 ``scraper_*``): 85% INFO, 8% DEBUG, 5% WARNING, 2% ERROR;
    about 1% mention a timeout (at WARNING or ERROR)."""
    rng = random.Random(seed_value)
    apps = [f"scraper_{g}_{n:03d}" for g in ("de", "fr", "uk", "us") for n in range(20)]
    apps += [f"parser_{n:03d}" for n in range(20)]
    rows = []
    for i in range(count):
        draw = rng.random()
        values = {"n": rng.randint(1, 900), "p": rng.randint(1, 90), "s": rng.randint(5, 900)}
        if draw < 0.01:
            level = rng.choice((30, 40))
            message = f"Timeout after {values['s']} ms on page {values['p']}, retrying"
        elif draw < 0.08:
            level = rng.choice((30, 30, 40))
            message = rng.choice(WARNINGS).format(**values)
        elif draw < 0.16:
            level = 10
            message = f"state: page={values['p']} cursor={values['n']}"
        else:
            level = 20
            message = rng.choice(MESSAGES).format(**values)
        rows.append(
            {
                "app": rng.choice(apps),
                "level": level,
                "module": "collector",
                "function": "run",
                "message": message,
                "timestamp": T0 + dt.timedelta(seconds=i * 3),
            }
        )
    return rows


@pytest.fixture
def seeded(db) -> list[dict[str, Any]]:
    rows = seed()
    with db.atomic():
        for start in range(0, len(rows), 1000):
            Logs.insert_many(rows[start : start + 1000]).execute()
    # Settled as autovacuum leaves it: statistics, and the GIN index's pending list
    # (fastupdate) merged. Right after a bulk load the pending list holds every new
    # entry and must be scanned whole, which the planner prices so high (about 1,170
    # against 14 here) that it filters by level instead; a plain ANALYZE does not merge it.
    db.execute_sql("VACUUM ANALYZE logs" if dialect(db) == "postgresql" else "ANALYZE logs")
    return rows


def service_sql() -> tuple[list[dict[str, Any]], str, tuple[Any, ...]]:
    """The acceptance query's page, and the one statement the service sent for it."""
    with captured_sql() as statements:
        items, _ = services.list_logs(QUERY)
    assert len(statements) == 1, statements
    sql, params = statements[0]
    return items, sql, params


def expected_ids(rows: list[dict[str, Any]]) -> list[int]:
    """The answer computed in Python (ids are 1.. in insertion order on a fresh table)."""
    first = Logs.select(Logs.id).order_by(Logs.id).limit(1).scalar()
    hits = [
        first + i
        for i, row in enumerate(rows)
        if row["level"] >= 30
        and row["app"].startswith("scraper_")
        and "timeout" in row["message"].lower().split()
    ]
    return sorted(hits, reverse=True)[:100]  # timestamps grow with the id


@pytest.mark.parametrize(
    "db", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_plan_uses_the_gin_index(db, seeded):
    items, sql, params = service_sql()
    assert [i["id"] for i in items] == expected_ids(seeded)
    assert 50 <= len(items) <= 100
    assert "\"message_tsv\" @@ plainto_tsquery('simple'" in sql  # the stored vector
    assert "LIKE" in sql  # the app glob
    plan = "\n".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall())
    # logs is partitioned by day (migration 0018): the 2025 rows are in the default
    # partition, read through its own copy of the index; the empty day partitions cost
    # nothing to scan
    assert re.search(r"Bitmap Index Scan on logs_(default_)?message_tsv", plan), plan
    assert not re.search(r"Seq Scan on logs(_default)? ", plan), plan


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_plan_uses_the_fts5_table(db, seeded):
    items, sql, params = service_sql()
    assert [i["id"] for i in items] == expected_ids(seeded)
    assert "logs_fts MATCH" in sql
    plan = [row[3] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
    text = "\n".join(plan)
    # the FTS5 index answers MATCH (index "0:M…"), then logs are fetched by rowid
    assert any(line.startswith("SCAN logs_fts VIRTUAL TABLE INDEX 0:M") for line in plan), text
    assert "SEARCH t1 USING INTEGER PRIMARY KEY (rowid=?)" in plan, text
    assert "SCAN t1" not in plan, text
