"""Keyset pages of a (time, id) order, whose "after this key" is a bound on the time and
one comparison of the id with a CASE (control/querying.keyset_condition): walked page by
page, newest or oldest first, with many rows sharing a time, they show every row once,
in the order ORDER BY gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import Database

from control.logs.models import Logs
from control.querying import keyset_page
from tests.factories import make_app, make_log

T = dt.datetime(2026, 3, 1, 12)


@pytest.mark.parametrize("descending", [True, False])
def test_every_row_once_in_order_across_shared_times(db: Database, descending: bool) -> None:
    app = make_app()
    for n in range(17):  # runs of 1, 2, 3... rows at the same instant
        make_log(app, timestamp=T + dt.timedelta(seconds=int((2 * n) ** 0.5)), message=f"m{n}")
    order = ((Logs.timestamp, descending), (Logs.id, descending))
    expected = [
        (r.timestamp, r.id)
        for r in Logs.select().order_by(
            *(c.desc() if descending else c.asc() for c in (Logs.timestamp, Logs.id))
        )
    ]
    seen: list[tuple[dt.datetime, int]] = []
    after = None
    for _ in range(20):
        rows, after = keyset_page(Logs.select(), order, after, 3)
        seen += [(r.timestamp, r.id) for r in rows]
        if after is None:
            break
    assert seen == expected
    assert len({t for t, _ in expected}) < len(expected)  # times shared, ids break ties
